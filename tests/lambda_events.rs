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
