//! FFmpeg as a child process: `ffprobe` for the stream's shape and frame rate, `ffmpeg` for
//! its frames as raw RGB24 on a pipe, both starting at once (`ffmpeg` waits for its filters,
//! which depend on the frame rate, on its standard input).
//!
//! A separate process, not the libav libraries in ours: a decoder that crashes on a hostile
//! file takes only itself down (the caller gets an error and carries on), it cannot corrupt
//! our memory, and it is killed when it runs past its time limit. The command is the one
//! whose frames equal the reference's (Meta's vPDQ built on the same FFmpeg): every frame
//! in decoding order, converted to RGB24 by swscale with area averaging and the BT.601
//! matrix at native size, no automatic rotation (the reference does not rotate either).

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{VideoInfo, VideoOptions};
use crate::error::{Error, Result};

/// Reads the first video stream's shape and frame rate.
pub(super) fn probe(path: &Path, options: &VideoOptions) -> Result<VideoInfo> {
    let mut command = Command::new(&options.ffprobe);
    command
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path);
    let output = run_with_deadline(command, options.timeout, &options.ffprobe)?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failure("not a readable video", &stderr));
    }
    let field = |name: &str| -> Option<&str> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
    };
    let number = |name: &str| {
        field(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let (Some(width), Some(height)) = (
        field("width").and_then(|v| v.parse().ok()),
        field("height").and_then(|v| v.parse().ok()),
    ) else {
        return Err(not_a_video("no video stream"));
    };
    let fps = field("avg_frame_rate")
        .and_then(rate)
        .or_else(|| field("r_frame_rate").and_then(rate));
    // The stream's duration, else the container's (some formats only have the latter).
    let duration = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| *k == "duration")
        .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
        .find(|d| d.is_finite() && *d >= 0.0);
    let frames = number("nb_frames").map(|n| n as u64);
    Ok(VideoInfo {
        width,
        height,
        fps,
        duration,
        frames,
    })
}

/// Runs `command` to completion, killing it at the deadline; keeps the first MiB of its
/// output.
pub(super) fn run_with_deadline(
    mut command: Command,
    timeout: Duration,
    program: &Path,
) -> Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_tool(program, e))?;
    // Drain both pipes on threads so that a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let stdout = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut out).take(1 << 20).read_to_end(&mut bytes);
        let _ = io::copy(&mut out, &mut io::sink());
        bytes
    });
    let stderr = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut err).take(1 << 16).read_to_end(&mut bytes);
        let _ = io::copy(&mut err, &mut io::sink());
        bytes
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::Decoder(format!("waiting: {e}")))?
        {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Timeout(timeout.as_secs()));
        }
        thread::sleep(Duration::from_millis(5));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// `"30000/1001"` as frames per second; `None` for `0/0` and the like.
fn rate(text: &str) -> Option<f64> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
    let fps = n / d;
    (fps.is_finite() && fps > 0.0).then_some(fps)
}

fn missing_tool(program: &Path, error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::NotFound {
        Error::Decoder(format!(
            "{} not found: install FFmpeg (Debian: apt-get install ffmpeg)",
            program.display()
        ))
    } else {
        Error::Decoder(format!("cannot run {}: {error}", program.display()))
    }
}

fn not_a_video(message: &str) -> Error {
    Error::Corrupt {
        format: "video",
        message: message.trim().to_string(),
    }
}

/// Stops a running decoder (its watchdog kills it within milliseconds).
#[derive(Clone, Debug)]
pub(super) struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub(super) fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A running `ffmpeg` streaming raw RGB24 frames, with a watchdog that kills it at the
/// deadline.
pub(super) struct Frames {
    stdout: ChildStdout,
    /// FFmpeg's standard input, until the filters are written to it.
    script: Option<ChildStdin>,
    frame_bytes: usize,
    watchdog: Option<JoinHandle<Option<std::process::ExitStatus>>>,
    stop: Arc<AtomicBool>,
    timed_out: Arc<AtomicBool>,
    stderr: Option<JoinHandle<String>>,
    timeout: Duration,
}

impl Frames {
    /// Starts `ffmpeg` on `path` before the stream's shape and rate are known, so that its
    /// start-up (loading some hundred shared libraries, opening and probing the input: about
    /// a tenth of a second, as long as decoding a short clip) overlaps `ffprobe`'s. FFmpeg
    /// reads its filters from its standard input (`-filter_script:v pipe:0`) only after it
    /// has opened the input, and waits there until [`Frames::begin`] writes them. Dropping
    /// the `Frames` before that (a probe that fails, a limit) kills it.
    pub(super) fn spawn(path: &Path, options: &VideoOptions) -> Result<Frames> {
        let mut command = Command::new(&options.ffmpeg);
        command
            .args(["-nostdin", "-v", "error", "-noautorotate", "-i"])
            .arg(path);
        command.args([
            "-map",
            "0:v:0",
            "-an",
            "-sn",
            "-dn",
            "-fps_mode",
            "passthrough",
            "-filter_script:v",
            "pipe:0",
        ]);
        let mut child: Child = command
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| missing_tool(&options.ffmpeg, e))?;
        let script = child.stdin.take();
        let stdout = child.stdout.take().expect("piped");
        enlarge_pipe(&stdout);
        let mut stderr_pipe = child.stderr.take().expect("piped");
        // Keep the first lines of what ffmpeg complains about, for the error message.
        let stderr = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = (&mut stderr_pipe).take(4096).read_to_end(&mut text);
            let _ = io::copy(&mut stderr_pipe, &mut io::sink());
            String::from_utf8_lossy(&text).into_owned()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let timed_out = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + options.timeout;
        let watchdog = {
            let (stop, timed_out) = (Arc::clone(&stop), Arc::clone(&timed_out));
            thread::spawn(move || {
                loop {
                    match child.try_wait() {
                        Ok(Some(status)) => return Some(status),
                        Ok(None) => {}
                        Err(_) => return None,
                    }
                    if stop.load(Ordering::Acquire) || Instant::now() >= deadline {
                        if !stop.load(Ordering::Acquire) {
                            timed_out.store(true, Ordering::Release);
                        }
                        let _ = child.kill();
                        return child.wait().ok();
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Ok(Frames {
            stdout,
            script,
            frame_bytes: 0,
            watchdog: Some(watchdog),
            stop,
            timed_out,
            stderr: Some(stderr),
            timeout: options.timeout,
        })
    }

    /// Lets the decoder go: frames of `info`'s size, only every `step`-th (0, step,
    /// 2 step, ...) converted and sent, the others dropped inside FFmpeg after decoding.
    pub(super) fn begin(&mut self, info: &VideoInfo, step: u64) -> Result<()> {
        // `n` counts decoded frames from 0, in the order the reference numbers them. The
        // reference's swscale context is made with area averaging and its default (BT.601)
        // matrix whatever the stream says, so the scale filter is told both.
        let convert = "scale=flags=area:in_color_matrix=bt601";
        let filters = if step > 1 {
            format!("select=not(mod(n\\,{step})),{convert}")
        } else {
            convert.to_string()
        };
        self.frame_bytes = info.width as usize * info.height as usize * 3;
        // Closing standard input ends the script. A decoder that already gave up (a file
        // it cannot open) has closed its end: its own message says why.
        let mut script = self.script.take().expect("begin is called once");
        let written = script.write_all(filters.as_bytes());
        drop(script);
        written.map_err(|_| self.failure("the decoder failed"))
    }

    /// A handle that stops the decoder from another thread.
    pub(super) fn stop_handle(&self) -> StopHandle {
        StopHandle(Arc::clone(&self.stop))
    }

    /// Reads the next frame into `buffer` (resized to one frame); false at the end.
    pub(super) fn next(&mut self, buffer: &mut Vec<u8>) -> Result<bool> {
        buffer.resize(self.frame_bytes, 0);
        let mut filled = 0;
        while filled < self.frame_bytes {
            match self.stdout.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Decoder(format!("reading frames: {e}"))),
            }
        }
        if self.timed_out.load(Ordering::Acquire) {
            return Err(Error::Timeout(self.timeout.as_secs()));
        }
        match filled {
            0 => Ok(false),
            n if n == self.frame_bytes => Ok(true),
            _ => Err(self.failure("the decoder stopped in the middle of a frame")),
        }
    }

    /// Waits for the decoder to exit and reports how it ended.
    pub(super) fn finish(mut self) -> Result<()> {
        let status = self.watchdog.take().and_then(|w| w.join().ok()).flatten();
        if self.timed_out.load(Ordering::Acquire) {
            return Err(Error::Timeout(self.timeout.as_secs()));
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|s| s.join().ok())
            .unwrap_or_default();
        match status {
            // A file cut short after its index decodes "successfully" up to the cut; FFmpeg
            // says so only in a message.
            Some(status) if status.success() && stderr.contains("partial file") => {
                Err(Error::Truncated { format: "video" })
            }
            Some(status) if status.success() => Ok(()),
            _ => Err(failure("the decoder failed", &stderr)),
        }
    }

    fn failure(&mut self, what: &str) -> Error {
        self.stop.store(true, Ordering::Release);
        let stderr = self
            .stderr
            .take()
            .and_then(|s| s.join().ok())
            .unwrap_or_default();
        failure(what, &stderr)
    }
}

/// Asks for a 1 MiB pipe (Linux's default is 64 KiB, a fraction of one frame): fewer
/// wake-ups of the two processes per frame. Best effort: the limit may be lower.
#[cfg(target_os = "linux")]
fn enlarge_pipe(pipe: &ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a pipe descriptor that `pipe` owns and keeps open; the call
    // reads and writes no memory of ours.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

#[cfg(not(target_os = "linux"))]
fn enlarge_pipe(_: &ChildStdout) {}

/// An error from FFmpeg's first message, without its `[demuxer @ 0x55...]` prefix (the
/// address changes from run to run).
pub(super) fn failure(what: &str, stderr: &str) -> Error {
    let detail = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let detail = match detail.split_once("] ") {
        Some((prefix, rest)) if prefix.starts_with('[') && prefix.contains(" @ 0x") => rest,
        _ => detail,
    };
    if detail.is_empty() {
        not_a_video(what)
    } else {
        not_a_video(&format!("{what}: {detail}"))
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        // Stop the decoder if the caller gives up early (an error, a limit).
        self.stop.store(true, Ordering::Release);
        if let Some(watchdog) = self.watchdog.take() {
            let _ = watchdog.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_messages_lose_their_addresses() {
        let check = |stderr: &str, expected: &str| match failure("failed", stderr) {
            Error::Corrupt { message, .. } => assert_eq!(message, expected),
            other => panic!("{other:?}"),
        };
        check(
            "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55bc5f0] moov atom not found\nmore",
            "failed: moov atom not found",
        );
        check("plain message", "failed: plain message");
        check("", "failed");
        check("[a] b", "failed: [a] b");
    }

    #[test]
    fn frame_rates_parse_as_ffprobe_prints_them() {
        assert_eq!(rate("30/1"), Some(30.0));
        assert!((rate("30000/1001").unwrap() - 29.97).abs() < 0.001);
        assert_eq!(rate("25"), Some(25.0));
        assert_eq!(rate("0/0"), None);
        assert_eq!(rate("N/A"), None);
    }
}
