//! Benchmark: bulk filing of 10,000 people, as an XLSX workbook and as a GBK CSV of the same
//! rows. Each file is imported in a fresh process, so its peak memory is its own:
//!
//! - validate: reading the file and checking every row with the form's checks;
//! - store: the batch, 10,000 row records in chunks of 25 and the completion, on the embedded
//!   store (a durable redb file), timed inside the store calls of a full upload request;
//! - end to end: the upload request through the handlers, multipart body to 303.
//!
//! Run: `cargo bench -p beian-functions --features embedded,upload --bench import`
//! Targets: validate < 1 s, store < 3 s, peak memory < 128 MB. Medians of 5 runs (peak: the
//! highest); CPU time is printed too, since wall time on a shared machine includes waiting.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use beian_functions::api::{ApiRequest, App, Settings};
use beian_functions::forms::Forms;
use beian_functions::import;
use beian_functions::store::embedded::EmbeddedStore;
use beian_functions::store::{
    Batch, BatchStart, Limit, Put, Record, RowsOutcome, Store, StoreError,
};
use http::{HeaderMap, HeaderValue, Method};

const ROWS: usize = 10_000;
const RUNS: usize = 5;
const BOUNDARY: &str = "----beianBench";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("staff.xlsx");
    let csv = dir.path().join("staff-gbk.csv");
    let book = workbook();
    std::fs::write(&xlsx, &book).unwrap();
    std::fs::write(&csv, gbk_csv()).unwrap();
    println!("import: {ROWS} people, {RUNS} runs each, every run in a fresh process");
    println!(
        "the XLSX unzips to {:.1} MB (an upload may unzip to at most 32 MB)",
        unzipped_bytes(&book) as f64 / (1 << 20) as f64
    );
    for (name, path) in [("XLSX", &xlsx), ("GBK CSV", &csv)] {
        let size = std::fs::metadata(path).unwrap().len();
        let mut validate = Vec::new();
        let mut store = Vec::new();
        let mut whole = Vec::new();
        let mut peak = Vec::new();
        let mut validate_cpu = Vec::new();
        let mut whole_cpu = Vec::new();
        for _ in 0..RUNS {
            let out = Command::new(std::env::current_exe().unwrap())
                .arg("--child")
                .arg(path)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let value = |key: &str| -> f64 {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{key}=")))
                    .unwrap_or_else(|| panic!("{key} missing in {text}"))
                    .parse()
                    .unwrap()
            };
            if std::env::var_os("IMPORT_BENCH_DEBUG").is_some() {
                print!("{text}");
            }
            validate.push(value("validate_ms"));
            store.push(value("store_ms"));
            whole.push(value("whole_ms"));
            peak.push(value("peak_kb") / 1024.0);
            validate_cpu.push(value("validate_cpu_ms"));
            whole_cpu.push(value("whole_cpu_ms"));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (v, s, w, p) = (
            median(&mut validate),
            median(&mut store),
            median(&mut whole),
            peak.iter().cloned().fold(0.0, f64::max),
        );
        let (vc, wc) = (median(&mut validate_cpu), median(&mut whole_cpu));
        println!(
            "import {name} ({:.0} KB): validate {v:.0} ms ({:.0} rows/s) [target < 1000 ms]; \
             store {s:.0} ms ({:.0} rows/s) [target < 3000 ms]; end to end {w:.0} ms; \
             peak memory {p:.1} MB [target < 128 MB]; CPU time: validate {vc:.0} ms, end to end {wc:.0} ms",
            size as f64 / 1024.0,
            ROWS as f64 / v * 1000.0,
            ROWS as f64 / s * 1000.0,
        );
    }
}

/// One import in this process: prints its timings and peak memory.
fn child(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let forms = Forms::load_dir(&repo().join("content/forms")).unwrap();
    let def = forms.get("staff-filing").unwrap().clone();
    let group = def.group("staff").unwrap().clone();
    let headers: Vec<&str> = group.fields.iter().map(|f| f.label.as_str()).collect();

    // Validate alone, as the handler does it.
    let mut bulk = def.clone();
    bulk.groups[0].max_rows = import::MAX_ROWS;
    let started = Instant::now();
    let cpu_started = cpu_ms();
    let table = import::read_table(&bytes, &headers).unwrap();
    println!("peak_after_read_kb={}", peak_kb());
    let report = import::import_rows(
        &bulk,
        "staff",
        &unit(),
        &table,
        beian_functions::api::today(),
    );
    let validate = started.elapsed();
    let validate_cpu = cpu_ms() - cpu_started;
    println!("peak_after_validate_kb={}", peak_kb());
    assert!(
        report.problems.is_empty(),
        "{:?}",
        &report.problems[..3.min(report.problems.len())]
    );
    assert_eq!(report.ready, ROWS);
    drop((table, report));

    // The whole request, with the store's own time measured inside it.
    let dir = tempfile::tempdir().unwrap();
    let timed = Arc::new(Timed {
        inner: EmbeddedStore::open(&dir.path().join("beian.redb")).unwrap(),
        spent: Mutex::new(Duration::ZERO),
    });
    let app = App {
        forms: Arc::new(forms),
        store: timed.clone(),
        settings: Settings::default(),
        routes: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let cpu_started = cpu_ms();
    let response = runtime.block_on(app.handle(request(&bytes)));
    let whole = started.elapsed();
    let whole_cpu = cpu_ms() - cpu_started;
    assert_eq!(
        response.status(),
        303,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    let stored = runtime
        .block_on(timed.inner.list("staff-filing", None))
        .unwrap();
    assert_eq!(stored.len(), ROWS);

    println!("validate_ms={}", validate.as_secs_f64() * 1000.0);
    println!(
        "store_ms={}",
        timed.spent.lock().unwrap().as_secs_f64() * 1000.0
    );
    println!("whole_ms={}", whole.as_secs_f64() * 1000.0);
    println!("peak_kb={}", peak_kb());
    println!("validate_cpu_ms={validate_cpu}");
    println!("whole_cpu_ms={whole_cpu}");
}

/// CPU time used by this process so far (user + system), in ms, from /proc (10 ms steps).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 10.0
}

/// The process's peak resident memory (VmHWM), in KB.
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The embedded store, counting the time spent in the batch's writes.
struct Timed {
    inner: EmbeddedStore,
    spent: Mutex<Duration>,
}

impl Timed {
    fn add(&self, started: Instant) {
        *self.spent.lock().unwrap() += started.elapsed();
    }
}

#[async_trait]
impl Store for Timed {
    async fn put(&self, record: Record) -> Result<Put, StoreError> {
        self.inner.put(record).await
    }
    async fn get(&self, reference: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(reference).await
    }
    async fn versions(&self, reference: &str) -> Result<Vec<Record>, StoreError> {
        self.inner.versions(reference).await
    }
    async fn list(&self, form_id: &str, since: Option<&str>) -> Result<Vec<Record>, StoreError> {
        self.inner.list(form_id, since).await
    }
    async fn hit(&self, key: &str, limit: u32, window: u64, now: u64) -> Result<Limit, StoreError> {
        self.inner.hit(key, limit, window, now).await
    }
    async fn begin_batch(&self, batch: &Batch) -> Result<BatchStart, StoreError> {
        let started = Instant::now();
        let result = self.inner.begin_batch(batch).await;
        self.add(started);
        result
    }
    async fn put_rows(&self, records: &[Record]) -> RowsOutcome {
        let started = Instant::now();
        let result = self.inner.put_rows(records).await;
        self.add(started);
        result
    }
    async fn complete_batch(&self, reference: &str) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.inner.complete_batch(reference).await;
        self.add(started);
        result
    }
    async fn batch(&self, reference: &str) -> Result<Option<Batch>, StoreError> {
        self.inner.batch(reference).await
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

const UNIT: [(&str, &str); 7] = [
    ("unit_name", "内蒙古某某科技有限公司"),
    ("unit_code", "91150100MA0R1B2C8F"),
    ("unit_type", "企业"),
    ("industry", "软件和信息技术服务业"),
    ("division_code", "150102"),
    ("contact_name", "王芳"),
    ("contact_phone", "0471-6945364"),
];

fn unit() -> beian_functions::submission::Submission {
    let mut unit = beian_functions::submission::Submission::default();
    for (key, value) in UNIT {
        unit.fields.insert(
            key.to_string(),
            beian_functions::submission::Value::One(value.to_string()),
        );
    }
    unit
}

fn request(file: &[u8]) -> ApiRequest {
    let mut body = Vec::with_capacity(file.len() + 2048);
    for (name, value) in UNIT {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")).unwrap(),
    );
    headers.insert(http::header::ACCEPT, HeaderValue::from_static("text/html"));
    ApiRequest {
        method: Method::POST,
        path: "/api/forms/staff-filing/upload".into(),
        stage: None,
        query: None,
        headers,
        body: body.into(),
        source_ip: "127.0.0.1".into(),
        request_id: "bench".into(),
        identity: None,
    }
}

/// The template's column headers.
fn headers() -> Vec<String> {
    let forms = Forms::load_dir(&repo().join("content/forms")).unwrap();
    let def = forms.get("staff-filing").unwrap();
    def.group("staff")
        .unwrap()
        .fields
        .iter()
        .map(|f| f.label.clone())
        .collect()
}

/// Person `n`: a distinct valid ID number, all rules satisfied.
fn person(n: usize) -> Vec<String> {
    let given: Vec<char> = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸".chars().collect();
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
        + chrono::Days::new((n % 12_000) as u64);
    let sequence = 100 + n / 12_000 * 10 + n % 7;
    let first17 = format!("150102{}{sequence:03}", birth.format("%Y%m%d"));
    let id = format!("{first17}{}", check_char(&first17));
    let sex = if sequence % 2 == 1 { "男" } else { "女" };
    [
        format!("张{}{}", given[n % 20], given[n / 20 % 20]),
        id,
        sex.into(),
        birth.format("%Y-%m-%d").to_string(),
        "汉族".into(),
        "大学本科".into(),
        "城镇".into(),
        format!("138{:08}", n),
        "全日制".into(),
        "固定期限".into(),
        "2026-01-01".into(),
        "2028-12-31".into(),
        "软件工程师".into(),
        "6500".into(),
        "新签".into(),
        String::new(),
        String::new(),
    ]
    .to_vec()
}

fn check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// The rows as an XLSX workbook: text cells, dates as date cells.
fn workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (col, header) in headers().iter().enumerate() {
        sheet.write_string(0, col as u16, header).unwrap();
    }
    for n in 0..ROWS {
        for (col, value) in person(n).iter().enumerate() {
            let row = (n + 1) as u32;
            if value.is_empty() {
                continue;
            }
            if [3, 10, 11].contains(&col) {
                let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").unwrap();
                let excel = rust_xlsxwriter::ExcelDateTime::from_ymd(
                    chrono::Datelike::year(&day) as u16,
                    chrono::Datelike::month(&day) as u8,
                    chrono::Datelike::day(&day) as u8,
                )
                .unwrap();
                sheet
                    .write_datetime_with_format(row, col as u16, &excel, &date)
                    .unwrap();
            } else {
                sheet.write_string(row, col as u16, value).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// The same rows as CSV in GBK, as Excel saves it on Chinese Windows.
fn gbk_csv() -> Vec<u8> {
    let mut text = headers().join(",");
    text.push_str("\r\n");
    for n in 0..ROWS {
        text.push_str(&person(n).join(","));
        text.push_str("\r\n");
    }
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// How many bytes a zip's parts hold once unzipped.
fn unzipped_bytes(zip: &[u8]) -> u64 {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut part = archive.by_index(i).unwrap();
            std::io::copy(&mut part, &mut std::io::sink()).unwrap()
        })
        .sum()
}
