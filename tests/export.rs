//! Staff exports: every submission, CSV with a BOM or XLSX, one line per group row, and no
//! cell that a spreadsheet would run as a formula.

#[path = "common/api.rs"]
mod api;

use std::io::Cursor;

use api::*;
use beian_functions::export;
use beian_functions::store::Store;
use calamine::{Reader, Xlsx};
use http::StatusCode;

#[tokio::test]
async fn exports_every_submission_with_formulas_defused() {
    let t = TestApp::new();
    for (name, dept) in [
        ("张三", "=HYPERLINK(\"http://evil.example\")"),
        ("李四", "+1+2"),
        ("王五", "@SUM(A1)"),
        ("赵六", "研发"),
    ] {
        let body = serde_json::json!({ "fields": { "name": name, "dept": dept, "id_number": "11010119900307123X".replace('X', "3") } });
        assert_eq!(
            t.send(json_post("/api/forms/signup", &body)).await.status(),
            StatusCode::CREATED
        );
    }
    let def = t.app.forms.get("signup").unwrap();
    let records = t.store.list("signup", None).await.unwrap();
    assert_eq!(records.len(), 4);

    let csv = export::to_csv(def, &records).unwrap();
    assert_eq!(
        &csv[..3],
        &[0xEF, 0xBB, 0xBF],
        "Excel needs the BOM to read UTF-8"
    );
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers[0], "受理编号");
    assert!(headers.contains(&"经办机构".to_string()) && headers.contains(&"部门".to_string()));
    let dept = headers.iter().position(|h| h == "部门").unwrap();
    let id = headers.iter().position(|h| h == "身份证号").unwrap();
    let cells: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(cells.len(), 4);
    for line in &cells {
        let first = line[dept].chars().next().unwrap();
        assert!(
            !matches!(first, '=' | '+' | '-' | '@'),
            "a formula survives: {}",
            line[dept]
        );
        assert_eq!(line[id], "110101199003071233", "the ID keeps every digit");
    }

    let xlsx = export::to_xlsx(def, &records).unwrap();
    let mut workbook = Xlsx::new(Cursor::new(xlsx)).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.height(), 5);
    for row in range.rows().skip(1) {
        let value = row[dept].to_string();
        assert!(
            !value.starts_with('=') && !value.starts_with('+') && !value.starts_with('@'),
            "{value}"
        );
        assert_eq!(row[id].to_string(), "110101199003071233");
    }
    assert!(
        workbook
            .worksheet_formula("导出")
            .map(|f| f.used_cells().count())
            .unwrap_or(0)
            == 0,
        "no formulas in the export"
    );
}

#[tokio::test]
async fn forms_with_rows_export_one_line_per_row() {
    let t = TestApp::new();
    let def = t.app.forms.get("bureau-account").unwrap().clone();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for field in def.fields() {
        pairs.push((field.key.clone(), field.example.clone().unwrap_or_default()));
    }
    for row in 0..3 {
        for field in &def.groups[0].fields {
            pairs.push((
                format!("units[{row}].{}", field.key),
                field.example.clone().unwrap_or_default(),
            ));
        }
    }
    pairs.push(("_action".into(), "submit".into()));
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let response = t.send(form_post("/api/forms/bureau-account", &refs)).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
    let records = t.store.list("bureau-account", None).await.unwrap();
    let (headers, lines) = export::table(&def, &records);
    assert_eq!(lines.len(), 3);
    assert!(headers.iter().any(|h| h == "单位：行政区划代码"));
    assert!(lines.iter().all(|l| l[0] == records[0].reference));

    // Stamps are in China time, so "tomorrow" is China's tomorrow.
    let since_tomorrow = (beian_functions::api::today() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let since_today = beian_functions::api::today().format("%Y-%m-%d").to_string();
    assert_eq!(
        t.store
            .list("bureau-account", Some(&since_today))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(t
        .store
        .list("bureau-account", Some(&since_tomorrow))
        .await
        .unwrap()
        .is_empty());
}
