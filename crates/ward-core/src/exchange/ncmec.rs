//! NCMEC hash-sharing pages (the XML of its v2 `entries` endpoint), read as a stream with
//! quick-xml.
//!
//! The shape, as python-threatexchange's NCMEC client and its test data read it
//! (`python-threatexchange/threatexchange/exchanges/clients/ncmec/hash_api.py` and
//! `…/ncmec/tests/data.py` in facebook/ThreatExchange; NCMEC documents it at
//! `https://report.cybertip.org/hashsharing/v2/documentation.pdf`):
//!
//! ```text
//! <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
//!   <images count="2" maxTimestamp="2017-10-24T15:10:00Z">
//!     <image>
//!       <member id="42">Example Member</member>
//!       <timestamp>2017-10-24T15:00:00Z</timestamp>
//!       <id>image1</id>
//!       <classification>A1</classification>
//!       <fingerprints><md5>…</md5><sha1>…</sha1><pdna>…</pdna></fingerprints>
//!       <feedback>…</feedback>
//!     </image>
//!     <deletedImage><member id="43">…</member><id>image4</id><timestamp>…</timestamp></deletedImage>
//!   </images>
//!   <videos count="2" maxTimestamp="…"><video>…</video><deletedVideo>…</deletedVideo></videos>
//!   <paging><next>/v2/entries?…</next></paging>
//! </queryResult>
//! ```
//!
//! Each `image`, `video`, `deletedImage` and `deletedVideo` in `images` or `videos` is a
//! record, keyed on its `id` (NCMEC's upserts and tombstones are): the deleted ones are
//! [`Change::Delete`]. Fingerprints `md5`, `sha1`, `sha256` and `pdq` are hex, checked and
//! lower-cased; `pdna` is PhotoDNA, kept as given; others (large fingerprints given by
//! reference, `tmk-pdqf`, `videntifier`) are skipped. A `classification` of the industry
//! scheme (A1, A2, B1, B2) is the label; any other is kept as the attribute
//! `classification`. The entry's other child elements with text are attributes under their
//! names (`timestamp`, `member`: dates as RFC 3339), and their XML attributes under
//! `name/@attribute` (`member/@id`); deeper structure (`feedback`) is skipped, as are
//! unknown elements anywhere. Namespaces are ignored: names are matched without prefix.
//!
//! An entry without an id, a fingerprint that is not a hash, or an upsert without a
//! fingerprint is [`RecordError::Malformed`](super::RecordError::Malformed); records are
//! numbered in document order and placed on the line of their start tag. XML that is not
//! well-formed or ends early (a truncated page) ends reading with
//! [`RecordError::Fatal`](super::RecordError::Fatal), after every complete entry before it;
//! so does a root that is not `queryResult` (not an NCMEC page), nesting deeper than 100
//! elements, or an entry longer than 16 MiB. The page's `paging` link and counts are for the
//! connector that fetches pages, and are not read: pages are not in time order, so a
//! connector saves its checkpoint only after the last page.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::input::{MAX_RECORD, Tracked};
use super::{
    Change, Each, Item, ListLabel, Position, Record, Sink, Summary, check_length, dates, exchanged,
};

/// How deep elements may nest.
const MAX_DEPTH: usize = 100;

/// Reads an NCMEC hash-sharing page from `input`, handing each entry to `each`.
pub fn read(input: impl BufRead, each: &mut Each<'_>) -> Summary {
    read_with(input, each, false).0
}

/// What reading a page of the live API found besides its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The page's `paging/next` link (a URL relative to the API's base, unescaped), if any.
    pub next: Option<String>,
}

/// Reads a page of NCMEC's live API: as [`read`], but each entry is keyed on its member and
/// its id (`"<member id>-<entry id>"`, as entry ids are unique only within a member, and as
/// HMA keys them), and the page's `paging/next` link is returned.
pub fn read_page(input: impl BufRead, each: &mut Each<'_>) -> (Summary, PageLinks) {
    read_with(input, each, true)
}

fn read_with(input: impl BufRead, each: &mut Each<'_>, live: bool) -> (Summary, PageLinks) {
    let (tracked, progress) = Tracked::new(input);
    let mut reader = Reader::from_reader(tracked);
    let mut page = Page {
        sink: Sink::new(each),
        stack: Vec::new(),
        records: 0,
        entry: None,
        root_seen: false,
        live,
        next: None,
    };
    let mut buffer = Vec::new();
    loop {
        if page.entry.is_none() {
            progress.reset_budget();
        }
        buffer.clear();
        let event = match reader.read_event_into(&mut buffer) {
            Ok(event) => event,
            Err(error) => {
                let reason = if progress.exceeded() {
                    format!(
                        "an entry is longer than {} MiB; reading stopped",
                        MAX_RECORD / (1024 * 1024)
                    )
                } else if let quick_xml::Error::Io(error) = &error {
                    format!("cannot read: {error}")
                } else {
                    format!("not well-formed XML: {error}")
                };
                page.fatal(progress.line(), reason);
                break;
            }
        };
        let line = progress.line();
        let flow = match event {
            Event::Start(start) => page.start(&start, line, false),
            Event::Empty(start) => page.start(&start, line, true),
            Event::End(_) => page.end(),
            Event::Text(text) => {
                if page.in_next() {
                    match text.unescape() {
                        Ok(text) => page.next.get_or_insert_default().push_str(&text),
                        Err(error) => {
                            page.fatal(line, format!("bad paging link: {error}"));
                            break;
                        }
                    }
                } else if page.capturing() {
                    match text.unescape() {
                        Ok(text) => page.text(&text),
                        Err(error) => page.problem(format!("bad text: {error}")),
                    }
                }
                Ok(())
            }
            Event::CData(data) => {
                if page.capturing() {
                    match std::str::from_utf8(&data) {
                        Ok(text) => page.text(text),
                        Err(_) => page.problem("CDATA that is not UTF-8".into()),
                    }
                }
                Ok(())
            }
            Event::Eof => {
                match page.stack.last() {
                    Some(open) => {
                        let reason = format!("the input ends inside <{open}>: a truncated page");
                        page.fatal(line, reason);
                    }
                    None if !page.root_seen => {
                        page.fatal(line, "no XML document: not an NCMEC page".into());
                    }
                    None => {}
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => Ok(()),
        };
        match flow {
            Ok(()) => {}
            Err(Stop::Stopped) => break,
            Err(Stop::Fatal(reason)) => {
                page.fatal(line, reason);
                break;
            }
        }
    }
    let next = page
        .next
        .take()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    (page.sink.summary(), PageLinks { next })
}

/// Why reading ends early.
enum Stop {
    /// The callback asked to.
    Stopped,
    /// The page cannot be read any further.
    Fatal(String),
}

/// What reading a page knows.
struct Page<'a, 'b> {
    sink: Sink<'a, 'b>,
    /// Local names of the open elements.
    stack: Vec<String>,
    /// Entries started so far.
    records: u64,
    entry: Option<Entry>,
    root_seen: bool,
    /// Reading the live API: entries keyed on member and id, and the next link kept.
    live: bool,
    /// The `paging/next` link's text so far.
    next: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Upsert,
    Delete,
}

/// An entry being read.
struct Entry {
    kind: Kind,
    position: Position,
    /// The stack's length with the entry's element open.
    depth: usize,
    id: Option<String>,
    classification: Option<String>,
    fingerprints: Vec<(String, String)>,
    attributes: Vec<(String, String)>,
    /// Why the entry cannot be a record, if something says so.
    problems: Vec<String>,
    /// The element whose text is being gathered, and the stack's length with it open.
    capture: Option<Capture>,
}

struct Capture {
    /// `Child(name)` or `Fingerprint(name)`.
    target: Target,
    depth: usize,
    text: String,
}

enum Target {
    Child(String),
    Fingerprint(String),
}

impl Page<'_, '_> {
    fn fatal(&mut self, line: u64, reason: String) {
        let position = Position {
            record: self.records,
            line,
        };
        self.sink.fatal(position, reason);
    }

    /// Whether the open element is the page's `queryResult/paging/next` (live pages only).
    fn in_next(&self) -> bool {
        self.live
            && self.entry.is_none()
            && self.stack.len() == 3
            && self.stack[1] == "paging"
            && self.stack[2] == "next"
    }

    fn capturing(&self) -> bool {
        self.entry
            .as_ref()
            .and_then(|entry| entry.capture.as_ref())
            .is_some_and(|capture| capture.depth == self.stack.len())
    }

    fn text(&mut self, text: &str) {
        if let Some(capture) = self.entry.as_mut().and_then(|entry| entry.capture.as_mut()) {
            capture.text.push_str(text);
        }
    }

    fn problem(&mut self, problem: String) {
        if let Some(entry) = self.entry.as_mut() {
            entry.problems.push(problem);
        }
    }

    fn start(&mut self, start: &BytesStart<'_>, line: u64, empty: bool) -> Result<(), Stop> {
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        if self.stack.is_empty() {
            if self.root_seen {
                return Err(Stop::Fatal(format!("<{name}> after the root element")));
            }
            self.root_seen = true;
            if name != "queryResult" {
                return Err(Stop::Fatal(format!(
                    "not an NCMEC hash-sharing page: the root element is <{name}>, not <queryResult>"
                )));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Stop::Fatal(format!(
                "elements nested deeper than {MAX_DEPTH}"
            )));
        }
        let depth = self.stack.len() + 1;
        match self.entry.as_mut() {
            None => {
                let in_list = matches!(
                    self.stack.last().map(String::as_str),
                    Some("images" | "videos")
                );
                let kind = match name.as_str() {
                    "image" | "video" => Some(Kind::Upsert),
                    "deletedImage" | "deletedVideo" => Some(Kind::Delete),
                    _ => None,
                };
                if let (true, Some(kind)) = (in_list, kind) {
                    self.records += 1;
                    self.entry = Some(Entry {
                        kind,
                        position: Position {
                            record: self.records,
                            line,
                        },
                        depth,
                        id: None,
                        classification: None,
                        fingerprints: Vec::new(),
                        attributes: Vec::new(),
                        problems: Vec::new(),
                        capture: None,
                    });
                }
            }
            Some(entry) if depth == entry.depth + 1 => {
                for attribute in start.attributes() {
                    match attribute {
                        Ok(attribute) => {
                            let key = String::from_utf8_lossy(attribute.key.local_name().as_ref())
                                .into_owned();
                            match attribute.unescape_value() {
                                Ok(value) if !value.trim().is_empty() => entry
                                    .attributes
                                    .push((format!("{name}/@{key}"), value.trim().to_owned())),
                                Ok(_) => {}
                                Err(error) => entry.problems.push(format!("{name}: {error}")),
                            }
                        }
                        Err(error) => entry.problems.push(format!("{name}: {error}")),
                    }
                }
                if name != "fingerprints" {
                    entry.capture = Some(Capture {
                        target: Target::Child(name.clone()),
                        depth,
                        text: String::new(),
                    });
                }
            }
            Some(entry)
                if depth == entry.depth + 2
                    && self.stack.last().map(String::as_str) == Some("fingerprints") =>
            {
                entry.capture = Some(Capture {
                    target: Target::Fingerprint(name.clone()),
                    depth,
                    text: String::new(),
                });
            }
            Some(_) => {}
        }
        self.stack.push(name);
        if empty {
            return self.end();
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), Stop> {
        let depth = self.stack.len();
        self.stack.pop();
        let Some(entry) = self.entry.as_mut() else {
            return Ok(());
        };
        if depth == entry.depth {
            let Some(entry) = self.entry.take() else {
                return Ok(());
            };
            let position = entry.position;
            let flow = match finish(entry, self.live) {
                Ok(record) => self.sink.record(record),
                Err(reason) => self.sink.malformed(position, reason),
            };
            return if flow.is_break() {
                Err(Stop::Stopped)
            } else {
                Ok(())
            };
        }
        if let Some(capture) = entry.capture.take_if(|capture| capture.depth == depth) {
            let text = capture.text.trim();
            match capture.target {
                Target::Child(name) => match name.as_str() {
                    "id" => entry.id = Some(text.to_owned()).filter(|id| !id.is_empty()),
                    "classification" => {
                        entry.classification = Some(text.to_owned()).filter(|c| !c.is_empty())
                    }
                    _ if text.is_empty() => {}
                    _ => {
                        let text = dates::normalise(text).unwrap_or_else(|| text.to_owned());
                        entry.attributes.push((name, text));
                    }
                },
                Target::Fingerprint(name) => entry.fingerprints.push((name, text.to_owned())),
            }
        }
        Ok(())
    }
}

/// The record of a complete entry; `live`: keyed on its member and its id.
fn finish(entry: Entry, live: bool) -> Result<Record, String> {
    let Some(mut id) = entry.id else {
        return Err("no id".into());
    };
    if live {
        let member = entry
            .attributes
            .iter()
            .find(|(name, _)| name == "member/@id")
            .map(|(_, value)| value.as_str());
        match member {
            Some(member) => id = format!("{member}-{id}"),
            None => return Err("no member id".into()),
        }
    }
    check_length("id", &id)?;
    if entry.kind == Kind::Delete {
        return Ok(Record {
            position: entry.position,
            external_id: Some(id),
            change: Change::Delete,
        });
    }
    if let Some(problem) = entry.problems.into_iter().next() {
        return Err(problem);
    }
    let mut signals = Vec::new();
    for (name, text) in &entry.fingerprints {
        let signal_type = match name.as_str() {
            "pdna" => "photodna",
            "md5" | "sha1" | "sha256" | "pdq" => name,
            _ => continue,
        };
        if text.is_empty() {
            continue;
        }
        check_length(name, text)?;
        let signal = exchanged(signal_type, text)
            .map_err(|reason| format!("fingerprints/{name}: {reason}"))?;
        if !signals.contains(&signal) {
            signals.push(signal);
        }
    }
    if signals.is_empty() {
        return Err("no fingerprint (md5, sha1, sha256, pdq or pdna)".into());
    }
    let mut attributes = entry.attributes;
    let label = match entry.classification {
        Some(class) if matches!(class.as_str(), "A1" | "A2" | "B1" | "B2") => Some(ListLabel {
            scheme: "industry",
            profile: None,
            label: class,
        }),
        Some(other) => {
            attributes.push(("classification".into(), other));
            None
        }
        None => None,
    };
    for (name, value) in &attributes {
        check_length(name, value)?;
    }
    Ok(Record {
        position: entry.position,
        external_id: Some(id),
        change: Change::Upsert(Item {
            signals,
            label,
            attributes,
        }),
    })
}

/// NCMEC's XML namespace.
const NAMESPACE: &str = "https://hashsharing.ncmec.org/hashsharing/v2";

/// A reason NCMEC offers for negative feedback (`GET /v2/feedback/{TYPE}/reasons`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackReason {
    pub guid: String,
    pub name: String,
}

/// The reasons of an `<availableFeedbackReasons>` document: every `<reason guid=… name=…>`
/// element, at any depth (in NCMEC's sample the list is the root, which the reference
/// client misses), matched on local names. At most 1,000; a reason without a guid is
/// skipped.
pub fn read_feedback_reasons(body: &[u8]) -> Result<Vec<FeedbackReason>, String> {
    let mut reader = Reader::from_reader(body);
    let mut buffer = Vec::new();
    let mut reasons = Vec::new();
    let mut root = false;
    loop {
        buffer.clear();
        match reader.read_event_into(&mut buffer) {
            Ok(Event::Start(start) | Event::Empty(start)) => {
                root = true;
                if start.local_name().as_ref() != b"reason" {
                    continue;
                }
                let (mut guid, mut name) = (None, None);
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| e.to_string())?;
                    let value = attribute.unescape_value().map_err(|e| e.to_string())?;
                    match attribute.key.local_name().as_ref() {
                        b"guid" => guid = Some(value.trim().to_owned()),
                        b"name" => name = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
                if let Some(guid) = guid.filter(|g| !g.is_empty() && g.len() <= 100) {
                    if reasons.len() == 1_000 {
                        return Err("more than 1,000 feedback reasons".into());
                    }
                    reasons.push(FeedbackReason {
                        guid,
                        name: name.unwrap_or_default(),
                    });
                }
            }
            Ok(Event::Eof) if root => return Ok(reasons),
            Ok(Event::Eof) => return Err("no XML element".into()),
            Ok(_) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// The body of NCMEC's feedback on one fingerprint of an entry: an upvote (`affirmative`),
/// or a downvote (`negative`) giving the reason of `guid`.
pub fn feedback_body(downvote_reason: Option<&str>) -> String {
    let vote = match downvote_reason {
        None => "<affirmative/>".to_owned(),
        Some(guid) => format!(
            "<negative><reasonIds><guid>{}</guid></reasonIds></negative>",
            quick_xml::escape::escape(guid)
        ),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <feedbackSubmission xmlns=\"{NAMESPACE}\">{vote}</feedbackSubmission>"
    )
}

#[cfg(test)]
mod feedback_tests {
    use super::*;

    #[test]
    fn reasons_are_read_at_any_depth() {
        let reason = |guid: &str, name: &str| FeedbackReason {
            guid: guid.into(),
            name: name.into(),
        };
        for (body, expected) in [
            // NCMEC's sample: the list is the root.
            (
                r#"<availableFeedbackReasons xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><reason guid="g-1" name="Not CSAM" type="Md5"/></availableFeedbackReasons>"#,
                vec![reason("g-1", "Not CSAM")],
            ),
            // As the reference client expects it: below the root; prefixed.
            (
                r#"<r><ns:availableFeedbackReasons xmlns:ns="x"><ns:reason guid=" g-1 " name="A"/><ns:reason guid="g-2" name="B &amp; C"></ns:reason><reason name="no guid"/></ns:availableFeedbackReasons></r>"#,
                vec![reason("g-1", "A"), reason("g-2", "B & C")],
            ),
            ("<availableFeedbackReasons/>", vec![]),
        ] {
            assert_eq!(
                read_feedback_reasons(body.as_bytes()).unwrap(),
                expected,
                "{body}"
            );
        }
        for bad in ["", "not xml", "<a><reason guid=\"x></a>"] {
            assert!(read_feedback_reasons(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn feedback_bodies_vote() {
        let up = feedback_body(None);
        assert!(up.ends_with(&format!(
            "<feedbackSubmission xmlns=\"{NAMESPACE}\"><affirmative/></feedbackSubmission>"
        )));
        let down = feedback_body(Some("0000-1<"));
        assert!(
            down.contains("<negative><reasonIds><guid>0000-1&lt;</guid></reasonIds></negative>")
        );
    }
}
