// Online forms: checks a form in the browser before it is posted, and adds or removes group
// rows without a round trip. The rules and their Chinese messages are those of
// functions/src/validate.rs and functions/src/validation.rs, which stay the authority: the
// server checks every submission again, and the page works the same without this script.
// tests/forms_js.rs runs both on the same inputs and fails when they disagree.
// Plain ES5 with no libraries, so it runs as written in older phone browsers.
(function (root) {
  'use strict';

  // -------------------------------------------------------------------------------------------
  // Characters
  // -------------------------------------------------------------------------------------------

  /** Rust's `char::is_whitespace` (the Unicode White_Space property). */
  var WHITESPACE = /^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

  /** Invisible characters that stick to pasted values, besides the spaces. */
  var INVISIBLE = /^[\ufeff\u200b\u200c\u200d\u2060\u180e]$/;

  /** Hyphens and dashes people type between parts of a number. */
  var DASH = /^[\-\u2010\u2011\u2012\u2013\u2014\u2212]$/;

  /** Control characters (Unicode category Cc). */
  var CONTROL = /^[\u0000-\u001f\u007f-\u009f]$/;

  function isWhitespace(c) {
    return WHITESPACE.test(c);
  }

  function isBlank(c) {
    return WHITESPACE.test(c) || INVISIBLE.test(c);
  }

  function isDash(c) {
    return DASH.test(c);
  }

  function isDigit(c) {
    return c.length === 1 && c >= '0' && c <= '9';
  }

  function allDigits(text) {
    return /^[0-9]*$/.test(text);
  }

  /** Splits text into code points, so a character outside the BMP counts once. */
  function chars(text) {
    var out = [];
    for (var i = 0; i < text.length; i++) {
      var unit = text.charCodeAt(i);
      var next = text.charCodeAt(i + 1);
      if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out.push(text.charAt(i) + text.charAt(i + 1));
        i += 1;
      } else {
        out.push(text.charAt(i));
      }
    }
    return out;
  }

  /** Unicode NFKC; browsers without `normalize` still get full-width ASCII folded. */
  function nfkc(text) {
    if (typeof text.normalize === 'function') return text.normalize('NFKC');
    return text.replace(/[\uff01-\uff5e]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).replace(/\u3000/g, ' ');
  }

  function trimBlank(text) {
    var list = chars(text);
    var start = 0;
    var end = list.length;
    while (start < end && isBlank(list[start])) start += 1;
    while (end > start && isBlank(list[end - 1])) end -= 1;
    return list.slice(start, end).join('');
  }

  function withoutBlanks(text) {
    return chars(text).filter(function (c) { return !isBlank(c); }).join('');
  }

  function startsWith(text, prefix) {
    return text.slice(0, prefix.length) === prefix;
  }

  function endsWith(text, suffix) {
    return suffix.length <= text.length && text.slice(text.length - suffix.length) === suffix;
  }

  function repeat(text, count) {
    return new Array(count + 1).join(text);
  }

  function ok(value) {
    return { ok: true, value: value };
  }

  function fail(message) {
    return { ok: false, message: message };
  }

  // -------------------------------------------------------------------------------------------
  // Normalisation
  // -------------------------------------------------------------------------------------------

  /** Normalises a code or number: NFKC, spaces and invisible characters removed, upper-case. */
  function normaliseCode(raw) {
    return withoutBlanks(nfkc(String(raw))).toUpperCase();
  }

  // Invisible formatting characters (zero-width, direction marks and overrides, soft hyphen,
  // BOM) are removed from text wherever they are, as in validate.rs.
  var INVISIBLE_FORMAT = /[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

  function withoutInvisible(text) {
    return text.replace(INVISIBLE_FORMAT, '');
  }

  /** Normalises free text: invisible formatting characters removed, spaces trimmed. */
  function normaliseText(raw) {
    return trimBlank(withoutInvisible(String(raw)));
  }

  var MIDDLE_DOT = '\u00b7';
  var MIDDLE_DOT_LOOKALIKE = /^[\u2022\u30fb\uff65\u2027\uff0e\u0387\u2219\u22c5]$/;

  /** Normalises a person's name: trims and maps look-alike middle dots to `·`; never NFKC. */
  function normaliseName(raw) {
    var list = chars(trimBlank(withoutInvisible(String(raw))));
    return list.map(function (c, i) {
      return MIDDLE_DOT_LOOKALIKE.test(c) || isLoneDotBetweenParts(list, i) ? MIDDLE_DOT : c;
    }).join('');
  }

  function isLoneDotBetweenParts(list, i) {
    function isPart(c) {
      return !isWhitespace(c) && c !== '.' && c !== MIDDLE_DOT;
    }
    var next = list[i + 1];
    return list[i] === '.' && i > 0 && isPart(list[i - 1]) &&
      next !== undefined && isPart(next) && !MIDDLE_DOT_LOOKALIKE.test(next) &&
      !MIDDLE_DOT_LOOKALIKE.test(list[i - 1]);
  }

  var TEXT_COLUMN_FIX = '请把表格中该列设为「文本」格式后重新输入完整内容，或在内容前加一个英文单引号 \'';

  // -------------------------------------------------------------------------------------------
  // Names
  // -------------------------------------------------------------------------------------------

  var NAME_MAX_CHARS = 60;

  function checkName(raw) {
    var name = normaliseName(raw);
    var list = chars(name);
    if (list.length === 0) return fail('不能为空，请填写');
    if (list.length > NAME_MAX_CHARS) {
      return fail('最多 ' + NAME_MAX_CHARS + ' 个字，现在有 ' + list.length +
        ' 个，请删去职务、备注等多余内容');
    }
    if (/[0-9\uff10-\uff19]/.test(name)) {
      return fail('不能包含数字；身份证号码、电话等请填到对应的栏目');
    }
    if (list.some(function (c) { return CONTROL.test(c); })) {
      return fail('含有看不见的控制字符（常见于从其他文件复制的内容），请删除后重新输入');
    }
    if (list[0] === MIDDLE_DOT || list[list.length - 1] === MIDDLE_DOT) {
      return fail('间隔号「·」只能放在名字的两部分之间，如 阿依古丽·买买提');
    }
    return ok(name);
  }

  // -------------------------------------------------------------------------------------------
  // Dates (as YYYY-MM-DD text, which sorts like the dates themselves)
  // -------------------------------------------------------------------------------------------

  function isLeapYear(year) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  }

  function daysInMonth(year, month) {
    if (month === 2) return isLeapYear(year) ? 29 : 28;
    return [4, 6, 9, 11].indexOf(month) === -1 ? 31 : 30;
  }

  function isRealDate(year, month, day) {
    return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
  }

  function pad(number, width) {
    var text = String(number);
    return text.length >= width ? text : repeat('0', width - text.length) + text;
  }

  function isoDate(year, month, day) {
    return pad(year, 4) + '-' + pad(month, 2) + '-' + pad(day, 2);
  }

  var DATE_EXAMPLE = '2024-01-31';

  /** Checks a date written as 2024-01-31, 2024/1/31, 2024.1.31, 2024年1月31日 or 20240131. */
  function checkDate(raw) {
    var text = withoutBlanks(nfkc(String(raw)));
    var parts = dateParts(text);
    if (!parts) return fail('请按 ' + DATE_EXAMPLE + ' 的格式填写日期（年份 4 位）');
    var year = parts[0];
    var month = parts[1];
    var day = parts[2];
    if (year < 1900 || year > 2100) {
      return fail('年份应在 1900 到 2100 之间，请核对，格式如 ' + DATE_EXAMPLE);
    }
    if (month < 1 || month > 12) {
      return fail('月份应在 1 到 12 之间，请核对，格式如 ' + DATE_EXAMPLE);
    }
    if (!isRealDate(year, month, day)) {
      if (month === 2 && day === 29) {
        return fail(year + ' 年不是闰年，2 月没有 29 日，请核对，格式如 ' + DATE_EXAMPLE);
      }
      return fail(month + ' 月没有 ' + day + ' 日，请核对，格式如 ' + DATE_EXAMPLE);
    }
    return ok(isoDate(year, month, day));
  }

  function dateParts(text) {
    if (/^[0-9]{8}$/.test(text)) {
      return [+text.slice(0, 4), +text.slice(4, 6), +text.slice(6)];
    }
    var body = endsWith(text, '日') ? text.slice(0, -1) : text;
    var parts = chars(body).map(function (c) {
      return c === '年' || c === '月' || c === '/' || c === '.' || isDash(c) ? '\n' : c;
    }).join('').split('\n');
    if (parts.length !== 3) return null;
    var lengths = [[4, 4], [1, 2], [1, 2]];
    for (var i = 0; i < 3; i++) {
      var part = parts[i];
      if (part.length < lengths[i][0] || part.length > lengths[i][1] || !/^[0-9]+$/.test(part)) {
        return null;
      }
    }
    return [+parts[0], +parts[1], +parts[2]];
  }

  // -------------------------------------------------------------------------------------------
  // 公民身份号码 (GB 11643)
  // -------------------------------------------------------------------------------------------

  var ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var ID_CHECK_CHARS = '10X98765432';
  var ID_REGIONS = [
    '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
    '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64',
    '65', '71', '81', '82', '83', '91', '92', '93', '94', '95', '96'
  ];

  /**
   * Checks a citizen ID number against `today` (YYYY-MM-DD); the value is
   * `{number, birth, sex}` with `birth` as YYYY-MM-DD and `sex` as 男 or 女.
   */
  function checkIdNumber(raw, today) {
    var text = normaliseCode(raw);
    if (text.charAt(0) === '\'') text = text.slice(1);
    if (text === '') return fail('不能为空，请填写 18 位号码');
    if (isScientificNotation(text)) {
      return fail('号码被表格变成了科学计数法（如 1.5E+17 这样的形式），后几位数字已经丢失。' +
        TEXT_COLUMN_FIX);
    }
    var count = chars(text).length;
    var number;
    if (count === 18) {
      number = text;
    } else if (count === 15) {
      if (!allDigits(text)) return fail('15 位旧号码只能由数字组成，请对照证件核对');
      var first17 = text.slice(0, 6) + '19' + text.slice(6);
      number = first17 + idCheckChar(first17);
    } else {
      return fail('应为 18 位（旧证件为 15 位），现在是 ' + count +
        ' 位，请对照证件核对是否多填或漏填');
    }
    if (!/^[0-9]{17}[0-9X]$/.test(number)) {
      return fail('前 17 位只能是数字，最后一位是数字或字母 X，请检查是否混入了其他字母或符号');
    }
    if (ID_REGIONS.indexOf(number.slice(0, 2)) === -1) {
      return fail('前两位应是省级地区代码（如内蒙古为 15），请核对号码开头');
    }
    var year = +number.slice(6, 10);
    var month = +number.slice(10, 12);
    var day = +number.slice(12, 14);
    if (!isRealDate(year, month, day)) {
      return fail('第 7 到 14 位应是出生年月日，现在不是有效的日期，请对照证件核对');
    }
    var birth = isoDate(year, month, day);
    if (birth > today) return fail('第 7 到 14 位表示的出生日期晚于今天，请对照证件核对');
    if (year < 1900) return fail('第 7 到 14 位表示的出生日期早于 1900 年，请对照证件核对');
    if (number.charAt(17) !== idCheckChar(number.slice(0, 17))) {
      if (endsWith(number, '000')) {
        return fail('最后几位变成了 000，多半是表格把号码当成数字，只保留了前 15 位。' +
          TEXT_COLUMN_FIX);
      }
      return fail('最后一位校验码与前 17 位不符，说明有数字填错或前后颠倒，请对照证件逐位核对');
    }
    var sex = (+number.charAt(16)) % 2 === 1 ? '男' : '女';
    return ok({ number: number, birth: birth, sex: sex });
  }

  /** True for text like `1.50102E+17`: how a spreadsheet shows a long number. */
  function isScientificNotation(text) {
    var e = text.indexOf('E');
    if (e === -1) return false;
    var mantissa = text.slice(0, e);
    var exponent = text.slice(e + 1);
    if (exponent.charAt(0) === '+') exponent = exponent.slice(1);
    var point = mantissa.indexOf('.');
    var whole = point === -1 ? mantissa : mantissa.slice(0, point);
    var fraction = point === -1 ? '' : mantissa.slice(point + 1);
    return whole.length === 1 && exponent.length >= 1 && exponent.length <= 2 &&
      allDigits(whole) && allDigits(fraction) && allDigits(exponent);
  }

  /** The check character for 17 ASCII digits, summed digit by digit. */
  function idCheckChar(first17) {
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * ID_WEIGHTS[i];
    return ID_CHECK_CHARS.charAt(sum % 11);
  }

  /** Messages for a sex (男/女) or birth date (YYYY-MM-DD) that disagrees with the ID number. */
  function idMatches(info, sex, birth) {
    var problems = [];
    var given = sex == null ? '' : normaliseText(sex);
    if (given !== '') {
      var male = given === '男' || given === '男性';
      var female = given === '女' || given === '女性';
      if (!male && !female) {
        problems.push('性别请填写「男」或「女」');
      } else if ((male && info.sex !== '男') || (female && info.sex !== '女')) {
        problems.push('性别与公民身份号码不一致：按号码应为' + info.sex + '，请核对性别或号码');
      }
    }
    if (birth != null && birth !== info.birth) {
      problems.push('出生日期与公民身份号码第 7 到 14 位不一致，请核对出生日期或号码');
    }
    return problems;
  }

  // -------------------------------------------------------------------------------------------
  // 统一社会信用代码 (GB 32100) and 组织机构代码 (GB 11714)
  // -------------------------------------------------------------------------------------------

  var CREDIT_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  var ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];
  var CREDIT_GUESSES = {
    I: '，可能应为数字 1',
    O: '，可能应为数字 0',
    S: '，可能应为数字 5',
    Z: '，可能应为数字 2',
    V: '，可能应为字母 U 或 Y'
  };

  function checkCreditCode(raw) {
    var format = checkCreditCodeFormat(raw);
    if (!format.ok) return format;
    var code = format.value;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += CREDIT_CHARSET.indexOf(code.charAt(i)) * CREDIT_WEIGHTS[i];
    if (CREDIT_CHARSET.charAt((31 - sum % 31) % 31) !== code.charAt(17)) {
      return fail('第 18 位校验码与前 17 位不符，请对照营业执照逐位核对；' +
        '如确认与执照一致，请联系经办人员说明情况后登记');
    }
    return ok(code);
  }

  /** Length and characters of a credit code, without its check character. */
  function checkCreditCodeFormat(raw) {
    var code = normaliseCode(raw);
    var list = chars(code);
    if (list.length !== 18) {
      return fail('应为 18 位数字和大写字母，现在是 ' + list.length + ' 位，请对照营业执照核对');
    }
    for (var i = 0; i < 18; i++) {
      var c = list[i];
      if (c.length === 1 && CREDIT_CHARSET.indexOf(c) !== -1) continue;
      var guess = CREDIT_GUESSES.hasOwnProperty(c) ? CREDIT_GUESSES[c] : null;
      if (guess === null) {
        return fail('第 ' + (i + 1) + ' 位只能是数字或大写字母，请对照营业执照核对');
      }
      return fail('第 ' + (i + 1) + ' 位的字母 ' + c +
        ' 不能使用（代码中没有 I、O、S、V、Z 五个字母）' + guess + '，请对照营业执照核对');
    }
    return ok(code);
  }

  function withoutDashes(text) {
    return chars(text).filter(function (c) { return !isDash(c); }).join('');
  }

  function checkOrgCode(raw) {
    var code = withoutDashes(normaliseCode(raw));
    var list = chars(code);
    if (list.length !== 9) {
      return fail('应为 9 位：8 位本体代码加 1 位校验码，如 MA0R1B2C-8（短横线可省略），现在是 ' +
        list.length + ' 位');
    }
    var sum = 0;
    for (var i = 0; i < 8; i++) {
      if (!/^[0-9A-Z]$/.test(list[i])) {
        return fail('第 ' + (i + 1) + ' 位只能是数字或大写字母，请对照证书核对');
      }
      sum += parseInt(list[i], 36) * ORG_WEIGHTS[i];
    }
    var check = 11 - sum % 11;
    var expected = check === 10 ? 'X' : check === 11 ? '0' : String(check);
    if (list[8] !== expected) return fail('校验码（最后一位）与前 8 位不符，请对照证书逐位核对');
    return ok(code);
  }

  /** A credit code (18 characters) or an organisation code (9). */
  function checkUnitCode(raw) {
    var code = withoutDashes(normaliseCode(raw));
    var count = chars(code).length;
    if (count === 18) return checkCreditCode(code);
    if (count === 9) return checkOrgCode(code);
    return fail('请填写 18 位统一社会信用代码（如 91150100MA0R1B2C8F），' +
      '或尚未换证单位的 9 位组织机构代码（8 位加 1 位校验码，如 MA0R1B2C-8）；现在是 ' +
      count + ' 位');
  }

  // -------------------------------------------------------------------------------------------
  // Phones
  // -------------------------------------------------------------------------------------------

  var LANDLINE_EXAMPLE = '如 0471-6945364，有分机号写在最后，如 0471-6945364-8001';

  function compactPhone(raw) {
    return chars(nfkc(String(raw))).filter(function (c) {
      return !isBlank(c) && !isDash(c);
    }).join('');
  }

  function stripCountryCode(compact) {
    if (startsWith(compact, '+86')) return compact.slice(3);
    if (startsWith(compact, '0086')) return compact.slice(4);
    return compact;
  }

  function checkMobile(raw) {
    var digits = stripCountryCode(compactPhone(raw));
    if (digits === '') return fail('不能为空，请填写 11 位手机号码');
    if (!allDigits(digits)) return fail('手机号码只能由数字组成，请删去其他文字或符号');
    if (digits.length !== 11) {
      return fail('手机号码应为 11 位数字，现在是 ' + digits.length + ' 位，请核对是否多填或漏填');
    }
    if (!/^1[3-9]/.test(digits)) return fail('手机号码应以 13 至 19 开头，请核对前两位');
    return ok(digits);
  }

  /** A landline, stored as `0471-6945364` or `0471-6945364-8001`. */
  function checkLandline(raw) {
    var text = chars(nfkc(String(raw))).map(function (c) {
      return isBlank(c) ? ' ' : c;
    }).join('').replace(/^ +| +$/g, '');
    var split = splitExtension(text);
    var groups = digitGroups(split.main);
    if (!groups.ok) return groups;
    var digits = groups.value.join('');
    if (digits.charAt(0) !== '0') return fail(landlineWithoutZeroMessage(digits));
    var extension = null;
    if (split.extension !== null) {
      var extensionGroups = digitGroups(split.extension);
      if (!extensionGroups.ok) return extensionGroups;
      extension = extensionGroups.value.join('');
    }
    var stored = parseLandline(groups.value, extension);
    if (stored === null) {
      return fail('请按「区号-号码」填写，' + LANDLINE_EXAMPLE +
        '；区号后的号码为 7 或 8 位，不以 0 或 1 开头');
    }
    return ok(stored);
  }

  function splitExtension(text) {
    var markers = ['转', '分机'];
    for (var i = 0; i < markers.length; i++) {
      var at = text.indexOf(markers[i]);
      if (at !== -1) {
        return { main: text.slice(0, at), extension: text.slice(at + markers[i].length) };
      }
    }
    return { main: text, extension: null };
  }

  function isPhoneSeparator(c) {
    return c === ' ' || c === '(' || c === ')' || isDash(c);
  }

  function digitGroups(text) {
    var list = chars(text);
    var groups = [];
    var current = '';
    for (var i = 0; i < list.length; i++) {
      var c = list[i];
      if (isDigit(c)) {
        current += c;
      } else if (isPhoneSeparator(c)) {
        if (current !== '') groups.push(current);
        current = '';
      } else if (c === '+') {
        return fail('不用填国家代码 +86，请直接填写以 0 开头的区号和号码，如 0471-6945364');
      } else {
        return fail('只能填写数字、括号、短横线和「转」，请删去其他文字或符号，' + LANDLINE_EXAMPLE);
      }
    }
    if (current !== '') groups.push(current);
    return ok(groups);
  }

  function landlineWithoutZeroMessage(digits) {
    var first = digits.charAt(0);
    if (digits === '') return '不能为空，请填写带区号的电话号码，' + LANDLINE_EXAMPLE;
    if (digits.length === 11 && first === '1') {
      return '这是手机号码，这里请填写带区号的固定电话，如 0471-6945364';
    }
    if (digits.length >= 7 && digits.length <= 8 && first >= '2' && first <= '9') {
      return '缺少区号，请在号码前加上区号，如 0471-6945364';
    }
    return '区号应以 0 开头，如 0471-6945364；从表格导入时开头的 0 可能丢失，' + TEXT_COLUMN_FIX;
  }

  function parseLandline(groups, extension) {
    var parts;
    if (extension !== null) {
      parts = splitAreaAndNumber(groups);
      return parts && isExtension(extension) ? parts.join('-') + '-' + extension : null;
    }
    parts = splitAreaAndNumber(groups);
    if (parts) return parts.join('-');
    var last = groups[groups.length - 1];
    var rest = groups.slice(0, -1);
    if (groups.length === 0 || rest.length === 0 || !isExtension(last)) return null;
    parts = splitAreaAndNumber(rest);
    return parts ? parts.join('-') + '-' + last : null;
  }

  /** Area code and number; without a separate area-code group, 010 and 02x have 3 digits. */
  function splitAreaAndNumber(groups) {
    var digits = groups.join('');
    var first = groups.length > 0 ? groups[0] : null;
    var areaLength;
    if (first !== null && first.charAt(0) === '0' && first.length >= 3 && first.length <= 4) {
      areaLength = first.length;
    } else if (startsWith(digits, '01') || startsWith(digits, '02')) {
      areaLength = 3;
    } else {
      areaLength = 4;
    }
    if (digits.length <= areaLength) return null;
    var area = digits.slice(0, areaLength);
    var local = digits.slice(areaLength);
    var areaOk = area.charAt(0) === '0' && !startsWith(area, '00');
    var localOk = local.length >= 7 && local.length <= 8 && /^[2-9]/.test(local);
    return areaOk && localOk ? [area, local] : null;
  }

  function isExtension(text) {
    return /^[0-9]{1,6}$/.test(text);
  }

  /** A mobile number or a landline. */
  function checkPhone(raw) {
    return stripCountryCode(compactPhone(raw)).charAt(0) === '1' ? checkMobile(raw) : checkLandline(raw);
  }

  // -------------------------------------------------------------------------------------------
  // Postcodes and administrative divisions
  // -------------------------------------------------------------------------------------------

  var NM_POSTCODE_PREFIXES = ['01', '02', '137', '162', '735', '737', '750'];

  /** A postcode; the value is `{code, warning}`, with a warning outside Inner Mongolia. */
  function checkPostcode(raw) {
    var code = normaliseCode(raw);
    if (code === '' || !allDigits(code)) return fail('应为 6 位数字，如 010000');
    if (code.length === 6) {
      var inside = NM_POSTCODE_PREFIXES.some(function (p) { return startsWith(code, p); });
      var warning = inside ? null : '不是内蒙古的邮政编码（区内以 01、02、137、162、735、737、750 开头），' +
        '如地址在区外可忽略，否则请核对';
      return ok({ code: code, warning: warning });
    }
    if (code.length === 5) {
      return fail('应为 6 位数字，现在只有 5 位，可能丢了开头的 0（如 010000 变成了 10000）。' +
        TEXT_COLUMN_FIX);
    }
    return fail('应为 6 位数字，现在是 ' + code.length + ' 位，如 010000');
  }

  /**
   * A division code; `divisions` lists the codes of content/data/nm-divisions.csv. Without
   * the list only the shape is checked, and the server looks the code up.
   */
  function checkDivisionCode(raw, divisions) {
    var code = normaliseCode(raw);
    if (!/^[0-9]{6}$/.test(code)) return fail('应为 6 位数字，如 150102（呼和浩特市新城区）');
    if (divisions && divisions.indexOf(code) === -1) {
      return fail('内蒙古行政区划中没有这个代码，请核对；盟市代码以 00 结尾，' +
        '如 150100 是呼和浩特市，150102 是其下的新城区');
    }
    return ok(code);
  }

  // -------------------------------------------------------------------------------------------
  // E-mail
  // -------------------------------------------------------------------------------------------

  function checkEmail(raw) {
    var text = withoutBlanks(nfkc(String(raw))).replace(/\u3002/g, '.');
    if (text === '') return fail('不能为空，请按 name@example.com 的格式填写');
    if (!/^[\u0000-\u007f]*$/.test(text)) {
      return fail('只能包含英文字母、数字和 . _ - 等符号，请检查是否混入了中文或其他文字');
    }
    var at = text.indexOf('@');
    if (at === -1) return fail('缺少 @，请按 name@example.com 的格式填写');
    var local = text.slice(0, at);
    var domain = text.slice(at + 1);
    if (domain.indexOf('@') !== -1) return fail('只能有一个 @，请按 name@example.com 的格式填写');
    if (!isEmailLocalPart(local)) {
      return fail('@ 前面的部分只能用字母、数字和 . _ - +，点不能在开头、结尾或连续出现');
    }
    domain = domain.toLowerCase();
    if (!isEmailDomain(domain) || text.length > 254) {
      return fail('@ 后面的域名不对，应像 example.com 这样由点分开，请核对拼写');
    }
    return ok(local + '@' + domain);
  }

  function isEmailLocalPart(local) {
    return local.length >= 1 && local.length <= 64 &&
      /^[A-Za-z0-9!#$%&'*+\/=?\^_`{|}~.\-]+$/.test(local) &&
      local.charAt(0) !== '.' && !endsWith(local, '.') && local.indexOf('..') === -1;
  }

  function isEmailDomain(domain) {
    var labels = domain.split('.');
    var top = labels[labels.length - 1];
    var topOk = startsWith(top, 'xn--') || /^[A-Za-z]{2,}$/.test(top);
    return labels.length >= 2 && topOk && labels.every(function (label) {
      return label.length >= 1 && label.length <= 63 && /^[A-Za-z0-9\-]+$/.test(label) &&
        label.charAt(0) !== '-' && !endsWith(label, '-');
    });
  }

  // -------------------------------------------------------------------------------------------
  // Numbers, as decimal text so no digit is lost to floating point
  // -------------------------------------------------------------------------------------------

  var I64_MAX = '9223372036854775807';
  var MONEY_MAX_YUAN = '10000000000000';

  function stripZeros(digits) {
    var stripped = digits.replace(/^0+/, '');
    return stripped === '' ? '0' : stripped;
  }

  /** Compares two magnitudes without leading zeros. */
  function compareMagnitude(a, b) {
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function addMagnitude(a, b) {
    var out = '';
    var carry = 0;
    for (var i = 1; i <= Math.max(a.length, b.length); i++) {
      var sum = carry + (+(a.charAt(a.length - i) || 0)) + (+(b.charAt(b.length - i) || 0));
      out = (sum % 10) + out;
      carry = sum >= 10 ? 1 : 0;
    }
    return stripZeros((carry ? '1' : '') + out);
  }

  /** a − b for magnitudes with a ≥ b. */
  function subtractMagnitude(a, b) {
    var out = '';
    var borrow = 0;
    for (var i = 1; i <= a.length; i++) {
      var difference = (+a.charAt(a.length - i)) - borrow - (+(b.charAt(b.length - i) || 0));
      borrow = difference < 0 ? 1 : 0;
      out = (difference + 10 * borrow) + out;
    }
    return stripZeros(out);
  }

  /** An integer as `{negative, magnitude}`, from text such as `-12` or a definition's number. */
  function integer(value) {
    var text = String(value);
    var negative = text.charAt(0) === '-';
    var magnitude = stripZeros(negative ? text.slice(1) : text);
    return { negative: negative && magnitude !== '0', magnitude: magnitude };
  }

  function integerText(n) {
    return (n.negative ? '-' : '') + n.magnitude;
  }

  function compareIntegers(a, b) {
    if (a.negative !== b.negative) return a.negative ? -1 : 1;
    var order = compareMagnitude(a.magnitude, b.magnitude);
    return a.negative ? -order : order;
  }

  function addIntegers(a, b) {
    if (a.negative === b.negative) {
      return integer((a.negative ? '-' : '') + addMagnitude(a.magnitude, b.magnitude));
    }
    var order = compareMagnitude(a.magnitude, b.magnitude);
    if (order === 0) return integer('0');
    var larger = order > 0 ? a : b;
    var smaller = order > 0 ? b : a;
    var magnitude = subtractMagnitude(larger.magnitude, smaller.magnitude);
    return integer((larger.negative ? '-' : '') + magnitude);
  }

  /**
   * Reads `[+-]digits[,ddd…][.digits]`; gives `{whole, fraction}` or `{problem}`, where the
   * problem is empty, not_a_number, grouping or too_large.
   */
  function parseNumber(text) {
    if (text === '') return { problem: 'empty' };
    var negative = text.charAt(0) === '-';
    var unsigned = negative || text.charAt(0) === '+' ? text.slice(1) : text;
    var point = unsigned.indexOf('.');
    var wholeText = point === -1 ? unsigned : unsigned.slice(0, point);
    var fraction = point === -1 ? null : unsigned.slice(point + 1);
    if (wholeText === '' || (fraction !== null && !allDigits(fraction))) {
      return { problem: 'not_a_number' };
    }
    var groups = wholeText.split(',');
    if (!groups.every(allDigits)) return { problem: 'not_a_number' };
    var firstOk = (groups[0].length >= 1 && groups[0].length <= 3) || groups.length === 1;
    var restOk = groups.slice(1).every(function (g) { return g.length === 3; });
    if (groups[0] === '' || !firstOk || !restOk) return { problem: 'grouping' };
    var magnitude = stripZeros(groups.join(''));
    if (compareMagnitude(magnitude, I64_MAX) > 0) return { problem: 'too_large' };
    return { whole: integer((negative ? '-' : '') + magnitude), fraction: fraction };
  }

  var INTEGER_PROBLEMS = {
    empty: '不能为空，请填写整数，如 12',
    not_a_number: '请只填写阿拉伯数字，如 12，不要带单位或文字',
    grouping: '千位分隔逗号的位置不对，请去掉逗号后重新填写，如 1234',
    too_large: '数字太大，请核对是否多填了数字'
  };

  /** A whole number within `min` and `max` (either may be null); the value is decimal text. */
  function checkInteger(raw, min, max) {
    var number = parseNumber(withoutBlanks(nfkc(String(raw))));
    if (number.problem) return fail(INTEGER_PROBLEMS[number.problem]);
    if (number.fraction !== null) return fail('请填写整数，不要带小数点');
    var value = number.whole;
    var below = min != null && compareIntegers(value, integer(min)) < 0;
    var above = max != null && compareIntegers(value, integer(max)) > 0;
    if (min != null && max != null && (below || above)) {
      return fail('应在 ' + integerText(integer(min)) + ' 到 ' + integerText(integer(max)) + ' 之间，请核对');
    }
    if (below) return fail('不能小于 ' + integerText(integer(min)) + '，请核对');
    if (above) return fail('不能大于 ' + integerText(integer(max)) + '，请核对');
    return ok(integerText(value));
  }

  var MONEY_PROBLEMS = {
    empty: '不能为空，请填写金额（整数元），如 12000',
    not_a_number: '请只填写数字金额（整数元），如 12000',
    grouping: '千位分隔逗号的位置不对，请去掉逗号后重新填写，如 12000',
    too_large: '金额超过上限 10 万亿元，请核对是否多填了数字'
  };

  /** An amount in whole yuan, 0 to 10^13; the value is decimal text. */
  function checkMoneyYuan(raw) {
    var text = withoutBlanks(nfkc(String(raw)));
    if (text.charAt(0) === '\u00a5') text = text.slice(1);
    if (endsWith(text, '元')) text = text.slice(0, -1);
    if (endsWith(text, '万')) return fail('请按元填写，不要用「万」，如 1.2 万元填 12000');
    var number = parseNumber(text);
    if (number.problem) return fail(MONEY_PROBLEMS[number.problem]);
    if (number.fraction !== null && /[1-9]/.test(number.fraction)) {
      return fail('请填写整数元，不要带角、分，如 12000');
    }
    if (number.whole.negative) return fail('金额不能是负数，请核对');
    if (compareMagnitude(number.whole.magnitude, MONEY_MAX_YUAN) > 0) {
      return fail('金额超过上限 10 万亿元，请核对是否多填了数字或误按分填写');
    }
    return ok(integerText(number.whole));
  }

  // -------------------------------------------------------------------------------------------
  // One field
  // -------------------------------------------------------------------------------------------

  var CHOICE_KINDS = ['select', 'radio', 'checkboxes'];

  /** True when nothing was entered: no value, or only spaces and invisible characters. */
  function isBlankValue(value) {
    if (value == null) return true;
    if (Object.prototype.toString.call(value) === '[object Array]') {
      return value.every(function (item) { return normaliseText(item) === ''; });
    }
    return normaliseText(value) === '';
  }

  /**
   * Checks one field's value (text, or a list for check boxes). Gives `{ok: true, value,
   * warning}`, with `value` null when left empty and allowed to be, or `{ok: false, message}`.
   * `context` carries `today` (YYYY-MM-DD) and, if known, `divisions`.
   */
  function checkField(field, value, context) {
    var kind = field.type;
    var isList = Object.prototype.toString.call(value) === '[object Array]';
    if (isBlankValue(value)) {
      // None ticked is an answer: an empty list, never a missing field.
      if (kind === 'checkboxes' && !field.required) return { ok: true, value: [], warning: null };
      if (field.required) {
        return fail((CHOICE_KINDS.indexOf(kind) === -1 ? '请填写' : '请选择') + field.label);
      }
      return { ok: true, value: null, warning: null };
    }
    if (kind === 'checkboxes') {
      if (!isList) return fail('请从选项中勾选');
      var chosen = [];
      var items = value.map(normaliseText).filter(function (s) { return s !== ''; });
      for (var i = 0; i < items.length; i++) {
        if ((field.options || []).indexOf(items[i]) === -1) {
          return fail('“' + items[i] + '”不是可选的项：请从列出的选项中勾选');
        }
        if (chosen.indexOf(items[i]) === -1) chosen.push(items[i]);
      }
      return { ok: true, value: chosen, warning: null };
    }
    if (isList) return fail('只能填一个值');
    var result = checkOne(field, String(value), context);
    if (!result.ok) return result;
    if (kind === 'postcode') return { ok: true, value: result.value.code, warning: result.value.warning };
    return { ok: true, value: result.value, warning: null };
  }

  function checkOne(field, raw, context) {
    switch (field.type) {
      case 'text':
      case 'textarea':
        return checkText(field, raw);
      case 'name':
        return checkName(raw);
      case 'select':
      case 'radio':
        return checkChoice(field, raw);
      case 'date':
        return checkDate(raw);
      case 'id_number':
        return checkIdField(raw, context.today);
      case 'credit_code':
        return checkCreditCode(raw);
      case 'org_code':
        return checkOrgCode(raw);
      case 'unit_code':
        return checkUnitCode(raw);
      case 'mobile':
        return checkMobile(raw);
      case 'landline':
        return checkLandline(raw);
      case 'phone':
        return checkPhone(raw);
      case 'postcode':
        return checkPostcode(raw);
      case 'division_code':
        return checkDivisionCode(raw, context.divisions);
      case 'email':
        return checkEmail(raw);
      case 'integer':
        return checkInteger(raw, field.min, field.max);
      case 'money_yuan':
        return checkMoneyField(field, raw);
      default:
        return ok(normaliseText(raw));
    }
  }

  function checkChoice(field, raw) {
    var text = normaliseText(raw);
    if ((field.options || []).indexOf(text) === -1) {
      return fail('“' + text + '”不是可选的项：请从列出的选项中选择');
    }
    return ok(text);
  }

  function checkIdField(raw, today) {
    var info = checkIdNumber(raw, today);
    return info.ok ? ok(info.value.number) : info;
  }

  function checkMoneyField(field, raw) {
    var amount = checkMoneyYuan(raw);
    if (!amount.ok) return amount;
    var value = integer(amount.value);
    if ((field.min != null && compareIntegers(value, integer(field.min)) < 0) ||
        (field.max != null && compareIntegers(value, integer(field.max)) > 0)) {
      return fail('金额超出允许的范围：请核对');
    }
    return amount;
  }

  function checkText(field, raw) {
    var text = normaliseText(raw);
    var limit = field.max_length != null ? field.max_length : field.type === 'text' ? 200 : 2000;
    var list = chars(text);
    if (list.length > limit) {
      return fail('最多 ' + limit + ' 个字，现在有 ' + list.length + ' 个：请删减后再提交');
    }
    if (list.some(function (c) { return CONTROL.test(c) && c !== '\n' && c !== '\t'; })) {
      return fail('含有不可见的控制字符：请重新输入');
    }
    return ok(text);
  }

  // -------------------------------------------------------------------------------------------
  // A whole submission
  // -------------------------------------------------------------------------------------------

  /** The HTML name of a group row's field: `units[2].phone`. */
  function rowName(group, index, key) {
    return group + '[' + index + '].' + key;
  }

  /** The id of a field's control: `units[2].phone` → `f-units-2-phone`. */
  function controlId(name) {
    return 'f-' + name.replace(/[\[.]/g, '-').replace(/\]/g, '');
  }

  function definitionFields(definition) {
    var fields = [];
    (definition.fieldsets || []).forEach(function (set) {
      fields.push.apply(fields, set.fields);
    });
    return fields;
  }

  function findGroup(definition, key) {
    var groups = (definition.groups || []).filter(function (g) { return g.key === key; });
    return groups.length ? groups[0] : null;
  }

  function error(field, label, message) {
    return { field: field, label: label, message: message };
  }

  function lastLabelPart(label) {
    var parts = label.split('：');
    return parts[parts.length - 1];
  }

  /**
   * Checks a submission `{fields: {...}, groups: {g: [{...}]}}` like the server does. Gives
   * `{outcome: 'accepted', fields, groups, warnings}`, `{outcome: 'rejected', errors}` or
   * `{outcome: 'exempt', message}`; errors and warnings are `{field, label, message}`.
   * `context` is `{today: 'YYYY-MM-DD', divisions: [codes] or null}`.
   */
  /**
   * A credit code whose check character fails is accepted when staff gave a reason of at
   * least 4 characters and the rest of the code is right, as on the server (staff pages
   * only: the server drops reasons sent by the public).
   */
  function withOverride(field, name, value, result, context) {
    if (result.ok || (field.type !== 'credit_code' && field.type !== 'unit_code')) return result;
    var reason = normaliseText((context.overrides || {})[name] || '');
    if (chars(reason).length < 4) return result;
    var format = checkCreditCodeFormat(String(value));
    if (!format.ok) return result;
    return { ok: true, value: format.value, warning: null };
  }

  function check(definition, submission, context) {
    context.overrides = submission.overrides || {};
    var errors = [];
    var warnings = [];
    var fields = {};
    var given = submission.fields || {};
    definitionFields(definition).forEach(function (field) {
      var result = withOverride(field, field.key, given[field.key], checkField(field, given[field.key], context), context);
      if (!result.ok) {
        errors.push(error(field.key, field.label, result.message));
      } else if (result.value !== null) {
        if (result.warning) warnings.push(error(field.key, field.label, result.warning));
        fields[field.key] = result.value;
      }
    });

    var groups = {};
    (definition.groups || []).forEach(function (group) {
      var kept = checkRows(group, (submission.groups || {})[group.key] || [], context, errors, warnings);
      var first = rowName(group.key, 0, group.fields[0].key);
      if (kept.length < group.min_rows) {
        errors.push(error(first, group.title, '至少要填写 ' + group.min_rows + ' 个' + group.row_label));
      }
      if (kept.length > group.max_rows) {
        errors.push(error(first, group.title,
          '最多填写 ' + group.max_rows + ' 个' + group.row_label + '：请分成几次提交'));
      }
      groups[group.key] = kept;
    });

    var exempt = exemptMessage(definition, fields);
    if (exempt !== null) return { outcome: 'exempt', message: exempt };
    applyRules(definition, fields, groups, context, errors);

    if (errors.length) return { outcome: 'rejected', errors: errors };
    var rows = {};
    Object.keys(groups).forEach(function (key) {
      rows[key] = groups[key].map(function (kept) { return kept.values; });
    });
    return { outcome: 'accepted', fields: fields, groups: rows, warnings: warnings };
  }

  /** Checks the rows that are not blank; gives `{index, values}` for each, in order. */
  function checkRows(group, rows, context, errors, warnings) {
    var kept = [];
    rows.forEach(function (row, index) {
      var keys = Object.keys(row);
      if (keys.every(function (k) { return isBlankValue(row[k]); })) return;
      var number = kept.length + 1;
      var values = {};
      group.fields.forEach(function (field) {
        var name = rowName(group.key, index, field.key);
        var label = '第 ' + number + ' 个' + group.row_label + '：' + field.label;
        var result = withOverride(field, name, row[field.key], checkField(field, row[field.key], context), context);
        if (!result.ok) {
          errors.push(error(name, label, result.message));
        } else if (result.value !== null) {
          if (result.warning) warnings.push(error(name, label, result.warning));
          values[field.key] = result.value;
        }
      });
      kept.push({ index: index, values: values });
    });
    return kept;
  }

  function exemptMessage(definition, fields) {
    var rules = definition.rules || [];
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      var value = fields[rule.field];
      if (rule.kind === 'exempt_if' && typeof value === 'string' && rule.values.indexOf(value) !== -1) {
        return rule.message;
      }
    }
    return null;
  }

  /**
   * The values a rule looks at, each with a function from a field key to its HTML name and
   * shown label: the single fields, or each kept row of the rule's group.
   */
  function scopes(definition, groupKey, fields, groups) {
    if (groupKey == null) {
      var labels = {};
      definitionFields(definition).forEach(function (f) { labels[f.key] = f.label; });
      return [{
        values: fields,
        name: function (key) { return [key, labels[key] || '']; }
      }];
    }
    var group = findGroup(definition, groupKey);
    if (!group || !groups[groupKey]) return [];
    var rowLabels = {};
    group.fields.forEach(function (f) { rowLabels[f.key] = f.label; });
    return groups[groupKey].map(function (kept, n) {
      return {
        values: kept.values,
        name: function (key) {
          return [rowName(groupKey, kept.index, key),
            '第 ' + (n + 1) + ' 个' + group.row_label + '：' + (rowLabels[key] || '')];
        }
      };
    });
  }

  function textValue(values, key) {
    return typeof values[key] === 'string' ? values[key] : null;
  }

  function hasError(errors, name) {
    return errors.some(function (e) { return e.field === name; });
  }

  var RULES = {
    date_order: function (rule, scope, context, errors) {
      var start = textValue(scope.values, rule.start);
      var end = textValue(scope.values, rule.end);
      if (start === null || end === null || end >= start) return;
      var target = scope.name(rule.end);
      var startLabel = lastLabelPart(scope.name(rule.start)[1]);
      errors.push(error(target[0], target[1],
        '不能早于' + startLabel + '（' + start + '）：请核对两个日期'));
    },
    id_matches: function (rule, scope, context, errors) {
      var number = textValue(scope.values, rule.id);
      if (number === null) return;
      var info = checkIdNumber(number, context.today);
      if (!info.ok) return;
      var sex = rule.sex != null ? textValue(scope.values, rule.sex) : null;
      var birth = rule.birth != null ? textValue(scope.values, rule.birth) : null;
      if (birth !== null && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(birth)) birth = null;
      idMatches(info.value, sex, birth).forEach(function (message) {
        var key = message.indexOf('性别') !== -1 ? rule.sex : rule.birth;
        var target = scope.name(key != null ? key : rule.id);
        if (!hasError(errors, target[0])) errors.push(error(target[0], target[1], message));
      });
    },
    required_if: function (rule, scope, context, errors) {
      var when = textValue(scope.values, rule.when);
      if (when === null || rule.equals.indexOf(when) === -1) return;
      if (Object.prototype.hasOwnProperty.call(scope.values, rule.field)) return;
      var target = scope.name(rule.field);
      // A value that failed its own check is already reported; "must be filled in" would be
      // wrong for it, since it was filled in.
      if (hasError(errors, target[0])) return;
      errors.push(error(target[0], target[1],
        '选择“' + when + '”时必须填写' + lastLabelPart(target[1])));
    },
    sum_equals: function (rule, scope, context, errors) {
      var total = textValue(scope.values, rule.total);
      var parts = rule.parts.map(function (p) { return textValue(scope.values, p); });
      if (total === null || !/^-?[0-9]+$/.test(total)) return;
      if (parts.some(function (p) { return p === null || !/^-?[0-9]+$/.test(p); })) return;
      var sum = parts.reduce(function (acc, p) { return addIntegers(acc, integer(p)); }, integer('0'));
      if (compareIntegers(sum, integer(total)) === 0) return;
      var target = scope.name(rule.total);
      var names = rule.parts.map(function (p) { return lastLabelPart(scope.name(p)[1]); });
      errors.push(error(target[0], target[1],
        '应等于' + names.join('、') + '之和（' + integerText(sum) + '），现在是 ' + total + '：请核对'));
    }
  };

  RULES.before_current_year = function (rule, scope, context, errors) {
    var year = textValue(scope.values, rule.field);
    if (year === null || !/^-?[0-9]+$/.test(year)) return;
    var thisYear = parseInt(context.today.slice(0, 4), 10);
    var target = scope.name(rule.field);
    if (parseInt(year, 10) < thisYear || hasError(errors, target[0])) return;
    errors.push(error(target[0], target[1],
      '应早于今年（' + thisYear + ' 年）：请填写已经结束的年度，例如 ' + (thisYear - 1)));
  };

  RULES.min_age = function (rule, scope, context, errors) {
    var number = textValue(scope.values, rule.id);
    if (number === null) return;
    var info = checkIdNumber(number, context.today);
    if (!info.ok) return;
    var day = rule.on != null ? textValue(scope.values, rule.on) : null;
    if (day === null || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(day)) day = context.today;
    var birth = info.value.birth;
    var age = parseInt(day.slice(0, 4), 10) - parseInt(birth.slice(0, 4), 10);
    if (day.slice(5) < birth.slice(5)) age -= 1;
    var target = scope.name(rule.id);
    if (age >= rule.years || hasError(errors, target[0])) return;
    errors.push(error(target[0], target[1], '按此号码，此人在 ' + day + ' 未满 ' + rule.years +
      ' 周岁，不能建立劳动关系：请核对号码或日期'));
  };

  /** `unique` looks across the rows of its group, so it is not applied row by row. */
  function applyUnique(definition, rule, groups, errors) {
    var group = findGroup(definition, rule.group);
    if (!group) return;
    var label = '';
    group.fields.forEach(function (f) { if (f.key === rule.field) label = f.label; });
    var seen = {};
    (groups[rule.group] || []).forEach(function (kept, n) {
      var value = textValue(kept.values, rule.field);
      if (value === null) return;
      if (Object.prototype.hasOwnProperty.call(seen, value)) {
        errors.push(error(rowName(rule.group, kept.index, rule.field),
          '第 ' + (n + 1) + ' 个' + group.row_label + '：' + label,
          '与第 ' + seen[value] + ' 个' + group.row_label + '相同：同一人只需填一行，请删除重复的一行'));
      } else {
        seen[value] = n + 1;
      }
    });
  }

  function applyRules(definition, fields, groups, context, errors) {
    (definition.rules || []).forEach(function (rule) {
      if (rule.kind === 'unique') {
        applyUnique(definition, rule, groups, errors);
        return;
      }
      var apply = RULES[rule.kind];
      if (!apply) return;
      scopes(definition, rule.group, fields, groups).forEach(function (scope) {
        apply(rule, scope, context, errors);
      });
    });
  }

  /** The errors of a submission, as the server would list them; none when it is exempt. */
  function checkForm(definition, submission, today, divisions) {
    var result = check(definition, submission, { today: today, divisions: divisions || null });
    return result.outcome === 'rejected' ? result.errors : [];
  }

  /** Today's date in China (UTC+8), as the server reckons it: YYYY-MM-DD. */
  function chinaToday() {
    var now = new Date(new Date().getTime() + 8 * 3600 * 1000);
    return isoDate(now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate());
  }

  // -------------------------------------------------------------------------------------------
  // The page
  // -------------------------------------------------------------------------------------------

  function closest(element, selector) {
    var matches = element.matches || element.msMatchesSelector || element.webkitMatchesSelector;
    for (var node = element; node && node.nodeType === 1; node = node.parentNode) {
      if (matches.call(node, selector)) return node;
    }
    return null;
  }

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (e) {
      return null;
    }
  }

  /** Reads what the form would post, in the shape the server parses it into. */
  function readSubmission(form, definition) {
    var submission = { fields: {}, groups: {} };
    var rows = {};
    var kinds = {};
    definitionFields(definition).forEach(function (f) {
      kinds[f.key] = f.type;
      if (f.type === 'checkboxes') submission.fields[f.key] = [];
    });
    (definition.groups || []).forEach(function (g) {
      rows[g.key] = {};
      g.fields.forEach(function (f) { kinds[g.key + '.' + f.key] = f.type; });
    });
    each(form.elements, function (element) {
      var name = element.name;
      if (name && name.indexOf('_override.') === 0 && element.value) {
        (submission.overrides = submission.overrides || {})[name.slice('_override.'.length)] = element.value;
        return;
      }
      if (!name || name.charAt(0) === '_' || element.disabled || element.tagName === 'BUTTON') return;
      if ((element.type === 'radio' || element.type === 'checkbox') && !element.checked) return;
      var parsed = /^([a-z0-9_]+)\[([0-9]+)\]\.([a-z0-9_]+)$/.exec(name);
      var target;
      var key;
      if (parsed && rows[parsed[1]]) {
        target = rows[parsed[1]][parsed[2]] || (rows[parsed[1]][parsed[2]] = {});
        key = parsed[3];
      } else if (kinds.hasOwnProperty(name)) {
        target = submission.fields;
        key = name;
      } else {
        return;
      }
      if (element.type === 'checkbox') {
        (target[key] = target[key] || []).push(element.value);
      } else {
        target[key] = element.value;
      }
    });
    (definition.groups || []).forEach(function (g) {
      var indexes = Object.keys(rows[g.key]).map(Number).sort(function (a, b) { return a - b; });
      submission.groups[g.key] = indexes.map(function (i) {
        var row = rows[g.key][i];
        g.fields.forEach(function (f) {
          if (f.type === 'checkboxes' && !row[f.key]) row[f.key] = [];
        });
        return row;
      });
    });
    return submission;
  }

  // --- errors on the page ----------------------------------------------------------------------

  function removeToken(element, attribute, token) {
    var tokens = (element.getAttribute(attribute) || '').split(/\s+/).filter(function (t) {
      return t !== '' && t !== token;
    });
    if (tokens.length) {
      element.setAttribute(attribute, tokens.join(' '));
    } else {
      element.removeAttribute(attribute);
    }
  }

  function addToken(element, attribute, token) {
    removeToken(element, attribute, token);
    var value = element.getAttribute(attribute);
    element.setAttribute(attribute, value ? value + ' ' + token : token);
  }

  /** The controls a field's id stands for: one control, or every radio or check box. */
  function controlsOf(target) {
    if (target.tagName === 'FIELDSET') return target.querySelectorAll('.choices__input');
    return [target];
  }

  function clearErrors(form) {
    each(form.querySelectorAll('.field__error'), function (p) {
      var field = closest(p, '.field');
      var id = p.id;
      p.parentNode.removeChild(p);
      if (!field) return;
      field.className = field.className.replace(/\s*\bfield--error\b/g, '');
      each(field.querySelectorAll('input, select, textarea'), function (control) {
        control.removeAttribute('aria-invalid');
        removeToken(control, 'aria-describedby', id);
      });
    });
  }

  function showFieldError(form, error) {
    var id = controlId(error.field);
    var target = document.getElementById(id);
    if (!target || !form.contains(target)) return;
    var field = closest(target, '.field');
    if (!field || field.querySelector('.field__error')) return;
    field.className += ' field--error';
    var p = document.createElement('p');
    p.className = 'field__error';
    p.id = id + '-error';
    var prefix = document.createElement('span');
    prefix.className = 'visually-hidden';
    prefix.textContent = '错误：';
    p.appendChild(prefix);
    p.appendChild(document.createTextNode(error.message));
    var before = target.tagName === 'FIELDSET' ? target.querySelector('.choices') : target;
    before.parentNode.insertBefore(p, before);
    each(controlsOf(target), function (control) {
      addToken(control, 'aria-describedby', p.id);
      if (target.tagName !== 'FIELDSET') control.setAttribute('aria-invalid', 'true');
    });
  }

  /** The first element of the form's block: the summary goes above it, as on the server. */
  function blockStart(form) {
    var start = form;
    var previous = form.previousElementSibling;
    while (previous && /\b(form-page__lead|privacy-notice|form-page__required-note)\b/.test(previous.className)) {
      start = previous;
      previous = previous.previousElementSibling;
    }
    return start;
  }

  function renderSummary(form, errors) {
    var old = form.parentNode.querySelector('.error-summary');
    if (old) old.parentNode.removeChild(old);
    if (!errors.length) return null;
    var summary = document.createElement('div');
    summary.className = 'error-summary';
    summary.setAttribute('role', 'alert');
    summary.setAttribute('tabindex', '-1');
    summary.setAttribute('aria-labelledby', 'error-summary-title');
    summary.id = 'error-summary';
    var title = document.createElement('h2');
    title.className = 'error-summary__title';
    title.id = 'error-summary-title';
    title.textContent = '有 ' + errors.length + ' 处需要修改';
    var list = document.createElement('ul');
    list.className = 'error-summary__list';
    errors.forEach(function (e) {
      var item = document.createElement('li');
      var link = document.createElement('a');
      link.href = '#' + controlId(e.field);
      link.textContent = e.label + '：' + e.message;
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.appendChild(title);
    summary.appendChild(list);
    var start = blockStart(form);
    start.parentNode.insertBefore(summary, start);
    return summary;
  }

  function markTitle(hasErrors) {
    var title = document.title.replace(/^错误：/, '');
    document.title = hasErrors ? '错误：' + title : title;
  }

  /** Checks the form and shows the result; true when there is nothing to fix. */
  function showErrors(form, definition, moveFocus) {
    var errors = checkForm(definition, readSubmission(form, definition), chinaToday(), readJson('form-divisions'));
    clearErrors(form);
    errors.forEach(function (e) { showFieldError(form, e); });
    var summary = renderSummary(form, errors);
    markTitle(errors.length > 0);
    if (summary && moveFocus) summary.focus();
    return errors.length === 0;
  }

  /** A summary link moves focus to its field: a text box, or the first radio or check box. */
  function onSummaryClick(event) {
    var link = closest(event.target, '.error-summary a');
    if (!link) return;
    var id = (link.getAttribute('href') || '').replace(/^#/, '');
    var target = id && document.getElementById(id);
    if (!target) return;
    var control = controlsOf(target)[0];
    if (!control) return;
    event.preventDefault();
    var field = closest(target, '.field') || target;
    var label = field.querySelector('.field__label');
    (label || field).scrollIntoView();
    control.focus();
  }

  // --- group rows --------------------------------------------------------------------------------

  function rowsOf(groupElement) {
    return Array.prototype.filter.call(groupElement.querySelectorAll('.group-row'), function (row) {
      return row.parentNode === groupElement;
    });
  }

  function button(value, text) {
    var b = document.createElement('button');
    b.type = 'submit';
    b.className = 'button button--secondary';
    b.name = '_action';
    b.value = value;
    b.textContent = text;
    return b;
  }

  /** Gives a row the names, ids, legend and button of position `index`. */
  function numberRow(row, group, index) {
    var namePattern = new RegExp('^' + group.key + '\\[[0-9]+\\]\\.');
    var idPattern = new RegExp('(^|\\s)f-' + group.key + '-[0-9]+-', 'g');
    var newName = group.key + '[' + index + '].';
    var newId = '$1f-' + group.key + '-' + index + '-';
    row.setAttribute('data-row', String(index));
    each(row.querySelectorAll('[name], [id], [for], [aria-describedby]'), function (element) {
      if (element.name && element.name !== '_action') element.name = element.name.replace(namePattern, newName);
      ['id', 'for', 'aria-describedby'].forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(idPattern, newId));
      });
    });
    var legend = row.querySelector('.group-row__legend');
    if (legend) legend.textContent = '第 ' + (index + 1) + ' 个' + group.row_label;
  }

  function emptyRow(row) {
    each(row.querySelectorAll('input, select, textarea'), function (control) {
      if (control.type === 'radio' || control.type === 'checkbox') {
        control.checked = false;
        control.removeAttribute('checked');
      } else if (control.tagName === 'SELECT') {
        each(control.options, function (option) { option.removeAttribute('selected'); });
        control.selectedIndex = 0;
      } else {
        control.value = '';
        control.removeAttribute('value');
        if (control.tagName === 'TEXTAREA') control.textContent = '';
      }
    });
    clearErrors(row);
  }

  /** Puts the add and remove buttons where the server would, for the current row count. */
  function syncButtons(groupElement, group) {
    var rows = rowsOf(groupElement);
    rows.forEach(function (row, index) {
      var remove = Array.prototype.filter.call(row.querySelectorAll('button[name="_action"]'), function (b) {
        return b.value.indexOf('remove_row:') === 0;
      })[0];
      if (rows.length > group.min_rows) {
        if (!remove) {
          remove = button('', '');
          row.appendChild(remove);
        }
        remove.value = 'remove_row:' + group.key + ':' + index;
        remove.textContent = '删除第 ' + (index + 1) + ' 个' + group.row_label;
      } else if (remove) {
        row.removeChild(remove);
      }
    });
    var add = groupElement.querySelector('button[value="add_row:' + group.key + '"]');
    if (!add) {
      add = button('add_row:' + group.key, '再添加一个' + group.row_label);
      var hint = document.createElement('p');
      hint.className = 'field__hint';
      hint.textContent = '最多 ' + group.max_rows + ' 个' + group.row_label + '。';
      groupElement.appendChild(add);
      groupElement.appendChild(hint);
    }
    var full = rows.length >= group.max_rows;
    add.hidden = full;
    var next = add.nextElementSibling;
    if (next && next.className === 'field__hint') next.hidden = full;
  }

  function firstControl(row) {
    return row.querySelector('.field__control, .choices__input');
  }

  function announce(groupElement, text) {
    var status = groupElement.querySelector('.group-status');
    if (!status) {
      status = document.createElement('p');
      status.className = 'group-status visually-hidden';
      status.setAttribute('role', 'status');
      groupElement.appendChild(status);
    }
    status.textContent = text;
  }

  function addRow(groupElement, group) {
    var rows = rowsOf(groupElement);
    if (rows.length >= group.max_rows) return;
    var last = rows[rows.length - 1];
    var row = last.cloneNode(true);
    numberRow(row, group, rows.length);
    emptyRow(row);
    last.parentNode.insertBefore(row, last.nextSibling);
    syncButtons(groupElement, group);
    announce(groupElement, '已添加第 ' + (rows.length + 1) + ' 个' + group.row_label);
    var control = firstControl(row);
    if (control) control.focus();
  }

  function removeRow(groupElement, group, index) {
    var rows = rowsOf(groupElement);
    if (rows.length <= group.min_rows || !rows[index]) return;
    // Like the server, which always shows at least one row: the only row is emptied instead.
    if (rows.length === 1) {
      emptyRow(rows[0]);
    } else {
      rows[index].parentNode.removeChild(rows[index]);
      rows.splice(index, 1);
    }
    rows.forEach(function (row, i) { numberRow(row, group, i); });
    syncButtons(groupElement, group);
    announce(groupElement, '已删除第 ' + (index + 1) + ' 个' + group.row_label);
    var control = firstControl(rows[Math.min(index, rows.length - 1)]);
    if (control) control.focus();
  }

  /** Handles a row button in the page; false for other buttons, which post as usual. */
  function onRowButton(form, definition, b) {
    var parts = b.value.split(':');
    var group = findGroup(definition, parts[1]);
    var groupElement = closest(b, '.form__group');
    if (!group || !groupElement) return false;
    if (parts[0] === 'add_row') {
      addRow(groupElement, group);
    } else if (parts[0] === 'remove_row' && parts.length === 3) {
      removeRow(groupElement, group, +parts[2]);
    } else {
      return false;
    }
    // Messages shown for the old rows would point at the wrong fields: check again, in place.
    if (form.parentNode.querySelector('.error-summary')) showErrors(form, definition, false);
    return true;
  }

  // --- start -------------------------------------------------------------------------------------

  function enhanceForm(form, definition) {
    form.addEventListener('click', function (event) {
      var b = closest(event.target, 'button[name="_action"]');
      if (!b || !/^(add_row|remove_row):/.test(b.value)) return;
      if (onRowButton(form, definition, b)) event.preventDefault();
    });
    form.addEventListener('submit', function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.value && submitter.value !== 'review') return;
      if (!showErrors(form, definition, true)) event.preventDefault();
    });
  }

  /** The review page's submit button posts once: later clicks within a few seconds do nothing. */
  function preventDoubleClick(b) {
    var busy = false;
    b.addEventListener('click', function (event) {
      if (busy) {
        event.preventDefault();
        return;
      }
      busy = true;
      // Disabled only after this click's submission has started, which it would otherwise stop.
      setTimeout(function () { b.disabled = true; }, 0);
      setTimeout(function () {
        busy = false;
        b.disabled = false;
      }, 5000);
    });
    window.addEventListener('pageshow', function () {
      busy = false;
      b.disabled = false;
    });
  }

  function start() {
    var definition = readJson('form-definition');
    each(document.querySelectorAll('form[data-form]'), function (form) {
      if (definition && definition.id === form.getAttribute('data-form')) enhanceForm(form, definition);
    });
    each(document.querySelectorAll('button[data-prevent-double-click]'), preventDoubleClick);
    document.addEventListener('click', onSummaryClick);
    var summary = document.querySelector('.error-summary');
    if (summary) summary.focus();
  }

  var api = {
    check: check,
    checkForm: checkForm,
    checkField: checkField,
    controlId: controlId,
    validators: {
      normaliseCode: normaliseCode,
      normaliseText: normaliseText,
      normaliseName: normaliseName,
      checkName: checkName,
      checkDate: checkDate,
      checkIdNumber: checkIdNumber,
      idMatches: idMatches,
      checkCreditCode: checkCreditCode,
      checkCreditCodeFormat: checkCreditCodeFormat,
      checkOrgCode: checkOrgCode,
      checkUnitCode: checkUnitCode,
      checkMobile: checkMobile,
      checkLandline: checkLandline,
      checkPhone: checkPhone,
      checkPostcode: checkPostcode,
      checkDivisionCode: checkDivisionCode,
      checkEmail: checkEmail,
      checkInteger: checkInteger,
      checkMoneyYuan: checkMoneyYuan
    }
  };

  if (typeof module !== 'undefined' && module.exports) {
    module.exports = api;
  } else {
    root.beianForms = api;
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', start);
    } else {
      start();
    }
  }
})(this);
