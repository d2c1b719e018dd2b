//! The Lambda side: turns API Gateway events (HTTP API v2 and REST v1, through
//! `lambda_http`) into `ApiRequest`s and responses back, and runs the handlers.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};

use crate::api::{ApiRequest, ApiResponse, App, Settings, StaffIdentity};
use crate::forms::Forms;
use crate::store::dynamo::DynamoStore;

/// The claims that carry a member of staff's office and name in the JWT.
pub const AGENCY_CLAIM: &str = "custom:agency";
/// The claim with the member of staff's name.
pub const HANDLER_CLAIM: &str = "name";

/// Converts a Lambda request. The body arrives already base64-decoded as `Body::Binary`
/// when API Gateway set `isBase64Encoded`; text and binary are treated alike.
pub fn to_api_request(request: lambda_http::Request) -> ApiRequest {
    let context = request.request_context_ref().cloned();
    let query = request.uri().query().map(str::to_string);
    let (stage, request_id, source_ip, claims) = match &context {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.stage.clone(),
            ctx.request_id.clone(),
            ctx.http.source_ip.clone(),
            ctx.authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| jwt.claims.clone()),
        ),
        Some(RequestContext::ApiGatewayV1(ctx)) => (
            ctx.stage.clone(),
            ctx.request_id.clone(),
            ctx.identity.source_ip.clone(),
            ctx.authorizer.jwt.as_ref().map(|jwt| jwt.claims.clone()),
        ),
        _ => (None, None, None, None),
    };
    let identity = claims.and_then(|claims| {
        let agency = claims.get(AGENCY_CLAIM)?.trim().to_string();
        let handler = claims.get(HANDLER_CLAIM)?.trim().to_string();
        (!agency.is_empty() && !handler.is_empty()).then_some(StaffIdentity { agency, handler })
    });
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text.into_bytes()),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        stage,
        query,
        headers: parts.headers,
        body,
        source_ip: source_ip.unwrap_or_default(),
        request_id: request_id.unwrap_or_default(),
        identity,
    }
}

/// Converts a response: text types as text, anything else as binary.
pub fn to_lambda_response(response: ApiResponse) -> lambda_http::Response<Body> {
    let (parts, body) = response.into_parts();
    let is_text = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/") || t.starts_with("application/json"));
    let body = if body.is_empty() {
        Body::Empty
    } else if is_text {
        match String::from_utf8(body) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    } else {
        Body::Binary(body)
    };
    lambda_http::Response::from_parts(parts, body)
}

/// Logs as JSON lines for CloudWatch, with no colour codes; `RUST_LOG` sets the level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .try_init();
}

/// The handlers as one Lambda function runs them: forms compiled in, DynamoDB from the
/// environment (`BEIAN_TABLE`), limits at their defaults, only `routes` answered.
pub async fn app_from_env(routes: &'static [&'static str]) -> App {
    let store = DynamoStore::from_env().await;
    App {
        forms: Arc::new(Forms::embedded().clone()),
        store: Arc::new(store),
        settings: Settings::from_env(),
        routes: Some(routes),
    }
}

/// Runs a Lambda function that serves `app`.
pub async fn run(app: App) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| {
            let app = app.clone();
            async move {
                let response = app.handle(to_api_request(request)).await;
                Ok::<_, std::convert::Infallible>(to_lambda_response(response))
            }
        },
    ))
    .await
}
