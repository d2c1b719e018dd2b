//! Bulk filing as an employer does it through `beian serve`: download the template from the
//! site, fill in three people in the workbook itself, upload it with the unit's details on the
//! upload page, and get a receipt; a copy with one wrong ID number stores nothing and the page
//! names the row, the column and the fix. The export then holds the three, stamped.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::{fill_template, PEOPLE};

const BOUNDARY: &str = "----beianServeUpload";

const UNIT: [(&str, &str); 7] = [
    ("unit_name", "内蒙古某某科技有限公司"),
    ("unit_code", "91150100MA0R1B2C8F"),
    ("unit_type", "企业"),
    ("industry", "软件和信息技术服务业"),
    ("division_code", "150102"),
    ("contact_name", "王芳"),
    ("contact_phone", "0471-6945364"),
];

/// One request; gives (status, head, body bytes).
fn http(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<(u16, String, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAccept: text/html\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.get(9..12)?.parse().ok()?;
    Some((status, head, response[split + 4..].to_vec()))
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

fn multipart(file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in UNIT {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"template.xlsx\"\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post_upload(port: u16, file: &[u8]) -> (u16, String, Vec<u8>) {
    http(
        port,
        "POST",
        "/api/forms/staff-filing/upload",
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        &multipart(file),
    )
    .expect("the server answers")
}

#[test]
fn the_downloaded_template_filled_with_three_people_is_filed_through_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("beian.redb");
    let (server, port) =
        common::start_serve(&store, |port| http(port, "GET", "/", None, &[]).is_some());

    // The form page offers the template and the upload page; the upload page states limits.
    let (status, _, page) = http(port, "GET", "/forms/staff-filing/", None, &[]).unwrap();
    assert_eq!(status, 200);
    assert!(text(&page).contains("href=\"/forms/staff-filing/upload/\""));
    let (status, _, page) = http(port, "GET", "/forms/staff-filing/upload/", None, &[]).unwrap();
    assert_eq!(status, 200);
    let page = text(&page);
    assert!(page.contains("action=\"/api/forms/staff-filing/upload\""));
    assert!(page.contains("enctype=\"multipart/form-data\""));
    assert!(page.contains("大小不超过 4 MB，最多 10000 行职工"));
    assert!(page.contains("type=\"file\""));
    // The upload page links the templates it asks for.
    assert!(page.contains("href=\"/forms/staff-filing/template.xlsx\""));
    assert!(page.contains("href=\"/forms/staff-filing/template.csv\""));

    let (status, _, template) =
        http(port, "GET", "/forms/staff-filing/template.xlsx", None, &[]).unwrap();
    assert_eq!(status, 200);
    assert!(template.starts_with(b"PK"), "a real XLSX");
    let (status, _, csv_template) =
        http(port, "GET", "/forms/staff-filing/template.csv", None, &[]).unwrap();
    assert_eq!(status, 200);
    assert!(
        csv_template.starts_with(b"\xEF\xBB\xBF"),
        "a CSV with a UTF-8 BOM"
    );

    // One wrong ID number: nothing stored, and the page says where and how to fix it.
    let mut wrong = PEOPLE;
    wrong[1][1] = "150203199207089980";
    let (status, _, body) = post_upload(port, &fill_template(&template, &wrong));
    let html = text(&body);
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("没有保存任何记录"));
    assert!(html.contains("<td>第 3 行</td><td>公民身份号码"), "{html}");
    assert!(html.contains("校验"));

    // The three as they should be: stored, and the receipt says so.
    let filled = fill_template(&template, &PEOPLE);
    let (status, head, body) = post_upload(port, &filled);
    assert_eq!(status, 303, "{}", text(&body));
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("a redirect to the receipt")
        .trim()
        .to_string();
    let (status, _, receipt) = http(port, "GET", &location, None, &[]).unwrap();
    assert_eq!(status, 200);
    let receipt = text(&receipt);
    assert!(receipt.contains("3 名职工全部保存"), "{receipt}");
    assert!(receipt.contains("150102********9994"));
    assert!(!receipt.contains("150102198503159994"));

    // Uploading the same file again stores nothing more.
    let (status, _, again) = post_upload(port, &filled);
    assert_eq!(status, 200);
    assert!(text(&again).contains("这次没有重复保存"));
    drop(server);

    // The export holds the three people with the audit stamp, dates as the person typed them.
    let out = dir.path().join("export.csv");
    let export = Command::new(common::beian_bin())
        .current_dir(common::repo_root())
        .args([
            "export",
            "--form",
            "staff-filing",
            "--format",
            "csv",
            "--store",
        ])
        .arg(&store)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(&export.stderr));
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three people:\n{csv}");
    assert!(lines[0].contains("经办机构") && lines[0].contains("经办时间"));
    for person in PEOPLE {
        let line = lines[1..]
            .iter()
            .find(|line| line.contains(person[1]))
            .unwrap_or_else(|| panic!("{} exported:\n{csv}", person[0]));
        assert!(line.contains("内蒙古自治区劳动用工备案网站"), "{line}");
        assert!(line.contains(person[10]), "{line}");
    }
}
