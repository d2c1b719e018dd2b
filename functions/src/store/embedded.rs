//! The embedded store: one redb file (default `./data/beian.redb`), for `beian serve` with
//! no AWS account. Writes go through one writer thread that commits whatever has queued up
//! in a single durable transaction, so every submission is on disk before it is
//! acknowledged and many submissions share one disk flush.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use super::{
    Batch, BatchStart, Limit, Put, Record, RowsOutcome, Store, StoreError, CHUNK_ROWS,
    IDEMPOTENCY_TTL_SECS,
};

/// Every version: `reference#version` (version zero-padded) → record JSON.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
/// The audit events, written in the same transaction: `reference#version` → stamp JSON.
const AUDIT: TableDefinition<&str, &[u8]> = TableDefinition::new("audit");
/// Idempotency keys → `reference` and expiry (seconds since 1970).
const IDEMPOTENCY: TableDefinition<&str, (&str, u64)> = TableDefinition::new("idempotency");
/// The export index: `form\0stamp time\0reference` → reference.
const BY_FORM: TableDefinition<&str, &str> = TableDefinition::new("by_form");
/// Rate limits: key → (window start, count).
const RATES: TableDefinition<&str, (u64, u64)> = TableDefinition::new("rates");
/// Bulk uploads: batch reference → batch JSON.
const BATCHES: TableDefinition<&str, &[u8]> = TableDefinition::new("batches");
/// Uploaded files: `form\0file SHA-256` → batch reference.
const FILES: TableDefinition<&str, &str> = TableDefinition::new("files");

/// How often a chunk of rows whose commit failed is tried.
const ROW_ATTEMPTS: u32 = 3;

/// Most writes committed together in one transaction.
const MAX_BATCH: usize = 512;

/// A write for the writer thread: it applies the change inside the shared transaction and
/// gives back how to answer once the transaction's fate is known.
type Job = Box<dyn FnOnce(&mut Tables<'_, '_>) -> Answer + Send>;

/// Answers a job's caller: with its result once committed, or with the commit's failure.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// The answer that sends `result` when the transaction commits.
fn answer<T: Send + 'static>(
    reply: oneshot::Sender<Result<T, StoreError>>,
    result: Result<T, StoreError>,
) -> Answer {
    Box::new(move |failure| {
        let _ = reply.send(match failure {
            None => result,
            Some(error) => Err(StoreError::Backend(error.to_string())),
        });
    })
}

/// The embedded store. Clones share one file and one writer thread; when the last clone
/// is dropped, the writer finishes what is queued and the file is closed.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: std::sync::mpsc::Sender<Job>,
    _closer: Arc<Closer>,
}

/// Waits for the writer thread when the store goes away, so the file can be opened again.
/// It is the last field of `EmbeddedStore`, so the store's sender is gone by then.
struct Closer {
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Closer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`, creating its folder.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::backend)?;
        }
        let db = Arc::new(Database::create(path).map_err(StoreError::backend)?);
        let txn = db.begin_write().map_err(StoreError::backend)?;
        {
            txn.open_table(RECORDS).map_err(StoreError::backend)?;
            txn.open_table(AUDIT).map_err(StoreError::backend)?;
            txn.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
            txn.open_table(BY_FORM).map_err(StoreError::backend)?;
            txn.open_table(RATES).map_err(StoreError::backend)?;
            txn.open_table(BATCHES).map_err(StoreError::backend)?;
            txn.open_table(FILES).map_err(StoreError::backend)?;
        }
        txn.commit().map_err(StoreError::backend)?;
        let (writer, jobs) = std::sync::mpsc::channel();
        let db_for_writer = db.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(&db_for_writer, jobs))
            .map_err(StoreError::backend)?;
        let closer = Closer {
            thread: std::sync::Mutex::new(Some(thread)),
        };
        Ok(EmbeddedStore {
            db,
            writer,
            _closer: Arc::new(closer),
        })
    }

    /// Has the writer thread run `apply` in its next transaction and waits for the result.
    async fn write<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&mut Tables<'_, '_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |tables| answer(reply, apply(tables)));
        self.writer
            .send(job)
            .map_err(|_| StoreError::Backend("存储写入线程已停止".into()))?;
        result
            .await
            .map_err(|_| StoreError::Backend("存储写入线程没有回应".into()))?
    }

    fn read_versions(&self, reference: &str) -> Result<Vec<Record>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::backend)?;
        let table = txn.open_table(RECORDS).map_err(StoreError::backend)?;
        let start = format!("{reference}#");
        let end = format!("{reference}$");
        let mut out = Vec::new();
        for entry in table
            .range(start.as_str()..end.as_str())
            .map_err(StoreError::backend)?
        {
            let (_, value) = entry.map_err(StoreError::backend)?;
            out.push(serde_json::from_slice(value.value()).map_err(StoreError::backend)?);
        }
        Ok(out)
    }
}

fn record_key(reference: &str, version: u32) -> String {
    format!("{reference}#{version:06}")
}

/// Commits queued jobs in batches until every sender is gone.
fn write_loop(db: &Database, jobs: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(db, batch);
    }
}

fn commit_batch(db: &Database, batch: Vec<Job>) {
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    let result = (|| -> Result<(), Box<redb::Error>> {
        let txn = db.begin_write().map_err(|e| Box::new(e.into()))?;
        {
            let open = |e: redb::TableError| Box::new(redb::Error::from(e));
            let mut records = txn.open_table(RECORDS).map_err(open)?;
            let mut audit = txn.open_table(AUDIT).map_err(open)?;
            let mut idempotency = txn.open_table(IDEMPOTENCY).map_err(open)?;
            let mut by_form = txn.open_table(BY_FORM).map_err(open)?;
            let mut rates = txn.open_table(RATES).map_err(open)?;
            let mut batches = txn.open_table(BATCHES).map_err(open)?;
            let mut files = txn.open_table(FILES).map_err(open)?;
            let mut tables = Tables {
                records: &mut records,
                audit: &mut audit,
                idempotency: &mut idempotency,
                by_form: &mut by_form,
                rates: &mut rates,
                batches: &mut batches,
                files: &mut files,
            };
            for job in batch {
                answers.push(job(&mut tables));
            }
        }
        txn.commit().map_err(|e| Box::new(e.into()))?;
        Ok(())
    })();
    let failure = result.err().map(|e| e.to_string());
    for answer in answers {
        answer(failure.as_deref());
    }
}

/// The tables of the writer's transaction.
struct Tables<'a, 't> {
    records: &'a mut redb::Table<'t, &'static str, &'static [u8]>,
    audit: &'a mut redb::Table<'t, &'static str, &'static [u8]>,
    idempotency: &'a mut redb::Table<'t, &'static str, (&'static str, u64)>,
    by_form: &'a mut redb::Table<'t, &'static str, &'static str>,
    rates: &'a mut redb::Table<'t, &'static str, (u64, u64)>,
    batches: &'a mut redb::Table<'t, &'static str, &'static [u8]>,
    files: &'a mut redb::Table<'t, &'static str, &'static str>,
}

/// Applies one put inside the batch's transaction. Checks come before any insert, so a
/// refused put leaves nothing behind.
fn apply_put(tables: &mut Tables<'_, '_>, record: &Record) -> Result<Put, StoreError> {
    let now = unix_now();
    if record.version == 0 {
        return Err(StoreError::Backend("版本号从 1 开始".into()));
    }
    if record.version == 1 {
        if let Some(key) = &record.idempotency_key {
            let existing = tables
                .idempotency
                .get(key.as_str())
                .map_err(StoreError::backend)?;
            if let Some(entry) = existing {
                let (reference, expires) = entry.value();
                if expires > now {
                    return Ok(Put::Duplicate(reference.to_string()));
                }
            }
        }
    } else {
        let previous = record_key(&record.reference, record.version - 1);
        if tables
            .records
            .get(previous.as_str())
            .map_err(StoreError::backend)?
            .is_none()
        {
            return Err(StoreError::NotFound(record.reference.clone()));
        }
    }
    let key = record_key(&record.reference, record.version);
    if tables
        .records
        .get(key.as_str())
        .map_err(StoreError::backend)?
        .is_some()
    {
        return Err(StoreError::VersionExists(
            record.reference.clone(),
            record.version,
        ));
    }
    let json = serde_json::to_vec(record).map_err(StoreError::backend)?;
    let stamp = serde_json::to_vec(&record.audit).map_err(StoreError::backend)?;
    tables
        .records
        .insert(key.as_str(), json.as_slice())
        .map_err(StoreError::backend)?;
    tables
        .audit
        .insert(key.as_str(), stamp.as_slice())
        .map_err(StoreError::backend)?;
    if record.version == 1 {
        let index = format!(
            "{}\0{}\0{}",
            record.form_id, record.audit.time, record.reference
        );
        tables
            .by_form
            .insert(index.as_str(), record.reference.as_str())
            .map_err(StoreError::backend)?;
        if let Some(idem) = &record.idempotency_key {
            let expires = now + IDEMPOTENCY_TTL_SECS;
            tables
                .idempotency
                .insert(idem.as_str(), (record.reference.as_str(), expires))
                .map_err(StoreError::backend)?;
        }
    }
    Ok(Put::Stored(record.reference.clone()))
}

/// Writes row records, replacing any with the same key, with their index entries.
fn apply_rows(tables: &mut Tables<'_, '_>, records: &[Record]) -> Result<(), StoreError> {
    for record in records {
        let key = record_key(&record.reference, record.version);
        let json = serde_json::to_vec(record).map_err(StoreError::backend)?;
        tables
            .records
            .insert(key.as_str(), json.as_slice())
            .map_err(StoreError::backend)?;
        let index = format!(
            "{}\0{}\0{}",
            record.form_id, record.audit.time, record.reference
        );
        tables
            .by_form
            .insert(index.as_str(), record.reference.as_str())
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

/// Records a new batch under its file, or finds the batch the file already has.
fn apply_begin(tables: &mut Tables<'_, '_>, batch: &Batch) -> Result<BatchStart, StoreError> {
    let file = format!("{}\0{}", batch.form_id, batch.filed_sha256);
    let existing = tables
        .files
        .get(file.as_str())
        .map_err(StoreError::backend)?
        .map(|v| v.value().to_string());
    if let Some(reference) = existing {
        return match read_batch(tables.batches, &reference)? {
            Some(found) => Ok(BatchStart::Existing(Box::new(found))),
            None => Err(StoreError::NotFound(reference)),
        };
    }
    let json = serde_json::to_vec(batch).map_err(StoreError::backend)?;
    let stamp = serde_json::to_vec(&batch.audit).map_err(StoreError::backend)?;
    tables
        .batches
        .insert(batch.reference.as_str(), json.as_slice())
        .map_err(StoreError::backend)?;
    tables
        .files
        .insert(file.as_str(), batch.reference.as_str())
        .map_err(StoreError::backend)?;
    let audit_key = format!("{}#batch", batch.reference);
    tables
        .audit
        .insert(audit_key.as_str(), stamp.as_slice())
        .map_err(StoreError::backend)?;
    Ok(BatchStart::New)
}

/// Sets a batch's `complete`.
fn apply_complete(tables: &mut Tables<'_, '_>, reference: &str) -> Result<(), StoreError> {
    let mut batch = read_batch(tables.batches, reference)?
        .ok_or_else(|| StoreError::NotFound(reference.to_string()))?;
    batch.complete = true;
    let json = serde_json::to_vec(&batch).map_err(StoreError::backend)?;
    tables
        .batches
        .insert(reference, json.as_slice())
        .map_err(StoreError::backend)?;
    Ok(())
}

fn read_batch(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    reference: &str,
) -> Result<Option<Batch>, StoreError> {
    match table.get(reference).map_err(StoreError::backend)? {
        Some(value) => serde_json::from_slice(value.value())
            .map(Some)
            .map_err(StoreError::backend),
        None => Ok(None),
    }
}

fn apply_hit(
    rates: &mut redb::Table<'_, &'static str, (u64, u64)>,
    key: &str,
    limit: u32,
    window: u64,
    now: u64,
) -> Result<Limit, StoreError> {
    let window = window.max(1);
    let start = now - now % window;
    let current = rates
        .get(key)
        .map_err(StoreError::backend)?
        .map(|v| v.value());
    let count = match current {
        Some((window_start, count)) if window_start == start => count,
        _ => 0,
    };
    if count >= u64::from(limit) {
        return Ok(Limit::Exceeded {
            retry_after: start + window - now,
        });
    }
    rates
        .insert(key, (start, count + 1))
        .map_err(StoreError::backend)?;
    Ok(Limit::Allowed)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn put(&self, record: Record) -> Result<Put, StoreError> {
        self.write(move |tables| apply_put(tables, &record)).await
    }

    async fn get(&self, reference: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.read_versions(reference)?.pop())
    }

    async fn versions(&self, reference: &str) -> Result<Vec<Record>, StoreError> {
        self.read_versions(reference)
    }

    async fn list(&self, form_id: &str, since: Option<&str>) -> Result<Vec<Record>, StoreError> {
        let references: Vec<String> = {
            let txn = self.db.begin_read().map_err(StoreError::backend)?;
            let table = txn.open_table(BY_FORM).map_err(StoreError::backend)?;
            let start = format!("{form_id}\0{}", since.unwrap_or(""));
            let end = format!("{form_id}\u{1}");
            let mut refs = Vec::new();
            for entry in table
                .range(start.as_str()..end.as_str())
                .map_err(StoreError::backend)?
            {
                let (_, value) = entry.map_err(StoreError::backend)?;
                refs.push(value.value().to_string());
            }
            refs
        };
        let mut out = Vec::with_capacity(references.len());
        for reference in references {
            if let Some(record) = self.read_versions(&reference)?.pop() {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn hit(&self, key: &str, limit: u32, window: u64, now: u64) -> Result<Limit, StoreError> {
        let key = key.to_string();
        self.write(move |tables| apply_hit(tables.rates, &key, limit, window, now))
            .await
    }

    async fn begin_batch(&self, batch: &Batch) -> Result<BatchStart, StoreError> {
        let batch = batch.clone();
        self.write(move |tables| apply_begin(tables, &batch)).await
    }

    async fn put_rows(&self, records: &[Record]) -> RowsOutcome {
        // Every chunk is queued at once, so the writer commits many of them together; a chunk
        // whose commit failed is queued again, at most ROW_ATTEMPTS times in all.
        let mut pending: Vec<(usize, Arc<[Record]>)> = records
            .chunks(CHUNK_ROWS)
            .enumerate()
            .map(|(i, chunk)| (i * CHUNK_ROWS, Arc::from(chunk)))
            .collect();
        let mut outcome = RowsOutcome::default();
        for attempt in 1..=ROW_ATTEMPTS {
            let writes = pending.iter().map(|(_, chunk)| {
                let chunk = chunk.clone();
                self.write(move |tables| apply_rows(tables, &chunk))
            });
            let results = futures_util::future::join_all(writes).await;
            let mut again = Vec::new();
            for ((start, chunk), result) in pending.into_iter().zip(results) {
                match result {
                    Ok(()) => outcome.written += chunk.len(),
                    Err(error) => {
                        tracing::warn!(rows = chunk.len(), attempt, %error, "一批行没有写入");
                        again.push((start, chunk));
                    }
                }
            }
            pending = again;
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        for (start, chunk) in pending {
            outcome.failed.extend(start..start + chunk.len());
        }
        outcome
    }

    async fn complete_batch(&self, reference: &str) -> Result<(), StoreError> {
        let reference = reference.to_string();
        self.write(move |tables| apply_complete(tables, &reference))
            .await
    }

    async fn batch(&self, reference: &str) -> Result<Option<Batch>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::backend)?;
        let table = txn.open_table(BATCHES).map_err(StoreError::backend)?;
        read_batch(&table, reference)
    }
}
