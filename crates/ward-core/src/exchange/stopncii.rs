//! StopNCII.org hash pages (the JSON its `FetchHashes` API answers), read as a stream.
//!
//! The shape, as python-threatexchange's StopNCII client reads it
//! (`python-threatexchange/threatexchange/exchanges/clients/stopncii/api.py` in
//! facebook/ThreatExchange):
//!
//! ```text
//! {"count": 2, "nextPageToken": "…", "nextSetTimestamp": 1625175071, "hasMoreRecords": true,
//!  "hashRecords": [{"lastModtimestamp": 1625167804, "signalType": "ImagePDQ",
//!                   "hashValue": "2afc…", "hashStatus": "Active",
//!                   "caseNumbers": {"2766…": "Active"},
//!                   "CSPFeedbacks": [{"source": "…", "feedbackValue": "Blocked", "tags": […]}],
//!                   "hashRegions": ["UK"]}]}
//! ```
//!
//! Signal types are `ImagePDQ` (PDQ) and `VideoMD5` (MD5; `PDQ` and `MD5` are read too);
//! StopNCII's others (`VideoTMK`, `Text`, `URL`) are not signals Ward holds, and such records
//! are [`RecordError::Malformed`], saying so. A `hashStatus` of `Withdrawn` or `Deleted`
//! means the person withdrew the hash: the record is a [`Change::Delete`] and the copy must
//! go. Other statuses (`Received`, `Active`) are upserts.
//!
//! StopNCII has no id of its own for a record: a later page's record for the same hash
//! replaces the earlier one. So the external id is the hash value itself, lower-case (PDQ and
//! MD5 hashes never share a length, so the type need not be part of it), and deletes are
//! keyed on it too. The record's other members are kept as attributes under their own names:
//! `lastModtimestamp` as an RFC 3339 date, `hashStatus` as given, and objects and arrays
//! (`caseNumbers`, `CSPFeedbacks`, `hashRegions`) as compact JSON. The page's own members
//! that say what follows it (`nextPageToken`, `nextSetTimestamp`, `hasMoreRecords`) are
//! read by [`read_page`] for the connector that fetches pages; [`read`] ignores them.
//!
//! Records are numbered by their place in `hashRecords`; broken JSON and records over 16 MiB
//! end reading as for [`super::vics`].

use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer};
use serde_json::Value;

use super::json_stream::{self, Document, Fields, FieldsSeed, Stream, describe, scalar_text};
use super::{
    Change, Each, Item, Position, Record, RecordError, Summary, check_length, dates, typed,
};
use crate::lists::SignalType;

/// Reads a StopNCII page from `input`, handing each hash record to `each`.
pub fn read(input: impl BufRead, each: &mut Each<'_>) -> Summary {
    json_stream::run(input, each, StopNcii::default())
}

/// As [`read`], answering what the page says follows it too.
pub fn read_page(input: impl BufRead, each: &mut Each<'_>) -> (Summary, PageInfo) {
    let (summary, doc) = json_stream::run_keeping(input, each, StopNcii::default());
    (summary, doc.page)
}

/// What a `FetchHashes` page says of the pages after it. Members that are missing stay
/// `None`; one of the wrong type is `problem` (the connector takes the page as unreadable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// `nextPageToken`: the cursor to the next page (with the same `startTimestamp`).
    pub next_page_token: Option<String>,
    /// `nextSetTimestamp`: "the best timestamp to store as a checkpoint" (Unix seconds).
    pub next_set_timestamp: Option<i64>,
    /// `hasMoreRecords`: false on the last page.
    pub has_more_records: Option<bool>,
    /// The first of those members whose value is not of its type.
    pub problem: Option<String>,
}

#[derive(Default)]
struct StopNcii {
    page: PageInfo,
}

impl Document for StopNcii {
    const RECORDS: &'static str = "hashRecords";
    const WHAT: &'static str = "a StopNCII page";

    fn wants(key: &str) -> bool {
        matches!(key, "nextPageToken" | "nextSetTimestamp" | "hasMoreRecords")
    }

    fn member(stream: &mut Stream<'_, '_, Self>, key: &str, value: Value) {
        let page = &mut stream.doc.page;
        let wrong = match (key, value) {
            (_, Value::Null) => None,
            ("nextPageToken", Value::String(token)) => {
                page.next_page_token = Some(token).filter(|t| !t.is_empty());
                None
            }
            ("nextSetTimestamp", Value::Number(n)) if n.as_i64().is_some() => {
                page.next_set_timestamp = n.as_i64();
                None
            }
            ("hasMoreRecords", Value::Bool(more)) => {
                page.has_more_records = Some(more);
                None
            }
            (key, other) => Some(format!("{key}: unexpected {}", describe(&other))),
        };
        if page.problem.is_none() {
            page.problem = wrong;
        }
    }

    fn element<'de, De: Deserializer<'de>>(
        stream: &mut Stream<'_, '_, Self>,
        de: De,
    ) -> Result<(), De::Error> {
        let position = stream.start_record();
        let record = match FieldsSeed.deserialize(de)? {
            Fields::Object(fields) => hash_record(fields, position),
            Fields::Other(what) => Err(format!("expected a hash record, found {what}")),
        };
        stream.give(record.map_err(|reason| RecordError::Malformed { position, reason }))
    }
}

fn hash_record(fields: Vec<(String, Value)>, position: Position) -> Result<Record, String> {
    let member = |wanted: &str| {
        fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value)
    };
    let signal_type = match member("signalType") {
        Some(Value::String(name)) => match name.trim().to_ascii_lowercase().as_str() {
            "imagepdq" | "pdq" => SignalType::Pdq,
            "videomd5" | "md5" => SignalType::Md5,
            _ => {
                return Err(format!(
                    "StopNCII signal type {:?} is not one Ward holds (ImagePDQ, VideoMD5)",
                    name.trim()
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "signalType: expected a string, found {}",
                describe(other)
            ));
        }
        None => return Err("no signalType".into()),
    };
    let hash_value = match member("hashValue") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.trim(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Err("no hashValue".into()),
        Some(other) => {
            return Err(format!(
                "hashValue: expected a string, found {}",
                describe(other)
            ));
        }
    };
    check_length("hashValue", hash_value)?;
    let withdrawn = matches!(
        member("hashStatus")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref(),
        Some("withdrawn" | "deleted")
    );
    if withdrawn {
        return Ok(Record {
            position,
            external_id: Some(hash_value.to_ascii_lowercase()),
            change: Change::Delete,
        });
    }
    let signal = typed(signal_type, hash_value)?;
    let mut attributes = Vec::new();
    for (name, value) in &fields {
        if ["signalType", "hashValue"]
            .iter()
            .any(|taken| name.eq_ignore_ascii_case(taken))
        {
            continue;
        }
        let text = match value {
            Value::Number(seconds) if name.eq_ignore_ascii_case("lastModtimestamp") => seconds
                .as_i64()
                .and_then(dates::from_unix_seconds)
                .or_else(|| scalar_text(value)),
            Value::Array(items) if items.is_empty() => None,
            Value::Object(members) if members.is_empty() => None,
            Value::Array(_) | Value::Object(_) => Some(value.to_string()),
            _ => scalar_text(value),
        };
        if let Some(text) = text {
            check_length(name, &text)?;
            attributes.push((name.clone(), text));
        }
    }
    Ok(Record {
        position,
        external_id: Some(signal.value.clone()),
        change: Change::Upsert(Item {
            signals: vec![signal],
            label: None,
            attributes,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page's records (external id and whether it is a delete) and what it says follows.
    fn check(page: &str, records: &[(&str, bool)], info: PageInfo) {
        let mut got = Vec::new();
        let (_, read) = read_page(page.as_bytes(), &mut |record| {
            if let Ok(record) = record {
                got.push((record.external_id.unwrap(), record.change == Change::Delete));
            }
            std::ops::ControlFlow::Continue(())
        });
        let got: Vec<(&str, bool)> = got.iter().map(|(id, d)| (id.as_str(), *d)).collect();
        assert_eq!((got.as_slice(), read), (records, info), "{page}");
    }

    #[test]
    fn pages_say_what_follows() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let record = |status: &str| {
            format!(
                r#"{{"signalType": "VideoMD5", "hashValue": "{}", "hashStatus": "{status}"}}"#,
                md5.to_uppercase()
            )
        };
        check(
            &format!(
                r#"{{"count": 2, "nextSetTimestamp": 17, "nextPageToken": "abc",
                    "hasMoreRecords": true, "hashRecords": [{}, {}]}}"#,
                record("Active"),
                record("Withdrawn")
            ),
            &[(md5, false), (md5, true)],
            PageInfo {
                next_page_token: Some("abc".into()),
                next_set_timestamp: Some(17),
                has_more_records: Some(true),
                problem: None,
            },
        );
        check(
            r#"{"hashRecords": [], "nextPageToken": null, "hasMoreRecords": false}"#,
            &[],
            PageInfo {
                has_more_records: Some(false),
                ..PageInfo::default()
            },
        );
        check(
            r#"{"hasMoreRecords": "no", "nextSetTimestamp": 1.5, "hashRecords": []}"#,
            &[],
            PageInfo {
                problem: Some("hasMoreRecords: unexpected \"no\"".into()),
                ..PageInfo::default()
            },
        );
    }
}
