//! The form handlers as people and clients use them: mistakes explained, review, submit,
//! receipt; idempotency, staff stamps, exemptions, abuse limits, and bad input that never
//! gives a 5xx or stores anything.

#[path = "common/api.rs"]
mod api;

use api::*;
use beian_functions::api::Settings;
use beian_functions::forms::FormDef;
use beian_functions::store::{Channel, Store};
use http::{Method, StatusCode};
use sha2::Digest;

/// Every field's `example`, as a browser would post it (one row per group).
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

fn with(pairs: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = pairs.to_vec();
    for (k, v) in extra {
        all.retain(|(key, _)| key != k);
        all.push((k.to_string(), v.to_string()));
    }
    all
}

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn a_person_can_make_mistakes_fix_them_review_submit_and_get_a_receipt() {
    let t = TestApp::new();
    for id in [
        "bureau-account",
        "community-account",
        "annual-pay",
        "staff-filing",
    ] {
        let def = t.app.forms.get(id).unwrap().clone();
        let path = format!("/api/forms/{id}");
        let good = example_pairs(&def);

        // A mistake in a code field: the page comes back with the summary, the message
        // beside the field and every value kept.
        let (bad_key, bad_value) = match id {
            "staff-filing" => ("staff[0].id_number", "150102198503159990"),
            "annual-pay" => ("unit_code", "9115O100MA0R1B2C8F"),
            _ => ("units[0].division_code", "999999"),
        };
        let mistaken = with(&good, &[(bad_key, bad_value), ("_action", "review")]);
        let response = t.send(form_post(&path, &as_refs(&mistaken))).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        let html = text(&response);
        assert!(
            html.contains("class=\"error-summary\""),
            "{id}: no error summary"
        );
        let target = format!(
            "href=\"#f-{}\"",
            bad_key
                .replace('[', "-")
                .replace("].", "-")
                .replace('.', "-")
        );
        assert!(
            html.contains(&target),
            "{id}: the summary does not link to {bad_key}: {target}"
        );
        assert!(
            html.contains("class=\"field__error\""),
            "{id}: no message beside the field"
        );
        assert!(
            html.contains(&format!("value=\"{bad_value}\"")),
            "{id}: the wrong value was not kept"
        );
        assert!(
            t.records(id).await.is_empty(),
            "{id}: a rejected request stored something"
        );

        // Fixed: the review page lists the answers and carries them to the final submit.
        let review = t
            .send(form_post(
                &path,
                &as_refs(&with(&good, &[("_action", "review")])),
            ))
            .await;
        assert_eq!(review.status(), StatusCode::OK, "{id}: {}", text(&review));
        let review_html = text(&review);
        assert!(
            review_html.contains("核对信息"),
            "{id}: not the review page"
        );
        let mut hidden = hidden_inputs(&review_html);
        assert!(
            hidden.iter().any(|(k, v)| k == "_idem" && !v.is_empty()),
            "{id}: no idempotency key"
        );
        assert!(
            t.records(id).await.is_empty(),
            "{id}: the review step stored something"
        );

        hidden.push(("_action".into(), "submit".into()));
        let submitted = t.send(form_post(&path, &as_refs(&hidden))).await;
        assert_eq!(
            submitted.status(),
            StatusCode::SEE_OTHER,
            "{id}: {}",
            text(&submitted)
        );
        let location = submitted.headers()["location"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            location.starts_with("/api/receipts/") && location.ends_with("?new=1"),
            "{location}"
        );

        // The confirmation shows the reference and a masked summary.
        let receipt = t
            .send(request(Method::GET, &location, None, Some("text/html"), ""))
            .await;
        assert_eq!(receipt.status(), StatusCode::OK);
        let receipt_html = text(&receipt);
        assert!(receipt_html.contains("提交成功"));
        let records = t.records(id).await;
        assert_eq!(records.len(), 1, "{id}");
        let record = &records[0];
        assert!(receipt_html.contains(&record.reference));
        if id == "staff-filing" {
            assert!(
                !receipt_html.contains("150102198503159994"),
                "full ID on the receipt"
            );
            assert!(
                receipt_html.contains("150102********9994"),
                "masked ID missing"
            );
        }
        for (key, value) in &good {
            if key.contains("phone") || key.contains("mobile") || key.ends_with("id_number") {
                assert!(
                    !receipt_html.contains(value.as_str()),
                    "{id}: {key} shown in full on the receipt"
                );
            }
        }

        // The record carries its audit stamp.
        let stamp = &record.audit;
        assert_eq!(stamp.channel, Channel::Online);
        assert_eq!(stamp.agency, Settings::default().public_agency);
        assert!(stamp.time.ends_with("+08:00"), "{}", stamp.time);
        assert_eq!(stamp.request_id, "test-request");
        assert_eq!(stamp.source_ip, "127.0.0.1");
        assert_eq!(stamp.form_version, def.version);
        let digest = sha2::Sha256::digest(serde_json::to_vec(&record.data).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(stamp.content_sha256, hex);
    }
}

#[tokio::test]
async fn a_double_clicked_submit_stores_once() {
    let t = TestApp::new();
    let def = t.app.forms.get("annual-pay").unwrap().clone();
    let review = t
        .send(form_post(
            "/api/forms/annual-pay",
            &as_refs(&example_pairs(&def)),
        ))
        .await;
    let mut hidden = hidden_inputs(&text(&review));
    hidden.push(("_action".into(), "submit".into()));
    let first = t
        .send(form_post("/api/forms/annual-pay", &as_refs(&hidden)))
        .await;
    let second = t
        .send(form_post("/api/forms/annual-pay", &as_refs(&hidden)))
        .await;
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    assert_eq!(t.records("annual-pay").await.len(), 1);
}

#[tokio::test]
async fn json_clients_get_201_422_and_idempotent_replays() {
    let t = TestApp::new();
    let body = serde_json::json!({ "fields": { "name": "张三", "phone": "138 0000 0000", "id_number": "110101199003071233" } });
    let mut first = json_post("/api/forms/signup", &body);
    first
        .headers
        .insert("idempotency-key", "abc-123".parse().unwrap());
    let created = t.send(first.clone()).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", text(&created));
    let reference = json(&created)["reference"].as_str().unwrap().to_string();
    let again = t.send(first).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json(&again)["reference"], reference.as_str());
    assert_eq!(t.records("signup").await.len(), 1);

    let stored = t.store.get(&reference).await.unwrap().unwrap();
    assert_eq!(stored.data["fields"]["phone"], "13800000000");
    assert_eq!(stored.data["fields"]["id_number"], "110101199003071233");

    let invalid = t
        .send(json_post(
            "/api/forms/signup",
            &serde_json::json!({ "fields": { "name": "", "phone": "12345" } }),
        ))
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = json(&invalid)["errors"].as_array().unwrap().clone();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "phone"]);
    assert!(errors[0]["message"].as_str().unwrap().contains("姓名"));

    let receipt = t
        .send(request(
            Method::GET,
            &format!("/api/receipts/{reference}"),
            None,
            Some("application/json"),
            "",
        ))
        .await;
    let receipt = json(&receipt);
    assert_eq!(receipt["status"], "已受理");
    let shown = receipt.to_string();
    assert!(
        !shown.contains("13800000000") && !shown.contains("110101199003071233"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_idempotency_key_never_hands_out_another_submissions_reference() {
    let t = TestApp::new();
    let keyed = |path: &str, body: serde_json::Value| {
        let mut post = json_post(path, &body);
        post.headers
            .insert("idempotency-key", "order-1".parse().unwrap());
        post
    };
    let first = t
        .send(keyed(
            "/api/forms/signup",
            serde_json::json!({ "fields": { "name": "甲" } }),
        ))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let changed = t
        .send(keyed(
            "/api/forms/signup",
            serde_json::json!({ "fields": { "name": "乙" } }),
        ))
        .await;
    assert_eq!(changed.status(), StatusCode::CONFLICT, "{}", text(&changed));
    let def = t.app.forms.get("annual-pay").unwrap().clone();
    let mut fields = serde_json::Map::new();
    for field in def.fields() {
        fields.insert(
            field.key.clone(),
            serde_json::json!(field.example.clone().unwrap_or_default()),
        );
    }
    let other_form = t
        .send(keyed(
            "/api/forms/annual-pay",
            serde_json::json!({ "fields": fields }),
        ))
        .await;
    assert_eq!(
        other_form.status(),
        StatusCode::CREATED,
        "{}",
        text(&other_form)
    );
    assert_ne!(json(&other_form)["reference"], json(&first)["reference"]);
    assert_eq!(t.records("signup").await.len(), 1);
    assert_eq!(t.records("annual-pay").await.len(), 1);
}

#[tokio::test]
async fn staff_submissions_carry_the_authenticated_agency_and_handler() {
    let t = TestApp::new();
    let body = serde_json::json!({ "fields": { "name": "李四" } });
    let anonymous = t.send(json_post("/api/staff/forms/signup", &body)).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let mut signed_in = json_post("/api/staff/forms/signup", &body);
    signed_in.identity = Some(staff());
    let created = t.send(signed_in).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", text(&created));
    let record = t.records("signup").await.pop().unwrap();
    assert_eq!(record.audit.channel, Channel::Counter);
    assert_eq!(record.audit.agency, "新城区人力资源和社会保障局");
    assert_eq!(record.audit.handler, "赵经办");
}

#[tokio::test]
async fn government_organs_are_told_they_are_exempt_from_the_pay_report() {
    let t = TestApp::new();
    let def = t.app.forms.get("annual-pay").unwrap().clone();
    let pairs = with(
        &example_pairs(&def),
        &[("unit_type", "机关"), ("_action", "submit")],
    );
    let response = t
        .send(form_post("/api/forms/annual-pay", &as_refs(&pairs)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(&response).contains("不必填报"));
    assert!(t.records("annual-pay").await.is_empty());
}

#[tokio::test]
async fn bots_filling_the_honeypot_are_turned_away() {
    let t = TestApp::new();
    let response = t
        .send(form_post(
            "/api/forms/signup",
            &[
                ("name", "张三"),
                ("website", "http://spam.example"),
                ("_action", "submit"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(t.records("signup").await.is_empty());
}

#[tokio::test]
async fn too_many_submissions_from_one_address_are_refused_with_a_time_to_retry() {
    let t = TestApp::with_settings(Settings {
        submit_limit: 2,
        receipt_limit: 2,
        ..Settings::default()
    });
    for _ in 0..2 {
        let ok = t
            .send(json_post(
                "/api/forms/signup",
                &serde_json::json!({ "fields": { "name": "张三" } }),
            ))
            .await;
        assert_eq!(ok.status(), StatusCode::CREATED);
    }
    let refused = t
        .send(json_post(
            "/api/forms/signup",
            &serde_json::json!({ "fields": { "name": "张三" } }),
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(json(&refused)["error"]
        .as_str()
        .unwrap()
        .contains("分钟后再试"));
    assert_eq!(t.records("signup").await.len(), 2);

    let mut other = json_post(
        "/api/forms/signup",
        &serde_json::json!({ "fields": { "name": "王五" } }),
    );
    other.source_ip = "10.9.8.7".into();
    assert_eq!(
        t.send(other).await.status(),
        StatusCode::CREATED,
        "another address is not limited"
    );

    for _ in 0..2 {
        t.send(request(
            Method::GET,
            "/api/receipts/AAAA-AAAA-AAAA",
            None,
            Some("application/json"),
            "",
        ))
        .await;
    }
    let limited = t
        .send(request(
            Method::GET,
            "/api/receipts/AAAA-AAAA-AAAA",
            None,
            Some("application/json"),
            "",
        ))
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn rows_can_be_added_and_removed_without_javascript() {
    let t = TestApp::new();
    let add = t
        .send(form_post(
            "/api/forms/bureau-account",
            &[
                ("units[0].region", "呼和浩特市"),
                ("_action", "add_row:units"),
            ],
        ))
        .await;
    assert_eq!(add.status(), StatusCode::OK);
    let html = text(&add);
    assert!(html.contains("第 2 个单位") && html.contains("value=\"呼和浩特市\""));
    let remove = t
        .send(form_post(
            "/api/forms/bureau-account",
            &[
                ("units[0].region", "甲"),
                ("units[1].region", "乙"),
                ("_action", "remove_row:units:0"),
            ],
        ))
        .await;
    let html = text(&remove);
    assert!(html.contains("value=\"乙\"") && !html.contains("value=\"甲\""));
}

#[tokio::test]
async fn c14_repeated_fields_and_plus_signs() {
    let t = TestApp::new();
    let body = "name=%E5%BC%A0+%E4%B8%89&skills=Excel&skills=Word&_action=submit";
    let response = t
        .send(request(
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            Some("application/json"),
            body,
        ))
        .await;
    // `Accept: application/json` with a form body: a JSON answer.
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        text(&response)
    );
    let reference = json(&response)["reference"].as_str().unwrap().to_string();
    let record = t.store.get(&reference).await.unwrap().unwrap();
    assert_eq!(record.data["fields"]["name"], "张 三");
    assert_eq!(
        record.data["fields"]["skills"],
        serde_json::json!(["Excel", "Word"])
    );

    let none = t
        .send(request(
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            Some("application/json"),
            "name=%E6%9D%8E%E5%9B%9B",
        ))
        .await;
    assert_eq!(none.status(), StatusCode::CREATED, "{}", text(&none));
    let record = t
        .store
        .get(json(&none)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data["fields"]["skills"], serde_json::json!([]));

    let twice = t
        .send(request(
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            Some("application/json"),
            "name=a&name=b",
        ))
        .await;
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    assert!(json(&twice)["error"].as_str().unwrap().contains("姓名"));
}

#[tokio::test]
async fn c25_an_item_over_400_kb_of_chinese_is_refused_before_storing() {
    let t = TestApp::new();
    let big = serde_json::json!({ "fields": { "name": "张三", "remark": "备".repeat(140_000) } });
    let refused = t.send(json_post("/api/forms/signup", &big)).await;
    assert_eq!(
        refused.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        text(&refused)
    );
    assert!(json(&refused)["error"]
        .as_str()
        .unwrap()
        .contains("备注过长"));
    assert!(t.records("signup").await.is_empty());

    let fits = serde_json::json!({ "fields": { "name": "张三", "remark": "备".repeat(130_000) } });
    let stored = t.send(json_post("/api/forms/signup", &fits)).await;
    assert_eq!(stored.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn c23_c26_empty_optional_fields_are_omitted_and_numbers_stay_text() {
    let t = TestApp::new();
    let body = serde_json::json!({ "fields": { "name": "张三", "dept": "", "landline": "01088886666", "id_number": "110101199003071233" } });
    let created = t.send(json_post("/api/forms/signup", &body)).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", text(&created));
    let record = t
        .store
        .get(json(&created)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        record.data["fields"].get("dept").is_none(),
        "an empty optional field is omitted"
    );
    assert_eq!(record.data["fields"]["landline"], "010-88886666");
    assert_eq!(record.data["fields"]["id_number"], "110101199003071233");

    let huge = serde_json::json!({ "fields": { "name": "张三", "count": "12345678901234567890123456789012345678901" } });
    let rejected = t.send(json_post("/api/forms/signup", &huge)).await;
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let as_number = t
        .send(request(
            Method::POST,
            "/api/forms/signup",
            Some("application/json"),
            Some("application/json"),
            r#"{"fields":{"name":"张三","id_number":110101199003071233}}"#,
        ))
        .await;
    assert_eq!(
        as_number.status(),
        StatusCode::BAD_REQUEST,
        "an ID sent as a JSON number must not be stored"
    );
    let required_empty = t
        .send(json_post(
            "/api/forms/signup",
            &serde_json::json!({ "fields": { "name": "" } }),
        ))
        .await;
    assert_eq!(required_empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.records("signup").await.len(), 1);
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_with_a_reason_and_never_a_5xx() {
    let t = TestApp::new();
    let deep = "[".repeat(10_000);
    let cases: Vec<(Method, &str, Option<&str>, Vec<u8>)> = vec![
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            b"name=%FF%FE".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            vec![0xff, 0xfe, b'=', 0x80],
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/json"),
            deep.into_bytes(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/json"),
            b"{\"fields\": 5}".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/json"),
            b"not json".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("text/plain"),
            b"name=x".to_vec(),
        ),
        (Method::POST, "/api/forms/signup", None, b"name=x".to_vec()),
        (
            Method::POST,
            "/api/forms/signup",
            Some("multipart/form-data; boundary=x"),
            b"--x\r\nbroken".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            vec![b'a'; 3 * 1024 * 1024],
        ),
        (
            Method::POST,
            "/api/forms/nope",
            Some("application/json"),
            b"{}".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/signup",
            Some("application/x-www-form-urlencoded"),
            b"units[99999999999].x=1&zzz=1".to_vec(),
        ),
        (
            Method::POST,
            "/api/forms/bureau-account",
            Some("application/x-www-form-urlencoded"),
            b"units[99999].region=1".to_vec(),
        ),
        (Method::DELETE, "/api/forms/signup", None, Vec::new()),
        (Method::GET, "/api/receipts/%FF%FE", None, Vec::new()),
        (Method::GET, "/api/receipts/<script>", None, Vec::new()),
        (Method::GET, "/api/nothing/here", None, Vec::new()),
        (Method::GET, "/api/forms/../../etc/passwd", None, Vec::new()),
    ];
    for (method, path, content_type, body) in cases {
        let response = t
            .send(request(method.clone(), path, content_type, None, body))
            .await;
        let status = response.status();
        assert!(
            status.is_client_error(),
            "{method} {path} {content_type:?}: {status}"
        );
        let shown = text(&response);
        assert!(!shown.contains("<script>"), "unescaped input in {path}");
    }
    assert!(t.records("signup").await.is_empty());
}

#[tokio::test]
async fn html_and_script_in_every_field_come_back_escaped() {
    let t = TestApp::new();
    let attack = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";
    let response = t
        .send(form_post(
            "/api/forms/signup",
            &[("name", attack), ("dept", attack), ("remark", attack)],
        ))
        .await;
    let html = text(&response);
    assert!(
        !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_submissions_store_two_hundred_records() {
    let t = std::sync::Arc::new(TestApp::with_settings(Settings {
        submit_limit: 1000,
        ..Settings::default()
    }));
    let mut tasks = Vec::new();
    for n in 0..200 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let digits: String = format!("{n:03}")
                .chars()
                .map(|d| {
                    "零一二三四五六七八九"
                        .chars()
                        .nth(d as usize - '0' as usize)
                        .unwrap()
                })
                .collect();
            let mut post = json_post(
                "/api/forms/signup",
                &serde_json::json!({ "fields": { "name": format!("职工{digits}") } }),
            );
            post.headers
                .insert("idempotency-key", format!("key-{n}").parse().unwrap());
            let response = t.send(post).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            json(&response)["reference"].as_str().unwrap().to_string()
        }));
    }
    let mut references = std::collections::HashSet::new();
    for task in tasks {
        references.insert(task.await.unwrap());
    }
    assert_eq!(references.len(), 200);
    let records = t.records("signup").await;
    assert_eq!(records.len(), 200);
    let names: std::collections::HashSet<_> = records
        .iter()
        .map(|r| r.data["fields"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 200, "a record was doubled or lost");
}

#[tokio::test]
async fn records_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("beian.redb");
    let reference = {
        let store = std::sync::Arc::new(
            beian_functions::store::embedded::EmbeddedStore::open(&path).unwrap(),
        );
        let app = beian_functions::api::App {
            forms: std::sync::Arc::new(forms(dir.path())),
            store,
            settings: Settings::default(),
            routes: None,
        };
        let created = app
            .handle(json_post(
                "/api/forms/signup",
                &serde_json::json!({ "fields": { "name": "张三" } }),
            ))
            .await;
        json(&created)["reference"].as_str().unwrap().to_string()
    };
    let reopened = beian_functions::store::embedded::EmbeddedStore::open(&path).unwrap();
    assert!(reopened.get(&reference).await.unwrap().is_some());
}

#[tokio::test]
async fn invisible_characters_do_not_fill_a_required_field() {
    let t = TestApp::new();
    for invisible in ["\u{200B}", "\u{2060}\u{200E}", "\u{00AD}", " \u{202E} "] {
        let response = t
            .send(json_post(
                "/api/forms/signup",
                &serde_json::json!({ "fields": { "name": invisible } }),
            ))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{invisible:?}"
        );
    }
    let response = t
        .send(json_post(
            "/api/forms/signup",
            &serde_json::json!({ "fields": { "name": "王\u{200B}芳", "dept": "研\u{202E}发" } }),
        ))
        .await;
    let record = t
        .store
        .get(json(&response)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data["fields"]["name"], "王芳");
    assert_eq!(record.data["fields"]["dept"], "研发");
}

#[tokio::test]
async fn staff_can_accept_a_real_code_failing_its_check_character_with_a_reason() {
    let t = TestApp::new();
    let def = t.app.forms.get("annual-pay").unwrap().clone();
    let mut fields = serde_json::Map::new();
    for field in def.fields() {
        fields.insert(
            field.key.clone(),
            serde_json::json!(field.example.clone().unwrap_or_default()),
        );
    }
    fields.insert("unit_code".into(), serde_json::json!("91150100MA0R1B2C8A"));
    let body = serde_json::json!({ "fields": fields, "overrides": { "unit_code": "已核对营业执照原件，代码与执照一致" } });

    // The public cannot override: the reason is dropped and the code refused.
    let public = t.send(json_post("/api/forms/annual-pay", &body)).await;
    assert_eq!(public.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let mut staff_post = json_post("/api/staff/forms/annual-pay", &body);
    staff_post.identity = Some(staff());
    let created = t.send(staff_post).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", text(&created));
    let record = t
        .store
        .get(json(&created)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data["fields"]["unit_code"], "91150100MA0R1B2C8A");
    assert_eq!(record.data["overrides"][0]["field"], "unit_code");
    assert_eq!(
        record.data["overrides"][0]["message"],
        "已核对营业执照原件，代码与执照一致"
    );
    assert_eq!(record.audit.handler, "赵经办");

    // Without a reason, or for a code with a letter not allowed, staff are refused too.
    let mut no_reason = json_post(
        "/api/staff/forms/annual-pay",
        &serde_json::json!({ "fields": fields }),
    );
    no_reason.identity = Some(staff());
    assert_eq!(
        t.send(no_reason).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut bad = fields.clone();
    bad.insert("unit_code".into(), serde_json::json!("9115O100MA0R1B2C8F"));
    let mut bad_post = json_post(
        "/api/staff/forms/annual-pay",
        &serde_json::json!({ "fields": bad, "overrides": { "unit_code": "已核对营业执照原件" } }),
    );
    bad_post.identity = Some(staff());
    assert_eq!(
        t.send(bad_post).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// A receipt link keeps working with the parameters a shared link picks up, says 提交成功
/// only for `new=1`, and a `new` or a typed reference that cannot be right gets a 400 that
/// says what is wrong (as the API description gives the parameters).
#[tokio::test]
async fn receipt_links_take_tracking_parameters_and_refuse_impossible_ones() {
    let t = TestApp::new();
    let body = serde_json::json!({ "fields": { "name": "张三", "phone": "13800000000", "id_number": "110101199003071233" } });
    let created = t.send(json_post("/api/forms/signup", &body)).await;
    assert_eq!(created.status(), StatusCode::CREATED, "{}", text(&created));
    let reference = json(&created)["reference"].as_str().unwrap().to_string();

    let shared = t
        .get(
            &format!("/api/receipts/{reference}?from=singlemessage&new=1"),
            "text/html",
        )
        .await;
    assert_eq!(shared.status(), StatusCode::OK);
    assert!(text(&shared).contains("提交成功"));
    let later = t
        .get(
            &format!("/api/receipts/{reference}?from=timeline"),
            "text/html",
        )
        .await;
    assert_eq!(later.status(), StatusCode::OK);
    assert!(!text(&later).contains("提交成功"));

    let odd_new = t
        .get(&format!("/api/receipts/{reference}?new="), "text/html")
        .await;
    assert_eq!(odd_new.status(), StatusCode::BAD_REQUEST);
    assert!(text(&odd_new).contains("参数 new 只能是 1"));
    let long = "0".repeat(101);
    for path in [
        format!("/api/receipts/{reference}?reference={long}"),
        format!("/api/receipts/lookup?reference={long}"),
    ] {
        let response = t.get(&path, "application/json").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(json(&response)["error"]
            .as_str()
            .unwrap()
            .contains("受理编号太长"));
    }
}
