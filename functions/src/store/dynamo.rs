//! The DynamoDB store, for AWS: one table holds every version of every submission, its
//! audit events, the idempotency keys and the rate-limit counters.
//!
//! Item layout. `pk` and `sk` are the table's keys, both strings; `(N)` marks a number, every
//! other attribute is a string.
//!
//! - A record version: `pk` = `SUB#<reference>`, `sk` = `V#<version, six digits>`, with
//!   `reference`, `form_id`, `version` (N), `status`, `data` (one string holding the JSON;
//!   `record_item` says why), `idempotency_key` (only when there is one) and the audit stamp
//!   fields. A first version also has `gsi1pk` = `FORM#<form_id>` and `gsi1sk` =
//!   `<audit time>#<reference>`, which put it in the index `by_form`.
//! - Its audit event: `pk` = `SUB#<reference>`, `sk` = `AUDIT#<version, six digits>`, with
//!   the audit stamp fields.
//! - An idempotency key: `pk` = `IDEM#<key>`, `sk` = `IDEM`, with `reference` and
//!   `expires_at` (N).
//! - A rate-limit window: `pk` = `RATE#<key>`, `sk` = `<window start>`, with `count` (N) and
//!   `expires_at` (N).
//!
//! The audit stamp fields are `agency`, `handler`, `time`, `channel` (网上自助 or 窗口代录),
//! `request_id`, `source_ip`, `form_version` (N) and `content_sha256`. The index `by_form`
//! lists a form's submissions in the order they were first stamped, with every attribute;
//! `expires_at` (seconds since 1970) is the table's TTL attribute.
//!
//! Expressions name every attribute through a placeholder (`#pk`, `#count`…), so DynamoDB's
//! reserved words (`name`, `status`, `date`…) never get in the way. The index is eventually
//! consistent: a submission can take a moment to appear in `list`, while `get` and
//! `versions` read consistently.
//!
//! Bulk staff filing stores a batch item (`BATCH#<reference>`, with its audit event and a
//! `FILE#<form>#<sha256>` item that recognises the same file again) in one transaction, then
//! its rows with `put_rows`: the same record version items, written with BatchWriteItem
//! instead of a transaction; the batch is marked complete after the last row.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use super::{
    AuditStamp, Batch, BatchStart, Channel, Limit, Put, Record, RowsOutcome, Store, StoreError,
    CHUNK_ROWS, IDEMPOTENCY_TTL_SECS,
};

/// A DynamoDB item: attribute name → value.
type Item = HashMap<String, AttributeValue>;

/// The table's partition key.
const PK: &str = "pk";
/// The table's sort key.
const SK: &str = "sk";
/// The export index, by form and first stamp time.
const BY_FORM: &str = "by_form";
/// The index's partition key: `FORM#<form_id>`.
const GSI_PK: &str = "gsi1pk";
/// The index's sort key: `<audit time>#<reference>`.
const GSI_SK: &str = "gsi1sk";
/// When DynamoDB may delete an item (TTL), seconds since 1970.
const EXPIRES_AT: &str = "expires_at";
/// The count of a rate-limit window.
const COUNT: &str = "count";

const REFERENCE: &str = "reference";
const FORM_ID: &str = "form_id";
const VERSION: &str = "version";
const STATUS: &str = "status";
const DATA: &str = "data";
const IDEMPOTENCY_KEY: &str = "idempotency_key";
const AGENCY: &str = "agency";
const HANDLER: &str = "handler";
const TIME: &str = "time";
const CHANNEL: &str = "channel";
const REQUEST_ID: &str = "request_id";
const SOURCE_IP: &str = "source_ip";
const FORM_VERSION: &str = "form_version";
const CONTENT_SHA256: &str = "content_sha256";
const BATCH: &str = "batch";
const FILED_SHA256: &str = "filed_sha256";
const FILE_FORMAT: &str = "file_format";
const ROWS: &str = "rows";
const UNIT: &str = "unit";
const COMPLETE: &str = "complete";

/// DynamoDB's item size limit: 400 KB, counted as UTF-8 bytes of names and values.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How often a write cancelled by a concurrent transaction on the same item is tried.
const CONFLICT_ATTEMPTS: u32 = 4;

/// How many references `list` looks up at once.
const LIST_CONCURRENCY: usize = 16;

/// How often one chunk of rows is sent before what DynamoDB still leaves unprocessed counts
/// as failed.
const BATCH_ATTEMPTS: u32 = 8;

/// The wait before a chunk's unprocessed rows are first sent again; it doubles each time.
const BATCH_BACKOFF: Duration = Duration::from_millis(50);

/// A row's key: `pk` and `sk`.
type Key = (String, String);

/// The DynamoDB store.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// One row of a bulk write, ready to send.
struct Row {
    /// Its index in the records given.
    index: usize,
    /// Its item's key, to recognise it among the unprocessed items.
    key: Key,
    /// The put of its item.
    request: WriteRequest,
}

/// What each part of a `put` transaction is, so a cancellation reason can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Record,
    Audit,
    Idempotency,
    Previous,
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: String) -> DynamoStore {
        DynamoStore { client, table }
    }

    /// The store the deployment configures: the table named by `BEIAN_TABLE`, through a
    /// client from [`client_from_env`].
    ///
    /// # Panics
    /// When `BEIAN_TABLE` is not set: the function cannot store anything without it.
    pub async fn from_env() -> DynamoStore {
        let table = std::env::var("BEIAN_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .expect("没有设置 BEIAN_TABLE：请在函数的环境变量中写上 DynamoDB 表名");
        DynamoStore::new(client_from_env().await, table)
    }

    /// Creates the table as the deployment does: on-demand billing, keys `pk` and `sk`, the
    /// index `by_form`, and TTL on `expires_at`. Waits until the table is active.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(vec![
                string_attribute(PK)?,
                string_attribute(SK)?,
                string_attribute(GSI_PK)?,
                string_attribute(GSI_SK)?,
            ]))
            .set_key_schema(Some(key_schema(PK, SK)?))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(BY_FORM)
                    .set_key_schema(Some(key_schema(GSI_PK, GSI_SK)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(StoreError::backend)?,
            )
            .send()
            .await
            .map_err(|e| sdk_failure("CreateTable", e))?;

        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(300))
            .await
            .map_err(|_| StoreError::Backend(format!("表 `{}` 没有在 5 分钟内就绪", self.table)))?;

        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(EXPIRES_AT)
            .build()
            .map_err(StoreError::backend)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| sdk_failure("UpdateTimeToLive", e))?;
        Ok(())
    }

    /// Stores many record versions with BatchWriteItem, at most 25 to a request, and says
    /// which were stored. Each is the item `put` writes for a record version, without the
    /// audit event, the idempotency key and the transaction: an existing item with the same
    /// key is replaced, not refused.
    ///
    /// DynamoDB answers 200 OK even when it leaves some items unprocessed, so the SDK does
    /// not retry them: each chunk sends its unprocessed rows again after a wait that doubles
    /// from 50 ms, at most 8 times in all, and a row counts as written only once DynamoDB has
    /// accepted it.
    ///
    /// BatchWriteItem puts are not conditional. Resuming an interrupted import is still safe
    /// because the caller decides every row's key and derives it deterministically from the
    /// row: putting a row again overwrites the same item with the same content.
    async fn write_rows(&self, records: &[Record]) -> RowsOutcome {
        let (rows, mut failed) = batch_rows(records);

        let mut written = 0;
        for chunk in rows.chunks(CHUNK_ROWS) {
            let unstored = self.write_chunk(chunk).await;
            written += chunk.len() - unstored.len();
            failed.extend(unstored);
        }

        failed.sort_unstable();
        RowsOutcome { written, failed }
    }

    /// Sends one chunk of rows, then again whatever DynamoDB left unprocessed; gives the
    /// indexes of the rows it did not accept.
    async fn write_chunk(&self, chunk: &[Row]) -> Vec<usize> {
        let mut pending: Vec<&Row> = chunk.iter().collect();
        let mut attempt = 1;
        loop {
            let requests = pending.iter().map(|row| row.request.clone()).collect();
            let sent = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await;
            let unprocessed = match sent {
                Ok(output) => unprocessed_keys(output.unprocessed_items.unwrap_or_default()),
                Err(e) => {
                    let error = sdk_failure("BatchWriteItem", e);
                    tracing::warn!(rows = pending.len(), %error, "一批行没有写入");
                    return pending.iter().map(|row| row.index).collect();
                }
            };
            // An unprocessed item whose key cannot be read could be any of them: keep them
            // all pending rather than count one as written that was not.
            if let Some(keys) = unprocessed {
                pending.retain(|row| keys.contains(&row.key));
            }

            if pending.is_empty() {
                return Vec::new();
            }
            if attempt == BATCH_ATTEMPTS {
                tracing::warn!(
                    rows = pending.len(),
                    attempts = attempt,
                    "DynamoDB 多次未处理这些行，记为失败"
                );
                return pending.iter().map(|row| row.index).collect();
            }
            tokio::time::sleep(BATCH_BACKOFF * 2u32.pow(attempt - 1)).await;
            attempt += 1;
        }
    }

    /// The transaction that stores `record`, and what each of its parts is.
    fn put_transaction(
        &self,
        record: &Record,
    ) -> Result<(Vec<TransactWriteItem>, Vec<Part>), StoreError> {
        let record_item = record_item(record)?;
        let audit_item = audit_item(record);
        check_size(&record_item)?;
        check_size(&audit_item)?;

        let mut items = vec![self.put_new(record_item)?, self.put_new(audit_item)?];
        let mut parts = vec![Part::Record, Part::Audit];
        if record.version == 1 {
            if let Some(key) = &record.idempotency_key {
                items.push(self.put_idempotency(key, &record.reference)?);
                parts.push(Part::Idempotency);
            }
        } else {
            items.push(self.check_previous(record)?);
            parts.push(Part::Previous);
        }
        Ok((items, parts))
    }

    /// Puts `item` unless an item with its key exists.
    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Puts the idempotency item unless the key is already remembered and not yet expired.
    fn put_idempotency(&self, key: &str, reference: &str) -> Result<TransactWriteItem, StoreError> {
        let now = unix_now();
        let item = Item::from([
            (PK.to_string(), s(format!("IDEM#{key}"))),
            (SK.to_string(), s("IDEM")),
            (REFERENCE.to_string(), s(reference)),
            (EXPIRES_AT.to_string(), n(now + IDEMPOTENCY_TTL_SECS)),
        ]);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            // TTL deletes expired items only eventually, so an expired key counts as unused.
            .condition_expression("attribute_not_exists(#pk) OR #exp < :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Checks that the version before `record` exists.
    fn check_previous(&self, record: &Record) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(submission_pk(&record.reference)))
            .key(SK, s(version_sk(record.version - 1)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Reads what a cancelled `put` transaction means.
    async fn cancelled_put(&self, record: &Record, failed: &[Part]) -> Result<Put, StoreError> {
        // The same order of checks as the embedded store: a remembered key wins, then a
        // missing previous version, then an existing one.
        if failed.contains(&Part::Idempotency) {
            let key = record.idempotency_key.as_deref().unwrap_or_default();
            return self.remembered_reference(key).await.map(Put::Duplicate);
        }
        if failed.contains(&Part::Previous) {
            return Err(StoreError::NotFound(record.reference.clone()));
        }
        Err(StoreError::VersionExists(
            record.reference.clone(),
            record.version,
        ))
    }

    /// The reference stored under an idempotency key that a put found in use.
    async fn remembered_reference(&self, key: &str) -> Result<String, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(format!("IDEM#{key}")))
            .key(SK, s("IDEM"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        match output.item() {
            Some(item) => text(item, REFERENCE),
            None => Err(StoreError::Backend("幂等键刚刚失效，请重新提交".into())),
        }
    }

    /// Every version of a reference, oldest first, or only the latest.
    async fn read_versions(
        &self,
        reference: &str,
        latest_only: bool,
    ) -> Result<Vec<Record>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :versions)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(submission_pk(reference)))
            .expression_attribute_values(":versions", s("V#"))
            .consistent_read(true);
        let items = if latest_only {
            let output = query
                .scan_index_forward(false)
                .limit(1)
                .send()
                .await
                .map_err(|e| sdk_failure("Query", e))?;
            output.items.unwrap_or_default()
        } else {
            query
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| sdk_failure("Query", e))?
        };
        items.iter().map(record_from_item).collect()
    }

    /// The references of a form's submissions, in the order they were first stamped.
    async fn form_references(
        &self,
        form_id: &str,
        since: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_FORM)
            .expression_attribute_names("#gpk", GSI_PK)
            .expression_attribute_names("#ref", REFERENCE)
            .expression_attribute_values(":gpk", s(form_pk(form_id)))
            .projection_expression("#ref");
        query = match since {
            Some(since) => query
                .key_condition_expression("#gpk = :gpk AND #gsk >= :since")
                .expression_attribute_names("#gsk", GSI_SK)
                .expression_attribute_values(":since", s(since)),
            None => query.key_condition_expression("#gpk = :gpk"),
        };
        let items = query
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_failure("Query", e))?;
        items.iter().map(|item| text(item, REFERENCE)).collect()
    }
}

/// A DynamoDB client from the usual AWS configuration (environment, profile, role), sent to
/// `BEIAN_DYNAMODB_ENDPOINT` instead of AWS when that is set (moto, for tests).
pub async fn client_from_env() -> Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Some(endpoint) = std::env::var("BEIAN_DYNAMODB_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
    {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

#[async_trait]
impl Store for DynamoStore {
    async fn put(&self, record: Record) -> Result<Put, StoreError> {
        check_keys(&record)?;
        let (items, parts) = self.put_transaction(&record)?;

        let mut attempt = 1;
        loop {
            // The SDK retries throttling and server errors itself, with the same generated
            // ClientRequestToken, so a retried transaction that had in fact committed is not
            // mistaken for a conflict with itself.
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let reasons = match sent {
                Ok(_) => return Ok(Put::Stored(record.reference.clone())),
                Err(e) => cancellation_codes(e)?,
            };
            let failed: Vec<Part> = parts
                .iter()
                .zip(&reasons)
                .filter(|(_, code)| code.as_str() == "ConditionalCheckFailed")
                .map(|(part, _)| *part)
                .collect();
            if !failed.is_empty() {
                return self.cancelled_put(&record, &failed).await;
            }

            // Another transaction was writing the same item (a double click sending the same
            // idempotency key twice): wait a little and try again.
            let conflict = reasons.iter().any(|code| code == "TransactionConflict");
            if !conflict || attempt == CONFLICT_ATTEMPTS {
                return Err(StoreError::Backend(format!(
                    "DynamoDB 取消了写入（{}）",
                    reasons.join("、")
                )));
            }
            tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            attempt += 1;
        }
    }

    async fn get(&self, reference: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.read_versions(reference, true).await?.pop())
    }

    async fn versions(&self, reference: &str) -> Result<Vec<Record>, StoreError> {
        self.read_versions(reference, false).await
    }

    async fn list(&self, form_id: &str, since: Option<&str>) -> Result<Vec<Record>, StoreError> {
        let references = self.form_references(form_id, since).await?;

        // An export may list thousands: look up the latest versions a few at a time rather
        // than wait for each in turn.
        let mut out = Vec::with_capacity(references.len());
        for chunk in references.chunks(LIST_CONCURRENCY) {
            let lookups: Vec<_> = chunk
                .iter()
                .map(|reference| {
                    let store = self.clone();
                    let reference = reference.clone();
                    tokio::spawn(async move { store.get(&reference).await })
                })
                .collect();
            for lookup in lookups {
                out.extend(lookup.await.map_err(StoreError::backend)??);
            }
        }
        Ok(out)
    }

    async fn put_rows(&self, records: &[Record]) -> RowsOutcome {
        self.write_rows(records).await
    }

    async fn begin_batch(&self, batch: &Batch) -> Result<BatchStart, StoreError> {
        let file_item = Item::from([
            (
                PK.to_string(),
                s(file_pk(&batch.form_id, &batch.filed_sha256)),
            ),
            (SK.to_string(), s("FILE")),
            (REFERENCE.to_string(), s(&batch.reference)),
        ]);
        let batch_item = batch_item(batch)?;
        let mut audit = Item::from([
            (PK.to_string(), s(batch_pk(&batch.reference))),
            (SK.to_string(), s("AUDIT#000001")),
        ]);
        audit.extend(stamp_attributes(&batch.audit));
        check_size(&batch_item)?;
        let items = vec![
            self.put_new(file_item)?,
            self.put_new(batch_item)?,
            self.put_new(audit)?,
        ];
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let reasons = match sent {
            Ok(_) => return Ok(BatchStart::New),
            Err(e) => cancellation_codes(e)?,
        };
        if reasons.first().map(String::as_str) != Some("ConditionalCheckFailed") {
            return Err(StoreError::Backend(format!(
                "DynamoDB 取消了写入（{}）",
                reasons.join("、")
            )));
        }
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(file_pk(&batch.form_id, &batch.filed_sha256)))
            .key(SK, s("FILE"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        let reference = match output.item() {
            Some(item) => text(item, REFERENCE)?,
            None => return Err(StoreError::Backend("文件记录刚刚消失，请重新上传".into())),
        };
        match self.batch(&reference).await? {
            Some(existing) => Ok(BatchStart::Existing(Box::new(existing))),
            None => Err(StoreError::Backend(format!("找不到批次 {reference}"))),
        }
    }

    async fn complete_batch(&self, reference: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(batch_pk(reference)))
            .key(SK, s("BATCH"))
            .update_expression("SET #complete = :yes")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#complete", COMPLETE)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| sdk_failure("UpdateItem", e))?;
        Ok(())
    }

    async fn batch(&self, reference: &str) -> Result<Option<Batch>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(batch_pk(reference)))
            .key(SK, s("BATCH"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", e))?;
        output.item().map(batch_from_item).transpose()
    }

    async fn hit(&self, key: &str, limit: u32, window: u64, now: u64) -> Result<Limit, StoreError> {
        let window = window.max(1);
        let start = now - now % window;
        let exceeded = Limit::Exceeded {
            retry_after: start + window - now,
        };
        if limit == 0 {
            return Ok(exceeded);
        }

        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(format!("RATE#{key}")))
            .key(SK, s(start.to_string()))
            .update_expression("ADD #count :one SET #exp = :exp")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", COUNT)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(start + window))
            .expression_attribute_values(":limit", n(limit))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(Limit::Allowed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(exceeded)
            }
            Err(e) => Err(sdk_failure("UpdateItem", e)),
        }
    }
}

/// The codes of a cancelled transaction, one for each part in order (`None` for the parts
/// that were fine); any other failure becomes a backend error.
fn cancellation_codes(
    error: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<Vec<String>, StoreError> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Ok(cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().unwrap_or("None").to_string())
            .collect()),
        _ => Err(sdk_failure("TransactWriteItems", error)),
    }
}

/// A backend error naming the operation and DynamoDB's error code. DynamoDB's own message is
/// left out, so nothing a person entered can reach the logs through it.
fn sdk_failure<E: ProvideErrorMetadata>(
    operation: &str,
    error: SdkError<E, HttpResponse>,
) -> StoreError {
    let what = match &error {
        SdkError::ServiceError(e) => match e.err().code() {
            Some(code) => code.to_string(),
            None => format!("HTTP {}", e.raw().status().as_u16()),
        },
        SdkError::TimeoutError(_) => "超时".to_string(),
        SdkError::DispatchFailure(e) if e.is_timeout() => "连接超时".to_string(),
        SdkError::DispatchFailure(e) if e.is_io() => "连接中断".to_string(),
        SdkError::DispatchFailure(_) => "无法连接".to_string(),
        SdkError::ResponseError(_) => "回应无法读取".to_string(),
        _ => "请求无法构造".to_string(),
    };
    StoreError::Backend(format!("DynamoDB {operation} 失败（{what}）"))
}

/// The rows of a bulk write that can be sent, in order, and the indexes of the records that
/// cannot.
fn batch_rows(records: &[Record]) -> (Vec<Row>, Vec<usize>) {
    let mut rows = Vec::with_capacity(records.len());
    let mut refused = Vec::new();
    let mut keys = HashSet::new();
    for (index, record) in records.iter().enumerate() {
        match batch_row(index, record) {
            // DynamoDB refuses a whole request that names a key twice, and the same key in
            // two requests would leave one row silently replaced by the other.
            Ok(row) if keys.insert(row.key.clone()) => rows.push(row),
            Ok(_) => {
                tracing::warn!(
                    row = index,
                    "这一行的受理编号和版本与前面的行重复，没有写入"
                );
                refused.push(index);
            }
            Err(error) => {
                tracing::warn!(row = index, %error, "这一行无法写入");
                refused.push(index);
            }
        }
    }
    (rows, refused)
}

/// The put of one record version in a bulk write.
fn batch_row(index: usize, record: &Record) -> Result<Row, StoreError> {
    check_keys(record)?;
    let item = record_item(record)?;
    check_size(&item)?;
    let key = (submission_pk(&record.reference), version_sk(record.version));
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(StoreError::backend)?;
    Ok(Row {
        index,
        key,
        request: WriteRequest::builder().put_request(put).build(),
    })
}

/// The keys of the items BatchWriteItem left unprocessed; `None` when one has no readable
/// key.
fn unprocessed_keys(unprocessed: HashMap<String, Vec<WriteRequest>>) -> Option<HashSet<Key>> {
    unprocessed
        .into_values()
        .flatten()
        .map(|request| {
            let item = request.put_request?.item;
            Some((text(&item, PK).ok()?, text(&item, SK).ok()?))
        })
        .collect()
}

/// Refuses a record whose key parts are empty: DynamoDB rejects an empty string in a key
/// attribute, and such a record is a bug of the caller, not something to send.
fn check_keys(record: &Record) -> Result<(), StoreError> {
    if record.reference.is_empty() {
        return Err(StoreError::Backend("受理编号为空，无法存储".into()));
    }
    if record.form_id.is_empty() {
        return Err(StoreError::Backend("表单编号为空，无法存储".into()));
    }
    if record.version == 0 {
        return Err(StoreError::Backend("版本号从 1 开始，0 无法存储".into()));
    }
    Ok(())
}

/// Refuses an item over DynamoDB's size limit before sending it.
fn check_size(item: &Item) -> Result<(), StoreError> {
    let bytes: usize = item
        .iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum();
    if bytes > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge(format!(
            "这份材料约 {} KB，超过了单条记录 400 KB 的上限，请删减较长的内容后再提交",
            bytes.div_ceil(1024)
        )));
    }
    Ok(())
}

/// The bytes a value counts for: its UTF-8 length (for numbers, an upper bound).
fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) | AttributeValue::N(text) => text.len(),
        // Items written here hold only strings and numbers.
        _ => 0,
    }
}

/// The item of one record version.
fn record_item(record: &Record) -> Result<Item, StoreError> {
    // `data` is one string holding the JSON, not a DynamoDB map: every value comes back
    // exactly as it went in (an ID or a landline can never turn into a number, and an empty
    // text or a list of check boxes needs no special rule), and the stored text is the very
    // JSON whose SHA-256 is in the audit stamp. Nothing ever queries inside `data`.
    let data = serde_json::to_string(&record.data).map_err(StoreError::backend)?;
    let mut item = Item::from([
        (PK.to_string(), s(submission_pk(&record.reference))),
        (SK.to_string(), s(version_sk(record.version))),
        (REFERENCE.to_string(), s(&record.reference)),
        (FORM_ID.to_string(), s(&record.form_id)),
        (VERSION.to_string(), n(record.version)),
        (STATUS.to_string(), s(&record.status)),
        (DATA.to_string(), s(data)),
    ]);
    if let Some(key) = &record.idempotency_key {
        item.insert(IDEMPOTENCY_KEY.to_string(), s(key));
    }
    if record.version == 1 {
        let sort = format!("{}#{}", record.audit.time, record.reference);
        item.insert(GSI_PK.to_string(), s(form_pk(&record.form_id)));
        item.insert(GSI_SK.to_string(), s(sort));
    }
    if let Some(batch) = &record.batch {
        item.insert(BATCH.to_string(), s(batch));
    }
    item.extend(stamp_attributes(&record.audit));
    Ok(item)
}

/// A batch's own item; its data fields are plain attributes, the unit's fields one JSON text.
fn batch_item(batch: &Batch) -> Result<Item, StoreError> {
    let unit = serde_json::to_string(&batch.unit).map_err(StoreError::backend)?;
    let mut item = Item::from([
        (PK.to_string(), s(batch_pk(&batch.reference))),
        (SK.to_string(), s("BATCH")),
        (REFERENCE.to_string(), s(&batch.reference)),
        (FORM_ID.to_string(), s(&batch.form_id)),
        (FILED_SHA256.to_string(), s(&batch.filed_sha256)),
        (FILE_FORMAT.to_string(), s(&batch.file_format)),
        (ROWS.to_string(), n(batch.rows)),
        (UNIT.to_string(), s(unit)),
        (COMPLETE.to_string(), AttributeValue::Bool(batch.complete)),
    ]);
    item.extend(stamp_attributes(&batch.audit));
    Ok(item)
}

/// A batch read back from its item.
fn batch_from_item(item: &Item) -> Result<Batch, StoreError> {
    let unit = text(item, UNIT)?;
    Ok(Batch {
        reference: text(item, REFERENCE)?,
        form_id: text(item, FORM_ID)?,
        filed_sha256: text(item, FILED_SHA256)?,
        file_format: text(item, FILE_FORMAT)?,
        rows: number(item, ROWS)?,
        unit: serde_json::from_str(&unit).map_err(|_| damaged(UNIT))?,
        complete: item
            .get(COMPLETE)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        audit: stamp_from_item(item)?,
    })
}

/// The audit event item written with a record version.
fn audit_item(record: &Record) -> Item {
    let mut item = Item::from([
        (PK.to_string(), s(submission_pk(&record.reference))),
        (SK.to_string(), s(format!("AUDIT#{:06}", record.version))),
    ]);
    item.extend(stamp_attributes(&record.audit));
    item
}

/// The audit stamp as attributes.
fn stamp_attributes(stamp: &AuditStamp) -> Item {
    Item::from([
        (AGENCY.to_string(), s(&stamp.agency)),
        (HANDLER.to_string(), s(&stamp.handler)),
        (TIME.to_string(), s(&stamp.time)),
        (CHANNEL.to_string(), s(stamp.channel.label())),
        (REQUEST_ID.to_string(), s(&stamp.request_id)),
        (SOURCE_IP.to_string(), s(&stamp.source_ip)),
        (FORM_VERSION.to_string(), n(stamp.form_version)),
        (CONTENT_SHA256.to_string(), s(&stamp.content_sha256)),
    ])
}

/// A record version read back from its item.
fn record_from_item(item: &Item) -> Result<Record, StoreError> {
    let data = text(item, DATA)?;
    Ok(Record {
        reference: text(item, REFERENCE)?,
        form_id: text(item, FORM_ID)?,
        version: number(item, VERSION)?,
        status: text(item, STATUS)?,
        data: serde_json::from_str(&data).map_err(|_| damaged(DATA))?,
        audit: stamp_from_item(item)?,
        idempotency_key: item
            .get(IDEMPOTENCY_KEY)
            .and_then(|v| v.as_s().ok())
            .cloned(),
        batch: item.get(BATCH).and_then(|v| v.as_s().ok()).cloned(),
    })
}

/// The audit stamp attributes read back.
fn stamp_from_item(item: &Item) -> Result<AuditStamp, StoreError> {
    Ok(AuditStamp {
        agency: text(item, AGENCY)?,
        handler: text(item, HANDLER)?,
        time: text(item, TIME)?,
        channel: channel(&text(item, CHANNEL)?).ok_or_else(|| damaged(CHANNEL))?,
        request_id: text(item, REQUEST_ID)?,
        source_ip: text(item, SOURCE_IP)?,
        form_version: number(item, FORM_VERSION)?,
        content_sha256: text(item, CONTENT_SHA256)?,
    })
}

fn channel(label: &str) -> Option<Channel> {
    [Channel::Online, Channel::Counter]
        .into_iter()
        .find(|c| c.label() == label)
}

fn text(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| damaged(name))
}

fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| damaged(name))
}

fn damaged(name: &str) -> StoreError {
    StoreError::Backend(format!("DynamoDB 中的记录缺少或损坏了属性 `{name}`"))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(StoreError::backend)
}

fn key_schema(hash: &str, range: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(StoreError::backend)
        })
        .collect()
}

fn submission_pk(reference: &str) -> String {
    format!("SUB#{reference}")
}

fn version_sk(version: u32) -> String {
    format!("V#{version:06}")
}

fn batch_pk(reference: &str) -> String {
    format!("BATCH#{reference}")
}

fn file_pk(form_id: &str, sha256: &str) -> String {
    format!("FILE#{form_id}#{sha256}")
}

fn form_pk(form_id: &str) -> String {
    format!("FORM#{form_id}")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
