//! Referral documents: content referred to law enforcement or a hotline (a series, or items
//! chosen one by one), written as Ward's referral JSON or as a Project VIC (VICS) `#Media`
//! export.
//!
//! A [`Referral`] holds, for each item, its signals, list label and assessment, provenance,
//! when it was first and last seen, and the reported URLs related to it with the reports
//! that named them; a [`ReferralSubject`] header says what is referred when it is more than
//! a set of items (a series, its name, whether its victim or offender is identified, to whom
//! and when it was referred before). The store gathers it; this module only writes it.
//!
//! **Ward's referral JSON** ([`write_json`]), version [`VERSION`]:
//!
//! ```text
//! {"format": "ward-referral", "version": 1,
//!  "target": "series:7",                    what the audit log names as exported
//!  "exported_at": "2026-11-28T19:36:46.123Z", "exported_by": "key:12",
//!  "subject": null | {"kind": "series", "id": "7", "name": …, "victim_identified": true|false|null,
//!              "offender_identified": …, "referred_to": …, "referred_at": …},
//!  "items": [{"content_id": 12, "external_id": "m-1" | null, "bank": "HOTLINE",
//!             "enabled": true,
//!             "signals": [{"signal_type": "pdq", "signal": "…"}, …],   every type, vPDQ too
//!             "categories": null | {"age_group", "activity", "uk", "industry"},   the
//!                                   analyst's facts and the labels derived from them
//!             "label": null | {"scheme", "profile", "label"},   the list's label as given
//!             "attributes": [["Series", "…"], …],               the list's other fields
//!             "provenance": {"source": "…", "added_at": "…"},
//!             "first_seen": "…", "last_seen": "…",
//!             "urls": [{"url", "host", "state", "matched", "added", "reports",
//!                       "first_reported_at", "last_reported_at", "fetched_at",
//!                       "assessed_at", "removed_at", "media_type", "sha256",
//!                       "signals": […], "filed": [{"reference", "country", "language",
//!                       "content_kind", "filed_at"}]}]}]}
//! ```
//!
//! Times are RFC 3339 in UTC; absent ones are `null`. What a report holds of its reporter
//! (e-mail, description) is never part of a referral.
//!
//! **VICS** ([`write_vics`]) goes through [`super::vics::Writer`], so [`super::vics::read`]
//! reads it back. Each item is a media entry with Ward's content id as `MediaID`; its MD5,
//! SHA-1, PhotoDNA, SHA-256 and PDQ as the VICS writer places them; its `Category` when its
//! list label is a VICS label of the document's profile (the profile of the first item with
//! a VICS label): a category is never derived from another scheme or from the assessment,
//! since VICS categories mean what a profile says. A series' name is written as `Series`
//! and its flags as `VictimIdentified` and `OffenderIdentified` (over what the list gave);
//! first and last seen and the related URLs go in `Comments`, after any comments the list
//! gave. VICS has no place for vPDQ: vPDQ signals are left out, and an item with nothing
//! else is left out of the document ([`VicsSummary::omitted`]); Ward's JSON carries them.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::vics;
use super::{ExchangedSignal, Item};
use crate::categories::Assessment;

/// The version of Ward's referral JSON that [`write_json`] writes.
pub const VERSION: u32 = 1;
/// The `format` member of Ward's referral JSON.
pub const FORMAT: &str = "ward-referral";
/// Related URLs named in a VICS entry's `Comments`; the rest are counted.
const URLS_IN_COMMENTS: usize = 20;

/// A referral to write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Referral {
    /// What is referred, as the audit log names it (`content:12,13`, `series:7`).
    pub target: String,
    /// What the items are, when more than a set of items.
    pub subject: Option<ReferralSubject>,
    /// RFC 3339.
    pub exported_at: String,
    /// Who exported it, as the audit log names them (`key:12`, `cli:ward referral`).
    pub exported_by: String,
    pub items: Vec<ReferralItem>,
}

/// What a referral's items are: a series (or any other group the caller names), with what
/// is known of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferralSubject {
    /// `series`, or another kind of group.
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    /// `None` when nobody has said.
    pub victim_identified: Option<bool>,
    pub offender_identified: Option<bool>,
    /// Whom it was referred to before, and when (RFC 3339).
    pub referred_to: Option<String>,
    pub referred_at: Option<String>,
}

/// One referred content item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferralItem {
    /// Ward's content id.
    pub content_id: i64,
    /// The id the list it came from gives it.
    pub external_id: Option<String>,
    /// The name of its bank.
    pub bank: String,
    pub enabled: bool,
    /// Its signals (every type), the list's label as given, the list's other fields.
    pub item: Item,
    /// The analyst's facts, from which each scheme's label derives.
    pub assessment: Option<Assessment>,
    /// Where it came from (`api`, `import:FILE`, `report:url:3`).
    pub source: String,
    /// RFC 3339, as the other times.
    pub added_at: String,
    pub first_seen: String,
    pub last_seen: String,
    pub urls: Vec<ReferralUrl>,
}

/// A reported URL related to a referred item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferralUrl {
    pub url: String,
    pub host: String,
    /// Where the hotline's work on it stands (`known`, `assessed`, `noticed`, `removed`…).
    pub state: String,
    /// It served the item when fetched.
    pub matched: bool,
    /// An analyst added what it served as the item.
    pub added: bool,
    /// How many reports named it.
    pub reports: u32,
    pub first_reported_at: String,
    pub last_reported_at: String,
    pub fetched_at: Option<String>,
    pub assessed_at: Option<String>,
    pub removed_at: Option<String>,
    pub media_type: Option<String>,
    pub sha256: Option<String>,
    /// The signals of what it served.
    pub signals: Vec<ExchangedSignal>,
    /// The reports that named it, oldest first.
    pub filed: Vec<ReferralReport>,
}

/// What a referral carries of a report: nothing of the reporter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferralReport {
    pub reference: String,
    pub country: String,
    pub language: String,
    pub content_kind: String,
    pub filed_at: String,
}

/// What [`write_vics`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VicsSummary {
    /// Media entries written.
    pub written: u64,
    /// Content ids of items left out: VICS cannot carry any of their signals (vPDQ alone).
    pub omitted: Vec<i64>,
}

/// Writes `referral` as Ward's referral JSON (pretty-printed, with a final newline).
pub fn write_json(referral: &Referral, mut out: impl Write) -> io::Result<()> {
    let document = json!({
        "format": FORMAT,
        "version": VERSION,
        "target": referral.target,
        "exported_at": referral.exported_at,
        "exported_by": referral.exported_by,
        "subject": referral.subject.as_ref().map(subject_json),
        "items": referral.items.iter().map(item_json).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut out, &document)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes `referral` as a VICS 2.0 `#Media` export (see the module's documentation).
pub fn write_vics(referral: &Referral, out: impl Write) -> io::Result<VicsSummary> {
    let profile = referral
        .items
        .iter()
        .filter_map(|i| i.item.label.as_ref())
        .find(|label| label.scheme == "vics")
        .and_then(|label| label.profile.clone());
    // A profile the writer would refuse (a name it cannot put in the context) is named as
    // none; the categories of that profile are then not written.
    let profile = profile.filter(|p| {
        !p.trim().is_empty() && !p.contains(['/', '"', '\\']) && p.as_str() == p.trim()
    });
    let mut writer = vics::Writer::new(out, profile.as_deref())?;
    let mut summary = VicsSummary::default();
    for item in &referral.items {
        let entry = vics_item(item, referral.subject.as_ref());
        if entry.signals.is_empty() {
            summary.omitted.push(item.content_id);
            continue;
        }
        writer.write(&entry, Some(&item.content_id.to_string()))?;
        summary.written += 1;
    }
    writer.finish()?;
    Ok(summary)
}

fn subject_json(subject: &ReferralSubject) -> Value {
    json!({
        "kind": subject.kind,
        "id": subject.id,
        "name": subject.name,
        "victim_identified": subject.victim_identified,
        "offender_identified": subject.offender_identified,
        "referred_to": subject.referred_to,
        "referred_at": subject.referred_at,
    })
}

fn signals_json(signals: &[ExchangedSignal]) -> Vec<Value> {
    signals
        .iter()
        .map(|s| json!({"signal_type": s.signal_type, "signal": s.value}))
        .collect()
}

fn item_json(item: &ReferralItem) -> Value {
    let categories = item.assessment.map(|a| {
        json!({
            "age_group": a.age_group.name(),
            "activity": a.activity.name(),
            "uk": a.uk().name(),
            "industry": a.industry().map(|c| c.name()),
        })
    });
    let label = item
        .item
        .label
        .as_ref()
        .map(|l| json!({"scheme": l.scheme, "profile": l.profile, "label": l.label}));
    json!({
        "content_id": item.content_id,
        "external_id": item.external_id,
        "bank": item.bank,
        "enabled": item.enabled,
        "signals": signals_json(&item.item.signals),
        "categories": categories,
        "label": label,
        "attributes": item.item.attributes,
        "provenance": {"source": item.source, "added_at": item.added_at},
        "first_seen": item.first_seen,
        "last_seen": item.last_seen,
        "urls": item.urls.iter().map(url_json).collect::<Vec<_>>(),
    })
}

fn url_json(url: &ReferralUrl) -> Value {
    let filed: Vec<Value> = url
        .filed
        .iter()
        .map(|r| {
            json!({
                "reference": r.reference,
                "country": r.country,
                "language": r.language,
                "content_kind": r.content_kind,
                "filed_at": r.filed_at,
            })
        })
        .collect();
    json!({
        "url": url.url,
        "host": url.host,
        "state": url.state,
        "matched": url.matched,
        "added": url.added,
        "reports": url.reports,
        "first_reported_at": url.first_reported_at,
        "last_reported_at": url.last_reported_at,
        "fetched_at": url.fetched_at,
        "assessed_at": url.assessed_at,
        "removed_at": url.removed_at,
        "media_type": url.media_type,
        "sha256": url.sha256,
        "signals": signals_json(&url.signals),
        "filed": filed,
    })
}

/// An item as a VICS media entry carries it: no vPDQ, the subject's name and flags, and
/// first and last seen and the URLs in `Comments`.
fn vics_item(item: &ReferralItem, subject: Option<&ReferralSubject>) -> Item {
    let signals = item
        .item
        .signals
        .iter()
        .filter(|s| s.signal_type != "vpdq")
        .cloned()
        .collect();
    let mut attributes = item.item.attributes.clone();
    let mut set = |name: &str, value: String| {
        attributes.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        attributes.push((name.to_owned(), value));
    };
    if let Some(subject) = subject {
        if subject.kind == "series" {
            let name = subject
                .name
                .clone()
                .unwrap_or_else(|| format!("series {}", subject.id));
            set("Series", name);
        }
        if let Some(identified) = subject.victim_identified {
            set("VictimIdentified", identified.to_string());
        }
        if let Some(identified) = subject.offender_identified {
            set("OffenderIdentified", identified.to_string());
        }
    }
    let given = item
        .item
        .attributes
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Comments"))
        .map(|(_, v)| v.clone());
    let mut comments = given.map(|c| format!("{c}\n")).unwrap_or_default();
    comments += &format!(
        "First seen {}, last seen {} (Ward content {}).",
        item.first_seen, item.last_seen, item.content_id
    );
    for url in item.urls.iter().take(URLS_IN_COMMENTS) {
        comments += &format!(
            "\nReported URL: {} ({}; reported {} time{}, first {}, last {})",
            url.url,
            url.state,
            url.reports,
            if url.reports == 1 { "" } else { "s" },
            url.first_reported_at,
            url.last_reported_at
        );
    }
    if item.urls.len() > URLS_IN_COMMENTS {
        comments += &format!(
            "\n{} more reported URLs (in Ward's referral JSON).",
            item.urls.len() - URLS_IN_COMMENTS
        );
    }
    set("Comments", comments);
    Item {
        signals,
        label: item.item.label.clone(),
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use super::*;
    use crate::categories::{Activity, AgeGroup};
    use crate::exchange::{Change, ListLabel, Record};

    fn signal(signal_type: &'static str, value: &str) -> ExchangedSignal {
        ExchangedSignal {
            signal_type,
            value: value.to_owned(),
        }
    }

    fn sample() -> Referral {
        let label = |profile: &str, label: &str| ListLabel {
            scheme: "vics",
            profile: Some(profile.to_owned()),
            label: label.to_owned(),
        };
        let image = ReferralItem {
            content_id: 12,
            external_id: Some("m-1".into()),
            bank: "HOTLINE".into(),
            enabled: true,
            item: Item {
                signals: vec![
                    signal("pdq", &"f8".repeat(32)),
                    signal("md5", "d41d8cd98f00b204e9800998ecf8427e"),
                    signal("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
                    signal("sha256", &"ab".repeat(32)),
                ],
                label: Some(label("US", "1")),
                attributes: vec![
                    ("Series".into(), "as the list named it".into()),
                    ("Comments".into(), "from the list".into()),
                ],
            },
            assessment: Some(Assessment {
                age_group: AgeGroup::Prepubescent,
                activity: Activity::NonPenetrative,
            }),
            source: "import:list.json".into(),
            added_at: "2026-01-01T00:00:00.000Z".into(),
            first_seen: "2026-01-01T00:00:00.000Z".into(),
            last_seen: "2026-02-01T10:00:00.000Z".into(),
            urls: vec![ReferralUrl {
                url: "https://a.example/1.jpg".into(),
                host: "a.example".into(),
                state: "known".into(),
                matched: true,
                added: false,
                reports: 2,
                first_reported_at: "2026-01-05T00:00:00.000Z".into(),
                last_reported_at: "2026-02-01T00:00:00.000Z".into(),
                fetched_at: Some("2026-02-01T10:00:00.000Z".into()),
                assessed_at: Some("2026-02-01T10:00:00.000Z".into()),
                removed_at: None,
                media_type: Some("image/jpeg".into()),
                sha256: Some("cd".repeat(32)),
                signals: vec![signal("pdq", &"f8".repeat(32))],
                filed: vec![ReferralReport {
                    reference: "R-ABCDEFGHJKMN".into(),
                    country: "gb".into(),
                    language: "en".into(),
                    content_kind: "images".into(),
                    filed_at: "2026-01-05T00:00:00.000Z".into(),
                }],
            }],
        };
        let other_profile = ReferralItem {
            content_id: 13,
            item: Item {
                signals: vec![signal("md5", "00112233445566778899aabbccddeeff")],
                label: Some(label("UK", "2")),
                attributes: Vec::new(),
            },
            ..image.clone()
        };
        let video = ReferralItem {
            content_id: 14,
            item: Item {
                signals: vec![signal("vpdq", "[\"x\"]")],
                label: None,
                attributes: Vec::new(),
            },
            urls: Vec::new(),
            ..image.clone()
        };
        let video_with_md5 = ReferralItem {
            content_id: 15,
            item: Item {
                signals: vec![
                    signal("vpdq", "[\"x\"]"),
                    signal("md5", "ffeeddccbbaa99887766554433221100"),
                ],
                label: None,
                attributes: Vec::new(),
            },
            urls: Vec::new(),
            ..image.clone()
        };
        Referral {
            target: "series:7".into(),
            subject: Some(ReferralSubject {
                kind: "series".into(),
                id: "7".into(),
                name: Some("Benign test series".into()),
                victim_identified: Some(true),
                offender_identified: None,
                referred_to: Some("a police unit".into()),
                referred_at: Some("2026-02-02T00:00:00.000Z".into()),
            }),
            exported_at: "2026-02-03T00:00:00.000Z".into(),
            exported_by: "key:3".into(),
            items: vec![image, other_profile, video, video_with_md5],
        }
    }

    fn read_vics(text: &[u8]) -> Vec<Record> {
        let mut records = Vec::new();
        let summary = vics::read(text, &mut |record| {
            records.push(record.expect("a good record"));
            ControlFlow::Continue(())
        });
        assert!(!summary.fatal && summary.malformed == 0, "{summary:?}");
        records
    }

    #[test]
    fn vics_reads_back_with_the_same_signals_and_categories() {
        let referral = sample();
        let mut out = Vec::new();
        let summary = write_vics(&referral, &mut out).unwrap();
        assert_eq!(
            summary,
            VicsSummary {
                written: 3,
                omitted: vec![14]
            }
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.contains("2.0.xml/US/$metadata#Media"), "{text}");
        let records = read_vics(&out);
        let ids: Vec<Option<&str>> = records.iter().map(|r| r.external_id.as_deref()).collect();
        assert_eq!(ids, [Some("12"), Some("13"), Some("15")]);
        let items: Vec<&Item> = records
            .iter()
            .map(|r| match &r.change {
                Change::Upsert(item) => item,
                Change::Delete => panic!("an upsert"),
            })
            .collect();
        let set = |signals: &[ExchangedSignal]| {
            let mut sorted: Vec<(&str, String)> = signals
                .iter()
                .map(|s| (s.signal_type, s.value.clone()))
                .collect();
            sorted.sort_unstable();
            sorted
        };
        assert_eq!(set(&items[0].signals), set(&referral.items[0].item.signals));
        assert_eq!(items[0].label, referral.items[0].item.label);
        assert_eq!(set(&items[1].signals), set(&referral.items[1].item.signals));
        assert_eq!(
            items[1].label, None,
            "a category of another profile is not written"
        );
        assert_eq!(
            items[2].signals,
            [signal("md5", "ffeeddccbbaa99887766554433221100")],
            "no vPDQ in VICS"
        );
        let attribute = |item: &Item, name: &str| {
            item.attributes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(
            attribute(items[0], "Series").as_deref(),
            Some("Benign test series")
        );
        assert_eq!(
            attribute(items[0], "VictimIdentified").as_deref(),
            Some("true")
        );
        assert_eq!(attribute(items[0], "OffenderIdentified"), None);
        assert_eq!(
            attribute(items[0], "Comments").as_deref(),
            Some(
                "from the list\nFirst seen 2026-01-01T00:00:00.000Z, last seen \
                 2026-02-01T10:00:00.000Z (Ward content 12).\nReported URL: \
                 https://a.example/1.jpg (known; reported 2 times, first \
                 2026-01-05T00:00:00.000Z, last 2026-02-01T00:00:00.000Z)"
            )
        );
    }

    #[test]
    fn json_carries_everything_but_the_reporter() {
        let referral = sample();
        let mut out = Vec::new();
        write_json(&referral, &mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["format"], "ward-referral");
        assert_eq!(value["version"], 1);
        assert_eq!(value["target"], "series:7");
        assert_eq!(
            value["subject"],
            json!({
                "kind": "series", "id": "7", "name": "Benign test series",
                "victim_identified": true, "offender_identified": null,
                "referred_to": "a police unit", "referred_at": "2026-02-02T00:00:00.000Z",
            })
        );
        let items = value["items"].as_array().unwrap();
        assert_eq!(items.len(), 4);
        let image = &items[0];
        assert_eq!(image["content_id"], 12);
        assert_eq!(image["signals"][0]["signal_type"], "pdq");
        assert_eq!(image["signals"].as_array().unwrap().len(), 4);
        assert_eq!(
            image["categories"],
            json!({"age_group": "prepubescent", "activity": "non_penetrative", "uk": "B", "industry": "A1"})
        );
        assert_eq!(
            image["label"],
            json!({"scheme": "vics", "profile": "US", "label": "1"})
        );
        assert_eq!(image["first_seen"], "2026-01-01T00:00:00.000Z");
        assert_eq!(image["urls"][0]["filed"][0]["reference"], "R-ABCDEFGHJKMN");
        assert_eq!(image["urls"][0]["removed_at"], Value::Null);
        assert_eq!(items[2]["signals"][0]["signal_type"], "vpdq");
        assert!(out.ends_with(b"}\n"));
    }
}
