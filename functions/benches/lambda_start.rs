//! Benchmark: the Lambda binaries' size, and the time from starting a `bootstrap` to its
//! first response, against a local stand-in for the Lambda Runtime API on 127.0.0.1.
//!
//! Run (the first command builds what ships, with the `lambda` profile):
//!
//!     cargo build --profile lambda -p beian-functions --features aws,upload --bins
//!     cargo bench -p beian-functions --features aws,upload --bench lambda_start
//!
//! Without the first, it measures the bench profile's binaries and says so.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const STARTS: usize = 15;

fn main() {
    let shipped = lambda_profile_dir();
    let pick = |name: &str, fallback: &'static str| -> String {
        let built = shipped.join(name);
        if built.is_file() {
            built.to_string_lossy().into_owned()
        } else {
            fallback.to_string()
        }
    };
    let binaries = [
        ("forms", pick("forms", env!("CARGO_BIN_EXE_forms"))),
        ("submit", pick("submit", env!("CARGO_BIN_EXE_submit"))),
        ("receipt", pick("receipt", env!("CARGO_BIN_EXE_receipt"))),
        ("upload", pick("upload", env!("CARGO_BIN_EXE_upload"))),
    ];
    let which = if binaries[0].1.starts_with(&*shipped.to_string_lossy()) {
        "the `lambda` profile (what ships)"
    } else {
        "the bench profile: build with --profile lambda first for the shipped sizes"
    };
    println!("lambda_start: binaries from {which}");
    println!("lambda_start: binary sizes  [target < 10 MB stripped each]");
    for (name, path) in &binaries {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("  {name}: {:.2} MB ({size} bytes)", size as f64 / 1e6);
    }
    let mut times: Vec<f64> = (0..STARTS).map(|_| start_once(&binaries[0].1)).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "lambda_start: `forms` start to first response: median {:.1} ms, worst {:.1} ms of {STARTS}  [target < 50 ms]",
        times[STARTS / 2],
        times[STARTS - 1]
    );
}

/// Where `cargo build --profile lambda` puts the binaries.
fn lambda_profile_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("lambda")
}

/// Starts the binary against a fresh runtime stand-in, hands it one API Gateway event and
/// times until its response arrives.
fn start_once(binary: &str) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || runtime_api(listener, done));
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "beian-forms")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/beian-forms")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "cn-north-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("BEIAN_TABLE", "beian")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bootstrap starts");
    let response = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the function answers");
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        response.contains("\"statusCode\":200"),
        "unexpected response: {response}"
    );
    elapsed
}

const EVENT: &str = r#"{"version":"2.0","routeKey":"GET /api/forms/{id}","rawPath":"/api/forms/staff-filing","rawQueryString":"","headers":{"accept":"application/json","host":"example.execute-api.cn-north-1.amazonaws.com.cn"},"requestContext":{"accountId":"123456789012","apiId":"example","domainName":"example.execute-api.cn-north-1.amazonaws.com.cn","domainPrefix":"example","http":{"method":"GET","path":"/api/forms/staff-filing","protocol":"HTTP/1.1","sourceIp":"203.0.113.7","userAgent":"bench"},"requestId":"bench-1","routeKey":"GET /api/forms/{id}","stage":"$default","time":"04/Dec/2026:16:20:00 +0000","timeEpoch":1796401200000},"isBase64Encoded":false}"#;

/// Serves the two Runtime API calls a function makes first: `next` (gets the event) and
/// `response` (returns the answer, which is sent to `done`).
fn runtime_api(listener: TcpListener, done: mpsc::Sender<String>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let done = done.clone();
        std::thread::spawn(move || serve_connection(stream, done));
    }
}

fn serve_connection(stream: TcpStream, done: mpsc::Sender<String>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.contains("/invocation/next") {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: bench-1\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws-cn:lambda:cn-north-1:123456789012:function:beian-forms\r\n\
                 Content-Length: {}\r\n\r\n{EVENT}",
                EVENT.len()
            );
        } else {
            let _ = write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
            if request_line.contains("/response") {
                let _ = done.send(String::from_utf8_lossy(&body).into_owned());
            }
        }
    }
}
