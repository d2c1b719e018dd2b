//! Exports for staff: every submission of a form as CSV (UTF-8 with a BOM, for Excel) or
//! XLSX. A form with groups gives one line per group row, with the record's single fields
//! repeated. A cell that starts like a formula (= + - @) is written so it cannot run.

use anyhow::Result;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value as Json;

use crate::forms::FormDef;
use crate::store::Record;
use crate::validate;

/// The file formats `beian export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated, UTF-8 with a BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// The header line and the lines of an export.
pub fn table(def: &FormDef, records: &[Record]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers: Vec<String> = [
        "受理编号",
        "版本",
        "状态",
        "经办机构",
        "经办人",
        "经办时间",
        "办理渠道",
    ]
    .map(String::from)
    .to_vec();
    headers.extend(def.fields().map(|f| f.label.clone()));
    for group in &def.groups {
        headers.push(format!("{}序号", group.row_label));
        headers.extend(
            group
                .fields
                .iter()
                .map(|f| format!("{}：{}", group.row_label, f.label)),
        );
    }
    let mut lines = Vec::new();
    for record in records {
        let mut base = vec![
            record.reference.clone(),
            record.version.to_string(),
            record.status.clone(),
            record.audit.agency.clone(),
            record.audit.handler.clone(),
            record.audit.time.clone(),
            record.audit.channel.label().to_string(),
        ];
        let fields = record.data.get("fields");
        base.extend(
            def.fields()
                .map(|f| cell(fields.and_then(|v| v.get(&f.key)))),
        );
        if def.groups.is_empty() {
            lines.push(base);
            continue;
        }
        // One line per row of the first group; further groups (none today) follow the same way.
        for group in &def.groups {
            let rows = record
                .data
                .get("groups")
                .and_then(|g| g.get(&group.key))
                .and_then(Json::as_array);
            for (n, row) in rows.into_iter().flatten().enumerate() {
                let mut line = base.clone();
                line.push((n + 1).to_string());
                line.extend(group.fields.iter().map(|f| cell(row.get(&f.key))));
                lines.push(line);
            }
        }
    }
    (headers, lines)
}

fn cell(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join("、"),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A cell made safe for spreadsheets: a leading `'` stops `=`, `+`, `-` and `@` from
/// starting a formula.
pub fn defuse(text: &str) -> String {
    if validate::is_formula_like(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Writes the export as CSV bytes.
pub fn to_csv(def: &FormDef, records: &[Record]) -> Result<Vec<u8>> {
    let (headers, lines) = table(def, records);
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(headers.iter().map(|h| defuse(h)))?;
        for line in lines {
            writer.write_record(line.iter().map(|c| defuse(c)))?;
        }
        writer.flush()?;
    }
    Ok(out)
}

/// Writes the export as XLSX bytes; every cell is text, so long numbers keep every digit.
pub fn to_xlsx(def: &FormDef, records: &[Record]) -> Result<Vec<u8>> {
    let (headers, lines) = table(def, records);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("导出")?;
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, defuse(header), &bold)?;
        sheet.set_column_width(col as u16, 16)?;
    }
    for (row, line) in lines.iter().enumerate() {
        for (col, value) in line.iter().enumerate() {
            sheet.write_string_with_format(row as u32 + 1, col as u16, defuse(value), &text)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.save_to_buffer()?)
}
