//! Bulk writes to DynamoDB (C27): BatchWriteItem takes at most 25 items a request and answers
//! 200 OK with the items it did not write in `UnprocessedItems`, which the SDK does not retry.
//! The store is pointed at a fake DynamoDB on 127.0.0.1 that knows only BatchWriteItem and
//! leaves unprocessed, or refuses, whichever items a test tells it to.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
};
use aws_sdk_dynamodb::Client;
use serde_json::{json, Value};

use beian_functions::store::dynamo::DynamoStore;
use beian_functions::store::{AuditStamp, Channel, Record, RowsOutcome, Store};

const TABLE: &str = "beian-batch";

/// What the fake does with one item of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Stores it.
    Store,
    /// Hands it back in `UnprocessedItems`.
    Unprocessed,
    /// Answers the whole request with a ValidationException, storing nothing.
    FailRequest,
}

/// Decides each item's fate from the request's number (0 for the first) and the item's `pk`.
type Rule = dyn Fn(usize, &str) -> Fate + Send + Sync;

/// What the fake saw and stored.
#[derive(Default)]
struct Seen {
    /// The `pk` of every item of each BatchWriteItem request, in the order they came.
    requests: Vec<Vec<String>>,
    /// When each request came.
    times: Vec<Instant>,
    /// The stored items, by `pk` and `sk`.
    table: HashMap<(String, String), Value>,
}

impl Seen {
    fn sizes(&self) -> Vec<usize> {
        self.requests.iter().map(Vec::len).collect()
    }

    fn stored_pks(&self) -> BTreeSet<String> {
        self.table.keys().map(|(pk, _)| pk.clone()).collect()
    }
}

/// Starts the fake DynamoDB on a free port of 127.0.0.1.
fn start_fake(rule: impl Fn(usize, &str) -> Fate + Send + Sync + 'static) -> FakeDynamo {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
    let address = listener.local_addr().expect("the port is known");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rule: Arc<Rule> = Arc::new(rule);
    {
        let seen = seen.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming().flatten() {
                let (seen, rule) = (seen.clone(), rule.clone());
                std::thread::spawn(move || serve(connection, &seen, &*rule));
            }
        });
    }
    FakeDynamo { address, seen }
}

struct FakeDynamo {
    address: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl FakeDynamo {
    /// A store on the fake's table, through a client with dummy credentials.
    fn store(&self) -> DynamoStore {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("cn-north-1"))
            .credentials_provider(Credentials::new("fake", "fake", None, None, "test"))
            .endpoint_url(format!("http://{}", self.address))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        DynamoStore::new(Client::from_conf(config), TABLE.to_string())
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .expect("the fake never panics holding the lock")
    }
}

/// Answers the HTTP/1.1 requests of one connection, kept alive until the client closes it.
fn serve(connection: TcpStream, seen: &Mutex<Seen>, rule: &Rule) {
    let mut reader = BufReader::new(connection.try_clone().expect("the socket clones"));
    let mut writer = connection;
    while let Some((target, body)) = read_request(&mut reader) {
        let (status, answer) = match target.as_str() {
            "DynamoDB_20120810.BatchWriteItem" => batch_write_item(&body, seen, rule),
            _ => validation_error("the fake knows only BatchWriteItem"),
        };
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\n\
             Content-Type: application/x-amz-json-1.0\r\n\
             x-amzn-RequestId: fake\r\n\
             Content-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// The `x-amz-target` header and the body of the next request; `None` once the client has
/// closed the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut target = String::new();
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "x-amz-target" => target = value.trim().to_string(),
                "content-length" => length = value.trim().parse().ok()?,
                "transfer-encoding" => panic!("the fake reads only bodies with a Content-Length"),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((target, body))
}

/// Stores the request's items, or not, as the rule says.
fn batch_write_item(body: &[u8], seen: &Mutex<Seen>, rule: &Rule) -> (u16, String) {
    let request: Value = serde_json::from_slice(body).expect("the request body is JSON");
    let writes = request["RequestItems"][TABLE]
        .as_array()
        .expect("the request writes to the store's table")
        .clone();
    let mut seen = seen.lock().expect("no test panics holding the lock");
    let number = seen.requests.len();

    let mut pks = Vec::new();
    let mut fates = Vec::new();
    for write in &writes {
        let item = &write["PutRequest"]["Item"];
        let pk = item["pk"]["S"].as_str().expect("every item has a pk");
        fates.push(rule(number, pk));
        pks.push(pk.to_string());
    }
    seen.requests.push(pks);
    seen.times.push(Instant::now());
    if fates.contains(&Fate::FailRequest) {
        return validation_error("the test fails this request");
    }

    let mut unprocessed = Vec::new();
    for (write, fate) in writes.into_iter().zip(fates) {
        if fate == Fate::Unprocessed {
            unprocessed.push(write);
            continue;
        }
        let item = &write["PutRequest"]["Item"];
        let key = (
            item["pk"]["S"].as_str().unwrap_or_default().to_string(),
            item["sk"]["S"].as_str().unwrap_or_default().to_string(),
        );
        seen.table.insert(key, item.clone());
    }
    let unprocessed = if unprocessed.is_empty() {
        json!({})
    } else {
        json!({ TABLE: unprocessed })
    };
    (200, json!({ "UnprocessedItems": unprocessed }).to_string())
}

fn validation_error(message: &str) -> (u16, String) {
    let body = json!({
        "__type": "com.amazon.coral.validate#ValidationException",
        "message": message,
    });
    (400, body.to_string())
}

/// The reference of row `index`.
fn reference(index: usize) -> String {
    format!("NM-20261204-{index:05}")
}

/// The `pk` of row `index`'s item.
fn pk(index: usize) -> String {
    format!("SUB#{}", reference(index))
}

/// Row `index` of a staff filing: version 1 of its own reference.
fn row(index: usize) -> Record {
    Record {
        reference: reference(index),
        form_id: "staff-filing".into(),
        version: 1,
        status: "已受理".into(),
        data: json!({
            "fields": { "name": format!("职工{index}"), "id_number": "150102199003071234" },
            "groups": {},
        }),
        audit: AuditStamp {
            agency: "呼和浩特市新城区劳动就业服务中心".into(),
            handler: "其木格".into(),
            time: "2026-12-04T10:00:00+08:00".into(),
            channel: Channel::Counter,
            request_id: "req-bulk".into(),
            source_ip: "10.20.30.40".into(),
            form_version: 1,
            content_sha256: "0".repeat(64),
        },
        idempotency_key: None,
        batch: None,
    }
}

fn rows(count: usize) -> Vec<Record> {
    (0..count).map(row).collect()
}

/// Checks that each request after the first of a chunk came at least the backoff later:
/// 50 ms, then doubling.
fn assert_backoff(times: &[Instant]) {
    for (i, pair) in times.windows(2).enumerate() {
        let wait = pair[1] - pair[0];
        let least = Duration::from_millis(50 << i);
        assert!(
            wait >= least,
            "resend {} came after {wait:?}, not {least:?}",
            i + 1
        );
    }
}

#[tokio::test]
async fn retries_the_unprocessed_items_until_all_60_are_stored() {
    let deferred: BTreeSet<String> = [1, 4, 9, 12, 17, 20, 24].into_iter().map(pk).collect();
    let once = deferred.clone();
    let fake = start_fake(move |request, pk| {
        if request == 0 && once.contains(pk) {
            Fate::Unprocessed
        } else {
            Fate::Store
        }
    });

    let outcome = fake.store().put_rows(&rows(60)).await;

    assert_eq!(
        outcome,
        RowsOutcome {
            written: 60,
            failed: vec![],
        }
    );
    let seen = fake.seen();
    assert_eq!(seen.sizes(), [25, 7, 25, 10]);
    assert!(seen.sizes().iter().all(|&size| size <= 25));
    let resent: BTreeSet<String> = seen.requests[1].iter().cloned().collect();
    assert_eq!(
        resent, deferred,
        "exactly the 7 unprocessed items are sent again"
    );
    assert_backoff(&seen.times[..2]);
    assert_eq!(seen.table.len(), 60);
    assert_eq!(seen.stored_pks(), (0..60).map(pk).collect());
}

#[tokio::test]
async fn stores_each_row_as_the_item_of_a_record_version() {
    let fake = start_fake(|_, _| Fate::Store);
    let record = row(7);

    let outcome = fake.store().put_rows(std::slice::from_ref(&record)).await;

    assert_eq!(outcome.written, 1);
    let seen = fake.seen();
    let item = &seen.table[&(pk(7), "V#000001".to_string())];
    assert_eq!(item["reference"]["S"], reference(7));
    assert_eq!(item["form_id"]["S"], "staff-filing");
    assert_eq!(item["version"]["N"], "1");
    assert_eq!(item["gsi1pk"]["S"], "FORM#staff-filing");
    let data = item["data"]["S"].as_str().expect("data is one string");
    assert_eq!(serde_json::from_str::<Value>(data).unwrap(), record.data);
    assert_eq!(item["handler"]["S"], "其木格");
}

#[tokio::test]
async fn reports_the_3_rows_never_accepted_as_failed() {
    let refused: BTreeSet<String> = [27, 33, 48].into_iter().map(pk).collect();
    let never = refused.clone();
    let fake = start_fake(move |_, pk| {
        if never.contains(pk) {
            Fate::Unprocessed
        } else {
            Fate::Store
        }
    });

    let outcome = fake.store().put_rows(&rows(60)).await;

    assert_eq!(
        outcome,
        RowsOutcome {
            written: 57,
            failed: vec![27, 33, 48],
        }
    );
    let seen = fake.seen();
    // The second chunk is sent 8 times in all, then its 3 rows count as failed.
    assert_eq!(seen.sizes(), [25, 25, 3, 3, 3, 3, 3, 3, 3, 10]);
    assert_backoff(&seen.times[1..9]);
    assert_eq!(seen.table.len(), 57);
    assert!(seen.stored_pks().is_disjoint(&refused));
}

#[tokio::test]
async fn reports_every_row_of_a_chunk_whose_request_fails() {
    let failing = pk(30);
    let fake = start_fake(move |_, pk| {
        if pk == failing {
            Fate::FailRequest
        } else {
            Fate::Store
        }
    });

    let outcome = fake.store().put_rows(&rows(60)).await;

    assert_eq!(outcome.written, 35);
    assert_eq!(outcome.failed, (25..50).collect::<Vec<_>>());
    let seen = fake.seen();
    assert_eq!(seen.sizes(), [25, 25, 10]);
    assert_eq!(seen.table.len(), 35);
}

#[tokio::test]
async fn doesnt_send_rows_with_an_empty_or_repeated_key() {
    let fake = start_fake(|_, _| Fate::Store);
    let mut records = rows(60);
    records[3].reference.clear();
    records[10].reference = reference(9);

    let outcome = fake.store().put_rows(&records).await;

    assert_eq!(
        outcome,
        RowsOutcome {
            written: 58,
            failed: vec![3, 10],
        }
    );
    let seen = fake.seen();
    assert_eq!(seen.sizes(), [25, 25, 8]);
    assert_eq!(seen.table.len(), 58);
}
