//! Printing results: one record per hashed input (`ward hash`) or per match (`ward match`,
//! `ward scan`), as JSON lines, CSV or text, and the progress shown on a terminal.

use std::io::{self, IsTerminal as _, Write};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::value::RawValue;
use ward_core::video::Vpdq;

use super::{Format, MatchFormat};
use crate::hashing::{Hashed, Media, Signals};

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
                let mut header = vec![
                    "path", "pdq", "quality", "md5", "sha1", "sha256", "vpdq", "error",
                ];
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
        let image = match signals {
            Ok(Signals {
                media: Media::Image(image),
                ..
            }) => Some(image),
            _ => None,
        };
        let video = match signals {
            Ok(Signals {
                media: Media::Video(Some(video)),
                ..
            }) => Some(video),
            _ => None,
        };
        let dihedral: Option<Vec<String>> = image
            .and_then(|image| image.dihedral.as_ref())
            .filter(|_| self.dihedral)
            .map(|hashes| hashes.iter().map(ToString::to_string).collect());
        match &mut self.sink {
            Sink::Jsonl(out) => {
                let record = match signals {
                    Ok(s) => JsonRecord {
                        pdq: image.map(|i| i.pdq.to_string()),
                        quality: image.map(|i| i.quality.get()),
                        md5: Some(s.digests.md5.to_string()),
                        sha1: Some(s.digests.sha1.to_string()),
                        sha256: Some(s.digests.sha256.to_string()),
                        dihedral,
                        seconds_per_hash: video.map(|v| v.seconds_per_hash),
                        vpdq: video.map(|v| frame_records(&v.vpdq)).transpose()?,
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
                        image.map(|i| i.pdq.to_string()).unwrap_or_default(),
                        image.map(|i| i.quality.to_string()).unwrap_or_default(),
                        s.digests.md5.to_string(),
                        s.digests.sha1.to_string(),
                        s.digests.sha256.to_string(),
                        video.map(|v| v.vpdq.to_json()).unwrap_or_default(),
                        String::new(),
                    ],
                    Err(e) => {
                        let mut row = vec![String::new(); 8];
                        row[0] = path.into_owned();
                        row[7] = e.to_string();
                        row
                    }
                };
                if self.dihedral {
                    row.push(dihedral.map(|hashes| hashes.join(" ")).unwrap_or_default());
                }
                Ok(csv.write_record(&row)?)
            }
            // As Meta's pdq-photo-hasher: the hash (or the eight), the quality, the path; for
            // a video, Meta's vPDQ line of each hashed frame and the path.
            Sink::Text(out) => match signals {
                Ok(_) => {
                    if let Some(image) = image {
                        let hashes =
                            dihedral.map_or_else(|| image.pdq.to_string(), |d| d.join(" "));
                        writeln!(out, "{hashes} {} {path}", image.quality)?;
                    }
                    for f in video.map(|v| v.vpdq.frames()).unwrap_or_default() {
                        writeln!(
                            out,
                            "{},{},{},{:.3} {path}",
                            f.frame, f.quality, f.hash, f.timestamp
                        )?;
                    }
                    Ok(())
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
    seconds_per_hash: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq: Option<Vec<FrameRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// One hashed frame of a video in the `jsonl` format.
#[derive(Serialize)]
struct FrameRecord {
    frame: u64,
    quality: u8,
    pdq: String,
    /// Seconds with three decimals, as Meta's tools print them (a JSON number all the same).
    timestamp: Box<RawValue>,
}

fn frame_records(vpdq: &Vpdq) -> serde_json::Result<Vec<FrameRecord>> {
    vpdq.frames()
        .iter()
        .map(|f| {
            Ok(FrameRecord {
                frame: f.frame,
                quality: f.quality.get(),
                pdq: f.hash.to_string(),
                timestamp: RawValue::from_string(format!("{:.3}", f.timestamp))?,
            })
        })
        .collect()
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
            seconds_per_hash: None,
            vpdq: None,
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
    /// The signal that matched, in hex; for a vPDQ match, the query video's MD5.
    pub query: String,
    pub list: &'a str,
    pub signal_type: &'static str,
    /// The list entry's signal, in hex; absent for vPDQ (hundreds of frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    pub label: Option<&'a str>,
    pub id: Option<&'a str>,
    /// Absent for vPDQ, which has shares instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// For vPDQ: the percentage of the query's distinct frames found in the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_share: Option<f64>,
    /// For vPDQ: the percentage of the entry's distinct frames found in the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_share: Option<f64>,
    /// For vPDQ: whether the shares are those of the query's frames with their bars cut
    /// away (see `--no-trim-bars`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bars_trimmed: Option<bool>,
}

/// A share as printed: a percentage rounded to two decimals.
pub fn share(percent: f64) -> f64 {
    (percent * 100.0).round() / 100.0
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
const MATCH_COLUMNS: [&str; 12] = [
    "path",
    "query",
    "list",
    "signal_type",
    "signal",
    "label",
    "id",
    "distance",
    "query_share",
    "compared_share",
    "bars_trimmed",
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
                let text = |value: Option<String>| value.unwrap_or_default();
                Ok(csv.write_record([
                    record.path.unwrap_or_default(),
                    &record.query,
                    record.list,
                    record.signal_type,
                    record.signal.as_deref().unwrap_or_default(),
                    record.label.unwrap_or_default(),
                    record.id.unwrap_or_default(),
                    &text(record.distance.map(|d| d.to_string())),
                    &text(record.query_share.map(|s| s.to_string())),
                    &text(record.compared_share.map(|s| s.to_string())),
                    &text(record.bars_trimmed.map(|b| b.to_string())),
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

    use ward_core::video::FrameHash;

    use super::*;
    use crate::hashing::{HashError, ImageSignals, Input, VideoSignals};

    const PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

    /// A hashed file named `path`; its bytes were empty, so its digests are the well-known
    /// ones, and its dihedral hashes are `kkkkkkkkkkkkkkkk` followed by zeros for k in 0..8.
    fn ok(path: &str, quality: u8) -> Hashed {
        let dihedral = std::array::from_fn(|k| {
            PdqHash::from_words([0, 0, 0, k as u64 * 0x1111_1111_1111_1111])
        });
        let signals = Signals {
            digests: FileDigests::of(b""),
            media: Media::Image(ImageSignals {
                pdq: PDQ.parse().unwrap(),
                quality: Quality::new(quality).unwrap(),
                dihedral: Some(Box::new(dihedral)),
            }),
        };
        Hashed {
            input: input(path),
            outcome: Ok(signals),
            walked: false,
        }
    }

    /// A hashed video named `path` (empty bytes, as [`ok`]) of two frames: `PDQ` at frame 0,
    /// and zeros of quality 7 at frame 26, 1.04 s.
    fn video(path: &str) -> Hashed {
        let frames = vec![
            FrameHash {
                frame: 0,
                quality: Quality::new(100).unwrap(),
                hash: PDQ.parse().unwrap(),
                timestamp: 0.0,
            },
            FrameHash {
                frame: 26,
                quality: Quality::new(7).unwrap(),
                hash: PdqHash::from_words([0; 4]),
                timestamp: 26.0 / 25.0,
            },
        ];
        let signals = Signals {
            digests: FileDigests::of(b""),
            media: Media::Video(Some(VideoSignals {
                vpdq: Vpdq::new(frames),
                seconds_per_hash: 1.0,
                trimmed: None,
            })),
        };
        Hashed {
            input: input(path),
            outcome: Ok(signals),
            walked: false,
        }
    }

    fn failed(path: &str) -> Hashed {
        Hashed {
            input: input(path),
            outcome: Err(HashError::Decode(ward_core::Error::Empty)),
            walked: false,
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
    /// hashes separated by `$D`'s own separator (`,` quoted in JSON, a space elsewhere),
    /// `$Z` for 48 zeros and `$0` for 64.
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
                .replace("$0", &"0".repeat(64))
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
            true,
            &[video("v.mp4")],
            "{\"path\":\"v.mp4\",\"md5\":\"$MD5\",\"sha1\":\"$SHA1\",\"sha256\":\"$SHA256\",\"seconds_per_hash\":1.0,\"vpdq\":[{\"frame\":0,\"quality\":100,\"pdq\":\"$PDQ\",\"timestamp\":0.000},{\"frame\":26,\"quality\":7,\"pdq\":\"$0\",\"timestamp\":1.040}]}\n",
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
            "path,pdq,quality,md5,sha1,sha256,vpdq,error\n",
            "",
        );
        check(
            Csv,
            true,
            &[],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error,dihedral\n",
            "",
        );
        check(
            Csv,
            false,
            &[ok("a.png", 100)],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error\na.png,$PDQ,100,$MD5,$SHA1,$SHA256,,\n",
            "",
        );
        check(
            Csv,
            true,
            &[ok("a.png", 100)],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error,dihedral\na.png,$PDQ,100,$MD5,$SHA1,$SHA256,,,$D\n",
            "",
        );
        check(
            Csv,
            false,
            &[failed("b.txt")],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error\nb.txt,,,,,,,empty file\n",
            "",
        );
        check(
            Csv,
            true,
            &[failed("b.txt")],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error,dihedral\nb.txt,,,,,,,empty file,\n",
            "",
        );
        check(
            Csv,
            false,
            &[failed("a,b \"c\".png")],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error\n\"a,b \"\"c\"\".png\",,,,,,,empty file\n",
            "",
        );
    }

    #[test]
    fn csv_videos() {
        check(
            Format::Csv,
            true,
            &[video("v.mp4")],
            "path,pdq,quality,md5,sha1,sha256,vpdq,error,dihedral\n\
             v.mp4,,,$MD5,$SHA1,$SHA256,\"[\"\"$PDQ,100,0.000\"\", \"\"$0,7,1.040\"\"]\",,\n",
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
        check(
            Text,
            true,
            &[video("v w.mp4"), ok("x", 1)],
            "0,100,$PDQ,0.000 v w.mp4\n26,7,$0,1.040 v w.mp4\n$D 1 x\n",
            "",
        );
    }

    fn check_matches(format: MatchFormat, records: &[MatchRecord], out: &str) {
        let mut stdout = Vec::new();
        let mut printer = MatchPrinter::new(format, &mut stdout).unwrap();
        for record in records {
            printer.print_match(record).unwrap();
        }
        printer.print_error("bad.mp4", "truncated").unwrap();
        printer.flush().unwrap();
        drop(printer);
        assert_eq!(String::from_utf8(stdout).unwrap(), out.replace("$PDQ", PDQ));
    }

    #[test]
    fn match_records_of_hashes_and_of_videos() {
        let image = MatchRecord {
            path: Some("a.png"),
            query: PDQ.into(),
            list: "bank.csv",
            signal_type: "pdq",
            signal: Some(PDQ.into()),
            label: Some("x"),
            id: None,
            distance: Some(3),
            query_share: None,
            compared_share: None,
            bars_trimmed: None,
        };
        let video = MatchRecord {
            path: Some("v.mp4"),
            query: "d41d8cd98f00b204e9800998ecf8427e".into(),
            signal_type: "vpdq",
            signal: None,
            label: None,
            id: Some("v1"),
            distance: None,
            query_share: Some(share(100.0)),
            compared_share: Some(share(100.0 / 3.0)),
            bars_trimmed: Some(true),
            ..image
        };
        let records = [image, video];
        check_matches(
            MatchFormat::Csv,
            &records,
            "path,query,list,signal_type,signal,label,id,distance,query_share,compared_share,bars_trimmed,error\n\
             a.png,$PDQ,bank.csv,pdq,$PDQ,x,,3,,,,\n\
             v.mp4,d41d8cd98f00b204e9800998ecf8427e,bank.csv,vpdq,,,v1,,100,33.33,true,\n\
             bad.mp4,,,,,,,,,,,truncated\n",
        );
        check_matches(
            MatchFormat::Jsonl,
            &records,
            "{\"path\":\"a.png\",\"query\":\"$PDQ\",\"list\":\"bank.csv\",\"signal_type\":\"pdq\",\"signal\":\"$PDQ\",\"label\":\"x\",\"id\":null,\"distance\":3}\n\
             {\"path\":\"v.mp4\",\"query\":\"d41d8cd98f00b204e9800998ecf8427e\",\"list\":\"bank.csv\",\"signal_type\":\"vpdq\",\"label\":null,\"id\":\"v1\",\"query_share\":100.0,\"compared_share\":33.33,\"bars_trimmed\":true}\n\
             {\"path\":\"bad.mp4\",\"error\":\"truncated\"}\n",
        );
    }
}
