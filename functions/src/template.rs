//! The spreadsheet template for bulk filing (人员备案电子表格模板), generated from a form's
//! definition: an instructions sheet with a sample row, and a data sheet whose ID, phone and
//! code columns are text, whose date columns have a date format and whose coded columns
//! offer drop-downs. The CSV version has the header line with a UTF-8 BOM.

use anyhow::{Context, Result};
use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Formula, Workbook};

use crate::forms::{Field, FieldKind, FormDef, Group};

/// Data rows prepared with formats and drop-downs.
const PREPARED_ROWS: u32 = 1000;
/// The data sheet's name, which the importer reads first.
pub const DATA_SHEET: &str = "人员备案";

/// The group a template is for: the form's first repeatable group.
pub fn group(def: &FormDef) -> Option<&Group> {
    def.groups.first()
}

/// The XLSX template for `def`'s first group.
pub fn to_xlsx(def: &FormDef) -> Result<Vec<u8>> {
    let group = group(def).with_context(|| format!("表单 `{}` 没有可按行填写的分组", def.id))?;
    let mut workbook = Workbook::new();
    let bold = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color("#E7EEF6");
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let wrap = Format::new().set_text_wrap();

    // The data sheet comes first, so Excel and WPS open on it and the importer reads it.
    let data = workbook.add_worksheet();
    data.set_name(DATA_SHEET)?;
    for (col, field) in group.fields.iter().enumerate() {
        let col = col as u16;
        data.write_string_with_format(0, col, header(field), &bold)?;
        data.set_column_width(col, column_width(field))?;
        let format = if field.kind == FieldKind::Date {
            &date
        } else {
            &text
        };
        data.set_column_format(col, format)?;
    }
    data.set_row_height(0, 32)?;
    data.set_freeze_panes(1, 0)?;

    // Drop-downs read their options from a hidden sheet: inline lists are limited to 255
    // characters, which the list of 民族 exceeds.
    let mut lists: Vec<(u16, &Field)> = Vec::new();
    for (col, field) in group.fields.iter().enumerate() {
        if matches!(field.kind, FieldKind::Select | FieldKind::Radio) {
            lists.push((col as u16, field));
        }
    }
    for (n, (col, field)) in lists.iter().enumerate() {
        let letter = column_letter(n as u16);
        let formula = format!("=选项!${letter}$1:${letter}${}", field.options.len());
        let validation = DataValidation::new()
            .allow_list_formula(Formula::new(formula))
            .set_error_title("请从列表中选择")?
            .set_error_message(format!("“{}”只能从下拉列表中选择。", field.label))?;
        data.add_data_validation(1, *col, PREPARED_ROWS, *col, &validation)?;
    }

    let options = workbook.add_worksheet();
    options.set_name("选项")?;
    for (n, (_, field)) in lists.iter().enumerate() {
        for (row, option) in field.options.iter().enumerate() {
            options.write_string(row as u32, n as u16, option)?;
        }
    }
    options.set_hidden(true);

    let guide = workbook.add_worksheet();
    guide.set_name("填写说明")?;
    guide.set_column_width(0, 24)?;
    guide.set_column_width(1, 10)?;
    guide.set_column_width(2, 60)?;
    guide.write_string_with_format(
        0,
        0,
        format!("{}：填写说明", def.title),
        &Format::new().set_bold().set_font_size(14),
    )?;
    let notes = [
        format!("1. 在“{DATA_SHEET}”工作表中，每名{}填一行，从第 2 行开始填写，不要改动第 1 行的表头。", group.row_label),
        "2. 公民身份号码、电话、代码等栏已设为“文本”格式，请直接输入，不要改成数字格式，否则号码末尾会变成 000。".to_string(),
        "3. 日期写成 2026-01-31；带下拉箭头的栏请从列表中选择。".to_string(),
        "4. 表头带 * 的栏必须填写。本表由网站根据在线表单自动生成，填写规则与在线表单相同。".to_string(),
    ];
    for (i, note) in notes.iter().enumerate() {
        guide.merge_range(i as u32 + 1, 0, i as u32 + 1, 2, note, &wrap)?;
        guide.set_row_height(i as u32 + 1, 30)?;
    }
    let top = notes.len() as u32 + 2;
    for (col, title) in ["栏目", "是否必填", "填写要求（示例）"].iter().enumerate() {
        guide.write_string_with_format(top, col as u16, *title, &bold)?;
    }
    for (i, field) in group.fields.iter().enumerate() {
        let row = top + 1 + i as u32;
        guide.write_string(row, 0, &field.label)?;
        guide.write_string(row, 1, if field.required { "必填" } else { "选填" })?;
        guide.write_string_with_format(row, 2, requirement(field), &wrap)?;
    }
    Ok(workbook.save_to_buffer()?)
}

/// The CSV template: the header line only, with a UTF-8 BOM so Excel reads the Chinese.
pub fn to_csv(def: &FormDef) -> Result<Vec<u8>> {
    let group = group(def).with_context(|| format!("表单 `{}` 没有可按行填写的分组", def.id))?;
    let mut out = vec![0xEF, 0xBB, 0xBF];
    let headers: Vec<String> = group.fields.iter().map(header).collect();
    out.extend_from_slice(headers.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// A column's header: the field's label, with `*` when required.
pub fn header(field: &Field) -> String {
    if field.required {
        format!("{}*", field.label)
    } else {
        field.label.clone()
    }
}

fn requirement(field: &Field) -> String {
    let mut parts = Vec::new();
    if let Some(help) = &field.help {
        parts.push(help.clone());
    }
    if !field.options.is_empty() {
        parts.push(format!("可选：{}", field.options.join("、")));
    }
    if let Some(example) = &field.example {
        parts.push(format!("示例：{example}"));
    }
    parts.join(" ")
}

fn column_width(field: &Field) -> f64 {
    match field.kind {
        FieldKind::IdNumber | FieldKind::CreditCode | FieldKind::UnitCode => 22.0,
        FieldKind::Date | FieldKind::Phone | FieldKind::Mobile | FieldKind::Landline => 14.0,
        _ => (field.label.chars().count() as f64 * 2.2).max(10.0),
    }
}

fn column_letter(index: u16) -> String {
    let mut n = index as u32 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push((b'A' + rem as u8) as char);
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_go_past_z() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }
}
