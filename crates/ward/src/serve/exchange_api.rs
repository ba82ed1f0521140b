//! The `/v1` routes for the field's exchange formats: a list (CSV, HMA, VICS, NCMEC,
//! StopNCII) streamed into a bank, a bank streamed out as a list (CSV, HMA, VICS), and a
//! CyberTipline report draft for a content item.
//!
//! An import reads the request body on a blocking thread through `crate::exchange::import`,
//! as `ward import` reads a file: records are applied in batches, one transaction each, so
//! what the answer counts is stored, and a failure keeps every whole batch before it. An
//! export is written a page of the bank at a time as the client reads it, so neither holds
//! a whole list in memory.

use std::io::{self, BufReader, Write};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use ward_core::exchange::cybertip::{CyberTiplineDraft, DraftFile, Reporter, write_draft};
use ward_core::exchange::{Format, RecordError};
use ward_store::{BankId, ContentId, Role, Store, Timestamp};

use super::SharedState;
use super::api::{READERS, body_reader, managed_bank, visible_bank, visible_content};
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::exchange::{ExportFormat, ListWriter, import as import_records, item};

/// Malformed records listed in an import's answer (the rest are counted).
const ERRORS_SHOWN: usize = 100;
/// Content items read from the store per page of an export.
const EXPORT_PAGE: u32 = 1_000;
/// The longest provenance source kept from `X-Ward-Source` or `source=`.
const SOURCE_CHARS: usize = ward_store::rules::SOURCE_MAX;
/// The longest text a draft takes from a query parameter.
const DRAFT_FIELD_CHARS: usize = 2_048;

#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    format: Option<String>,
    source: Option<String>,
}

/// `POST /v1/banks/{id}/import?format=…`: a list in one of the field's formats, streamed
/// into the bank. Answers what was read and stored, and the malformed records by record
/// and line; a list that cannot be read to its end (`fatal`) keeps the records before.
pub async fn import(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let bank = managed_bank(&state, &caller, id).await?;
    let format = list_format(query.format.as_deref())?;
    let given = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let source = headers
        .get("x-ward-source")
        .and_then(|v| v.to_str().ok())
        .and_then(given)
        .or_else(|| query.source.as_deref().and_then(given))
        .map(|s| s.chars().take(SOURCE_CHARS).collect::<String>())
        .unwrap_or_else(|| format!("api:import:{format}"));

    // The body is read here and parsed on a blocking thread, a chunk at a time; each batch
    // is written from that thread through the runtime.
    let (body, feeder) = body_reader(body);
    let runtime = tokio::runtime::Handle::current();
    let actor = caller.actor();
    let worker_state = state.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut errors = Vec::new();
        let report = import_records(
            format,
            BufReader::with_capacity(256 << 10, body),
            &source,
            |error| {
                if let RecordError::Malformed { position, reason } = error
                    && errors.len() < ERRORS_SHOWN
                {
                    errors.push(json!({
                        "record": position.record,
                        "line": position.line,
                        "reason": reason,
                    }));
                }
            },
            |changes| runtime.block_on(worker_state.store.import_content(&actor, bank.id, changes)),
        );
        (report, errors)
    })
    .await;
    feeder.abort();
    // Whatever happened, the batches stored so far are in the node's index before it answers.
    state.caught_up().await;
    let (report, errors) =
        outcome.map_err(|e| ApiError::internal(format!("import task failed: {e}")))?;
    if let Some(error) = report.failed {
        // What was committed before stays; say how much, so the client can resume.
        let mut error = ApiError::from(error);
        error.message = format!(
            "{} (the import stopped; {} records were stored before)",
            error.message, report.records
        );
        return Err(error);
    }
    let counts = report.counts;
    Ok(Json(json!({
        "records": report.records,
        "added": counts.added,
        "replaced": counts.replaced,
        "removed": counts.removed,
        "missing": counts.missing,
        "unchanged": counts.unchanged,
        "malformed": report.malformed,
        "errors": errors,
        "fatal": report.fatal,
    })))
}

/// The list format `format=` names; a clear 400 when it names none.
fn list_format(name: Option<&str>) -> ApiResult<Format> {
    let names = || {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Ok(Format::from_str(&name.to_ascii_lowercase())?),
        None => Err(ApiError::bad_request(format!(
            "format= is required: one of {}",
            names()
        ))),
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

/// `GET /v1/banks/{id}/export?format=…`: every item of the bank that is not removed, as a
/// list in the format, streamed a page of the bank at a time (audited as `read.export`).
/// An item the format cannot hold (a vPDQ in VICS, PhotoDNA alone in CSV) is left out and
/// logged.
pub async fn export(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    caller.require(READERS)?;
    let bank = visible_bank(&state, &caller, id).await?;
    let format = match query.format.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => {
            ExportFormat::from_str(name).map_err(ApiError::bad_request)?
        }
        _ => {
            return Err(ApiError::bad_request(
                "format= is required: one of csv, hma, vics",
            ));
        }
    };
    let buffer = PageBuffer::default();
    let writer = ListWriter::new(format, buffer.clone())
        .map_err(|e| ApiError::internal(format!("starting the export: {e}")))?;
    state
        .store
        .record_read(&caller.actor(), "read.export", &format!("bank:{id}"))
        .await?;
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv", "csv"),
        ExportFormat::Hma => ("application/x-ndjson", "jsonl"),
        ExportFormat::Vics => ("application/json", "json"),
    };
    let pages = Pages {
        state,
        bank: bank.id,
        after: None,
        writer: Some(writer),
        buffer,
        written: 0,
        skipped: 0,
    };
    let stream = futures_util::stream::unfold(pages, Pages::next);
    let disposition = format!("attachment; filename=\"bank-{id}.{extension}\"");
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Where a list writer writes: the text of the page being written, taken as one chunk of
/// the answer once the page is done.
#[derive(Clone, Debug, Default)]
struct PageBuffer(Arc<Mutex<Vec<u8>>>);

impl PageBuffer {
    fn take(&self) -> Bytes {
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Bytes::from(std::mem::take(&mut *text))
    }
}

impl Write for PageBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An export in progress: the next page of the bank to write, and the writer (`None` once
/// the list is finished).
struct Pages {
    state: SharedState,
    bank: BankId,
    after: Option<ContentId>,
    writer: Option<ListWriter<PageBuffer>>,
    buffer: PageBuffer,
    written: u64,
    skipped: u64,
}

impl Pages {
    /// The next chunk of the answer: one page of the bank written out (the end of the list
    /// with the last), or an error that cuts the answer short.
    async fn next(mut self) -> Option<(io::Result<Bytes>, Pages)> {
        let mut writer = self.writer.take()?;
        let page = match self
            .state
            .store
            .bank_contents(self.bank, self.after, EXPORT_PAGE)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(bank = %self.bank, %error, "export stopped: reading the bank failed");
                return Some((Err(io::Error::other(error.to_string())), self));
            }
        };
        let Some(last) = page.last() else {
            if let Err(error) = writer.finish().map(drop) {
                return Some((Err(error), self));
            }
            tracing::info!(
                bank = %self.bank,
                written = self.written,
                skipped = self.skipped,
                "export written"
            );
            return Some((Ok(self.buffer.take()), self));
        };
        self.after = Some(last.id);
        for content in &page {
            match writer.write(&item(content), content.external_id.as_deref()) {
                Ok(()) => self.written += 1,
                Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                    self.skipped += 1;
                    tracing::debug!(content = %content.id, %error, "export: content item skipped");
                }
                Err(error) => return Some((Err(error), self)),
            }
        }
        self.writer = Some(writer);
        Some((Ok(self.buffer.take()), self))
    }
}

#[derive(Debug, Deserialize)]
pub struct DraftQuery {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    /// Where the platform found the content: written into the draft, never fetched.
    url: Option<String>,
}

/// `GET /v1/content/{id}/cybertip`: a CyberTipline report draft (XML) for a content item,
/// for the platform to review, complete and file (audited as `read.cybertip`). Ward drafts;
/// it never files, and never fetches the URL it is given.
pub async fn cybertip(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<DraftQuery>,
) -> ApiResult<Response> {
    caller.require(&[Role::Platform, Role::Curator, Role::Analyst])?;
    let (content, _) = visible_content(&state, &caller, id).await?;
    let text = |name: &str, value: Option<String>| -> ApiResult<Option<String>> {
        let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match value {
            Some(v) if v.chars().count() > DRAFT_FIELD_CHARS => Err(ApiError::bad_request(
                format!("{name} is longer than {DRAFT_FIELD_CHARS} characters"),
            )),
            value => Ok(value),
        }
    };
    let reporter = Reporter {
        first_name: text("first_name", query.first_name)?,
        last_name: text("last_name", query.last_name)?,
        email: text("email", query.email)?,
    };
    let url = text("url", query.url)?;
    let mut file = DraftFile::from_item(&item(&content), None);
    // The analyst's assessment, when there is one, over the label of the list it came from.
    if let Some(classification) = content.assessment.and_then(|a| a.industry()) {
        file.classification = Some(classification);
    }
    let draft = CyberTiplineDraft {
        incident_date_time: Timestamp::now().to_rfc3339(),
        url,
        reporter,
        files: vec![file],
    };
    let mut xml = Vec::new();
    write_draft(&draft, &mut xml)
        .map_err(|e| ApiError::internal(format!("writing the draft: {e}")))?;
    state
        .store
        .record_read(&caller.actor(), "read.cybertip", &format!("content:{id}"))
        .await?;
    Ok(([(CONTENT_TYPE, "application/xml")], xml).into_response())
}
