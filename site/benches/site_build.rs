//! Benchmark: builds a generated Zola-format site of short Chinese pages and prints pages per
//! second, CPU time and peak memory; then serves it and times how long a one-page edit takes
//! to reach the browser (the live-reload event plus fetching the new page).
//!
//! Run: `cargo bench -p beian-site --bench site_build` (PAGES=10000 by default). It needs
//! python3 and the generator in `../shared/bench/gen_site.py`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;
const EDITS: usize = 10;

fn main() {
    let pages: usize = std::env::var("PAGES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(10_000);
    let beian = PathBuf::from(env!("CARGO_BIN_EXE_beian"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let generator = repo.join("../shared/bench/gen_site.py");
    let work = tempfile::tempdir().expect("a temporary folder");
    let site = work.path().join("site");
    let out = work.path().join("out");

    let status = Command::new("python3")
        .arg(&generator)
        .arg(&site)
        .args(["--pages", &pages.to_string(), "--search", "none", "--plain"])
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs the site generator");
    assert!(status.success(), "gen_site.py failed");

    println!("site_build: {pages} pages, {RUNS} runs (median shown)");
    // Each run writes to a fresh folder: deleting 10,000 files between runs leaves the
    // file system busy and charges its work to the next run.
    let mut runs: Vec<Usage> = (0..RUNS)
        .map(|i| measure_build(&beian, &site, &out.join(i.to_string())))
        .collect();
    runs.sort_by(|a, b| (a.user + a.system).total_cmp(&(b.user + b.system)));
    for (i, run) in runs.iter().enumerate() {
        println!(
            "  run {}: wall {:.2} s, user {:.2} s, system {:.2} s, peak {:.0} MB",
            i + 1,
            run.wall,
            run.user,
            run.system,
            run.max_rss_mb
        );
    }
    let median = &runs[RUNS / 2];
    println!(
        "build pages/second (wall): {:.0}",
        pages as f64 / median.wall
    );
    println!(
        "build CPU time (user+system): {:.2} s  [target <= 3.3 s, a third of Zola 0.22's ~10 s]",
        median.user + median.system
    );
    println!(
        "build peak memory: {:.0} MB  [target < 200 MB]",
        runs.iter().map(|r| r.max_rss_mb).fold(0.0, f64::max)
    );

    measure_live_reload(&beian, &site);
}

struct Usage {
    wall: f64,
    user: f64,
    system: f64,
    max_rss_mb: f64,
}

/// Runs one build as a child process; its CPU and peak memory come from `wait4`, which
/// also reaps it (clippy cannot see that).
#[allow(clippy::zombie_processes)]
fn measure_build(beian: &Path, site: &Path, out: &Path) -> Usage {
    let started = Instant::now();
    let child = Command::new(beian)
        .arg("--root")
        .arg(site)
        .arg("build")
        .arg("--output-dir")
        .arg(out)
        .stdout(Stdio::null())
        .spawn()
        .expect("beian starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills a zeroed rusage.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "beian build failed"
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        wall: started.elapsed().as_secs_f64(),
        user: seconds(usage.ru_utime),
        system: seconds(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// Starts `beian serve`, then edits one page several times and times each edit until the
/// reload event has arrived and the new text is served.
fn measure_live_reload(beian: &Path, site: &Path) {
    let port = free_port();
    let mut server = Command::new(beian)
        .arg("--root")
        .arg(site)
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("beian serve starts");
    let page_url = "/guide/s0/p00001/";
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(port, page_url).is_none() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let file = site.join("content/guide/s0/p00001.md");
    let original = std::fs::read_to_string(&file).unwrap();
    let mut events = BufReader::new(open_events(port));
    let mut times = Vec::new();
    for n in 0..EDITS {
        let marker = format!("编辑标记{n}号");
        let started = Instant::now();
        std::fs::write(&file, format!("{original}\n{marker}\n")).unwrap();
        wait_for_event(&mut events);
        let body = get(port, page_url).unwrap_or_default();
        let elapsed = started.elapsed();
        assert!(
            body.contains(&marker),
            "the edit is not served after the reload event"
        );
        times.push(elapsed.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&file, original).unwrap();
    let _ = server.kill();
    let _ = server.wait();
    times.sort_by(f64::total_cmp);
    println!(
        "serve: one-page edit visible in {:.0} ms median, {:.0} ms worst of {EDITS}  [target < 100 ms]",
        times[EDITS / 2],
        times[EDITS - 1]
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
}

fn open_events(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /__livereload HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

fn wait_for_event(events: &mut BufReader<TcpStream>) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = events
            .read_line(&mut line)
            .expect("the reload event arrives");
        assert!(n > 0, "the event stream closed");
        if line.contains("data:") {
            return;
        }
    }
}
