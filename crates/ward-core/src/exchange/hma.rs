//! Meta HMA bank content as a file: reading and writing JSON Lines of HMA's bank content
//! objects.
//!
//! HMA 2.x ("OpenMediaMatch", `hasher-matcher-actioner/` in facebook/ThreatExchange) has no
//! file format for a bank's content: its curation API answers a content item added to a bank
//! (`POST /c/bank/{bank}/signal`, `…/content`) with `{"id": 1234, "signals": {"pdq": "…",
//! "video_md5": "…"}}`, and takes optional `metadata` with `content_id`, `content_uri` and a
//! free `json` object (`BankedContentMetadata` in `blueprints/curation.py`). Ward's HMA
//! format is that object, one per line (the second wrapped here):
//!
//! ```text
//! {"id":1,"signals":{"pdq":"…"}}
//! {"id":2,"signals":{"md5":"…","vpdq":"…"},"metadata":{"json":{"attributes":[["Series","x"]],
//!   "label":{"label":"A1","profile":null,"scheme":"industry"}}}}
//! ```
//!
//! - `id` (an integer or a string) is the external id; without one the record has none.
//! - `signals` maps HMA's signal type names to signals: `pdq`, `vpdq` (python-threatexchange's
//!   JSON text, or the list itself), `md5`, `video_md5` (an MD5 like any other), and Ward's
//!   `sha1`, `sha256` and `photodna`. At least one. They come out ordered by type name, as
//!   JSON objects have no order.
//! - `metadata.json.label` is the item's [`ListLabel`] and `metadata.json.attributes` its
//!   attributes as `[name, value]` pairs; `metadata.content_id` and `metadata.content_uri`,
//!   when given, are attributes too. The writer puts label and attributes there, so HMA keeps
//!   them with the content.
//!
//! One line is one record, numbered among the records, blank lines skipped; a line that is
//! not such an object is [`RecordError::Malformed`](super::RecordError::Malformed) and
//! reading goes on (JSON Lines have no state across lines), and a line longer than 16 MiB
//! is reported without being held. A read error ends reading with
//! [`RecordError::Fatal`](super::RecordError::Fatal). HMA signal types have one signal per
//! content item, so the writer refuses an item with two of one type.

use std::io::{self, BufRead, Write};

use serde_json::{Map, Value, json};

use super::input::MAX_RECORD;
use super::json_stream::{describe, id_text};
use super::{
    Change, Each, ExchangedSignal, Item, ListLabel, Position, Record, Sink, Summary, check_length,
    exchanged, scheme,
};

/// Reads HMA bank content (JSON Lines) from `input`, handing each content item to `each`.
pub fn read(mut input: impl BufRead, each: &mut Each<'_>) -> Summary {
    let mut sink = Sink::new(each);
    let mut buffer = Vec::new();
    let mut line = 0;
    let mut records = 0;
    loop {
        line += 1;
        let read = match super::read_line(&mut input, &mut buffer) {
            Ok(None) => break,
            Ok(Some(read)) => read,
            Err(error) => {
                sink.fatal(
                    Position {
                        record: records,
                        line,
                    },
                    format!("cannot read: {error}"),
                );
                break;
            }
        };
        let mut bytes = &buffer[..];
        if line == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        if read && bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        records += 1;
        let position = Position {
            record: records,
            line,
        };
        let flow = if !read {
            sink.malformed(
                position,
                format!("longer than {} MiB", MAX_RECORD / (1024 * 1024)),
            )
        } else {
            match content(bytes) {
                Ok((external_id, item)) => sink.record(Record {
                    position,
                    external_id,
                    change: Change::Upsert(item),
                }),
                Err(reason) => sink.malformed(position, reason),
            }
        };
        if flow.is_break() {
            break;
        }
    }
    sink.summary()
}

/// The external id and item of one line.
fn content(bytes: &[u8]) -> Result<(Option<String>, Item), String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        // The line is the record's: only the column says more.
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = text.strip_suffix(&suffix).unwrap_or(&text);
        format!("not JSON: {message} at column {}", e.column())
    })?;
    let Value::Object(object) = value else {
        return Err(format!(
            "expected a bank content object, found {}",
            describe(&value)
        ));
    };
    let external_id = match object.get("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(id_text(id).ok_or_else(|| format!("id: not an id: {}", describe(id)))?),
    };
    let Some(Value::Object(signal_map)) = object.get("signals") else {
        return Err("no \"signals\" object".into());
    };
    let mut signals = Vec::new();
    for (name, value) in signal_map {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Array(_) if name.eq_ignore_ascii_case("vpdq") => value.to_string(),
            other => {
                return Err(format!(
                    "signal {name:?}: expected a string, found {}",
                    describe(other)
                ));
            }
        };
        check_length(name, &text)?;
        signals.push(exchanged(name, &text).map_err(|e| format!("signal {name:?}: {e}"))?);
    }
    if signals.is_empty() {
        return Err("no signals".into());
    }
    signals.sort_by(|a: &ExchangedSignal, b| a.signal_type.cmp(b.signal_type));
    let mut item = Item {
        signals,
        label: None,
        attributes: Vec::new(),
    };
    if let Some(metadata) = object.get("metadata") {
        read_metadata(metadata, &mut item)?;
    }
    Ok((external_id, item))
}

fn read_metadata(metadata: &Value, item: &mut Item) -> Result<(), String> {
    let Value::Object(metadata) = metadata else {
        return Err(format!(
            "metadata: expected an object, found {}",
            describe(metadata)
        ));
    };
    for name in ["content_id", "content_uri"] {
        if let Some(value) = metadata.get(name).and_then(id_text) {
            check_length(name, &value)?;
            item.attributes.push((name.to_owned(), value));
        }
    }
    let Some(Value::Object(extra)) = metadata.get("json") else {
        return Ok(());
    };
    if let Some(label) = extra.get("label").filter(|label| !label.is_null()) {
        item.label = Some(read_label(label)?);
    }
    if let Some(attributes) = extra.get("attributes") {
        let Value::Array(pairs) = attributes else {
            return Err("metadata.json.attributes: expected [name, value] pairs".into());
        };
        for pair in pairs {
            match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(name), Value::String(value)]) => {
                    check_length(name, value)?;
                    item.attributes.push((name.clone(), value.clone()));
                }
                _ => {
                    return Err(format!(
                        "metadata.json.attributes: expected [name, value] pairs, found {}",
                        describe(pair)
                    ));
                }
            }
        }
    }
    Ok(())
}

fn read_label(label: &Value) -> Result<ListLabel, String> {
    let text = |name: &str| match label.get(name) {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(format!(
            "label.{name}: expected a string, found {}",
            describe(other)
        )),
    };
    let scheme_name = text("scheme")?.ok_or("label: no scheme")?;
    let scheme = scheme(&scheme_name).ok_or_else(|| {
        format!("label: unknown scheme {scheme_name:?} (expected industry, uk or vics)")
    })?;
    let value = text("label")?
        .filter(|l| !l.is_empty())
        .ok_or("label: no label")?;
    check_length("label", &value)?;
    Ok(ListLabel {
        scheme,
        profile: text("profile")?,
        label: value,
    })
}

/// Writes HMA bank content that [`read`] reads back: one JSON object a line.
///
/// Signal types are written by Ward's names (`md5`, not `video_md5`: an MD5 is whatever the
/// file is). An item without signals, or with two of one type, is refused (`InvalidInput`)
/// before anything of it is written.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> io::Result<Writer<W>> {
        Ok(Writer { out })
    }

    /// Writes one content item.
    pub fn write(&mut self, item: &Item, external_id: Option<&str>) -> io::Result<()> {
        let refuse = |reason: String| io::Error::new(io::ErrorKind::InvalidInput, reason);
        if item.signals.is_empty() {
            return Err(refuse("an item without signals".into()));
        }
        let mut types = Vec::new();
        for signal in &item.signals {
            if types.contains(&signal.signal_type) {
                return Err(refuse(format!(
                    "HMA bank content holds one {} signal per item",
                    signal.signal_type
                )));
            }
            types.push(signal.signal_type);
        }
        // Written member by member, in HMA's order: `id`, `signals`, `metadata`.
        let mut line = String::from("{");
        if let Some(id) = external_id {
            let id = match id.parse::<u64>() {
                Ok(number) if number.to_string() == id => json!(number),
                _ => json!(id),
            };
            line += &format!("\"id\":{id},");
        }
        let signals: Vec<String> = item
            .signals
            .iter()
            .map(|signal| format!("{}:{}", json!(signal.signal_type), json!(signal.value)))
            .collect();
        line += &format!("\"signals\":{{{}}}", signals.join(","));
        let mut extra = Map::new();
        if let Some(label) = &item.label {
            extra.insert(
                "label".into(),
                json!({"scheme": label.scheme, "profile": label.profile, "label": label.label}),
            );
        }
        if !item.attributes.is_empty() {
            let pairs: Vec<Value> = item
                .attributes
                .iter()
                .map(|(name, value)| json!([name, value]))
                .collect();
            extra.insert("attributes".into(), Value::Array(pairs));
        }
        if !extra.is_empty() {
            line += &format!(",\"metadata\":{}", json!({ "json": extra }));
        }
        line += "}\n";
        self.out.write_all(line.as_bytes())
    }

    /// Ends the content and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
