//! `beian serve` serves the built site from memory, answers unknown paths with the 404
//! page, and an edit to a page reaches a connected browser through the reload event.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, TestSite};

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    Some((status, response))
}

fn start(site: &TestSite) -> (Server, u16) {
    let port = common::free_port();
    let child = Command::new(common::beian_bin())
        .args([
            "--root",
            site.root().to_str().unwrap(),
            "serve",
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/").is_none() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[test]
fn serves_pages_404_and_reloads_after_an_edit() {
    let site = TestSite::new("base_url = \"https://example.gov.cn\"\ntitle = \"t\"\n");
    site.write(
        "templates/404.html",
        "<html lang=\"zh-CN\"><body>页面不存在，请拨打 12333</body></html>",
    );
    site.write(
        "content/notice.md",
        "+++\ntitle = \"通知\"\n+++\n第一版内容。\n",
    );
    site.write("static/css/site.css", "body { font-size: 18px; }");
    let (_server, port) = start(&site);

    let (status, page) = get(port, "/notice/").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("第一版内容"));
    assert!(
        page.contains("href=\"/notice/\"") || !page.contains("example.gov.cn"),
        "links point at the live site"
    );
    assert_eq!(get(port, "/css/site.css").unwrap().0, 200);
    let (status, missing) = get(port, "/nowhere/").unwrap();
    assert_eq!(status, 404);
    assert!(missing.contains("12333"));

    let mut events = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        events,
        "GET /__livereload HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut events = BufReader::new(events);
    std::thread::sleep(Duration::from_millis(200));

    site.write(
        "content/notice.md",
        "+++\ntitle = \"通知\"\n+++\n第二版内容。\n",
    );
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            events.read_line(&mut line).unwrap() > 0,
            "event stream closed"
        );
        if line.starts_with("data:") {
            break;
        }
    }
    let (_, page) = get(port, "/notice/").unwrap();
    assert!(page.contains("第二版内容"), "the edit is not served");

    // A new page needs a full rebuild; it appears too.
    site.write("content/new.md", "+++\ntitle = \"新页\"\n+++\n新增。\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((200, page)) = get(port, "/new/") {
            assert!(page.contains("新增"));
            break;
        }
        assert!(Instant::now() < deadline, "the new page never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}
