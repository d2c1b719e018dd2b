//! The bulk-filing template opens cleanly in LibreOffice (headless): the data sheet comes
//! first with the form's headers, the drop-downs survive, and a copy saved by LibreOffice
//! still has its sheets and headers when read back.

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use beian_functions::forms::Forms;
use calamine::{Reader, Xlsx};

/// One LibreOffice at a time: two headless instances starting together on a fresh machine
/// were seen to abort (signal 6 while creating their profiles).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs LibreOffice headless in `dir` with a profile of its own; a first start that aborts
/// (it sets up the profile then) is tried once more before the test fails.
fn soffice(args: &[&str], dir: &Path) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.join("profile").display()
    );
    let run = || {
        Command::new("soffice")
            .arg(&profile)
            .args(["--headless", "--norestore"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("LibreOffice (soffice) is installed by tests/run.sh")
    };
    let mut output = run();
    if !output.status.success() {
        eprintln!(
            "soffice failed once, trying again: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output = run();
    }
    assert!(
        output.status.success(),
        "soffice failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_template_opens_in_libreoffice_with_headers_drop_downs_and_instructions() {
    let forms = Forms::load_dir(&common::repo_root().join("content/forms")).unwrap();
    let def = forms.get("staff-filing").unwrap();
    let headers: Vec<String> = def.groups[0]
        .fields
        .iter()
        .map(beian_functions::template::header)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("template.xlsx"),
        beian_functions::template::to_xlsx(def).unwrap(),
    )
    .unwrap();

    // As CSV: LibreOffice reads the first sheet, which must be the data sheet.
    soffice(
        &[
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            "csv",
            "template.xlsx",
        ],
        dir.path(),
    );
    let csv = std::fs::read_to_string(dir.path().join("csv/template.csv")).unwrap();
    let first: Vec<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    assert_eq!(first, headers);

    // As flat ODS: the drop-downs point at the hidden options sheet, and all sheets are there.
    soffice(
        &["--convert-to", "fods", "--outdir", "fods", "template.xlsx"],
        dir.path(),
    );
    let fods = std::fs::read_to_string(dir.path().join("fods/template.fods")).unwrap();
    let lists = fods.matches("cell-content-is-in-list([$选项.").count();
    let coded = def.groups[0]
        .fields
        .iter()
        .filter(|f| !f.options.is_empty())
        .count();
    assert_eq!(lists, coded, "every coded column has its drop-down");
    for sheet in [
        "table:name=\"人员备案\"",
        "table:name=\"填写说明\"",
        "table:name=\"选项\"",
    ] {
        assert!(fods.contains(sheet), "missing {sheet}");
    }

    // Saved again by LibreOffice as XLSX, it reads back with the same sheets and headers.
    soffice(
        &[
            "--convert-to",
            "xlsx",
            "--outdir",
            "resaved",
            "template.xlsx",
        ],
        dir.path(),
    );
    let bytes = std::fs::read(dir.path().join("resaved/template.xlsx")).unwrap();
    let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names()[0], "人员备案");
    let range = book.worksheet_range("人员备案").unwrap();
    let row: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(row, headers);
}

#[test]
fn a_filled_template_saved_as_xls_by_libreoffice_imports_with_every_digit() {
    let forms = Forms::load_dir(&common::repo_root().join("content/forms")).unwrap();
    let def = forms.get("staff-filing").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = beian_functions::template::to_xlsx(def).unwrap();
    let filled = common::fill_template(&template, &common::PEOPLE);
    std::fs::write(dir.path().join("filled.xlsx"), filled).unwrap();

    // An Excel 97–2003 workbook, as older offices still send.
    soffice(
        &["--convert-to", "xls", "--outdir", "xls", "filled.xlsx"],
        dir.path(),
    );
    let bytes = std::fs::read(dir.path().join("xls/filled.xls")).unwrap();
    assert!(bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]), "an OLE file");

    let labels: Vec<&str> = def.groups[0]
        .fields
        .iter()
        .map(|f| f.label.as_str())
        .collect();
    let table = beian_functions::import::read_table(&bytes, &labels).unwrap();
    assert_eq!(table.format, beian_functions::import::SheetFormat::Xls);
    assert_eq!(table.rows.len(), 3);
    let mut unit = beian_functions::submission::Submission::default();
    for (key, value) in [
        ("unit_name", "内蒙古某某科技有限公司"),
        ("unit_code", "91150100MA0R1B2C8F"),
        ("unit_type", "企业"),
        ("industry", "软件和信息技术服务业"),
        ("division_code", "150102"),
        ("contact_name", "王芳"),
        ("contact_phone", "0471-6945364"),
    ] {
        unit.fields.insert(
            key.into(),
            beian_functions::submission::Value::One(value.into()),
        );
    }
    let report = beian_functions::import::import_rows(
        def,
        "staff",
        &unit,
        &table,
        beian_functions::api::today(),
    );
    assert_eq!(report.problems, vec![]);
    let accepted = report.accepted.expect("all three pass");
    let rows = &accepted.groups["staff"];
    for (row, person) in rows.iter().zip(common::PEOPLE) {
        assert_eq!(row["id_number"].text(), person[1], "every digit kept");
        assert_eq!(row["birth_date"].text(), person[3], "dates read as dates");
    }
}
