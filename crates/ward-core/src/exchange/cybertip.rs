//! CyberTipline report drafts: the XML of a report to NCMEC about known content, for the
//! platform to review, complete and file. Ward drafts; it never files.
//!
//! The elements are those DOMAIN.md names for NCMEC's CyberTipline reporting API (the
//! `ispws` XML): `report` with `incidentSummary` (`incidentType`, `incidentDateTime`),
//! `internetDetails` (`webPageIncident` with its `url`), `reporter` (`reportingPerson` with
//! `firstName`, `lastName`, `email`) and one `fileDetails` per file (`originalFileName`,
//! `industryClassification`, one `originalFileHash` per hash with its `hashType`). The live
//! API takes the report and each file's details as separate submissions, tied by the report
//! and file ids it assigns; a draft keeps them in one document for review, and the platform
//! splits it when filing. What Ward cannot know (where the content was, when no URL is
//! given) is left as an empty element with a comment saying what to fill in.
//!
//! All text is escaped, and characters XML cannot hold are written as U+FFFD, so any input
//! gives a well-formed document.

use std::io::{self, Write};

use super::{ExchangedSignal, Item, PHOTODNA};
use crate::categories::IndustryCategory;

/// The incident type of a report of known child sexual abuse material, as the CyberTipline
/// names it.
pub const INCIDENT_TYPE: &str = "Child Pornography (possession, manufacture, and distribution)";

/// A report to draft.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CyberTiplineDraft {
    /// When the incident happened or was found, as RFC 3339 (`2024-05-01T10:00:00Z`).
    pub incident_date_time: String,
    /// The page where the content was, written as a `webPageIncident`; `None` leaves the
    /// `internetDetails` for the platform to fill in.
    pub url: Option<String>,
    pub reporter: Reporter,
    pub files: Vec<DraftFile>,
}

/// The person at the platform who files the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reporter {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

/// A reported file: its name and what is known of it from its hashes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DraftFile {
    /// The file's name as the platform received it.
    pub file_name: Option<String>,
    /// The industry classification, when a list gave one.
    pub classification: Option<IndustryCategory>,
    pub hashes: Vec<ExchangedSignal>,
}

impl DraftFile {
    /// A file known from a listed item: its signals, and its classification when the item's
    /// label is of the industry scheme (never derived from another scheme's label).
    pub fn from_item(item: &Item, file_name: Option<String>) -> DraftFile {
        let classification = item
            .label
            .as_ref()
            .filter(|label| label.scheme == "industry")
            .and_then(|label| label.label.parse().ok());
        DraftFile {
            file_name,
            classification,
            hashes: item.signals.clone(),
        }
    }
}

/// The `hashType` of a signal type.
fn hash_type(signal_type: &str) -> &str {
    match signal_type {
        "md5" => "MD5",
        "sha1" => "SHA1",
        "sha256" => "SHA256",
        "pdq" => "PDQ",
        "vpdq" => "vPDQ",
        PHOTODNA => "PhotoDNA",
        other => other,
    }
}

/// Writes the draft as XML to `out`.
pub fn write_draft(draft: &CyberTiplineDraft, mut out: impl Write) -> io::Result<()> {
    let mut xml = String::new();
    xml += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml += "<!-- CyberTipline report draft written by Ward: review and complete it before \
            filing. -->\n";
    xml += "<report>\n";
    xml += "  <incidentSummary>\n";
    element(&mut xml, 4, "incidentType", INCIDENT_TYPE);
    element(&mut xml, 4, "incidentDateTime", &draft.incident_date_time);
    xml += "  </incidentSummary>\n";
    xml += "  <internetDetails>\n";
    match &draft.url {
        Some(url) => {
            xml += "    <webPageIncident>\n";
            element(&mut xml, 6, "url", url);
            xml += "    </webPageIncident>\n";
        }
        None => {
            xml += "    <!-- Fill in where the content was (webPageIncident, emailIncident, \
                    ...). -->\n";
        }
    }
    xml += "  </internetDetails>\n";
    xml += "  <reporter>\n";
    xml += "    <reportingPerson>\n";
    let reporter = &draft.reporter;
    for (name, value) in [
        ("firstName", &reporter.first_name),
        ("lastName", &reporter.last_name),
        ("email", &reporter.email),
    ] {
        if let Some(value) = value {
            element(&mut xml, 6, name, value);
        }
    }
    xml += "    </reportingPerson>\n";
    xml += "  </reporter>\n";
    for file in &draft.files {
        xml += "  <fileDetails>\n";
        if let Some(name) = &file.file_name {
            element(&mut xml, 4, "originalFileName", name);
        }
        if let Some(classification) = file.classification {
            element(&mut xml, 4, "industryClassification", classification.name());
        }
        for hash in &file.hashes {
            xml += &format!(
                "    <originalFileHash hashType=\"{}\">{}</originalFileHash>\n",
                escape(hash_type(hash.signal_type)),
                escape(&hash.value)
            );
        }
        xml += "  </fileDetails>\n";
    }
    xml += "</report>\n";
    out.write_all(xml.as_bytes())?;
    out.flush()
}

fn element(xml: &mut String, indent: usize, name: &str, text: &str) {
    *xml += &format!("{:indent$}<{name}>{}</{name}>\n", "", escape(text));
}

/// Text as XML character data or an attribute value: markup characters escaped, and
/// characters XML 1.0 cannot hold replaced with U+FFFD.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped += "&amp;",
            '<' => escaped += "&lt;",
            '>' => escaped += "&gt;",
            '"' => escaped += "&quot;",
            '\'' => escaped += "&apos;",
            '\t' | '\n' | '\r' => escaped.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                escaped.push('\u{fffd}')
            }
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(
            escape("x\u{0}y\u{1f}\u{ffff}\tz"),
            "x\u{fffd}y\u{fffd}\u{fffd}\tz"
        );
        assert_eq!(escape("ß → ok"), "ß → ok");
    }

    #[test]
    fn classification_only_from_industry_labels() {
        let item = |scheme, label: &str| Item {
            signals: vec![],
            label: Some(super::super::ListLabel {
                scheme,
                profile: None,
                label: label.into(),
            }),
            attributes: vec![],
        };
        let class = |item: &Item| DraftFile::from_item(item, None).classification;
        assert_eq!(class(&item("industry", "B2")), Some(IndustryCategory::B2));
        assert_eq!(class(&item("industry", "C")), None);
        assert_eq!(class(&item("uk", "A")), None);
        assert_eq!(class(&item("vics", "1")), None);
        assert_eq!(class(&Item::default()), None);
    }
}
