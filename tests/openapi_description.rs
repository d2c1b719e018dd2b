//! The API description (`functions/openapi.json`) stays true: it lists exactly
//! `api::ROUTES`, its form ids are the forms in `content/forms/`, its example body is accepted,
//! and real answers of every kind (200, 201, 303, 4xx of each reason, 422) match the status,
//! media type and schema it gives for them. schemathesis checks the same description against
//! a running `beian serve` from `tests/run.sh`.

#[path = "common/api.rs"]
mod api;
#[path = "common/counts.rs"]
mod counts;

use std::collections::BTreeSet;

use api::*;
use beian_functions::api::{ApiResponse, Settings, ROUTES};
use beian_functions::forms::{FieldKind, FormDef, Forms};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

fn description() -> Value {
    let text = std::fs::read_to_string(repo().join("functions/openapi.json")).unwrap();
    serde_json::from_str(&text).expect("functions/openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/…`) until the value is not a reference.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(pointer) = value.get("$ref").and_then(Value::as_str) {
        let pointer = pointer.strip_prefix('#').expect("local references only");
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {pointer}"));
    }
    value
}

/// The path of the description that a concrete path matches (`/api/forms/x` → `/api/forms/{id}`).
fn template_for(doc: &Value, path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .find(|template| {
            let t: Vec<&str> = template.split('/').collect();
            t.len() == parts.len()
                && t.iter()
                    .zip(&parts)
                    .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
        })
        .unwrap_or_else(|| panic!("no path in the description matches {path}"))
        .clone()
}

/// Checks one answer against the description; returns a short label of what was checked.
fn conforms(doc: &Value, method: &Method, path: &str, response: &ApiResponse) -> String {
    let template = template_for(doc, path);
    let operation = &doc["paths"][&template][method.as_str().to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {template} is not in the description"
    );
    let status = response.status().as_u16().to_string();
    let described = operation["responses"]
        .get(&status)
        .unwrap_or_else(|| panic!("{method} {template} answered {status}, not described"));
    let described = resolve(doc, described);
    if let Some(headers) = described.get("headers").and_then(Value::as_object) {
        for name in headers.keys() {
            if matches!(name.as_str(), "Location" | "Retry-After") {
                assert!(
                    response.headers().contains_key(name.as_str()),
                    "{method} {path} {status} lacks the header {name}"
                );
            }
        }
    }
    let Some(content) = described.get("content").and_then(Value::as_object) else {
        return format!("{method} {template} {status}");
    };
    let media = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_string();
    assert!(
        content.contains_key(&media),
        "{method} {path} {status} is {media}; the description gives {:?}",
        content.keys().collect::<Vec<_>>()
    );
    if media == "application/json" {
        let schema = &content[&media]["schema"];
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        validate(doc, schema, &body, &format!("{method} {path} {status}"));
    }
    format!("{method} {template} {status} {media}")
}

/// Validates `instance` against `schema`, which may refer into the description.
fn validate(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    // The description is the root resource, so `#/components/schemas/…` resolves in it;
    // its other keys (`openapi`, `paths`) are unknown keywords, which JSON Schema ignores.
    let mut root = doc.clone();
    let object = root.as_object_mut().unwrap();
    object.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    object.insert("allOf".into(), json!([schema]));
    let validator = jsonschema::validator_for(&root).expect("the description's schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the body does not match the description: {errors:#?}\n{instance:#}"
    );
}

#[test]
fn the_description_lists_exactly_the_routes() {
    let doc = description();
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                described.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        described, routes,
        "functions/openapi.json and api::ROUTES differ: describe every route, and no other"
    );
    counts::report(&format!("描述与 api::ROUTES 一致：{} 个接口", routes.len()));
}

#[test]
fn the_description_names_every_form_and_its_example_is_a_real_submission() {
    let doc = description();
    let ids: BTreeSet<String> = doc["components"]["schemas"]["FormId"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let forms: BTreeSet<String> = Forms::embedded().by_id.keys().cloned().collect();
    assert_eq!(
        ids, forms,
        "components.schemas.FormId.enum should list the forms of content/forms/"
    );
    let body = &doc["components"]["requestBodies"]["Submission"]["content"]["application/json"];
    let form = body["x-example-form"].as_str().unwrap();
    assert_eq!(
        body["example"],
        example_json(Forms::embedded().get(form).unwrap()),
        "the example body should be {form}'s field examples (content/forms/{form}.toml)"
    );
}

/// A submission made of every field's `example`, one row per group, as JSON.
fn example_json(def: &FormDef) -> Value {
    let value = |kind: FieldKind, example: &str| {
        if kind == FieldKind::Checkboxes {
            json!([example])
        } else {
            json!(example)
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
        groups.insert(group.key.clone(), json!([row]));
    }
    json!({ "fields": fields, "groups": groups })
}

fn with_header(
    mut request: beian_functions::api::ApiRequest,
    name: &'static str,
    value: &str,
) -> beian_functions::api::ApiRequest {
    request
        .headers
        .insert(name, HeaderValue::from_str(value).unwrap());
    request
}

#[tokio::test]
async fn real_answers_match_the_description() {
    let doc = description();
    let t = TestApp::with_settings(Settings {
        submit_limit: 1000,
        receipt_limit: 1000,
        ..Settings::default()
    });
    let mut checked = BTreeSet::new();
    let mut requests = 0;
    let mut check = |method: &Method, path: &str, response: &ApiResponse| {
        requests += 1;
        checked.insert(conforms(&doc, method, path, response));
    };

    let r = t
        .send(request(Method::GET, "/api/forms", None, None, ""))
        .await;
    check(&Method::GET, "/api/forms", &r);
    for id in Forms::embedded().by_id.keys() {
        let path = format!("/api/forms/{id}");
        let r = t.send(request(Method::GET, &path, None, None, "")).await;
        assert_eq!(r.status(), StatusCode::OK);
        check(&Method::GET, &path, &r);
    }
    let r = t
        .send(request(
            Method::GET,
            "/api/forms/no-such-form",
            None,
            None,
            "",
        ))
        .await;
    check(&Method::GET, "/api/forms/no-such-form", &r);

    // Every form's examples: 201 for JSON; the same key again: 200 replayed.
    let mut reference = String::new();
    for (id, def) in &Forms::embedded().by_id {
        let path = format!("/api/forms/{id}");
        let body = example_json(def);
        let key = format!("description-{id}");
        let first = with_header(json_post(&path, &body), "idempotency-key", &key);
        let r = t.send(first.clone()).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{id}: {}", text(&r));
        reference = json(&r)["reference"].as_str().unwrap().to_string();
        check(&Method::POST, &path, &r);
        let r = t.send(first).await;
        assert_eq!(r.status(), StatusCode::OK);
        check(&Method::POST, &path, &r);
    }

    // Field errors, bad bodies, wrong media types, an unknown form, a staff route without
    // a login, an over-long body and an over-long idempotency key.
    let path = "/api/forms/bureau-account";
    let cases: Vec<(&str, beian_functions::api::ApiRequest)> = vec![
        (
            "422",
            json_post(path, &json!({ "fields": { "filled_by": "" } })),
        ),
        (
            "400 unknown key",
            json_post(path, &json!({ "colour": "red" })),
        ),
        (
            "400 not JSON",
            request(
                Method::POST,
                path,
                Some("application/json"),
                Some("application/json"),
                "{",
            ),
        ),
        (
            "415",
            request(
                Method::POST,
                path,
                Some("text/plain"),
                Some("application/json"),
                "x",
            ),
        ),
        (
            "415 none",
            request(Method::POST, path, None, Some("application/json"), "x"),
        ),
        ("404", json_post("/api/forms/no-such-form", &json!({}))),
        (
            "401",
            json_post("/api/staff/forms/bureau-account", &json!({})),
        ),
        (
            "413",
            request(
                Method::POST,
                path,
                Some("application/json"),
                Some("application/json"),
                vec![b' '; Settings::default().max_body_bytes + 1],
            ),
        ),
        (
            "400 key",
            with_header(
                json_post(
                    path,
                    &example_json(Forms::embedded().get("bureau-account").unwrap()),
                ),
                "idempotency-key",
                &"k".repeat(201),
            ),
        ),
        ("422 html", form_post(path, &[("filled_by", "")])),
        (
            "200 review",
            form_post(path, &[("_action", "add_row:units")]),
        ),
    ];
    for (what, req) in cases {
        let path = req.path.clone();
        let method = req.method.clone();
        let r = t.send(req).await;
        assert!(
            what.starts_with(r.status().as_str()),
            "{what}: got {} {}",
            r.status(),
            text(&r)
        );
        check(&method, &path, &r);
    }

    // The same idempotency key with other content: 409.
    let bureau = example_json(Forms::embedded().get("bureau-account").unwrap());
    let mut other = bureau.clone();
    other["fields"]["filled_by"] = json!("李明");
    let r = t
        .send(with_header(
            json_post(path, &other),
            "idempotency-key",
            "description-bureau-account",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "{}", text(&r));
    check(&Method::POST, path, &r);

    // A browser's final submit: 303 to the confirmation.
    let mut pairs: Vec<(String, String)> = vec![("_action".into(), "submit".into())];
    for (key, value) in bureau["fields"].as_object().unwrap() {
        pairs.push((key.clone(), value.as_str().unwrap().to_string()));
    }
    for (key, value) in bureau["groups"]["units"][0].as_object().unwrap() {
        pairs.push((
            format!("units[0].{key}"),
            value.as_str().unwrap().to_string(),
        ));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = t.send(form_post(path, &pairs)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(&r));
    check(&Method::POST, path, &r);

    // Over the rate limit (1 in this app): 429 with Retry-After.
    let small = TestApp::with_settings(Settings {
        submit_limit: 1,
        ..Settings::default()
    });
    let _ = small.send(json_post(path, &bureau)).await;
    let r = small.send(json_post(path, &bureau)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{}", text(&r));
    check(&Method::POST, path, &r);

    // Receipts: JSON, HTML, the look-up redirect, a reference with a wrong check character.
    let receipt = format!("/api/receipts/{reference}");
    let r = t
        .send(request(
            Method::GET,
            &receipt,
            None,
            Some("application/json"),
            "",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    check(&Method::GET, &receipt, &r);
    let r = t.send(request(Method::GET, &receipt, None, None, "")).await;
    check(&Method::GET, &receipt, &r);
    let lookup = format!("/api/receipts/lookup?reference={reference}");
    let r = t.send(request(Method::GET, &lookup, None, None, "")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    check(&Method::GET, "/api/receipts/lookup", &r);
    let r = t
        .send(request(
            Method::GET,
            "/api/receipts/K7QM-3XRT-9HAA",
            None,
            Some("application/json"),
            "",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    check(&Method::GET, "/api/receipts/K7QM-3XRT-9HAA", &r);

    counts::report(&format!(
        "API 描述：{requests} 个请求的回应符合描述，涵盖 {} 种（接口、状态、类型）",
        checked.len()
    ));
    for line in &checked {
        println!("  {line}");
    }
}

#[tokio::test]
async fn a_wrong_method_gets_405_naming_every_method_the_path_takes() {
    let doc = description();
    let t = TestApp::new();
    for (path, concrete) in [
        ("/api/forms", "/api/forms"),
        ("/api/forms/{id}", "/api/forms/bureau-account"),
        ("/api/staff/forms/{id}", "/api/staff/forms/bureau-account"),
        ("/api/receipts/{reference}", "/api/receipts/K7QM-3XRT-9HAP"),
    ] {
        let described: BTreeSet<String> = doc["paths"][path]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
            .map(|k| k.to_ascii_uppercase())
            .collect();
        let r = t
            .send(request(
                Method::DELETE,
                concrete,
                None,
                Some("application/json"),
                "",
            ))
            .await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow: BTreeSet<String> = r.headers()[http::header::ALLOW]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| m != "HEAD")
            .collect();
        assert_eq!(allow, described, "Allow for {path}");
        assert!(json(&r)["error"].as_str().unwrap().contains("请求方法"));
    }
}
