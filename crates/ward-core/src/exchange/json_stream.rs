//! Streaming a JSON document whose records are one array of a top-level object (VICS's
//! `value`, StopNCII's `hashRecords`): the object's members are walked as they come and the
//! array an element at a time, so memory holds one record, never the file.
//!
//! serde_json reads the input a byte at a time through [`Tracked`], which counts lines and
//! caps each record at [`MAX_RECORD`] bytes. Its `SeqAccess` peeks the first byte of an
//! element before handing it to our seed, so the line [`Progress`] reports there is the line
//! on which the element starts.

use std::fmt;
use std::io::BufRead;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::dates;
use super::input::{MAX_RECORD, Progress, Tracked};
use super::{Each, Position, Record, RecordError, Sink, Summary};

/// One kind of document: its records' array, and what to do with each element.
pub trait Document: Sized {
    /// The top-level member that holds the records.
    const RECORDS: &'static str;
    /// What the document is, for error messages ("a VICS document").
    const WHAT: &'static str;

    /// Whether a top-level member other than the records is wanted (read whole, so only
    /// small members should be).
    fn wants(_key: &str) -> bool {
        false
    }

    /// A wanted top-level member.
    fn member(_stream: &mut Stream<'_, '_, Self>, _key: &str, _value: Value) {}

    /// Reads one element of the records' array from `de`, handing what it makes to the
    /// stream's sink.
    fn element<'de, De: Deserializer<'de>>(
        stream: &mut Stream<'_, '_, Self>,
        de: De,
    ) -> Result<(), De::Error>;
}

/// The state of one reading: where it is, and where records go.
pub struct Stream<'a, 'b, D> {
    pub sink: Sink<'a, 'b>,
    pub progress: Rc<Progress>,
    /// Records started so far.
    pub records: u64,
    /// The document's own state.
    pub doc: D,
}

impl<D> Stream<'_, '_, D> {
    /// Starts the next record: numbers it, gives it a fresh byte budget, and says where it
    /// starts. Called as an element's deserialisation begins.
    pub fn start_record(&mut self) -> Position {
        self.records += 1;
        self.progress.reset_budget();
        Position {
            record: self.records,
            line: self.progress.line(),
        }
    }

    /// Hands a record or an error over; an error stops deserialising when the callback
    /// asks to stop (the sink remembers why).
    pub fn give<E: de::Error>(&mut self, item: Result<Record, RecordError>) -> Result<(), E> {
        if self.sink.give(item).is_break() {
            return Err(E::custom("reading stopped"));
        }
        Ok(())
    }

    pub fn malformed<E: de::Error>(&mut self, position: Position, reason: String) -> Result<(), E> {
        self.give(Err(RecordError::Malformed { position, reason }))
    }
}

/// Reads `input` as a document of kind `D`.
pub fn run<D: Document>(input: impl BufRead, each: &mut Each<'_>, doc: D) -> Summary {
    run_keeping(input, each, doc).0
}

/// As [`run`], answering the document's state too (what its wanted members said).
pub fn run_keeping<D: Document>(input: impl BufRead, each: &mut Each<'_>, doc: D) -> (Summary, D) {
    let (tracked, progress) = Tracked::new(input);
    let mut de = serde_json::Deserializer::from_reader(tracked);
    let mut stream = Stream {
        sink: Sink::new(each),
        progress,
        records: 0,
        doc,
    };
    let result = TopSeed(&mut stream)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if stream.sink.stopped {
        return (stream.sink.summary(), stream.doc);
    }
    let position = |line: u64| Position {
        record: stream.records,
        line,
    };
    match result {
        Ok(()) => {}
        Err(_) if stream.progress.exceeded() => {
            let position = position(stream.progress.line());
            stream.sink.fatal(
                position,
                format!(
                    "a record is longer than {} MiB; reading stopped",
                    MAX_RECORD / (1024 * 1024)
                ),
            );
        }
        Err(error) => {
            let line = match error.line() {
                0 => stream.progress.line(),
                line => line as u64,
            };
            let reason = if error.is_io() {
                format!("cannot read: {error}")
            } else {
                error.to_string()
            };
            stream.sink.fatal(position(line), reason);
        }
    }
    (stream.sink.summary(), stream.doc)
}

/// The top-level object.
struct TopSeed<'x, 'a, 'b, D>(&'x mut Stream<'a, 'b, D>);

impl<'de, D: Document> DeserializeSeed<'de> for TopSeed<'_, '_, '_, D> {
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<(), De::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, D: Document> Visitor<'de> for TopSeed<'_, '_, '_, D> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: a JSON object with a {:?} array",
            D::WHAT,
            D::RECORDS
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let stream = self.0;
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            // Members between records are bounded like records.
            stream.progress.reset_budget();
            if key == D::RECORDS && !found {
                found = true;
                map.next_value_seed(ArraySeed(&mut *stream))?;
                stream.progress.reset_budget();
            } else if D::wants(&key) {
                let value: Value = map.next_value()?;
                D::member(stream, &key, value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !found {
            return Err(de::Error::custom(format_args!(
                "not {}: no {:?} array",
                D::WHAT,
                D::RECORDS
            )));
        }
        Ok(())
    }
}

/// The records' array.
struct ArraySeed<'x, 'a, 'b, D>(&'x mut Stream<'a, 'b, D>);

impl<'de, D: Document> DeserializeSeed<'de> for ArraySeed<'_, '_, '_, D> {
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<(), De::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de, D: Document> Visitor<'de> for ArraySeed<'_, '_, '_, D> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of records in {:?}", D::RECORDS)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(ElementSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One element of the records' array, handed to the document.
struct ElementSeed<'x, 'a, 'b, D>(&'x mut Stream<'a, 'b, D>);

impl<'de, D: Document> DeserializeSeed<'de> for ElementSeed<'_, '_, '_, D> {
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<(), De::Error> {
        D::element(self.0, de)
    }
}

/// A JSON value read as the members of an object, in order and with duplicates, or what
/// else it was.
#[derive(Debug)]
pub enum Fields {
    Object(Vec<(String, Value)>),
    /// Not an object: what it was ("an array").
    Other(&'static str),
}

/// Reads one value as [`Fields`].
pub struct FieldsSeed;

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Fields;

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<Fields, De::Error> {
        de.deserialize_any(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            fields.push((key, value));
        }
        Ok(Fields::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Fields::Other("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Fields, E> {
        Ok(Fields::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Fields, E> {
        Ok(Fields::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Fields, E> {
        Ok(Fields::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Fields, E> {
        Ok(Fields::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields, E> {
        Ok(Fields::Other("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Fields, E> {
        Ok(Fields::Other("null"))
    }
}

/// A scalar as text, the way attributes hold values: strings trimmed, with `true`/`false`
/// in any case as lower case and dates as RFC 3339 ([`dates`]); numbers as JSON writes them;
/// booleans as `true`/`false`. `None` for null, an empty string, an array or an object.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() {
                None
            } else if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
                Some(text.to_ascii_lowercase())
            } else {
                Some(dates::normalise(text).unwrap_or_else(|| text.to_owned()))
            }
        }
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// An identifier: a string (trimmed, not empty) or an integer, as text.
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A short description of a value for error messages: the text of a short scalar, or its
/// kind.
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(text) if text.chars().count() <= 70 => format!("{text:?}"),
        Value::String(_) => "a long string".into(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
