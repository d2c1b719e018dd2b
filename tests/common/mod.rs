//! Helpers shared by the integration tests: small sites in temporary folders, built in memory.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use beian_site::output::MemoryOutput;
use beian_site::site::{Report, Site};

/// Templates that show what the cases look at: title, content, TOC and counts.
pub const PAGE_TEMPLATE: &str = "<!doctype html><html lang=\"{{ lang }}\"><head><title>{{ page.title }}</title></head>\
<body><nav>{% for h in page.toc %}<a href=\"#{{ h.id }}\">{{ h.title }}</a>{% endfor %}</nav>\
<main>{{ page.content | safe }}</main><p class=\"count\">{{ page.word_count }}|{{ page.reading_time }}</p></body></html>";

/// A section template listing the section's pages.
pub const SECTION_TEMPLATE: &str = "<!doctype html><html lang=\"{{ lang }}\"><head><title>{{ section.title }}</title></head>\
<body><main>{{ section.content | safe }}<ul>{% for p in section.pages %}<li><a href=\"{{ p.permalink }}\">{{ p.title }}</a></li>{% endfor %}</ul></main></body></html>";

/// A site in a temporary folder.
pub struct TestSite {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl TestSite {
    /// A site with the given config and default templates.
    pub fn new(config: &str) -> TestSite {
        let site = TestSite {
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        site.write("config.toml", config);
        site.write("templates/page.html", PAGE_TEMPLATE);
        site.write("templates/section.html", SECTION_TEMPLATE);
        site.write("templates/index.html", SECTION_TEMPLATE);
        site.write("content/_index.md", "+++\ntitle = \"首页\"\n+++\n");
        site
    }

    /// The site root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the site root.
    pub fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    /// Writes raw bytes under the site root.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Builds in memory.
    pub fn build(&self) -> Built {
        build_root(self.root())
    }
}

/// The files and report of a build.
pub struct Built {
    /// Output files by path.
    pub files: HashMap<String, Arc<Vec<u8>>>,
    /// The build report.
    pub report: Report,
}

impl Built {
    /// An output file as text; panics with the list of files when it is missing.
    pub fn text(&self, path: &str) -> String {
        let bytes = self.files.get(path).unwrap_or_else(|| {
            let mut names: Vec<_> = self.files.keys().collect();
            names.sort();
            panic!("no `{path}` in the output; files: {names:?}")
        });
        String::from_utf8(bytes.as_ref().clone()).expect("output is UTF-8")
    }

    /// The problems as lines.
    pub fn problems(&self) -> Vec<String> {
        self.report.problems.iter().map(|p| p.to_string()).collect()
    }
}

/// Builds the site at `root` in memory.
pub fn build_root(root: &Path) -> Built {
    let mut site = Site::load(root).expect("the site loads");
    let output = MemoryOutput::default();
    let report = site.build(&output).expect("the build runs");
    Built {
        files: output.into_files(),
        report,
    }
}

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `beian` binary cargo built for these tests.
pub fn beian_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_beian"))
}

/// The visible text of every HTML page in a build, whitespace removed.
pub fn all_text_without_space(built: &Built) -> String {
    let mut names: Vec<_> = built
        .files
        .keys()
        .filter(|k| k.ends_with(".html"))
        .collect();
    names.sort();
    let mut text = String::new();
    for name in names {
        let html = built.text(name);
        text.push_str(&beian_site::markdown::plain_text(&html));
        text.push('\n');
    }
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A child process (such as `beian serve`) that is stopped when the test ends, pass or fail.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Three people, in the template's column order; dates are typed into the date columns.
pub const PEOPLE: [[&str; 15]; 3] = [
    [
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
    ],
    [
        "李娜",
        "150203199207089983",
        "女",
        "1992-07-08",
        "蒙古族",
        "大学专科",
        "农村",
        "13900000000",
        "全日制",
        "无固定期限",
        "2025-03-01",
        "",
        "会计",
        "5200",
        "新签",
    ],
    [
        "娜仁·其其格",
        "15060219900101990X",
        "女",
        "1990-01-01",
        "蒙古族",
        "高中",
        "城镇",
        "0471-6945364",
        "非全日制",
        "以完成一定工作任务为期限",
        "2026-02-01",
        "",
        "保洁员",
        "2200",
        "新签",
    ],
];

/// Columns whose cells are dates (0-based), as the template formats them.
pub const DATE_COLUMNS: [usize; 3] = [3, 10, 11];

/// The downloaded template with `people` typed into its data sheet from row 2.
pub fn fill_template(template: &[u8], people: &[[&str; 15]]) -> Vec<u8> {
    let mut book =
        umya_spreadsheet::reader::xlsx::read_reader(std::io::Cursor::new(template), true)
            .expect("the template opens");
    let sheet = book
        .get_sheet_by_name_mut("人员备案")
        .expect("the data sheet");
    for (r, person) in people.iter().enumerate() {
        let row = (r + 2) as u32;
        for (c, value) in person.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            let col = (c + 1) as u32;
            let cell = sheet.get_cell_mut((col, row));
            if DATE_COLUMNS.contains(&c) {
                // Typed into a date column, Excel keeps a day number shown as a date.
                let date = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").unwrap();
                let serial = (date - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
                    .num_days() as f64;
                cell.set_value_number(serial);
                cell.get_style_mut()
                    .get_number_format_mut()
                    .set_format_code("yyyy-mm-dd");
            } else {
                cell.set_value_string(*value);
                cell.get_style_mut()
                    .get_number_format_mut()
                    .set_format_code("@");
            }
        }
    }
    let mut out = Vec::new();
    umya_spreadsheet::writer::xlsx::write_writer(&book, &mut out).expect("the workbook saves");
    out
}

/// Starts `beian serve` on a free port with the store file `store`, and waits until `ready`
/// says it answers.
pub fn start_serve(store: &Path, ready: impl Fn(u16) -> bool) -> (Server, u16) {
    let port = free_port();
    let child = std::process::Command::new(beian_bin())
        .current_dir(repo_root())
        .args(["serve", "--port", &port.to_string(), "--store"])
        .arg(store)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready(port) {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (server, port)
}
