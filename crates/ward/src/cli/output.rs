//! Printing results: one record per hashed input (`ward hash`) or per match (`ward match`,
//! `ward scan`), as JSON lines, CSV or text, and the progress shown on a terminal.

use std::io::{self, IsTerminal as _, Write};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{Format, MatchFormat};
use crate::hashing::{Hashed, Signals};

/// Writes one record per [`Hashed`] in the chosen format.
#[derive(Debug)]
pub struct Printer<W: Write, E: Write> {
    sink: Sink<W>,
    dihedral: bool,
    /// Where the text format reports failures (the others keep them in their records).
    errors: E,
}

#[derive(Debug)]
enum Sink<W: Write> {
    Jsonl(W),
    /// Boxed: the CSV writer carries its own buffer and state.
    Csv(Box<csv::Writer<W>>),
    Text(W),
}

impl<W: Write, E: Write> Printer<W, E> {
    /// Starts printing to `out`; the CSV header is written here. With `dihedral`, records
    /// carry the eight dihedral hashes too (the CSV column is empty if a result lacks them).
    pub fn new(format: Format, dihedral: bool, out: W, errors: E) -> io::Result<Self> {
        let sink = match format {
            Format::Jsonl => Sink::Jsonl(out),
            Format::Text => Sink::Text(out),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                let mut header = vec!["path", "pdq", "quality", "md5", "sha1", "sha256", "error"];
                if dihedral {
                    header.push("dihedral");
                }
                csv.write_record(&header)?;
                Sink::Csv(Box::new(csv))
            }
        };
        Ok(Printer {
            sink,
            dihedral,
            errors,
        })
    }

    /// Prints the record of one input.
    pub fn print(&mut self, hashed: &Hashed) -> io::Result<()> {
        let path = hashed.input.name();
        let signals = hashed.outcome.as_ref();
        let dihedral: Option<Vec<String>> = match signals {
            Ok(Signals {
                dihedral: Some(hashes),
                ..
            }) if self.dihedral => Some(hashes.iter().map(ToString::to_string).collect()),
            _ => None,
        };
        match &mut self.sink {
            Sink::Jsonl(out) => {
                let record = match signals {
                    Ok(s) => JsonRecord {
                        pdq: Some(s.pdq.to_string()),
                        quality: Some(s.quality.get()),
                        md5: Some(s.digests.md5.to_string()),
                        sha1: Some(s.digests.sha1.to_string()),
                        sha256: Some(s.digests.sha256.to_string()),
                        dihedral,
                        ..JsonRecord::new(&path)
                    },
                    Err(e) => JsonRecord {
                        error: Some(e.to_string()),
                        ..JsonRecord::new(&path)
                    },
                };
                serde_json::to_writer(&mut *out, &record)?;
                out.write_all(b"\n")
            }
            Sink::Csv(csv) => {
                let mut row = match signals {
                    Ok(s) => vec![
                        path.into_owned(),
                        s.pdq.to_string(),
                        s.quality.to_string(),
                        s.digests.md5.to_string(),
                        s.digests.sha1.to_string(),
                        s.digests.sha256.to_string(),
                        String::new(),
                    ],
                    Err(e) => {
                        let mut row = vec![String::new(); 7];
                        row[0] = path.into_owned();
                        row[6] = e.to_string();
                        row
                    }
                };
                if self.dihedral {
                    row.push(dihedral.map(|hashes| hashes.join(" ")).unwrap_or_default());
                }
                Ok(csv.write_record(&row)?)
            }
            // As Meta's pdq-photo-hasher: the hash (or the eight), the quality, the path.
            Sink::Text(out) => match signals {
                Ok(s) => {
                    let hashes = dihedral.map_or_else(|| s.pdq.to_string(), |d| d.join(" "));
                    writeln!(out, "{hashes} {} {path}", s.quality)
                }
                Err(e) => writeln!(self.errors, "ward: {path}: {e}"),
            },
        }
    }

    /// Pushes out what is buffered, for a reader waiting on the other side.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Jsonl(out) | Sink::Text(out) => out.flush()?,
            Sink::Csv(csv) => csv.flush()?,
        }
        self.errors.flush()
    }
}

/// One line of the `jsonl` format: either the signals or the error.
#[derive(Serialize)]
struct JsonRecord<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dihedral: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl<'a> JsonRecord<'a> {
    fn new(path: &'a str) -> JsonRecord<'a> {
        JsonRecord {
            path,
            pdq: None,
            quality: None,
            md5: None,
            sha1: None,
            sha256: None,
            dihedral: None,
            error: None,
        }
    }
}

/// One match, as `ward match` and `ward scan` print it.
#[derive(Debug, Serialize)]
pub struct MatchRecord<'a> {
    /// The file whose signal matched; absent for a hash given as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// The signal that matched, in hex.
    pub query: String,
    pub list: &'a str,
    pub signal_type: &'static str,
    /// The list entry's signal, in hex.
    pub signal: String,
    pub label: Option<&'a str>,
    pub id: Option<&'a str>,
    pub distance: u32,
}

/// Writes match records, and error records for inputs that could not be matched.
#[derive(Debug)]
pub struct MatchPrinter<W: Write> {
    sink: MatchSink<W>,
}

#[derive(Debug)]
enum MatchSink<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
}

/// The columns of `--format csv`; `error` is filled only in error rows.
const MATCH_COLUMNS: [&str; 9] = [
    "path",
    "query",
    "list",
    "signal_type",
    "signal",
    "label",
    "id",
    "distance",
    "error",
];

impl<W: Write> MatchPrinter<W> {
    /// Starts printing to `out`; the CSV header is written here.
    pub fn new(format: MatchFormat, out: W) -> io::Result<Self> {
        let sink = match format {
            MatchFormat::Jsonl => MatchSink::Jsonl(out),
            MatchFormat::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(MATCH_COLUMNS)?;
                MatchSink::Csv(Box::new(csv))
            }
        };
        Ok(MatchPrinter { sink })
    }

    pub fn print_match(&mut self, record: &MatchRecord) -> io::Result<()> {
        match &mut self.sink {
            MatchSink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")
            }
            MatchSink::Csv(csv) => {
                let distance = record.distance.to_string();
                Ok(csv.write_record([
                    record.path.unwrap_or_default(),
                    &record.query,
                    record.list,
                    record.signal_type,
                    &record.signal,
                    record.label.unwrap_or_default(),
                    record.id.unwrap_or_default(),
                    &distance,
                    "",
                ])?)
            }
        }
    }

    /// Prints `{"path":…,"error":…}` for an input that could not be hashed.
    pub fn print_error(&mut self, path: &str, error: &str) -> io::Result<()> {
        match &mut self.sink {
            MatchSink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, &ErrorRecord { path, error })?;
                out.write_all(b"\n")
            }
            MatchSink::Csv(csv) => {
                let mut row = [""; MATCH_COLUMNS.len()];
                row[0] = path;
                row[MATCH_COLUMNS.len() - 1] = error;
                Ok(csv.write_record(row)?)
            }
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            MatchSink::Jsonl(out) => out.flush(),
            MatchSink::Csv(csv) => csv.flush(),
        }
    }
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    path: &'a str,
    error: &'a str,
}

/// A spinner with `template` on stderr when stderr is a terminal, hidden otherwise. The
/// total is unknown while directories are still being walked, so it is not a bar.
pub fn progress_bar(template: &str) -> anyhow::Result<ProgressBar> {
    if !io::stderr().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let style = ProgressStyle::with_template(template).context("invalid progress template")?;
    let progress =
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
    progress.enable_steady_tick(Duration::from_millis(120));
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ward_core::digest::FileDigests;
    use ward_core::pdq::{PdqHash, Quality};

    use super::*;
    use crate::hashing::{HashError, Input};

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    /// A hashed file named `path`; its bytes were empty, so its digests are the well-known
    /// ones, and its dihedral hashes are `kkkkkkkkkkkkkkkk` followed by zeros for k in 0..8.
    fn ok(path: &str, quality: u8) -> Hashed {
        let dihedral = std::array::from_fn(|k| {
            PdqHash::from_words([0, 0, 0, k as u64 * 0x1111_1111_1111_1111])
        });
        let signals = Signals {
            pdq: PDQ.parse().unwrap(),
            quality: Quality::new(quality).unwrap(),
            dihedral: Some(dihedral),
            digests: FileDigests::of(b""),
        };
        Hashed {
            input: input(path),
            outcome: Ok(signals),
        }
    }

    fn failed(path: &str) -> Hashed {
        Hashed {
            input: input(path),
            outcome: Err(HashError::Decode(ward_core::Error::Empty)),
        }
    }

    fn input(path: &str) -> Input {
        if path == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(path))
        }
    }

    /// Prints `records` and compares both streams with the expected text, in which `$PDQ`,
    /// `$MD5`, `$SHA1`, `$SHA256` stand for the values of [`ok`], `$D` for its dihedral
    /// hashes separated by `$D`'s own separator (`,` quoted in JSON, a space elsewhere) and
    /// `$Z` for 48 zeros.
    fn check(format: Format, dihedral: bool, records: &[Hashed], out: &str, err: &str) {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut printer = Printer::new(format, dihedral, &mut stdout, &mut stderr).unwrap();
        for record in records {
            printer.print(record).unwrap();
        }
        printer.flush().unwrap();
        drop(printer);
        let separator = if format == Format::Jsonl {
            "\",\""
        } else {
            " "
        };
        let dihedral: Vec<_> = (0..8)
            .map(|k| format!("{}$Z", k.to_string().repeat(16)))
            .collect();
        let fill = |text: &str| {
            text.replace("$D", &dihedral.join(separator))
                .replace("$PDQ", PDQ)
                .replace("$MD5", "d41d8cd98f00b204e9800998ecf8427e")
                .replace("$SHA1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")
                .replace(
                    "$SHA256",
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                )
                .replace("$Z", &"0".repeat(48))
        };
        assert_eq!(
            String::from_utf8(stdout).unwrap(),
            fill(out),
            "{format:?} stdout"
        );
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            fill(err),
            "{format:?} stderr"
        );
    }

    #[test]
    fn jsonl() {
        use Format::Jsonl;
        check(Jsonl, false, &[], "", "");
        check(
            Jsonl,
            false,
            &[ok("a.png", 100)],
            "{\"path\":\"a.png\",\"pdq\":\"$PDQ\",\"quality\":100,\"md5\":\"$MD5\",\"sha1\":\"$SHA1\",\"sha256\":\"$SHA256\"}\n",
            "",
        );
        check(
            Jsonl,
            true,
            &[ok("-", 7)],
            "{\"path\":\"-\",\"pdq\":\"$PDQ\",\"quality\":7,\"md5\":\"$MD5\",\"sha1\":\"$SHA1\",\"sha256\":\"$SHA256\",\"dihedral\":[\"$D\"]}\n",
            "",
        );
        check(
            Jsonl,
            false,
            &[failed("b.txt")],
            "{\"path\":\"b.txt\",\"error\":\"empty file\"}\n",
            "",
        );
        check(
            Jsonl,
            true,
            &[failed("b.txt")],
            "{\"path\":\"b.txt\",\"error\":\"empty file\"}\n",
            "",
        );
        check(
            Jsonl,
            false,
            &[failed("q\"\n\u{fffd}.png")],
            "{\"path\":\"q\\\"\\n\u{fffd}.png\",\"error\":\"empty file\"}\n",
            "",
        );
        check(
            Jsonl,
            false,
            &[failed("1"), ok("2", 0)],
            "{\"path\":\"1\",\"error\":\"empty file\"}\n{\"path\":\"2\",\"pdq\":\"$PDQ\",\"quality\":0,\"md5\":\"$MD5\",\"sha1\":\"$SHA1\",\"sha256\":\"$SHA256\"}\n",
            "",
        );
    }

    #[test]
    fn csv() {
        use Format::Csv;
        check(
            Csv,
            false,
            &[],
            "path,pdq,quality,md5,sha1,sha256,error\n",
            "",
        );
        check(
            Csv,
            true,
            &[],
            "path,pdq,quality,md5,sha1,sha256,error,dihedral\n",
            "",
        );
        check(
            Csv,
            false,
            &[ok("a.png", 100)],
            "path,pdq,quality,md5,sha1,sha256,error\na.png,$PDQ,100,$MD5,$SHA1,$SHA256,\n",
            "",
        );
        check(
            Csv,
            true,
            &[ok("a.png", 100)],
            "path,pdq,quality,md5,sha1,sha256,error,dihedral\na.png,$PDQ,100,$MD5,$SHA1,$SHA256,,$D\n",
            "",
        );
        check(
            Csv,
            false,
            &[failed("b.txt")],
            "path,pdq,quality,md5,sha1,sha256,error\nb.txt,,,,,,empty file\n",
            "",
        );
        check(
            Csv,
            true,
            &[failed("b.txt")],
            "path,pdq,quality,md5,sha1,sha256,error,dihedral\nb.txt,,,,,,empty file,\n",
            "",
        );
        check(
            Csv,
            false,
            &[failed("a,b \"c\".png")],
            "path,pdq,quality,md5,sha1,sha256,error\n\"a,b \"\"c\"\".png\",,,,,,empty file\n",
            "",
        );
    }

    #[test]
    fn text() {
        use Format::Text;
        check(Text, false, &[], "", "");
        check(Text, false, &[ok("a b.png", 100)], "$PDQ 100 a b.png\n", "");
        check(Text, true, &[ok("-", 49)], "$D 49 -\n", "");
        check(
            Text,
            false,
            &[failed("b.txt"), ok("c", 3)],
            "$PDQ 3 c\n",
            "ward: b.txt: empty file\n",
        );
    }
}
