//! FFmpeg's programs as child processes, for the keyframe grid an analyst's page shows:
//! `ffprobe` for the stream's shape and `ffmpeg` to draw the grid, each killed at the
//! deadline, so that a server showing a hostile video never decodes it in its own memory.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
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
