//! Spreadsheets described in TOML (`NAME.sheet.toml`) and compiled into `.xlsx` files, so
//! a blank paper form can also be downloaded and filled in with Excel or WPS.

use std::path::Path;

use anyhow::{Context, Result};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
use serde::Deserialize;

/// One column of a form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The header text.
    pub name: String,
    /// Width in characters (default 12).
    #[serde(default)]
    pub width: Option<f64>,
}

/// A blank form: title, notes, a header row and empty rows to fill in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    /// The title in the first row.
    pub title: String,
    /// The worksheet tab's name (default 表1).
    #[serde(default)]
    pub sheet_name: Option<String>,
    /// Lines between the title and the table.
    #[serde(default)]
    pub notes_above: Vec<String>,
    /// The table's columns.
    pub columns: Vec<Column>,
    /// Empty bordered rows to fill in (default 10).
    #[serde(default)]
    pub blank_rows: Option<u32>,
    /// Lines under the table.
    #[serde(default)]
    pub notes_below: Vec<String>,
}

/// Reads a sheet description and writes the workbook's bytes.
pub fn compile(file: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("无法读取表格描述 `{}`", file.display()))?;
    let sheet: Sheet = toml::from_str(&crate::config::strip_bom(&text)).map_err(|e| {
        anyhow::anyhow!(
            "表格描述 `{}` 有误：{}。请对照 README 中的格式修改",
            file.display(),
            e.message()
        )
    })?;
    build(&sheet).with_context(|| format!("生成表格 `{}` 失败", file.display()))
}

/// Builds the workbook for `sheet`.
pub fn build(sheet: &Sheet) -> Result<Vec<u8>> {
    if sheet.columns.is_empty() {
        anyhow::bail!("表格至少要有一列：请在 columns 中列出表头");
    }
    let mut workbook = Workbook::new();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet.sheet_name.as_deref().unwrap_or("表1"))?;
    let last_col = (sheet.columns.len() - 1) as u16;
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let note = Format::new().set_text_wrap().set_align(FormatAlign::Left);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("#E7EEF6");
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("@");

    let mut row = 0u32;
    worksheet.merge_range(row, 0, row, last_col, &sheet.title, &title)?;
    worksheet.set_row_height(row, 30)?;
    row += 1;
    for line in &sheet.notes_above {
        worksheet.merge_range(row, 0, row, last_col, line, &note)?;
        row += 1;
    }
    for (col, column) in sheet.columns.iter().enumerate() {
        worksheet.write_string_with_format(row, col as u16, &column.name, &header)?;
        worksheet.set_column_width(col as u16, column.width.unwrap_or(12.0))?;
    }
    worksheet.set_row_height(row, 36)?;
    worksheet.set_freeze_panes(row + 1, 0)?;
    row += 1;
    for _ in 0..sheet.blank_rows.unwrap_or(10) {
        for col in 0..=last_col {
            worksheet.write_blank(row, col, &cell)?;
        }
        worksheet.set_row_height(row, 24)?;
        row += 1;
    }
    for line in &sheet.notes_below {
        worksheet.merge_range(row, 0, row, last_col, line, &note)?;
        row += 1;
    }
    worksheet.set_landscape();
    worksheet.set_paper_size(9);
    worksheet.set_print_fit_to_pages(1, 0);
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_build_a_blank_form() {
        let sheet: Sheet = toml::from_str(
            "title = \"申请表\"\ncolumns = [{ name = \"地区\" }, { name = \"行政区划代码\", width = 14 }]\n\
             blank_rows = 3\nnotes_below = [\"填报说明\"]",
        )
        .unwrap();
        let bytes = build(&sheet).unwrap();
        assert_eq!(&bytes[..2], b"PK", "an xlsx file is a zip archive");
    }

    #[test]
    fn errors_on_a_form_without_columns() {
        let sheet = Sheet {
            title: "t".into(),
            sheet_name: None,
            notes_above: vec![],
            columns: vec![],
            blank_rows: None,
            notes_below: vec![],
        };
        assert!(build(&sheet).unwrap_err().to_string().contains("columns"));
    }
}
