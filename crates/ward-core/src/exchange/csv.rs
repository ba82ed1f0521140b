//! CSV and plain hash lists as exchanged records: [`crate::lists::ListReader`] read as a
//! stream of [`Record`]s, and a writer of CSV lists that it reads back.
//!
//! Each entry (a data line) is one record of one signal, numbered among the list's records
//! and placed on its line; a line that is not an entry is
//! [`RecordError::Malformed`](super::RecordError::Malformed), and a read error ends reading
//! with [`RecordError::Fatal`](super::RecordError::Fatal). The `id` column is the external
//! id. The reader refuses PhotoDNA rows, which Ward cannot match (they come out as
//! malformed lines saying so), so PhotoDNA is exchanged through the other formats.
//!
//! Labels: a `label` column names its scheme, as the writer writes it: `industry:A1`,
//! `uk:B`, or `vics/US:1` for a VICS category under profile `US` (`vics:1` without one).
//! A label that names no known scheme is not guessed at: it is kept as the attribute
//! `label`, and the writer writes that attribute back to the column when an item has no
//! [`ListLabel`]. CSV holds nothing else of an item: other attributes are not written.

use std::io::{self, BufRead, Write};
use std::ops::ControlFlow;

use super::{Change, Each, ExchangedSignal, Item, ListLabel, Position, Record, Summary, scheme};
use crate::lists::{Hex64, ListError, ListReader};

/// Reads a CSV or plain list from `input`, untyped 64-digit hashes being PDQ.
pub fn read(input: impl BufRead, each: &mut Each<'_>) -> Summary {
    read_as(input, Hex64::Pdq, each)
}

/// Reads a CSV or plain list from `input`; `hex64` says what untyped 64-digit hashes are.
pub fn read_as(input: impl BufRead, hex64: Hex64, each: &mut Each<'_>) -> Summary {
    let mut sink = super::Sink::new(each);
    // Rows of one item (the writer writes a row per signal) are adjacent and share their
    // id: the record is handed over when a row of another item comes.
    let mut pending: Option<Record> = None;
    for (index, item) in ListReader::new(input, hex64).enumerate() {
        let records = index as u64 + 1;
        let flow = match item {
            Ok(entry) => {
                let (label, attributes) = match entry.label {
                    Some(text) => match parse_label(&text) {
                        Some(label) => (Some(label), Vec::new()),
                        None => (None, vec![("label".to_owned(), text)]),
                    },
                    None => (None, Vec::new()),
                };
                let signal = ExchangedSignal {
                    signal_type: entry.signal.signal_type().name(),
                    value: entry.signal.to_string(),
                };
                let record = Record {
                    position: Position {
                        record: records,
                        line: entry.line,
                    },
                    external_id: entry.id,
                    change: Change::Upsert(Item {
                        signals: vec![signal],
                        label,
                        attributes,
                    }),
                };
                match pending.take() {
                    Some(mut current) if joins(&current, &record) => {
                        if let (Change::Upsert(item), Change::Upsert(next)) =
                            (&mut current.change, record.change)
                        {
                            item.signals.extend(next.signals);
                        }
                        pending = Some(current);
                        ControlFlow::Continue(())
                    }
                    Some(done) => {
                        pending = Some(record);
                        sink.record(done)
                    }
                    None => {
                        pending = Some(record);
                        ControlFlow::Continue(())
                    }
                }
            }
            Err(ListError::Malformed { line, reason }) => {
                // Records are handed over in the order of their lines.
                let flow = match pending.take() {
                    Some(done) => sink.record(done),
                    None => ControlFlow::Continue(()),
                };
                if flow.is_break() {
                    return sink.summary();
                }
                sink.malformed(
                    Position {
                        record: records,
                        line,
                    },
                    reason,
                )
            }
            Err(error @ ListError::Read { .. }) => {
                if let Some(done) = pending.take() {
                    let _ = sink.record(done);
                }
                let position = Position {
                    record: records,
                    line: error.line(),
                };
                let reason = match &error {
                    ListError::Read { source, .. } => format!("cannot read: {source}"),
                    ListError::Malformed { reason, .. } => reason.clone(),
                };
                sink.fatal(position, reason);
                return sink.summary();
            }
        };
        if flow.is_break() {
            return sink.summary();
        }
    }
    if let Some(done) = pending.take() {
        let _ = sink.record(done);
    }
    sink.summary()
}

/// Whether `next` is another row of `current`'s item: the same id (rows without one are
/// items of their own), label and other fields.
fn joins(current: &Record, next: &Record) -> bool {
    match (&current.change, &next.change) {
        (Change::Upsert(a), Change::Upsert(b)) => {
            current.external_id.is_some()
                && current.external_id == next.external_id
                && a.label == b.label
                && a.attributes == b.attributes
        }
        _ => false,
    }
}

/// `industry:A1`, `vics:1`, `vics/US:1`: a label of a known scheme.
fn parse_label(text: &str) -> Option<ListLabel> {
    let (head, label) = text.split_once(':')?;
    let (name, profile) = match head.split_once('/') {
        Some((name, profile)) => (name, Some(profile)),
        None => (head, None),
    };
    let scheme = scheme(name)?;
    if label.is_empty() || profile.is_some_and(str::is_empty) {
        return None;
    }
    Some(ListLabel {
        scheme,
        profile: profile.map(str::to_owned),
        label: label.to_owned(),
    })
}

/// The label column's text for a label.
fn label_text(label: &ListLabel) -> String {
    match &label.profile {
        Some(profile) => format!("{}/{profile}:{}", label.scheme, label.label),
        None => format!("{}:{}", label.scheme, label.label),
    }
}

/// Writes a CSV list, `signal_type,signal,id,label`, one row per signal, that [`read`]
/// reads back (the rows of an item with an id as one item again). PhotoDNA is not written:
/// Ward's list reader refuses it (it cannot be matched), so an item of PhotoDNA only is
/// refused (`InvalidInput`) and exchanged through HMA or VICS instead.
///
/// Fields are quoted when they need it. A field may not span lines in Ward's lists, so an
/// item whose id or label holds a line break is refused (`InvalidInput`), before anything of
/// it is written.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    /// Starts a list: writes its header.
    pub fn new(mut out: W) -> io::Result<Writer<W>> {
        out.write_all(b"signal_type,signal,id,label\n")?;
        Ok(Writer { out })
    }

    /// Writes a row for each of the item's signals.
    pub fn write(&mut self, item: &Item, external_id: Option<&str>) -> io::Result<()> {
        if item.signals.is_empty() {
            return Err(refuse("an item without signals"));
        }
        if item.signals.iter().all(|s| s.signal_type == "photodna") {
            return Err(refuse(
                "PhotoDNA is not written to CSV lists (export as hma or vics)",
            ));
        }
        let label = match &item.label {
            Some(label) => Some(label_text(label)),
            None => item
                .attributes
                .iter()
                .find(|(name, _)| name == "label")
                .map(|(_, value)| value.clone()),
        };
        let id = field(external_id.unwrap_or(""))?;
        let label = field(label.as_deref().unwrap_or(""))?;
        let mut rows = String::new();
        for signal in item.signals.iter().filter(|s| s.signal_type != "photodna") {
            let value = field(&signal.value)?;
            rows += &format!("{},{value},{id},{label}\n", signal.signal_type);
        }
        self.out.write_all(rows.as_bytes())
    }

    /// Ends the list and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn refuse(reason: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, reason.to_owned())
}

/// A CSV field: quoted (with `""` for `"`) when it holds a comma, a quote or surrounding
/// spaces, which Ward's reader would otherwise trim.
fn field(text: &str) -> io::Result<String> {
    if text.contains(['\n', '\r']) {
        return Err(refuse("a CSV field may not hold a line break"));
    }
    let needs_quotes = text.contains([',', '"'])
        || text != text.trim()
        || text.starts_with('#')
        || text.starts_with('\u{feff}');
    Ok(if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_their_scheme() {
        let label = |scheme, profile: Option<&str>, label: &str| ListLabel {
            scheme,
            profile: profile.map(str::to_owned),
            label: label.to_owned(),
        };
        for (text, expected) in [
            ("industry:A1", Some(label("industry", None, "A1"))),
            ("uk:B", Some(label("uk", None, "B"))),
            ("vics:1", Some(label("vics", None, "1"))),
            ("vics/US:1", Some(label("vics", Some("US"), "1"))),
            ("A1", None),
            ("interpol:baseline", None),
            ("industry:", None),
            ("vics/:1", None),
        ] {
            assert_eq!(parse_label(text), expected, "{text}");
            if let Some(label) = expected {
                assert_eq!(label_text(&label), text);
            }
        }
    }

    #[test]
    fn fields_are_quoted_when_they_need_it() {
        assert_eq!(field("abc").unwrap(), "abc");
        assert_eq!(field("a,b").unwrap(), "\"a,b\"");
        assert_eq!(field("say \"hi\"").unwrap(), "\"say \"\"hi\"\"\"");
        assert_eq!(field(" x").unwrap(), "\" x\"");
        assert!(field("a\nb").is_err());
    }
}
