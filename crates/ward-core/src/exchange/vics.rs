//! Project VIC's VICS JSON (OData): reading `#Media` and `#Cases` exports as a stream, and
//! writing `#Media` exports.
//!
//! The shapes, as Project VIC's own and third-party exporters write VICS 2.0:
//!
//! ```text
//! {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
//!  "value": [{"MediaID": 1, "Category": 1, "MD5": "ADEB…", "SHA1": "2B03…", "PhotoDNA": "…",
//!             "MediaSize": 2835, "DateUpdated": "2023-06-07T02:31:49.8300Z",
//!             "IsPrecategorized": "true", "VictimIdentified": "false", "Series": "…", "Tags": […],
//!             "AlternativeHashes": [{"HashName": "SHA256", "HashValue": "…"}], …}]}
//!
//! {"@odata.context": "…/2.0.xml/UK/$metadata#Cases",
//!  "value": [{"CaseID": "…", "CaseNumber": "…", …, "Media": [{…media as above…}]}]}
//! ```
//!
//! VICS 1.x files name the context `odata.metadata` (`…/DataModels/1.3.xml#Cases`); it is
//! read the same way. The categorisation profile is the path segment between the data model
//! and `$metadata` (`US`, `UK`, `Default`, `CUSTOM`): a file's categories mean what its
//! profile says, so each label records it ([`ListLabel::profile`]); a context without one
//! gives `None`. The context is read where exporters write it, before `value`.
//!
//! Each media entry is a record: `MediaID` is its external id, `Category` its label
//! (`scheme` `vics`, as given: `0` too), and `MD5`, `SHA1`, `SHA256`, `PhotoDNA` and the
//! `AlternativeHashes` named so (or `PDQ`) its signals, hex in either case, duplicates
//! dropped. Member names are matched in any case. Other members whose values are scalars,
//! or arrays of scalars (`Tags`, as compact JSON), are kept as attributes under their own
//! names, with booleans written as strings (`"True"`) made `true`/`false` and dates made
//! RFC 3339 (from ISO 8601 forms, .NET's `/Date(…)/` and US `5/1/2019 10:00:00 AM`); empty
//! strings and nulls are dropped. Nested records (`MediaFiles`, `Exifs`: paths and metadata
//! of seized files) describe evidence, not the hash, and are not kept, nor are OData
//! annotations (`…@odata.navigationLinkUrl`). A media entry of a case also carries the
//! case's `CaseID` when it comes before `Media`.
//!
//! A media entry without a hash, with a hash that is not one, or with a field longer than
//! [`super::MAX_FIELD`] bytes is [`RecordError::Malformed`]; its record number is its place
//! among the file's media entries and its line the one on which it starts. Broken JSON ends
//! reading with [`RecordError::Fatal`] at the line serde_json reports, and so does a record
//! longer than 16 MiB ([`super::MAX_RECORD`]), after every record before it.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::json_stream::{
    self, Document, Fields, FieldsSeed, Stream, describe, id_text, scalar_text,
};
use super::{
    Change, Each, ExchangedSignal, Item, ListLabel, PHOTODNA, Position, Record, RecordError,
    Summary, check_length, exchanged,
};

/// The data model URL the writer names; the profile and `$metadata#Media` follow it.
pub const DATA_MODEL: &str = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml";

/// Reads a VICS JSON export (`#Media` or `#Cases`) from `input`, handing each media entry to
/// `each`.
pub fn read(input: impl BufRead, each: &mut Each<'_>) -> Summary {
    json_stream::run(input, each, Vics::default())
}

/// The categorisation profile named by an OData context: `US` in
/// `http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media`.
pub fn profile(context: &str) -> Option<String> {
    let (model, _) = context.split_once("/$metadata")?;
    let (_, profile) = model.rsplit_once(".xml/")?;
    let profile = profile.trim();
    (!profile.is_empty() && !profile.contains('/')).then(|| profile.to_owned())
}

#[derive(Debug, Default)]
struct Vics {
    profile: Option<String>,
    /// The `CaseID` of the case whose media are being read.
    case_id: Option<String>,
}

impl Document for Vics {
    const RECORDS: &'static str = "value";
    const WHAT: &'static str = "a VICS document";

    fn wants(key: &str) -> bool {
        key == "@odata.context" || key == "odata.metadata"
    }

    fn member(stream: &mut Stream<'_, '_, Self>, _key: &str, value: Value) {
        if let Value::String(context) = value {
            stream.doc.profile = profile(&context);
        }
    }

    fn element<'de, De: Deserializer<'de>>(
        stream: &mut Stream<'_, '_, Self>,
        de: De,
    ) -> Result<(), De::Error> {
        // Numbered as a media entry until it shows itself a case, so that an error inside
        // it names the record being read.
        let position = stream.start_record();
        de.deserialize_any(ValueElement { stream, position })
    }
}

/// An element of `value`: a media entry, or a case with its media.
struct ValueElement<'x, 'a, 'b> {
    stream: &'x mut Stream<'a, 'b, Vics>,
    /// Its place and line as a media entry.
    position: Position,
}

impl ValueElement<'_, '_, '_> {
    fn not_an_object<E: de::Error>(self, what: &str) -> Result<(), E> {
        self.stream.malformed(
            self.position,
            format!("expected a media object, found {what}"),
        )
    }
}

impl<'de> Visitor<'de> for ValueElement<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a media entry or a case")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Vec::new();
        let mut case = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Media" && !case {
                case = true;
                // A case is not a record; its media are.
                self.stream.records -= 1;
                self.stream.doc.case_id = fields
                    .iter()
                    .find(|(name, _): &&(String, Value)| name.eq_ignore_ascii_case("CaseID"))
                    .and_then(|(_, value)| id_text(value));
                map.next_value_seed(MediaArray(&mut *self.stream))?;
                self.stream.doc.case_id = None;
                self.stream.progress.reset_budget();
            } else if case {
                map.next_value::<IgnoredAny>()?;
            } else {
                let value: Value = map.next_value()?;
                fields.push((key, value));
            }
        }
        if case {
            return Ok(());
        }
        let record = media(fields, &self.stream.doc, self.position);
        self.stream.give(record)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }
}

/// A case's `Media`: its entries are records. Anything but an array is ignored.
struct MediaArray<'x, 'a, 'b>(&'x mut Stream<'a, 'b, Vics>);

impl<'de> DeserializeSeed<'de> for MediaArray<'_, '_, '_> {
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<(), De::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MediaArray<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a case's media")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(MediaEntry(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One media entry of a case.
struct MediaEntry<'x, 'a, 'b>(&'x mut Stream<'a, 'b, Vics>);

impl<'de> DeserializeSeed<'de> for MediaEntry<'_, '_, '_> {
    type Value = ();

    fn deserialize<De: Deserializer<'de>>(self, de: De) -> Result<(), De::Error> {
        let stream = self.0;
        let position = stream.start_record();
        let record = match FieldsSeed.deserialize(de)? {
            Fields::Object(fields) => media(fields, &stream.doc, position),
            Fields::Other(what) => Err(RecordError::Malformed {
                position,
                reason: format!("expected a media object, found {what}"),
            }),
        };
        stream.give(record)
    }
}

/// The record of a media entry's members.
fn media(
    fields: Vec<(String, Value)>,
    vics: &Vics,
    position: Position,
) -> Result<Record, RecordError> {
    media_item(fields, vics)
        .map_err(|reason| RecordError::Malformed { position, reason })
        .map(|(external_id, item)| Record {
            position,
            external_id,
            change: Change::Upsert(item),
        })
}

fn media_item(fields: Vec<(String, Value)>, vics: &Vics) -> Result<(Option<String>, Item), String> {
    let mut external_id = None;
    let mut category = None;
    let mut signals: Vec<ExchangedSignal> = Vec::new();
    let mut attributes = Vec::new();
    if let Some(case_id) = &vics.case_id {
        attributes.push(("CaseID".to_owned(), case_id.clone()));
    }
    let mut add = |signal: ExchangedSignal| {
        if !signals.contains(&signal) {
            signals.push(signal);
        }
    };
    for (key, value) in fields {
        let name = key.to_ascii_lowercase();
        match name.as_str() {
            "mediaid" => external_id = id_text(&value),
            "category" => category = id_text(&value),
            "md5" | "sha1" | "sha256" | "photodna" => {
                if let Some(signal) = hash(&key, &name, &value)? {
                    add(signal);
                }
            }
            "alternativehashes" => {
                for alternative in value.as_array().map(Vec::as_slice).unwrap_or_default() {
                    let member = |wanted: &str| {
                        alternative.as_object().and_then(|object| {
                            object
                                .iter()
                                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
                                .map(|(_, value)| value)
                        })
                    };
                    let Some(hash_name) = member("HashName").and_then(Value::as_str) else {
                        continue;
                    };
                    let hash_name = hash_name.trim().to_ascii_lowercase();
                    if !matches!(
                        hash_name.as_str(),
                        "md5" | "sha1" | "sha256" | "pdq" | "photodna"
                    ) {
                        continue;
                    }
                    let value = member("HashValue").unwrap_or(&Value::Null);
                    if let Some(signal) = hash(&key, &hash_name, value)? {
                        add(signal);
                    }
                }
            }
            _ if key.contains('@') || name.starts_with("odata.") => {}
            _ => {
                let text = match &value {
                    Value::Array(items) if !items.is_empty() && items.iter().all(is_scalar) => {
                        Some(value.to_string())
                    }
                    _ => scalar_text(&value),
                };
                if let Some(text) = text {
                    check_length(&key, &text)?;
                    attributes.push((key, text));
                }
            }
        }
    }
    if signals.is_empty() {
        return Err("no hash (MD5, SHA1, SHA256 or PhotoDNA)".into());
    }
    if let Some(label) = &category {
        check_length("Category", label)?;
    }
    let label = category.map(|label| ListLabel {
        scheme: "vics",
        profile: vics.profile.clone(),
        label,
    });
    Ok((
        external_id,
        Item {
            signals,
            label,
            attributes,
        },
    ))
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// The signal of a hash member (`signal_type` lower-case), `None` when it is empty or null.
fn hash(key: &str, signal_type: &str, value: &Value) -> Result<Option<ExchangedSignal>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        Value::String(text) => {
            check_length(key, text)?;
            exchanged(signal_type, text)
                .map(Some)
                .map_err(|reason| format!("{key}: {reason}"))
        }
        other => Err(format!(
            "{key}: expected a string, found {}",
            describe(other)
        )),
    }
}

/// Writes a VICS 2.0 `#Media` export that [`read`] reads back.
///
/// Each item is a media entry: its external id as `MediaID` (a number when it is one), its
/// label as `Category` when it is a VICS label of the writer's profile (labels of other
/// schemes or profiles are not written: a category means nothing under another profile),
/// the first MD5, SHA-1 and PhotoDNA as `MD5`, `SHA1` (upper-case hex, as VICS writes them)
/// and `PhotoDNA`, other signals (SHA-256, PDQ, further hashes) as `AlternativeHashes`, and
/// the attributes as string members, but for those whose names VICS uses for the above.
/// VICS cannot carry a vPDQ signal: an item with one is refused (`InvalidInput`), before
/// anything of it is written.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    profile: Option<String>,
    first: bool,
}

impl<W: Write> Writer<W> {
    /// Starts an export whose categories are those of `profile` (`US`, `UK`, `Default`…);
    /// `None` names none.
    pub fn new(mut out: W, profile: Option<&str>) -> io::Result<Writer<W>> {
        if let Some(profile) = profile
            && (profile.trim().is_empty()
                || profile.contains(['/', '"', '\\'])
                || profile != profile.trim())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a VICS profile name: {profile:?}"),
            ));
        }
        let context = match profile {
            Some(profile) => format!("{DATA_MODEL}/{profile}/$metadata#Media"),
            None => format!("{DATA_MODEL}/$metadata#Media"),
        };
        write!(out, "{{\"@odata.context\":{},\"value\":[", json(&context))?;
        Ok(Writer {
            out,
            profile: profile.map(str::to_owned),
            first: true,
        })
    }

    /// Writes one media entry.
    pub fn write(&mut self, item: &Item, external_id: Option<&str>) -> io::Result<()> {
        let entry = entry(item, external_id, self.profile.as_deref())?;
        let separator = if self.first { "\n" } else { ",\n" };
        self.first = false;
        write!(self.out, "{separator}{entry}")
    }

    /// Ends the export and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The JSON text of a string.
fn json(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A number when the text is a plain non-negative integer, a string otherwise.
fn number_or_string(text: &str) -> String {
    let plain = !text.is_empty()
        && text.len() <= 19
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<u64>() {
        Ok(_) if plain => text.to_owned(),
        _ => json(text),
    }
}

/// Member names the writer gives meaning to, which attributes may not take.
const RESERVED: [&str; 8] = [
    "mediaid",
    "category",
    "md5",
    "sha1",
    "sha256",
    "photodna",
    "alternativehashes",
    "media",
];

fn entry(item: &Item, external_id: Option<&str>, profile: Option<&str>) -> io::Result<String> {
    let refuse = |reason: String| io::Error::new(io::ErrorKind::InvalidInput, reason);
    if item.signals.is_empty() {
        return Err(refuse("an item without signals".into()));
    }
    let mut members = Vec::new();
    if let Some(id) = external_id {
        members.push(format!("\"MediaID\":{}", number_or_string(id)));
    }
    if let Some(label) = &item.label
        && label.scheme == "vics"
        && label.profile.as_deref() == profile
    {
        members.push(format!("\"Category\":{}", number_or_string(&label.label)));
    }
    let mut alternatives = Vec::new();
    let mut top = [("MD5", "md5"), ("SHA1", "sha1"), ("PhotoDNA", PHOTODNA)]
        .map(|(member, signal_type)| (member, signal_type, false));
    for signal in &item.signals {
        let value = match signal.signal_type {
            "md5" | "sha1" | "sha256" => signal.value.to_ascii_uppercase(),
            "pdq" | PHOTODNA => signal.value.clone(),
            other => return Err(refuse(format!("VICS cannot carry a {other} signal"))),
        };
        match top
            .iter_mut()
            .find(|(_, signal_type, written)| *signal_type == signal.signal_type && !written)
        {
            Some((member, _, written)) => {
                *written = true;
                members.push(format!("\"{member}\":{}", json(&value)));
            }
            None => {
                let name = match signal.signal_type {
                    "md5" => "MD5",
                    "sha1" => "SHA1",
                    "sha256" => "SHA256",
                    "pdq" => "PDQ",
                    _ => "PhotoDNA",
                };
                alternatives.push(format!(
                    "{{\"HashName\":\"{name}\",\"HashValue\":{}}}",
                    json(&value)
                ));
            }
        }
    }
    for (name, value) in &item.attributes {
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str())
            || name.contains('@')
            || lower.starts_with("odata.")
            || name.trim().is_empty()
        {
            continue;
        }
        members.push(format!("{}:{}", json(name), json(value)));
    }
    if !alternatives.is_empty() {
        members.push(format!(
            "\"AlternativeHashes\":[{}]",
            alternatives.join(",")
        ));
    }
    Ok(format!("{{{}}}", members.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_from_contexts() {
        for (context, expected) in [
            (
                "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
                Some("US"),
            ),
            (
                "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases",
                Some("CUSTOM"),
            ),
            (
                "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/$metadata#Media",
                None,
            ),
            (
                "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
                None,
            ),
            ("", None),
        ] {
            assert_eq!(profile(context).as_deref(), expected, "{context}");
        }
    }

    #[test]
    fn ids_as_numbers_when_they_are() {
        for (text, expected) in [
            ("17", "17"),
            ("0", "0"),
            ("017", "\"017\""),
            ("-1", "\"-1\""),
            ("abc", "\"abc\""),
            ("99999999999999999999", "\"99999999999999999999\""),
            ("", "\"\""),
        ] {
            assert_eq!(number_or_string(text), expected, "{text}");
        }
    }
}
