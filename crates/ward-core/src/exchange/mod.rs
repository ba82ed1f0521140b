//! Hash lists as the field exchanges them: reading and writing CSV, HMA, Project VIC (VICS),
//! NCMEC hash-sharing and StopNCII files as a stream of [`Record`]s (and ThreatExchange's
//! `/threat_updates` pages, a page at a time, for the live exchange), and drafting a
//! CyberTipline report; writing referrals of content to law enforcement or a hotline.
//!
//! Readers never hold a whole file: they parse a record at a time from a [`BufRead`] and hand
//! each to a callback, so a multi-gigabyte VICS export needs memory for one record. A record
//! that is not valid (bad hex, a wrong length, a missing field) is handed over as a
//! [`RecordError::Malformed`] with its [`Position`] and reading goes on; input that cannot be
//! read any further (truncated XML, broken JSON syntax, an I/O error) ends reading with
//! [`RecordError::Fatal`], after every good record before it has been handed over.
//!
//! Signals come out canonical (lower-case hex; vPDQ in python-threatexchange's JSON form;
//! PhotoDNA as the list gave it, opaque). Categories come out as the list's own label
//! ([`ListLabel`]): a list's label is recorded as given, and never turned into the granular
//! facts of [`crate::categories`] or into another scheme's label.
//!
//! Each format's module has its `read`, and the formats Ward exports (`csv`, `hma`, `vics`) a
//! `Writer` whose output that `read` reads back; [`read`] reads any format by [`Format`].
//! [`cybertip`] drafts a CyberTipline report. A record may take [`MAX_RECORD`] bytes and a
//! field [`MAX_FIELD`]: beyond them input is hostile, and is reported rather than held.

use std::fmt;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::str::FromStr;

use crate::error::Error;
use crate::lists::{Signal, SignalType};

pub mod csv;
pub mod cybertip;
mod dates;
pub mod hma;
mod input;
mod json_stream;
pub mod ncmec;
pub mod referral;
pub mod stopncii;
pub mod threatexchange;
pub mod vics;

pub use input::{MAX_RECORD, read_line};

/// The formats `ward import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// CSV with a `signal_type,signal,...` header, or a plain list of hashes (see
    /// [`crate::lists`]).
    Csv,
    /// Meta HMA / ThreatExchange bank content.
    Hma,
    /// Project VIC VICS JSON (OData `#Media` and `#Cases`).
    Vics,
    /// NCMEC hash-sharing XML pages.
    Ncmec,
    /// StopNCII JSON pages.
    Stopncii,
}

/// Where a record is in its input, for error messages: its 1-based number among the
/// records of the file and the 1-based line on which it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Position {
    pub record: u64,
    pub line: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {} (line {})", self.record, self.line)
    }
}

/// One entry of an exchanged list.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub position: Position,
    /// The list's own id of the item (VICS `MediaID`, NCMEC's image or video id, StopNCII's
    /// hash id), on which later pages' upserts and tombstones are keyed. `None` where the
    /// format has none (CSV without an `id` column).
    pub external_id: Option<String>,
    pub change: Change,
}

/// What a record asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Add the item, or replace the one with the same external id.
    Upsert(Item),
    /// Remove the item with this external id (NCMEC `deletedImage`/`deletedVideo`, StopNCII
    /// `Withdrawn`/`Deleted`).
    Delete,
}

/// A listed item: its signals, its label, and the list's other fields kept as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    /// At least one.
    pub signals: Vec<ExchangedSignal>,
    pub label: Option<ListLabel>,
    /// Other fields the list carries for the item, kept for provenance: VICS `Series`,
    /// `VictimIdentified`, `Tags`, `MediaSize`, `DateUpdated`; NCMEC's `fileName`; and the
    /// like. Names as the format spells them; values as text (booleans `true`/`false`,
    /// dates as RFC 3339 when they parse as a date).
    pub attributes: Vec<(String, String)>,
}

/// A signal as exchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExchangedSignal {
    /// `pdq`, `vpdq`, `md5`, `sha1`, `sha256` or `photodna` (HMA's `video_md5` is `md5`).
    pub signal_type: &'static str,
    /// Canonical text: lower-case hex; vPDQ as python-threatexchange's JSON list; PhotoDNA as
    /// given.
    pub value: String,
}

/// A category label as a list gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListLabel {
    /// `industry` (A1, A2, B1, B2: NCMEC), `uk` (A, B, C), or `vics` for Project VIC's
    /// categories.
    pub scheme: &'static str,
    /// For VICS, the categorisation profile the file uses (its categories vary by profile);
    /// `None` when the file does not say.
    pub profile: Option<String>,
    /// The label as given (`A1`, `1`, `2`).
    pub label: String,
}

/// Why a record, or the rest of the input, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// This record is skipped; reading goes on.
    #[error("{position}: {reason}")]
    Malformed { position: Position, reason: String },
    /// Nothing more can be read.
    #[error("{position}: {reason}")]
    Fatal { position: Position, reason: String },
}

/// What a reader hands to its callback; the callback may stop reading with
/// `ControlFlow::Break`.
pub type Each<'a> = dyn FnMut(Result<Record, RecordError>) -> ControlFlow<()> + 'a;

crate::named_values!(Format, "exchange format", Error = Error::InvalidOption,
    Csv => "csv",
    Hma => "hma",
    Vics => "vics",
    Ncmec => "ncmec",
    Stopncii => "stopncii",
);

/// How reading went: what was handed to the callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records handed over (upserts and deletes).
    pub records: u64,
    /// Records handed over as [`RecordError::Malformed`].
    pub malformed: u64,
    /// Whether reading ended with a [`RecordError::Fatal`] (handed over last) rather than at
    /// the end of the input or because the callback stopped it.
    pub fatal: bool,
}

/// Reads `input` as `format`, handing each record (or error) to `each`. Errors reach the
/// callback and nowhere else: the summary says whether reading ended with one. CSV's untyped
/// 64-digit hashes are read as PDQ (see [`csv::read_as`]).
pub fn read(format: Format, input: impl BufRead, each: &mut Each<'_>) -> Summary {
    match format {
        Format::Csv => csv::read(input, each),
        Format::Hma => hma::read(input, each),
        Format::Vics => vics::read(input, each),
        Format::Ncmec => ncmec::read(input, each),
        Format::Stopncii => stopncii::read(input, each),
    }
}

/// The schemes a [`ListLabel`] may name.
const SCHEMES: [&str; 3] = ["industry", "uk", "vics"];

/// The scheme's name as a `&'static str`, if it is one of [`SCHEMES`].
fn scheme(name: &str) -> Option<&'static str> {
    SCHEMES.iter().copied().find(|scheme| *scheme == name)
}

/// PhotoDNA's signal type name in [`ExchangedSignal`].
const PHOTODNA: &str = "photodna";

/// Makes an exchanged signal of a type named as the field names it (any spelling
/// [`SignalType`] reads, or `photodna`) and its text: hashes checked and lower-cased, vPDQ
/// in python-threatexchange's JSON form, PhotoDNA trimmed and otherwise kept as given.
fn exchanged(signal_type: &str, text: &str) -> Result<ExchangedSignal, String> {
    let text = text.trim();
    if signal_type.trim().eq_ignore_ascii_case(PHOTODNA) {
        if text.is_empty() {
            return Err("empty photodna signal".into());
        }
        return Ok(ExchangedSignal {
            signal_type: PHOTODNA,
            value: text.to_owned(),
        });
    }
    let signal_type = SignalType::from_str(signal_type).map_err(|e| e.to_string())?;
    typed(signal_type, text)
}

/// As [`exchanged`], for a type already known.
fn typed(signal_type: SignalType, text: &str) -> Result<ExchangedSignal, String> {
    let signal = Signal::parse(signal_type, text.trim()).map_err(|e| e.to_string())?;
    Ok(ExchangedSignal {
        signal_type: signal_type.name(),
        value: signal.to_string(),
    })
}

/// The longest text one field may hold: hashes and labels take a few hundred bytes, so a
/// longer field is not data, and the record is reported rather than passed on.
pub const MAX_FIELD: usize = 1024 * 1024;

/// Says which field is too long to be data, if one is.
fn check_length(name: &str, text: &str) -> Result<(), String> {
    if text.len() > MAX_FIELD {
        return Err(format!(
            "field {name:?} is longer than {} MiB",
            MAX_FIELD / (1024 * 1024)
        ));
    }
    Ok(())
}

/// Hands records to the callback and keeps count, for every reader.
struct Sink<'a, 'b> {
    each: &'a mut Each<'b>,
    summary: Summary,
    stopped: bool,
}

impl<'a, 'b> Sink<'a, 'b> {
    fn new(each: &'a mut Each<'b>) -> Sink<'a, 'b> {
        Sink {
            each,
            summary: Summary::default(),
            stopped: false,
        }
    }

    fn give(&mut self, item: Result<Record, RecordError>) -> ControlFlow<()> {
        match &item {
            Ok(_) => self.summary.records += 1,
            Err(RecordError::Malformed { .. }) => self.summary.malformed += 1,
            Err(RecordError::Fatal { .. }) => self.summary.fatal = true,
        }
        let flow = (self.each)(item);
        if flow.is_break() {
            self.stopped = true;
        }
        flow
    }

    fn record(&mut self, record: Record) -> ControlFlow<()> {
        self.give(Ok(record))
    }

    fn malformed(&mut self, position: Position, reason: impl Into<String>) -> ControlFlow<()> {
        self.give(Err(RecordError::Malformed {
            position,
            reason: reason.into(),
        }))
    }

    fn fatal(&mut self, position: Position, reason: impl Into<String>) {
        // Nothing follows a fatal error, so whether the callback asks to stop is moot.
        let _ = self.give(Err(RecordError::Fatal {
            position,
            reason: reason.into(),
        }));
    }

    fn summary(&self) -> Summary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        for &format in Format::ALL {
            assert_eq!(format.name().parse::<Format>().unwrap(), format);
        }
        assert_eq!(
            "xml".parse::<Format>().unwrap_err().to_string(),
            "unknown exchange format \"xml\" (expected one of csv, hma, vics, ncmec, stopncii)"
        );
    }

    #[test]
    fn signals_come_out_canonical() {
        let check = |signal_type: &str, text: &str, expected: Result<(&str, &str), &str>| {
            let got = exchanged(signal_type, text);
            let got = got
                .as_ref()
                .map(|s| (s.signal_type, s.value.as_str()))
                .map_err(String::as_str);
            assert_eq!(got, expected, "{signal_type} {text:?}");
        };
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        check("MD5", &md5.to_uppercase(), Ok(("md5", md5)));
        check("video_md5", md5, Ok(("md5", md5)));
        check("hash_md5", &format!(" {md5} "), Ok(("md5", md5)));
        check("PhotoDNA", " AAEC+/== ", Ok(("photodna", "AAEC+/==")));
        check("photodna", "", Err("empty photodna signal"));
        check(
            "md5",
            "abc",
            Err("invalid md5: expected 32 hex digits, got 3"),
        );
        check(
            "tmk",
            md5,
            Err("unknown signal type \"tmk\" (expected pdq, vpdq, md5, video_md5, sha1 or sha256)"),
        );
    }
}
