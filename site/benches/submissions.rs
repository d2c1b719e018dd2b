//! Benchmark: `beian serve` with the embedded store takes valid submissions over HTTP from
//! several keep-alive connections at once, and prints requests per second and p50/p99
//! latency. Every submission is durable (on disk) before its 201 comes back.
//!
//! Run: `cargo bench -p beian-site --bench submissions` (REQUESTS=4000, CONNECTIONS=8).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let requests: usize = env_number("REQUESTS", 4000);
    let connections: usize = env_number("CONNECTIONS", 8);
    let beian = env!("CARGO_BIN_EXE_beian");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(beian)
            .current_dir(&repo)
            .args(["serve", "--port", &port.to_string(), "--store"])
            .arg(work.path().join("bench.redb"))
            .env("BEIAN_SUBMIT_LIMIT", "100000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("beian serve starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Warm up: one submission, so the first request's set-up is not counted.
    let mut warm = Client::connect(port);
    assert_eq!(warm.submit(0), 201);

    let per_connection = requests / connections;
    let started = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || {
                let mut client = Client::connect(port);
                let mut latencies = Vec::with_capacity(per_connection);
                for n in 0..per_connection {
                    let t = Instant::now();
                    let status = client.submit(1 + c * per_connection + n);
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                    assert_eq!(status, 201, "a valid submission was not stored");
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "submissions: {} valid JSON submissions over {connections} connections, embedded store",
        latencies.len()
    );
    println!(
        "  requests/second: {:.0}  [target > 1000 durable submissions/s]",
        latencies.len() as f64 / elapsed
    );
    println!(
        "  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms  [target p99 < 5 ms]",
        pct(0.50),
        pct(0.99),
        latencies[latencies.len() - 1]
    );

    // One connection, one request at a time: the latency a single person sees.
    let mut client = Client::connect(port);
    let mut single: Vec<f64> = (0..500)
        .map(|n| {
            let t = Instant::now();
            assert_eq!(client.submit(1_000_000 + n), 201);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    single.sort_by(f64::total_cmp);
    println!(
        "  one at a time: p50 {:.2} ms, p99 {:.2} ms",
        single[single.len() / 2],
        single[single.len() * 99 / 100]
    );
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A valid staff-filing submission.
const SUBMISSION: &str = r#"{"fields":{"unit_name":"内蒙古某某科技有限公司","unit_code":"91150100MA0R1B2C8F","unit_type":"企业","industry":"软件和信息技术服务业","division_code":"150102","contact_name":"王芳","contact_phone":"0471-6945364"},"groups":{"staff":[{"name":"张三","id_number":"150102198503159994","sex":"男","birth_date":"1985-03-15","ethnicity":"汉族","education":"大学本科","hukou_type":"城镇","phone":"13800000000","employment_form":"全日制","contract_type":"固定期限","contract_start":"2026-01-01","contract_end":"2028-12-31","job":"软件工程师","monthly_wage":"6500","filing_type":"新签"}]}}"#;

/// A keep-alive HTTP/1.1 client that posts the staff-filing form as JSON.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn submit(&mut self, n: usize) -> u16 {
        let body = SUBMISSION;
        let request = format!(
            "POST /api/forms/staff-filing HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Accept: application/json\r\nIdempotency-Key: bench-{n}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).unwrap();
        status
    }
}
