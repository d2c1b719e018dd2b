//! Bulk staff filing by spreadsheet: `POST /api/forms/{id}/upload` (and the staff route)
//! takes a multipart form with the unit's own fields and one file, checks every row with the
//! form's checks, and either stores the whole file or nothing.
//!
//! A clean file becomes a batch record plus one record per row. The rows' references are
//! derived from the batch reference and the row, and the batch is recorded under the SHA-256
//! of what is filed (the unit's checked details and every checked row) before any row is
//! written, so the same filing uploaded again, in whatever encoding, is recognised: a complete
//! batch is not stored twice, and an interrupted one is written again from the start over the
//! same keys (nothing twice) and then marked complete. The same file sent for another unit is
//! another filing.
//!
//! A file with problems gets a report: the problems by sheet row and column, the repairs made,
//! and a copy of the workbook with each bad cell filled red and a comment saying the fix.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use rust_xlsxwriter::{Format, Note, Workbook};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::{self, hex, ApiRequest, ApiResponse, App};
use crate::forms::FormDef;
use crate::import::{self, RowProblem, Table};
use crate::pages::{self, escape, UploadLimits, UPLOAD_FILE_FIELD};
use crate::reference;
use crate::store::{Batch, BatchStart, Channel, Record, RowsOutcome};
use crate::submission::{self, Row, Submission};
use crate::template;
use crate::validation::FieldError;

/// The media type of an XLSX workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The largest marked copy put into the report page as a download link; bigger copies are
/// offered through the API only (a Lambda response is at most 6 MB).
const MAX_INLINE_COPY: usize = 2 * 1024 * 1024;

/// How many row records are made and handed to the store at a time.
const RECORDS_AT_ONCE: usize = 500;

/// Most problems listed on the report page; the marked copy has them all.
const MAX_LISTED_PROBLEMS: usize = 500;

/// What a multipart upload carried: its text fields, in order, and the file.
#[derive(Debug, Default)]
pub struct Upload {
    /// Every text part: name and value.
    pub fields: Vec<(String, String)>,
    /// The file part's bytes. Its name is not kept: file names often hold people's names.
    pub file: Option<Bytes>,
    /// The name of the first text part that was not UTF-8, if any (refused by the caller,
    /// which knows the field's label).
    pub not_utf8: Option<String>,
}

/// Reads a `multipart/form-data` body. Parts other than the file are text; the file part is
/// the one named `file` (or any part with a file name).
pub async fn parse_multipart(
    content_type: &str,
    body: Bytes,
    limit: usize,
) -> Result<Upload, (StatusCode, String)> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "上传的数据缺少分隔标记（boundary）：请在网页上重新选择文件上传".to_string(),
        )
    })?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit as u64)
            .per_field(limit as u64),
    );
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut upload = Upload::default();
    let broken = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "文件太大：不能超过 {}，请分成几个文件分别上传",
                pages_size(limit)
            ),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "上传的数据不完整或格式不对：请在网页上重新选择文件上传".to_string(),
        ),
    };
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or("").to_string();
        let is_file = name == UPLOAD_FILE_FIELD || field.file_name().is_some();
        let bytes = field.bytes().await.map_err(broken)?;
        if is_file {
            // A browser sends an empty part for a file box left empty; only a second file
            // with something in it is a second file.
            let have_one = upload.file.as_ref().is_some_and(|f| !f.is_empty());
            if have_one && !bytes.is_empty() {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "一次只能上传一个文件：请分别上传".to_string(),
                ));
            }
            if upload.file.is_none() || !bytes.is_empty() {
                upload.file = Some(bytes);
            }
        } else {
            match String::from_utf8(bytes.to_vec()) {
                Ok(text) => upload.fields.push((name, text)),
                Err(_) => {
                    upload.not_utf8.get_or_insert(name);
                }
            }
        }
    }
    Ok(upload)
}

fn pages_size(bytes: usize) -> String {
    UploadLimits {
        max_bytes: bytes,
        max_rows: 0,
    }
    .text()
    .split('，')
    .find_map(|part| part.strip_prefix("大小不超过 ").map(str::to_string))
    .unwrap_or_else(|| format!("{bytes} 字节"))
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The problems of a report in the order of the sheet, as `FieldError`s for the unit's own
/// fields (row 0) and as they are for the sheet.
fn split_problems(def: &FormDef, problems: &[RowProblem]) -> (Vec<FieldError>, Vec<RowProblem>) {
    let mut unit = Vec::new();
    let mut sheet = Vec::new();
    for problem in problems {
        let field = (problem.row == 0)
            .then(|| def.fields().find(|f| f.label == problem.column))
            .flatten();
        match field {
            Some(field) => unit.push(FieldError {
                field: field.key.clone(),
                label: field.label.clone(),
                message: problem.message.clone(),
            }),
            None => sheet.push(problem.clone()),
        }
    }
    (unit, sheet)
}

/// The uploaded sheet again, as XLSX: every cell as text where it was, each cell with a
/// problem filled red with a comment giving the fix, and a second sheet listing them all.
/// Fixing the copy and uploading it again works: the first sheet is the data.
pub fn marked_copy(table: &Table, problems: &[RowProblem]) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = Format::new()
        .set_bold()
        .set_num_format("@")
        .set_background_color("#E7EEF6");
    let bad = Format::new()
        .set_num_format("@")
        .set_background_color("#FFC7CE")
        .set_font_color("#9C0006");

    // One comment per cell, with every problem of that cell.
    let mut notes: BTreeMap<(u32, u16), Vec<&str>> = BTreeMap::new();
    let mut extra_columns: Vec<&str> = Vec::new();
    for problem in problems.iter().filter(|p| p.row > 0) {
        let col = match table.columns.iter().position(|c| *c == problem.column) {
            Some(col) => col,
            None => {
                // A missing column: marked in a new header cell after the last one.
                let n = match extra_columns.iter().position(|c| *c == problem.column) {
                    Some(n) => n,
                    None => {
                        extra_columns.push(&problem.column);
                        extra_columns.len() - 1
                    }
                };
                table.columns.len() + n
            }
        };
        let row = (problem.row - 1) as u32;
        notes
            .entry((row, col as u16))
            .or_default()
            .push(&problem.message);
    }

    let sheet = workbook.add_worksheet();
    sheet.set_name(template::DATA_SHEET)?;
    let header = (table.header_row - 1) as u32;
    for (row, cells) in &table.above {
        for (col, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string_with_format((row - 1) as u32, col as u16, cell, &text)?;
            }
        }
    }
    let mut widths = vec![8usize; table.columns.len() + extra_columns.len()];
    let all_columns = table
        .columns
        .iter()
        .map(String::as_str)
        .chain(extra_columns.iter().copied());
    for (col, name) in all_columns.enumerate() {
        let format = if notes.contains_key(&(header, col as u16)) {
            &bad
        } else {
            &bold
        };
        sheet.write_string_with_format(header, col as u16, name, format)?;
        widths[col] = widths[col].max(name.chars().count() * 2 + 2);
    }
    for (row, cells) in &table.rows {
        for (col, cell) in cells.iter().enumerate().take(widths.len()) {
            let at = ((row - 1) as u32, col as u16);
            let format = if notes.contains_key(&at) { &bad } else { &text };
            sheet.write_string_with_format(at.0, at.1, cell, format)?;
            widths[col] = widths[col].max(cell.chars().count().min(30) + 2);
        }
    }
    for ((row, col), messages) in &notes {
        if !table.rows.iter().any(|(r, _)| (r - 1) as u32 == *row) && *row != header {
            continue;
        }
        let at_cell = table
            .rows
            .iter()
            .find(|(r, _)| (r - 1) as u32 == *row)
            .and_then(|(_, cells)| cells.get(*col as usize));
        if at_cell.is_none() && *row != header {
            sheet.write_string_with_format(*row, *col, "", &bad)?;
        }
        let note = Note::new(messages.join("\n"))
            .set_author("劳动用工备案")
            .set_width(320)
            .set_height(120);
        sheet.insert_note(*row, *col, &note)?;
    }
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width as f64)?;
    }
    sheet.set_freeze_panes(header + 1, 0)?;

    let list = workbook.add_worksheet();
    list.set_name("问题清单")?;
    for (col, title) in ["行", "列", "问题和改法"].iter().enumerate() {
        list.write_string_with_format(0, col as u16, *title, &bold)?;
    }
    for (n, problem) in problems.iter().enumerate() {
        let row = (n + 1) as u32;
        let shown_row = if problem.row == 0 {
            "单位信息".to_string()
        } else {
            problem.row.to_string()
        };
        list.write_string_with_format(row, 0, &shown_row, &text)?;
        list.write_string_with_format(row, 1, &problem.column, &text)?;
        list.write_string_with_format(row, 2, &problem.message, &text)?;
    }
    list.set_column_width(0, 10)?;
    list.set_column_width(1, 18)?;
    list.set_column_width(2, 90)?;
    Ok(workbook.save_to_buffer()?)
}

impl App {
    /// Bulk filing: checks an uploaded spreadsheet with the unit's fields and stores every
    /// row, or nothing.
    pub(crate) async fn upload(
        &self,
        request: &ApiRequest,
        id: &str,
        channel: Channel,
        json: bool,
    ) -> ApiResponse {
        let Some(def) = self.forms.get(id) else {
            return api::error_response(
                json,
                StatusCode::NOT_FOUND,
                &format!("没有编号为“{}”的表单", clip(id)),
            );
        };
        let Some(group) = template::group(def) else {
            return api::error_response(
                json,
                StatusCode::NOT_FOUND,
                &format!("“{}”没有按行填写的名单，不能上传电子表格", def.title),
            );
        };
        let identity = match self.identity_for(def, request, channel, json) {
            Ok(identity) => identity,
            Err(response) => return *response,
        };
        let limits = self.upload_limits();
        let action = upload_path(def, channel);
        if request.body.len() > self.settings.max_upload_bytes {
            return api::error_response(
                json,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "文件太大：上传的内容不能超过 {}，请把表格分成几个文件分别上传",
                    pages_size(self.settings.max_upload_bytes)
                ),
            );
        }
        let content_type = request
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media != "multipart/form-data" {
            return api::error_response(
                json,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "上传文件请用 multipart/form-data（网页上的“上传并检查”按钮就是这样提交的）",
            );
        }
        let upload = match parse_multipart(
            content_type,
            request.body.clone(),
            self.settings.max_upload_bytes,
        )
        .await
        {
            Ok(upload) => upload,
            Err((status, message)) => return api::error_response(json, status, &message),
        };

        if let Some(name) = &upload.not_utf8 {
            let label = def
                .field(name)
                .map_or_else(|| clip(name), |f| f.label.clone());
            return api::error_response(
                json,
                StatusCode::BAD_REQUEST,
                &format!("“{label}”栏的文字不是 UTF-8 编码：请在网页上重新填写后上传"),
            );
        }

        // The unit's fields go through the same parser as the online form.
        let encoded = {
            let mut encoded = form_urlencoded::Serializer::new(String::new());
            for (name, value) in &upload.fields {
                encoded.append_pair(name, value);
            }
            encoded.finish()
        };
        let (mut unit, controls) = match submission::from_form(def, encoded.as_bytes()) {
            Ok(parsed) => parsed,
            Err(e) => return api::error_response(json, StatusCode::BAD_REQUEST, &e.0),
        };
        unit.groups.clear();
        if channel == Channel::Online {
            unit.overrides.clear();
        }
        if controls
            .honeypot
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
        {
            return api::error_response(
                json,
                StatusCode::BAD_REQUEST,
                "无法受理这次上传：请不要填写隐藏的“网址”栏，刷新页面后重新填写",
            );
        }

        let file = upload.file.filter(|f| !f.is_empty());
        let Some(file) = file else {
            let error = FieldError {
                field: UPLOAD_FILE_FIELD.into(),
                label: "填好的人员备案电子表格".into(),
                message: "请选择要上传的电子表格文件（XLSX、XLS 或 CSV）".into(),
            };
            return self.upload_rejected(def, &unit, &[error], &[], None, json, &action);
        };
        let headers: Vec<&str> = group.fields.iter().map(|f| f.label.as_str()).collect();
        let table = match import::read_table(&file, &headers) {
            Ok(table) => table,
            Err(e) => {
                let status = match e {
                    import::ImportError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    import::ImportError::NoHeader(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::BAD_REQUEST,
                };
                if json {
                    return api::error_response(true, status, &e.to_string());
                }
                let error = FieldError {
                    field: UPLOAD_FILE_FIELD.into(),
                    label: "填好的人员备案电子表格".into(),
                    message: e.to_string(),
                };
                let html = pages::upload_page(def, &unit, &[error], &action, limits, "");
                return api::html_response(status, html);
            }
        };

        // The online form takes a few dozen rows; a file takes up to the upload limit.
        let mut bulk = def.clone();
        if let Some(g) = bulk.groups.iter_mut().find(|g| g.key == group.key) {
            g.max_rows = g.max_rows.max(limits.max_rows);
        }
        let report = import::import_rows(&bulk, &group.key, &unit, &table, api::today());
        if !report.problems.is_empty() {
            let (unit_errors, sheet_problems) = split_problems(def, &report.problems);
            return self.upload_rejected(
                def,
                &unit,
                &unit_errors,
                &sheet_problems,
                Some((&table, &report)),
                json,
                &action,
            );
        }
        let Some(mut accepted) = report.accepted else {
            return api::error_response(
                json,
                StatusCode::UNPROCESSABLE_ENTITY,
                "表格里没有职工：请每名职工填一行后重新上传",
            );
        };
        let file_format = format!("{:?}", table.format).to_uppercase();
        drop(table);

        if let Some(response) = self
            .limited(request, "submit", self.settings.submit_limit, json)
            .await
        {
            return response;
        }

        let rows = accepted.groups.remove(&group.key).unwrap_or_default();
        let unit_data = accepted.to_json();
        drop(accepted);
        drop(file);
        let filed_sha256 = content_key(&def.id, &unit_data, &rows);
        let batch = Batch {
            reference: reference::generate(),
            form_id: def.id.clone(),
            filed_sha256: filed_sha256.clone(),
            file_format,
            rows: rows.len() as u32,
            unit: unit_data,
            complete: false,
            audit: self.stamp(def, request, channel, identity, filed_sha256),
        };
        let batch = match self.store.begin_batch(&batch).await {
            Ok(BatchStart::New) => batch,
            Ok(BatchStart::Existing(existing)) if existing.complete => {
                return already_stored(&existing, json);
            }
            Ok(BatchStart::Existing(existing)) => {
                tracing::info!(request_id = %request.request_id, reference = %existing.reference, "接着保存中断的上传");
                *existing
            }
            Err(e) => return api::store_failure(json, &request.request_id, &e),
        };

        // Records are made a slice at a time, so a file's rows are never all in memory twice.
        let mut outcome = RowsOutcome::default();
        for (n, slice) in rows.chunks(RECORDS_AT_ONCE).enumerate() {
            let start = n * RECORDS_AT_ONCE;
            let records = row_records(&batch, &group.key, start, slice);
            let written = self.store.put_rows(&records).await;
            outcome.written += written.written;
            outcome
                .failed
                .extend(written.failed.iter().map(|i| start + i));
        }
        if !outcome.failed.is_empty() {
            tracing::warn!(
                request_id = %request.request_id,
                reference = %batch.reference,
                written = outcome.written,
                failed = outcome.failed.len(),
                "上传的行没有全部写入"
            );
            let message = format!(
                "保存没有完成：{} 名职工已保存，{} 名没有保存。请稍后重新上传同一个文件，系统会接着保存，不会重复（受理编号 {}）",
                outcome.written,
                outcome.failed.len(),
                batch.reference
            );
            let mut response = api::error_response(json, StatusCode::SERVICE_UNAVAILABLE, &message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return response;
        }
        if let Err(e) = self.store.complete_batch(&batch.reference).await {
            return api::store_failure(json, &request.request_id, &e);
        }
        tracing::info!(
            request_id = %request.request_id,
            reference = %batch.reference,
            rows = rows.len(),
            "上传已保存"
        );
        stored(&batch, json)
    }

    /// The limits uploads are held to.
    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            max_bytes: self.settings.max_upload_bytes,
            max_rows: import::MAX_ROWS,
        }
    }

    /// The answer to a file with problems: 422 with the report, and nothing stored.
    #[allow(clippy::too_many_arguments)]
    fn upload_rejected(
        &self,
        def: &FormDef,
        unit: &Submission,
        unit_errors: &[FieldError],
        sheet: &[RowProblem],
        checked: Option<(&Table, &import::Report)>,
        json: bool,
        action: &str,
    ) -> ApiResponse {
        let all: Vec<RowProblem> = unit_errors
            .iter()
            .map(|e| RowProblem {
                row: 0,
                column: e.label.clone(),
                message: e.message.clone(),
            })
            .chain(sheet.iter().cloned())
            .collect();
        let copy = checked.and_then(|(table, _)| marked_copy(table, &all).ok());
        if json {
            let (rows, ready, repairs) = match checked {
                Some((table, report)) => (
                    table.rows.len(),
                    report.ready,
                    report
                        .repairs
                        .iter()
                        .map(|r| json!({ "row": r.row, "column": r.column, "from": r.from, "to": r.to }))
                        .collect(),
                ),
                None => (0, 0, Vec::new()),
            };
            let body = json!({
                "error": "表格有需要修改的地方，没有保存任何记录",
                "rows": rows,
                "ready": ready,
                "problems": all.iter().map(|p| json!({ "row": p.row, "column": p.column, "message": p.message })).collect::<Vec<_>>(),
                "repairs": repairs,
            });
            return api::json_response(StatusCode::UNPROCESSABLE_ENTITY, &body);
        }
        let report = checked
            .map(|(table, report)| report_html(table, report, sheet, copy.as_deref()))
            .unwrap_or_default();
        let html = pages::upload_page(
            def,
            unit,
            unit_errors,
            action,
            self.upload_limits(),
            &report,
        );
        api::html_response(StatusCode::UNPROCESSABLE_ENTITY, html)
    }
}

/// The report above the form: counts, every problem by row and column, the repairs, and the
/// marked copy.
fn report_html(
    table: &Table,
    report: &import::Report,
    sheet: &[RowProblem],
    copy: Option<&[u8]>,
) -> String {
    let mut html = String::new();
    let total = table.rows.len();
    let _ = write!(
        html,
        "<section class=\"upload-report\" id=\"upload-report\" tabindex=\"-1\" autofocus aria-labelledby=\"upload-report-title\">\
         <h2 id=\"upload-report-title\">检查结果：没有保存任何记录</h2>\
         <p>表格共 {total} 行职工，其中 {} 行无误，{} 处需要修改。请改好后重新上传整个文件；全部无误后才会一起保存。</p>",
        report.ready,
        sheet.len()
    );
    match copy {
        Some(copy) if copy.len() <= MAX_INLINE_COPY => {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(copy);
            let _ = write!(
                html,
                "<p><a class=\"button button--secondary\" download=\"人员备案-问题标注.xlsx\" href=\"data:{XLSX_TYPE};base64,{encoded}\">\
                 下载标出问题的表格</a>（XLSX，{} KB）：有问题的格子标成红色，鼠标停在格子上可看改法；改好后可直接上传这个文件。</p>",
                copy.len().div_ceil(1024)
            );
        }
        _ => {}
    }
    if !sheet.is_empty() {
        html.push_str(
            "<div class=\"table-scroll\"><table class=\"data-table\"><caption>需要修改的地方</caption>\
             <thead><tr><th scope=\"col\">行</th><th scope=\"col\">列</th><th scope=\"col\">问题和改法</th></tr></thead><tbody>",
        );
        for problem in sheet.iter().take(MAX_LISTED_PROBLEMS) {
            let _ = write!(
                html,
                "<tr><td>第 {} 行</td><td>{}</td><td>{}</td></tr>",
                problem.row,
                escape(&problem.column),
                escape(&problem.message)
            );
        }
        html.push_str("</tbody></table></div>");
        if sheet.len() > MAX_LISTED_PROBLEMS {
            let _ = write!(
                html,
                "<p>这里列出前 {MAX_LISTED_PROBLEMS} 处，其余的请看标出问题的表格。</p>"
            );
        }
    }
    if !report.repairs.is_empty() {
        let _ = write!(
            html,
            "<details class=\"upload-report__repairs\"><summary>已自动整理 {} 处（如全角数字、多余空格），不需要修改</summary><ul>",
            report.repairs.len()
        );
        for repair in report.repairs.iter().take(MAX_LISTED_PROBLEMS) {
            let _ = write!(
                html,
                "<li>第 {} 行“{}”：“{}” 整理为 “{}”</li>",
                repair.row,
                escape(&repair.column),
                escape(&repair.from),
                escape(&repair.to)
            );
        }
        html.push_str("</ul></details>");
    }
    html.push_str("</section>");
    html
}

/// One record per row: the unit's fields and that row, stamped as the batch is, with a
/// reference derived from the batch's and the row's place (`start` is the first row's).
/// What makes two uploads the same ([`Batch::filed_sha256`]): the form, the unit's checked
/// details and every checked row in order, hashed as they are serialised.
fn content_key(form_id: &str, unit: &serde_json::Value, rows: &[Row]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(form_id.as_bytes());
    hasher.update(b"\n");
    // Writing into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut hasher, unit);
    for row in rows {
        hasher.update(b"\n");
        let _ = serde_json::to_writer(&mut hasher, row);
    }
    hex(&hasher.finalize())
}

fn row_records(batch: &Batch, group: &str, start: usize, rows: &[Row]) -> Vec<Record> {
    rows.iter()
        .enumerate()
        .map(|(offset, row)| {
            let mut data = batch.unit.clone();
            data["groups"] = json!({ group: [row] });
            let content = serde_json::to_vec(&data).unwrap_or_default();
            let mut audit = batch.audit.clone();
            audit.content_sha256 = hex(&Sha256::digest(&content));
            Record {
                reference: reference::of_row(&batch.reference, start + offset),
                form_id: batch.form_id.clone(),
                version: 1,
                status: "已受理".into(),
                data,
                audit,
                idempotency_key: None,
                batch: Some(batch.reference.clone()),
            }
        })
        .collect()
}

/// 201 (or 303 to the receipt) for a stored batch.
fn stored(batch: &Batch, json: bool) -> ApiResponse {
    let receipt = format!("/api/receipts/{}", batch.reference);
    if json {
        let mut response = api::json_response(
            StatusCode::CREATED,
            &json!({ "reference": batch.reference, "status": "已受理", "rows": batch.rows, "receipt": receipt }),
        );
        if let Ok(location) = HeaderValue::from_str(&receipt) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return api::with_reference(response, &batch.reference);
    }
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&format!("{receipt}?new=1")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    api::with_reference(response, &batch.reference)
}

/// The answer to a file already stored: its batch, nothing stored again.
fn already_stored(batch: &Batch, json: bool) -> ApiResponse {
    let receipt = format!("/api/receipts/{}", batch.reference);
    let message = format!(
        "这个文件已于 {} 上传并保存（{} 名职工），这次没有重复保存。受理编号 {}",
        batch
            .audit
            .time
            .get(..16)
            .unwrap_or(&batch.audit.time)
            .replace('T', " "),
        batch.rows,
        batch.reference
    );
    if json {
        let body = json!({
            "reference": batch.reference,
            "status": "已受理",
            "rows": batch.rows,
            "receipt": receipt,
            "duplicate": true,
            "message": message,
        });
        return api::with_reference(api::json_response(StatusCode::OK, &body), &batch.reference);
    }
    let body = format!(
        "<div class=\"panel panel--info\"><h1 class=\"panel__title\">这个文件已经保存过</h1><div class=\"panel__body\">{}</div></div>\
         <p class=\"back-link\"><a href=\"{}\">查看受理回执</a></p><p class=\"back-link\"><a href=\"/\">返回首页</a></p>",
        escape(&message),
        escape(&receipt)
    );
    api::with_reference(
        api::html_response(StatusCode::OK, pages::page("这个文件已经保存过", &body)),
        &batch.reference,
    )
}

/// The path a form's upload is posted to on `channel`.
pub fn upload_path(def: &FormDef, channel: Channel) -> String {
    match channel {
        Channel::Online => format!("/api/forms/{}/upload", def.id),
        Channel::Counter => format!("/api/staff/forms/{}/upload", def.id),
    }
}
