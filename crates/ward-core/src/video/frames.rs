//! A video's frames numbered as the reference numbers them, and only the sampled ones
//! converted to RGB24; when sampling, the pictures that no sampled frame needs are not
//! decoded at all.
//!
//! Which pictures those are is decided before decoding, from the packets alone (see
//! `nal.rs`), in decoding order: a non-reference picture that is not sampled (nothing is
//! predicted from it), and every picture after the last packet a sampled frame needs before
//! the next IDR picture (nothing decoded before them is predicted from them, and nothing
//! after the IDR picture from anything before it). A packet with more than a picture in it
//! (parameter sets) is always decoded. The sampled frames therefore decode to the same
//! pixels as when every packet is decoded.
//!
//! The reference numbers a frame by how many frames its decoder gave before it: display
//! order. Decoding every packet, that is simply a count. Skipping a packet takes its frame
//! out of the count, so then a frame's number is its rank among the stream's presentation
//! times, read beforehand with the packets. Each frame the decoder gives is checked: its rank must equal the
//! frames given before it plus the packets skipped before it. A stream where that fails
//! (missing or repeated times, a decoder that drops or reorders frames) is decoded again
//! from the start without skipping, and the frames already sampled are not given twice.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::libav::{self, Decoded, Stream};
use super::nal;
use super::{VideoInfo, VideoOptions};
use crate::error::{Error, Result};

/// Decoder errors in a row, without a frame between them, after which a video is refused.
const MAX_FAILURES_IN_A_ROW: u32 = 64;

/// The sampled frames of a video, in order.
#[derive(Debug)]
pub(super) struct Frames {
    path: PathBuf,
    stream: Stream,
    /// Every `step`th frame is sampled (numbers 0, step, 2 step, ...).
    step: u64,
    skipping: Option<Skipping>,
    /// Frames the decoder gave since it was opened.
    given: u64,
    /// Packets not decoded (since the stream was last opened).
    skipped: u64,
    /// The last frame handed out (after a restart, earlier ones are not handed out again).
    last: Option<u64>,
    /// A packet read that the decoder could not take yet.
    pending: bool,
    flushed: bool,
    /// The first packet or frame the decoder refused (decoding goes on without it).
    refused: Option<Error>,
    /// Decoder errors since the last frame (a decoder that only fails is given up on).
    failures: u32,
    info: VideoInfo,
    fps: f64,
    max_frames: u64,
    max_pixels: u64,
    max_seconds: u64,
    deadline: Instant,
    timeout: Duration,
    stop: Arc<AtomicBool>,
}

/// The stream's presentation times in order, the packets that need not be decoded, and the
/// ranks of the packets skipped.
#[derive(Debug)]
struct Skipping {
    order: Vec<i64>,
    /// By rank: what the packet holds, when it need not be decoded (a packet read is skipped
    /// only if it still holds that).
    unneeded: Vec<Option<nal::Access>>,
    codec: nal::Codec,
    length_size: usize,
    /// Ranks of skipped packets whose frames would not have been given yet.
    skipped: BinaryHeap<Reverse<u64>>,
    /// Skipped packets ranked before the frames given so far.
    skipped_before: u64,
}

impl Skipping {
    /// The number of the frame with presentation time `pts`, the decoder having given
    /// `given` frames before it: its rank, if that agrees with the frames given and the
    /// packets skipped before it.
    fn number(&mut self, pts: i64, given: u64) -> Option<u64> {
        let rank = self.order.binary_search(&pts).ok()? as u64;
        while let Some(&Reverse(skipped)) = self.skipped.peek() {
            if skipped >= rank {
                break;
            }
            self.skipped.pop();
            self.skipped_before += 1;
        }
        (rank == given + self.skipped_before).then_some(rank)
    }
}

impl Frames {
    /// Opens `path` to give a frame every `options.seconds_per_hash` (at the stream's
    /// average frame rate), refusing a video over the limits before decoding it.
    pub(super) fn open(path: &Path, options: &VideoOptions) -> Result<Frames> {
        let deadline = Instant::now() + options.timeout;
        let stream = Stream::open(path, true, options.max_frame_pixels)?;
        let shape = stream.info();
        let info = VideoInfo {
            width: shape.width,
            height: shape.height,
            fps: match shape.rate {
                (n, d) if n > 0 && d > 0 => Some(f64::from(n) / f64::from(d)),
                _ => None,
            },
            duration: shape.duration,
            frames: shape.frames,
        };
        info.check_limits(options)?;
        // The reference needs the average frame rate both to sample and to stamp frames.
        let fps = info.fps.ok_or_else(|| Error::Corrupt {
            format: "video",
            message: "no frame rate".into(),
        })?;
        let step = ((options.seconds_per_hash * fps).floor() as u64).max(1);
        let mut frames = Frames {
            path: path.to_path_buf(),
            stream,
            step,
            skipping: None,
            given: 0,
            skipped: 0,
            last: None,
            pending: false,
            flushed: false,
            refused: None,
            failures: 0,
            info,
            fps,
            max_frames: (options.max_duration.as_secs_f64() * fps).ceil() as u64 + 1,
            max_pixels: options.max_frame_pixels,
            max_seconds: options.max_duration.as_secs(),
            deadline,
            timeout: options.timeout,
            stop: Arc::new(AtomicBool::new(false)),
        };
        if let Some((codec, length_size)) = frames
            .stream
            .info()
            .non_reference
            .filter(|_| frames.step > 1)
        {
            frames.skipping = frames.plan(codec, length_size)?;
        }
        Ok(frames)
    }

    /// What the container says about the stream.
    pub(super) fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The average frame rate the reference samples and stamps frames by.
    pub(super) fn fps(&self) -> f64 {
        self.fps
    }

    /// Whether non-reference pictures between samples are being skipped.
    #[cfg(test)]
    fn skipping(&self) -> bool {
        self.skipping.is_some()
    }

    /// A flag that stops decoding from another thread (at the next packet).
    pub(super) fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Reads the stream's packets (without decoding) for their presentation times in
    /// order and what each holds, and decides which need not be decoded; `None` when the
    /// times cannot number the frames (a time missing or repeated). Packets the demuxer
    /// marks for discarding give no frame: they have no rank and are always decoded.
    fn plan(&self, codec: nal::Codec, length_size: usize) -> Result<Option<Skipping>> {
        let mut packets = Stream::open(&self.path, false, self.max_pixels)?;
        // In decoding order: presentation time (`None`: discarded) and contents.
        let mut read = Vec::new();
        let mut frames = 0u64;
        while let Some(packet) = packets.read()? {
            self.check_time()?;
            let access = nal::access(codec, packet.data, length_size);
            if packet.flags & libav::PACKET_DISCARD != 0 {
                read.push((None, access));
                continue;
            }
            if packet.pts == libav::NO_PTS {
                return Ok(None);
            }
            read.push((Some(packet.pts), access));
            frames += 1;
            if frames > self.max_frames {
                return Err(self.too_long(frames));
            }
        }
        let mut order: Vec<i64> = read.iter().filter_map(|&(pts, _)| pts).collect();
        order.sort_unstable();
        if !order.windows(2).all(|w| w[0] < w[1]) {
            return Ok(None);
        }
        let ranked: Vec<(Option<u64>, nal::Access)> = read
            .iter()
            .map(|&(pts, access)| {
                let rank = pts.and_then(|pts| order.binary_search(&pts).ok());
                (rank.map(|r| r as u64), access)
            })
            .collect();
        let mut unneeded = vec![None; order.len()];
        for (&(rank, access), skip) in ranked.iter().zip(unneeded_packets(&ranked, self.step)) {
            if let (Some(rank), true) = (rank, skip) {
                unneeded[rank as usize] = Some(access);
            }
        }
        Ok(Some(Skipping {
            order,
            unneeded,
            codec,
            length_size,
            skipped: BinaryHeap::new(),
            skipped_before: 0,
        }))
    }

    /// Converts the next sampled frame into `rgb` and gives its number; `None` at the end.
    pub(super) fn next(&mut self, rgb: &mut Vec<u8>) -> Result<Option<u64>> {
        loop {
            if self.stop.load(Ordering::Acquire) {
                return Err(Error::Decoder("stopped".into()));
            }
            match self.stream.receive() {
                Ok(Decoded::Frame(pts)) => {
                    let Some(number) = self.number(pts) else {
                        self.decode_everything()?;
                        continue;
                    };
                    self.given += 1;
                    self.failures = 0;
                    if number >= self.max_frames {
                        return Err(self.too_long(number));
                    }
                    if !number.is_multiple_of(self.step)
                        || self.last.is_some_and(|last| number <= last)
                    {
                        continue;
                    }
                    self.stream.convert(rgb)?;
                    self.last = Some(number);
                    return Ok(Some(number));
                }
                Ok(Decoded::End) => {
                    return match self.refused.take() {
                        Some(error) if self.given == 0 => Err(error),
                        _ => Ok(None),
                    };
                }
                Ok(Decoded::Again) => self.feed()?,
                // A frame the decoder could not make.
                Err(error) => self.refused(error)?,
            }
        }
    }

    /// Gives the decoder its next packet (or the end of the stream).
    fn feed(&mut self) -> Result<()> {
        self.check_time()?;
        if self.flushed {
            // A drained decoder that still asks for input: nothing more will come.
            return Err(Error::Decoder("the decoder did not finish".into()));
        }
        if self.pending {
            self.pending = !self.send()?;
            return Ok(());
        }
        let Some(packet) = self.stream.read()? else {
            self.stream.flush()?;
            self.flushed = true;
            return Ok(());
        };
        if let Some(skipping) = &mut self.skipping
            && packet.flags & libav::PACKET_DISCARD == 0
            && let Ok(rank) = skipping.order.binary_search(&packet.pts)
            && let Some(planned) = skipping.unneeded[rank]
            && nal::access(skipping.codec, packet.data, skipping.length_size) == planned
        {
            skipping.skipped.push(Reverse(rank as u64));
            self.skipped += 1;
            return Ok(());
        }
        self.pending = !self.send()?;
        Ok(())
    }

    /// Sends the packet last read; false when the decoder must give frames first.
    fn send(&mut self) -> Result<bool> {
        match self.stream.send() {
            Ok(taken) => Ok(taken),
            // A packet the decoder refuses.
            Err(error) => self.refused(error).map(|()| true),
        }
    }

    /// Goes on without a packet or frame the decoder refused, as FFmpeg's own program does,
    /// unless it refuses everything. When skipping, the stream is decoded again in full: a
    /// refused packet would make the count disagree anyway.
    fn refused(&mut self, error: Error) -> Result<()> {
        self.failures += 1;
        if self.failures > MAX_FAILURES_IN_A_ROW {
            return Err(error);
        }
        self.refused.get_or_insert(error);
        if self.skipping.is_some() {
            self.decode_everything()?;
        }
        Ok(())
    }

    /// The reference's number for the frame just given (presentation time `pts`), `None`
    /// when skipping cannot tell it.
    fn number(&mut self, pts: i64) -> Option<u64> {
        match &mut self.skipping {
            None => Some(self.given),
            Some(skipping) => skipping.number(pts, self.given),
        }
    }

    /// Starts again from the first packet, decoding every one.
    fn decode_everything(&mut self) -> Result<()> {
        self.stream = Stream::open(&self.path, true, self.max_pixels)?;
        self.skipping = None;
        self.given = 0;
        self.skipped = 0;
        self.pending = false;
        self.flushed = false;
        self.refused = None;
        self.failures = 0;
        Ok(())
    }

    fn check_time(&self) -> Result<()> {
        if Instant::now() >= self.deadline {
            return Err(Error::Timeout(self.timeout.as_secs()));
        }
        Ok(())
    }

    fn too_long(&self, frames: u64) -> Error {
        Error::TooLong {
            seconds: frames as f64 / self.fps,
            limit: self.max_seconds,
        }
    }
}

/// Which packets (in decoding order, each with its rank among the presentation times,
/// `None` for one the demuxer discards, and what it holds) need not be decoded for the
/// frames whose rank is a multiple of `step` to decode exactly as when every packet is.
///
/// A packet is needed when it is sampled, has no rank, or holds more than a picture Ward
/// can judge. The stream falls into runs that each start at an IDR picture. Within a run, a
/// packet that is not needed is skipped when it is a non-reference picture, or when it
/// comes after the run's last needed packet: every picture before that is decoded, and
/// nothing after the next IDR picture refers back past it.
fn unneeded_packets(packets: &[(Option<u64>, nal::Access)], step: u64) -> Vec<bool> {
    let needed = |&(rank, access): &(Option<u64>, nal::Access)| {
        rank.is_none_or(|rank| rank.is_multiple_of(step)) || !access.only_a_picture()
    };
    let mut skip = vec![false; packets.len()];
    let mut start = 0;
    while start < packets.len() {
        let end = packets[start + 1..]
            .iter()
            .position(|(_, access)| access.picture == Some(nal::Picture::Idr))
            .map_or(packets.len(), |p| start + 1 + p);
        let run = &packets[start..end];
        let last_needed = run.iter().rposition(needed);
        for (i, packet) in run.iter().enumerate() {
            skip[start + i] = !needed(packet)
                && (last_needed.is_none_or(|last| i > last)
                    || packet.1.picture == Some(nal::Picture::NonReference));
        }
        start = end;
    }
    skip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/video")
            .join(name)
    }

    fn all(frames: &mut Frames) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rgb = Vec::new();
        while let Some(number) = frames.next(&mut rgb).unwrap() {
            out.push((number, rgb.clone()));
        }
        out
    }

    #[test]
    fn skipping_gives_the_frames_decoding_everything_gives() {
        // H.264 and HEVC with B-frames (x264's and x265's defaults), at the reference's 1
        // frame a second and at other steps, against the same video decoded packet by packet.
        for (name, seconds) in [
            ("chair-20-sd-bar.mp4", 1.0),
            ("doorknob-hd-no-bar.mp4", 1.0),
            ("gen-clip5s-copy.mp4", 1.0),
            ("gen-original.mp4", 1.0),
            ("gen-original.mp4", 0.2),
            ("gen-vfr.mp4", 1.0),
            ("gen-bt709.mp4", 0.5),
            ("gen-hevc.mp4", 1.0),
            ("gen-hevc.mp4", 0.2),
        ] {
            let options = VideoOptions {
                seconds_per_hash: seconds,
                ..VideoOptions::default()
            };
            let mut skipping = Frames::open(&video(name), &options).unwrap();
            assert!(skipping.skipping(), "{name}");
            let mut everything = Frames::open(&video(name), &options).unwrap();
            everything.skipping = None;
            let (fast, slow) = (all(&mut skipping), all(&mut everything));
            assert!(skipping.skipped > 0, "{name}: nothing skipped");
            assert_eq!(everything.skipped, 0);
            assert!(!fast.is_empty());
            let numbers = |f: &[(u64, Vec<u8>)]| f.iter().map(|(n, _)| *n).collect::<Vec<_>>();
            assert_eq!(numbers(&fast), numbers(&slow), "{name} at {seconds} s");
            assert!(fast == slow, "{name} at {seconds} s: frames differ");
            eprintln!(
                "{name} every {seconds} s: {} of {} packets skipped",
                skipping.skipped,
                skipping.given + skipping.skipped
            );
        }
    }

    #[test]
    fn packets_no_sampled_frame_needs_are_skipped() {
        // Packets in decoding order: I an IDR picture, J one with parameter sets, P a
        // reference picture, S one with parameter sets, b a non-reference picture, ? one Ward
        // cannot judge, each followed by its rank; D a packet the demuxer discards (no rank).
        let check = |step: u64, packets: &str, expected: &[u64]| {
            let parsed: Vec<(Option<u64>, nal::Access)> = packets
                .split_whitespace()
                .map(|token| {
                    let (kind, rank) = token.split_at(1);
                    let (picture, others) = match kind {
                        "I" => (Some(nal::Picture::Idr), false),
                        "J" => (Some(nal::Picture::Idr), true),
                        "P" | "D" => (Some(nal::Picture::Reference), false),
                        "S" => (Some(nal::Picture::Reference), true),
                        "b" => (Some(nal::Picture::NonReference), false),
                        _ => (None, true),
                    };
                    (rank.parse().ok(), nal::Access { picture, others })
                })
                .collect();
            let skipped: Vec<u64> = parsed
                .iter()
                .zip(unneeded_packets(&parsed, step))
                .filter(|(_, skip)| *skip)
                .filter_map(|((rank, _), _)| *rank)
                .collect();
            assert_eq!(skipped, expected, "every {step}: {packets}");
        };
        // Non-reference pictures between samples; after the last sample of a run (4), the
        // rest up to the next IDR picture; a reference picture the sample needs (2) stays.
        check(4, "I0 P2 b1 P4 b3 P6 b5 I7 P9 b8 P10", &[1, 3, 6, 5, 10]);
        // A reference picture decoded before the sample it precedes in display order.
        check(4, "I0 P5 b1 b2 b3 b4 P8 b6 b7", &[1, 2, 3, 6, 7]);
        // A run without a sample is skipped whole, its IDR picture too.
        check(10, "I0 b1 I2 P3 b4 I10 P11", &[1, 2, 3, 4, 11]);
        // Parameter sets and what Ward cannot judge are decoded, and so is all before them.
        check(10, "I0 P1 S2 P3", &[3]);
        check(10, "I0 P1 ?2 b3 P4", &[3, 4]);
        check(5, "J0 P1 b2 J3 P4 J5 P6", &[1, 2, 4, 6]);
        // A packet the demuxer discards is decoded (it may be a reference).
        check(5, "I0 P2 D b1", &[1]);
        check(5, "I0 P2 b1", &[2, 1]);
        // A stream that does not start with an IDR picture.
        check(2, "P0 b1 P2 P3 I4 P5", &[1, 3, 5]);
        check(1, "I0 P2 b1", &[]);
        check(3, "", &[]);
    }

    #[test]
    fn every_frame_decodes_every_packet() {
        let options = VideoOptions {
            seconds_per_hash: 0.0,
            ..VideoOptions::default()
        };
        let mut frames = Frames::open(&video("gen-original.mp4"), &options).unwrap();
        assert!(!frames.skipping());
        let numbers: Vec<u64> = all(&mut frames).into_iter().map(|(n, _)| n).collect();
        assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn frames_are_numbered_by_rank_only_when_the_count_agrees() {
        // Presentation times 0, 10, 20, ... 90; `skip` are the ranks skipped before the
        // frames are given, `given` the times the decoder gives, `expected` the numbers
        // (None: the numbering cannot be trusted, decode everything instead).
        type Case<'a> = (&'a [u64], &'a [i64], &'a [Option<u64>]);
        let cases: &[Case] = &[
            (&[], &[0, 10, 20], &[Some(0), Some(1), Some(2)]),
            (&[1, 3], &[0, 20, 40], &[Some(0), Some(2), Some(4)]),
            (&[1, 2], &[0, 30], &[Some(0), Some(3)]),
            // A frame the decoder dropped (time 10 never given): the count falls behind.
            (&[], &[0, 20], &[Some(0), None]),
            // A time the packets never had.
            (&[], &[0, 15], &[Some(0), None]),
            // Out of order: rank 2 given before rank 1.
            (&[], &[0, 20, 10], &[Some(0), None, None]),
        ];
        for (skip, given, expected) in cases {
            let mut skipping = Skipping {
                order: (0..10).map(|i| i * 10).collect(),
                unneeded: vec![None; 10],
                codec: nal::Codec::H264,
                length_size: 4,
                skipped: skip.iter().map(|&r| Reverse(r)).collect(),
                skipped_before: 0,
            };
            let numbers: Vec<Option<u64>> = given
                .iter()
                .enumerate()
                .map(|(i, &pts)| skipping.number(pts, i as u64))
                .collect();
            assert_eq!(&numbers, expected, "skipped {skip:?}, given {given:?}");
        }
    }
}
