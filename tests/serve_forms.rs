//! `beian serve` runs the whole system on one machine: the built site and, on the same
//! origin, the form handlers with the embedded store, which keeps submissions across a
//! restart.

mod common;

use common::Server;

use std::io::{Read, Write};
use std::net::TcpStream;

fn start(store: &std::path::Path) -> (Server, u16) {
    common::start_serve(store, |port| http(port, "GET", "/", "").is_some())
}

/// Sends one request; gives (status, head, body).
fn http(port: u16, method: &str, path: &str, form: &str) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAccept: text/html\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    Some((status, head.to_string(), body.to_string()))
}

fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

const PAY: &[(&str, &str)] = &[
    ("unit_type", "企业"),
    ("unit_name", "内蒙古某某科技有限公司"),
    ("unit_code", "91150100MA0R1B2C8F"),
    ("division_code", "150102"),
    ("report_year", "2025"),
    ("months_operating", "12"),
    ("average_headcount", "120"),
    ("on_post", "110"),
    ("dispatched", "10"),
    ("total_wages", "9600000"),
    ("average_wage", "80000"),
    ("contact_name", "王芳"),
    ("contact_phone", "13800000000"),
];

#[test]
fn forms_submitted_through_serve_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("beian.redb");
    let (server, port) = start(&store);

    let (status, _, page) = http(port, "GET", "/forms/annual-pay/", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("action=\"/api/forms/annual-pay\""),
        "the static form posts to the handlers"
    );

    let mut wrong: Vec<(&str, &str)> = PAY.to_vec();
    wrong.retain(|(k, _)| *k != "unit_code");
    wrong.push(("unit_code", "91150100MA0R1B2C8A"));
    let (status, _, body) = http(port, "POST", "/api/forms/annual-pay", &encode(&wrong)).unwrap();
    assert_eq!(status, 422);
    assert!(body.contains("error-summary") && body.contains("统一社会信用代码"));

    let mut submit: Vec<(&str, &str)> = PAY.to_vec();
    submit.push(("_idem", "serve-test-1"));
    submit.push(("_action", "submit"));
    let (status, head, _) = http(port, "POST", "/api/forms/annual-pay", &encode(&submit)).unwrap();
    assert_eq!(status, 303, "{head}");
    let location = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .unwrap()
        .trim()
        .to_string();
    let (status, _, receipt) = http(port, "GET", &location, "").unwrap();
    assert_eq!(status, 200);
    assert!(receipt.contains("提交成功"));
    assert!(
        !receipt.contains("13800000000"),
        "the phone number is shown in full"
    );
    drop(server);

    let (_server, port) = start(&store);
    let receipt_path = location.trim_end_matches("?new=1");
    let (status, _, receipt) = http(port, "GET", receipt_path, "").unwrap();
    assert_eq!(status, 200, "the submission was lost in the restart");
    assert!(receipt.contains("受理回执") && receipt.contains("已受理"));
}

#[test]
fn serve_refuses_an_oversized_body_with_413_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(&dir.path().join("beian.redb"));
    // One byte over the 2 MB limit: the server reads it all, so the answer is not lost to a
    // reset connection.
    let body = format!(
        "unit_name={}",
        "a".repeat(2 * 1024 * 1024 + 1 - "unit_name=".len())
    );
    let (status, _, page) = http(port, "POST", "/api/forms/annual-pay", &body).unwrap();
    assert_eq!(status, 413);
    assert!(page.contains("超过 2 MB"), "the page says what to fix");
    let (status, _, page) = http(port, "POST", "/api/forms/annual-pay", "unit_name=%FF").unwrap();
    assert_eq!(status, 400);
    assert!(page.contains("UTF-8"));
}
