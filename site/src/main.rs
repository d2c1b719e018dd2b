//! `beian`: builds, serves and checks the site, with Zola's command-line shape.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::sync::Arc;

use beian_functions::api::StaffIdentity;
use beian_functions::export;
use beian_functions::forms::Forms;
use beian_functions::store::embedded::EmbeddedStore;
use beian_functions::store::Store;
use beian_site::config::Config;
use beian_site::output::{DiskOutput, MemoryOutput};
use beian_site::serve::{self, ServeOptions};
use beian_site::site::{self, Report, Site};

/// Builds the labour employment filing site from Zola-format content.
#[derive(Parser)]
#[command(
    name = "beian",
    version,
    about = "劳动用工备案网站生成器（兼容 Zola 的内容格式）"
)]
struct Cli {
    /// The site root (where config.toml is); default `.`, or `site/` when that holds it.
    #[arg(short, long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Builds the site into a folder.
    Build {
        /// Output folder (default `public`).
        #[arg(short, long, default_value = "public")]
        output_dir: PathBuf,
        /// Replaces `base_url` from config.toml.
        #[arg(short = 'u', long)]
        base_url: Option<String>,
    },
    /// Serves the site with live reload.
    Serve {
        /// Address to listen on.
        #[arg(short, long, default_value = "127.0.0.1")]
        interface: String,
        /// Port to listen on.
        #[arg(short, long, default_value_t = 1111)]
        port: u16,
        /// The embedded store's file, where form submissions are kept.
        #[arg(long, default_value = "data/beian.redb")]
        store: PathBuf,
        /// 经办机构 stamped on staff submissions (窗口代录) through this local server.
        #[arg(long, env = "BEIAN_STAFF_AGENCY")]
        staff_agency: Option<String>,
        /// 经办人 stamped on staff submissions through this local server.
        #[arg(long, env = "BEIAN_STAFF_HANDLER")]
        staff_handler: Option<String>,
    },
    /// Builds in memory and reports every problem; fails if there is any.
    Check,
    /// Exports a form's submissions for staff, from the embedded store or DynamoDB.
    Export {
        /// The form's id, such as staff-filing.
        #[arg(long)]
        form: String,
        /// csv (UTF-8 with BOM, for Excel) or xlsx.
        #[arg(long, value_enum, default_value = "xlsx")]
        format: ExportFormat,
        /// Only submissions stamped on or after this date (2026-12-01).
        #[arg(long)]
        since: Option<String>,
        /// The embedded store's file.
        #[arg(long, default_value = "data/beian.redb")]
        store: PathBuf,
        /// Read from this DynamoDB table instead (needs the `dynamodb` feature).
        #[arg(long)]
        dynamodb_table: Option<String>,
        /// The file to write (default export-FORM-DATE.EXT beside the store file).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Export file formats.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    /// Comma-separated values, UTF-8 with a BOM.
    Csv,
    /// Excel workbook.
    Xlsx,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let root = site::find_root(cli.root.as_deref());
    let result = match cli.command {
        Command::Build {
            output_dir,
            base_url,
        } => build(&root, &output_dir, base_url),
        Command::Serve {
            interface,
            port,
            store,
            staff_agency,
            staff_handler,
        } => {
            let staff = match (staff_agency, staff_handler) {
                (Some(agency), Some(handler)) => Some(StaffIdentity { agency, handler }),
                _ => None,
            };
            serve(ServeOptions {
                root,
                interface,
                port,
                store,
                staff,
            })
        }
        Command::Check => check(&root),
        Command::Export {
            form,
            format,
            since,
            store,
            dynamodb_table,
            output,
        } => export(&root, &form, format, since, &store, dynamodb_table, output),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e}");
            for cause in e.chain().skip(1) {
                eprintln!("  原因：{cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn build(root: &Path, output_dir: &Path, base_url: Option<String>) -> Result<ExitCode> {
    let started = Instant::now();
    let mut config = Config::load(root)?;
    if let Some(url) = base_url {
        config.base_url = url;
    }
    let mut site = Site::load_with(root, config)?;
    println!(
        "正在生成 {} 个页面和 {} 个栏目",
        site.content.pages.len(),
        site.content.sections.len()
    );
    clear_output(output_dir, root)?;
    let report = site.build(&DiskOutput {
        dir: output_dir.to_path_buf(),
    })?;
    let ok = print_problems(&report);
    if !site.config.base_url.contains("://") {
        println!("提示：base_url 不是完整网址，sitemap.xml 和 robots.txt 中的地址将是相对地址；发布时请用 --base-url https://… 构建");
    }
    println!(
        "已写入 {} 个文件到 `{}`，用时 {} 毫秒",
        report.files,
        output_dir.display(),
        started.elapsed().as_millis()
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn clear_output(output_dir: &Path, root: &Path) -> Result<()> {
    if !output_dir.exists() {
        return Ok(());
    }
    if output_dir.join("config.toml").exists()
        || output_dir.canonicalize().ok() == root.canonicalize().ok()
    {
        anyhow::bail!(
            "输出目录 `{}` 看起来是站点源目录，不能清空：请换一个 --output-dir",
            output_dir.display()
        );
    }
    std::fs::remove_dir_all(output_dir)
        .with_context(|| format!("无法清空输出目录 `{}`", output_dir.display()))
}

fn check(root: &Path) -> Result<ExitCode> {
    let mut site = Site::load(root)?;
    let report = site.build(&MemoryOutput::default())?;
    let ok = print_problems(&report);
    if ok {
        println!(
            "检查通过：{} 个页面、{} 个栏目、{} 个文件，链接和锚点都有效",
            report.pages, report.sections, report.files
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_problems(report: &Report) -> bool {
    for problem in &report.problems {
        eprintln!("问题：{problem}");
    }
    if !report.problems.is_empty() {
        eprintln!(
            "共发现 {} 个问题，请按提示修改后重试",
            report.problems.len()
        );
    }
    report.problems.is_empty()
}

fn serve(options: ServeOptions) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("无法启动异步运行时")?;
    runtime.block_on(serve::run(options))?;
    Ok(ExitCode::SUCCESS)
}

fn export(
    root: &Path,
    form: &str,
    format: ExportFormat,
    since: Option<String>,
    store: &Path,
    dynamodb_table: Option<String>,
    output: Option<PathBuf>,
) -> Result<ExitCode> {
    let config = Config::load(root)?;
    let forms = Forms::load_dir(&config.content_path(root).join("forms"))?;
    let def = forms.get(form).with_context(|| {
        let ids: Vec<&str> = forms.by_id.keys().map(String::as_str).collect();
        format!("没有 id 为 `{form}` 的表单：可选的有 {}", ids.join("、"))
    })?;
    if let Some(date) = &since {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .with_context(|| format!("--since `{date}` 不是日期：请写成 2026-12-01"))?;
    }
    let runtime = tokio::runtime::Runtime::new().context("无法启动异步运行时")?;
    let records = runtime.block_on(async {
        let store: Arc<dyn Store> = match dynamodb_table {
            Some(table) => dynamodb_store(table).await?,
            None => {
                if !store.exists() {
                    anyhow::bail!(
                        "找不到数据文件 `{}`：请用 --store 指定 beian serve 使用的文件",
                        store.display()
                    );
                }
                Arc::new(EmbeddedStore::open(store).with_context(|| {
                    format!(
                        "无法打开 `{}`：如果 beian serve 正在运行，请先停止它再导出",
                        store.display()
                    )
                })?)
            }
        };
        // Rows of an upload that was interrupted stay out until it is resumed.
        let records = store.list(form, since.as_deref()).await?;
        Ok::<_, anyhow::Error>(beian_functions::store::settled(store.as_ref(), records).await?)
    })?;
    let (bytes, ext) = match format {
        ExportFormat::Csv => (export::to_csv(def, &records)?, "csv"),
        ExportFormat::Xlsx => (export::to_xlsx(def, &records)?, "xlsx"),
    };
    let today = beian_functions::api::today().format("%Y%m%d");
    // By default next to the store, which is kept out of version control.
    let output = output.unwrap_or_else(|| {
        let dir = store
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        dir.join(format!("export-{form}-{today}.{ext}"))
    });
    std::fs::write(&output, bytes).with_context(|| format!("无法写入 `{}`", output.display()))?;
    println!("已导出 {} 份提交到 `{}`", records.len(), output.display());
    if ext == "csv" {
        println!("提示：用 Excel 打开 CSV 时，身份证号等长数字会被改成科学计数法；在 Excel 中查看请用 --format xlsx");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "dynamodb")]
async fn dynamodb_store(table: String) -> Result<Arc<dyn Store>> {
    std::env::set_var("BEIAN_TABLE", &table);
    Ok(Arc::new(
        beian_functions::store::dynamo::DynamoStore::from_env().await,
    ))
}

#[cfg(not(feature = "dynamodb"))]
async fn dynamodb_store(_table: String) -> Result<Arc<dyn Store>> {
    anyhow::bail!("这个 beian 构建时没有启用 DynamoDB：请用 cargo run --release --features dynamodb -- export … 重新运行")
}
