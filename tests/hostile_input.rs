//! Hostile input. HTML, script and template text typed into every field of every form come
//! back escaped on the form with its errors, the review page, the confirmation and the
//! receipt, and reach the CSV and XLSX exports as plain text with formulas defused. Oversized
//! bodies, wrong media types, broken multipart, invalid UTF-8 and deeply nested JSON each get
//! a 4xx whose reason, in Chinese, says what to fix; never a 5xx, never a panic.

#[path = "common/api.rs"]
mod api;
#[path = "common/counts.rs"]
mod counts;

use std::io::Cursor;

use api::*;
use beian_functions::api::{ApiRequest, ApiResponse, Settings};
use beian_functions::export;
use beian_functions::forms::{FieldKind, FormDef};
use calamine::{Reader, Xlsx};
use http::{HeaderValue, Method, StatusCode};

/// What an attacker types: each one tried alone in each field.
const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "{{ 7*7 }}{% if true %}TPL-RAN{% endif %}{{ config }}",
    "=HYPERLINK(\"http://evil.example\",\"点我\")",
    "@SUM(1+1)",
];

/// Markup that must never appear in a page built from hostile values.
const LIVE_MARKUP: &[&str] = &[
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "</textarea><script",
];

/// Settings with limits high enough for the hundreds of submissions made here.
fn roomy() -> Settings {
    Settings {
        submit_limit: 100_000,
        receipt_limit: 100_000,
        ..Settings::default()
    }
}

/// Every control's name and field in a form: single fields, and row 0 of each group.
fn names(def: &FormDef) -> Vec<(String, FieldKind)> {
    let mut out: Vec<(String, FieldKind)> = def.fields().map(|f| (f.key.clone(), f.kind)).collect();
    for group in &def.groups {
        for field in &group.fields {
            out.push((format!("{}[0].{}", group.key, field.key), field.kind));
        }
    }
    out
}

/// Every field's example, as the form posts it (one row per group).
fn example_pairs(def: &FormDef) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for field in def.fields() {
        if let Some(example) = &field.example {
            pairs.push((field.key.clone(), example.clone()));
        }
    }
    for group in &def.groups {
        for field in &group.fields {
            if let Some(example) = &field.example {
                pairs.push((format!("{}[0].{}", group.key, field.key), example.clone()));
            }
        }
    }
    pairs
}

/// Panics if `html` carries live markup or evaluated template text from a payload; counts
/// the pages where the payload came back (escaped).
fn assert_escaped(html: &str, payload: &str, what: &str, echoed: &mut usize) {
    for live in LIVE_MARKUP {
        assert!(
            !html.contains(live),
            "{what}: live markup {live:?} in the page"
        );
    }
    if payload.contains(['<', '>', '"', '\'']) {
        assert!(
            !html.contains(payload),
            "{what}: {payload:?} came back unescaped"
        );
        if html.contains(&pages_escape(payload)) {
            *echoed += 1;
        }
    }
    if payload.contains("TPL-RAN") {
        for (at, _) in html.match_indices("TPL-RAN") {
            assert!(
                html[..at].ends_with("%}"),
                "{what}: the template text in a value was run"
            );
        }
        if html.contains("{{ 7*7 }}") {
            *echoed += 1;
        }
    }
}

fn pages_escape(text: &str) -> String {
    beian_functions::pages::escape(text)
}

fn pairs_ref(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn hostile_text_in_every_field_comes_back_escaped_everywhere() {
    let t = TestApp::with_settings(roomy());
    let mut requests = 0usize;
    let mut states = 0usize;
    let mut echoed = 0usize;
    let mut stored = 0usize;
    let ids: Vec<String> = t.app.forms.by_id.keys().cloned().collect();
    for id in &ids {
        let def = t.app.forms.get(id).unwrap().clone();
        let path = format!("/api/forms/{id}");
        let good = example_pairs(&def);
        for (name, kind) in names(&def) {
            for payload in PAYLOADS {
                let what = format!("{id} {name} {payload:?}");
                let mut pairs: Vec<(String, String)> =
                    good.iter().filter(|(k, _)| *k != name).cloned().collect();
                pairs.push((name.clone(), payload.to_string()));
                pairs.push(("_action".into(), "review".into()));

                // The form with its errors, or the review page.
                let r = t.send(form_post(&path, &pairs_ref(&pairs))).await;
                requests += 1;
                let html = text(&r);
                assert!(
                    r.status() == StatusCode::OK || r.status() == StatusCode::UNPROCESSABLE_ENTITY,
                    "{what}: {} {html}",
                    r.status()
                );
                assert_escaped(
                    &html,
                    payload,
                    &format!("{what} (review step)"),
                    &mut echoed,
                );
                states += 1;

                // The same value from a JSON client: JSON back, whatever it says.
                let r = t
                    .send(json_post(&path, &json_body(&def, &name, kind, payload)))
                    .await;
                requests += 1;
                assert!(
                    r.status().is_success() || r.status().is_client_error(),
                    "{what} (JSON): {}",
                    r.status()
                );
                assert!(r.headers()[http::header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"));
                let _ = json(&r);
                if r.status() == StatusCode::CREATED {
                    stored += 1;
                }
                if !html.contains("核对信息") || r.status() == StatusCode::UNPROCESSABLE_ENTITY
                {
                    continue;
                }

                // Accepted: submit from the review page, then the confirmation and receipt.
                let mut hidden = hidden_inputs(&html);
                hidden.retain(|(k, _)| k != "_action");
                hidden.push(("_action".into(), "submit".into()));
                let r = t.send(form_post(&path, &pairs_ref(&hidden))).await;
                requests += 1;
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "{what}: {}", text(&r));
                stored += 1;
                let location = r.headers()[http::header::LOCATION]
                    .to_str()
                    .unwrap()
                    .to_string();
                for (accept, suffix) in [
                    (None, location.as_str()),
                    (
                        Some("application/json"),
                        location.trim_end_matches("?new=1"),
                    ),
                ] {
                    let r = t.send(request(Method::GET, suffix, None, accept, "")).await;
                    requests += 1;
                    assert_eq!(r.status(), StatusCode::OK, "{what}: receipt");
                    if accept.is_none() {
                        assert_escaped(
                            &text(&r),
                            payload,
                            &format!("{what} (confirmation)"),
                            &mut echoed,
                        );
                    } else {
                        let _ = json(&r);
                    }
                    states += 1;
                }
                let plain = location.trim_end_matches("?new=1");
                let r = t.send(request(Method::GET, plain, None, None, "")).await;
                requests += 1;
                assert_escaped(
                    &text(&r),
                    payload,
                    &format!("{what} (receipt)"),
                    &mut echoed,
                );
                states += 1;
            }
        }
    }

    // Exports: every value as plain text, formulas defused, no formula cells.
    let mut cells_checked = 0usize;
    for id in &ids {
        let def = t.app.forms.get(id).unwrap();
        let records = t.records(id).await;
        if records.is_empty() {
            continue;
        }
        let csv = export::to_csv(def, &records).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(&csv[3..]);
        for row in reader.records() {
            for cell in row.unwrap().iter() {
                check_cell(cell, &format!("{id} CSV"));
                cells_checked += 1;
            }
        }
        let xlsx = export::to_xlsx(def, &records).unwrap();
        let mut workbook = Xlsx::new(Cursor::new(xlsx)).unwrap();
        let sheet = workbook.sheet_names()[0].clone();
        let range = workbook.worksheet_range(&sheet).unwrap();
        for cell in range.used_cells() {
            check_cell(&cell.2.to_string(), &format!("{id} XLSX"));
            cells_checked += 1;
        }
        let formulas = workbook
            .worksheet_formula(&sheet)
            .map(|f| f.used_cells().filter(|c| !c.2.is_empty()).count())
            .unwrap_or(0);
        assert_eq!(formulas, 0, "{id}: the XLSX export has formulas");
        states += 2;
    }
    assert!(
        stored > 0,
        "some hostile values are plain text that forms accept"
    );
    assert!(echoed > 0);
    counts::report(&format!(
        "恶意输入：{} 个表单、{} 种写法，{requests} 个请求，{states} 个页面和状态（表单、核对、确认、回执、导出），\
         {echoed} 处回显均已转义，{stored} 份提交进入存储，导出 {cells_checked} 个单元格均为纯文本",
        ids.len(),
        PAYLOADS.len()
    ));
}

/// A cell of an export: a hostile formula comes out with a leading `'`.
fn check_cell(cell: &str, what: &str) {
    for payload in PAYLOADS {
        if cell.contains(payload) && payload.starts_with(['=', '+', '-', '@']) {
            assert!(
                cell.starts_with('\''),
                "{what}: a formula survives: {cell:?}"
            );
        }
    }
    assert!(
        !cell.starts_with(['=', '+', '@']),
        "{what}: a cell starts a formula: {cell:?}"
    );
}

/// A JSON body of the examples with `payload` in the control `name`.
fn json_body(def: &FormDef, name: &str, kind: FieldKind, payload: &str) -> serde_json::Value {
    let value = |k: FieldKind, v: &str| {
        if k == FieldKind::Checkboxes {
            serde_json::json!([v])
        } else {
            serde_json::json!(v)
        }
    };
    let mut fields = serde_json::Map::new();
    for field in def.fields() {
        if let Some(example) = &field.example {
            fields.insert(field.key.clone(), value(field.kind, example));
        }
    }
    let mut groups = serde_json::Map::new();
    for group in &def.groups {
        let mut row = serde_json::Map::new();
        for field in &group.fields {
            if let Some(example) = &field.example {
                row.insert(field.key.clone(), value(field.kind, example));
            }
        }
        groups.insert(group.key.clone(), serde_json::json!([row]));
    }
    match name.split_once("[0].") {
        Some((group, key)) => {
            groups[group][0][key] = value(kind, payload);
        }
        None => {
            fields.insert(name.to_string(), value(kind, payload));
        }
    }
    serde_json::json!({ "fields": fields, "groups": groups })
}

/// Whether a text has a Chinese character (the reason is for people, in Chinese).
fn chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Checks a refusal: the expected 4xx, and a Chinese reason in JSON or on the page.
fn refused(response: &ApiResponse, expected: StatusCode, json_client: bool, what: &str) {
    let body = text(response);
    assert_eq!(response.status(), expected, "{what}: {body}");
    let media = response.headers()[http::header::CONTENT_TYPE]
        .to_str()
        .unwrap();
    // A form's definition is JSON whoever asks; everything else answers as asked.
    assert!(
        json_client == media.starts_with("application/json") || what.starts_with("/api/forms/"),
        "{what}: answered {media}"
    );
    if media.starts_with("application/json") {
        let reason = json(response)["error"].as_str().unwrap_or("").to_string();
        assert!(chinese(&reason), "{what}: no reason in Chinese: {body}");
    } else {
        let reason = body
            .split("<p class=\"message\">")
            .nth(1)
            .and_then(|s| s.split("</p>").next())
            .unwrap_or("");
        assert!(chinese(reason), "{what}: no reason in Chinese on the page");
        for live in LIVE_MARKUP {
            assert!(!body.contains(live), "{what}: live markup in the page");
        }
    }
}

fn post(
    content_type: Option<&str>,
    json_client: bool,
    body: impl Into<bytes::Bytes>,
) -> ApiRequest {
    let accept = if json_client {
        "application/json"
    } else {
        "text/html"
    };
    request(
        Method::POST,
        "/api/forms/bureau-account",
        content_type,
        Some(accept),
        body,
    )
}

#[tokio::test]
async fn broken_bodies_get_a_4xx_with_a_reason() {
    let t = TestApp::with_settings(roomy());
    let max = t.app.settings.max_body_bytes;
    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let deep_in_field = format!("{{\"fields\":{{\"filled_by\":{}", "[".repeat(100_000));
    let many_pairs = "x=1&".repeat(400_000);
    let cases: Vec<(&str, Option<&str>, Vec<u8>, StatusCode)> = vec![
        ("oversized form", Some(FORM), vec![b'a'; max + 1], StatusCode::PAYLOAD_TOO_LARGE),
        ("oversized JSON", Some(JSON), [b"{\"fields\":{\"filled_by\":\"".as_slice(), &vec![b'a'; max], b"\"}}"].concat(), StatusCode::PAYLOAD_TOO_LARGE),
        ("no media type", None, b"filled_by=x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("text/plain", Some("text/plain"), b"filled_by=x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("XML", Some("application/xml"), b"<a>&xxe;</a>".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("media type with markup", Some("text/<script>alert(1)</script>"), b"x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("broken multipart", Some("multipart/form-data; boundary=zzz"), b"--zzz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\r\nPK\x03\x04 truncated".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("multipart without boundary", Some("multipart/form-data"), b"--\r\n".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("raw byte 0xFF in a form", Some(FORM), b"filled_by=\xff\xfe".to_vec(), StatusCode::BAD_REQUEST),
        ("%FF in a form value", Some(FORM), b"filled_by=%FF".to_vec(), StatusCode::BAD_REQUEST),
        ("%FF in a form name", Some(FORM), b"%FF=1".to_vec(), StatusCode::BAD_REQUEST),
        ("overlong UTF-8 in a form", Some(FORM), b"filled_by=%C0%AF".to_vec(), StatusCode::BAD_REQUEST),
        ("GBK bytes in a form", Some(FORM), b"filled_by=\xcd\xf5\xb7\xbc".to_vec(), StatusCode::BAD_REQUEST),
        ("raw byte 0xFF in JSON", Some(JSON), b"{\"fields\":{\"filled_by\":\"\xff\"}}".to_vec(), StatusCode::BAD_REQUEST),
        ("lone surrogate in JSON", Some(JSON), br#"{"fields":{"filled_by":"\ud800"}}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("UTF-16 JSON", Some(JSON), b"\xff\xfe{\x00}\x00".to_vec(), StatusCode::BAD_REQUEST),
        ("100k nested arrays", Some(JSON), deep_array.into_bytes(), StatusCode::BAD_REQUEST),
        ("100k nested objects", Some(JSON), deep_object.into_bytes(), StatusCode::BAD_REQUEST),
        ("100k nested in a field", Some(JSON), deep_in_field.into_bytes(), StatusCode::BAD_REQUEST),
        ("number out of range", Some(JSON), br#"{"fields":{"filled_by":1e400}}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("empty JSON", Some(JSON), Vec::new(), StatusCode::BAD_REQUEST),
        ("JSON array", Some(JSON), b"[]".to_vec(), StatusCode::BAD_REQUEST),
        ("fields not an object", Some(JSON), br#"{"fields":[]}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("unknown JSON key", Some(JSON), br#"{"<script>":1}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("row index out of range", Some(FORM), b"units%5B99999999%5D.region=x".to_vec(), StatusCode::BAD_REQUEST),
        ("a field twice", Some(FORM), b"filled_by=a&filled_by=b".to_vec(), StatusCode::BAD_REQUEST),
        ("honeypot", Some(FORM), b"website=http%3A%2F%2Fspam.example".to_vec(), StatusCode::BAD_REQUEST),
        ("400k unknown names", Some(FORM), many_pairs.into_bytes(), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    let mut requests = 0;
    for (what, content_type, body, expected) in &cases {
        for json_client in [true, false] {
            let started = std::time::Instant::now();
            let response = t.send(post(*content_type, json_client, body.clone())).await;
            requests += 1;
            if *expected == StatusCode::UNPROCESSABLE_ENTITY {
                assert_eq!(response.status(), *expected, "{what}");
            } else {
                refused(&response, *expected, json_client, what);
            }
            // The reason names the problem, not just that there is one.
            let says = match *what {
                w if w.starts_with("oversized") => "MB",
                w if w.contains("UTF")
                    || w.contains("0xFF")
                    || w.contains("%FF")
                    || w.contains("GBK") =>
                {
                    "UTF-8"
                }
                w if w.contains("nested") => "嵌套",
                "no media type" => "Content-Type",
                w if *expected == StatusCode::UNSUPPORTED_MEDIA_TYPE && !w.is_empty() => "内容类型",
                "lone surrogate in JSON" => "转义",
                "number out of range" => "超出范围",
                "empty JSON" => "空的",
                _ => "",
            };
            assert!(
                text(&response).contains(says),
                "{what}: the reason should say {says:?}: {}",
                text(&response)
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{what}: took {:?}",
                started.elapsed()
            );
        }
    }

    // Headers and paths: a malformed idempotency key, hostile form ids and references.
    let mut key = json_post("/api/forms/bureau-account", &serde_json::json!({}));
    key.headers.insert(
        "idempotency-key",
        HeaderValue::from_bytes(b"\xe4\xb8\xad key").unwrap(),
    );
    refused(
        &t.send(key).await,
        StatusCode::BAD_REQUEST,
        true,
        "a key in Chinese",
    );
    requests += 1;
    for (json_client, path) in [
        (false, "/api/forms/%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        (false, "/api/forms/<script>alert(1)</script>"),
        (true, "/api/forms/<script>alert(1)</script>"),
        (false, "/api/receipts/<img src=x onerror=alert(1)>"),
        (
            false,
            "/api/receipts/lookup?reference=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ),
        (false, "/api/<script>alert(1)</script>"),
    ] {
        let accept = if json_client {
            "application/json"
        } else {
            "text/html"
        };
        let response = t
            .send(request(Method::GET, path, None, Some(accept), ""))
            .await;
        requests += 1;
        refused(&response, StatusCode::NOT_FOUND, json_client, path);
    }
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let response = t
            .send(request(
                method.clone(),
                "/api/forms/bureau-account",
                None,
                Some("application/json"),
                "",
            ))
            .await;
        requests += 1;
        refused(
            &response,
            StatusCode::METHOD_NOT_ALLOWED,
            true,
            method.as_str(),
        );
    }
    assert!(
        t.records("bureau-account").await.is_empty(),
        "nothing broken is stored"
    );
    counts::report(&format!(
        "坏请求：{} 种坏请求体、{requests} 个请求，均为 4xx 并附中文原因，没有 5xx，没有保存任何内容",
        cases.len()
    ));
}
