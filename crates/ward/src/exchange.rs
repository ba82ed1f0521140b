//! Exchanged lists in and out of a bank: records read by `ward_core::exchange` applied to
//! the store in batches, and a bank's content written out in a list format. Shared by
//! `ward import`/`ward export` and the API.
//!
//! An import streams: one thread parses records into batches while the caller's thread
//! writes the previous batch to the store, so a file of any size needs memory for two
//! batches. Each batch is one transaction: what a report counts is stored, and a failure
//! keeps every whole batch before it.

use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::mpsc;

use ward_core::exchange::{self, Change, ExchangedSignal, Format, Item, Record, RecordError};
use ward_store::{
    BankId, Content, ContentId, ImportChange, ImportCounts, ListLabel, NewContent, SignalKind,
    Store, StoreError,
};

/// Entries a batch holds at most: one transaction, and (on SQLite) one block of plain
/// hashes.
pub const BATCH: usize = 65_536;
/// The size a batch's entries may take before it is written, whatever their number: rich
/// records (a VICS entry's fields) are far larger than a line of a hash list.
const BATCH_BYTES: usize = 16 << 20;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Records read (entries and tombstones; malformed ones not included).
    pub records: u64,
    pub counts: ImportCounts,
    /// Records skipped as malformed.
    pub malformed: u64,
    /// Why reading stopped before the end of the input, if it did.
    pub fatal: Option<String>,
    /// The store's refusal of a batch, which stopped the import: the counts are what was
    /// stored before it.
    pub failed: Option<StoreError>,
}

/// Imports `input` (of `format`), calling `malformed` for each record that is skipped and
/// `write` (from the calling thread) to apply each batch to the bank.
pub fn import(
    format: Format,
    input: impl BufRead + Send,
    source: &str,
    mut malformed: impl FnMut(&RecordError),
    mut write: impl FnMut(&[ImportChange]) -> Result<ImportCounts, StoreError>,
) -> ImportReport {
    enum Message {
        Batch(Vec<ImportChange>),
        Malformed(RecordError),
        Fatal(String),
    }
    let (sender, receiver) = mpsc::sync_channel::<Message>(2);
    // Written batches go back to the parser to be freed there: freeing millions of small
    // allocations in the thread that made them is several times cheaper with glibc's
    // per-thread arenas than freeing them in another.
    let (written, to_free) = mpsc::channel::<Vec<ImportChange>>();
    let mut report = ImportReport::default();
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let mut batch_bytes = 0;
            let source = source.to_owned();
            let mut each = |record: Result<Record, RecordError>| {
                if batch.is_empty() {
                    while let Ok(done) = to_free.try_recv() {
                        drop(done);
                    }
                }
                let message = match record {
                    Ok(record) => {
                        let position = record.position;
                        let change = change(record, &source);
                        // A record the store's rules refuse (a field over its maximum) is
                        // reported as malformed here, so that it does not fail its batch.
                        if let Err(reason) = within_rules(&change) {
                            let error = RecordError::Malformed { position, reason };
                            return match sender.send(Message::Malformed(error)) {
                                Ok(()) => ControlFlow::Continue(()),
                                Err(_) => ControlFlow::Break(()),
                            };
                        }
                        batch_bytes += size_of_change(&change);
                        batch.push(change);
                        if batch.len() < BATCH && batch_bytes < BATCH_BYTES {
                            return ControlFlow::Continue(());
                        }
                        batch_bytes = 0;
                        Message::Batch(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    }
                    Err(error @ RecordError::Malformed { .. }) => Message::Malformed(error),
                    Err(RecordError::Fatal { position, reason }) => {
                        Message::Fatal(format!("{position}: {reason}"))
                    }
                };
                match sender.send(message) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()), // the writer stopped
                }
            };
            exchange::read(format, input, &mut each);
            if !batch.is_empty() {
                let _ = sender.send(Message::Batch(batch));
            }
        });
        for message in receiver.iter() {
            match message {
                Message::Batch(changes) => match write(&changes) {
                    Ok(counts) => {
                        report.records += changes.len() as u64;
                        report.counts.add(counts);
                        let _ = written.send(changes);
                    }
                    Err(error) => {
                        report.failed = Some(error);
                        break;
                    }
                },
                Message::Malformed(error) => {
                    report.malformed += 1;
                    malformed(&error);
                }
                Message::Fatal(reason) => report.fatal = Some(reason),
            }
        }
        // Dropping the receiver stops the parser at its next record.
        drop(receiver);
        let _ = parser.join();
    });
    report
}

/// Whether the store takes `change` (its item, or its tombstone's id) by its rules, else
/// why not.
pub(crate) fn within_rules(change: &ImportChange) -> Result<(), String> {
    let checked = match change {
        ImportChange::Upsert(item) => ward_store::rules::content(item),
        ImportChange::Delete { external_id } => ward_store::rules::external_id(external_id),
    };
    checked.map_err(|error| match error {
        StoreError::Invalid(reason) => reason,
        other => other.to_string(),
    })
}

/// About what a change takes in memory.
fn size_of_change(change: &ImportChange) -> usize {
    let fixed = std::mem::size_of::<ImportChange>() + 64;
    match change {
        ImportChange::Delete { external_id } => fixed + external_id.len(),
        ImportChange::Upsert(item) => {
            fixed
                + item.source.len()
                + item.external_id.as_ref().map_or(0, String::len)
                + item
                    .signals
                    .iter()
                    .map(|s| s.value.len() + 48)
                    .sum::<usize>()
                + item
                    .attributes
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 64)
                    .sum::<usize>()
        }
    }
}

/// A record as a change to a bank.
pub(crate) fn change(record: Record, source: &str) -> ImportChange {
    match record.change {
        Change::Delete => ImportChange::Delete {
            external_id: record.external_id.unwrap_or_default(),
        },
        Change::Upsert(item) => ImportChange::Upsert(NewContent {
            signals: {
                let mut signals = Vec::with_capacity(item.signals.len());
                for signal in item.signals {
                    if let Ok(kind) = SignalKind::from_str(signal.signal_type) {
                        signals.push(ward_store::Signal {
                            kind,
                            value: signal.value,
                        });
                    }
                }
                signals
            },
            assessment: None,
            source: source.to_owned(),
            external_id: record.external_id,
            label: item.label.map(|l| ListLabel {
                scheme: l.scheme.to_owned(),
                profile: l.profile,
                label: l.label,
            }),
            attributes: item.attributes,
        }),
    }
}

/// The formats `ward export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Hma,
    Vics,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(name: &str) -> Result<ExportFormat, String> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "hma" => Ok(ExportFormat::Hma),
            "vics" => Ok(ExportFormat::Vics),
            _ => Err(format!(
                "cannot export as {name:?} (expected csv, hma or vics; ncmec and stopncii \
                 are read only)"
            )),
        }
    }
}

/// A list being written, in one of the formats Ward exports.
#[derive(Debug)]
pub enum ListWriter<W: Write> {
    Csv(exchange::csv::Writer<W>),
    Hma(exchange::hma::Writer<W>),
    Vics(exchange::vics::Writer<W>),
}

impl<W: Write> ListWriter<W> {
    /// Starts a list (its header, or the opening of a VICS document).
    pub fn new(format: ExportFormat, out: W) -> std::io::Result<ListWriter<W>> {
        Ok(match format {
            ExportFormat::Csv => ListWriter::Csv(exchange::csv::Writer::new(out)?),
            ExportFormat::Hma => ListWriter::Hma(exchange::hma::Writer::new(out)?),
            ExportFormat::Vics => ListWriter::Vics(exchange::vics::Writer::new(out, None)?),
        })
    }

    /// Writes an item; `InvalidInput`, with nothing written, when the format cannot hold it.
    pub fn write(&mut self, item: &Item, id: Option<&str>) -> std::io::Result<()> {
        match self {
            ListWriter::Csv(w) => w.write(item, id),
            ListWriter::Hma(w) => w.write(item, id),
            ListWriter::Vics(w) => w.write(item, id),
        }
    }

    /// Ends the list and gives the output back.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            ListWriter::Csv(w) => w.finish(),
            ListWriter::Hma(w) => w.finish(),
            ListWriter::Vics(w) => w.finish(),
        }
    }
}

/// How many items an export wrote, and how many it could not write in the format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    pub written: u64,
    pub skipped: u64,
}

/// Writes every item of `bank` that is not removed (disabled ones included: the list says
/// what the bank holds) to `out`, a page at a time. An item the format cannot hold (a vPDQ
/// in VICS, say) is skipped and reported to `skipped`.
pub async fn export<W: Write>(
    store: &impl Store,
    bank: BankId,
    format: ExportFormat,
    out: W,
    mut skipped: impl FnMut(ContentId, &std::io::Error),
) -> anyhow::Result<(W, ExportReport)> {
    let mut writer = ListWriter::new(format, out)?;
    let mut report = ExportReport::default();
    let mut after = None;
    loop {
        let page = store.bank_contents(bank, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for content in &page {
            let item = item(content);
            let id = content.external_id.as_deref();
            let written = writer.write(&item, id);
            match written {
                Ok(()) => report.written += 1,
                Err(error) if error.kind() == std::io::ErrorKind::InvalidInput => {
                    report.skipped += 1;
                    skipped(content.id, &error);
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    let out = writer.finish()?;
    Ok((out, report))
}

/// A content item as an exchanged item.
pub fn item(content: &Content) -> Item {
    Item {
        signals: content
            .signals
            .iter()
            .map(|s| ExchangedSignal {
                signal_type: s.kind.name(),
                value: s.value.clone(),
            })
            .collect(),
        label: content.label.as_ref().and_then(|l| {
            Some(exchange::ListLabel {
                scheme: exchange_scheme(&l.scheme)?,
                profile: l.profile.clone(),
                label: l.label.clone(),
            })
        }),
        attributes: content.attributes.clone(),
    }
}

/// A stored scheme name as the exchange module names it.
fn exchange_scheme(name: &str) -> Option<&'static str> {
    ["industry", "uk", "vics"].into_iter().find(|s| *s == name)
}
