//! Requests as API Gateway really sends them (C10, C13, C14, staff JWT claims): real event
//! documents go through `lambda_http`'s own parsing, then our adapter, then the handlers.

#[path = "common/api.rs"]
mod api;

use api::*;
use base64::Engine as _;
use beian_functions::lambda::{to_api_request, to_lambda_response};
use beian_functions::store::{Channel, Store};
use serde_json::{json, Value};

fn event(name: &str) -> Value {
    let path = repo().join("tests/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with_body(mut event: Value, body: &str, base64: bool) -> Value {
    event["body"] = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(body)
    };
    event["isBase64Encoded"] = json!(base64);
    event
}

async fn invoke(t: &TestApp, event: &Value) -> lambda_http::Response<lambda_http::Body> {
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http reads the event");
    to_lambda_response(t.app.handle(to_api_request(request)).await)
}

fn body_json(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("not a text body: {other:?}"),
    }
}

const FORM: &str =
    "bmFtZT0lRTUlQkMlQTAlRTQlQjglODkmZGVwdD0lRTclQTAlOTQlRTUlOEYlOTEmcGhvbmU9MTM4MDAwMDAwMDA=";

#[tokio::test]
async fn c10_stage_prefixes_never_hide_the_route() {
    let t = TestApp::new();
    let form = "name=%E5%BC%A0%E4%B8%89";
    // (a) REST v1: path without the stage, stage `prod` (lambda_http adds it to the URI).
    let mut rest = with_body(event("rest-api-v1.json"), form, false);
    rest["path"] = json!("/api/forms/signup");
    // (b) HTTP API v2 with a named stage: rawPath carries it.
    let mut named = with_body(event("http-api-v2.json"), form, false);
    named["rawPath"] = json!("/prod/api/forms/signup");
    named["requestContext"]["stage"] = json!("prod");
    // (c) HTTP API v2, `$default` stage.
    let default = with_body(event("http-api-v2.json"), form, false);
    for (name, event) in [
        ("rest v1", rest),
        ("v2 prod", named),
        ("v2 $default", default),
    ] {
        let response = invoke(&t, &event).await;
        assert_eq!(response.status(), 201, "{name}: {:?}", response.body());
    }
    assert_eq!(t.store.list("signup", None).await.unwrap().len(), 3);

    // A doubled stage is not a route.
    let mut doubled = with_body(event("http-api-v2.json"), form, false);
    doubled["rawPath"] = json!("/prod/prod/api/forms/signup");
    doubled["requestContext"]["stage"] = json!("prod");
    assert_eq!(invoke(&t, &doubled).await.status(), 404);
}

#[tokio::test]
async fn c13_base64_form_bodies_read_the_same_as_plain_ones() {
    let t = TestApp::new();
    let plain = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(FORM)
            .unwrap(),
    )
    .unwrap();
    let encoded = invoke(&t, &with_body(event("http-api-v2.json"), &plain, true)).await;
    let unencoded = invoke(&t, &with_body(event("http-api-v2.json"), &plain, false)).await;
    assert_eq!(encoded.status(), 201);
    assert_eq!(unencoded.status(), 201);
    let a = t
        .store
        .get(body_json(&encoded)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let b = t
        .store
        .get(body_json(&unencoded)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.data, b.data);
    assert_eq!(a.data["fields"]["name"], "张三");
    assert_eq!(a.data["fields"]["dept"], "研发");
    assert_eq!(a.data["fields"]["phone"], "13800000000");
    assert_eq!(a.audit.source_ip, "203.0.113.7");
    assert_eq!(a.audit.request_id, "JKJaXmPLvHcESHA=");
}

#[tokio::test]
async fn c14_repeated_keys_in_an_event_body() {
    let t = TestApp::new();
    let response = invoke(
        &t,
        &with_body(
            event("rest-api-v1.json"),
            "name=%E5%BC%A0+%E4%B8%89&skills=Excel&skills=Word",
            false,
        ),
    )
    .await;
    assert_eq!(response.status(), 201);
    let record = t
        .store
        .get(body_json(&response)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data["fields"]["skills"], json!(["Excel", "Word"]));
    assert_eq!(record.audit.source_ip, "203.0.113.9");
    let twice = invoke(
        &t,
        &with_body(event("rest-api-v1.json"), "name=a&name=b", false),
    )
    .await;
    assert_eq!(twice.status(), 400);
    assert!(body_json(&twice)["error"]
        .as_str()
        .unwrap()
        .contains("姓名"));
}

#[tokio::test]
async fn staff_identity_comes_from_the_jwt_claims_not_the_form() {
    let t = TestApp::new();
    let mut staff_event = with_body(event("http-api-v2.json"), "name=%E6%9D%8E%E5%9B%9B", false);
    staff_event["rawPath"] = json!("/api/staff/forms/signup");
    staff_event["requestContext"]["authorizer"] = json!({
        "jwt": { "claims": { "custom:agency": "新城区人力资源和社会保障局", "name": "赵经办", "sub": "u-1" }, "scopes": null }
    });
    let response = invoke(&t, &staff_event).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let record = t
        .store
        .get(body_json(&response)["reference"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.audit.channel, Channel::Counter);
    assert_eq!(record.audit.agency, "新城区人力资源和社会保障局");
    assert_eq!(record.audit.handler, "赵经办");

    let mut no_claims = staff_event.clone();
    no_claims["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    assert_eq!(invoke(&t, &no_claims).await.status(), 401);
}

#[tokio::test]
async fn oversized_and_broken_event_bodies_get_a_4xx() {
    let t = TestApp::new();
    let huge = "a".repeat(3 * 1024 * 1024);
    assert_eq!(
        invoke(&t, &with_body(event("http-api-v2.json"), &huge, false))
            .await
            .status(),
        413
    );
    let mut broken = with_body(event("http-api-v2.json"), "--x\r\n", false);
    broken["headers"]["content-type"] = json!("multipart/form-data; boundary=x");
    assert_eq!(invoke(&t, &broken).await.status(), 415);
    let mut get = event("http-api-v2.json");
    get["rawPath"] = json!("/api/forms/staff-filing");
    get["requestContext"]["http"]["method"] = json!("GET");
    let definition = invoke(&t, &get).await;
    assert_eq!(definition.status(), 200);
    assert_eq!(body_json(&definition)["id"], "staff-filing");
}

#[tokio::test]
async fn each_lambda_function_answers_only_its_own_routes() {
    let mut t = TestApp::new();
    let submit = with_body(event("http-api-v2.json"), "name=%E5%BC%A0%E4%B8%89", false);
    let mut get = event("http-api-v2.json");
    get["rawPath"] = json!("/api/forms/signup");
    get["requestContext"]["http"]["method"] = json!("GET");

    t.app.routes = Some(&["submit", "staff-submit"]);
    assert_eq!(
        invoke(&t, &submit).await.status(),
        201,
        "the submit function takes submissions"
    );
    assert_eq!(invoke(&t, &get).await.status(), 404);

    t.app.routes = Some(&["forms", "form-definition"]);
    assert_eq!(
        invoke(&t, &get).await.status(),
        200,
        "the forms function serves definitions"
    );
    assert_eq!(
        invoke(&t, &submit).await.status(),
        404,
        "the read-only function never stores"
    );
    assert_eq!(t.store.list("signup", None).await.unwrap().len(), 1);
}

/// A multipart body with the field 部门=研发 and `file` holding `bytes`.
fn multipart_with_file(boundary: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"部门\"\r\n\r\n研发\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xlsx\"\r\n\
         Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// A one-row workbook with the template's headers.
fn one_row_workbook() -> Vec<u8> {
    let def = repo().join("content/forms");
    let forms = beian_functions::forms::Forms::load_dir(&def).unwrap();
    let staff = forms.get("staff-filing").unwrap();
    let group = staff.group("staff").unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let row = [
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
    ];
    for (col, field) in group.fields.iter().enumerate() {
        sheet.write_string(0, col as u16, &field.label).unwrap();
        if let Some(value) = row.get(col) {
            sheet.write_string(1, col as u16, *value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn c16_a_base64_multipart_upload_arrives_byte_for_byte() {
    let workbook = one_row_workbook();
    let boundary = "----c16boundary";
    let body = multipart_with_file(boundary, &workbook);
    let mut event = event("http-api-v2.json");
    event["rawPath"] = json!("/api/forms/staff-filing/upload");
    event["requestContext"]["http"]["path"] = json!("/api/forms/staff-filing/upload");
    event["requestContext"]["http"]["method"] = json!("POST");
    event["headers"]["content-type"] = json!(format!("multipart/form-data; boundary={boundary}"));
    event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
    event["isBase64Encoded"] = json!(true);

    let request =
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http reads the event");
    let request = to_api_request(request);
    let content_type = request.headers["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let upload =
        beian_functions::upload::parse_multipart(&content_type, request.body.clone(), 1 << 22)
            .await
            .expect("the multipart body parses");
    use sha2::Digest as _;
    let file = upload.file.expect("the file part");
    assert_eq!(
        sha2::Sha256::digest(&file),
        sha2::Sha256::digest(&workbook),
        "the file is byte for byte the one sent"
    );
    assert_eq!(
        upload.fields,
        vec![("部门".to_string(), "研发".to_string())]
    );
    let table = beian_functions::import::read_table(&file, &["姓名", "公民身份号码"]).unwrap();
    assert_eq!(table.rows.len(), 1);
}

#[tokio::test]
async fn c16_b_a_body_mangled_into_text_is_refused_as_a_damaged_file() {
    let t = TestApp::new();
    let workbook = one_row_workbook();
    let boundary = "----c16boundary";
    let body = multipart_with_file(boundary, &workbook);
    // Delivered as text: every byte of 0x80 and over became U+FFFD.
    let mangled: String = body
        .iter()
        .map(|&b| if b < 0x80 { b as char } else { '\u{FFFD}' })
        .collect();
    let mut event = event("http-api-v2.json");
    event["rawPath"] = json!("/api/forms/staff-filing/upload");
    event["requestContext"]["http"]["path"] = json!("/api/forms/staff-filing/upload");
    event["requestContext"]["http"]["method"] = json!("POST");
    event["headers"]["content-type"] = json!(format!("multipart/form-data; boundary={boundary}"));
    event["headers"]["accept"] = json!("application/json");
    event["body"] = json!(mangled);
    event["isBase64Encoded"] = json!(false);

    let response = invoke(&t, &event).await;
    assert_eq!(response.status(), 400);
    let body = body_json(&response);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("文件已损坏或不是有效的 XLSX"),
        "{body}"
    );
    assert!(t.store.list("staff-filing", None).await.unwrap().is_empty());
}
