//! Spreadsheet import: reads the staff sheets employers send (XLSX, XLS or CSV in whatever
//! encoding Excel chose), finds the header row by its names, maps the columns to a group's
//! fields and checks every row with the form's own checks, reporting each problem by the sheet
//! row and the column header the person sees in Excel.
//!
//! Every cell is read as text. Numbers are shown as Excel shows them, so an ID number that
//! Excel turned into a number reaches the ID check as `1.10101E+17` and is rejected with the
//! Excel fix, never as a made-up 18-digit string.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xls, Xlsx};
use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use crate::forms::{FieldKind, FormDef};
use crate::submission::{parse_row_name, Row, Submission, Value};
use crate::validate;
use crate::validation::{self, Accepted, Outcome};

/// Most data rows one file may have.
pub const MAX_ROWS: usize = 10_000;

/// How many rows from the top are searched for the header row.
const HEADER_SEARCH_ROWS: usize = 20;

/// The kind of file, told by its content, never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// An Office Open XML workbook (a zip).
    Xlsx,
    /// An Excel 97–2003 workbook (an OLE compound file).
    Xls,
    /// Delimited text: comma, tab or semicolon.
    Csv,
}

/// The rows of a sheet below its header row, every cell as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// What the file was.
    pub format: SheetFormat,
    /// The header row's number as Excel shows it (1-based).
    pub header_row: usize,
    /// The header cells as written, trimmed and without a byte order mark.
    pub columns: Vec<String>,
    /// Non-empty data rows: the sheet row number and one text per column.
    pub rows: Vec<(usize, Vec<String>)>,
    /// The rows above the header (titles, notes), kept for the marked copy.
    pub above: Vec<(usize, Vec<String>)>,
}

/// Why a file could not be read at all; each message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not a readable workbook.
    #[error("{0}")]
    Corrupt(String),
    /// Text that is not in any encoding Excel writes.
    #[error("{0}")]
    Encoding(String),
    /// No row within the first rows has the expected column names.
    #[error("{0}")]
    NoHeader(String),
    /// More rows than one import takes.
    #[error("{0}")]
    TooLarge(String),
    /// Nothing in the file.
    #[error("文件是空的：请在表格中填写表头和职工信息后重新上传")]
    Empty,
}

/// One problem in one cell (or with the file's columns), in the words shown to the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The sheet row as Excel shows it; the header row for a missing column, and 0 for the
    /// unit's own details, which do not come from the sheet.
    pub row: usize,
    /// The column header as written in the sheet (the field's label when the column is absent).
    pub column: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A change made to a cell before checking, shown so the person can see what was tidied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The sheet row.
    pub row: usize,
    /// The column header as written.
    pub column: String,
    /// The cell as it was.
    pub from: String,
    /// The cell as checked.
    pub to: String,
}

/// What importing a table gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// How many data rows have no problem of their own (file-wide problems, such as too many
    /// rows for the form, are not counted against a row).
    pub ready: usize,
    /// Every problem, by row and column.
    pub problems: Vec<RowProblem>,
    /// Every safe repair made before checking.
    pub repairs: Vec<Repair>,
    /// The unit's fields plus every row, checked and normalised as the online form's are;
    /// only when there is no problem at all.
    pub accepted: Option<Accepted>,
}

// ---------------------------------------------------------------------------------------------
// Reading a file into a table
// ---------------------------------------------------------------------------------------------

/// Reads the first sheet of `bytes` and finds its header row by `expected_headers`.
pub fn read_table(bytes: &[u8], expected_headers: &[&str]) -> Result<Table, ImportError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    let (format, grid) = if bytes.starts_with(b"PK") {
        (SheetFormat::Xlsx, read_workbook::<Xlsx<_>>(bytes, "XLSX")?)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        (SheetFormat::Xls, read_workbook::<Xls<_>>(bytes, "XLS")?)
    } else {
        (SheetFormat::Csv, read_csv(&decode_text(bytes)?))
    };
    table_from_grid(format, grid, expected_headers)
}

/// Every row of a workbook's first sheet, numbered as Excel numbers them.
fn read_workbook<'a, R>(
    bytes: &'a [u8],
    kind: &str,
) -> Result<Vec<(usize, Vec<String>)>, ImportError>
where
    R: Reader<Cursor<&'a [u8]>>,
{
    let corrupt = || {
        ImportError::Corrupt(format!(
            "文件已损坏或不是有效的 {kind} 文件：请在 Excel 中打开它，另存为 .xlsx 后重新上传"
        ))
    };
    // A damaged upload is untrusted input: a panic inside the reader must become the same
    // answer as any other damaged file, not a crashed request.
    let range = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut book = R::new(Cursor::new(bytes)).ok()?;
        book.worksheet_range_at(0)?.ok()
    }))
    .ok()
    .flatten()
    .ok_or_else(corrupt)?;

    let top = range.start().map_or(0, |(row, _)| row as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| (top + i + 1, cells.iter().map(cell_text).collect()))
        .collect())
}

/// A cell as Excel shows it in a normally wide column.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            // calamine applies the workbook's 1900 or 1904 date system here.
            let (year, month, day, ..) = dt.to_ymd_hms_milli();
            format!("{year:04}-{month:02}-{day:02}")
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::Error(e) => e.to_string(),
    }
}

/// A number as Excel's General format shows it: whole numbers without `.0`, at most 15
/// significant digits, and 16 digits or more in E-notation (`1.10101E+17`). Excel has already
/// dropped every digit past the 15th, so writing such a number out in full would invent
/// digits; the E-notation lets the ID check say what happened.
fn number_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f.abs() >= 1e15 {
        let text = format!("{f:.5e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let exponent: i32 = exponent.parse().unwrap_or(0);
        return format!("{mantissa}E+{exponent:02}");
    }
    if f.fract() == 0.0 {
        return format!("{f:.0}");
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    rounded.to_string()
}

/// Decodes CSV bytes: UTF-8 with or without a BOM, UTF-16 with a BOM, else GB18030 (GBK),
/// which is what Excel writes on Chinese Windows.
fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    let (encoding, body) = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (encoding_rs::UTF_8, rest)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (encoding_rs::UTF_16LE, rest)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (encoding_rs::UTF_16BE, rest)
    } else if std::str::from_utf8(bytes).is_ok() {
        (encoding_rs::UTF_8, bytes)
    } else {
        (encoding_rs::GB18030, bytes)
    };

    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        let at = text.find('\u{FFFD}').unwrap_or(0);
        let line = text[..at].matches('\n').count() + 1;
        return Err(ImportError::Encoding(format!(
            "第 {line} 行有无法识别的字符，文件编码不是 UTF-8、UTF-16 或 GBK：\
             请在 Excel 中另存为「CSV UTF-8（逗号分隔）」或 .xlsx 后重新上传"
        )));
    }
    // Text decoded by someone else may still carry its BOM.
    Ok(text.trim_start_matches('\u{FEFF}').to_string())
}

/// Splits delimited text into rows numbered as Excel numbers them (a quoted line break stays
/// inside its cell, as in Excel).
fn read_csv(text: &str) -> Vec<(usize, Vec<String>)> {
    let delimiter = detect_delimiter(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if cell.is_empty() => quoted = true,
            c if quoted => cell.push(c),
            c if c == delimiter => row.push(std::mem::take(&mut cell)),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                row.push(std::mem::take(&mut cell));
                rows.push((rows.len() + 1, std::mem::take(&mut row)));
            }
            c => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push((rows.len() + 1, row));
    }
    rows
}

/// The delimiter used most in the first lines, where the header is: comma, tab or semicolon;
/// comma when none is used or on a tie.
fn detect_delimiter(text: &str) -> char {
    let head: Vec<&str> = text.lines().take(HEADER_SEARCH_ROWS).collect();
    let mut best = (',', 0);
    for delimiter in [',', '\t', ';'] {
        let count: usize = head
            .iter()
            .map(|line| line.matches(delimiter).count())
            .sum();
        if count > best.1 {
            best = (delimiter, count);
        }
    }
    best.0
}

/// Finds the header row and keeps the non-empty rows below it.
fn table_from_grid(
    format: SheetFormat,
    grid: Vec<(usize, Vec<String>)>,
    expected_headers: &[&str],
) -> Result<Table, ImportError> {
    if grid
        .iter()
        .all(|(_, cells)| cells.iter().all(|c| is_blank_cell(c)))
    {
        return Err(ImportError::Empty);
    }
    let expected: Vec<String> = expected_headers.iter().map(|h| header_key(h)).collect();
    let needed = expected.len().div_ceil(2).max(1);
    let position = grid.iter().take(HEADER_SEARCH_ROWS).position(|(_, cells)| {
        let found: Vec<String> = cells.iter().map(|c| header_key(c)).collect();
        expected.iter().filter(|e| found.contains(e)).count() >= needed
    });
    let Some(position) = position else {
        return Err(ImportError::NoHeader(format!(
            "在前 {HEADER_SEARCH_ROWS} 行中没有找到表头（应有“{}”等列名）：\
             请使用下载的模板，或把列名改成与模板一致后重新上传",
            expected_headers
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join("”“")
        )));
    };

    let (header_row, header) = &grid[position];
    let columns: Vec<String> = header.iter().map(|c| validate::normalise_text(c)).collect();
    let rows: Vec<(usize, Vec<String>)> = grid[position + 1..]
        .iter()
        .filter(|(_, cells)| !cells.iter().all(|c| is_blank_cell(c)))
        .map(|(number, cells)| {
            let mut cells = cells.clone();
            cells.resize(columns.len().max(cells.len()), String::new());
            (*number, cells)
        })
        .collect();
    if rows.len() > MAX_ROWS {
        return Err(ImportError::TooLarge(format!(
            "文件有 {} 行数据，一次最多导入 {MAX_ROWS} 行：请分成几个文件后分别上传",
            rows.len()
        )));
    }
    Ok(Table {
        format,
        header_row: *header_row,
        columns,
        rows,
        above: grid[..position].to_vec(),
    })
}

fn is_blank_cell(cell: &str) -> bool {
    validate::normalise_text(cell).is_empty()
}

/// A header name as compared: full-width turned half-width, every space, `*` and a
/// "（必填）"-style note removed.
fn header_key(raw: &str) -> String {
    let mut key: String = raw
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '\u{FEFF}' && *c != '*')
        .collect();
    for note in ["(必填)", "(选填)", "(可选)", "(必须)", "(必选)"] {
        key = key.replace(note, "");
    }
    key
}

// ---------------------------------------------------------------------------------------------
// Checking the rows
// ---------------------------------------------------------------------------------------------

/// Maps `table`'s columns to the fields of `group` by label, adds the rows to the unit's
/// fields from `unit`, and checks the whole submission with the form's checks. Every problem
/// names the sheet row and the column header; the submission comes back only if there is none.
pub fn import_rows(
    def: &FormDef,
    group: &str,
    unit: &Submission,
    table: &Table,
    today: NaiveDate,
) -> Report {
    let mut report = Report {
        ready: 0,
        problems: Vec::new(),
        repairs: Vec::new(),
        accepted: None,
    };
    let Some(group_def) = def.group(group) else {
        report.problems.push(RowProblem {
            row: 0,
            column: String::new(),
            message: format!(
                "表单“{}”没有名为 `{group}` 的分组：请联系网站管理员",
                def.title
            ),
        });
        return report;
    };

    // Which column holds which field, by the field's label.
    let mut column_of: BTreeMap<&str, usize> = BTreeMap::new();
    for field in &group_def.fields {
        let key = header_key(&field.label);
        if let Some(index) = table.columns.iter().position(|c| header_key(c) == key) {
            column_of.insert(field.key.as_str(), index);
        } else if field.required {
            report.problems.push(RowProblem {
                row: table.header_row,
                column: field.label.clone(),
                message: format!("表格缺少“{}”列：请按模板补上这一列后重新上传", field.label),
            });
        }
    }
    if !report.problems.is_empty() {
        return report;
    }

    let mut rows = Vec::with_capacity(table.rows.len());
    for (number, cells) in &table.rows {
        let mut row = Row::new();
        for field in &group_def.fields {
            let Some(&index) = column_of.get(field.key.as_str()) else {
                continue;
            };
            let raw = cells.get(index).map(String::as_str).unwrap_or("");
            let column = &table.columns[index];
            let value = repair(field.kind, raw);
            if value != raw {
                report.repairs.push(Repair {
                    row: *number,
                    column: column.clone(),
                    from: raw.to_string(),
                    to: value.clone(),
                });
            }
            if field.kind == FieldKind::Date {
                if let Some(message) = serial_date_problem(&value) {
                    report.problems.push(RowProblem {
                        row: *number,
                        column: column.clone(),
                        message,
                    });
                }
            }
            row.insert(field.key.clone(), Value::One(value));
        }
        rows.push(row);
    }

    let mut submission = Submission {
        fields: unit.fields.clone(),
        groups: unit.groups.clone(),
        overrides: unit.overrides.clone(),
    };
    submission.groups.insert(group.to_string(), rows);

    let outcome = validation::check_owned(def, submission, today);
    match outcome {
        Outcome::Accepted(accepted) => report.accepted = Some(accepted),
        Outcome::Rejected(errors) => {
            for error in errors {
                let problem = locate(def, group, &column_of, table, &error);
                let known = report
                    .problems
                    .iter()
                    .any(|p| p.row == problem.row && p.column == problem.column);
                if !known {
                    report.problems.push(problem);
                }
            }
        }
        Outcome::Exempt(message) => report.problems.push(RowProblem {
            row: 0,
            column: String::new(),
            message,
        }),
    }

    let bad_rows: std::collections::BTreeSet<usize> =
        report.problems.iter().map(|p| p.row).collect();
    report.ready = table
        .rows
        .iter()
        .filter(|(number, _)| !bad_rows.contains(number))
        .count();
    if !report.problems.is_empty() {
        report.accepted = None;
    }
    report
}

/// Turns a check's error on `staff[3].id_number` back into the sheet row and column header.
fn locate(
    def: &FormDef,
    group: &str,
    column_of: &BTreeMap<&str, usize>,
    table: &Table,
    error: &validation::FieldError,
) -> RowProblem {
    let in_group = parse_row_name(&error.field).filter(|(g, _, _)| *g == group);
    // Errors about the group as a whole (too many rows) carry the group's title as label.
    let whole_group = def.group(group).is_some_and(|g| error.label == g.title);
    match in_group {
        Some((_, index, key)) if !whole_group => {
            let row = table.rows.get(index).map_or(0, |(number, _)| *number);
            let column = column_of.get(key).map_or_else(
                || error.label.rsplit('：').next().unwrap_or("").to_string(),
                |&i| table.columns[i].clone(),
            );
            RowProblem {
                row,
                column,
                message: error.message.clone(),
            }
        }
        _ => RowProblem {
            row: if whole_group { table.header_row } else { 0 },
            column: error.label.clone(),
            message: error.message.clone(),
        },
    }
}

/// The safe repairs: spaces trimmed, full-width digits and letters made half-width in code and
/// number columns, look-alike dots in names made `·`.
fn repair(kind: FieldKind, raw: &str) -> String {
    match kind {
        FieldKind::Name => validate::normalise_name(raw),
        FieldKind::IdNumber
        | FieldKind::CreditCode
        | FieldKind::OrgCode
        | FieldKind::UnitCode
        | FieldKind::Mobile
        | FieldKind::Landline
        | FieldKind::Phone
        | FieldKind::Postcode
        | FieldKind::DivisionCode
        | FieldKind::Integer
        | FieldKind::MoneyYuan => validate::normalise_text(raw)
            .chars()
            .map(half_width)
            .collect(),
        _ => validate::normalise_text(raw),
    }
}

/// A full-width digit or Latin letter as its ASCII twin; anything else unchanged.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
        }
        _ => c,
    }
}

/// A date cell holding a bare number such as 45292: a date cell in General format, which
/// Excel stores as a day count. It is rejected rather than converted: the number alone does
/// not say it was meant as a date, nor in which date system, and a wrong date on a contract is
/// worse than a question. The message shows the date it would be in the usual 1900 system.
fn serial_date_problem(value: &str) -> Option<String> {
    let is_serial = (1..=6).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    if !is_serial {
        return None;
    }
    let days: i64 = value.parse().ok()?;
    let guess = NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(days)))
        .filter(|_| days > 60)
        .map(|d| format!("（按 Excel 的算法是 {}）", d.format("%Y-%m-%d")))
        .unwrap_or_default();
    Some(format!(
        "日期变成了数字 {value}{guess}：表格把这一列设成了「常规」格式。\
         请把该列设为日期格式，或按 2024-01-01 的格式重新输入"
    ))
}
