//! Importing staff spreadsheets as employers really send them (cases C16–C20): the real
//! staff filing form, workbooks built with rust_xlsxwriter, CSV in the encodings Excel writes.

use std::path::Path;

use beian_functions::forms::{FormDef, Forms};
use beian_functions::import::{
    import_rows, read_table, ImportError, Report, SheetFormat, Table, MAX_ROWS,
};
use beian_functions::submission::{Submission, Value};

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

fn staff_form() -> FormDef {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/forms");
    let forms = Forms::load_dir(&dir).expect("forms load");
    forms.get("staff-filing").expect("staff form").clone()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn unit() -> Submission {
    let mut unit = Submission::default();
    for (key, value) in [
        ("unit_name", "内蒙古某某科技有限公司"),
        ("unit_code", "91150100MA0R1B2C8F"),
        ("unit_type", "企业"),
        ("industry", "软件和信息技术服务业"),
        ("division_code", "150102"),
        ("contact_name", "王芳"),
        ("contact_phone", "0471-6945364"),
    ] {
        unit.fields
            .insert(key.to_string(), Value::One(value.to_string()));
    }
    unit
}

/// The group's labels, as the template's header row.
fn labels(def: &FormDef) -> Vec<String> {
    let group = def.group("staff").unwrap();
    group.fields.iter().map(|f| f.label.clone()).collect()
}

fn expected(def: &FormDef) -> Vec<String> {
    labels(def)
}

/// Three people who satisfy every rule of the form, one cell per label in template order.
fn people() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "张三",
            "150102198503159994",
            "男",
            "1985-03-15",
            "汉族",
            "大学本科",
            "城镇",
            "13800000000",
            "全日制",
            "固定期限",
            "2026-01-01",
            "2028-12-31",
            "软件工程师",
            "6500",
            "新签",
            "",
            "",
        ],
        vec![
            "李娜",
            "150203199207089983",
            "女",
            "1992-07-08",
            "蒙古族",
            "大学专科",
            "农村",
            "13900000000",
            "全日制",
            "无固定期限",
            "2025-03-01",
            "",
            "会计",
            "5200",
            "新签",
            "",
            "",
        ],
        vec![
            "娜仁·其其格",
            "15060219900101990X",
            "女",
            "1990-01-01",
            "蒙古族",
            "高中",
            "城镇",
            "0471-6945364",
            "非全日制",
            "以完成一定工作任务为期限",
            "2026-02-01",
            "",
            "保洁员",
            "2200",
            "新签",
            "",
            "",
        ],
    ]
}

fn csv(header: &[String], rows: &[Vec<&str>]) -> Vec<u8> {
    let mut text = header.join(",");
    text.push_str("\r\n");
    for row in rows {
        text.push_str(&row.join(","));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

fn xlsx(build: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
    let mut book = Workbook::new();
    build(book.add_worksheet());
    book.save_to_buffer().expect("workbook")
}

/// Writes the header at `top` (0-based) and the rows below it, every cell as text.
fn write_sheet(sheet: &mut Worksheet, top: u32, header: &[String], rows: &[Vec<&str>]) {
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(top, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet
                .write_string(top + 1 + r as u32, c as u16, *cell)
                .unwrap();
        }
    }
}

fn import(def: &FormDef, bytes: &[u8]) -> (Table, Report) {
    let names = expected(def);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let table = read_table(bytes, &names).expect("table");
    let report = import_rows(def, "staff", &unit(), &table, today());
    (table, report)
}

fn column(def: &FormDef, label: &str) -> usize {
    labels(def).iter().position(|l| l == label).unwrap()
}

#[test]
fn clean_three_rows_are_ready_and_accepted() {
    let def = staff_form();
    let (table, report) = import(&def, &csv(&labels(&def), &people()));

    assert_eq!(table.format, SheetFormat::Csv);
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.ready, 3);
    let accepted = report
        .accepted
        .expect("the checked rows when there is no problem");
    assert_eq!(accepted.groups["staff"].len(), 3);
    assert_eq!(
        accepted.groups["staff"][2]["id_number"],
        Value::One("15060219900101990X".into())
    );
    assert_eq!(
        accepted.fields["unit_name"],
        Value::One("内蒙古某某科技有限公司".into())
    );
}

#[test]
fn one_bad_id_among_three_names_its_row_and_column() {
    let def = staff_form();
    let mut rows = people();
    rows[1][1] = "150203199207089980";
    let (_, report) = import(&def, &csv(&labels(&def), &rows));

    assert!(report.accepted.is_none());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].row, 3);
    assert_eq!(report.problems[0].column, "公民身份号码");
    assert!(report.problems[0].message.contains("校验码"));
    assert_eq!(report.ready, 2);
}

#[test]
fn c17_bom_glued_to_the_first_header_is_stripped() {
    let body = "姓名,身份证号,手机号\r\n张三,110101199003071233,13800000000\r\n";
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(body.as_bytes());
    let names = ["姓名", "身份证号", "手机号"];

    let table = read_table(&bytes, &names).unwrap();
    assert_eq!(table.columns[0], "姓名");
    assert_eq!(table.header_row, 1);
    assert_eq!(
        table.rows,
        vec![(
            2,
            vec![
                "张三".into(),
                "110101199003071233".into(),
                "13800000000".into()
            ]
        )]
    );

    // Decoded first: `decode` drops the BOM, `decode_without_bom_handling` keeps it.
    let (kept, _) = encoding_rs::UTF_8.decode_without_bom_handling(&bytes);
    assert!(kept.starts_with('\u{FEFF}'));
    let (dropped, _, _) = encoding_rs::UTF_8.decode(&bytes);
    assert_eq!(read_table(kept.as_bytes(), &names).unwrap(), table);
    assert_eq!(read_table(dropped.as_bytes(), &names).unwrap(), table);
}

#[test]
fn c18_gbk_and_utf16_csv_read_the_same() {
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机号\r\n张三,13800000000\r\n");
    assert_eq!(&gbk[13..17], &[0xD5, 0xC5, 0xC8, 0xFD], "张三 in GBK");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "姓名\t手机号\r\n张三\t13800000000\r\n".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    let names = ["姓名", "手机号"];

    for bytes in [gbk.to_vec(), utf16] {
        let table = read_table(&bytes, &names).unwrap();
        assert_eq!(table.columns, vec!["姓名", "手机号"]);
        assert_eq!(
            table.rows,
            vec![(2, vec!["张三".into(), "13800000000".into()])]
        );
    }
}

#[test]
fn c18_gbk_follows_whatwg_and_undecodable_bytes_name_the_line() {
    let (header, _, _) = encoding_rs::GBK.encode("姓名,手机号\r\n");
    let names = ["姓名", "手机号"];

    let mut euro = header.to_vec();
    euro.extend_from_slice(b"\x80,1\r\n");
    let table = read_table(&euro, &names).unwrap();
    assert_eq!(table.rows[0].1[0], "€");

    let mut broken = header.to_vec();
    broken.extend_from_slice(b"\xFF,1\r\n");
    match read_table(&broken, &names) {
        Err(ImportError::Encoding(message)) => {
            assert!(message.contains("第 2 行"), "{message}");
            assert!(message.contains("另存为"), "{message}");
        }
        other => panic!("expected an encoding error, got {other:?}"),
    }
}

#[test]
fn c19_id_in_scientific_notation_in_csv_is_rejected_with_the_excel_fix() {
    let def = staff_form();
    let mut rows = people();
    rows[0][1] = "1.10101E+17";
    rows[1][0] = "李四";
    rows[1][1] = "44030419851215002X";
    rows[1][3] = "1985-12-15";
    let (table, report) = import(&def, &csv(&labels(&def), &rows));

    assert!(report.accepted.is_none());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!((problem.row, problem.column.as_str()), (2, "公民身份号码"));
    assert!(
        problem.message.contains("科学计数法"),
        "{}",
        problem.message
    );
    assert!(problem.message.contains("文本"), "{}", problem.message);
    assert_eq!(table.rows[1].1[1], "44030419851215002X");
}

#[test]
fn c19_numeric_id_cell_in_xlsx_is_rejected_and_text_cell_kept_exactly() {
    let def = staff_form();
    let mut rows = people();
    rows[1][0] = "王五";
    rows[1][1] = "110101199003071233";
    rows[1][2] = "男";
    rows[1][3] = "1990-03-07";
    let id = column(&def, "公民身份号码") as u16;
    let bytes = xlsx(|sheet| {
        write_sheet(sheet, 0, &labels(&def), &rows);
        sheet.write_number(1, id, 110101199003071000.0).unwrap();
    });
    let (table, report) = import(&def, &bytes);

    assert_eq!(table.format, SheetFormat::Xlsx);
    assert_eq!(table.rows[0].1[id as usize], "1.10101E+17");
    assert_eq!(table.rows[1].1[id as usize], "110101199003071233");
    assert!(report.accepted.is_none());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!((problem.row, problem.column.as_str()), (2, "公民身份号码"));
    assert!(problem.message.contains("文本"), "{}", problem.message);
    assert_eq!(report.ready, 2);
}

#[test]
fn c20_date_formatted_serial_and_chinese_text_become_iso_dates() {
    let def = staff_form();
    let mut rows = people();
    rows[1][10] = "2024年1月1日";
    let start = column(&def, "合同起始日期") as u16;
    let bytes = xlsx(|sheet| {
        write_sheet(sheet, 0, &labels(&def), &rows);
        let date = Format::new().set_num_format("yyyy/m/d");
        sheet
            .write_number_with_format(1, start, 45292.0, &date)
            .unwrap();
    });
    let (table, report) = import(&def, &bytes);

    assert_eq!(table.rows[0].1[start as usize], "2024-01-01");
    assert_eq!(report.problems, vec![]);
    let accepted = report.accepted.expect("dates must pass");
    for row in &accepted.groups["staff"][..2] {
        assert_eq!(row["contract_start"], Value::One("2024-01-01".into()));
    }
}

#[test]
fn c20_general_format_serial_in_a_date_column_is_a_row_problem() {
    let def = staff_form();
    let start = column(&def, "合同起始日期") as u16;
    let bytes = xlsx(|sheet| {
        write_sheet(sheet, 0, &labels(&def), &people());
        sheet.write_number(2, start, 45292.0).unwrap();
    });
    let (_, report) = import(&def, &bytes);

    assert!(report.accepted.is_none());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!((problem.row, problem.column.as_str()), (3, "合同起始日期"));
    assert!(
        problem.message.contains("日期变成了数字 45292"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("2024-01-01"),
        "{}",
        problem.message
    );
    assert!(problem.message.contains("日期格式"), "{}", problem.message);
}

#[test]
fn c16b_corrupted_xlsx_is_reported_not_a_panic() {
    let def = staff_form();
    let good = xlsx(|sheet| write_sheet(sheet, 0, &labels(&def), &people()));
    let mangled = String::from_utf8_lossy(&good).into_owned().into_bytes();
    let truncated = good[..good.len() / 2].to_vec();
    let not_a_workbook = stored_zip(&[("说明.txt", "职工名单见附件".to_string())]);

    for bytes in [mangled, truncated, not_a_workbook] {
        match read_table(&bytes, &["姓名"]) {
            Err(ImportError::Corrupt(message)) => {
                assert!(message.contains("文件已损坏或不是有效的 XLSX"), "{message}");
                assert!(message.contains("另存为"), "{message}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

#[test]
fn header_is_found_under_a_title_row_and_a_merged_cell() {
    let def = staff_form();
    let mut header = labels(&def);
    header[0] = "姓名（必填）".into();
    header[1] = "*公民身份号码".into();
    header[12] = "岗位(工种)\u{a0}".into();
    let bytes = xlsx(|sheet| {
        let title = Format::new().set_bold();
        sheet
            .merge_range(0, 0, 0, 16, "2026 年职工花名册", &title)
            .unwrap();
        sheet
            .write_string(1, 0, "填表单位：内蒙古某某科技有限公司")
            .unwrap();
        write_sheet(sheet, 2, &header, &people());
    });
    let (table, report) = import(&def, &bytes);

    assert_eq!(table.header_row, 3);
    assert_eq!(
        table.rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        [4, 5, 6]
    );
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.ready, 3);
}

#[test]
fn columns_in_another_order_and_unknown_columns_are_read_by_name() {
    let def = staff_form();
    let mut header = labels(&def);
    header.reverse();
    header.push("备注".into());
    let rows: Vec<Vec<&str>> = people()
        .into_iter()
        .map(|mut row| {
            row.reverse();
            row.push("试用期三个月");
            row
        })
        .collect();
    let (_, report) = import(&def, &csv(&header, &rows));

    assert_eq!(report.problems, vec![]);
    let submission = report.accepted.unwrap();
    let first = &submission.groups["staff"][0];
    assert_eq!(first["name"], Value::One("张三".into()));
    assert_eq!(first["id_number"], Value::One("150102198503159994".into()));
}

#[test]
fn safe_repairs_are_made_and_listed() {
    let def = staff_form();
    let mut rows = people();
    rows[0][1] = "１５０１０２１９８５０３１５９９９４";
    rows[2][0] = "\u{a0}娜仁•其其格 ";
    let (_, report) = import(&def, &csv(&labels(&def), &rows));

    assert_eq!(report.problems, vec![]);
    assert_eq!(report.repairs.len(), 2, "{:?}", report.repairs);
    assert_eq!(report.repairs[0].row, 2);
    assert_eq!(report.repairs[0].column, "公民身份号码");
    assert_eq!(report.repairs[0].to, "150102198503159994");
    assert_eq!(report.repairs[1].row, 4);
    assert_eq!(report.repairs[1].to, "娜仁·其其格");
    let submission = report.accepted.unwrap();
    assert_eq!(
        submission.groups["staff"][2]["name"],
        Value::One("娜仁·其其格".into())
    );
}

#[test]
fn missing_required_column_is_named_at_the_header_row() {
    let def = staff_form();
    let header = labels(&def);
    let rows = people();
    let drop = column(&def, "民族");
    let header: Vec<String> = header
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != drop)
        .map(|(_, h)| h)
        .collect();
    let rows: Vec<Vec<&str>> = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, c)| c)
                .collect()
        })
        .collect();
    let (table, report) = import(&def, &csv(&header, &rows));

    assert!(report.accepted.is_none());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].row, table.header_row);
    assert_eq!(report.problems[0].column, "民族");
    assert!(report.problems[0].message.contains("缺少"));
}

#[test]
fn errors_on_files_without_header_empty_or_too_large() {
    let def = staff_form();
    let names = expected(&def);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();

    match read_table("甲,乙\r\n1,2\r\n".as_bytes(), &names) {
        Err(ImportError::NoHeader(message)) => assert!(message.contains("表头"), "{message}"),
        other => panic!("expected NoHeader, got {other:?}"),
    }
    assert_eq!(read_table(b"", &names), Err(ImportError::Empty));
    assert_eq!(read_table(b",,\r\n,,\r\n", &names), Err(ImportError::Empty));

    let row = people()[0].join(",");
    let mut text = labels(&def).join(",");
    text.push('\n');
    for _ in 0..=MAX_ROWS {
        text.push_str(&row);
        text.push('\n');
    }
    match read_table(text.as_bytes(), &names) {
        Err(ImportError::TooLarge(message)) => assert!(message.contains("10000"), "{message}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn can_read_semicolons_and_quoted_cells() {
    let text =
        "人员名单;;\n姓名;岗位（工种）;手机号\n\"李,\"\"四\"\"\";\"会计\n出纳\";13900000000\n";
    let table = read_table(text.as_bytes(), &["姓名", "岗位（工种）", "手机号"]).unwrap();

    assert_eq!(table.header_row, 2);
    assert_eq!(
        table.rows,
        vec![(
            3,
            vec![
                "李,\"四\"".into(),
                "会计\n出纳".into(),
                "13900000000".into()
            ]
        )]
    );
}

/// CRC-32 (IEEE), which every zip entry carries.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip of uncompressed entries: enough for a hand-written workbook.
fn stored_zip(entries: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, text) in entries {
        let (name, data) = (name.as_bytes(), text.as_bytes());
        let offset = out.len() as u32;
        let fixed = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // flags, method, time, date
            buf.extend_from_slice(&crc32(data).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&[0, 0]); // extra length
        };
        out.extend_from_slice(&[0x50, 0x4B, 0x03, 0x04, 20, 0]);
        fixed(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        central.extend_from_slice(&[0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0]);
        fixed(&mut central);
        central.extend_from_slice(&[0; 8]); // comment, disk, internal and external attributes
        central.extend_from_slice(&[0; 2]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let (start, count) = (out.len() as u32, entries.len() as u16);
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

/// A one-row workbook whose 合同起始日期 is the date-formatted serial 43830, written by hand
/// because rust_xlsxwriter cannot choose the 1904 date system.
fn workbook_with_serial_43830(date1904: bool) -> Vec<u8> {
    const OOXML: &str = "http://schemas.openxmlformats.org";
    const TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml";
    let main = format!("{OOXML}/spreadsheetml/2006/main");
    let rel = format!("{OOXML}/officeDocument/2006/relationships");
    let link = |id: &str, kind: &str, target: &str| {
        format!(r#"<Relationship Id="{id}" Type="{rel}/{kind}" Target="{target}"/>"#)
    };
    let links = |items: String| {
        format!(
            r#"<Relationships xmlns="{OOXML}/package/2006/relationships">{items}</Relationships>"#
        )
    };
    let part = |name: &str, kind: &str| {
        format!(r#"<Override PartName="/xl/{name}" ContentType="{TYPE}.{kind}+xml"/>"#)
    };
    let text = |r: &str, t: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{t}</t></is></c>"#);
    let pr = if date1904 {
        r#"<workbookPr date1904="1"/>"#
    } else {
        "<workbookPr/>"
    };

    let types = format!(
        r#"<Types xmlns="{OOXML}/package/2006/content-types">{}{}{}{}</Types>"#,
        r#"<Default Extension="xml" ContentType="application/xml"/>"#,
        part("workbook.xml", "sheet.main"),
        part("worksheets/sheet1.xml", "worksheet"),
        part("styles.xml", "styles"),
    );
    let workbook = format!(
        r#"<workbook xmlns="{main}" xmlns:r="{rel}">{pr}<sheets>{}</sheets></workbook>"#,
        r#"<sheet name="职工" sheetId="1" r:id="rId1"/>"#
    );
    let styles = format!(
        r#"<styleSheet xmlns="{main}"><cellXfs count="2">{}</cellXfs></styleSheet>"#,
        r#"<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>"#
    );
    let header = format!(
        r#"<row r="1">{}{}</row>"#,
        text("A1", "姓名"),
        text("B1", "合同起始日期")
    );
    let serial = r#"<c r="B2" s="1"><v>43830</v></c>"#;
    let row = format!(r#"<row r="2">{}{serial}</row>"#, text("A2", "张三"));
    let sheet =
        format!(r#"<worksheet xmlns="{main}"><sheetData>{header}{row}</sheetData></worksheet>"#);
    stored_zip(&[
        ("[Content_Types].xml", types),
        (
            "_rels/.rels",
            links(link("rId1", "officeDocument", "xl/workbook.xml")),
        ),
        ("xl/workbook.xml", workbook),
        (
            "xl/_rels/workbook.xml.rels",
            links(
                link("rId1", "worksheet", "worksheets/sheet1.xml")
                    + &link("rId2", "styles", "styles.xml"),
            ),
        ),
        ("xl/styles.xml", styles),
        ("xl/worksheets/sheet1.xml", sheet),
    ])
}

#[test]
fn c20_workbook_in_the_1904_date_system_gives_the_same_date() {
    let names = ["姓名", "合同起始日期"];

    let table = read_table(&workbook_with_serial_43830(true), &names).unwrap();
    assert_eq!(table.format, SheetFormat::Xlsx);
    assert_eq!(
        table.rows,
        vec![(2, vec!["张三".into(), "2024-01-01".into()])]
    );

    // The control: the same serial in the usual 1900 system is four years earlier.
    let table = read_table(&workbook_with_serial_43830(false), &names).unwrap();
    assert_eq!(table.rows[0].1[1], "2019-12-31");
}

#[test]
fn the_downloadable_template_opens_on_its_data_sheet_and_reads_back() {
    use calamine::{Reader, Xlsx};

    let def = staff_form();
    let group = &def.groups[0];
    let labels: Vec<&str> = group.fields.iter().map(|f| f.label.as_str()).collect();
    let xlsx = beian_functions::template::to_xlsx(&def).expect("the template builds");

    let mut book = Xlsx::new(std::io::Cursor::new(xlsx.clone())).expect("a real workbook");
    assert_eq!(book.sheet_names()[0], beian_functions::template::DATA_SHEET);
    let guide = book
        .worksheet_range("填写说明")
        .expect("an instructions sheet");
    let guide_text: Vec<String> = guide.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(
        guide_text
            .iter()
            .any(|c| c.contains("示例：150102198503159994")),
        "no sample values"
    );
    assert!(
        guide_text.iter().any(|c| c.contains("文本")),
        "no word on text columns"
    );

    // The importer finds the template's header row, with `*` on required columns, and no
    // data rows in a fresh template.
    let table = read_table(&xlsx, &labels).expect("the importer reads the template");
    assert_eq!(table.header_row, 1);
    assert_eq!(table.rows.len(), 0);
    let csv = beian_functions::template::to_csv(&def).unwrap();
    assert_eq!(&csv[..3], &[0xEF, 0xBB, 0xBF]);
    let csv_table = read_table(&csv, &labels).expect("the importer reads the CSV template");
    assert_eq!(csv_table.columns.len(), labels.len());
    assert!(String::from_utf8_lossy(&csv).contains("公民身份号码*"));
}

/// calamine lays a sheet out as one rectangle from its first to its furthest cell; a cell at
/// XFD1048576 would ask for hundreds of gigabytes and end the process. The reader keeps only
/// cells that hold something: a stray cell far down is just another row, a cell beyond the
/// columns a staff list can have is named so the person can delete it.
#[test]
fn a_stray_cell_far_away_is_named_or_read_without_laying_out_the_sheet() {
    let def = staff_form();
    let names = expected(&def);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();

    let far_right = xlsx(|sheet| {
        write_sheet(sheet, 0, &labels(&def), &people());
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
    });
    let started = std::time::Instant::now();
    match read_table(&far_right, &names) {
        Err(ImportError::TooLarge(message)) => {
            assert!(
                message.contains("第 1048576 行第 16384 列（XFD 列）"),
                "{message}"
            );
            assert!(message.contains("删除"), "{message}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }

    let far_down = xlsx(|sheet| {
        write_sheet(sheet, 0, &labels(&def), &people());
        sheet.write_string(1_048_575, 1, "x").unwrap();
    });
    let table = read_table(&far_down, &names).expect("a stray cell far down is read");
    assert_eq!(table.rows.len(), people().len() + 1);
    assert_eq!(
        table.rows.last().unwrap().0,
        1_048_576,
        "Excel's row number"
    );
    let report = import_rows(&def, "staff", &unit(), &table, today());
    assert!(
        report.problems.iter().any(|p| p.row == 1_048_576),
        "the stray row is reported, not stored: {:?}",
        report.problems
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "read in {:?}",
        started.elapsed()
    );
}

/// A few kilobytes that unzip to 40 MB are refused before calamine keeps any of it (its
/// shared strings are held whole in memory).
#[test]
fn an_xlsx_that_unzips_to_far_more_than_a_staff_list_is_refused() {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/sharedStrings.xml", deflated).unwrap();
    let block = vec![b' '; 1 << 20];
    for _ in 0..40 {
        zip.write_all(&block).unwrap();
    }
    let bomb = zip.finish().unwrap().into_inner();
    assert!(bomb.len() < 200_000, "the bomb is small: {}", bomb.len());

    let def = staff_form();
    let names = expected(&def);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match read_table(&bomb, &names) {
        Err(ImportError::TooLarge(message)) => {
            assert!(message.contains("解压后超过 32 MB"), "{message}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}
