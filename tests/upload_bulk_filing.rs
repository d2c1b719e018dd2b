//! Bulk staff filing through `POST /api/forms/staff-filing/upload`: a clean file is stored
//! whole (a batch plus one stamped record per person), a file with any problem stores nothing
//! and gets a report by row and column with a marked copy, the same file is never stored
//! twice, and an interrupted upload is finished by uploading the file again.

#[path = "common/api.rs"]
mod api;

use std::io::Read as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use api::*;
use async_trait::async_trait;
use base64::Engine as _;
use beian_functions::api::{App, Settings};
use beian_functions::import::MAX_ROWS;
use beian_functions::store::embedded::EmbeddedStore;
use beian_functions::store::{
    settled, Batch, BatchStart, Limit, Put, Record, RowsOutcome, Store, StoreError,
};
use http::{Method, StatusCode};

const UPLOAD: &str = "/api/forms/staff-filing/upload";
const BOUNDARY: &str = "----beianTestBoundary7MA4YWxk";

const HEADER: &str = "姓名,公民身份号码,性别,出生日期,民族,文化程度,户口性质,联系电话,用工形式,合同类型,合同起始日期,合同终止日期,岗位（工种）,月工资（元）,备案类型,终止（解除）日期,终止（解除）原因";

/// Three people who satisfy every rule of the form.
const PEOPLE: [&str; 3] = [
    "张三,150102198503159994,男,1985-03-15,汉族,大学本科,城镇,13800000000,全日制,固定期限,2026-01-01,2028-12-31,软件工程师,6500,新签,,",
    "李娜,150203199207089983,女,1992-07-08,蒙古族,大学专科,农村,13900000000,全日制,无固定期限,2025-03-01,,会计,5200,新签,,",
    "娜仁·其其格,15060219900101990X,女,1990-01-01,蒙古族,高中,城镇,0471-6945364,非全日制,以完成一定工作任务为期限,2026-02-01,,保洁员,2200,新签,,",
];

const UNIT: [(&str, &str); 7] = [
    ("unit_name", "内蒙古某某科技有限公司"),
    ("unit_code", "91150100MA0R1B2C8F"),
    ("unit_type", "企业"),
    ("industry", "软件和信息技术服务业"),
    ("division_code", "150102"),
    ("contact_name", "王芳"),
    ("contact_phone", "0471-6945364"),
];

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut text = format!("{HEADER}\r\n");
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// A browser's multipart body: the unit's fields, then the file.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    if let Some(file) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"职工名单.csv\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn upload(path: &str, accept: &str, body: Vec<u8>) -> beian_functions::api::ApiRequest {
    request(
        Method::POST,
        path,
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        Some(accept),
        body,
    )
}

/// Uploads `file` with the unit's fields `unit` as a JSON client does.
async fn upload_json(
    t: &TestApp,
    unit: &[(&str, &str)],
    file: &[u8],
) -> beian_functions::api::ApiResponse {
    t.send(upload(
        UPLOAD,
        "application/json",
        multipart(unit, Some(file)),
    ))
    .await
}

fn location(response: &beian_functions::api::ApiResponse) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_clean_file_stores_one_stamped_record_per_person_and_a_batch() {
    let t = TestApp::new();
    let response = t
        .send(upload(
            UPLOAD,
            "text/html",
            multipart(&UNIT, Some(&csv(&PEOPLE))),
        ))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
    let receipt = location(&response);
    assert!(receipt.ends_with("?new=1"));

    let records = t.records("staff-filing").await;
    assert_eq!(records.len(), 3);
    let batch = records[0].batch.clone().expect("rows carry their batch");
    for record in &records {
        assert_eq!(record.batch.as_deref(), Some(batch.as_str()));
        assert_eq!(record.audit.agency, Settings::default().public_agency);
        assert_eq!(record.audit.handler, Settings::default().public_handler);
        assert!(record.audit.time.ends_with("+08:00"));
        assert_eq!(record.audit.content_sha256.len(), 64);
        assert_eq!(record.data["fields"]["unit_name"], "内蒙古某某科技有限公司");
        assert_eq!(record.data["groups"]["staff"].as_array().unwrap().len(), 1);
    }
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r.data["groups"]["staff"][0]["id_number"].as_str().unwrap())
        .collect();
    for id in [
        "150102198503159994",
        "150203199207089983",
        "15060219900101990X",
    ] {
        assert!(ids.contains(&id), "{id} stored");
    }
    let stored = t.store.batch(&batch).await.unwrap().unwrap();
    assert!(stored.complete);
    assert_eq!(stored.rows, 3);
    assert_eq!(stored.file_format, "CSV");

    // The receipt names the batch, says all 3 are stored, and shows them masked.
    let page = t.get(&receipt, "text/html").await;
    let html = text(&page);
    assert_eq!(page.status(), StatusCode::OK);
    assert!(html.contains(&batch));
    assert!(html.contains("3 名职工全部保存"));
    assert!(html.contains("150102********9994"));
    assert!(!html.contains("150102198503159994"));
    // Each person's own reference opens their receipt.
    let person = &records[0].reference;
    assert!(html.contains(person.as_str()));
    let own = t
        .get(&format!("/api/receipts/{person}"), "application/json")
        .await;
    assert_eq!(json(&own)["status"], "已受理");
}

#[tokio::test]
async fn a_file_with_one_bad_id_stores_nothing_and_the_report_names_row_column_and_fix() {
    let t = TestApp::new();
    let bad = PEOPLE[1].replace("150203199207089983", "150203199207089980");
    let rows = [PEOPLE[0], bad.as_str(), PEOPLE[2]];
    let response = t
        .send(upload(
            UPLOAD,
            "text/html",
            multipart(&UNIT, Some(&csv(&rows))),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(&response);
    assert!(html.contains("没有保存任何记录"));
    assert!(
        html.contains("<td>第 3 行</td><td>公民身份号码</td>"),
        "{html}"
    );
    assert!(html.contains("校验"), "the fix mentions the check digit");
    assert!(html.contains("其中 2 行无误"));
    assert!(t.records("staff-filing").await.is_empty());

    // The marked copy: the bad cell is B3 and its comment gives the fix.
    let copy = html
        .split(
            "href=\"data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,",
        )
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a marked copy to download");
    let copy = base64::engine::general_purpose::STANDARD
        .decode(copy)
        .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(copy.clone())).unwrap();
    let mut comments = String::new();
    zip.by_name("xl/comments1.xml")
        .expect("the copy has comments")
        .read_to_string(&mut comments)
        .unwrap();
    assert!(comments.contains("ref=\"B3\""), "{comments}");
    assert!(comments.contains("校验"));
    // Fixed and uploaded again, the copy itself is accepted: its first sheet is the data.
    let table = beian_functions::import::read_table(&copy, &["姓名", "公民身份号码"]).unwrap();
    assert_eq!(table.rows.len(), 3);
    assert_eq!(table.rows[1].1[1], "150203199207089980");
}

#[tokio::test]
async fn json_clients_get_every_problem_with_row_and_column() {
    let t = TestApp::new();
    let bad = PEOPLE[0].replace("13800000000", "1380000");
    let response = t
        .send(upload(
            UPLOAD,
            "application/json",
            multipart(&UNIT, Some(&csv(&[bad.as_str(), PEOPLE[1]]))),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(&response);
    assert_eq!(body["rows"], 2);
    assert_eq!(body["ready"], 1);
    assert_eq!(body["problems"][0]["row"], 2);
    assert_eq!(body["problems"][0]["column"], "联系电话");
    assert!(t.records("staff-filing").await.is_empty());

    let clean = upload_json(&t, &UNIT, &csv(&PEOPLE)).await;
    assert_eq!(clean.status(), StatusCode::CREATED);
    assert_eq!(json(&clean)["rows"], 3);
}

#[tokio::test]
async fn the_same_file_uploaded_twice_is_stored_once() {
    let t = TestApp::new();
    let body = multipart(&UNIT, Some(&csv(&PEOPLE)));
    let first = t
        .send(upload(UPLOAD, "application/json", body.clone()))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = t.send(upload(UPLOAD, "text/html", body)).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(text(&again).contains("这次没有重复保存"));
    assert!(text(&again).contains(json(&first)["reference"].as_str().unwrap()));
    assert_eq!(t.records("staff-filing").await.len(), 3);
}

#[tokio::test]
async fn staff_uploads_carry_their_agency_and_handler() {
    let t = TestApp::new();
    let mut anonymous = upload(
        "/api/staff/forms/staff-filing/upload",
        "application/json",
        multipart(&UNIT, Some(&csv(&PEOPLE))),
    );
    assert_eq!(
        t.send(anonymous.clone()).await.status(),
        StatusCode::UNAUTHORIZED
    );
    anonymous.identity = Some(staff());
    let response = t.send(anonymous).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        text(&response)
    );
    let records = t.records("staff-filing").await;
    assert_eq!(records.len(), 3);
    for record in records {
        assert_eq!(record.audit.agency, staff().agency);
        assert_eq!(record.audit.handler, staff().handler);
        assert_eq!(record.audit.channel.label(), "窗口代录");
    }
}

#[tokio::test]
async fn limits_and_broken_requests_get_a_4xx_with_the_reason() {
    let settings = Settings {
        max_upload_bytes: 64 * 1024,
        ..Settings::default()
    };
    let t = TestApp::with_settings(settings);
    let big = vec![b'a'; 70 * 1024];
    let response = t
        .send(upload(UPLOAD, "text/html", multipart(&UNIT, Some(&big))))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(text(&response).contains("64 KB"), "{}", text(&response));

    let t = TestApp::new();
    let too_many: Vec<&str> = std::iter::repeat_n(PEOPLE[0], MAX_ROWS + 1).collect();
    let response = upload_json(&t, &UNIT, &csv(&too_many)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(json(&response)["error"]
        .as_str()
        .unwrap()
        .contains("一次最多导入 10000 行"));

    let no_file = t
        .send(upload(UPLOAD, "text/html", multipart(&UNIT, None)))
        .await;
    assert_eq!(no_file.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&no_file).contains("请选择要上传的电子表格文件"));

    let urlencoded = t.send(form_post(UPLOAD, &UNIT)).await;
    assert_eq!(urlencoded.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(text(&urlencoded).contains("multipart/form-data"));

    let mut cut = multipart(&UNIT, Some(&csv(&PEOPLE)));
    cut.truncate(cut.len() - 30);
    let broken = t.send(upload(UPLOAD, "application/json", cut)).await;
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(json(&broken)["error"]
        .as_str()
        .unwrap()
        .contains("重新选择文件"));

    let not_a_sheet = upload_json(&t, &UNIT, b"PK\x03\x04 not really a zip").await;
    assert_eq!(not_a_sheet.status(), StatusCode::BAD_REQUEST);
    assert!(json(&not_a_sheet)["error"]
        .as_str()
        .unwrap()
        .contains("文件已损坏或不是有效的 XLSX"));
    assert!(t.records("staff-filing").await.is_empty());
}

/// The embedded store, with the first `fail_chunks` chunks of rows refused once.
struct Interrupted {
    inner: EmbeddedStore,
    fail_rows: AtomicUsize,
}

#[async_trait]
impl Store for Interrupted {
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
        self.inner.begin_batch(batch).await
    }
    async fn put_rows(&self, records: &[Record]) -> RowsOutcome {
        // The first call writes only the first rows, as a crash part-way through would.
        let keep = self.fail_rows.swap(usize::MAX, Ordering::SeqCst);
        if keep == usize::MAX {
            return self.inner.put_rows(records).await;
        }
        let mut outcome = self.inner.put_rows(&records[..keep]).await;
        outcome.failed.extend(keep..records.len());
        outcome
    }
    async fn complete_batch(&self, reference: &str) -> Result<(), StoreError> {
        self.inner.complete_batch(reference).await
    }
    async fn batch(&self, reference: &str) -> Result<Option<Batch>, StoreError> {
        self.inner.batch(reference).await
    }
}

#[tokio::test]
async fn an_interrupted_upload_is_finished_by_the_same_file_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Interrupted {
        inner: EmbeddedStore::open(&dir.path().join("beian.redb")).unwrap(),
        fail_rows: AtomicUsize::new(40),
    });
    let app = App {
        forms: Arc::new(forms(dir.path())),
        store: store.clone(),
        settings: Settings::default(),
        routes: None,
    };
    // 60 people with distinct valid IDs: the example ID's birth date moved day by day.
    let rows: Vec<String> = (0..60).map(person).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let body = multipart(&UNIT, Some(&csv(&rows)));

    let first = app
        .handle(upload(UPLOAD, "application/json", body.clone()))
        .await;
    assert_eq!(
        first.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        text(&first)
    );
    let message = json(&first)["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("40 名职工已保存，20 名没有保存"),
        "{message}"
    );
    assert!(message.contains("重新上传同一个文件"));
    let listed = store.list("staff-filing", None).await.unwrap();
    assert_eq!(listed.len(), 40);
    assert!(
        settled(store.as_ref(), listed).await.unwrap().is_empty(),
        "an unfinished batch stays out of exports"
    );

    let second = app.handle(upload(UPLOAD, "application/json", body)).await;
    assert_eq!(second.status(), StatusCode::CREATED, "{}", text(&second));
    let listed = store.list("staff-filing", None).await.unwrap();
    assert_eq!(
        listed.len(),
        60,
        "the 40 written before are not stored twice"
    );
    let settled = settled(store.as_ref(), listed).await.unwrap();
    assert_eq!(settled.len(), 60);
    let reference = json(&second)["reference"].as_str().unwrap().to_string();
    assert!(settled
        .iter()
        .all(|r| r.batch.as_deref() == Some(reference.as_str())));
    assert!(store.batch(&reference).await.unwrap().unwrap().complete);
}

/// A valid row with a distinct ID number for each `n`.
fn person(n: usize) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1985, 1, 1).unwrap() + chrono::Days::new(n as u64);
    let first17 = format!("150102{}{:03}", birth.format("%Y%m%d"), 100 + n % 800);
    let id = format!("{first17}{}", check_char(&first17));
    let sex = if (100 + n % 800) % 2 == 1 {
        "男"
    } else {
        "女"
    };
    format!(
        "{},{id},{sex},{},汉族,大学本科,城镇,13800000000,全日制,固定期限,2026-01-01,2028-12-31,软件工程师,6500,新签,,",
        name(n),
        birth.format("%Y-%m-%d")
    )
}

/// A name for person `n`: names may not hold digits.
fn name(n: usize) -> String {
    let given: Vec<char> = "一二三四五六七八九十甲乙丙丁戊己庚辛壬癸".chars().collect();
    format!("张{}{}", given[n % 20], given[n / 20 % 20])
}

/// The ID number's check character (GB 11643).
fn check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// Markup typed into a sheet (a job title, a name, a column header) comes back as text on the
/// report, the batch receipt and each person's receipt, never as markup.
#[tokio::test]
async fn markup_in_a_sheet_comes_back_escaped_on_the_report_and_the_receipts() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "<img src=x onerror=alert(1)>";
    let raw = |page: &str| {
        assert!(
            !page.contains("<script>alert")
                && !page.contains("<img src=x")
                && !page.contains("<b>"),
            "markup from the sheet reached the page as markup: {page}"
        )
    };
    let t = TestApp::new();

    // A file with a problem (a wrong check digit) and markup: a header of markup, a name in
    // bold (names are kept as typed), a job title with a script.
    let header = format!("{HEADER},{IMG}");
    let rows = [
        PEOPLE[0].replace("软件工程师", &format!("{SCRIPT}\u{3000}")) + ",x",
        PEOPLE[1]
            .replacen("李娜", "<b>李娜</b>", 1)
            .replace("150203199207089983", "150203199207089980")
            + ",x",
    ];
    let file = format!("{header}\r\n{}\r\n{}\r\n", rows[0], rows[1]);
    let response = t
        .send(upload(
            UPLOAD,
            "text/html",
            multipart(&UNIT, Some(file.as_bytes())),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report = text(&response);
    raw(&report);
    assert!(
        report.contains("第 3 行"),
        "the wrong ID is reported: {report}"
    );
    // The job title's trailing full-width space is a repair the report lists, value and all.
    assert!(
        report.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the repaired job title is shown as text: {report}"
    );
    assert!(t.records("staff-filing").await.is_empty());

    // A clean file whose job title is a script: stored as typed, shown as text.
    let job = PEOPLE[0].replace("软件工程师", SCRIPT);
    let response = t
        .send(upload(
            UPLOAD,
            "text/html",
            multipart(&UNIT, Some(&csv(&[job.as_str()]))),
        ))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
    let records = t.records("staff-filing").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].data["groups"]["staff"][0]["job"], SCRIPT);
    let batch = t.get(&location(&response), "text/html").await;
    assert_eq!(batch.status(), StatusCode::OK);
    raw(&text(&batch));
    let own = t
        .get(
            &format!("/api/receipts/{}", records[0].reference),
            "text/html",
        )
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    raw(&text(&own));
}

/// Another unit with a valid credit code of its own.
const OTHER_UNIT: [(&str, &str); 7] = [
    ("unit_name", "包头某某制造有限公司"),
    ("unit_code", "91150102MA0R7K3D52"),
    ("unit_type", "企业"),
    ("industry", "软件和信息技术服务业"),
    ("division_code", "150102"),
    ("contact_name", "刘强"),
    ("contact_phone", "0471-6945364"),
];

/// A filing is recognised by what it files, not by the file's bytes: the same people saved
/// again as GBK or with other line endings are the same upload, and the same file sent by
/// another unit is that unit's own filing (found by a new user, who saw unit B get unit A's
/// receipt).
#[tokio::test]
async fn a_filing_is_recognised_by_its_content_and_unit_not_by_the_file_s_bytes() {
    let t = TestApp::new();
    let utf8 = csv(&PEOPLE);
    let first = upload_json(&t, &UNIT, &utf8).await;
    assert_eq!(first.status(), StatusCode::CREATED, "{}", text(&first));
    let batch = json(&first)["reference"].as_str().unwrap().to_string();

    let text_utf8 = String::from_utf8(utf8.clone()).unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode(&text_utf8);
    let lf = text_utf8.replace("\r\n", "\n").into_bytes();
    for (what, bytes) in [("GBK", gbk.to_vec()), ("LF line endings", lf)] {
        let again = upload_json(&t, &UNIT, &bytes).await;
        assert_eq!(again.status(), StatusCode::OK, "{what}: {}", text(&again));
        assert_eq!(json(&again)["reference"], batch.as_str(), "{what}");
    }
    assert_eq!(t.records("staff-filing").await.len(), 3);

    let other = upload_json(&t, &OTHER_UNIT, &utf8).await;
    assert_eq!(other.status(), StatusCode::CREATED, "{}", text(&other));
    assert_ne!(json(&other)["reference"], batch.as_str());
    let records = t.records("staff-filing").await;
    assert_eq!(records.len(), 6);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.data["fields"]["unit_name"] == "包头某某制造有限公司")
            .count(),
        3
    );
}

/// A stray " at the start of a CSV cell swallows the lines below it. A quote that never
/// closes is refused naming its row; one that closes further down leaves a line break in a
/// cell, which no staff field has: the row is reported. Either way nobody is stored.
#[tokio::test]
async fn a_stray_quote_in_a_csv_never_swallows_the_next_person() {
    let t = TestApp::new();
    let unclosed = csv(&[&format!("{}\"", PEOPLE[0]), PEOPLE[1]]);
    let response = upload_json(&t, &UNIT, &unclosed).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        text(&response)
    );
    let error = json(&response)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("第 2 行") && error.contains("双引号"),
        "{error}"
    );

    let closed = csv(&[
        &PEOPLE[0].replace("软件工程师", "\"软件工程师"),
        &PEOPLE[1].replace("会计", "会计\""),
        PEOPLE[2],
    ]);
    let response = upload_json(&t, &UNIT, &closed).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        text(&response)
    );
    let body = json(&response);
    let problems = body["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["row"] == 2
            && p["column"] == "岗位（工种）"
            && p["message"].as_str().unwrap().contains("换行")),
        "{body}"
    );
    assert!(t.records("staff-filing").await.is_empty());
}

/// Two columns with one header: which is meant cannot be guessed, so the file is refused
/// naming the header and the columns.
#[tokio::test]
async fn a_column_given_twice_is_refused_naming_both() {
    let t = TestApp::new();
    let mut file = format!("{HEADER},公民身份号码\r\n");
    for person in PEOPLE {
        file.push_str(&format!("{person},110101199003071233\r\n"));
    }
    let response = upload_json(&t, &UNIT, file.as_bytes()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(&response);
    assert!(
        body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["row"] == 1
                && p["message"]
                    .as_str()
                    .unwrap()
                    .contains("“公民身份号码”列出现了 2 次（B、R 列）")),
        "{body}"
    );
    assert!(t.records("staff-filing").await.is_empty());
}

/// A browser sends an empty part for a file box left empty; it is not a second file. And a
/// unit field that is not UTF-8 is named by its label.
#[tokio::test]
async fn an_empty_file_part_is_ignored_and_a_bad_field_is_named_by_its_label() {
    let t = TestApp::new();
    let good = multipart(&UNIT, Some(&csv(&PEOPLE)));
    let empty_part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n\r\n"
    );
    let body = [empty_part.as_bytes(), &good].concat();
    let response = t.send(upload(UPLOAD, "application/json", body)).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        text(&response)
    );

    let mut gbk =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"unit_name\"\r\n\r\n")
            .into_bytes();
    gbk.extend_from_slice(&encoding_rs::GBK.encode("内蒙古某某公司").0);
    gbk.extend_from_slice(b"\r\n");
    gbk.extend(multipart(&UNIT[1..], Some(&csv(&PEOPLE[..1]))));
    let response = t.send(upload(UPLOAD, "application/json", gbk)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error = json(&response)["error"].as_str().unwrap().to_string();
    assert!(error.contains("“单位名称”栏的文字不是 UTF-8"), "{error}");
}
