//! `beian`: builds, serves and checks the site, with Zola's command-line shape.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use beian_functions::api::StaffIdentity;
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
        Command::Serve { interface, port, store, staff_agency, staff_handler } => {
            let staff = match (staff_agency, staff_handler) {
                (Some(agency), Some(handler)) => Some(StaffIdentity { agency, handler }),
                _ => None,
            };
            serve(ServeOptions { root, interface, port, store, staff })
        }
        Command::Check => check(&root),
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
