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
        (SheetFormat::Xlsx, read_xlsx(bytes)?)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        check_xls_layout(bytes)?;
        (SheetFormat::Xls, read_workbook::<Xls<_>>(bytes, "XLS")?)
    } else {
        (SheetFormat::Csv, read_csv(&decode_text(bytes)?)?)
    };
    table_from_grid(format, grid, expected_headers)
}

/// The answer to a file that is not the workbook it looks like.
fn corrupt(kind: &str) -> ImportError {
    ImportError::Corrupt(format!(
        "文件已损坏或不是有效的 {kind} 文件：请在 Excel 中打开它，另存为 .xlsx 后重新上传"
    ))
}

/// The answer to a sheet whose used area is far larger than a staff list.
fn too_spread_out(detail: &str) -> ImportError {
    ImportError::TooLarge(format!(
        "{detail}：请只保留表头和职工名单（删除名单以外的行、列和工作表，\
         或把名单复制到新建的表格），另存后重新上传"
    ))
}

/// Most bytes an XLSX may unzip to. The department's template with 10,000 people unzips to
/// 5.6 MB (the import bench prints it); a zip bomb is refused before any of it is kept.
const MAX_UNZIPPED_BYTES: u64 = 32 << 20;

/// Widest sheet read: the template has about 20 columns; a cell beyond this is named.
const MAX_COLUMNS: u32 = 256;

/// Most cells an XLS may make the reader lay out (the bounding boxes of its sheets' cells and
/// the areas their dimension records reserve), about 80 MB.
const MAX_LAID_OUT_CELLS: u64 = 2_000_000;

/// The first sheet of an XLSX, read cell by cell into its non-empty rows. calamine's own
/// `worksheet_range` allocates the whole rectangle from A1 to the furthest cell, so one stray
/// cell at XFD1048576 would ask for hundreds of gigabytes and end the process; here only the
/// cells that hold something are kept, and a sheet with more rows or columns than a staff
/// list can have is refused with the place to look.
fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    check_unzipped_size(bytes)?;
    // A damaged upload is untrusted input: a panic inside the reader must become the same
    // answer as any other damaged file, not a crashed request.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|_| corrupt("XLSX"))?;
        let first = book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| corrupt("XLSX"))?;
        let mut cells = book
            .worksheet_cells_reader(&first)
            .map_err(|_| corrupt("XLSX"))?;
        let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        while let Some(cell) = cells.next_cell().map_err(|_| corrupt("XLSX"))? {
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if is_blank_cell(&text) {
                continue;
            }
            let (row, col) = cell.get_position();
            if col >= MAX_COLUMNS {
                return Err(too_spread_out(&format!(
                    "第 {} 行第 {} 列（{} 列）有内容，超出了可读取的 {MAX_COLUMNS} 列",
                    row as usize + 1,
                    col as usize + 1,
                    column_letters(col)
                )));
            }
            if !rows.contains_key(&row) && rows.len() >= MAX_ROWS + HEADER_SEARCH_ROWS {
                return Err(ImportError::TooLarge(format!(
                    "文件超过 {MAX_ROWS} 行数据，一次最多导入 {MAX_ROWS} 行：请分成几个文件后分别上传"
                )));
            }
            let line = rows.entry(row).or_default();
            let col = col as usize;
            if line.len() <= col {
                line.resize(col + 1, String::new());
            }
            line[col] = text;
        }
        Ok(rows
            .into_iter()
            .map(|(row, cells)| (row as usize + 1, cells))
            .collect())
    }))
    .unwrap_or_else(|_| Err(corrupt("XLSX")))
}

/// Excel's letters for a 0-based column: 0 is A, 25 is Z, 26 is AA.
fn column_letters(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Unzips every part of an XLSX into nothing, counting: a part larger than it says, or a
/// workbook larger than [`MAX_UNZIPPED_BYTES`], is refused before calamine keeps any of it
/// (its shared strings are held in memory whole).
fn check_unzipped_size(bytes: &[u8]) -> Result<(), ImportError> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| corrupt("XLSX"))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|_| corrupt("XLSX"))?;
        let left = MAX_UNZIPPED_BYTES - total;
        let mut limited = entry.take(left + 1);
        let read =
            std::io::copy(&mut limited, &mut std::io::sink()).map_err(|_| corrupt("XLSX"))?;
        total += read;
        if total > MAX_UNZIPPED_BYTES {
            return Err(too_spread_out(&format!(
                "文件解压后超过 {} MB，远大于一份职工名单",
                MAX_UNZIPPED_BYTES >> 20
            )));
        }
    }
    Ok(())
}

/// Walks an XLS workbook's records as calamine will, adding up how many cells it would lay
/// out for each sheet; refuses a file that would take more than [`MAX_LAID_OUT_CELLS`]. An
/// XLS sheet's cells are laid out as one rectangle, and a dimension record may reserve any
/// area it names, so a few bytes could otherwise exhaust memory.
fn check_xls_layout(bytes: &[u8]) -> Result<(), ImportError> {
    use std::io::Read as _;
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|_| corrupt("XLS"))?;
    let mut stream = Vec::new();
    let found = ["/Workbook", "/Book"].iter().any(|name| {
        file.open_stream(name).is_ok_and(|s| {
            stream.clear();
            s.take(bytes.len() as u64).read_to_end(&mut stream).is_ok()
        })
    });
    if !found {
        return Err(corrupt("XLS"));
    }
    let mut sheets = Vec::new();
    for (kind, data) in biff_records(&stream, 0) {
        match kind {
            // BoundSheet8: where a sheet's records start.
            0x0085 if data.len() >= 4 => sheets.push(u32_at(data, 0) as usize),
            // FilePass: the records are encrypted; calamine refuses such a file itself.
            0x002F => return Ok(()),
            0x000A => break,
            _ => {}
        }
    }
    let mut cost: u64 = 0;
    // Each sheet's records are walked once; sheets that point into each other's records
    // (which no spreadsheet program writes) would make the walk, and calamine's, quadratic.
    let mut budget = stream.len() / 4 + 1;
    for start in sheets {
        let mut values = Extent::default();
        let mut formulas = Extent::default();
        let mut seen_bof = false;
        let mut depth = 0usize;
        for (kind, data) in biff_records(&stream, start) {
            budget = budget.checked_sub(1).ok_or_else(|| corrupt("XLS"))?;
            if depth > 0 {
                match kind {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let at = |i: usize| u32::from(u16_at(data, i));
            match kind {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x0200 => cost = cost.saturating_add(dimension_area(data)),
                // Number, Label, RString, BoolErr, RK, LabelSst: one cell each.
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD if data.len() >= 4 => {
                    values.add(at(0), at(2));
                }
                // MulRk: a run of cells in one row, first and last column.
                0x00BD if data.len() >= 6 => {
                    values.add(at(0), at(2));
                    values.add(at(0), at(data.len() - 2));
                }
                // Formula: its value and its text.
                0x0006 if data.len() >= 20 => {
                    values.add(at(0), at(2));
                    formulas.add(at(0), at(2));
                }
                0x000A => break,
                _ => {}
            }
        }
        cost = cost
            .saturating_add(values.area())
            .saturating_add(formulas.area());
        if cost > MAX_LAID_OUT_CELLS {
            return Err(too_spread_out(
                "表格的使用范围太大（有内容或格式的区域远大于一份职工名单）",
            ));
        }
    }
    Ok(())
}

/// The records of a BIFF stream from `start`: kind and data, stopping where the stream ends
/// or a record is cut short.
fn biff_records(stream: &[u8], start: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = stream.get(start..).unwrap_or_default();
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let kind = u16_at(rest, 0);
        let len = usize::from(u16_at(rest, 2));
        let data = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((kind, data))
    })
}

/// A little-endian `u16` at `at` (the caller has checked the length).
fn u16_at(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

/// A little-endian `u32` at `at` (the caller has checked the length).
fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// The area a Dimensions record makes calamine reserve, computed as it does (row counts
/// that run backwards wrap around in a release build, so they count as huge).
fn dimension_area(data: &[u8]) -> u64 {
    let (first_row, last_row, mut first_col, last_col) = match data.len() {
        10 => (
            u32::from(u16_at(data, 0)),
            u32::from(u16_at(data, 2)),
            u32::from(u16_at(data, 4)),
            u32::from(u16_at(data, 6)),
        ),
        14 | 16 => (
            u32_at(data, 0),
            u32_at(data, 4),
            u32::from(u16_at(data, 8)),
            u32::from(u16_at(data, 10)),
        ),
        _ => return 0,
    };
    if first_col > 0xFF || last_col < first_col {
        first_col = 0;
    }
    if last_row == 0 || last_col == 0 {
        return 1;
    }
    let rows = (last_row - 1).wrapping_sub(first_row).wrapping_add(1);
    let cols = (last_col - 1).wrapping_sub(first_col).wrapping_add(1);
    u64::from(rows).saturating_mul(u64::from(cols))
}

/// The bounding box of the cells seen so far.
#[derive(Default)]
struct Extent(Option<(u32, u32, u32, u32)>);

impl Extent {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn area(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

/// Every row of a workbook's first sheet, numbered as Excel numbers them.
fn read_workbook<'a, R>(
    bytes: &'a [u8],
    kind: &str,
) -> Result<Vec<(usize, Vec<String>)>, ImportError>
where
    R: Reader<Cursor<&'a [u8]>>,
{
    let corrupt = || corrupt(kind);
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
fn read_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
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
    if quoted {
        // A quote that never closes has swallowed everything after it, people and all.
        return Err(ImportError::Corrupt(format!(
            "第 {} 行第 {} 列有一个没有配对的英文双引号（\"），它把后面的内容都并进了这一格：\
             请删除这个引号（或在这一格末尾补上另一个），另存后重新上传",
            rows.len() + 1,
            row.len() + 1
        )));
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push((rows.len() + 1, row));
    }
    Ok(rows)
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
        let found: Vec<usize> = (0..table.columns.len())
            .filter(|&i| header_key(&table.columns[i]) == key)
            .collect();
        if found.len() > 1 {
            // Two columns for one field: which one is meant cannot be guessed.
            let letters: Vec<String> = found.iter().map(|&i| column_letters(i as u32)).collect();
            report.problems.push(RowProblem {
                row: table.header_row,
                column: field.label.clone(),
                message: format!(
                    "“{}”列出现了 {} 次（{} 列）：请删除多余的列，只留一列后重新上传",
                    field.label,
                    found.len(),
                    letters.join("、")
                ),
            });
        } else if let Some(&index) = found.first() {
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
            if raw.contains(['\n', '\r']) {
                // No staff field spans lines. In a CSV, a stray " at the start of a cell
                // makes it swallow the lines below it, people and all: never store that.
                report.problems.push(RowProblem {
                    row: *number,
                    column: column.clone(),
                    message:
                        "这一格里有换行：请删除换行。如果这一格里出现了下面几行（其他职工）的内容，\
                              是这一格开头多了一个英文双引号（\"），请删除它后重新上传"
                            .to_string(),
                });
                row.insert(field.key.clone(), Value::One(raw.to_string()));
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend((data.len() as u16).to_le_bytes());
        out.extend(data);
        out
    }

    fn bof(kind: u16) -> Vec<u8> {
        let mut data = vec![0u8; 16];
        data[..2].copy_from_slice(&0x0600u16.to_le_bytes());
        data[2..4].copy_from_slice(&kind.to_le_bytes());
        record(0x0809, &data)
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut data = row.to_le_bytes().to_vec();
        data.extend(col.to_le_bytes());
        data.extend(0u16.to_le_bytes());
        data.extend(1.0f64.to_le_bytes());
        record(0x0203, &data)
    }

    /// A BIFF8 workbook in its compound file: one sheet made of `sheet` records.
    fn xls(sheet: &[Vec<u8>]) -> Vec<u8> {
        let name = b"Sheet1";
        let mut bound = 0u32.to_le_bytes().to_vec();
        bound.extend([0, 0, name.len() as u8, 0]);
        bound.extend(name);
        let globals_len = bof(0x0005).len() + record(0x0085, &bound).len() + 4;
        bound[..4].copy_from_slice(&(globals_len as u32).to_le_bytes());
        let mut stream = bof(0x0005);
        stream.extend(record(0x0085, &bound));
        stream.extend(record(0x000A, &[]));
        stream.extend(bof(0x0010));
        for r in sheet {
            stream.extend(r);
        }
        stream.extend(record(0x000A, &[]));
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        file.create_stream("/Workbook")
            .unwrap()
            .write_all(&stream)
            .unwrap();
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    #[test]
    fn an_xls_sheet_of_a_few_cells_is_measured_small() {
        let book = xls(&[number(0, 0), number(3, 5)]);
        assert_eq!(check_xls_layout(&book), Ok(()));
        // The same bytes are a workbook calamine reads: the measure is of a real file.
        let rows = read_workbook::<Xls<_>>(&book, "XLS").expect("calamine reads it");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].1[0], "1");
        assert_eq!(rows[3].1[5], "1");
    }

    #[test]
    fn an_xls_whose_cells_span_the_whole_sheet_is_refused_before_it_is_laid_out() {
        // Two cells, A1 and IV65536: calamine would lay out 16.7 million cells for them.
        let book = xls(&[number(0, 0), number(65_535, 255)]);
        match check_xls_layout(&book) {
            Err(ImportError::TooLarge(message)) => assert!(message.contains("使用范围太大")),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn an_xls_dimension_record_naming_billions_of_rows_is_refused() {
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend(0xFFFF_FFF0u32.to_le_bytes());
        dims.extend(0u16.to_le_bytes());
        dims.extend(20u16.to_le_bytes());
        dims.extend(0u16.to_le_bytes());
        let book = xls(&[record(0x0200, &dims), number(0, 0)]);
        assert!(matches!(
            check_xls_layout(&book),
            Err(ImportError::TooLarge(_))
        ));
        // And a row range that runs backwards, which wraps around inside the reader.
        let mut backwards = 10u32.to_le_bytes().to_vec();
        backwards.extend(5u32.to_le_bytes());
        backwards.extend(0u16.to_le_bytes());
        backwards.extend(3u16.to_le_bytes());
        backwards.extend(0u16.to_le_bytes());
        let book = xls(&[record(0x0200, &backwards)]);
        assert!(matches!(
            check_xls_layout(&book),
            Err(ImportError::TooLarge(_))
        ));
    }

    #[test]
    fn an_xls_whose_sheets_all_point_at_one_long_sheet_is_called_damaged() {
        // 2,000 sheet entries, every one at the same sheet of 20,000 cells: walking each
        // would take 40 million steps, here and again in calamine.
        let cells: Vec<Vec<u8>> = (0..20_000).map(|i| number(i, 0)).collect();
        let one = xls(&cells);
        assert_eq!(check_xls_layout(&one), Ok(()));
        let mut file = cfb::CompoundFile::open(Cursor::new(one)).unwrap();
        let mut stream = Vec::new();
        std::io::Read::read_to_end(&mut file.open_stream("/Workbook").unwrap(), &mut stream)
            .unwrap();
        // The one BoundSheet record is the second record: copy it 2,000 times in place.
        let bof_len = 4 + 16;
        let bound_len = 4 + usize::from(u16_at(&stream, bof_len + 2));
        let bound = stream[bof_len..bof_len + bound_len].to_vec();
        let sheet_at = u32_at(&bound, 4) as usize + bound.len() * 1_999;
        let mut bound = bound;
        bound[4..8].copy_from_slice(&(sheet_at as u32).to_le_bytes());
        let mut many = stream[..bof_len].to_vec();
        for _ in 0..2_000 {
            many.extend(&bound);
        }
        many.extend(&stream[bof_len + bound_len..]);
        let mut out = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        out.create_stream("/Workbook")
            .unwrap()
            .write_all(&many)
            .unwrap();
        out.flush().unwrap();
        let bytes = out.into_inner().into_inner();
        let started = std::time::Instant::now();
        assert!(matches!(
            check_xls_layout(&bytes),
            Err(ImportError::Corrupt(_))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn a_file_that_only_starts_like_an_xls_is_called_damaged() {
        let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0];
        bytes.extend([0u8; 600]);
        assert!(matches!(
            check_xls_layout(&bytes),
            Err(ImportError::Corrupt(_))
        ));
    }

    #[test]
    fn column_letters_are_excel_s() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16_383), "XFD");
    }
}
