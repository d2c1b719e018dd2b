//! Field checks for the filing forms: the single source of truth for what a valid value is.
//!
//! Each check normalises the raw text (full-width characters, stray spaces, look-alike
//! symbols), validates it and returns either the value to store or a Chinese message that says
//! what is wrong and how to fix it. Messages never name the field, because the caller puts the
//! field's label in front, and never repeat a whole ID number or phone number back.
//! The form engine calls these per field type; the spreadsheet importer reuses them per cell.
//! Numbers are parsed digit by digit and never through `f64`, which would corrupt 18-digit IDs.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use unicode_normalization::UnicodeNormalization;

/// How to stop a spreadsheet from turning a code or number column into a numeric value.
const TEXT_COLUMN_FIX: &str =
    "请把表格中该列设为「文本」格式后重新输入完整内容，或在内容前加一个英文单引号 '";

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/// True for spaces and for invisible characters that stick to pasted values.
fn is_blank(c: char) -> bool {
    // `char::is_whitespace` covers U+3000 and NBSP but not the BOM, the zero-width characters,
    // the word joiner or the Mongolian vowel separator, which arrive in copied text.
    c.is_whitespace()
        || matches!(
            c,
            '\u{FEFF}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{180E}'
        )
}

/// True for the hyphen and dash characters people type between parts of a number.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

/// Normalises a code or number: NFKC, every space and invisible character removed, upper-case.
pub fn normalise_code(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !is_blank(*c))
        .flat_map(char::to_uppercase)
        .collect()
}

/// True for invisible formatting characters: zero-width spaces and joiners, direction marks
/// and overrides, the soft hyphen, the BOM. They change how text looks or reads without
/// showing, so they are removed from text wherever they are.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Normalises free text: invisible formatting characters removed, spaces trimmed at both ends.
pub fn normalise_text(raw: &str) -> String {
    let visible: String = raw.chars().filter(|c| !is_invisible_format(*c)).collect();
    visible.trim_matches(is_blank).to_string()
}

/// Normalises a person's name: invisible characters removed, trimmed, look-alike middle dots
/// mapped to `·` (U+00B7), never NFKC.
pub fn normalise_name(raw: &str) -> String {
    let visible: String = raw.chars().filter(|c| !is_invisible_format(*c)).collect();
    let chars: Vec<char> = visible.trim_matches(is_blank).chars().collect();
    (0..chars.len())
        .map(|i| {
            if is_middle_dot_lookalike(chars[i]) || is_lone_dot_between_parts(&chars, i) {
                '·'
            } else {
                chars[i]
            }
        })
        .collect()
}

/// True for characters typed in place of the name separator `·` (U+00B7).
fn is_middle_dot_lookalike(c: char) -> bool {
    matches!(
        c,
        '\u{2022}' // • bullet
            | '\u{30FB}' // ・ katakana middle dot
            | '\u{FF65}' // ･ half-width katakana middle dot
            | '\u{2027}' // ‧ hyphenation point
            | '\u{FF0E}' // ． full-width full stop
            | '\u{0387}' // · Greek ano teleia, canonically the same as U+00B7
            | '\u{2219}' // ∙ bullet operator
            | '\u{22C5}' // ⋅ dot operator
    )
}

/// True when `chars[i]` is a single ASCII full stop with a name part directly on each side.
fn is_lone_dot_between_parts(chars: &[char], i: usize) -> bool {
    let is_part = |c: &char| !c.is_whitespace() && *c != '.' && *c != '·';
    chars[i] == '.'
        && i > 0
        && is_part(&chars[i - 1])
        && chars
            .get(i + 1)
            .is_some_and(|next| is_part(next) && !is_middle_dot_lookalike(*next))
        && !is_middle_dot_lookalike(chars[i - 1])
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Longest name accepted, in Unicode code points.
const NAME_MAX_CHARS: usize = 60;

/// Checks a person's name: 1 to 60 characters, no digits, no control characters.
pub fn check_name(raw: &str) -> Result<String, String> {
    let name = normalise_name(raw);
    let count = name.chars().count();

    if count == 0 {
        return Err("不能为空，请填写".to_string());
    }
    if count > NAME_MAX_CHARS {
        return Err(format!(
            "最多 {NAME_MAX_CHARS} 个字，现在有 {count} 个，请删去职务、备注等多余内容"
        ));
    }
    if name
        .chars()
        .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
    {
        return Err("不能包含数字；身份证号码、电话等请填到对应的栏目".to_string());
    }
    if name.chars().any(char::is_control) {
        return Err(
            "含有看不见的控制字符（常见于从其他文件复制的内容），请删除后重新输入".to_string(),
        );
    }
    if name.starts_with('·') || name.ends_with('·') {
        return Err("间隔号「·」只能放在名字的两部分之间，如 阿依古丽·买买提".to_string());
    }
    Ok(name)
}

// ---------------------------------------------------------------------------------------------
// 公民身份号码 (GB 11643)
// ---------------------------------------------------------------------------------------------

/// Sex as encoded in an ID number: an odd 17th digit is male.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

impl Sex {
    /// The form's wording for this sex: "男" or "女".
    pub fn label(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// What a valid ID number tells us: the number to store, the birth date and the sex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdInfo {
    /// The 18-character number, check character `X` upper-case.
    pub number: String,
    /// Birth date from characters 7 to 14.
    pub birth: NaiveDate,
    /// Sex from the 17th character.
    pub sex: Sex,
}

/// Weights of the first 17 digits of an ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check characters indexed by the weighted sum mod 11.
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// First two digits an ID number can open with: province-level codes, 81 to 83 for residence
/// permits of Hong Kong, Macao and Taiwan residents, and 91 to 96 for the 2023 foreigners'
/// permanent residence card (9 and then the issuing province's code).
const ID_REGIONS: [&str; 41] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83", "91", "92", "93", "94", "95", "96",
];

/// Checks a 公民身份号码 and reads its birth date and sex; 15-digit legacy numbers are upgraded.
pub fn check_id_number(raw: &str, today: NaiveDate) -> Result<IdInfo, String> {
    let text = normalise_code(raw);
    // The apostrophe that keeps a spreadsheet cell as text is sometimes pasted along.
    let text = text.strip_prefix('\'').unwrap_or(&text);

    if text.is_empty() {
        return Err("不能为空，请填写 18 位号码".to_string());
    }
    if is_scientific_notation(text) {
        return Err(format!(
            "号码被表格变成了科学计数法（如 1.5E+17 这样的形式），\
             后几位数字已经丢失。{TEXT_COLUMN_FIX}"
        ));
    }
    let number = match text.chars().count() {
        18 => text.to_string(),
        15 => upgrade_legacy_id(text)?,
        n => {
            return Err(format!(
                "应为 18 位（旧证件为 15 位），现在是 {n} 位，请对照证件核对是否多填或漏填"
            ))
        }
    };

    check_id_shape(&number)?;
    check_id_region(&number)?;
    let birth = read_id_birth(&number, today)?;
    check_id_check_char(&number)?;

    let sex = if (number.as_bytes()[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(IdInfo { number, birth, sex })
}

/// True for text like `1.50102E+17`: one digit, optional decimals, `E`, a one- or two-digit
/// exponent; this is how a spreadsheet shows a long number.
fn is_scientific_notation(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once('E') else {
        return false;
    };
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    whole.len() == 1
        && (1..=2).contains(&exponent.len())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && exponent.bytes().all(|b| b.is_ascii_digit())
}

/// Turns a 15-digit legacy number into 18 characters: "19" after digit 6, check char appended.
fn upgrade_legacy_id(text: &str) -> Result<String, String> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("15 位旧号码只能由数字组成，请对照证件核对".to_string());
    }
    let first17 = format!("{}19{}", &text[..6], &text[6..]);
    let check = id_check_char(&first17);
    Ok(format!("{first17}{check}"))
}

/// Ensures the number is 17 digits followed by a digit or `X`.
fn check_id_shape(number: &str) -> Result<(), String> {
    let bytes = number.as_bytes();
    let body_ok = bytes.len() == 18 && bytes[..17].iter().all(u8::is_ascii_digit);
    if body_ok && (bytes[17].is_ascii_digit() || bytes[17] == b'X') {
        Ok(())
    } else {
        Err(
            "前 17 位只能是数字，最后一位是数字或字母 X，请检查是否混入了其他字母或符号"
                .to_string(),
        )
    }
}

/// Ensures the first two digits are a province-level region code.
fn check_id_region(number: &str) -> Result<(), String> {
    if ID_REGIONS.contains(&&number[..2]) {
        Ok(())
    } else {
        Err("前两位应是省级地区代码（如内蒙古为 15），请核对号码开头".to_string())
    }
}

/// Reads the birth date from characters 7 to 14 and checks it is real and plausible.
fn read_id_birth(number: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let year = number[6..10].parse().unwrap_or(0);
    let month = number[10..12].parse().unwrap_or(0);
    let day = number[12..14].parse().unwrap_or(0);
    let Some(birth) = NaiveDate::from_ymd_opt(year, month, day) else {
        return Err("第 7 到 14 位应是出生年月日，现在不是有效的日期，请对照证件核对".to_string());
    };
    if birth > today {
        return Err("第 7 到 14 位表示的出生日期晚于今天，请对照证件核对".to_string());
    }
    if birth.year() < 1900 {
        return Err("第 7 到 14 位表示的出生日期早于 1900 年，请对照证件核对".to_string());
    }
    Ok(birth)
}

/// Ensures the 18th character matches the first 17, spotting numbers a spreadsheet cut short.
fn check_id_check_char(number: &str) -> Result<(), String> {
    if number.ends_with(id_check_char(&number[..17])) {
        return Ok(());
    }
    if number.ends_with("000") {
        return Err(format!(
            "最后几位变成了 000，多半是表格把号码当成数字，只保留了前 15 位。{TEXT_COLUMN_FIX}"
        ));
    }
    Err("最后一位校验码与前 17 位不符，说明有数字填错或前后颠倒，请对照证件逐位核对".to_string())
}

/// Computes the check character for 17 ASCII digits.
fn id_check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, weight)| u32::from(b - b'0') * weight)
        .sum();
    ID_CHECK_CHARS[(sum % 11) as usize]
}

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码 (GB 32100) and 组织机构代码 (GB 11714)
// ---------------------------------------------------------------------------------------------

/// Characters of a credit code; each one's value is its index. I, O, S, V and Z are left out.
const CREDIT_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of the first 17 characters of a credit code.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of the 8 body characters of an organisation code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Checks a 统一社会信用代码: 18 characters from its charset with a matching check character.
pub fn check_credit_code(raw: &str) -> Result<String, String> {
    let code = check_credit_code_format(raw)?;
    let chars: Vec<char> = code.chars().collect();
    if credit_check_char(&chars[..17]) != chars[17] {
        return Err("第 18 位校验码与前 17 位不符，请对照营业执照逐位核对；\
             如确认与执照一致，请联系经办人员说明情况后登记"
            .to_string());
    }
    Ok(code)
}

/// Checks a credit code's length and characters but not its check character, for staff
/// accepting a real code that fails its checksum with a recorded reason.
pub fn check_credit_code_format(raw: &str) -> Result<String, String> {
    let code = normalise_code(raw);
    let count = code.chars().count();
    if count != 18 {
        return Err(format!(
            "应为 18 位数字和大写字母，现在是 {count} 位，请对照营业执照核对"
        ));
    }
    match code
        .chars()
        .enumerate()
        .find(|(_, c)| credit_value(*c).is_none())
    {
        Some((index, c)) => Err(credit_char_message(index + 1, c)),
        None => Ok(code),
    }
}

/// Value of a credit-code character, or None when it is outside the charset.
fn credit_value(c: char) -> Option<u32> {
    CREDIT_CHARSET.find(c).map(|index| index as u32)
}

/// Explains why the character at `position` is not allowed, guessing the intended one.
fn credit_char_message(position: usize, c: char) -> String {
    let guess = match c {
        'I' => "，可能应为数字 1",
        'O' => "，可能应为数字 0",
        'S' => "，可能应为数字 5",
        'Z' => "，可能应为数字 2",
        'V' => "，可能应为字母 U 或 Y",
        _ => {
            return format!("第 {position} 位只能是数字或大写字母，请对照营业执照核对");
        }
    };
    format!(
        "第 {position} 位的字母 {c} 不能使用（代码中没有 I、O、S、V、Z 五个字母）\
         {guess}，请对照营业执照核对"
    )
}

/// Computes a credit code's check character from its first 17 characters.
fn credit_check_char(first17: &[char]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(CREDIT_WEIGHTS)
        .map(|(c, weight)| credit_value(*c).unwrap_or(0) * weight)
        .sum();
    let index = (31 - sum % 31) % 31;
    CREDIT_CHARSET.as_bytes()[index as usize] as char
}

/// Checks a 组织机构代码 with or without its hyphen; stores the 9 characters without it.
pub fn check_org_code(raw: &str) -> Result<String, String> {
    let code: String = normalise_code(raw)
        .chars()
        .filter(|c| !is_dash(*c))
        .collect();
    let chars: Vec<char> = code.chars().collect();

    if chars.len() != 9 {
        return Err(format!(
            "应为 9 位：8 位本体代码加 1 位校验码，如 MA0R1B2C-8（短横线可省略），现在是 {} 位",
            chars.len()
        ));
    }
    if let Some(index) = chars[..8].iter().position(|c| org_value(*c).is_none()) {
        return Err(format!(
            "第 {} 位只能是数字或大写字母，请对照证书核对",
            index + 1
        ));
    }
    if org_check_char(&chars[..8]) != chars[8] {
        return Err("校验码（最后一位）与前 8 位不符，请对照证书逐位核对".to_string());
    }
    Ok(code)
}

/// Value of an organisation-code character: digits as themselves, A=10 … Z=35.
fn org_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() || c.is_ascii_uppercase() {
        c.to_digit(36)
    } else {
        None
    }
}

/// Computes an organisation code's check character from its 8 body characters.
fn org_check_char(body: &[char]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(c, weight)| org_value(*c).unwrap_or(0) * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        digit => char::from_digit(digit, 10).unwrap_or('?'),
    }
}

/// Checks a unit code: an 18-character credit code or a 9-character organisation code.
pub fn check_unit_code(raw: &str) -> Result<String, String> {
    let code: String = normalise_code(raw)
        .chars()
        .filter(|c| !is_dash(*c))
        .collect();
    match code.chars().count() {
        18 => check_credit_code(&code),
        9 => check_org_code(&code),
        count => Err(format!(
            "请填写 18 位统一社会信用代码（如 91150100MA0R1B2C8F），\
             或尚未换证单位的 9 位组织机构代码（8 位加 1 位校验码，如 MA0R1B2C-8）；\
             现在是 {count} 位"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Phones
// ---------------------------------------------------------------------------------------------

/// Example of the landline format, used in messages.
const LANDLINE_EXAMPLE: &str = "如 0471-6945364，有分机号写在最后，如 0471-6945364-8001";

/// Checks a mobile number: drops spaces, hyphens and a +86/0086 prefix, then `1[3-9]` + 9 digits.
pub fn check_mobile(raw: &str) -> Result<String, String> {
    let compact = compact_phone(raw);
    let digits = strip_country_code(&compact);

    if digits.is_empty() {
        return Err("不能为空，请填写 11 位手机号码".to_string());
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("手机号码只能由数字组成，请删去其他文字或符号".to_string());
    }
    if digits.len() != 11 {
        return Err(format!(
            "手机号码应为 11 位数字，现在是 {} 位，请核对是否多填或漏填",
            digits.len()
        ));
    }
    if !digits.starts_with('1') || !matches!(digits.as_bytes()[1], b'3'..=b'9') {
        return Err("手机号码应以 13 至 19 开头，请核对前两位".to_string());
    }
    Ok(digits.to_string())
}

/// NFKC without spaces, invisible characters or hyphens: the shape a mobile number is read in.
fn compact_phone(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !is_blank(*c) && !is_dash(*c))
        .collect()
}

/// Removes a leading +86 or 0086 country code.
fn strip_country_code(compact: &str) -> &str {
    compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(compact)
}

/// Checks a landline: area code `0\d{2,3}`, number `[2-9]\d{6,7}`, optional extension; stores
/// `0471-6945364` or `0471-6945364-8001`.
pub fn check_landline(raw: &str) -> Result<String, String> {
    let text: String = raw
        .nfkc()
        .map(|c| if is_blank(c) { ' ' } else { c })
        .collect();
    let (main, extension) = split_extension(text.trim());
    let groups = digit_groups(main)?;

    let digits = groups.concat();
    if !digits.starts_with('0') {
        return Err(landline_without_zero_message(&digits));
    }
    let extension = match extension {
        Some(ext) => Some(digit_groups(ext)?.concat()),
        None => None,
    };
    parse_landline(&groups, extension.as_deref()).ok_or_else(|| {
        format!(
            "请按「区号-号码」填写，{LANDLINE_EXAMPLE}；区号后的号码为 7 或 8 位，不以 0 或 1 开头"
        )
    })
}

/// Splits off an extension written after 转 or 分机.
fn split_extension(text: &str) -> (&str, Option<&str>) {
    ["转", "分机"]
        .iter()
        .find_map(|marker| text.split_once(*marker))
        .map_or((text, None), |(main, ext)| (main, Some(ext)))
}

/// Splits a phone number into its runs of digits, allowing only spaces, brackets and hyphens
/// between them.
fn digit_groups(text: &str) -> Result<Vec<&str>, String> {
    let is_separator = |c: char| c == ' ' || c == '(' || c == ')' || is_dash(c);
    match text
        .chars()
        .find(|c| !c.is_ascii_digit() && !is_separator(*c))
    {
        Some('+') => {
            Err("不用填国家代码 +86，请直接填写以 0 开头的区号和号码，如 0471-6945364".to_string())
        }
        Some(_) => Err(format!(
            "只能填写数字、括号、短横线和「转」，请删去其他文字或符号，{LANDLINE_EXAMPLE}"
        )),
        None => Ok(text.split(is_separator).filter(|g| !g.is_empty()).collect()),
    }
}

/// Explains a landline whose digits do not start with the area code's 0.
fn landline_without_zero_message(digits: &str) -> String {
    let first = digits.bytes().next();
    if digits.is_empty() {
        format!("不能为空，请填写带区号的电话号码，{LANDLINE_EXAMPLE}")
    } else if digits.len() == 11 && first == Some(b'1') {
        "这是手机号码，这里请填写带区号的固定电话，如 0471-6945364".to_string()
    } else if (7..=8).contains(&digits.len()) && matches!(first, Some(b'2'..=b'9')) {
        "缺少区号，请在号码前加上区号，如 0471-6945364".to_string()
    } else {
        format!(
            "区号应以 0 开头，如 0471-6945364；从表格导入时开头的 0 可能丢失，{TEXT_COLUMN_FIX}"
        )
    }
}

/// Reads area code, number and extension from digit groups; the last group is taken as an
/// extension only when the number does not read without it.
fn parse_landline(groups: &[&str], extension: Option<&str>) -> Option<String> {
    if let Some(ext) = extension {
        let (area, local) = split_area_and_number(groups)?;
        return is_extension(ext).then(|| format!("{area}-{local}-{ext}"));
    }
    if let Some((area, local)) = split_area_and_number(groups) {
        return Some(format!("{area}-{local}"));
    }
    let (ext, rest) = groups.split_last()?;
    if rest.is_empty() || !is_extension(ext) {
        return None;
    }
    let (area, local) = split_area_and_number(rest)?;
    Some(format!("{area}-{local}-{ext}"))
}

/// Splits digit groups into area code and number; without a separate area-code group the
/// length follows the national plan (010 and 02x have three digits, the rest four).
fn split_area_and_number(groups: &[&str]) -> Option<(String, String)> {
    let digits = groups.concat();
    let area_len = match groups.first() {
        Some(first) if first.starts_with('0') && (3..=4).contains(&first.len()) => first.len(),
        _ if digits.starts_with("01") || digits.starts_with("02") => 3,
        _ => 4,
    };
    if digits.len() <= area_len {
        return None;
    }
    let (area, local) = digits.split_at(area_len);
    let area_ok = area.starts_with('0') && !area.starts_with("00");
    let local_ok = (7..=8).contains(&local.len()) && !local.starts_with(['0', '1']);
    (area_ok && local_ok).then(|| (area.to_string(), local.to_string()))
}

/// True for an extension of 1 to 6 digits.
fn is_extension(ext: &str) -> bool {
    (1..=6).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a phone that may be either a mobile number or a landline.
pub fn check_phone(raw: &str) -> Result<String, String> {
    let compact = compact_phone(raw);
    if strip_country_code(&compact).starts_with('1') {
        check_mobile(raw)
    } else {
        check_landline(raw)
    }
}

// ---------------------------------------------------------------------------------------------
// Postcodes and administrative divisions
// ---------------------------------------------------------------------------------------------

/// Prefixes of Inner Mongolia's postcodes.
const NM_POSTCODE_PREFIXES: [&str; 7] = ["01", "02", "137", "162", "735", "737", "750"];

/// Checks a postcode: six digits; `Some(warning)` when it is outside Inner Mongolia.
pub fn check_postcode(raw: &str) -> Result<(String, Option<String>), String> {
    let code = normalise_code(raw);
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("应为 6 位数字，如 010000".to_string());
    }
    match code.len() {
        6 => {
            let warning = (!NM_POSTCODE_PREFIXES.iter().any(|p| code.starts_with(p))).then(|| {
                "不是内蒙古的邮政编码（区内以 01、02、137、162、735、737、750 开头），\
                 如地址在区外可忽略，否则请核对"
                    .to_string()
            });
            Ok((code, warning))
        }
        5 => Err(format!(
            "应为 6 位数字，现在只有 5 位，可能丢了开头的 0（如 010000 变成了 10000）。\
             {TEXT_COLUMN_FIX}"
        )),
        n => Err(format!("应为 6 位数字，现在是 {n} 位，如 010000")),
    }
}

/// Level of an administrative division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionLevel {
    /// 自治区 (the region itself).
    Province,
    /// 盟、市 (codes end in 00).
    Prefecture,
    /// 旗、县、区.
    County,
}

/// One row of the Inner Mongolia division table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// Six-digit code, e.g. "150102".
    pub code: &'static str,
    /// Name, e.g. "新城区".
    pub name: &'static str,
    /// Code of the division it belongs to; None for the region itself.
    pub parent_code: Option<&'static str>,
    /// Region, league/city or banner/county.
    pub level: DivisionLevel,
}

/// The division table the department edits, compiled into the binary.
const DIVISIONS_CSV: &str = include_str!("../../content/data/nm-divisions.csv");

/// Header the division table must start with.
const DIVISIONS_HEADER: &str = "code,name,parent_code,level";

/// All Inner Mongolia divisions, parsed once from `content/data/nm-divisions.csv`.
pub fn divisions() -> &'static [Division] {
    static TABLE: OnceLock<Vec<Division>> = OnceLock::new();
    // The file is compiled in and the `divisions_table_parses_completely` test reads every
    // line, so a broken table fails the build's tests rather than a request.
    TABLE.get_or_init(|| {
        parse_divisions(DIVISIONS_CSV)
            .unwrap_or_else(|problem| panic!("content/data/nm-divisions.csv: {problem}"))
    })
}

/// Parses the division table, naming the first bad line.
fn parse_divisions(csv: &'static str) -> Result<Vec<Division>, String> {
    let mut lines = csv.trim_start_matches('\u{FEFF}').lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == DIVISIONS_HEADER => {}
        _ => return Err(format!("the first line must be `{DIVISIONS_HEADER}`")),
    }
    lines
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            parse_division_line(line)
                .ok_or_else(|| format!("line {} is not `{DIVISIONS_HEADER}`: {line}", index + 1))
        })
        .collect()
}

/// Parses one `code,name,parent_code,level` line.
fn parse_division_line(line: &'static str) -> Option<Division> {
    let fields: Vec<&'static str> = line.split(',').map(str::trim).collect();
    let [code, name, parent, level] = fields[..] else {
        return None;
    };
    let level = match level {
        "province" => DivisionLevel::Province,
        "prefecture" => DivisionLevel::Prefecture,
        "county" => DivisionLevel::County,
        _ => return None,
    };
    let parent_code = (!parent.is_empty()).then_some(parent);
    let codes_ok = is_six_digits(code) && parent_code.is_none_or(is_six_digits);
    (codes_ok && !name.is_empty()).then_some(Division {
        code,
        name,
        parent_code,
        level,
    })
}

/// True for exactly six ASCII digits.
fn is_six_digits(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a 行政区划代码: six digits present in the Inner Mongolia division table.
pub fn check_division_code(raw: &str) -> Result<String, String> {
    let code = normalise_code(raw);
    if !is_six_digits(&code) {
        return Err("应为 6 位数字，如 150102（呼和浩特市新城区）".to_string());
    }
    if division_name(&code).is_none() {
        return Err("内蒙古行政区划中没有这个代码，请核对；盟市代码以 00 结尾，\
             如 150100 是呼和浩特市，150102 是其下的新城区"
            .to_string());
    }
    Ok(code)
}

/// Name of the division with this code, e.g. "150102" → "新城区".
pub fn division_name(code: &str) -> Option<&'static str> {
    let code = normalise_code(code);
    divisions()
        .iter()
        .find(|division| division.code == code)
        .map(|division| division.name)
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// The accepted form, shown in messages.
const DATE_EXAMPLE: &str = "2024-01-31";

/// Checks a date written as 2024-01-31, 2024/1/31, 2024.1.31, 2024年1月31日 or 20240131.
pub fn check_date(raw: &str) -> Result<NaiveDate, String> {
    let text: String = raw.nfkc().filter(|c| !is_blank(*c)).collect();
    let Some((year, month, day)) = date_parts(&text) else {
        return Err(format!("请按 {DATE_EXAMPLE} 的格式填写日期（年份 4 位）"));
    };

    if !(1900..=2100).contains(&year) {
        return Err(format!(
            "年份应在 1900 到 2100 之间，请核对，格式如 {DATE_EXAMPLE}"
        ));
    }
    if !(1..=12).contains(&month) {
        return Err(format!(
            "月份应在 1 到 12 之间，请核对，格式如 {DATE_EXAMPLE}"
        ));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        if month == 2 && day == 29 {
            format!("{year} 年不是闰年，2 月没有 29 日，请核对，格式如 {DATE_EXAMPLE}")
        } else {
            format!("{month} 月没有 {day} 日，请核对，格式如 {DATE_EXAMPLE}")
        }
    })
}

/// Splits a date into year, month and day without judging whether the date exists.
fn date_parts(text: &str) -> Option<(i32, u32, u32)> {
    if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            text[..4].parse().ok()?,
            text[4..6].parse().ok()?,
            text[6..].parse().ok()?,
        ));
    }
    let text = text.strip_suffix('日').unwrap_or(text);
    let mut parts = text.split(|c: char| matches!(c, '年' | '月' | '/' | '.') || is_dash(c));
    let year = ascii_number(parts.next()?, 4..=4)?;
    let month = ascii_number(parts.next()?, 1..=2)?;
    let day = ascii_number(parts.next()?, 1..=2)?;
    if parts.next().is_some() {
        return None;
    }
    Some((i32::try_from(year).ok()?, month, day))
}

/// Reads a run of ASCII digits whose length is in `lengths`.
fn ascii_number(text: &str, lengths: std::ops::RangeInclusive<usize>) -> Option<u32> {
    let ok = lengths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().ok()).flatten()
}

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/// Checks an e-mail address in the practical `local@domain.tld` form; lower-cases the domain.
pub fn check_email(raw: &str) -> Result<String, String> {
    // Chinese input methods type 。 for a full stop; NFKC turns ＠ and full-width letters to ASCII.
    let text: String = raw
        .nfkc()
        .filter(|c| !is_blank(*c))
        .map(|c| if c == '。' { '.' } else { c })
        .collect();

    if text.is_empty() {
        return Err("不能为空，请按 name@example.com 的格式填写".to_string());
    }
    if !text.is_ascii() {
        return Err(
            "只能包含英文字母、数字和 . _ - 等符号，请检查是否混入了中文或其他文字".to_string(),
        );
    }
    let Some((local, domain)) = text.split_once('@') else {
        return Err("缺少 @，请按 name@example.com 的格式填写".to_string());
    };
    if domain.contains('@') {
        return Err("只能有一个 @，请按 name@example.com 的格式填写".to_string());
    }
    if !is_email_local_part(local) {
        return Err(
            "@ 前面的部分只能用字母、数字和 . _ - +，点不能在开头、结尾或连续出现".to_string(),
        );
    }
    let domain = domain.to_ascii_lowercase();
    if !is_email_domain(&domain) || text.len() > 254 {
        return Err("@ 后面的域名不对，应像 example.com 这样由点分开，请核对拼写".to_string());
    }
    Ok(format!("{local}@{domain}"))
}

/// True for a dot-atom local part of at most 64 characters.
fn is_email_local_part(local: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c);
    (1..=64).contains(&local.len())
        && local.chars().all(allowed)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

/// True for a lower-case domain of at least two labels ending in an alphabetic top level.
fn is_email_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top = labels.last().copied().unwrap_or("");
    let top_ok =
        top.starts_with("xn--") || (top.len() >= 2 && top.bytes().all(|b| b.is_ascii_alphabetic()));
    labels.len() >= 2 && labels.iter().all(label_ok) && top_ok
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// Largest amount of money accepted, in yuan (10 万亿).
const MONEY_MAX_YUAN: i64 = 10_000_000_000_000;

/// Why a number could not be read; each check words its own message.
#[derive(Debug, PartialEq, Eq)]
enum NumberProblem {
    /// Nothing but spaces.
    Empty,
    /// Letters, units or symbols besides a sign, digits, commas and one point.
    NotANumber,
    /// Thousands separators in the wrong places, as in `12,34`.
    Grouping,
    /// More than fits in an i64.
    TooLarge,
}

/// A number read from text: the signed whole part and the digits after a decimal point, if any.
struct ParsedNumber<'a> {
    /// Whole part with its sign.
    whole: i64,
    /// Digits after the point; None when there was no point.
    fraction: Option<&'a str>,
}

/// NFKC without spaces or invisible characters: full-width digits and ， become ASCII.
fn compact_number(raw: &str) -> String {
    raw.nfkc().filter(|c| !is_blank(*c)).collect()
}

/// Reads `[+-]digits[,ddd…][.digits]` digit by digit, never through floating point.
fn parse_number(text: &str) -> Result<ParsedNumber<'_>, NumberProblem> {
    if text.is_empty() {
        return Err(NumberProblem::Empty);
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole_text, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };

    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole_text.is_empty() || !fraction.is_none_or(digits_only) {
        return Err(NumberProblem::NotANumber);
    }
    let digits = whole_digits(whole_text)?;
    let magnitude = digits.bytes().try_fold(0i64, |acc, b| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(i64::from(b - b'0')))
            .ok_or(NumberProblem::TooLarge)
    })?;
    let whole = if negative { -magnitude } else { magnitude };
    Ok(ParsedNumber { whole, fraction })
}

/// Removes thousands separators after checking each group after the first has three digits.
fn whole_digits(whole_text: &str) -> Result<String, NumberProblem> {
    let groups: Vec<&str> = whole_text.split(',').collect();
    if !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return Err(NumberProblem::NotANumber);
    }
    let first_ok = (1..=3).contains(&groups[0].len()) || groups.len() == 1;
    if groups[0].is_empty() || !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
        return Err(NumberProblem::Grouping);
    }
    Ok(groups.concat())
}

/// Checks a whole number such as a headcount; thousands separators and full-width digits are
/// fine, decimals are not.
pub fn check_integer(raw: &str, min: Option<i64>, max: Option<i64>) -> Result<i64, String> {
    let text = compact_number(raw);
    let number = parse_number(&text).map_err(|problem| match problem {
        NumberProblem::Empty => "不能为空，请填写整数，如 12".to_string(),
        NumberProblem::NotANumber => "请只填写阿拉伯数字，如 12，不要带单位或文字".to_string(),
        NumberProblem::Grouping => {
            "千位分隔逗号的位置不对，请去掉逗号后重新填写，如 1234".to_string()
        }
        NumberProblem::TooLarge => "数字太大，请核对是否多填了数字".to_string(),
    })?;
    if number.fraction.is_some() {
        return Err("请填写整数，不要带小数点".to_string());
    }

    let value = number.whole;
    match (min, max) {
        (Some(min), Some(max)) if value < min || value > max => {
            Err(format!("应在 {min} 到 {max} 之间，请核对"))
        }
        (Some(min), _) if value < min => Err(format!("不能小于 {min}，请核对")),
        (_, Some(max)) if value > max => Err(format!("不能大于 {max}，请核对")),
        _ => Ok(value),
    }
}

/// Checks an amount in whole yuan, 0 to 10^13; accepts `12,000`, `12000元`, `¥12000`, `12000.00`.
pub fn check_money_yuan(raw: &str) -> Result<i64, String> {
    let text = compact_number(raw);
    // NFKC has already turned the full-width ￥ into ¥.
    let text = text.strip_prefix('¥').unwrap_or(&text);
    let text = text.strip_suffix('元').unwrap_or(text);

    if text.ends_with('万') {
        return Err("请按元填写，不要用「万」，如 1.2 万元填 12000".to_string());
    }
    let number = parse_number(text).map_err(|problem| match problem {
        NumberProblem::Empty => "不能为空，请填写金额（整数元），如 12000".to_string(),
        NumberProblem::NotANumber => "请只填写数字金额（整数元），如 12000".to_string(),
        NumberProblem::Grouping => {
            "千位分隔逗号的位置不对，请去掉逗号后重新填写，如 12000".to_string()
        }
        NumberProblem::TooLarge => "金额超过上限 10 万亿元，请核对是否多填了数字".to_string(),
    })?;
    if number
        .fraction
        .is_some_and(|f| f.bytes().any(|b| b != b'0'))
    {
        return Err("请填写整数元，不要带角、分，如 12000".to_string());
    }
    if number.whole < 0 {
        return Err("金额不能是负数，请核对".to_string());
    }
    if number.whole > MONEY_MAX_YUAN {
        return Err("金额超过上限 10 万亿元，请核对是否多填了数字或误按分填写".to_string());
    }
    Ok(number.whole)
}

// ---------------------------------------------------------------------------------------------
// Masking for display
// ---------------------------------------------------------------------------------------------

/// Masks an ID number for display: first 6 and last 4 kept, a star for each hidden character.
pub fn mask_id(number: &str) -> String {
    let chars: Vec<char> = number.trim_matches(is_blank).chars().collect();
    let count = chars.len();
    if count <= 10 {
        return "*".repeat(count);
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[count - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(count - 10))
}

/// Masks a phone for display: mobile `138****0000`, landline `0471-*****64` (extension hidden).
pub fn mask_phone(phone: &str) -> String {
    match check_phone(phone) {
        Ok(stored) => mask_stored_phone(&stored),
        Err(_) => keep_last(phone.trim_matches(is_blank), 2),
    }
}

/// Masks a phone in the stored form produced by `check_phone`.
fn mask_stored_phone(stored: &str) -> String {
    let parts: Vec<&str> = stored.split('-').collect();
    match parts[..] {
        [mobile] => {
            let head: String = mobile.chars().take(3).collect();
            let tail: String = mobile.chars().skip(7).collect();
            format!("{head}****{tail}")
        }
        [area, local] => format!("{area}-{}", keep_last(local, 2)),
        [area, local, ext] => format!("{area}-{}-{}", keep_last(local, 2), "*".repeat(ext.len())),
        _ => keep_last(stored, 2),
    }
}

/// Replaces all but the last `keep` characters with stars.
fn keep_last(text: &str, keep: usize) -> String {
    let count = text.chars().count();
    let hidden = count.saturating_sub(keep);
    let tail: String = text.chars().skip(hidden).collect();
    format!("{}{tail}", "*".repeat(hidden))
}

/// Masks a name for display: first character kept, a star for each other one (at least one).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim_matches(is_blank).chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let hidden = chars.count().max(1);
    format!("{first}{}", "*".repeat(hidden))
}

// ---------------------------------------------------------------------------------------------
// Cross-field checks and spreadsheet safety
// ---------------------------------------------------------------------------------------------

/// Messages for each of 性别 ("男"/"女") and 出生日期 that disagrees with the ID number; these
/// name the fields, since they concern two at once.
pub fn id_matches(info: &IdInfo, sex: Option<&str>, birth: Option<NaiveDate>) -> Vec<String> {
    let mut problems = Vec::new();

    let given_sex = sex.map(normalise_text).filter(|s| !s.is_empty());
    if let Some(given) = given_sex {
        match given.as_str() {
            "男" | "男性" if info.sex == Sex::Male => {}
            "女" | "女性" if info.sex == Sex::Female => {}
            "男" | "男性" | "女" | "女性" => problems.push(format!(
                "性别与公民身份号码不一致：按号码应为{}，请核对性别或号码",
                info.sex.label()
            )),
            _ => problems.push("性别请填写「男」或「女」".to_string()),
        }
    }
    if birth.is_some_and(|date| date != info.birth) {
        problems
            .push("出生日期与公民身份号码第 7 到 14 位不一致，请核对出生日期或号码".to_string());
    }
    problems
}

/// True when a spreadsheet would run this cell as a formula: it starts with `=`, `+`, `-`, `@`,
/// a tab or a carriage return (full-width forms and leading spaces included).
pub fn is_formula_like(cell: &str) -> bool {
    let start = cell.trim_start_matches([' ', '\u{3000}', '\u{A0}', '\u{FEFF}']);
    matches!(
        start.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A fixed "today" so the tests do not depend on the clock.
    fn today() -> NaiveDate {
        date(2024, 6, 1)
    }

    // --- normalisation -------------------------------------------------------------------------

    #[test]
    fn normalise_code_folds_width_spaces_and_case() {
        let cases = [
            (" \u{3000}ｍａ０r\u{200B}1b2c-8\u{FEFF}", "MA0R1B2C-8"),
            ("\u{A0}9115 0100 ma0r 1b2c 8f\u{A0}", "91150100MA0R1B2C8F"),
            ("（０４７１）", "(0471)"),
            ("\u{FEFF}150102", "150102"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise_code(raw), expected, "input {raw:?}");
        }
    }

    #[test]
    fn normalise_text_trims_only() {
        let cases = [
            (
                "\u{FEFF}\u{3000} 呼和浩特市 新城区\u{A0}\t",
                "呼和浩特市 新城区",
            ),
            ("ＡＢＣ", "ＡＢＣ"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise_text(raw), expected, "input {raw:?}");
        }
    }

    #[test]
    fn normalise_name_maps_lookalike_dots_and_keeps_the_rest() {
        let cases = [
            ("阿依古丽•买买提", "阿依古丽·买买提"),
            ("阿依古丽・买买提", "阿依古丽·买买提"),
            ("阿依古丽‧买买提", "阿依古丽·买买提"),
            ("阿依古丽．买买提", "阿依古丽·买买提"),
            ("阿依古丽･买买提", "阿依古丽·买买提"),
            ("阿依古丽.买买提", "阿依古丽·买买提"),
            ("\u{3000}张三 \u{FEFF}", "张三"),
            ("A. Smith", "A. Smith"),
            ("阿..买", "阿..买"),
            // A CJK compatibility ideograph that NFKC would rewrite to U+8C48 stays as typed.
            ("\u{F900}三", "\u{F900}三"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise_name(raw), expected, "input {raw:?}");
        }
    }

    // --- names -----------------------------------------------------------------------------------

    #[test]
    fn can_check_valid_names() {
        let sixty = "木".repeat(60);
        let cases = [
            ("张三", "张三"),
            (" 欧阳娜娜\u{3000}", "欧阳娜娜"),
            ("阿依古丽.买买提", "阿依古丽·买买提"),
            ("𠀀𠀁", "𠀀𠀁"),
            ("ᠪᠠᠲᠤ", "ᠪᠠᠲᠤ"),
            (sixty.as_str(), sixty.as_str()),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_name(raw).as_deref(), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_names() {
        let sixty_one_non_bmp = "𠀀".repeat(61);
        let cases = [
            ("", "不能为空"),
            ("  \u{3000}", "不能为空"),
            (sixty_one_non_bmp.as_str(), "最多 60 个字，现在有 61 个"),
            ("张三1", "不能包含数字"),
            ("张三１", "不能包含数字"),
            ("张\u{7}三", "控制字符"),
            ("·张三", "间隔号"),
            ("张三•", "间隔号"),
        ];
        for (raw, fragment) in cases {
            let message = check_name(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    // --- ID numbers ------------------------------------------------------------------------------

    #[test]
    fn can_check_valid_id_numbers() {
        let cases = [
            // The three valid examples in domain.md.
            (
                "150102198503159994",
                "150102198503159994",
                date(1985, 3, 15),
                Sex::Male,
            ),
            (
                "150203199207089983",
                "150203199207089983",
                date(1992, 7, 8),
                Sex::Female,
            ),
            (
                "15060219900101990X",
                "15060219900101990X",
                date(1990, 1, 1),
                Sex::Female,
            ),
            (
                "15060219900101990x",
                "15060219900101990X",
                date(1990, 1, 1),
                Sex::Female,
            ),
            (
                "１５０１０２１９８５０３１５９９９４",
                "150102198503159994",
                date(1985, 3, 15),
                Sex::Male,
            ),
            (
                " 150102 198503 159994\u{A0}",
                "150102198503159994",
                date(1985, 3, 15),
                Sex::Male,
            ),
            (
                "'150102198503159994",
                "150102198503159994",
                date(1985, 3, 15),
                Sex::Male,
            ),
            // 15-digit legacy numbers upgrade to the examples above.
            (
                "150102850315999",
                "150102198503159994",
                date(1985, 3, 15),
                Sex::Male,
            ),
            (
                "150203920708998",
                "150203199207089983",
                date(1992, 7, 8),
                Sex::Female,
            ),
            // A real number may end in 000 when its check digit is 0.
            (
                "150102198503158000",
                "150102198503158000",
                date(1985, 3, 15),
                Sex::Female,
            ),
            (
                "650102198503159992",
                "650102198503159992",
                date(1985, 3, 15),
                Sex::Male,
            ),
            (
                "15010219000101123X",
                "15010219000101123X",
                date(1900, 1, 1),
                Sex::Male,
            ),
            (
                "150102202406011233",
                "150102202406011233",
                date(2024, 6, 1),
                Sex::Male,
            ),
        ];
        for (raw, number, birth, sex) in cases {
            let info = check_id_number(raw, today()).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(
                info,
                IdInfo {
                    number: number.to_string(),
                    birth,
                    sex
                },
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn errors_on_bad_id_numbers() {
        let cases = [
            // The three invalid examples in domain.md; 150102198502309997 has a correct check
            // digit, so only the date check catches it.
            ("150102198503159990", "校验码"),
            ("150102198502309997", "不是有效的日期"),
            ("150102198503159000", "文本"),
            ("1.50102E+17", "科学计数法"),
            ("1.50102e+17", "科学计数法"),
            ("1.50102E17", "文本"),
            ("15010219850315999", "现在是 17 位"),
            ("1501021985031599944", "现在是 19 位"),
            ("15010219850315999Y", "前 17 位只能是数字"),
            ("1501021985A3159994", "前 17 位只能是数字"),
            ("15010285031599X", "15 位旧号码"),
            ("990102198503159990", "省级地区代码"),
            ("000102198503159991", "省级地区代码"),
            ("150102189912319990", "早于 1900"),
            ("150102202406021239", "晚于今天"),
            ("1501021985E3159994", "前 17 位只能是数字"),
            ("", "不能为空"),
        ];
        for (raw, fragment) in cases {
            let message = check_id_number(raw, today()).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn excel_damage_messages_say_how_to_fix_the_column() {
        for raw in ["150102198503159000", "1.50102E+17"] {
            let message = check_id_number(raw, today()).unwrap_err();
            assert!(
                message.contains("文本") && message.contains('\''),
                "{message}"
            );
        }
    }

    #[test]
    fn id_messages_never_echo_the_number() {
        let cases = [
            "150102198503159990",
            "150102198502309997",
            "150102198503159000",
            "990102198503159990",
            "150102202406021239",
            "15010219850315999",
        ];
        for raw in cases {
            let message = check_id_number(raw, today()).unwrap_err();
            assert!(!message.contains(raw), "{message}");
            assert!(!message.contains(&raw[6..14]), "{message}");
        }
    }

    // --- organisation codes ----------------------------------------------------------------------

    #[test]
    fn can_check_valid_credit_codes() {
        let cases = [
            ("91150100MA0R1B2C8F", "91150100MA0R1B2C8F"),
            ("12150000001234562C", "12150000001234562C"),
            ("51152502MJ1A2B3C9E", "51152502MJ1A2B3C9E"),
            ("９１１５０１００ｍａ０ｒ１ｂ２ｃ８ｆ", "91150100MA0R1B2C8F"),
            (" 91150100 MA0R1B2C8F\u{3000}", "91150100MA0R1B2C8F"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                check_credit_code(raw).as_deref(),
                Ok(expected),
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn errors_on_bad_credit_codes() {
        let cases = [
            ("91150100MA0R1B2C8A", "校验码"),
            ("9115O100MA0R1B2C8F", "第 5 位的字母 O"),
            ("9115O100MA0R1B2C8F", "可能应为数字 0"),
            ("91150100MA0R1B2C8", "现在是 17 位"),
            ("91150100MA0R1I2C8F", "可能应为数字 1"),
            ("91150100MA0R1S2C8F", "可能应为数字 5"),
            ("91150100MA0R1Z2C8F", "可能应为数字 2"),
            ("91150100MA0R1V2C8F", "字母 V"),
            ("91150100MA0R1B2C8#", "第 18 位只能是数字或大写字母"),
        ];
        for (raw, fragment) in cases {
            let message = check_credit_code(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn credit_code_format_check_ignores_only_the_check_character() {
        assert_eq!(
            check_credit_code_format("91150100MA0R1B2C8A").as_deref(),
            Ok("91150100MA0R1B2C8A")
        );
        assert!(check_credit_code_format("9115O100MA0R1B2C8F").is_err());
        assert!(check_credit_code_format("91150100MA0R1B2C8").is_err());
    }

    #[test]
    fn can_check_valid_org_codes() {
        let cases = [
            ("MA0R1B2C-8", "MA0R1B2C8"),
            ("MA0R1B2C8", "MA0R1B2C8"),
            ("J1L2P304-X", "J1L2P304X"),
            ("j1l2p304x", "J1L2P304X"),
            ("J1L2P309-0", "J1L2P3090"),
            ("ＭＡ０Ｒ１Ｂ２Ｃ－８", "MA0R1B2C8"),
            ("MA0R1B2C–8", "MA0R1B2C8"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                check_org_code(raw).as_deref(),
                Ok(expected),
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn errors_on_bad_org_codes() {
        let cases = [
            ("MA0R1B2C-1", "校验码"),
            ("MA0R1B2-8", "现在是 8 位"),
            ("MA0R1B2#-8", "第 8 位"),
            ("MA0R1B2C-Y", "校验码"),
        ];
        for (raw, fragment) in cases {
            let message = check_org_code(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn unit_code_accepts_either_form() {
        let cases = [
            ("91150100MA0R1B2C8F", Ok("91150100MA0R1B2C8F")),
            ("MA0R1B2C-8", Ok("MA0R1B2C8")),
            ("J1L2P304X", Ok("J1L2P304X")),
            ("91150100MA0R1B2C8A", Err("校验码")),
            ("MA0R1B2C-1", Err("校验码")),
            ("9115O100MA0R1B2C8F", Err("字母 O")),
            ("91150100MA0R1B2C8", Err("18 位统一社会信用代码")),
            ("91150100MA0R1B2C8", Err("9 位组织机构代码")),
        ];
        for (raw, expected) in cases {
            match (check_unit_code(raw), expected) {
                (Ok(code), Ok(stored)) => assert_eq!(code, stored),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{raw:?} gave {message}")
                }
                (got, _) => panic!("{raw:?} gave {got:?}"),
            }
        }
    }

    // --- phones ----------------------------------------------------------------------------------

    #[test]
    fn can_check_valid_mobiles() {
        let cases = [
            ("13800000000", "13800000000"),
            ("138 0000 0000", "13800000000"),
            ("138-0000-0000", "13800000000"),
            ("+86 138 0000 0000", "13800000000"),
            ("0086-13800000000", "13800000000"),
            ("１９９１２３４５６７８", "19912345678"),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_mobile(raw).as_deref(), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_mobiles() {
        let cases = [
            ("", "不能为空"),
            ("1380000000", "现在是 10 位"),
            ("12345678901", "13 至 19"),
            ("23800000000", "13 至 19"),
            ("138O0000000", "只能由数字组成"),
        ];
        for (raw, fragment) in cases {
            let message = check_mobile(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn can_check_valid_landlines() {
        let cases = [
            ("（0471）6945364", "0471-6945364"),
            ("0471-6945364", "0471-6945364"),
            ("0471 6945364转8001", "0471-6945364-8001"),
            ("(0471)6945364-8001", "0471-6945364-8001"),
            ("（０４７１）６９４５３６４", "0471-6945364"),
            ("04716945364", "0471-6945364"),
            ("0471-6945364 分机 8001", "0471-6945364-8001"),
            ("010-62345678", "010-62345678"),
            ("010 6234 5678", "010-62345678"),
            ("01062345678", "010-62345678"),
            ("0482-8261234", "0482-8261234"),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                check_landline(raw).as_deref(),
                Ok(expected),
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn errors_on_bad_landlines() {
        let cases = [
            ("4716945364", "区号应以 0 开头"),
            ("471-6945364", "区号应以 0 开头"),
            ("6945364", "缺少区号"),
            ("13800000000", "手机号码"),
            ("", "不能为空"),
            ("0471-694536", "区号-号码"),
            ("0471-1945364", "区号-号码"),
            ("0471-6945364转", "区号-号码"),
            ("0471-6945364转1234567", "区号-号码"),
            ("0471-6945364ext8001", "其他文字"),
            ("+86 471 6945364", "不用填国家代码"),
        ];
        for (raw, fragment) in cases {
            let message = check_landline(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn phone_accepts_mobile_or_landline() {
        let cases = [
            ("+86 138 0000 0000", Ok("13800000000")),
            ("（0471）6945364", Ok("0471-6945364")),
            ("4716945364", Err("0 开头")),
            ("1380000000", Err("11 位")),
        ];
        for (raw, expected) in cases {
            match (check_phone(raw), expected) {
                (Ok(phone), Ok(stored)) => assert_eq!(phone, stored),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{raw:?} gave {message}")
                }
                (got, _) => panic!("{raw:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn phone_messages_never_echo_the_number() {
        for raw in ["12345678901", "4726945364", "0472-512345", "1380000000"] {
            let message = check_phone(raw).unwrap_err();
            assert!(!message.contains(raw), "{message}");
        }
    }

    // --- postcodes and divisions -----------------------------------------------------------------

    #[test]
    fn can_check_postcodes_with_warnings_outside_inner_mongolia() {
        let cases = [
            ("010000", "010000", false),
            ("０１４０１０", "014010", false),
            ("024000", "024000", false),
            ("137400", "137400", false),
            ("162650", "162650", false),
            ("735400", "735400", false),
            ("737300", "737300", false),
            ("750300", "750300", false),
            ("100000", "100000", true),
            ("030000", "030000", true),
        ];
        for (raw, expected, warns) in cases {
            let (code, warning) = check_postcode(raw).unwrap();
            assert_eq!(code, expected);
            assert_eq!(warning.is_some(), warns, "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_postcodes() {
        let cases = [
            ("10000", "开头的 0"),
            ("0100000", "现在是 7 位"),
            ("01000a", "6 位数字"),
            ("", "6 位数字"),
        ];
        for (raw, fragment) in cases {
            let message = check_postcode(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn divisions_table_parses_completely() {
        let data_lines = DIVISIONS_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty());
        assert_eq!(divisions().len(), data_lines.count());
        assert!(divisions().iter().all(|d| match d.parent_code {
            Some(parent) => divisions().iter().any(|p| p.code == parent),
            None => d.level == DivisionLevel::Province,
        }));
        assert!(divisions()
            .iter()
            .filter(|d| d.level == DivisionLevel::Prefecture)
            .all(|d| d.code.ends_with("00")));
    }

    #[test]
    fn division_parser_names_the_bad_line() {
        let csv =
            "code,name,parent_code,level\n150100,呼和浩特市,150000,prefecture\n15010,x,,county\n";
        assert!(parse_divisions(csv).unwrap_err().contains("line 3"));
        assert!(parse_divisions("wrong header\n").is_err());
        assert_eq!(
            parse_divisions(
                "\u{FEFF}code,name,parent_code,level\r\n150000,内蒙古自治区,,province\r\n"
            )
            .map(|rows| rows.len()),
            Ok(1)
        );
    }

    #[test]
    fn can_look_up_division_names() {
        let cases = [
            ("150102", Some("新城区")),
            ("150100", Some("呼和浩特市")),
            ("150000", Some("内蒙古自治区")),
            ("１５０１０２", Some("新城区")),
            ("150199", None),
            ("", None),
        ];
        for (code, expected) in cases {
            assert_eq!(division_name(code), expected, "input {code:?}");
        }
    }

    #[test]
    fn can_check_division_codes() {
        let cases = [
            ("150102", Ok("150102")),
            (" 152900 ", Ok("152900")),
            ("150199", Err("没有这个代码")),
            ("110101", Err("没有这个代码")),
            ("15010", Err("6 位数字")),
            ("15010a", Err("6 位数字")),
        ];
        for (raw, expected) in cases {
            match (check_division_code(raw), expected) {
                (Ok(code), Ok(stored)) => assert_eq!(code, stored),
                (Err(message), Err(fragment)) => {
                    assert!(message.contains(fragment), "{raw:?} gave {message}")
                }
                (got, _) => panic!("{raw:?} gave {got:?}"),
            }
        }
    }

    // --- dates -----------------------------------------------------------------------------------

    #[test]
    fn can_read_dates_in_every_accepted_form() {
        let cases = [
            ("2024-01-01", date(2024, 1, 1)),
            ("2024/1/1", date(2024, 1, 1)),
            ("2024.1.1", date(2024, 1, 1)),
            ("2024年1月1日", date(2024, 1, 1)),
            ("2024年1月1", date(2024, 1, 1)),
            ("20240101", date(2024, 1, 1)),
            ("２０２４年１月３１日", date(2024, 1, 31)),
            ("２０２４－０１－３１", date(2024, 1, 31)),
            (" 2024-02-29\u{A0}", date(2024, 2, 29)),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_date(raw), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_dates_and_shows_the_accepted_form() {
        let cases = [
            ("2024年2月30日", "2 月没有 30 日"),
            ("2023-02-29", "不是闰年"),
            ("2024-04-31", "4 月没有 31 日"),
            ("2024-13-01", "月份"),
            ("2024-00-10", "月份"),
            ("1899-12-31", "年份"),
            ("24-1-1", "格式"),
            ("2024-1-1-1", "格式"),
            ("2024+01+01", "格式"),
            ("45292", "格式"),
            ("", "格式"),
        ];
        for (raw, fragment) in cases {
            let message = check_date(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
            assert!(message.contains(DATE_EXAMPLE), "{raw:?} gave {message}");
        }
    }

    // --- e-mail ----------------------------------------------------------------------------------

    #[test]
    fn can_check_valid_emails() {
        let cases = [
            ("Zhang.San@Example.COM", "Zhang.San@example.com"),
            (" hr-office+beian@nm.gov.cn ", "hr-office+beian@nm.gov.cn"),
            ("name＠qq。com", "name@qq.com"),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_email(raw).as_deref(), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_emails() {
        let cases = [
            ("", "不能为空"),
            ("name.example.com", "缺少 @"),
            ("a@b@example.com", "只能有一个 @"),
            (".name@example.com", "@ 前面"),
            ("na..me@example.com", "@ 前面"),
            ("name@example", "域名"),
            ("name@-example.com", "域名"),
            ("name@example.c0m", "域名"),
            ("张三@example.com", "中文"),
        ];
        for (raw, fragment) in cases {
            let message = check_email(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    // --- numbers ---------------------------------------------------------------------------------

    #[test]
    fn can_read_integers() {
        let cases = [
            ("1,234", None, None, 1234),
            ("1，234", None, None, 1234),
            ("１２", None, None, 12),
            (" 12 ", Some(0), Some(100), 12),
            ("-5", None, None, -5),
            ("+7", None, None, 7),
            ("1,234,567", None, None, 1_234_567),
            ("9223372036854775807", None, None, i64::MAX),
        ];
        for (raw, min, max, expected) in cases {
            assert_eq!(check_integer(raw, min, max), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_integers() {
        let cases = [
            ("", None, None, "不能为空"),
            ("12.5", None, None, "整数"),
            ("12.0", None, None, "整数"),
            ("12人", None, None, "阿拉伯数字"),
            ("1.2E+3", None, None, "阿拉伯数字"),
            ("1,23", None, None, "逗号"),
            ("12,3456", None, None, "逗号"),
            (",123", None, None, "逗号"),
            ("9223372036854775808", None, None, "太大"),
            ("-1", Some(0), None, "不能小于 0"),
            ("101", None, Some(100), "不能大于 100"),
            ("101", Some(0), Some(100), "0 到 100"),
        ];
        for (raw, min, max, fragment) in cases {
            let message = check_integer(raw, min, max).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn can_read_money_in_whole_yuan() {
        let cases = [
            ("12,000", 12000),
            ("12000元", 12000),
            ("12000.00", 12000),
            ("￥12,000.00元", 12000),
            ("１２０００", 12000),
            ("0", 0),
            ("10000000000000", MONEY_MAX_YUAN),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_money_yuan(raw), Ok(expected), "input {raw:?}");
        }
    }

    #[test]
    fn errors_on_bad_money() {
        let cases = [
            ("12000.5", "请填写整数元"),
            ("12000.05", "请填写整数元"),
            ("-1", "负数"),
            ("10000000000001", "上限"),
            ("99999999999999999999", "上限"),
            ("1.2万", "不要用「万」"),
            ("1.2万元", "不要用「万」"),
            ("一万二", "数字金额"),
            ("", "不能为空"),
        ];
        for (raw, fragment) in cases {
            let message = check_money_yuan(raw).unwrap_err();
            assert!(message.contains(fragment), "{raw:?} gave {message}");
        }
    }

    #[test]
    fn long_numbers_keep_every_digit() {
        // Through f64 this would come back as 150102198503159008 or similar.
        assert_eq!(
            check_integer("150102198503159994", None, None),
            Ok(150102198503159994)
        );
    }

    // --- masking ---------------------------------------------------------------------------------

    #[test]
    fn masks_show_only_what_the_rules_allow() {
        let cases = [
            (mask_id("150102198503151234"), "150102********1234"),
            (mask_id("15060219900101990X"), "150602********990X"),
            (mask_id("150102850315999"), "150102*****5999"),
            (mask_id("12345"), "*****"),
            (mask_phone("13800000000"), "138****0000"),
            (mask_phone("+86 138 0000 1234"), "138****1234"),
            (mask_phone("0471-6945364"), "0471-*****64"),
            (mask_phone("010-62345678"), "010-******78"),
            (mask_phone("0471-6945364-8001"), "0471-*****64-****"),
            (mask_phone("12345"), "***45"),
            (mask_name("张三"), "张*"),
            (mask_name("欧阳娜娜"), "欧***"),
            (mask_name("张"), "张*"),
            (mask_name(" 𠀀𠀁 "), "𠀀*"),
            (mask_name(""), ""),
        ];
        for (masked, expected) in cases {
            assert_eq!(masked, expected);
        }
    }

    // --- cross-field checks ----------------------------------------------------------------------

    #[test]
    fn id_matches_reports_each_disagreement() {
        let info = check_id_number("150102198503159994", today()).unwrap();
        let cases: [(Option<&str>, Option<NaiveDate>, &[&str]); 8] = [
            (Some("男"), Some(date(1985, 3, 15)), &[]),
            (Some(" 男性 "), None, &[]),
            (None, None, &[]),
            (Some(""), None, &[]),
            (
                Some("女"),
                None,
                &["性别与公民身份号码不一致：按号码应为男"],
            ),
            (None, Some(date(1985, 5, 13)), &["出生日期"]),
            (Some("女"), Some(date(1985, 5, 13)), &["性别", "出生日期"]),
            (Some("M"), None, &["「男」或「女」"]),
        ];
        for (sex, birth, fragments) in cases {
            let problems = id_matches(&info, sex, birth);
            assert_eq!(
                problems.len(),
                fragments.len(),
                "{sex:?} {birth:?}: {problems:?}"
            );
            for (problem, fragment) in problems.iter().zip(fragments) {
                assert!(problem.contains(fragment), "{problem}");
            }
        }
    }

    #[test]
    fn sex_labels_are_the_form_wording() {
        assert_eq!(Sex::Male.label(), "男");
        assert_eq!(Sex::Female.label(), "女");
    }

    // --- spreadsheet safety ----------------------------------------------------------------------

    #[test]
    fn spots_cells_a_spreadsheet_would_run_as_formulas() {
        let cases = [
            ("=1+1", true),
            ("+86 138", true),
            ("-5", true),
            ("@SUM(A1)", true),
            ("\tx", true),
            ("\rx", true),
            ("  =HYPERLINK(\"x\")", true),
            ("＝1+1", true),
            ("张三", false),
            ("0471-6945364", false),
            ("", false),
        ];
        for (cell, expected) in cases {
            assert_eq!(is_formula_like(cell), expected, "input {cell:?}");
        }
    }

    // --- robustness ------------------------------------------------------------------------------

    #[test]
    fn doesnt_panic_on_nasty_input() {
        let huge_digits = "9".repeat(100_000);
        let huge_text = "张".repeat(50_000);
        let combining = format!("e{}", "\u{301}".repeat(1000));
        let expanding = "\u{FDFA}".repeat(1000);
        let nasty: Vec<&str> = vec![
            "",
            " ",
            "\u{3000}\u{A0}\u{FEFF}\u{200B}",
            "\0",
            "\u{FFFD}\u{FFFD}",
            "\u{10FFFF}",
            "👨‍👩‍👧‍👦",
            "🇨🇳1234567890123456",
            &combining,
            &expanding,
            &huge_digits,
            &huge_text,
            "ß",
            "İ",
            "\u{202E}150102198503159994",
            "-",
            "+",
            ".",
            ",",
            "'",
            "E",
            "1E",
            "E+1",
            "+86",
            "0086",
            "转",
            "转转转",
            "分机",
            "()",
            "0",
            "00000000000000000000",
            "年月日",
            "2024年",
            "9999-99-99",
            "99999999",
            "@",
            "@.",
            "a@.",
            "¥",
            "元",
            "万",
            "-9223372036854775808",
            "١٢٣٤٥٦",
            "１５０１０２１９８５０３１５９９９",
            "15010219850315999\u{301}",
            "1501021985031599\u{FF38}",
            "·",
            "..",
            "\t=",
            "\r\n",
        ];
        for raw in nasty {
            let _ = normalise_code(raw);
            let _ = normalise_text(raw);
            let _ = normalise_name(raw);
            let _ = check_name(raw);
            if let Ok(info) = check_id_number(raw, today()) {
                let _ = id_matches(&info, Some(raw), None);
            }
            let _ = check_credit_code(raw);
            let _ = check_credit_code_format(raw);
            let _ = check_org_code(raw);
            let _ = check_unit_code(raw);
            let _ = check_mobile(raw);
            let _ = check_landline(raw);
            let _ = check_phone(raw);
            let _ = check_postcode(raw);
            let _ = check_division_code(raw);
            let _ = division_name(raw);
            let _ = check_date(raw);
            let _ = check_email(raw);
            let _ = check_integer(raw, Some(0), Some(10));
            let _ = check_integer(raw, None, None);
            let _ = check_money_yuan(raw);
            let _ = mask_id(raw);
            let _ = mask_phone(raw);
            let _ = mask_name(raw);
            let _ = is_formula_like(raw);
        }
        let info = check_id_number("150102198503159994", today()).unwrap();
        let _ = id_matches(&info, Some("\u{FFFD}"), Some(NaiveDate::MAX));
    }
}
