//! Storage of submissions with their audit stamps: one interface, an embedded single-file
//! store for `beian serve`, and DynamoDB for AWS. Records are append-only: a correction is
//! a new version of the same reference, never an overwrite.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[cfg(feature = "aws")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;

/// How a submission reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// The public, online.
    #[serde(rename = "网上自助")]
    Online,
    /// Office staff, for someone at the counter.
    #[serde(rename = "窗口代录")]
    Counter,
}

impl Channel {
    /// The Chinese name, as stored and shown.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Online => "网上自助",
            Channel::Counter => "窗口代录",
        }
    }
}

/// Who handled a write, where, when and how (经办机构、经办人、经办时间…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStamp {
    /// 经办机构: the office, or the online service for public submissions.
    pub agency: String,
    /// 经办人: the member of staff, or the online service for public submissions.
    pub handler: String,
    /// 经办时间: RFC 3339 in China time (+08:00).
    pub time: String,
    /// 网上自助 or 窗口代录.
    pub channel: Channel,
    /// The request id of the call that wrote it.
    pub request_id: String,
    /// The caller's address.
    pub source_ip: String,
    /// The version of the form definition.
    pub form_version: u32,
    /// SHA-256 of the stored content, hex.
    pub content_sha256: String,
}

/// One version of one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The reference given to the person.
    pub reference: String,
    /// The form it was made with.
    pub form_id: String,
    /// 1 for the first submission, then one more for each correction.
    pub version: u32,
    /// Where it stands, such as 已受理.
    pub status: String,
    /// The normalised values: `{"fields": {...}, "groups": {...}}`.
    pub data: serde_json::Value,
    /// Who, where, when.
    pub audit: AuditStamp,
    /// The idempotency key it was submitted with.
    pub idempotency_key: Option<String>,
    /// The bulk upload it came from, for a row of a spreadsheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

/// One uploaded spreadsheet: the batch record kept beside one record per row. The rows are
/// written in chunks; the batch counts as stored only once `complete` is set, after every
/// row is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The reference given for the whole upload.
    pub reference: String,
    /// The form its rows belong to.
    pub form_id: String,
    /// SHA-256, hex, of what was filed: the unit's checked details and every checked row in
    /// order. A second upload of the same content is recognised by it, whatever the file's
    /// encoding or line endings; the same file sent for another unit, or with the unit's
    /// details corrected, is a new upload.
    pub filed_sha256: String,
    /// XLSX, XLS or CSV.
    pub file_format: String,
    /// How many rows it holds.
    pub rows: u32,
    /// The unit's own fields, shared by every row, as stored.
    pub unit: serde_json::Value,
    /// Whether every row has been written.
    pub complete: bool,
    /// Who uploaded it, where, when; every row carries the same stamp.
    pub audit: AuditStamp,
}

/// What starting a batch found.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchStart {
    /// Nothing with this file yet: the batch is recorded, not complete.
    New,
    /// The same file was uploaded before: this is that batch, complete or interrupted.
    Existing(Box<Batch>),
}

/// The most rows written in one request (DynamoDB's BatchWriteItem limit).
pub const CHUNK_ROWS: usize = 25;

/// What writing many rows gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsOutcome {
    /// How many rows were stored.
    pub written: usize,
    /// The indexes, ascending, into the records given of the rows not stored.
    pub failed: Vec<usize>,
}

/// What storing gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored, under this reference.
    Stored(String),
    /// The idempotency key was used before: nothing stored, this is the first reference.
    Duplicate(String),
}

/// Whether a rate-limited action may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Yes.
    Allowed,
    /// No; try again after this many seconds.
    Exceeded {
        /// Seconds until the window ends.
        retry_after: u64,
    },
}

/// A storage failure. Nothing accepted is silently dropped: callers report it as a 5xx
/// asking the person to try again, and nothing partial is stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write conflicts with an existing version (append-only).
    #[error("版本 {1} 的 {0} 已存在")]
    VersionExists(String, u32),
    /// A correction for a reference that does not exist.
    #[error("找不到受理编号 {0}")]
    NotFound(String),
    /// The record is too big for the store.
    #[error("内容过长：{0}")]
    TooLarge(String),
    /// The backend failed.
    #[error("存储失败：{0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps any backend error.
    pub fn backend(e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;

/// The storage both backends provide.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a record and its audit event atomically. Version 1 with an idempotency key
    /// seen before stores nothing and gives the first reference.
    async fn put(&self, record: Record) -> Result<Put, StoreError>;

    /// The latest version of a reference.
    async fn get(&self, reference: &str) -> Result<Option<Record>, StoreError>;

    /// Every version of a reference, oldest first.
    async fn versions(&self, reference: &str) -> Result<Vec<Record>, StoreError>;

    /// The latest version of every submission of a form, oldest first; with `since`, only
    /// those whose first version was stamped at or after it (an RFC 3339 prefix such as
    /// `2026-12-01`).
    async fn list(&self, form_id: &str, since: Option<&str>) -> Result<Vec<Record>, StoreError>;

    /// Counts one action under `key`; allows at most `limit` in each `window` seconds.
    async fn hit(&self, key: &str, limit: u32, window: u64, now: u64) -> Result<Limit, StoreError>;

    /// Records a new batch (not complete) under its file's SHA-256, or gives the batch
    /// already recorded for the same form and file.
    async fn begin_batch(&self, batch: &Batch) -> Result<BatchStart, StoreError>;

    /// Writes row records (version 1, each with `batch` set) in chunks of at most
    /// [`CHUNK_ROWS`], retrying what the backend leaves undone, and says which were not
    /// stored. A row whose key exists is replaced: keys are derived from the batch and the
    /// row, so writing a batch again after an interruption stores nothing twice.
    async fn put_rows(&self, records: &[Record]) -> RowsOutcome;

    /// Marks a batch complete; call only once every row is written.
    async fn complete_batch(&self, reference: &str) -> Result<(), StoreError>;

    /// A batch by its reference.
    async fn batch(&self, reference: &str) -> Result<Option<Batch>, StoreError>;
}

/// Keeps only records that are settled: single submissions, and rows of complete batches
/// (an interrupted upload's rows stay out of exports until it is resumed).
pub async fn settled(store: &dyn Store, records: Vec<Record>) -> Result<Vec<Record>, StoreError> {
    let mut complete = std::collections::HashMap::<String, bool>::new();
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        if let Some(batch) = &record.batch {
            if !complete.contains_key(batch) {
                let done = store.batch(batch).await?.is_some_and(|b| b.complete);
                complete.insert(batch.clone(), done);
            }
            if !complete[batch] {
                continue;
            }
        }
        out.push(record);
    }
    Ok(out)
}
