//! Helpers for the handler tests: an App on a temporary embedded store, and requests.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use beian_functions::api::{ApiRequest, ApiResponse, App, Settings, StaffIdentity};
use beian_functions::forms::Forms;
use beian_functions::store::embedded::EmbeddedStore;
use beian_functions::store::{Record, Store};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};

/// An App with the real forms plus the test form, on a fresh embedded store.
pub struct TestApp {
    pub app: App,
    pub store: Arc<EmbeddedStore>,
    pub dir: tempfile::TempDir,
}

/// The repository's top folder.
pub fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// All form definitions the tests use: `content/forms` and `tests/fixtures/test-forms`.
pub fn forms(dir: &Path) -> Forms {
    let all = dir.join("forms");
    std::fs::create_dir_all(&all).unwrap();
    for source in [
        repo().join("content/forms"),
        repo().join("tests/fixtures/test-forms"),
    ] {
        for entry in std::fs::read_dir(source).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                std::fs::copy(&path, all.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    Forms::load_dir(&all).unwrap()
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_settings(Settings::default())
    }

    pub fn with_settings(settings: Settings) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(&dir.path().join("beian.redb")).unwrap());
        let app = App {
            forms: Arc::new(forms(dir.path())),
            store: store.clone(),
            settings,
            routes: None,
        };
        TestApp { app, store, dir }
    }

    pub async fn send(&self, request: ApiRequest) -> ApiResponse {
        self.app.handle(request).await
    }

    /// GETs `path` as a browser (or, with `accept`, another client) would.
    pub async fn get(&self, path: &str, accept: &str) -> ApiResponse {
        self.send(request(Method::GET, path, None, Some(accept), ""))
            .await
    }

    pub async fn records(&self, form: &str) -> Vec<Record> {
        self.store.list(form, None).await.unwrap()
    }
}

/// A request from 127.0.0.1.
pub fn request(
    method: Method,
    path: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: impl Into<Bytes>,
) -> ApiRequest {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_str(ct).unwrap(),
        );
    }
    if let Some(a) = accept {
        headers.insert(http::header::ACCEPT, HeaderValue::from_str(a).unwrap());
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    ApiRequest {
        method,
        path,
        stage: None,
        query,
        headers,
        body: body.into(),
        source_ip: "127.0.0.1".into(),
        request_id: "test-request".into(),
        identity: None,
    }
}

/// A browser's form post.
pub fn form_post(path: &str, pairs: &[(&str, &str)]) -> ApiRequest {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    request(
        Method::POST,
        path,
        Some("application/x-www-form-urlencoded"),
        Some("text/html,application/xhtml+xml"),
        body,
    )
}

/// A JSON client's post.
pub fn json_post(path: &str, body: &serde_json::Value) -> ApiRequest {
    request(
        Method::POST,
        path,
        Some("application/json"),
        Some("application/json"),
        serde_json::to_vec(body).unwrap(),
    )
}

/// A staff member's identity, as the authorizer gives it.
pub fn staff() -> StaffIdentity {
    StaffIdentity {
        agency: "新城区人力资源和社会保障局".into(),
        handler: "赵经办".into(),
    }
}

/// The body as text.
pub fn text(response: &ApiResponse) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// The body as JSON.
pub fn json(response: &ApiResponse) -> serde_json::Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|_| panic!("not JSON: {}", text(response)))
}

/// The values of every hidden input in an HTML page, in order.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|chunk| {
            let attr = |name: &str| {
                chunk
                    .split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("")
                    .to_string()
            };
            (unescape(&attr("name")), unescape(&attr("value")))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
