//! Hash lists: here is a file of hashes, give me its entries one at a time, and the line and
//! reason of every line that is not one.
//!
//! Two formats, told apart by the first line that is neither blank nor a `#` comment:
//!
//! - **CSV with a header** when that line has a column named `signal` or `signal_type`
//!   (case and surrounding spaces aside). `signal` is required; `signal_type`, `label` and
//!   `id` are optional; other columns are ignored. A row whose `signal_type` is empty (or a
//!   file without that column) has its type recognised from the signal's length, as in plain
//!   lists. Fields may be quoted (`"a, ""b"""`), but a quoted field may not span lines: a
//!   stray quote then costs one line, not the rest of a multi-gigabyte file.
//! - **Plain** otherwise: one hash per line. Anything after the hash and a comma, space or
//!   tab is ignored, so Meta's `hash,quality` and `hash quality path` lines (what
//!   pdq-photo-hasher and `ward hash --format text` print) load as they are.
//!
//! In both, blank lines and lines starting with `#` are skipped, surrounding whitespace and
//! CRLF line ends are trimmed, and a UTF-8 byte-order mark before the first line is dropped.
//! Hex may be in either case (VICS writes MD5 in upper case).
//!
//! A hash of 32 hex digits is MD5, of 40 SHA-1, and of 64 PDQ: SHA-256 has the same length
//! as PDQ, so a file of SHA-256 hashes must say so, either in a `signal_type` column or
//! through [`Hex64::Sha256`] from the caller.
//!
//! Signal types are named as the field names them: `pdq`, `vpdq`, `md5`, `sha1` or `sha-1`,
//! `sha256` or `sha-256`, and ThreatExchange's `hash_pdq`, `hash_md5`, `hash_sha1`,
//! `hash_sha256`, in any case. HMA's `video_md5` (the MD5 of a video file) is an MD5 like any
//! other: a digest of a file's bytes matches whatever the file is. `photodna` (proprietary,
//! never computed) is refused with a line saying so, rather than loaded as something it is
//! not.
//!
//! A vPDQ signal is python-threatexchange's (and HMA's) form, a JSON list of
//! `"pdq_hex,quality,timestamp"` strings, in the `signal` field of a CSV list, quoted as CSV
//! quotes (`"[""…,100,0.000"", …]"`). Its type is declared (`vpdq`) or, in a row without
//! one, recognised by the opening `[`. A plain list cannot hold one: such a line is reported
//! as malformed, saying why.
//!
//! Lists are read as a stream from a [`BufRead`], a line at a time, so a list of any size
//! needs only one line in memory; a line longer than [`MAX_RECORD`] bytes (16 MiB, the bound
//! on a record in every streamed format) is reported and skipped without being held.

use std::fmt;
use std::io::{self, BufRead};
use std::str::FromStr;

use crate::digest::{Md5, Sha1, Sha256, parse_hex};
use crate::error::{Error, Result};
use crate::exchange::MAX_RECORD;
use crate::pdq::PdqHash;
use crate::video::Vpdq;

/// The signal types Ward matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalType {
    Pdq,
    /// A video's frame hashes (see [`Vpdq`]).
    Vpdq,
    Md5,
    Sha1,
    Sha256,
}

impl SignalType {
    /// The name lists and Ward's output use.
    pub fn name(self) -> &'static str {
        match self {
            SignalType::Pdq => "pdq",
            SignalType::Vpdq => "vpdq",
            SignalType::Md5 => Md5::SIGNAL_TYPE,
            SignalType::Sha1 => Sha1::SIGNAL_TYPE,
            SignalType::Sha256 => Sha256::SIGNAL_TYPE,
        }
    }

    /// The number of hex digits of a signal of this type; `None` for vPDQ, which is not
    /// one hash.
    pub fn hex_len(self) -> Option<usize> {
        match self {
            SignalType::Md5 => Some(32),
            SignalType::Sha1 => Some(40),
            SignalType::Pdq | SignalType::Sha256 => Some(64),
            SignalType::Vpdq => None,
        }
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SignalType {
    type Err = Error;

    /// Any of the spellings in the module's documentation, in any case.
    fn from_str(text: &str) -> Result<SignalType> {
        let name = text.trim().to_ascii_lowercase();
        let name = name.strip_prefix("hash_").unwrap_or(&name);
        match name {
            "pdq" => Ok(SignalType::Pdq),
            "vpdq" => Ok(SignalType::Vpdq),
            "md5" | "video_md5" => Ok(SignalType::Md5),
            "sha1" | "sha-1" => Ok(SignalType::Sha1),
            "sha256" | "sha-256" => Ok(SignalType::Sha256),
            "photodna" => Err(Error::InvalidOption(
                "signal type \"photodna\" is proprietary and cannot be matched by Ward".into(),
            )),
            _ => Err(Error::InvalidOption(format!(
                "unknown signal type {:?} (expected pdq, vpdq, md5, video_md5, sha1 or sha256)",
                shorten(text.trim())
            ))),
        }
    }
}

/// A signal of one of the types Ward matches: a hash, or a video's frame hashes.
///
/// Not `Copy`: a vPDQ signal owns its frames.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    Pdq(PdqHash),
    Vpdq(Vpdq),
    Md5(Md5),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Signal {
    pub fn signal_type(&self) -> SignalType {
        match self {
            Signal::Pdq(_) => SignalType::Pdq,
            Signal::Vpdq(_) => SignalType::Vpdq,
            Signal::Md5(_) => SignalType::Md5,
            Signal::Sha1(_) => SignalType::Sha1,
            Signal::Sha256(_) => SignalType::Sha256,
        }
    }

    /// Parses hex text (either case, nothing around it) as a signal of `signal_type`; a vPDQ
    /// signal from python-threatexchange's JSON form, which must have a frame.
    pub fn parse(signal_type: SignalType, text: &str) -> Result<Signal> {
        let Some(hex_len) = signal_type.hex_len() else {
            let vpdq = Vpdq::parse_json(text)?;
            if vpdq.is_empty() {
                return Err(Error::InvalidSignal {
                    signal_type: "vpdq",
                    reason: "no frames".into(),
                });
            }
            return Ok(Signal::Vpdq(vpdq));
        };
        let bytes = text.as_bytes();
        let decoded = match signal_type {
            _ if bytes.len() != hex_len => None,
            SignalType::Vpdq => None,
            SignalType::Pdq => parse_hex(bytes).map(|b| Signal::Pdq(PdqHash::from_bytes(b))),
            SignalType::Md5 => parse_hex(bytes).map(|b| Signal::Md5(Md5::from_bytes(b))),
            SignalType::Sha1 => parse_hex(bytes).map(|b| Signal::Sha1(Sha1::from_bytes(b))),
            SignalType::Sha256 => parse_hex(bytes).map(|b| Signal::Sha256(Sha256::from_bytes(b))),
        };
        decoded.ok_or_else(|| Error::InvalidSignal {
            signal_type: signal_type.name(),
            reason: if bytes.iter().all(u8::is_ascii_hexdigit) {
                format!("expected {hex_len} hex digits, got {}", bytes.len())
            } else {
                format!("not hexadecimal: {:?}", shorten(text))
            },
        })
    }

    /// Parses hex text whose type only its length tells: 32 digits are MD5, 40 SHA-1, and 64
    /// PDQ or SHA-256 as `hex64` says.
    pub fn parse_untyped(text: &str, hex64: Hex64) -> Result<Signal> {
        let signal_type = match text.len() {
            32 => SignalType::Md5,
            40 => SignalType::Sha1,
            64 => hex64.signal_type(),
            len => {
                let reason = if text.bytes().all(|b| b.is_ascii_hexdigit()) {
                    format!("expected 32 (md5), 40 (sha1) or 64 (pdq) hex digits, got {len}")
                } else {
                    format!("not a hash: {:?}", shorten(text))
                };
                return Err(Error::InvalidSignal {
                    signal_type: "signal",
                    reason,
                });
            }
        };
        Signal::parse(signal_type, text)
    }
}

impl fmt::Display for Signal {
    /// Lowercase hex, as lists write it; vPDQ in python-threatexchange's JSON form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Pdq(hash) => hash.fmt(f),
            Signal::Vpdq(vpdq) => f.write_str(&vpdq.to_json()),
            Signal::Md5(digest) => digest.fmt(f),
            Signal::Sha1(digest) => digest.fmt(f),
            Signal::Sha256(digest) => digest.fmt(f),
        }
    }
}

/// What a hash of 64 hex digits is when nothing declares its type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Hex64 {
    /// PDQ: what such lists almost always hold.
    #[default]
    Pdq,
    Sha256,
}

impl Hex64 {
    pub fn signal_type(self) -> SignalType {
        match self {
            Hex64::Pdq => SignalType::Pdq,
            Hex64::Sha256 => SignalType::Sha256,
        }
    }
}

/// One entry of a list.
#[derive(Clone, Debug, PartialEq)]
pub struct ListEntry {
    /// The 1-based line it was read from.
    pub line: u64,
    pub signal: Signal,
    /// The `label` column of a CSV list, when present and not empty.
    pub label: Option<String>,
    /// The `id` column of a CSV list, when present and not empty.
    pub id: Option<String>,
}

/// A line that could not be read as an entry, or a list that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The line is not an entry. It is skipped and reading goes on.
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    /// The input failed while reading `line`; nothing more is read.
    #[error("line {line}: cannot read: {source}")]
    Read {
        line: u64,
        #[source]
        source: io::Error,
    },
}

impl ListError {
    /// The 1-based line concerned.
    pub fn line(&self) -> u64 {
        match self {
            ListError::Malformed { line, .. } | ListError::Read { line, .. } => *line,
        }
    }
}

/// The entries of a list, read from `input` as they are needed: an iterator of entries and
/// of the errors of lines that are not entries.
#[derive(Debug)]
pub struct ListReader<R> {
    input: R,
    hex64: Hex64,
    /// The number of the line last read.
    line: u64,
    buffer: Vec<u8>,
    /// Known once the first line that is not blank or a comment is read.
    format: Option<Format>,
    done: bool,
}

impl<R: BufRead> ListReader<R> {
    /// Reads a list from `input`; `hex64` says what untyped 64-digit hashes are.
    pub fn new(input: R, hex64: Hex64) -> ListReader<R> {
        ListReader {
            input,
            hex64,
            line: 0,
            buffer: Vec::new(),
            format: None,
            done: false,
        }
    }

    /// Reads the next line into `buffer`, without its line feed; `Ok(None)` at the end of
    /// the input, `Ok(Some(false))` when the line was too long (and was not kept).
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        crate::exchange::read_line(&mut self.input, &mut self.buffer)
    }

    /// Makes an entry (or an error) of the line in `buffer`; `None` for a line to skip.
    fn parse_line(&mut self) -> Option<Result<ListEntry, String>> {
        let mut bytes = &self.buffer[..];
        if self.line == 1 {
            bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Some(Err("not valid UTF-8".into()));
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        let line = self.line;
        match &self.format {
            Some(Format::Plain) => Some(plain_entry(line, text, self.hex64)),
            Some(Format::Csv(columns)) => Some(csv_entry(line, text, columns, self.hex64)),
            None => match header(text) {
                Some(Ok(columns)) => {
                    self.format = Some(Format::Csv(columns));
                    None
                }
                Some(Err(reason)) => {
                    // Without a signal column no row can be read: one error, not millions.
                    self.done = true;
                    Some(Err(reason))
                }
                None => {
                    self.format = Some(Format::Plain);
                    Some(plain_entry(line, text, self.hex64))
                }
            },
        }
    }
}

impl<R: BufRead> Iterator for ListReader<R> {
    type Item = Result<ListEntry, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let read = self.read_line();
            self.line += 1;
            let malformed = |line, reason| Some(Err(ListError::Malformed { line, reason }));
            match read {
                Ok(None) => self.done = true,
                Ok(Some(false)) => {
                    return malformed(self.line, format!("longer than {} MiB", MAX_RECORD >> 20));
                }
                Ok(Some(true)) => match self.parse_line() {
                    None => {}
                    Some(Ok(entry)) => return Some(Ok(entry)),
                    Some(Err(reason)) => return malformed(self.line, reason),
                },
                Err(source) => {
                    self.done = true;
                    return Some(Err(ListError::Read {
                        line: self.line,
                        source,
                    }));
                }
            }
        }
        None
    }
}

impl<R: BufRead> std::iter::FusedIterator for ListReader<R> {}

#[derive(Debug)]
enum Format {
    Plain,
    Csv(Columns),
}

/// Where the columns Ward reads are in a CSV list's rows.
#[derive(Debug)]
struct Columns {
    signal: usize,
    signal_type: Option<usize>,
    label: Option<usize>,
    id: Option<usize>,
}

/// Reads a line as a CSV header: `None` when it is not one (no `signal` or `signal_type`
/// column), an error when it is one that cannot be used.
fn header(text: &str) -> Option<Result<Columns, String>> {
    let names: Vec<String> = split_csv(text)
        .ok()?
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let find = |wanted: &str| names.iter().position(|name| name == wanted);
    let signal_type = find("signal_type");
    let Some(signal) = find("signal") else {
        return signal_type.map(|_| Err("the CSV header has no \"signal\" column".into()));
    };
    Some(Ok(Columns {
        signal,
        signal_type,
        label: find("label"),
        id: find("id"),
    }))
}

fn plain_entry(line: u64, text: &str, hex64: Hex64) -> Result<ListEntry, String> {
    if text.starts_with('[') {
        return Err("a vPDQ signal (a JSON list) needs a CSV list with a signal column".into());
    }
    // Most lines are a hash alone: read as one, no separator to look for.
    if matches!(text.len(), 32 | 40 | 64)
        && let Ok(signal) = Signal::parse_untyped(text, hex64)
    {
        return Ok(ListEntry {
            line,
            signal,
            label: None,
            id: None,
        });
    }
    let end = text
        .bytes()
        .position(|b| matches!(b, b',' | b' ' | b'\t'))
        .unwrap_or(text.len());
    let hash = &text[..end];
    let signal = Signal::parse_untyped(hash, hex64).map_err(|e| e.to_string())?;
    Ok(ListEntry {
        line,
        signal,
        label: None,
        id: None,
    })
}

fn csv_entry(line: u64, text: &str, columns: &Columns, hex64: Hex64) -> Result<ListEntry, String> {
    let mut fields = split_csv(text)?;
    let mut take = |at: Option<usize>| {
        at.and_then(|at| fields.get_mut(at))
            .map(std::mem::take)
            .filter(|field| !field.is_empty())
    };
    let signal_type = take(columns.signal_type);
    let (label, id) = (take(columns.label), take(columns.id));
    let Some(signal) = take(Some(columns.signal)) else {
        return Err("no signal in this row".into());
    };
    let signal = match signal_type {
        Some(name) => {
            let signal_type = name.parse::<SignalType>().map_err(|e| e.to_string())?;
            Signal::parse(signal_type, &signal)
        }
        // Only a vPDQ signal starts so; hashes are hex.
        None if signal.starts_with('[') => Signal::parse(SignalType::Vpdq, &signal),
        None => Signal::parse_untyped(&signal, hex64),
    }
    .map_err(|e| e.to_string())?;
    Ok(ListEntry {
        line,
        signal,
        label,
        id,
    })
}

/// Splits one line of CSV into its fields. Unquoted fields are trimmed of surrounding
/// spaces; quoted ones are kept as written, with `""` read as `"`.
fn split_csv(text: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    None => {
                        return Err("unterminated quoted field (fields may not span lines)".into());
                    }
                    Some((at, '"')) => {
                        if quoted[at + 1..].starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            break &quoted[at + 1..];
                        }
                    }
                    Some((_, c)) => field.push(c),
                }
            };
            fields.push(field);
            let after = after.trim_start();
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(fields),
                None => return Err("text after a closing quote".into()),
            }
        } else {
            match rest.split_once(',') {
                Some((field, next)) => {
                    fields.push(field.trim().to_owned());
                    rest = next;
                }
                None => {
                    fields.push(rest.trim().to_owned());
                    return Ok(fields);
                }
            }
        }
    }
}

/// Decodes `2 * N` hex digits (the caller checks the length); `None` if one is not hex.
/// Keeps error messages short when a line is long garbage.
fn shorten(text: &str) -> &str {
    match text.char_indices().nth(70) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
    const MD5: &str = "9e107d9d372bb6826bd81d3542a419d6";
    const SHA1: &str = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
    /// Also a valid PDQ hash, of course: only a declared type tells them apart.
    const SHA256: &str = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";

    /// A vPDQ signal of two frames, as python-threatexchange writes it.
    const VPDQ: &str = "[\"d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22,100,0.000\", \
         \"9e107d9d372bb6826bd81d3542a419d62fd4e1c67a2d28fced849ee1bb76e739,52,1.000\"]";

    /// `{pdq}`, `{md5}`, `{sha1}`, `{sha256}`, `{vpdq}` stand for the signals above (`{PDQ}`
    /// and so on for their upper-case forms), in inputs and in expected output alike;
    /// `{vpdq-csv}` for `{vpdq}` quoted as a CSV field.
    fn expand(text: &str) -> String {
        let vpdq_csv = format!("\"{}\"", VPDQ.replace('"', "\"\""));
        let text = text.replace("{vpdq-csv}", &vpdq_csv);
        [
            ("pdq", PDQ),
            ("md5", MD5),
            ("sha1", SHA1),
            ("sha256", SHA256),
            ("vpdq", VPDQ),
        ]
        .iter()
        .fold(text, |text, (name, hex)| {
            text.replace(&format!("{{{name}}}"), hex)
                .replace(&format!("{{{}}}", name.to_uppercase()), &hex.to_uppercase())
        })
    }

    /// One item as a line: `3 pdq {pdq} label=x id=y`, or `3: reason` for an error.
    fn render(item: Result<ListEntry, ListError>) -> String {
        match item {
            Ok(entry) => {
                // The hash is checked here; the line shows only which placeholder it is.
                let kind = entry.signal.signal_type();
                assert_eq!(
                    entry.signal.to_string(),
                    expand(&format!("{{{kind}}}")),
                    "line {}: not the hash the test expects",
                    entry.line
                );
                let mut text = format!("{} {kind} {{{kind}}}", entry.line);
                if let Some(label) = entry.label {
                    text += &format!(" label={label}");
                }
                if let Some(id) = entry.id {
                    text += &format!(" id={id}");
                }
                text
            }
            Err(ListError::Malformed { line, reason }) => format!("{line}: {reason}"),
            Err(ListError::Read { line, source }) => format!("{line}: read error: {source}"),
        }
    }

    fn check_with(hex64: Hex64, input: &str, expected: &[&str]) {
        let input = expand(input);
        let items: Vec<String> = ListReader::new(input.as_bytes(), hex64)
            .map(render)
            .collect();
        assert_eq!(items, expected, "input: {input:?}");
    }

    fn check(input: &str, expected: &[&str]) {
        check_with(Hex64::Pdq, input, expected);
    }

    #[test]
    fn plain_lists() {
        check("", &[]);
        check("\n\n  \n", &[]);
        check("{pdq}", &["1 pdq {pdq}"]);
        check(
            "{pdq}\n{md5}\n{sha1}\n",
            &["1 pdq {pdq}", "2 md5 {md5}", "3 sha1 {sha1}"],
        );
        check("{PDQ}\n{MD5}\n", &["1 pdq {pdq}", "2 md5 {md5}"]);
        check(
            "# a comment\n\n  {pdq}  \n\t# indented comment\n{md5}",
            &["3 pdq {pdq}", "5 md5 {md5}"],
        );
        check("{pdq}\r\n{md5}\r\n", &["1 pdq {pdq}", "2 md5 {md5}"]);
        check("\u{feff}{pdq}\n", &["1 pdq {pdq}"]);
        check("\u{feff}# BOM then a comment\n{md5}\n", &["2 md5 {md5}"]);
        // Meta's `hash,quality`, pdq-photo-hasher's `hash quality path`: the rest is ignored.
        check(
            "{pdq},100\n{pdq} 87 photos/a b.jpg\n{pdq}\t100\n",
            &["1 pdq {pdq}", "2 pdq {pdq}", "3 pdq {pdq}"],
        );
        check_with(
            Hex64::Sha256,
            "{sha256}\n{md5}\n",
            &["1 sha256 {sha256}", "2 md5 {md5}"],
        );
    }

    #[test]
    fn plain_lists_report_bad_lines_and_go_on() {
        check(
            "{pdq}\nnot a hash\n{md5}",
            &[
                "1 pdq {pdq}",
                "2: invalid signal: not a hash: \"not\"",
                "3 md5 {md5}",
            ],
        );
        check(
            "abc\n",
            &["1: invalid signal: expected 32 (md5), 40 (sha1) or 64 (pdq) hex digits, got 3"],
        );
        check(
            &format!("{}\n{{md5}}", &PDQ[1..]),
            &[
                "1: invalid signal: expected 32 (md5), 40 (sha1) or 64 (pdq) hex digits, got 63",
                "2 md5 {md5}",
            ],
        );
        let bad = format!("{}g", &PDQ[..63]);
        check(
            &bad,
            &[format!("1: invalid pdq: not hexadecimal: {bad:?}").as_str()],
        );
        check(
            &format!("{}xx\n", &MD5[2..]),
            &[format!("1: invalid md5: not hexadecimal: \"{}xx\"", &MD5[2..]).as_str()],
        );
        check(
            "caf\u{e9}\n",
            &["1: invalid signal: not a hash: \"caf\u{e9}\""],
        );
        check(
            "{md5}\n\u{0}\u{0}\n",
            &["1 md5 {md5}", "2: invalid signal: not a hash: \"\\0\\0\""],
        );
    }

    #[test]
    fn csv_lists() {
        check(
            "signal_type,signal\npdq,{pdq}\nmd5,{md5}\n",
            &["2 pdq {pdq}", "3 md5 {md5}"],
        );
        check(
            "signal_type,signal\nsha256,{sha256}\nSHA-256,{SHA256}\n",
            &["2 sha256 {sha256}", "3 sha256 {sha256}"],
        );
        check(
            "signal_type,signal\nsha1,{sha1}\nsha-1,{sha1}\nHASH_SHA1,{sha1}\n",
            &["2 sha1 {sha1}", "3 sha1 {sha1}", "4 sha1 {sha1}"],
        );
        check(
            "signal_type,signal\nPDQ,{pdq}\nhash_pdq,{pdq}\nHash_MD5,{md5}\n",
            &["2 pdq {pdq}", "3 pdq {pdq}", "4 md5 {md5}"],
        );
        check(
            "signal_type,signal,label,id\npdq,{pdq},cat,17\nmd5,{md5},,\n",
            &["2 pdq {pdq} label=cat id=17", "3 md5 {md5}"],
        );
        // Columns in any order, named in any case, with others ignored.
        check(
            " ID , Label,extra, Signal , SIGNAL_TYPE\n9,dog,x,{pdq},pdq\n",
            &["2 pdq {pdq} label=dog id=9"],
        );
        // No signal_type column, or an empty one: the length says.
        check(
            "signal,label\n{md5},a\n{pdq},b\n",
            &["2 md5 {md5} label=a", "3 pdq {pdq} label=b"],
        );
        check("signal_type,signal\n,{sha1}\n", &["2 sha1 {sha1}"]);
        check_with(Hex64::Sha256, "signal\n{sha256}\n", &["2 sha256 {sha256}"]);
        check_with(
            Hex64::Sha256,
            "signal_type,signal\npdq,{pdq}\n",
            &["2 pdq {pdq}"],
        );
        // Quoting, spaces, comments, blank lines, CRLF and a BOM.
        check(
            "signal_type,signal,label\npdq,{pdq},\"a, \"\"quoted\"\" label\"\n",
            &["2 pdq {pdq} label=a, \"quoted\" label"],
        );
        check(
            "signal_type,signal,label\n \"pdq\" , \"{pdq}\" , \" spaced \"\n",
            &["2 pdq {pdq} label= spaced "],
        );
        check(
            "\u{feff}signal_type,signal\r\n# comment\r\n\r\npdq,{pdq}\r\n",
            &["4 pdq {pdq}"],
        );
        check(
            "# comment before the header\n\nsignal_type,signal\nmd5,{md5}\n",
            &["4 md5 {md5}"],
        );
        check("\"signal_type\",\"signal\"\nmd5,{md5}\n", &["2 md5 {md5}"]);
        // More fields than the header: ignored. Fewer: fine while the signal is there.
        check(
            "signal_type,signal\nmd5,{md5},more,fields\n",
            &["2 md5 {md5}"],
        );
        check("signal,signal_type,label\n{md5}\n", &["2 md5 {md5}"]);
        check("signal_type,signal\n", &[]);
        // HMA's MD5 of a video file is an MD5.
        check(
            "signal_type,signal\nvideo_md5,{md5}\nHASH_VIDEO_MD5,{MD5}\n",
            &["2 md5 {md5}", "3 md5 {md5}"],
        );
    }

    #[test]
    fn vpdq_in_csv_lists() {
        check(
            "signal_type,signal,label,id\nvpdq,{vpdq-csv},clip,v1\nVPDQ,{vpdq-csv},,\n",
            &["2 vpdq {vpdq} label=clip id=v1", "3 vpdq {vpdq}"],
        );
        // Without a declared type, the opening bracket says.
        check(
            "signal,label\n{vpdq-csv},a\n{md5},b\n",
            &["2 vpdq {vpdq} label=a", "3 md5 {md5} label=b"],
        );
        check("signal_type,signal\n,{vpdq-csv}\n", &["2 vpdq {vpdq}"]);
        // Plain lists cannot hold one.
        check(
            "{md5}\n{vpdq}\n",
            &[
                "1 md5 {md5}",
                "2: a vPDQ signal (a JSON list) needs a CSV list with a signal column",
            ],
        );
        let entry = ListReader::new(expand("signal\n{vpdq-csv}\n").as_bytes(), Hex64::Pdq)
            .next()
            .unwrap()
            .unwrap();
        let Signal::Vpdq(vpdq) = entry.signal else {
            panic!("not vpdq")
        };
        let frames = vpdq.frames();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].hash.to_string(), PDQ);
        assert_eq!((frames[1].quality.get(), frames[1].timestamp), (52, 1.0));
    }

    #[test]
    fn csv_lists_report_bad_rows_and_go_on() {
        check(
            "signal_type,signal\nmd5\npdq,{pdq}\n",
            &["2: no signal in this row", "3 pdq {pdq}"],
        );
        check("signal_type,signal\npdq,\n", &["2: no signal in this row"]);
        check(
            "signal_type,signal\nmd5,{pdq}\n",
            &["2: invalid md5: expected 32 hex digits, got 64"],
        );
        check(
            "signal_type,signal\npdq,{md5}\n",
            &["2: invalid pdq: expected 64 hex digits, got 32"],
        );
        check(
            "signal_type,signal\nsha1,xyz\n",
            &["2: invalid sha1: not hexadecimal: \"xyz\""],
        );
        check(
            "signal_type,signal\ntmk,{md5}\nmd5,{md5}\n",
            &[
                "2: unknown signal type \"tmk\" (expected pdq, vpdq, md5, video_md5, sha1 or sha256)",
                "3 md5 {md5}",
            ],
        );
        check(
            "signal_type,signal\nvpdq,{pdq}\nvpdq,[]\nvpdq,\"[\"\"{pdq},100\"\"]\"\n",
            &[
                "2: invalid vpdq: expected a JSON list of strings",
                "3: invalid vpdq: no frames",
                "4: invalid vpdq: item 1: expected \"pdq_hex,quality,timestamp\"",
            ],
        );
        check(
            "signal_type,signal\nmd5,{vpdq-csv}\n",
            &[format!("2: invalid md5: not hexadecimal: \"[\\\"{PDQ},100\"").as_str()],
        );
        check(
            "signal_type,signal\nphotodna,AAAA\n",
            &["2: signal type \"photodna\" is proprietary and cannot be matched by Ward"],
        );
        check(
            "signal_type,signal,label\npdq,{pdq},\"unterminated\nmd5,{md5}\n",
            &[
                "2: unterminated quoted field (fields may not span lines)",
                "3 md5 {md5}",
            ],
        );
        check(
            "signal_type,signal\n\"pdq\"x,{pdq}\n",
            &["2: text after a closing quote"],
        );
        check(
            "signal_type,signal\npdq,{pdq}\n\u{feff}md5,{md5}\n",
            &[
                "2 pdq {pdq}",
                "3: unknown signal type \"\\u{feff}md5\" (expected pdq, vpdq, md5, video_md5, sha1 or \
                 sha256)",
            ],
        );
        // A header without a signal column: one error, and nothing else is read.
        check(
            "signal_type,hash\npdq,{pdq}\nmd5,{md5}\n",
            &["1: the CSV header has no \"signal\" column"],
        );
        // A CSV list without a header reads as plain, and says what is wrong.
        check("pdq,{pdq}\n", &["1: invalid signal: not a hash: \"pdq\""]);
    }

    #[test]
    fn bytes_that_are_not_text() {
        let items: Vec<String> = ListReader::new(
            &b"\xff\xfe\n9e107d9d372bb6826bd81d3542a419d6\n"[..],
            Hex64::Pdq,
        )
        .map(render)
        .collect();
        assert_eq!(items, ["1: not valid UTF-8", "2 md5 {md5}"]);
    }

    #[test]
    fn long_lines_are_skipped_without_being_kept() {
        const MAX_LINE: usize = MAX_RECORD as usize;
        let input = format!(
            "{}\n{MD5}\n{}",
            "x".repeat(MAX_LINE + 1),
            "y".repeat(3 * MAX_LINE)
        );
        // A small buffer, so the long lines arrive in many pieces.
        let reader = io::BufReader::with_capacity(100, input.as_bytes());
        let items: Vec<String> = ListReader::new(reader, Hex64::Pdq).map(render).collect();
        let too_long = format!("longer than {} MiB", MAX_RECORD >> 20);
        assert_eq!(
            items,
            [
                format!("1: {too_long}"),
                "2 md5 {md5}".into(),
                format!("3: {too_long}")
            ]
        );
        let exactly = format!("{}\n", "#".repeat(MAX_LINE));
        assert_eq!(ListReader::new(exactly.as_bytes(), Hex64::Pdq).count(), 0);
        // At the end of the input, without a line end, the same limits hold.
        for (len, errors) in [(MAX_LINE, 0), (MAX_LINE + 1, 1), (MAX_LINE + 2, 1)] {
            let input = format!("{MD5}\n{}", "#".repeat(len));
            let items: Vec<String> = ListReader::new(input.as_bytes(), Hex64::Pdq)
                .map(render)
                .collect();
            assert_eq!(items.len(), 1 + errors, "{len}: {items:?}");
        }
    }

    /// Gives its bytes, then fails.
    struct Failing<'a>(&'a [u8]);

    impl io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn read_errors_end_the_list() {
        let input = format!("{MD5}\n{MD5}\n{MD5}");
        let reader = io::BufReader::with_capacity(40, Failing(input.as_bytes()));
        let items: Vec<String> = ListReader::new(reader, Hex64::Pdq).map(render).collect();
        assert_eq!(
            items,
            ["1 md5 {md5}", "2 md5 {md5}", "3: read error: disk on fire"]
        );
        let mut reader = ListReader::new(io::BufReader::new(Failing(b"")), Hex64::Pdq);
        assert_eq!(reader.next().map(|item| item.unwrap_err().line()), Some(1));
        assert!(reader.next().is_none());
    }

    #[test]
    fn signal_types_by_name() {
        for (name, expected) in [
            ("pdq", Some(SignalType::Pdq)),
            (" PDQ ", Some(SignalType::Pdq)),
            ("md5", Some(SignalType::Md5)),
            ("sha-1", Some(SignalType::Sha1)),
            ("SHA256", Some(SignalType::Sha256)),
            ("hash_sha256", Some(SignalType::Sha256)),
            ("sha", None),
            ("", None),
            ("video_md5", Some(SignalType::Md5)),
            ("vpdq", Some(SignalType::Vpdq)),
            ("photodna", None),
        ] {
            assert_eq!(name.parse::<SignalType>().ok(), expected, "{name:?}");
        }
        for signal_type in [
            SignalType::Pdq,
            SignalType::Vpdq,
            SignalType::Md5,
            SignalType::Sha1,
            SignalType::Sha256,
        ] {
            assert_eq!(
                signal_type.name().parse::<SignalType>().unwrap(),
                signal_type
            );
        }
    }
}
