//! The store contract: one suite, run against the embedded store (a redb file in a temporary
//! folder) and the DynamoDB store (a fresh table on moto's server, started by
//! `bash tests/run.sh`). Whatever a person or an export would notice must be the same on both.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::StalledStreamProtectionConfig;
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, TimeToLiveStatus};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde_json::json;
use tokio::sync::Semaphore;

use beian_functions::store::dynamo::{client_from_env, DynamoStore};
use beian_functions::store::embedded::EmbeddedStore;
use beian_functions::store::{
    settled, AuditStamp, Batch, BatchStart, Channel, Limit, Put, Record, Store, StoreError,
};

/// A store under test and where its data lives.
struct Fixture {
    store: Arc<dyn Store>,
    place: Place,
}

enum Place {
    /// The embedded store's file, `beian.redb` in this folder.
    File(tempfile::TempDir),
    /// A table of its own on moto.
    Table(Client, String),
}

impl Fixture {
    fn embedded() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = EmbeddedStore::open(&dir.path().join("beian.redb")).expect("the store opens");
        Fixture {
            store: Arc::new(store),
            place: Place::File(dir),
        }
    }

    async fn dynamo() -> Fixture {
        if std::env::var("BEIAN_DYNAMODB_ENDPOINT").is_err() {
            panic!(
                "BEIAN_DYNAMODB_ENDPOINT is not set: the DynamoDB store is tested against moto; \
                 run `bash tests/run.sh`, which starts moto on 127.0.0.1 and sets it"
            );
        }
        let client = moto_client().await;
        let table = unique_table_name();
        let store = DynamoStore::new(client.clone(), table.clone());
        store
            .create_table()
            .await
            .expect("the table is created on moto");
        Fixture {
            store: Arc::new(store),
            place: Place::Table(client, table),
        }
    }

    /// The same data through a new store: the file opened again, or a new client.
    async fn reopened(self) -> Fixture {
        let Fixture { store, place } = self;
        drop(store);
        let store: Arc<dyn Store> = match &place {
            Place::File(dir) => Arc::new(
                EmbeddedStore::open(&dir.path().join("beian.redb")).expect("the file opens again"),
            ),
            Place::Table(_, table) => {
                Arc::new(DynamoStore::new(moto_client().await, table.clone()))
            }
        };
        Fixture { store, place }
    }

    fn is_dynamo(&self) -> bool {
        matches!(self.place, Place::Table(..))
    }
}

/// A client for moto that sends it one request at a time. moto's server answers requests in
/// parallel threads without locking: a transaction copies the whole table first and fails
/// with HTTP 500 when another request writes to the table meanwhile, and a cancelled one
/// restores that copy over whatever was written since. DynamoDB does neither. The store
/// still makes its calls concurrently; only moto sees them in turn. A request waiting for its
/// turn sends nothing, which the SDK's stalled-stream protection would take for a dead
/// connection after 5 seconds, so that is off.
async fn moto_client() -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = client_from_env()
        .await
        .config()
        .to_builder()
        .http_client(OneAtATime(http))
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// Every moto client takes its turn here.
static MOTO_TURN: Semaphore = Semaphore::const_new(1);

/// An HTTP client that lets one request through to moto at a time.
#[derive(Debug)]
struct OneAtATime(SharedHttpClient);

impl HttpClient for OneAtATime {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(InTurn(self.0.http_connector(settings, components)))
    }
}

#[derive(Debug)]
struct InTurn(SharedHttpConnector);

impl HttpConnector for InTurn {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let connector = self.0.clone();
        HttpConnectorFuture::new(async move {
            let _turn = MOTO_TURN
                .acquire()
                .await
                .expect("the semaphore is never closed");
            connector.call(request).await
        })
    }
}

fn unique_table_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "beian-contract-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs each contract test once per store.
macro_rules! contract_tests {
    ($($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::Fixture::embedded()).await;
                }
            )+
        }

        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::Fixture::dynamo().await).await;
                }
            )+
        }
    };
}

contract_tests!(
    put_then_get_returns_the_record_exactly,
    doesnt_find_what_was_never_stored,
    stores_a_correction_beside_the_first_version,
    errors_on_storing_a_version_again,
    errors_on_a_version_after_a_missing_one,
    errors_on_a_correction_for_an_unknown_reference,
    stores_once_for_the_same_idempotency_key,
    stores_twice_for_different_idempotency_keys,
    keeps_every_one_of_200_concurrent_puts,
    lists_a_form_since_a_date,
    limits_hits_in_each_window,
    keeps_everything_after_reopening,
    stores_long_chinese_text_up_to_the_item_limit,
    stores_a_batch_of_60_rows_and_marks_it_complete,
    recognises_a_file_already_recorded,
    rewriting_an_interrupted_batch_stores_nothing_twice,
);

fn stamp(time: &str) -> AuditStamp {
    AuditStamp {
        agency: "呼和浩特市新城区劳动就业服务中心".into(),
        handler: "其木格".into(),
        time: time.into(),
        channel: Channel::Counter,
        request_id: "req-7f3a".into(),
        source_ip: "10.20.30.40".into(),
        form_version: 3,
        content_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
    }
}

/// Version 1 of a submission of `form_id`, stamped at `time`.
fn record(reference: &str, form_id: &str, time: &str) -> Record {
    Record {
        reference: reference.into(),
        form_id: form_id.into(),
        version: 1,
        status: "已受理".into(),
        data: json!({
            "fields": {
                "name": "张三",
                "status": "在职",
                "date": "2024-01-01",
                "id_number": "110101199003071233",
                "landline": "01088886666",
                "benefits": ["养老保险", "医疗保险"],
            },
            "groups": {
                "employees": [
                    { "name": "李四", "id_number": "44030419851215002X" },
                ],
            },
        }),
        audit: stamp(time),
        idempotency_key: None,
        batch: None,
    }
}

/// The next version of `previous`, stamped at `time`.
fn correction(previous: &Record, time: &str) -> Record {
    let mut next = previous.clone();
    next.version += 1;
    next.status = "已更正".into();
    next.data["fields"]["landline"] = json!("04714567890");
    next.audit = stamp(time);
    next.audit.channel = Channel::Online;
    next.idempotency_key = None;
    next
}

async fn stored(store: &Arc<dyn Store>, record: &Record) {
    let put = store
        .put(record.clone())
        .await
        .expect("the record is stored");
    assert_eq!(put, Put::Stored(record.reference.clone()));
}

fn references(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.reference.as_str()).collect()
}

async fn put_then_get_returns_the_record_exactly(fixture: Fixture) {
    let store = fixture.store;
    // `name`, `status` and `date` are DynamoDB reserved words (C22); the ID and the
    // landline look like numbers (C26); the optional remark was left empty and is absent
    // (C23), not stored as an empty string.
    let mut first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    first.idempotency_key = Some("idem-1".into());
    stored(&store, &first).await;

    let got = store.get(&first.reference).await.unwrap().expect("found");
    assert_eq!(got, first);
    let fields = &got.data["fields"];
    assert_eq!(fields["id_number"], json!("110101199003071233"));
    assert_eq!(fields["landline"], json!("01088886666"));
    assert_eq!(fields["name"], json!("张三"));
    assert_eq!(fields["status"], json!("在职"));
    assert_eq!(fields["date"], json!("2024-01-01"));
    assert!(fields.get("remark").is_none());

    let without_key = record("M2N3-P4Q5-R6S7", "employment", "2026-12-01T09:31:00+08:00");
    stored(&store, &without_key).await;
    let got = store.get(&without_key.reference).await.unwrap();
    assert_eq!(got, Some(without_key));
}

async fn doesnt_find_what_was_never_stored(fixture: Fixture) {
    let store = fixture.store;
    assert_eq!(store.get("ZZZZ-ZZZZ-ZZZZ").await.unwrap(), None);
    assert!(store.versions("ZZZZ-ZZZZ-ZZZZ").await.unwrap().is_empty());
    assert!(store.list("employment", None).await.unwrap().is_empty());
}

async fn stores_a_correction_beside_the_first_version(fixture: Fixture) {
    let store = fixture.store;
    let first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    let second = correction(&first, "2026-12-02T14:00:00+08:00");
    stored(&store, &first).await;
    stored(&store, &second).await;

    assert_eq!(
        store.get(&first.reference).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.versions(&first.reference).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(store.list("employment", None).await.unwrap(), vec![second]);
}

async fn errors_on_storing_a_version_again(fixture: Fixture) {
    let store = fixture.store;
    let first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    stored(&store, &first).await;

    let mut again = first.clone();
    again.status = "已作废".into();
    let err = store.put(again).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::VersionExists(r, 1) if r == &first.reference),
        "{err:?}"
    );
    assert_eq!(store.versions(&first.reference).await.unwrap(), vec![first]);
}

async fn errors_on_a_version_after_a_missing_one(fixture: Fixture) {
    let store = fixture.store;
    let first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    stored(&store, &first).await;

    let mut third = correction(&first, "2026-12-02T14:00:00+08:00");
    third.version = 3;
    let err = store.put(third).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(r) if r == &first.reference),
        "{err:?}"
    );
    assert_eq!(store.versions(&first.reference).await.unwrap(), vec![first]);
}

async fn errors_on_a_correction_for_an_unknown_reference(fixture: Fixture) {
    let store = fixture.store;
    let unknown = record("ZZZZ-ZZZZ-ZZZZ", "employment", "2026-12-01T09:30:00+08:00");
    let err = store
        .put(correction(&unknown, "2026-12-02T14:00:00+08:00"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(r) if r == "ZZZZ-ZZZZ-ZZZZ"),
        "{err:?}"
    );
    assert_eq!(store.get("ZZZZ-ZZZZ-ZZZZ").await.unwrap(), None);
}

async fn stores_once_for_the_same_idempotency_key(fixture: Fixture) {
    let store = fixture.store;
    let mut first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    first.idempotency_key = Some("same-click".into());
    let mut repeat = record("M2N3-P4Q5-R6S7", "employment", "2026-12-01T09:30:01+08:00");
    repeat.idempotency_key = Some("same-click".into());

    stored(&store, &first).await;
    let put = store.put(repeat.clone()).await.unwrap();

    assert_eq!(put, Put::Duplicate(first.reference.clone()));
    assert_eq!(store.get(&repeat.reference).await.unwrap(), None);
    assert_eq!(store.list("employment", None).await.unwrap(), vec![first]);
}

async fn stores_twice_for_different_idempotency_keys(fixture: Fixture) {
    let store = fixture.store;
    let mut first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    first.idempotency_key = Some("click-1".into());
    let mut second = record("M2N3-P4Q5-R6S7", "employment", "2026-12-01T09:30:01+08:00");
    second.idempotency_key = Some("click-2".into());

    stored(&store, &first).await;
    stored(&store, &second).await;

    assert_eq!(
        store.list("employment", None).await.unwrap(),
        vec![first, second]
    );
}

async fn keeps_every_one_of_200_concurrent_puts(fixture: Fixture) {
    let store = fixture.store;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            let mut record = record(
                &format!("REF-{i:04}"),
                "employment",
                &format!("2026-12-01T10:{:02}:{:02}+08:00", i / 60, i % 60),
            );
            record.idempotency_key = Some(format!("click-{i}"));
            tokio::spawn(async move { store.put(record).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let put = task.await.unwrap().expect("every put is stored");
        assert_eq!(put, Put::Stored(format!("REF-{i:04}")));
    }

    let listed = store.list("employment", None).await.unwrap();
    let distinct: BTreeSet<&str> = references(&listed).into_iter().collect();
    let expected: BTreeSet<String> = (0..200).map(|i| format!("REF-{i:04}")).collect();
    assert_eq!(listed.len(), 200);
    assert_eq!(
        distinct,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
}

async fn lists_a_form_since_a_date(fixture: Fixture) {
    let store = fixture.store;
    let november = record("AAAA-AAAA-AAA1", "employment", "2026-11-30T23:59:59+08:00");
    let december = record("BBBB-BBBB-BBB2", "employment", "2026-12-01T00:00:00+08:00");
    let later = record("CCCC-CCCC-CCC3", "employment", "2026-12-02T08:15:00+08:00");
    let other_form = record("DDDD-DDDD-DDD4", "termination", "2026-12-01T10:00:00+08:00");
    for r in [&later, &november, &other_form, &december] {
        stored(&store, r).await;
    }
    // Corrected in December, first stamped in November: still before `since`.
    let corrected = correction(&november, "2026-12-03T09:00:00+08:00");
    stored(&store, &corrected).await;

    let all = store.list("employment", None).await.unwrap();
    assert_eq!(
        all,
        vec![corrected.clone(), december.clone(), later.clone()]
    );
    let since = store.list("employment", Some("2026-12-01")).await.unwrap();
    assert_eq!(since, vec![december, later.clone()]);
    let since_time = store
        .list("employment", Some("2026-12-02T08:15:00"))
        .await
        .unwrap();
    assert_eq!(since_time, vec![later]);
    assert_eq!(
        store.list("termination", None).await.unwrap(),
        vec![other_form]
    );
    assert!(store.list("no-such-form", None).await.unwrap().is_empty());
}

async fn limits_hits_in_each_window(fixture: Fixture) {
    let store = fixture.store;
    let window = 60;
    let start = 1_800_000_000 - 1_800_000_000 % window;
    let now = start + 15;

    for _ in 0..3 {
        let hit = store
            .hit("lookup:10.20.30.40", 3, window, now)
            .await
            .unwrap();
        assert_eq!(hit, Limit::Allowed);
    }
    let refused = store
        .hit("lookup:10.20.30.40", 3, window, now + 5)
        .await
        .unwrap();
    match refused {
        Limit::Exceeded { retry_after } => {
            assert!(retry_after <= window, "retry after {retry_after}s");
            assert_eq!(retry_after, start + window - (now + 5));
        }
        Limit::Allowed => panic!("the fourth hit in a window of 3 was allowed"),
    }

    let other = store
        .hit("lookup:10.20.30.41", 3, window, now)
        .await
        .unwrap();
    assert_eq!(other, Limit::Allowed);
    let next_window = store
        .hit("lookup:10.20.30.40", 3, window, start + window)
        .await
        .unwrap();
    assert_eq!(next_window, Limit::Allowed);
}

async fn keeps_everything_after_reopening(fixture: Fixture) {
    let mut first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    first.idempotency_key = Some("before-restart".into());
    let second = correction(&first, "2026-12-02T14:00:00+08:00");
    stored(&fixture.store, &first).await;
    stored(&fixture.store, &second).await;
    let window = 60;
    let now = 1_800_000_000;
    assert_eq!(
        fixture.store.hit("lookup", 1, window, now).await.unwrap(),
        Limit::Allowed
    );

    let store = fixture.reopened().await.store;

    assert_eq!(
        store.get(&first.reference).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.versions(&first.reference).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(store.list("employment", None).await.unwrap(), vec![second]);
    let mut repeat = record("M2N3-P4Q5-R6S7", "employment", "2026-12-02T15:00:00+08:00");
    repeat.idempotency_key = Some("before-restart".into());
    assert_eq!(
        store.put(repeat).await.unwrap(),
        Put::Duplicate(first.reference.clone())
    );
    assert!(matches!(
        store.hit("lookup", 1, window, now).await.unwrap(),
        Limit::Exceeded { .. }
    ));
}

async fn stores_long_chinese_text_up_to_the_item_limit(fixture: Fixture) {
    let dynamo = fixture.is_dynamo();
    let store = fixture.store;
    // C25: 130,000 characters of 备 are 390,000 UTF-8 bytes, under DynamoDB's 400 KB;
    // 140,000 are 420,000 bytes, over it, though a count of characters would pass both.
    let mut fits = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
    fits.data["fields"]["remark"] = json!("备".repeat(130_000));
    stored(&store, &fits).await;
    assert_eq!(store.get(&fits.reference).await.unwrap(), Some(fits));

    let mut too_long = record("M2N3-P4Q5-R6S7", "employment", "2026-12-01T09:31:00+08:00");
    too_long.data["fields"]["remark"] = json!("备".repeat(140_000));
    let put = store.put(too_long.clone()).await;
    if dynamo {
        let err = put.unwrap_err();
        assert!(matches!(err, StoreError::TooLarge(_)), "{err:?}");
        assert!(err.to_string().contains("内容过长"), "{err}");
        assert_eq!(store.get(&too_long.reference).await.unwrap(), None);
    } else if put.is_ok() {
        // The embedded store has no item limit; the API layer checks the size for both.
        assert_eq!(
            store.get(&too_long.reference).await.unwrap(),
            Some(too_long)
        );
    }
}

/// What only the DynamoDB store has: the table's set-up and the items' layout.
mod dynamo_table {
    use super::*;

    async fn raw_item(client: &Client, table: &str, pk: &str, sk: &str) -> Option<Item> {
        client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem on moto")
            .item
    }

    type Item = std::collections::HashMap<String, AttributeValue>;

    fn table_of(fixture: &Fixture) -> (Client, String) {
        match &fixture.place {
            Place::Table(client, table) => (client.clone(), table.clone()),
            Place::File(_) => panic!("not a DynamoDB fixture"),
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn creates_the_table_as_deployed() {
        let fixture = Fixture::dynamo().await;
        let (client, table) = table_of(&fixture);

        let described = client
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let description = described.table.expect("the table");
        let billing = description
            .billing_mode_summary()
            .and_then(|b| b.billing_mode().cloned());
        assert_eq!(billing, Some(BillingMode::PayPerRequest));
        let keys: Vec<_> = description
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(keys, vec![("pk", "HASH"), ("sk", "RANGE")]);
        let indexes = description.global_secondary_indexes();
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0].index_name(), Some("by_form"));
        let index_keys: Vec<_> = indexes[0]
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(index_keys, vec![("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]);

        let ttl = client
            .describe_time_to_live()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .expect("a TTL description");
        assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));
        assert_eq!(ttl.attribute_name.as_deref(), Some("expires_at"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn stores_the_documented_item_layout() {
        let fixture = Fixture::dynamo().await;
        let (client, table) = table_of(&fixture);
        let mut first = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
        first.idempotency_key = Some("click-1".into());
        stored(&fixture.store, &first).await;
        stored(
            &fixture.store,
            &correction(&first, "2026-12-02T14:00:00+08:00"),
        )
        .await;

        let v1 = raw_item(&client, &table, "SUB#K7QM-3XRT-9HAP", "V#000001")
            .await
            .expect("version 1");
        let s = |item: &Item, name: &str| item[name].as_s().cloned().unwrap();
        assert_eq!(s(&v1, "gsi1pk"), "FORM#employment");
        assert_eq!(s(&v1, "gsi1sk"), "2026-12-01T09:30:00+08:00#K7QM-3XRT-9HAP");
        assert_eq!(s(&v1, "channel"), "窗口代录");
        assert_eq!(v1["version"].as_n().unwrap(), "1");
        // The data are one string of JSON: the ID is text, never a number.
        assert!(s(&v1, "data").contains("\"110101199003071233\""));

        let v2 = raw_item(&client, &table, "SUB#K7QM-3XRT-9HAP", "V#000002")
            .await
            .expect("version 2");
        assert!(
            !v2.contains_key("gsi1pk"),
            "only first versions are indexed"
        );
        let audit = raw_item(&client, &table, "SUB#K7QM-3XRT-9HAP", "AUDIT#000002")
            .await
            .expect("the audit event of version 2");
        assert_eq!(s(&audit, "time"), "2026-12-02T14:00:00+08:00");
        assert_eq!(s(&audit, "handler"), "其木格");

        let idem = raw_item(&client, &table, "IDEM#click-1", "IDEM")
            .await
            .expect("the idempotency key");
        assert_eq!(s(&idem, "reference"), "K7QM-3XRT-9HAP");
        let expires: u64 = idem["expires_at"].as_n().unwrap().parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expires > now + 23 * 3600 && expires <= now + 24 * 3600 + 60);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn reuses_an_expired_idempotency_key() {
        let fixture = Fixture::dynamo().await;
        let (client, table) = table_of(&fixture);
        // An expired key that TTL has not deleted yet.
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("IDEM#yesterday".into()))
            .item("sk", AttributeValue::S("IDEM".into()))
            .item("reference", AttributeValue::S("OLDR-EFER-ENC1".into()))
            .item("expires_at", AttributeValue::N("1000".into()))
            .send()
            .await
            .unwrap();

        let mut fresh = record("K7QM-3XRT-9HAP", "employment", "2026-12-01T09:30:00+08:00");
        fresh.idempotency_key = Some("yesterday".into());
        stored(&fixture.store, &fresh).await;
        assert_eq!(
            fixture.store.get(&fresh.reference).await.unwrap(),
            Some(fresh)
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn errors_on_empty_key_parts_before_calling_dynamodb() {
        let fixture = Fixture::dynamo().await;
        // C23: DynamoDB refuses an empty string in a key; the store says which part is empty.
        let no_reference = record("", "employment", "2026-12-01T09:30:00+08:00");
        let err = fixture.store.put(no_reference).await.unwrap_err();
        assert!(err.to_string().contains("受理编号为空"), "{err}");

        let no_form = record("K7QM-3XRT-9HAP", "", "2026-12-01T09:30:00+08:00");
        let err = fixture.store.put(no_form).await.unwrap_err();
        assert!(err.to_string().contains("表单编号为空"), "{err}");
        assert_eq!(fixture.store.get("K7QM-3XRT-9HAP").await.unwrap(), None);
    }
}

/// A batch of `rows` rows of `staff-filing`, not yet complete.
fn batch(reference: &str, sha: &str, rows: u32) -> Batch {
    Batch {
        reference: reference.into(),
        form_id: "staff-filing".into(),
        filed_sha256: sha.into(),
        file_format: "XLSX".into(),
        rows,
        unit: json!({ "fields": { "unit_name": "内蒙古某某科技有限公司" } }),
        complete: false,
        audit: stamp("2026-12-03T10:00:00+08:00"),
    }
}

/// Row `index` of `batch`, as the upload handler makes it.
fn batch_row(batch: &Batch, index: usize) -> Record {
    let mut row = record(
        &beian_functions::reference::of_row(&batch.reference, index),
        &batch.form_id,
        &batch.audit.time,
    );
    row.data["groups"] = json!({ "staff": [{ "name": format!("职工{index}") }] });
    row.batch = Some(batch.reference.clone());
    row
}

async fn stores_a_batch_of_60_rows_and_marks_it_complete(fixture: Fixture) {
    let store = fixture.store;
    let b = batch("K7QM-3XRT-9HAP", &"a".repeat(64), 60);
    assert_eq!(store.begin_batch(&b).await.unwrap(), BatchStart::New);
    let rows: Vec<Record> = (0..60).map(|i| batch_row(&b, i)).collect();

    let outcome = store.put_rows(&rows).await;
    assert_eq!(outcome.written, 60);
    assert!(outcome.failed.is_empty());
    assert!(!store.batch(&b.reference).await.unwrap().unwrap().complete);
    let listed = store.list("staff-filing", None).await.unwrap();
    assert_eq!(listed.len(), 60);
    assert!(settled(store.as_ref(), listed).await.unwrap().is_empty());

    store.complete_batch(&b.reference).await.unwrap();
    let done = store.batch(&b.reference).await.unwrap().unwrap();
    assert!(done.complete);
    assert_eq!(done.audit, b.audit);
    assert_eq!(done.unit, b.unit);
    let listed = store.list("staff-filing", None).await.unwrap();
    let settled = settled(store.as_ref(), listed).await.unwrap();
    assert_eq!(settled.len(), 60);
    assert_eq!(
        store.get(&rows[42].reference).await.unwrap(),
        Some(rows[42].clone())
    );
}

async fn recognises_a_file_already_recorded(fixture: Fixture) {
    let store = fixture.store;
    let first = batch("K7QM-3XRT-9HAP", &"b".repeat(64), 3);
    assert_eq!(store.begin_batch(&first).await.unwrap(), BatchStart::New);
    let same_file = batch("M2N3-P4Q5-R6S7", &"b".repeat(64), 3);
    assert_eq!(
        store.begin_batch(&same_file).await.unwrap(),
        BatchStart::Existing(Box::new(first.clone()))
    );
    assert_eq!(store.batch("M2N3-P4Q5-R6S7").await.unwrap(), None);
    let other_file = batch("M2N3-P4Q5-R6S7", &"c".repeat(64), 3);
    assert_eq!(
        store.begin_batch(&other_file).await.unwrap(),
        BatchStart::New
    );
}

async fn rewriting_an_interrupted_batch_stores_nothing_twice(fixture: Fixture) {
    let b = batch("K7QM-3XRT-9HAP", &"d".repeat(64), 30);
    let rows: Vec<Record> = (0..30).map(|i| batch_row(&b, i)).collect();
    {
        let store = &fixture.store;
        store.begin_batch(&b).await.unwrap();
        assert_eq!(store.put_rows(&rows[..12]).await.written, 12);
    }
    // The process stopped; later the same file comes again.
    let fixture = fixture.reopened().await;
    let store = fixture.store;
    let found = match store.begin_batch(&b).await.unwrap() {
        BatchStart::Existing(found) => found,
        other => panic!("the interrupted batch is found: {other:?}"),
    };
    assert!(!found.complete);
    assert_eq!(store.put_rows(&rows).await.written, 30);
    store.complete_batch(&found.reference).await.unwrap();
    let listed = store.list("staff-filing", None).await.unwrap();
    assert_eq!(listed.len(), 30);
    let references: BTreeSet<String> = listed.iter().map(|r| r.reference.clone()).collect();
    assert_eq!(references.len(), 30);
}
