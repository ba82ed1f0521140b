//! vPDQ: the PDQ hashes of a video's sampled frames, their text forms, and how two videos are
//! compared, as Meta's reference and python-threatexchange define it.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::pdq::{PdqHash, Quality};

/// One hashed frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameHash {
    /// The frame's number in decoding order, from 0.
    pub frame: u64,
    pub quality: Quality,
    pub hash: PdqHash,
    /// Seconds from the start: `frame / average frame rate`.
    pub timestamp: f64,
}

/// A video's vPDQ: its hashed frames in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vpdq {
    frames: Vec<FrameHash>,
}

impl Vpdq {
    pub fn new(frames: Vec<FrameHash>) -> Vpdq {
        Vpdq { frames }
    }

    pub fn frames(&self) -> &[FrameHash] {
        &self.frames
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Meta's text form: a line `frame_number,quality,pdq_hex,timestamp` per frame, the
    /// timestamp with 3 decimals (what `vpdq-hash-video` writes).
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(self.frames.len() * 80);
        for f in &self.frames {
            let _ = writeln!(
                text,
                "{},{},{},{:.3}",
                f.frame, f.quality, f.hash, f.timestamp
            );
        }
        text
    }

    /// Reads Meta's text form (blank lines ignored).
    pub fn parse_text(text: &str) -> Result<Vpdq> {
        let mut frames = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: &str| invalid(format!("line {}: {reason}", number + 1));
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [frame, quality, hash, timestamp] = fields[..] else {
                return Err(bad("expected frame_number,quality,pdq_hex,timestamp"));
            };
            frames.push(FrameHash {
                frame: frame.parse().map_err(|_| bad("bad frame number"))?,
                quality: quality.parse().map_err(|_| bad("bad quality"))?,
                hash: hash.parse().map_err(|_| bad("bad PDQ hash"))?,
                timestamp: parse_timestamp(timestamp).ok_or_else(|| bad("bad timestamp"))?,
            });
        }
        Ok(Vpdq { frames })
    }

    /// python-threatexchange's signal form: a JSON list of `"pdq_hex,quality,timestamp"`
    /// strings (frame numbers are not kept; the frames are numbered by position).
    pub fn to_json(&self) -> String {
        let items: Vec<String> = self
            .frames
            .iter()
            .map(|f| format!("\"{},{},{:.3}\"", f.hash, f.quality, f.timestamp))
            .collect();
        format!("[{}]", items.join(", "))
    }

    /// Reads python-threatexchange's JSON form (an empty string is an empty list, as there).
    pub fn parse_json(text: &str) -> Result<Vpdq> {
        let items = parse_string_array(text.trim())
            .ok_or_else(|| invalid("expected a JSON list of strings".into()))?;
        let mut frames = Vec::with_capacity(items.len());
        for (position, item) in items.iter().enumerate() {
            let bad = |reason: &str| invalid(format!("item {}: {reason}", position + 1));
            let fields: Vec<&str> = item.split(',').map(str::trim).collect();
            let [hash, quality, timestamp] = fields[..] else {
                return Err(bad("expected \"pdq_hex,quality,timestamp\""));
            };
            frames.push(FrameHash {
                frame: position as u64,
                quality: quality.parse().map_err(|_| bad("bad quality"))?,
                hash: hash.parse().map_err(|_| bad("bad PDQ hash"))?,
                timestamp: parse_timestamp(timestamp).ok_or_else(|| bad("bad timestamp"))?,
            });
        }
        Ok(Vpdq { frames })
    }

    /// The distinct hashes of the frames of at least `min_quality`, in order of first
    /// appearance: what comparison counts.
    pub fn distinct_hashes(&self, min_quality: Quality) -> Vec<PdqHash> {
        let mut seen = std::collections::HashSet::new();
        self.frames
            .iter()
            .filter(|f| f.quality >= min_quality)
            .map(|f| f.hash)
            .filter(|h| seen.insert(*h))
            .collect()
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidSignal {
        signal_type: "vpdq",
        reason,
    }
}

fn parse_timestamp(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
}

/// Parses a JSON array of strings without escapes beyond `\"` and `\\` (which is all a vPDQ
/// signal holds).
fn parse_string_array(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?.trim();
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some('"') => {}
            Some(_) => return None,
        }
        let mut item = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => item.push(chars.next()?),
                c => item.push(c),
            }
        }
        items.push(item);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some(items)
}

/// How two videos are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompareOptions {
    /// Frames of lower quality are left out (Meta: 50).
    pub min_quality: Quality,
    /// Two frames match within this Hamming distance (python-threatexchange: 31, inclusive).
    pub distance: u32,
    /// A match needs at least this share of the query's distinct frames (percent; 80).
    pub query_share: f64,
    /// ... and at least this share of the compared video's distinct frames (percent; 0).
    pub compared_share: f64,
}

impl Default for CompareOptions {
    fn default() -> CompareOptions {
        CompareOptions {
            min_quality: Quality::MATCHABLE,
            distance: 31,
            query_share: 80.0,
            compared_share: 0.0,
        }
    }
}

/// How much of each video is in the other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoMatch {
    /// Percent of the query's distinct frames with a match in the compared video.
    pub query_share: f64,
    /// Percent of the compared video's distinct frames with a match in the query.
    pub compared_share: f64,
}

impl VideoMatch {
    /// Whether both shares reach the thresholds of `options`.
    pub fn is_match(&self, options: &CompareOptions) -> bool {
        self.query_share >= options.query_share && self.compared_share >= options.compared_share
    }
}

/// Compares two videos frame by frame, as python-threatexchange's brute-force matcher: drop
/// frames below the minimum quality, de-duplicate frame hashes, then count each side's
/// frames that have some frame of the other within the distance. A video with no frame
/// left has a share of 0.
pub fn compare(query: &Vpdq, compared: &Vpdq, options: &CompareOptions) -> VideoMatch {
    let a = query.distinct_hashes(options.min_quality);
    let b = compared.distinct_hashes(options.min_quality);
    let share = |from: &[PdqHash], to: &[PdqHash]| -> f64 {
        if from.is_empty() {
            return 0.0;
        }
        let matched = from
            .iter()
            .filter(|h| to.iter().any(|o| h.distance(o) <= options.distance))
            .count();
        matched as f64 * 100.0 / from.len() as f64
    };
    VideoMatch {
        query_share: share(&a, &b),
        compared_share: share(&b, &a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: u64) -> PdqHash {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        PdqHash::from_words([next(), next(), next(), next()])
    }

    fn flip(h: PdqHash, bits: u32) -> PdqHash {
        let mut words = h.words();
        for b in 0..bits {
            words[(b / 64) as usize] ^= 1 << (b % 64);
        }
        PdqHash::from_words(words)
    }

    fn video(hashes: &[(PdqHash, u8)]) -> Vpdq {
        Vpdq::new(
            hashes
                .iter()
                .enumerate()
                .map(|(i, &(hash, q))| FrameHash {
                    frame: i as u64 * 30,
                    quality: Quality::new(q).unwrap(),
                    hash,
                    timestamp: i as f64,
                })
                .collect(),
        )
    }

    #[test]
    fn text_forms_roundtrip() {
        let v = video(&[(hash(1), 100), (hash(2), 49), (hash(3), 0)]);
        let text = v.to_text();
        assert!(text.starts_with(&format!("0,100,{},0.000\n", hash(1))));
        assert_eq!(Vpdq::parse_text(&text).unwrap(), v);
        let json = v.to_json();
        assert!(json.starts_with(&format!("[\"{},100,0.000\"", hash(1))));
        let back = Vpdq::parse_json(&json).unwrap();
        assert_eq!(back.frames().len(), 3);
        assert_eq!(back.frames()[1].hash, hash(2));
        assert_eq!(back.frames()[2].frame, 2);
        assert!(Vpdq::parse_json("").unwrap().is_empty());
        assert!(Vpdq::parse_json("[]").unwrap().is_empty());
        // python-threatexchange writes timestamps with 3 significant digits.
        let pytx = format!("[\"{},88,1.23e+02\"]", hash(9));
        assert_eq!(
            Vpdq::parse_json(&pytx).unwrap().frames()[0].timestamp,
            123.0
        );
    }

    #[test]
    fn malformed_forms_are_errors() {
        for bad in [
            "1,2,3",
            "x,100,abc,0.0",
            &format!("0,101,{},0.0", hash(1)),
            &format!("0,100,{},-1", hash(1)),
        ] {
            assert!(Vpdq::parse_text(bad).is_err(), "{bad}");
        }
        for bad in [
            "[1, 2]",
            "{}",
            "[\"a,b\"]",
            "[\"unterminated",
            &format!("[\"{},100\"]", hash(1)),
        ] {
            assert!(Vpdq::parse_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comparison_follows_the_reference() {
        let (a, b, c, d) = (hash(1), hash(2), hash(3), hash(4));
        let query = video(&[(a, 100), (a, 100), (b, 90), (c, 10)]);
        // c has low quality (dropped), a is duplicated (counted once): query = {a, b}.
        let compared = video(&[(flip(a, 31), 100), (flip(b, 32), 100), (d, 100)]);
        let m = compare(&query, &compared, &CompareOptions::default());
        assert_eq!(m.query_share, 50.0);
        assert!((m.compared_share - 100.0 / 3.0).abs() < 1e-9);
        assert!(!m.is_match(&CompareOptions::default()));
        let m = compare(
            &query,
            &video(&[(a, 100), (flip(b, 5), 60)]),
            &CompareOptions::default(),
        );
        assert_eq!((m.query_share, m.compared_share), (100.0, 100.0));
        assert!(m.is_match(&CompareOptions::default()));
        // Nothing left to compare: shares of 0, never a division by zero.
        let empty = compare(&video(&[(a, 10)]), &query, &CompareOptions::default());
        assert_eq!(empty.query_share, 0.0);
    }
}
