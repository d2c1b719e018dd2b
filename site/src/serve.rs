//! `beian serve`: builds the site into memory, serves it on a local address and reloads
//! the browser when content, templates or static files change.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::State;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use beian_functions::api::{ApiRequest, App, Settings, StaffIdentity};
use beian_functions::forms::Forms;
use beian_functions::store::embedded::EmbeddedStore;
use notify::{RecursiveMode, Watcher};
use tokio::sync::broadcast;

use crate::config::Config;
use crate::output::MemoryOutput;
use crate::site::Site;

/// The script every HTML page gets while served, to reload on a rebuild.
const RELOAD_SCRIPT: &str = "<script>(function(){var s=new EventSource('/__livereload');\
s.onmessage=function(){location.reload();};})();</script>";

/// The built files, shared between the server and the rebuilder.
pub type Files = Arc<RwLock<HashMap<String, Arc<Vec<u8>>>>>;

/// The current form handlers, swapped when `content/forms/` changes.
pub type ApiSlot = Arc<RwLock<Option<Arc<App>>>>;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ServerState {
    /// The latest build's files.
    pub files: Files,
    /// Tells browsers to reload.
    pub reload: broadcast::Sender<u64>,
    /// The form handlers mounted at `/api`, with the embedded store; replaced when a form
    /// definition changes.
    pub api: ApiSlot,
    /// The identity stamped on staff submissions made through this local server.
    pub staff: Option<StaffIdentity>,
    /// Turns true when the server is asked to stop, ending the live-reload streams that
    /// open browser tabs hold, so Ctrl+C stops the server at once.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Settings for `serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The site root.
    pub root: PathBuf,
    /// Address to listen on.
    pub interface: String,
    /// Port to listen on.
    pub port: u16,
    /// The embedded store's file.
    pub store: PathBuf,
    /// The identity for staff submissions (窗口代录) made locally; none refuses them.
    pub staff: Option<StaffIdentity>,
}

/// Builds once, serves, and rebuilds on every change until interrupted.
pub async fn run(options: ServeOptions) -> Result<()> {
    let mut config = Config::load(&options.root)?;
    config.base_url = "/".into();
    let files: Files = Default::default();
    let (reload, _) = broadcast::channel(16);
    let site = Arc::new(Mutex::new(Site::load_with(&options.root, config.clone())?));
    rebuild(&site, &files, None)?;

    let store = EmbeddedStore::open(&options.store).with_context(|| {
        format!(
            "无法打开数据文件 `{}`：可能另一个 beian serve 或 beian export 正在使用它，请先停止那个程序；\
             也可能目录不可写，可用 --store 换一个位置",
            options.store.display()
        )
    })?;
    let forms_dir = config.content_path(&options.root).join("forms");
    let forms = if forms_dir.is_dir() {
        Forms::load_dir(&forms_dir)?
    } else {
        Forms::default()
    };
    let api = App {
        forms: Arc::new(forms),
        store: Arc::new(store),
        settings: Settings::from_env(),
        routes: None,
    };
    let api_slot: ApiSlot = Arc::new(RwLock::new(Some(Arc::new(api))));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = ServerState {
        stopping,
        files: files.clone(),
        reload: reload.clone(),
        api: api_slot.clone(),
        staff: options.staff.clone(),
    };
    let app = router(state);
    let addr: SocketAddr = format!("{}:{}", options.interface, options.port)
        .parse()
        .with_context(|| format!("地址 `{}:{}` 无效", options.interface, options.port))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("无法监听 {addr}：端口可能已被占用，请用 --port 换一个"))?;
    println!("网站已启动：http://{addr}/ （按 Ctrl+C 停止）");

    let watch_root = options.root.clone();
    let content_dir = config.content_path(&options.root);
    std::thread::spawn(move || {
        if let Err(e) = watch(&watch_root, &content_dir, site, files, reload, api_slot) {
            eprintln!("文件监视停止：{e:#}");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown(stop))
    .await?;
    Ok(())
}

async fn shutdown(stop: tokio::sync::watch::Sender<bool>) {
    let _ = tokio::signal::ctrl_c().await;
    println!("正在停止……");
    let _ = stop.send(true);
}

/// The router for built files and the live-reload stream; `/api` is mounted beside it.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/__livereload", get(live_reload))
        .route("/api", any(api))
        .route("/api/{*rest}", any(api))
        .fallback(get(serve_file))
        .with_state(state)
}

async fn live_reload(State(state): State<ServerState>) -> Response {
    let mut receiver = state.reload.subscribe();
    let mut stopping = state.stopping.clone();
    let stream = async_stream(move |tx| async move {
        loop {
            let next = tokio::select! {
                next = receiver.recv() => next,
                _ = stopping.wait_for(|stop| *stop) => break,
            };
            match next {
                Ok(n) => {
                    if tx.send(format!("data: {n}\n\n")).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(stream)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A streaming body fed by a task that sends text chunks.
fn async_stream<F, Fut>(producer: F) -> Body
where
    F: FnOnce(tokio::sync::mpsc::Sender<String>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(4);
    tokio::spawn(producer(tx));
    let stream = futures_stream(rx);
    Body::from_stream(stream)
}

fn futures_stream(
    rx: tokio::sync::mpsc::Receiver<String>,
) -> impl futures_core::Stream<Item = Result<String, std::convert::Infallible>> {
    struct Receiver(tokio::sync::mpsc::Receiver<String>);
    impl futures_core::Stream for Receiver {
        type Item = Result<String, std::convert::Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|o| o.map(Ok))
        }
    }
    Receiver(rx)
}

/// Hands `/api/…` requests to the form handlers, as API Gateway would.
async fn api(State(state): State<ServerState>, request: Request) -> Response {
    let connect = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .cloned();
    let current = state.api.read().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(app) = current else {
        return (StatusCode::NOT_FOUND, "表单服务未启用").into_response();
    };
    let (parts, body) = request.into_parts();
    // The handlers say what is too large (413 with the limit); a body past the larger of the
    // two limits is cut off here and arrives one byte over, so they refuse it.
    let limit = app
        .settings
        .max_body_bytes
        .max(app.settings.max_upload_bytes);
    let body = match axum::body::to_bytes(body, limit + 1).await {
        Ok(bytes) => bytes,
        Err(_) => bytes::Bytes::from(vec![0u8; limit + 1]),
    };
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        stage: None,
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        source_ip: connect
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".into()),
        request_id: request_id(),
        identity: state.staff.clone(),
    };
    let response = app.handle(request).await;
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::from(body))
}

/// A random request id, as API Gateway gives one.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("local-{nanos:x}-{n}")
}

async fn serve_file(State(state): State<ServerState>, uri: Uri) -> Response {
    let path = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let key = path.trim_start_matches('/');
    let files = state
        .files
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let lookup = if key.is_empty() || key.ends_with('/') {
        format!("{key}index.html")
    } else {
        key.to_string()
    };
    if let Some(bytes) = files.get(&lookup) {
        return file_response(StatusCode::OK, &lookup, bytes);
    }
    if files.contains_key(&format!("{key}/index.html")) {
        let location = format!("{}/", uri.path());
        return Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, location)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::NOT_FOUND.into_response());
    }
    match files.get("404.html") {
        Some(bytes) => file_response(StatusCode::NOT_FOUND, "404.html", bytes),
        None => (StatusCode::NOT_FOUND, "页面不存在").into_response(),
    }
}

fn file_response(status: StatusCode, path: &str, bytes: &Arc<Vec<u8>>) -> Response {
    let mime = content_type(path);
    let body = if mime.starts_with("text/html") {
        let html = String::from_utf8_lossy(bytes);
        let injected = match html.rfind("</body>") {
            Some(at) => format!("{}{RELOAD_SCRIPT}{}", &html[..at], &html[at..]),
            None => format!("{html}{RELOAD_SCRIPT}"),
        };
        Body::from(injected)
    } else {
        Body::from(bytes.as_ref().clone())
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The media type for a file name.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Builds the site into `files`. With `changed`, edits to page bodies re-render only
/// those pages and the pages that list them; anything else rebuilds everything.
pub fn rebuild(site: &Arc<Mutex<Site>>, files: &Files, changed: Option<&[PathBuf]>) -> Result<()> {
    let started = Instant::now();
    let mut site = site.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(paths) = changed {
        if let Some(updates) = quick_rebuild(&mut site, paths) {
            let mut map = files.write().unwrap_or_else(|e| e.into_inner());
            for (path, bytes) in updates {
                map.insert(path, Arc::new(bytes));
            }
            println!(
                "已更新 {} 个文件，用时 {} 毫秒",
                paths.len(),
                started.elapsed().as_millis()
            );
            return Ok(());
        }
        let root = site.root.clone();
        let mut config = Config::load(&root)?;
        config.base_url = "/".into();
        *site = Site::load_with(&root, config)?;
    }
    let output = MemoryOutput::default();
    let report = site.build(&output)?;
    *files.write().unwrap_or_else(|e| e.into_inner()) = output.into_files();
    for problem in &report.problems {
        eprintln!("问题：{problem}");
    }
    println!(
        "已构建 {} 个页面、{} 个栏目，用时 {} 毫秒",
        report.pages,
        report.sections,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Re-renders edited pages alone when only their bodies changed; `None` asks for a full
/// build.
fn quick_rebuild(site: &mut Site, paths: &[PathBuf]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut indices = Vec::new();
    for path in paths {
        indices.push(site.reload_page(path)?);
    }
    let mut updates = Vec::new();
    for index in indices {
        match site.rebuild_page(index) {
            Ok(files) => updates.extend(files),
            Err(_) => return None,
        }
    }
    Some(updates)
}

/// Reads the form definitions again and swaps in handlers that use them, on the same store.
/// A definition with a mistake keeps the old handlers and says why.
fn reload_forms(dir: &Path, api: &ApiSlot) {
    let forms = match Forms::load_dir(dir) {
        Ok(forms) => forms,
        Err(e) => {
            eprintln!("表单定义有误，继续使用原来的定义：{e:#}");
            return;
        }
    };
    let mut slot = api.write().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.as_ref() {
        let fresh = App {
            forms: Arc::new(forms),
            store: old.store.clone(),
            settings: old.settings.clone(),
            routes: old.routes,
        };
        *slot = Some(Arc::new(fresh));
        println!("已重新读取表单定义");
    }
}

fn watch(
    root: &Path,
    content: &Path,
    site: Arc<Mutex<Site>>,
    files: Files,
    reload: broadcast::Sender<u64>,
    api: ApiSlot,
) -> Result<()> {
    let forms_dir = content
        .join("forms")
        .canonicalize()
        .unwrap_or_else(|_| content.join("forms"));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx)?;
    for dir in [
        content.to_path_buf(),
        root.join("templates"),
        root.join("static"),
    ] {
        if dir.is_dir() {
            watcher.watch(&dir, RecursiveMode::Recursive)?;
        }
    }
    watcher.watch(&root.join("config.toml"), RecursiveMode::NonRecursive)?;
    let mut generation = 0u64;
    while let Ok(event) = rx.recv() {
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut collect = |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                if !matches!(event.kind, notify::EventKind::Access(_)) {
                    paths.extend(event.paths);
                }
            }
        };
        collect(event);
        // Editors write a file in several steps; gather the burst before building.
        while let Ok(event) = rx.recv_timeout(Duration::from_millis(5)) {
            collect(event);
        }
        paths.retain(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        });
        paths.sort();
        paths.dedup();
        if paths.is_empty() {
            continue;
        }
        if paths.iter().any(|p| p.starts_with(&forms_dir)) {
            reload_forms(&forms_dir, &api);
        }
        match rebuild(&site, &files, Some(&paths)) {
            Ok(()) => {
                generation += 1;
                let _ = reload.send(generation);
            }
            Err(e) => eprintln!("重新构建失败：{e:#}"),
        }
    }
    Ok(())
}
