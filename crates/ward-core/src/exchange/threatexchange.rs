//! Meta ThreatExchange `/threat_updates` pages (Graph API JSON): each update of a privacy
//! group's indicators as a [`Record`] keyed on `TYPE:indicator`, with the opinions its
//! descriptors and reactions give kept as attributes.
//!
//! The shape, as python-threatexchange's ThreatExchange client and exchange read it
//! (`python-threatexchange/threatexchange/exchanges/clients/fb_threatexchange/` and
//! `…/exchanges/impl/fb_threatexchange_api.py` in facebook/ThreatExchange):
//!
//! ```text
//! {"data": [{"id": "1000…1", "indicator": "e0e0…", "type": "HASH_PDQ",
//!            "last_updated": 1700000300, "should_delete": false,
//!            "descriptors": {"data": [{"id": "2000…1", "owner": {"id": "3000…1"},
//!                                      "status": "MALICIOUS", "tags": ["example_label"],
//!                                      "reactions": [{"key": "HELPFUL", "value": "3000…2"}]}]}}],
//!  "paging": {"next": "https://graph.facebook.com/v21.0/4000…1/threat_updates/?…&after=…"}}
//! ```
//!
//! Types: `HASH_PDQ` is PDQ, `HASH_VIDEO_MD5` MD5 and `HASH_VIDEO_SHA256` SHA-256;
//! `HASH_MD5` and `HASH_SHA256` are a video's only with an opinion tagged exactly
//! `media_type_video` (the reference tests the opinion's tag as a *substring* of
//! `media_type_video`, so that a tag `media` qualifies too: Ward compares them equal), and
//! then only those opinions are kept. Other types (URLs, text, TMK…) are not signals Ward
//! holds: [`Read::Unsupported`].
//!
//! Opinions, as the reference makes them: one per descriptor owner (a later descriptor of
//! the same owner replaces the earlier one; one without an owner is skipped): `MALICIOUS`
//! is positive, `NON_MALICIOUS` negative, any other status an investigation seed, with the
//! descriptor's tags (a list of strings or Graph's `{"data": [{"text"}]}`; `null` is no
//! tags, where the reference crashes). Reactions add implicit opinions, without tags, for
//! apps that have no descriptor: `HELPFUL` positive (overriding), `DISAGREE_WITH_TAGS`
//! negative (only where the app has none yet). The aggregate is HMA's: equal categories
//! stay, negative with anything else is disputed, otherwise the higher wins. Each opinion
//! keeps its owner's app id; which are the fetching app's own (the reference's `is_mine`)
//! is left to the reader of the attributes.
//!
//! A record is a [`Change::Delete`] when `should_delete` is true, when it has no
//! `descriptors` (deletions were once signalled only so), or when no opinion results.
//! Upserts keep `type`, `id` (the indicator's), `last_updated` (RFC 3339), `category` (the
//! aggregate: `positive`, `negative`, `seed` or `disputed`), `tags` (their union, JSON) and
//! `opinions` (JSON) as attributes.
//!
//! A page is read whole (a page holds a hundred updates or so); an element that is not a
//! readable update is [`Read::Malformed`] and the rest of the page is kept; a body that is
//! not a JSON object with a `data` array cannot be read at all.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Change, Item, Position, Record, check_length, dates, typed};
use crate::lists::SignalType;

/// The opinion tag that makes a `HASH_MD5` or `HASH_SHA256` a video's.
const VIDEO_TAG: &str = "media_type_video";

/// A `/threat_updates` page.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The page's updates, in order.
    pub updates: Vec<Update>,
    /// `paging.next` as given (an absolute URL carrying the query again).
    pub next: Option<String>,
}

/// One element of a page's `data`.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// Its `last_updated` (Unix seconds), when it has one that reads.
    pub last_updated: Option<i64>,
    pub read: Read,
}

/// What an element of a page is to Ward.
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    Record(Record),
    /// An indicator of a type Ward holds no signal of (named).
    Unsupported(String),
    /// Not a readable update: why.
    Malformed(String),
}

/// Reads a page, or says why it cannot be read at all.
pub fn read_page(body: &[u8]) -> Result<Page, String> {
    let page: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let Value::Object(mut page) = page else {
        return Err("not a threat_updates page: not a JSON object".into());
    };
    let data = match page.remove("data") {
        Some(Value::Array(data)) => data,
        _ => return Err("not a threat_updates page: no \"data\" array".into()),
    };
    let next = match page.get("paging").and_then(|p| p.get("next")) {
        None | Some(Value::Null) => None,
        Some(Value::String(next)) => Some(next.clone()).filter(|n| !n.is_empty()),
        Some(_) => return Err("paging.next is not a string".into()),
    };
    let updates = data
        .iter()
        .enumerate()
        .map(|(at, element)| {
            let position = Position {
                record: at as u64 + 1,
                line: 0,
            };
            update(element, position)
        })
        .collect();
    Ok(Page { updates, next })
}

fn update(element: &Value, position: Position) -> Update {
    let last_updated = element.get("last_updated").and_then(|t| match t {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    // An update without a time still applies; it just moves no checkpoint.
    let read = record(element, position).unwrap_or_else(Read::Malformed);
    Update { last_updated, read }
}

fn record(element: &Value, position: Position) -> Result<Read, String> {
    let Value::Object(fields) = element else {
        return Err("an update is a JSON object".into());
    };
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => {
            check_length(name, text)?;
            Ok(text.trim())
        }
        _ => Err(format!("no {name}")),
    };
    let indicator_type = text("type")?;
    let indicator = text("indicator")?;
    let (signal_type, tag) = match indicator_type {
        "HASH_PDQ" => (SignalType::Pdq, None),
        "HASH_VIDEO_MD5" => (SignalType::Md5, None),
        "HASH_MD5" => (SignalType::Md5, Some(VIDEO_TAG)),
        "HASH_VIDEO_SHA256" => (SignalType::Sha256, None),
        "HASH_SHA256" => (SignalType::Sha256, Some(VIDEO_TAG)),
        other => return Ok(Read::Unsupported(other.to_owned())),
    };
    let external_id = format!("{indicator_type}:{}", indicator.to_ascii_lowercase());
    let delete = || {
        Ok(Read::Record(Record {
            position,
            external_id: Some(external_id.clone()),
            change: Change::Delete,
        }))
    };
    let should_delete = match fields.get("should_delete") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("should_delete is not a boolean".into()),
    };
    let descriptors = match fields.get("descriptors") {
        None | Some(Value::Null) => return delete(),
        Some(descriptors) => descriptors,
    };
    if should_delete {
        return delete();
    }
    let mut opinions = opinions(descriptors)?;
    if let Some(tag) = tag {
        opinions.retain(|o| o.tags.contains(tag));
    }
    if opinions.is_empty() {
        return delete();
    }
    let signal = typed(signal_type, indicator)?;
    let mut attributes = vec![("type".to_owned(), indicator_type.to_owned())];
    if let Some(id) = fields.get("id").and_then(id_text) {
        attributes.push(("id".into(), id));
    }
    if let Some(when) = element
        .get("last_updated")
        .and_then(Value::as_i64)
        .and_then(dates::from_unix_seconds)
    {
        attributes.push(("last_updated".into(), when));
    }
    let aggregate = opinions
        .iter()
        .map(|o| o.category)
        .reduce(Category::aggregate)
        .expect("at least one opinion");
    attributes.push(("category".into(), aggregate.name().into()));
    let tags: BTreeSet<&str> = opinions
        .iter()
        .flat_map(|o| o.tags.iter().map(String::as_str))
        .collect();
    if !tags.is_empty() {
        attributes.push(("tags".into(), serde_json::json!(tags).to_string()));
    }
    let rendered: Vec<Value> = opinions.iter().map(Opinion::json).collect();
    let rendered = Value::Array(rendered).to_string();
    check_length("opinions", &rendered)?;
    attributes.push(("opinions".into(), rendered));
    Ok(Read::Record(Record {
        position,
        external_id: Some(external_id),
        change: Change::Upsert(Item {
            signals: vec![signal],
            label: None,
            attributes,
        }),
    }))
}

/// An opinion's category (python-threatexchange's numbers, disputed being an aggregate's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    Negative = 0,
    Seed = 1,
    Positive = 2,
    Disputed = 3,
}

impl Category {
    fn name(self) -> &'static str {
        match self {
            Category::Negative => "negative",
            Category::Seed => "seed",
            Category::Positive => "positive",
            Category::Disputed => "disputed",
        }
    }

    /// HMA's aggregation of two categories.
    fn aggregate(self, other: Category) -> Category {
        let (lo, hi) = (self.min(other), self.max(other));
        if lo == hi {
            lo
        } else if lo == Category::Negative {
            Category::Disputed
        } else {
            hi
        }
    }
}

/// An app's opinion of an indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Opinion {
    owner: String,
    category: Category,
    tags: BTreeSet<String>,
    /// The descriptor it comes from; `None` for one a reaction implies.
    descriptor: Option<String>,
    /// The reaction it comes from, for an implicit one.
    reaction: Option<&'static str>,
}

impl Opinion {
    fn json(&self) -> Value {
        let mut json = serde_json::json!({
            "owner": self.owner,
            "category": self.category.name(),
            "tags": self.tags,
        });
        if let Some(descriptor) = &self.descriptor {
            json["descriptor"] = Value::String(descriptor.clone());
        }
        if let Some(reaction) = self.reaction {
            json["reaction"] = Value::String(reaction.into());
        }
        json
    }
}

/// The opinions of an update's `descriptors`, ordered by owner.
fn opinions(descriptors: &Value) -> Result<Vec<Opinion>, String> {
    let list = match descriptors.get("data") {
        Some(Value::Array(list)) => list,
        _ => return Err("descriptors: expected {\"data\": [...]}".into()),
    };
    let mut owned: BTreeMap<String, Opinion> = BTreeMap::new();
    let mut implied: BTreeMap<String, Opinion> = BTreeMap::new();
    for descriptor in list {
        if !descriptor.is_object() {
            return Err("a descriptor is a JSON object".into());
        }
        // Graph API sometimes hides a descriptor's owner: such a descriptor says nothing.
        if let Some(owner) = descriptor
            .get("owner")
            .and_then(|o| o.get("id"))
            .and_then(id_text)
        {
            let category = match descriptor.get("status").and_then(Value::as_str) {
                Some("MALICIOUS") => Category::Positive,
                Some("NON_MALICIOUS") => Category::Negative,
                _ => Category::Seed,
            };
            let opinion = Opinion {
                owner: owner.clone(),
                category,
                tags: tags(descriptor.get("tags"))?,
                descriptor: descriptor.get("id").and_then(id_text),
                reaction: None,
            };
            owned.insert(owner, opinion);
        }
        let reactions = match descriptor.get("reactions") {
            None | Some(Value::Null) => continue,
            Some(Value::Array(reactions)) => reactions,
            Some(_) => return Err("reactions: expected a list".into()),
        };
        for reaction in reactions {
            let (key, category) = match reaction.get("key").and_then(Value::as_str) {
                Some("HELPFUL") => ("HELPFUL", Category::Positive),
                Some("DISAGREE_WITH_TAGS") => ("DISAGREE_WITH_TAGS", Category::Negative),
                _ => continue,
            };
            let apps = reaction.get("value").and_then(Value::as_str).unwrap_or("");
            for app in apps.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                let opinion = Opinion {
                    owner: app.to_owned(),
                    category,
                    tags: BTreeSet::new(),
                    descriptor: None,
                    reaction: Some(key),
                };
                if category == Category::Positive {
                    implied.insert(app.to_owned(), opinion);
                } else {
                    implied.entry(app.to_owned()).or_insert(opinion);
                }
            }
        }
    }
    for (app, opinion) in implied {
        owned.entry(app).or_insert(opinion);
    }
    Ok(owned.into_values().collect())
}

/// A descriptor's tags: a list of strings, Graph's `{"data": [{"text": …}]}`, or none.
fn tags(value: Option<&Value>) -> Result<BTreeSet<String>, String> {
    let list = match value {
        None | Some(Value::Null) => return Ok(BTreeSet::new()),
        Some(Value::Array(list)) => list,
        Some(Value::Object(object)) => match object.get("data") {
            Some(Value::Array(list)) => list,
            None | Some(Value::Null) => return Ok(BTreeSet::new()),
            Some(_) => return Err("tags: expected {\"data\": [...]}".into()),
        },
        Some(_) => return Err("tags: expected a list".into()),
    };
    let mut tags = BTreeSet::new();
    for tag in list {
        let text = match tag {
            Value::String(text) => text.as_str(),
            Value::Object(tag) => match tag.get("text") {
                Some(Value::String(text)) => text.as_str(),
                _ => return Err("a tag without text".into()),
            },
            _ => return Err("a tag is a string or {\"text\": …}".into()),
        };
        check_length("tags", text)?;
        tags.insert(text.to_owned());
    }
    Ok(tags)
}

/// An id as Graph gives it: a string of digits, or a number.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDQ: &str = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0";
    const MD5: &str = "0123456789abcdef0123456789abcdef";

    fn descriptor(owner: &str, status: &str, tags: Value) -> Value {
        serde_json::json!({"id": format!("d{owner}"), "owner": {"id": owner},
                           "status": status, "tags": tags})
    }

    /// What one element reads as: `delete`, `unsupported`, `malformed: …`, or the upsert's
    /// signal and its `category` and `tags` attributes.
    fn check(element: Value, expected: &str) {
        let body = serde_json::json!({"data": [element]}).to_string();
        let page = read_page(body.as_bytes()).unwrap();
        let got = match &page.updates[0].read {
            Read::Unsupported(_) => "unsupported".to_owned(),
            Read::Malformed(reason) => format!("malformed: {reason}"),
            Read::Record(Record {
                change: Change::Delete,
                ..
            }) => "delete".to_owned(),
            Read::Record(Record {
                change: Change::Upsert(item),
                ..
            }) => {
                let attribute = |name: &str| {
                    item.attributes
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("", |(_, v)| v.as_str())
                        .to_owned()
                };
                format!(
                    "{}:{} {} {}",
                    item.signals[0].signal_type,
                    &item.signals[0].value[..4],
                    attribute("category"),
                    attribute("tags")
                )
            }
        };
        assert_eq!(got, expected, "{element}");
    }

    fn update(kind: &str, indicator: &str, descriptors: Vec<Value>) -> Value {
        serde_json::json!({"id": "1", "type": kind, "indicator": indicator,
                           "last_updated": 1_700_000_300, "should_delete": false,
                           "descriptors": {"data": descriptors}})
    }

    #[test]
    fn updates_read_as_the_reference_means_them() {
        let positive = descriptor("30", "MALICIOUS", serde_json::json!(["a"]));
        let negative = descriptor("31", "NON_MALICIOUS", Value::Null);
        let seed = descriptor(
            "32",
            "UNKNOWN",
            serde_json::json!({"data": [{"text": "b"}]}),
        );
        let video = descriptor("33", "MALICIOUS", serde_json::json!([VIDEO_TAG]));
        let near = descriptor("34", "MALICIOUS", serde_json::json!(["media"]));
        for (element, expected) in [
            (
                update("HASH_PDQ", PDQ, vec![positive.clone()]),
                "pdq:e0e0 positive [\"a\"]",
            ),
            (
                update("HASH_PDQ", &PDQ.to_uppercase(), vec![seed.clone()]),
                "pdq:e0e0 seed [\"b\"]",
            ),
            (
                update("HASH_PDQ", PDQ, vec![positive.clone(), seed.clone()]),
                "pdq:e0e0 positive [\"a\",\"b\"]",
            ),
            (
                update("HASH_PDQ", PDQ, vec![positive.clone(), negative.clone()]),
                "pdq:e0e0 disputed [\"a\"]",
            ),
            (
                update("HASH_VIDEO_MD5", MD5, vec![negative.clone()]),
                "md5:0123 negative ",
            ),
            (
                update("HASH_MD5", MD5, vec![video.clone(), positive.clone()]),
                "md5:0123 positive [\"media_type_video\"]",
            ),
            // Not a video's without the exact tag (the reference's substring test says yes).
            (update("HASH_MD5", MD5, vec![near.clone()]), "delete"),
            (update("HASH_PDQ", PDQ, vec![]), "delete"),
            (
                update("URI", "https://example.org", vec![positive.clone()]),
                "unsupported",
            ),
            (
                update("HASH_PDQ", "abc", vec![positive.clone()]),
                "malformed: invalid pdq: expected 64 hex digits, got 3",
            ),
            (
                serde_json::json!({"type": "HASH_PDQ", "indicator": PDQ, "last_updated": 5,
                                   "should_delete": true}),
                "delete",
            ),
            // No descriptors is a deletion (issue #834).
            (
                serde_json::json!({"type": "HASH_PDQ", "indicator": PDQ, "last_updated": "5"}),
                "delete",
            ),
            (
                serde_json::json!({"type": "HASH_PDQ", "indicator": PDQ, "should_delete": true}),
                "delete",
            ),
            (
                serde_json::json!({"type": "HASH_PDQ"}),
                "malformed: no indicator",
            ),
            (
                serde_json::json!([1]),
                "malformed: an update is a JSON object",
            ),
        ] {
            check(element, expected);
        }
    }

    #[test]
    fn reactions_imply_opinions_for_apps_without_descriptors() {
        let mut owned = descriptor("30", "UNKNOWN", Value::Null);
        owned["reactions"] = serde_json::json!([
            {"key": "DISAGREE_WITH_TAGS", "value": "40,41"},
            {"key": "HELPFUL", "value": "41,30"},
            {"key": "SAW_THIS_TOO", "value": "42"},
        ]);
        let body = serde_json::json!({"data": [update("HASH_PDQ", PDQ, vec![owned])]});
        let page = read_page(body.to_string().as_bytes()).unwrap();
        let Read::Record(Record {
            change: Change::Upsert(item),
            external_id,
            ..
        }) = &page.updates[0].read
        else {
            panic!("{page:?}")
        };
        assert_eq!(external_id.as_deref(), Some(&*format!("HASH_PDQ:{PDQ}")));
        let opinions = &item
            .attributes
            .iter()
            .find(|(n, _)| n == "opinions")
            .unwrap()
            .1;
        let opinions: Value = serde_json::from_str(opinions).unwrap();
        assert_eq!(
            opinions,
            serde_json::json!([
                {"owner": "30", "category": "seed", "tags": [], "descriptor": "d30"},
                {"owner": "40", "category": "negative", "tags": [],
                 "reaction": "DISAGREE_WITH_TAGS"},
                {"owner": "41", "category": "positive", "tags": [], "reaction": "HELPFUL"},
            ])
        );
    }

    #[test]
    fn pages_say_what_follows() {
        let page = read_page(br#"{"data": [], "paging": {"next": "https://x/y?after=1"}}"#);
        assert_eq!(
            page.unwrap(),
            Page {
                updates: Vec::new(),
                next: Some("https://x/y?after=1".into())
            }
        );
        assert_eq!(read_page(br#"{"data": []}"#).unwrap().next, None);
        for broken in [&b"{\"data\": [1,"[..], b"[]", b"{\"error\": {}}"] {
            assert!(read_page(broken).is_err());
        }
    }
}
