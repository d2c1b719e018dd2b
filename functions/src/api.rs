//! The handlers' routes, independent of how requests arrive: the same code serves Lambda
//! (through `lambda`) and `beian serve` (through its `/api` mount).
//!
//! Browsers get HTML pages or 303 redirects; clients that send `Accept: application/json`
//! get JSON: 201 with the reference, 422 with field errors, another 4xx with a reason.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{FixedOffset, NaiveDate, Utc};
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::forms::{Audience, FormDef, Forms};
use crate::pages;
use crate::reference;
use crate::store::{AuditStamp, Channel, Limit, Put, Record, Store, StoreError};
use crate::submission::{self, Controls, Submission};
use crate::validation::{self, FieldError, Outcome};

/// A request as the handlers see it, whatever carried it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path as received; an API Gateway stage prefix may still be on it.
    pub path: String,
    /// The API Gateway stage, if any.
    pub stage: Option<String>,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, already base64-decoded.
    pub body: Bytes,
    /// The caller's address.
    pub source_ip: String,
    /// The request id, for logs and audit stamps.
    pub request_id: String,
    /// The authenticated member of staff, for staff routes.
    pub identity: Option<StaffIdentity>,
}

/// A member of staff as the authorizer (or the local configuration) vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentity {
    /// 经办机构.
    pub agency: String,
    /// 经办人.
    pub handler: String,
}

/// A response: status, headers and body bytes.
pub type ApiResponse = Response<Vec<u8>>;

/// Limits and names the handlers work with; read once at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest spreadsheet upload accepted, in bytes (the whole multipart body).
    pub max_upload_bytes: usize,
    /// Final submissions allowed per source address per window.
    pub submit_limit: u32,
    /// Receipt look-ups allowed per source address per window.
    pub receipt_limit: u32,
    /// The rate-limit window, in seconds.
    pub limit_window_secs: u64,
    /// The 经办机构 stamped on public submissions.
    pub public_agency: String,
    /// The 经办人 stamped on public submissions.
    pub public_handler: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: 2 * 1024 * 1024,
            // A Lambda request is at most 6 MB, and API Gateway sends a file base64-encoded.
            max_upload_bytes: 4 * 1024 * 1024,
            submit_limit: 30,
            receipt_limit: 120,
            limit_window_secs: 600,
            public_agency: "内蒙古自治区劳动用工备案网站".into(),
            public_handler: "网上自助（申报单位本人）".into(),
        }
    }
}

impl Settings {
    /// The defaults, with `BEIAN_SUBMIT_LIMIT`, `BEIAN_RECEIPT_LIMIT`,
    /// `BEIAN_LIMIT_WINDOW_SECS`, `BEIAN_MAX_BODY_BYTES` and `BEIAN_MAX_UPLOAD_BYTES` applied
    /// when set.
    pub fn from_env() -> Settings {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut settings = Settings::default();
        if let Some(n) = number("BEIAN_SUBMIT_LIMIT") {
            settings.submit_limit = n.min(u32::MAX as u64) as u32;
        }
        if let Some(n) = number("BEIAN_RECEIPT_LIMIT") {
            settings.receipt_limit = n.min(u32::MAX as u64) as u32;
        }
        if let Some(n) = number("BEIAN_LIMIT_WINDOW_SECS") {
            settings.limit_window_secs = n.max(1);
        }
        if let Some(n) = number("BEIAN_MAX_BODY_BYTES") {
            settings.max_body_bytes = n.min(16 * 1024 * 1024) as usize;
        }
        if let Some(n) = number("BEIAN_MAX_UPLOAD_BYTES") {
            settings.max_upload_bytes = n.min(32 * 1024 * 1024) as usize;
        }
        settings
    }
}

/// How many of a batch's rows its receipt lists.
const BATCH_RECEIPT_ROWS: usize = 100;

/// The largest record a store keeps, in bytes (DynamoDB's item limit is 400 KB).
pub const MAX_RECORD_BYTES: usize = 400 * 1024;

/// The routes this service answers, as (method, path pattern); infra and tests read it.
/// Each is described in `functions/openapi.json`: `tests/openapi_description.rs` fails until
/// a new route is.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/forms"),
    ("GET", "/api/forms/{id}"),
    ("POST", "/api/forms/{id}"),
    ("POST", "/api/staff/forms/{id}"),
    ("GET", "/api/receipts/{reference}"),
    ("POST", "/api/forms/{id}/upload"),
    ("POST", "/api/staff/forms/{id}/upload"),
];

/// The Lambda functions (binary name) and the route names (`route_name`) each one serves;
/// the infrastructure template and its test read it.
pub const FUNCTIONS: &[(&str, &[&str])] = &[
    ("forms", &["forms", "form-definition"]),
    ("submit", &["submit", "staff-submit"]),
    ("receipt", &["receipt"]),
    ("upload", &["upload", "staff-upload"]),
];

/// The route names served by the Lambda function `name`; empty for an unknown name.
pub fn function_routes(name: &str) -> &'static [&'static str] {
    FUNCTIONS
        .iter()
        .find(|(function, _)| *function == name)
        .map(|(_, routes)| *routes)
        .unwrap_or(&[])
}

/// The form handlers with their forms, store and settings.
pub struct App {
    /// The form definitions.
    pub forms: Arc<Forms>,
    /// Where submissions go.
    pub store: Arc<dyn Store>,
    /// Limits and names.
    pub settings: Settings,
    /// The route names this deployment answers (`submit`, `receipt`…); `None` answers all.
    /// Each Lambda function serves only its own routes.
    pub routes: Option<&'static [&'static str]>,
}

enum Route<'a> {
    ListForms,
    Definition(&'a str),
    Submit(&'a str, Channel),
    Receipt(&'a str),
    Upload(&'a str, Channel),
}

fn route<'a>(method: &Method, path: &'a str) -> Option<Route<'a>> {
    let rest = path.strip_prefix("/api/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let parts: Vec<&str> = rest.split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET" | "HEAD", ["forms"]) => Some(Route::ListForms),
        ("GET" | "HEAD", ["forms", id]) => Some(Route::Definition(id)),
        ("POST", ["forms", id]) => Some(Route::Submit(id, Channel::Online)),
        ("POST", ["staff", "forms", id]) => Some(Route::Submit(id, Channel::Counter)),
        ("POST", ["forms", id, "upload"]) => Some(Route::Upload(id, Channel::Online)),
        ("POST", ["staff", "forms", id, "upload"]) => Some(Route::Upload(id, Channel::Counter)),
        ("GET" | "HEAD", ["receipts", reference]) => Some(Route::Receipt(reference)),
        _ => None,
    }
}

/// Whether the path matches a route for some method (for 405 rather than 404).
fn known_path(path: &str) -> bool {
    [Method::GET, Method::POST]
        .iter()
        .any(|m| route(m, path).is_some())
}

impl App {
    /// Answers one request. Never panics on any input; every failure is a response.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let json = wants_json(&request.headers);
        let path = resolve_path(&request);
        let allowed = self
            .routes
            .is_none_or(|names| names.contains(&route_name(&request.method, &path)));
        let found = route(&request.method, &path).filter(|_| allowed);
        let Some(found) = found else {
            if known_path(&path) && allowed {
                let mut response = error_response(
                    json,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "不支持这种请求方法：提交表单请用 POST，查看请用 GET",
                );
                // Every method the path takes: `/api/forms/{id}` takes GET and POST.
                let allow = match (
                    route(&Method::GET, &path).is_some(),
                    route(&Method::POST, &path).is_some(),
                ) {
                    (true, true) => "GET, HEAD, POST",
                    (false, true) => "POST",
                    _ => "GET, HEAD",
                };
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                return response;
            }
            return error_response(json, StatusCode::NOT_FOUND, "没有这个接口地址：请核对网址");
        };
        let response = match found {
            Route::ListForms => self.list_forms(),
            Route::Definition(id) => self.definition(id, json),
            Route::Submit(id, channel) => self.submit(&request, id, channel, json).await,
            Route::Receipt(reference) => self.receipt(&request, reference, json).await,
            #[cfg(feature = "upload")]
            Route::Upload(id, channel) => self.upload(&request, id, channel, json).await,
            #[cfg(not(feature = "upload"))]
            Route::Upload(id, _) => error_response(
                json,
                StatusCode::NOT_FOUND,
                &format!(
                    "这里没有开通“{}”的电子表格上传：请使用网站上的上传页面",
                    clip(id)
                ),
            ),
        };
        tracing::info!(
            request_id = %request.request_id,
            method = %request.method,
            route = route_name(&request.method, &path),
            status = response.status().as_u16(),
            reference = response.headers().get("x-reference").and_then(|v| v.to_str().ok()).unwrap_or(""),
            "handled"
        );
        response
    }

    fn list_forms(&self) -> ApiResponse {
        let list: Vec<_> = self
            .forms
            .by_id
            .values()
            .map(|f| json!({ "id": f.id, "title": f.title, "version": f.version, "href": format!("/api/forms/{}", f.id) }))
            .collect();
        json_response(StatusCode::OK, &json!({ "forms": list }))
    }

    fn definition(&self, id: &str, _json: bool) -> ApiResponse {
        match self.forms.get(id) {
            Some(def) => json_response(
                StatusCode::OK,
                &serde_json::to_value(def).unwrap_or_default(),
            ),
            None => error_response(
                true,
                StatusCode::NOT_FOUND,
                &format!("没有编号为“{}”的表单", clip(id)),
            ),
        }
    }

    async fn submit(
        &self,
        request: &ApiRequest,
        id: &str,
        channel: Channel,
        json: bool,
    ) -> ApiResponse {
        let Some(def) = self.forms.get(id) else {
            return error_response(
                json,
                StatusCode::NOT_FOUND,
                &format!("没有编号为“{}”的表单", clip(id)),
            );
        };
        let identity = match self.identity_for(def, request, channel, json) {
            Ok(identity) => identity,
            Err(response) => return *response,
        };
        if request.body.len() > self.settings.max_body_bytes {
            let limit = self.settings.max_body_bytes / 1024 / 1024;
            return error_response(
                json,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("提交的内容超过 {limit} MB：请删减后再提交"),
            );
        }
        let header_key = match idempotency_header(&request.headers) {
            Ok(key) => key,
            Err(message) => return error_response(json, StatusCode::BAD_REQUEST, message),
        };
        let (mut submission, controls) = match parse_body(def, request) {
            Ok(parsed) => parsed,
            Err((status, message)) => return error_response(json, status, &message),
        };
        if channel == Channel::Online {
            // Only staff may accept a code whose check character fails.
            submission.overrides.clear();
        }
        if controls
            .honeypot
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
        {
            return error_response(
                json,
                StatusCode::BAD_REQUEST,
                "无法受理这次提交：请不要填写隐藏的“网址”栏，刷新页面后重新填写",
            );
        }
        let action = if json {
            "submit".to_string()
        } else {
            controls.action.clone().unwrap_or_else(|| "review".into())
        };
        let form_path = submit_path(def, channel);
        if let Some(response) = self.row_action(def, &submission, &action, &form_path) {
            return response;
        }
        let outcome = validation::check(def, &submission, today());
        let accepted = match outcome {
            Outcome::Rejected(errors) => {
                return rejected(def, &submission, &errors, json, &form_path)
            }
            Outcome::Exempt(message) => return exempt(def, &message, json),
            Outcome::Accepted(accepted) => accepted,
        };
        if action != "submit" {
            let key = controls
                .idempotency_key
                .clone()
                .unwrap_or_else(new_idempotency_key);
            let html = pages::review_page(def, &submission, &accepted, &key, &form_path);
            return html_response(StatusCode::OK, html);
        }
        if let Some(response) = self
            .limited(request, "submit", self.settings.submit_limit, json)
            .await
        {
            return response;
        }
        let idempotency_key = if json {
            header_key
        } else {
            controls
                .idempotency_key
                .clone()
                .filter(|k| !k.is_empty() && k.len() <= 200)
        };
        // A key counts within its form only, so one client's key cannot reach another form.
        let idempotency_key = idempotency_key.map(|key| format!("{}#{key}", def.id));
        let data = accepted.to_json();
        let record = self.record(def, request, channel, identity, data, idempotency_key);
        if let Some(message) = too_large(def, &record) {
            return error_response(json, StatusCode::PAYLOAD_TOO_LARGE, &message);
        }
        let content = record.audit.content_sha256.clone();
        match self.store.put(record).await {
            Ok(Put::Stored(reference)) => created(&reference, json, false),
            Ok(Put::Duplicate(reference)) => {
                self.replay(&reference, &content, json, &request.request_id)
                    .await
            }
            Err(e) => store_failure(json, &request.request_id, &e),
        }
    }

    /// Answers a repeated idempotency key: the first reference when the content is the same,
    /// 409 when the key was used for different content (nothing is stored either way).
    async fn replay(
        &self,
        reference: &str,
        content: &str,
        json: bool,
        request_id: &str,
    ) -> ApiResponse {
        match self.store.get(reference).await {
            Ok(Some(first)) if first.audit.content_sha256 == content => created(reference, json, true),
            Ok(_) => error_response(
                json,
                StatusCode::CONFLICT,
                "这个幂等键已用于内容不同的另一次提交，本次内容没有保存：请换一个新的幂等键，或从表单重新提交",
            ),
            Err(e) => store_failure(json, request_id, &e),
        }
    }

    /// Adds or removes a group row for people without JavaScript; the form comes back with
    /// every value kept.
    fn row_action(
        &self,
        def: &FormDef,
        submission: &Submission,
        action: &str,
        form_path: &str,
    ) -> Option<ApiResponse> {
        let mut submission = submission.clone();
        if action == "edit" {
            return Some(html_response(
                StatusCode::OK,
                pages::form_page(def, &submission, &[], form_path),
            ));
        }
        if let Some(group) = action.strip_prefix("add_row:") {
            let g = def.group(group)?;
            let rows = submission.groups.entry(g.key.clone()).or_default();
            let shown = rows.len().max(pages::blank_rows(g));
            rows.resize(
                shown.min(g.max_rows.saturating_sub(1)) + 1,
                Default::default(),
            );
            return Some(html_response(
                StatusCode::OK,
                pages::form_page(def, &submission, &[], form_path),
            ));
        }
        if let Some(rest) = action.strip_prefix("remove_row:") {
            let (group, index) = rest.rsplit_once(':')?;
            let index: usize = index.parse().ok()?;
            let rows = submission.groups.get_mut(group)?;
            if index < rows.len() {
                rows.remove(index);
            }
            return Some(html_response(
                StatusCode::OK,
                pages::form_page(def, &submission, &[], form_path),
            ));
        }
        None
    }

    async fn receipt(&self, request: &ApiRequest, raw: &str, json: bool) -> ApiResponse {
        let just_submitted = match receipt_query(request.query.as_deref()) {
            Ok(just_submitted) => just_submitted,
            Err(reason) => return error_response(json, StatusCode::BAD_REQUEST, reason),
        };
        if raw == "lookup" {
            return lookup_redirect(request, json);
        }
        if let Some(response) = self
            .limited(request, "receipt", self.settings.receipt_limit, json)
            .await
        {
            return response;
        }
        let decoded = percent_encoding_decode(raw);
        let reference = match reference::check(&decoded) {
            Ok(reference) => reference,
            Err(problem) => return error_response(json, StatusCode::NOT_FOUND, problem.message()),
        };
        let record = match self.store.get(&reference).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                return self
                    .batch_receipt(request, &reference, json, just_submitted)
                    .await
            }
            Err(e) => return store_failure(json, &request.request_id, &e),
        };
        let def = self.forms.get(&record.form_id);
        if json {
            let summary = def
                .map(|d| pages::masked_summary(d, &record.data))
                .unwrap_or_default();
            let body = json!({
                "reference": record.reference,
                "form": record.form_id,
                "status": record.status,
                "version": record.version,
                "time": record.audit.time,
                "channel": record.audit.channel.label(),
                "summary": summary.iter().map(|(k, v)| json!({ "label": k, "value": v })).collect::<Vec<_>>(),
            });
            return with_reference(json_response(StatusCode::OK, &body), &record.reference);
        }
        with_reference(
            html_response(
                StatusCode::OK,
                pages::receipt_page(def, &record, just_submitted),
            ),
            &record.reference,
        )
    }

    /// The receipt of a bulk upload, or 404 when the reference is not one either.
    async fn batch_receipt(
        &self,
        request: &ApiRequest,
        reference: &str,
        json: bool,
        just_submitted: bool,
    ) -> ApiResponse {
        let batch = match self.store.batch(reference).await {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                return error_response(
                    json,
                    StatusCode::NOT_FOUND,
                    "没有找到这个受理编号：请核对，或拨打 12333 咨询",
                )
            }
            Err(e) => return store_failure(json, &request.request_id, &e),
        };
        let status = if batch.complete {
            "已受理"
        } else {
            "保存中断，待重新上传"
        };
        if json {
            let body = json!({
                "reference": batch.reference,
                "form": batch.form_id,
                "status": status,
                "complete": batch.complete,
                "rows": batch.rows,
                "time": batch.audit.time,
                "channel": batch.audit.channel.label(),
                "agency": batch.audit.agency,
            });
            return with_reference(json_response(StatusCode::OK, &body), &batch.reference);
        }
        // A few rows by their derived references; their own receipts have the rest.
        let mut rows = Vec::new();
        for index in 0..(batch.rows as usize).min(BATCH_RECEIPT_ROWS) {
            let row = reference::of_row(&batch.reference, index);
            match self.store.get(&row).await {
                Ok(Some(record)) => rows.push(record),
                Ok(None) => break,
                Err(e) => return store_failure(json, &request.request_id, &e),
            }
        }
        let def = self.forms.get(&batch.form_id);
        with_reference(
            html_response(
                StatusCode::OK,
                pages::batch_receipt_page(def, &batch, &rows, just_submitted),
            ),
            &batch.reference,
        )
    }

    /// The member of staff on the staff channel (401 without one), nobody on the public one
    /// (403 for forms only staff may file).
    pub(crate) fn identity_for(
        &self,
        def: &FormDef,
        request: &ApiRequest,
        channel: Channel,
        json: bool,
    ) -> Result<Option<StaffIdentity>, Box<ApiResponse>> {
        match channel {
            Channel::Counter => match &request.identity {
                Some(identity) => Ok(Some(identity.clone())),
                None => Err(Box::new(error_response(
                    json,
                    StatusCode::UNAUTHORIZED,
                    "窗口代录需要经办人登录：请先登录后再提交",
                ))),
            },
            Channel::Online if def.audience == Audience::Staff => Err(Box::new(error_response(
                json,
                StatusCode::FORBIDDEN,
                "本表只能由经办机构工作人员代录",
            ))),
            Channel::Online => Ok(None),
        }
    }

    pub(crate) async fn limited(
        &self,
        request: &ApiRequest,
        action: &str,
        limit: u32,
        json: bool,
    ) -> Option<ApiResponse> {
        let key = format!("{action}#{}", request.source_ip);
        match self
            .store
            .hit(&key, limit, self.settings.limit_window_secs, unix_now())
            .await
        {
            Ok(Limit::Allowed) => None,
            Ok(Limit::Exceeded { retry_after }) => {
                let minutes = retry_after.div_ceil(60).max(1);
                let message =
                    format!("操作过于频繁，请在 {minutes} 分钟后再试。如有急事请拨打 12333。");
                let mut response = error_response(json, StatusCode::TOO_MANY_REQUESTS, &message);
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                Some(response)
            }
            Err(e) => Some(store_failure(json, &request.request_id, &e)),
        }
    }

    fn record(
        &self,
        def: &FormDef,
        request: &ApiRequest,
        channel: Channel,
        identity: Option<StaffIdentity>,
        data: serde_json::Value,
        idempotency_key: Option<String>,
    ) -> Record {
        let content = serde_json::to_vec(&data).unwrap_or_default();
        let content_sha256 = hex(&Sha256::digest(&content));
        Record {
            reference: reference::generate(),
            form_id: def.id.clone(),
            version: 1,
            status: "已受理".into(),
            data,
            audit: self.stamp(def, request, channel, identity, content_sha256),
            idempotency_key,
            batch: None,
        }
    }

    /// The audit stamp for a write made now by `request`.
    pub(crate) fn stamp(
        &self,
        def: &FormDef,
        request: &ApiRequest,
        channel: Channel,
        identity: Option<StaffIdentity>,
        content_sha256: String,
    ) -> AuditStamp {
        let (agency, handler) = match identity {
            Some(id) => (id.agency, id.handler),
            None => (
                self.settings.public_agency.clone(),
                self.settings.public_handler.clone(),
            ),
        };
        AuditStamp {
            agency,
            handler,
            time: china_now(),
            channel,
            request_id: request.request_id.clone(),
            source_ip: request.source_ip.clone(),
            form_version: def.version,
            content_sha256,
        }
    }
}

/// The path with an API Gateway stage prefix removed, unless the path is a route as it is.
fn resolve_path(request: &ApiRequest) -> String {
    let path = &request.path;
    if known_path(path) {
        return path.clone();
    }
    if let Some(stage) = request
        .stage
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "$default")
    {
        if let Some(rest) = path.strip_prefix(&format!("/{stage}")) {
            if rest.starts_with('/') {
                return rest.to_string();
            }
        }
    }
    path.clone()
}

/// The name of the route a request belongs to, as used in logs and in `App::routes`;
/// a path that is a route for another method keeps that route's name, for the 405.
pub fn route_name(method: &Method, path: &str) -> &'static str {
    let found = route(method, path)
        .or_else(|| route(&Method::POST, path))
        .or_else(|| route(&Method::GET, path));
    match found {
        Some(Route::ListForms) => "forms",
        Some(Route::Definition(_)) => "form-definition",
        Some(Route::Submit(_, Channel::Online)) => "submit",
        Some(Route::Submit(_, Channel::Counter)) => "staff-submit",
        Some(Route::Receipt(_)) => "receipt",
        Some(Route::Upload(_, Channel::Online)) => "upload",
        Some(Route::Upload(_, Channel::Counter)) => "staff-upload",
        None => "unknown",
    }
}

fn submit_path(def: &FormDef, channel: Channel) -> String {
    match channel {
        Channel::Online => format!("/api/forms/{}", def.id),
        Channel::Counter => format!("/api/staff/forms/{}", def.id),
    }
}

fn parse_body(
    def: &FormDef,
    request: &ApiRequest,
) -> Result<(Submission, Controls), (StatusCode, String)> {
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or("").trim();
    match media {
        "application/x-www-form-urlencoded" => {
            submission::from_form(def, &request.body).map_err(|e| (StatusCode::BAD_REQUEST, e.0))
        }
        "application/json" => submission::from_json(def, &request.body)
            .map(|s| (s, Controls::default()))
            .map_err(|e| (StatusCode::BAD_REQUEST, e.0)),
        "" => Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "缺少 Content-Type：请用 application/x-www-form-urlencoded 或 application/json 提交".into())),
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("不支持的内容类型“{}”：请用 application/x-www-form-urlencoded 或 application/json 提交", clip(other)),
        )),
    }
}

/// Longest idempotency key accepted, in characters.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// The `Idempotency-Key` header, if sent. A key that is empty, longer than 200 characters
/// or not visible ASCII is refused rather than cut or ignored: a cut key could match another
/// submission's, and an ignored one would make a retry store the submission twice.
fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_IDEMPOTENCY_KEY
        || !bytes.iter().all(|b| b.is_ascii_graphic())
    {
        return Err("幂等键（Idempotency-Key）应是 1 到 200 个可见的英文字母、数字或符号（不含空格和中文）：请换一个后重新提交");
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("application/json") {
        return true;
    }
    if accept.contains("text/html") {
        return false;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    content_type.starts_with("application/json")
}

fn rejected(
    def: &FormDef,
    submission: &Submission,
    errors: &[FieldError],
    json: bool,
    form_path: &str,
) -> ApiResponse {
    if json {
        let body = json!({ "error": "表单有需要修改的地方", "errors": errors });
        return json_response(StatusCode::UNPROCESSABLE_ENTITY, &body);
    }
    html_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        pages::form_page(def, submission, errors, form_path),
    )
}

fn exempt(def: &FormDef, message: &str, json: bool) -> ApiResponse {
    if json {
        return json_response(
            StatusCode::OK,
            &json!({ "exempt": true, "message": message }),
        );
    }
    html_response(StatusCode::OK, pages::exempt_page(def, message))
}

fn created(reference: &str, json: bool, replayed: bool) -> ApiResponse {
    let receipt = format!("/api/receipts/{reference}");
    let mut response = if json {
        let status = if replayed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        let mut response = json_response(
            status,
            &json!({ "reference": reference, "status": "已受理", "receipt": receipt }),
        );
        if let Ok(location) = HeaderValue::from_str(&receipt) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    } else {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(location) = HeaderValue::from_str(&format!("{receipt}?new=1")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    };
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    with_reference(response, reference)
}

/// Longest reference the look-up form may send (a reference is 14 characters; people add
/// spaces and full-width characters).
const MAX_TYPED_REFERENCE: usize = 100;

/// Checks a receipt's query as the API description gives it: `new` is only ever `1` (just
/// submitted), `reference` (the look-up form's box) at most 100 characters. Any other name is
/// ignored, since shared links pick up tracking parameters. Gives whether `new=1` is there.
fn receipt_query(query: Option<&str>) -> Result<bool, &'static str> {
    let mut just_submitted = false;
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*name {
            "new" if value == "1" => just_submitted = true,
            "new" => return Err("链接中的参数 new 只能是 1：请从受理回执页面重新打开"),
            "reference" if value.chars().count() > MAX_TYPED_REFERENCE => {
                return Err("输入的受理编号太长：受理编号是 12 个字母和数字，如 K7QM-3XRT-9HAP，请核对后重新查询")
            }
            _ => {}
        }
    }
    Ok(just_submitted)
}

/// The look-up form on the site sends `?reference=…`; send the browser to that receipt.
fn lookup_redirect(request: &ApiRequest, json: bool) -> ApiResponse {
    let typed = request
        .query
        .as_deref()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "reference")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let reference = match reference::check(&typed) {
        Ok(reference) => reference,
        Err(problem) => return error_response(json, StatusCode::NOT_FOUND, problem.message()),
    };
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/receipts/{reference}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn too_large(def: &FormDef, record: &Record) -> Option<String> {
    let size = serde_json::to_vec(record)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size <= MAX_RECORD_BYTES {
        return None;
    }
    let largest = record
        .data
        .get("fields")
        .and_then(|f| f.as_object())
        .and_then(|fields| fields.iter().max_by_key(|(_, v)| v.to_string().len()))
        .and_then(|(key, _)| def.field(key))
        .map(|f| f.label.clone())
        .unwrap_or_else(|| "内容".into());
    Some(format!(
        "{largest}过长：整份内容超过 {} KB 的上限，请删减后再提交",
        MAX_RECORD_BYTES / 1024
    ))
}

pub(crate) fn store_failure(json: bool, request_id: &str, error: &StoreError) -> ApiResponse {
    tracing::error!(request_id = %request_id, error = %error, "store failed");
    let message =
        format!("系统暂时无法保存，您的内容没有提交成功，请稍后再试（请求编号 {request_id}）");
    let mut response = error_response(json, StatusCode::SERVICE_UNAVAILABLE, &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    response
}

/// An error as JSON `{"error": …}` or as an HTML page.
pub fn error_response(json: bool, status: StatusCode, message: &str) -> ApiResponse {
    if json {
        json_response(status, &json!({ "error": message }))
    } else {
        html_response(status, pages::message_page(status, message))
    }
}

pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> ApiResponse {
    let mut response = Response::new(serde_json::to_vec(body).unwrap_or_default());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn html_response(status: StatusCode, html: String) -> ApiResponse {
    let mut response = Response::new(html.into_bytes());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

pub(crate) fn with_reference(mut response: ApiResponse, reference: &str) -> ApiResponse {
    if let Ok(value) = HeaderValue::from_str(reference) {
        response.headers_mut().insert("x-reference", value);
    }
    response
}

fn new_idempotency_key() -> String {
    reference::generate().replace('-', "")
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

/// Now in China time, RFC 3339 with `+08:00`.
pub fn china_now() -> String {
    Utc::now()
        .with_timezone(&china())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is valid")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

fn percent_encoding_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
