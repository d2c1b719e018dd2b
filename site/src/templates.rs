//! Tera set-up: the templates, Zola's functions and filters, and an escaper that leaves
//! URLs alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context as _, Result};
use base64::Engine as _;
use chrono::{Datelike, FixedOffset, TimeZone, Utc};
use serde_json::{json, Value};
use sha2::Digest;
use tera::Tera;

use crate::config::Config;
use crate::{cjk, markdown};

/// Site data the template functions look up; replaced as the build goes on.
#[derive(Debug, Default, Clone)]
pub struct Library {
    /// Page values by content path (`guide/online.md`).
    pub pages: HashMap<String, Value>,
    /// Section values by content path (`guide/_index.md`), with content but no pages.
    pub sections: HashMap<String, Value>,
    /// Section values without pages or content, for `metadata_only`.
    pub sections_meta: HashMap<String, Value>,
    /// Each section's pages in order, as content paths.
    pub section_pages: HashMap<String, Vec<String>>,
    /// Permalinks by content path, pages and sections alike.
    pub permalinks: HashMap<String, String>,
}

impl Library {
    /// A section's value with its `pages` filled in. Built on demand: keeping every
    /// section's pages ready would hold each page twice.
    pub fn section_with_pages(&self, path: &str) -> Option<Value> {
        let mut value = self.sections.get(path)?.clone();
        let pages: Vec<Value> = self
            .section_pages
            .get(path)
            .map(|list| {
                list.iter()
                    .filter_map(|p| self.pages.get(p).cloned())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("pages".into(), Value::Array(pages));
        }
        Some(value)
    }
}

/// Files the functions can see: static, generated and co-located.
#[derive(Debug, Default)]
pub struct Files {
    /// The site root, where config.toml is.
    pub root: PathBuf,
    /// The content folder.
    pub content: PathBuf,
    /// The `static/` folder.
    pub static_dir: PathBuf,
    /// Generated files (spreadsheets) by URL path, with their bytes.
    pub generated: HashMap<String, Arc<Vec<u8>>>,
    /// Co-located files by URL path.
    pub assets: HashMap<String, PathBuf>,
}

impl Files {
    /// The bytes of the output file at `url_path`, wherever it comes from.
    pub fn read(&self, url_path: &str) -> Option<Vec<u8>> {
        let key = format!("/{}", url_path.trim_start_matches('/'));
        if let Some(bytes) = self.generated.get(&key) {
            return Some(bytes.as_ref().clone());
        }
        if let Some(file) = self.assets.get(&key) {
            return std::fs::read(file).ok();
        }
        let relative = key.trim_start_matches('/');
        if relative.split('/').any(|part| part == "..") {
            return None;
        }
        std::fs::read(self.static_dir.join(relative)).ok()
    }
}

/// Tera with the site's templates and functions, and the data those functions read.
pub struct Templates {
    /// The Tera instance.
    pub tera: Tera,
    /// What `get_page` and `get_section` read.
    pub library: Arc<RwLock<Arc<Library>>>,
    /// What `get_url`, `file_info` and `get_hash` read.
    pub files: Arc<RwLock<Arc<Files>>>,
}

impl Templates {
    /// Loads `templates/**` under `root` and registers the functions.
    pub fn load(root: &Path, config: &Config) -> Result<Templates> {
        let dir = root.join("templates");
        let mut tera = Tera::default();
        if dir.is_dir() {
            let glob = format!("{}/**/*", dir.display());
            tera = Tera::parse(&glob).map_err(|e| {
                anyhow::anyhow!("模板有语法错误：{}。请按 Tera 语法修改", error_chain(&e))
            })?;
            tera.build_inheritance_chains().map_err(|e| {
                anyhow::anyhow!(
                    "模板继承有误：{}。请检查 extends 和 block 名称",
                    error_chain(&e)
                )
            })?;
        }
        tera.autoescape_on(vec![".html", ".htm", ".xml"]);
        tera.set_escape_fn(escape_html);
        let library: Arc<RwLock<Arc<Library>>> = Default::default();
        let files = Arc::new(RwLock::new(Arc::new(Files {
            root: root.to_path_buf(),
            content: config.content_path(root),
            static_dir: root.join("static"),
            ..Files::default()
        })));
        register(&mut tera, config, &library, &files);
        Ok(Templates {
            tera,
            library,
            files,
        })
    }

    /// Renders a template, with the whole chain of causes in the error.
    pub fn render(&self, name: &str, context: &tera::Context) -> Result<String> {
        self.tera
            .render(name, context)
            .map_err(|e| anyhow::anyhow!("渲染模板 `{name}` 失败：{}", error_chain(&e)))
    }

    /// Whether a template exists.
    pub fn has(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|n| n == name)
    }
}

/// Joins an error and its causes into one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push('：');
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Escapes text for HTML without touching `/`, so URLs in attributes stay readable; the
/// form pages use the same escaper.
pub use beian_functions::pages::escape as escape_html;

fn register(
    tera: &mut Tera,
    config: &Config,
    library: &Arc<RwLock<Arc<Library>>>,
    files: &Arc<RwLock<Arc<Files>>>,
) {
    let lib = library.clone();
    tera.register_function("get_page", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "get_page")?;
        let lib = lib.read().unwrap().clone();
        lib.pages
            .get(path.trim_start_matches("@/"))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "get_page：找不到页面 `{path}`，请写内容目录下的相对路径，例如 guide/online.md"
                )
                .into()
            })
    });

    let lib = library.clone();
    tera.register_function("get_section", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "get_section")?;
        let path = path.trim_start_matches("@/");
        let metadata_only = args
            .get("metadata_only")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let lib = lib.read().unwrap().clone();
        let found = if metadata_only {
            lib.sections_meta.get(path).cloned()
        } else {
            lib.section_with_pages(path)
        };
        found.ok_or_else(|| {
            format!("get_section：找不到栏目 `{path}`，请写成 guide/_index.md 这样的路径").into()
        })
    });

    let lib = library.clone();
    let fs = files.clone();
    let cfg = config.clone();
    tera.register_function("get_url", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "get_url")?;
        if let Some(target) = path.strip_prefix("@/") {
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let lib = lib.read().unwrap().clone();
            let link = lib.permalinks.get(file).ok_or_else(|| {
                tera::Error::msg(format!("get_url：找不到内容文件 `@/{file}`，请检查路径"))
            })?;
            let link = if fragment.is_empty() {
                link.clone()
            } else {
                format!("{link}#{fragment}")
            };
            return Ok(Value::String(link));
        }
        let mut url = cfg.make_permalink(&path);
        if args
            .get("trailing_slash")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            && !url.ends_with('/')
        {
            url.push('/');
        }
        if args
            .get("cachebust")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            let files = fs.read().unwrap().clone();
            let bytes = files.read(&path).ok_or_else(|| {
                tera::Error::msg(format!(
                    "get_url：cachebust 找不到文件 `{path}`，请确认它在 static/ 中"
                ))
            })?;
            let hash = hex(&sha2::Sha256::digest(&bytes));
            url = format!("{url}?h={}", &hash[..20]);
        }
        Ok(Value::String(url))
    });

    let fs = files.clone();
    let cache: Arc<Mutex<HashMap<String, Value>>> = Default::default();
    tera.register_function("load_data", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "load_data")?;
        if let Some(hit) = cache.lock().unwrap().get(&path) {
            return Ok(hit.clone());
        }
        let files = fs.read().unwrap().clone();
        let value = load_data(&files, &path, args.get("format").and_then(Value::as_str))
            .map_err(|e| tera::Error::msg(format!("load_data：{e:#}")))?;
        cache.lock().unwrap().insert(path, value.clone());
        Ok(value)
    });

    let fs = files.clone();
    tera.register_function("get_hash", move |args: &HashMap<String, Value>| {
        let bytes = if let Some(literal) = args.get("literal").and_then(Value::as_str) {
            literal.as_bytes().to_vec()
        } else {
            let path = string_arg(args, "path", "get_hash")?;
            let files = fs.read().unwrap().clone();
            files
                .read(&path)
                .or_else(|| std::fs::read(files.root.join(&path)).ok())
                .ok_or_else(|| tera::Error::msg(format!("get_hash：找不到文件 `{path}`")))?
        };
        let sha = args.get("sha_type").and_then(Value::as_u64).unwrap_or(384);
        let digest = match sha {
            256 => sha2::Sha256::digest(&bytes).to_vec(),
            384 => sha2::Sha384::digest(&bytes).to_vec(),
            512 => sha2::Sha512::digest(&bytes).to_vec(),
            other => {
                return Err(
                    format!("get_hash：sha_type 只能是 256、384 或 512，不是 {other}").into(),
                )
            }
        };
        let base64 = args.get("base64").and_then(Value::as_bool).unwrap_or(true);
        Ok(Value::String(if base64 {
            base64::engine::general_purpose::STANDARD.encode(digest)
        } else {
            hex(&digest)
        }))
    });

    let fs = files.clone();
    tera.register_function("file_info", move |args: &HashMap<String, Value>| {
        let path = string_arg(args, "path", "file_info")?;
        let files = fs.read().unwrap().clone();
        let bytes = files.read(&path).ok_or_else(|| {
            tera::Error::msg(format!(
                "file_info：找不到文件 `{path}`，请写它在网站上的路径"
            ))
        })?;
        Ok(file_info(&path, bytes.len()))
    });

    tera.register_function("today", |_: &HashMap<String, Value>| Ok(today()));

    let fs = files.clone();
    let forms: Arc<Mutex<Option<Arc<beian_functions::forms::Forms>>>> = Default::default();
    tera.register_function("form_html", move |args: &HashMap<String, Value>| {
        let id = string_arg(args, "id", "form_html")?;
        let forms = load_forms(&fs, &forms)?;
        let def = forms.get(&id).ok_or_else(|| {
            tera::Error::msg(format!(
                "form_html：content/forms/ 中没有 id 为 `{id}` 的表单定义"
            ))
        })?;
        let action = format!("/api/forms/{id}");
        let empty = beian_functions::submission::Submission::default();
        let mut html = beian_functions::pages::form_fragment(def, &empty, &[], &action);
        // The definition travels with the page so the browser checks the same rules.
        html.push_str(&beian_functions::pages::browser_data(def));
        Ok(Value::String(html))
    });

    let fs = files.clone();
    let upload_forms: Arc<Mutex<Option<Arc<beian_functions::forms::Forms>>>> = Default::default();
    tera.register_function("upload_form_html", move |args: &HashMap<String, Value>| {
        let id = string_arg(args, "id", "upload_form_html")?;
        let forms = load_forms(&fs, &upload_forms)?;
        let def = forms.get(&id).ok_or_else(|| {
            tera::Error::msg(format!(
                "upload_form_html：content/forms/ 中没有 id 为 `{id}` 的表单定义"
            ))
        })?;
        if def.groups.is_empty() {
            return Err(tera::Error::msg(format!(
                "upload_form_html：表单 `{id}` 没有按行填写的分组，不能上传电子表格"
            )));
        }
        let settings = beian_functions::api::Settings::from_env();
        let limits = beian_functions::pages::UploadLimits {
            max_bytes: settings.max_upload_bytes,
            max_rows: beian_functions::import::MAX_ROWS,
        };
        let action = format!("/api/forms/{id}/upload");
        let empty = beian_functions::submission::Submission::default();
        Ok(Value::String(beian_functions::pages::upload_fragment(
            def,
            &empty,
            &[],
            &action,
            limits,
        )))
    });

    tera.register_filter(
        "markdown",
        |value: &Value, args: &HashMap<String, Value>| {
            let text = value.as_str().ok_or("markdown 过滤器只能用于文字")?;
            let inline = args.get("inline").and_then(Value::as_bool).unwrap_or(false);
            Ok(Value::String(markdown::render_fragment(text, inline)))
        },
    );
    tera.register_filter("wordcount", |value: &Value, _: &HashMap<String, Value>| {
        let text = value.as_str().ok_or("wordcount 过滤器只能用于文字")?;
        Ok(json!(cjk::word_count(text)))
    });
}

/// Reads `content/forms/*.toml` once per build.
fn load_forms(
    files: &Arc<RwLock<Arc<Files>>>,
    cache: &Mutex<Option<Arc<beian_functions::forms::Forms>>>,
) -> tera::Result<Arc<beian_functions::forms::Forms>> {
    let mut slot = cache.lock().unwrap();
    if let Some(forms) = slot.as_ref() {
        return Ok(forms.clone());
    }
    let dir = files.read().unwrap().content.join("forms");
    let forms = beian_functions::forms::Forms::load_dir(&dir)
        .map_err(|e| tera::Error::msg(format!("form_html：{e:#}")))?;
    let forms = Arc::new(forms);
    *slot = Some(forms.clone());
    Ok(forms)
}

fn string_arg(args: &HashMap<String, Value>, name: &str, function: &str) -> tera::Result<String> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{function} 需要文字参数 `{name}`，例如 {name}=\"…\"").into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a data file for `load_data`: beside the content first, then from the site root.
fn load_data(files: &Files, path: &str, format: Option<&str>) -> Result<Value> {
    if path.split('/').any(|p| p == "..") {
        anyhow::bail!("路径 `{path}` 不能含 `..`");
    }
    let candidates = [files.content.join(path), files.root.join(path)];
    let file = candidates
        .iter()
        .find(|p| p.is_file())
        .with_context(|| format!("找不到数据文件 `{path}`：路径相对于内容目录或站点根目录"))?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("数据文件 `{path}` 不是 UTF-8 文本"))?;
    let text = crate::config::strip_bom(&text);
    let format = format.map(str::to_string).unwrap_or_else(|| {
        file.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    });
    match format.as_str() {
        "toml" => {
            let value: toml::Value =
                toml::from_str(&text).with_context(|| format!("`{path}` 不是有效的 TOML"))?;
            Ok(serde_json::to_value(value)?)
        }
        "json" => serde_json::from_str(&text).with_context(|| format!("`{path}` 不是有效的 JSON")),
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
            let mut records = Vec::new();
            for record in reader.records() {
                let record = record.with_context(|| format!("`{path}` 的 CSV 格式有误"))?;
                records.push(record.iter().map(str::to_string).collect::<Vec<_>>());
            }
            Ok(json!({ "headers": headers, "records": records }))
        }
        "plain" | "txt" | "md" | "html" => Ok(Value::String(text.into_owned())),
        other => anyhow::bail!("不支持的数据格式 `{other}`：请用 toml、json、csv 或 plain"),
    }
}

/// Size and kind of a downloadable file, in the words shown to a reader.
pub fn file_info(path: &str, size: usize) -> Value {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    let kind = match ext.as_str() {
        "xlsx" => "Excel 工作簿",
        "xls" => "Excel 97-2003 工作簿",
        "csv" => "CSV 表格",
        "pdf" => "PDF 文档",
        "doc" | "docx" => "Word 文档",
        "zip" => "ZIP 压缩包",
        "mp4" => "MP4 视频",
        "svg" => "SVG 图像",
        "png" | "jpg" | "jpeg" => "图片",
        _ => "文件",
    };
    json!({ "size": size, "size_text": size_text(size), "ext": ext, "kind": kind })
}

/// A file size such as `12.3 KB`.
pub fn size_text(size: usize) -> String {
    if size < 1024 {
        format!("{size} 字节")
    } else if size < 1024 * 1024 {
        format!("{:.1} KB", size as f64 / 1024.0)
    } else {
        format!("{:.1} MB", size as f64 / (1024.0 * 1024.0))
    }
}

/// Today's date in China (UTC+8); `SOURCE_DATE_EPOCH` fixes it for reproducible builds.
pub fn today() -> Value {
    let china = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .unwrap_or_else(Utc::now)
        .with_timezone(&china);
    json!({
        "year": now.year(),
        "month": now.month(),
        "day": now.day(),
        "iso": now.format("%Y-%m-%d").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_slashes_and_escapes_markup() {
        assert_eq!(
            escape_html("https://example.com/zh/about/"),
            "https://example.com/zh/about/"
        );
        assert_eq!(
            escape_html("研发 & 测试 <内部>"),
            "研发 &amp; 测试 &lt;内部&gt;"
        );
    }

    #[test]
    fn truncate_respects_graphemes_and_wordcount_counts_chinese() {
        let mut templates = Templates::load(Path::new("/nonexistent"), &Config::default()).unwrap();
        templates
            .tera
            .add_raw_template("t.html", "{{ s | truncate(length=4) }}|{{ s | wordcount }}")
            .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("s", "员工手册第二版修订说明👩‍💻");
        assert_eq!(templates.render("t.html", &ctx).unwrap(), "员工手册…|11");
    }

    #[test]
    fn today_honours_source_date_epoch_in_china_time() {
        // 2026-03-31T16:30:00Z is already 1 April in China.
        std::env::set_var("SOURCE_DATE_EPOCH", "1774974600");
        let value = today();
        std::env::remove_var("SOURCE_DATE_EPOCH");
        assert_eq!(value["iso"], "2026-04-01");
    }

    #[test]
    fn file_info_names_kind_and_size() {
        let info = file_info("/downloads/a.xlsx", 12_595);
        assert_eq!(info["kind"], "Excel 工作簿");
        assert_eq!(info["size_text"], "12.3 KB");
    }
}
