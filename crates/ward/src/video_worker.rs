//! Videos are decoded in a child process, never in ours: `ward video-worker` (this binary,
//! run again) opens the file with FFmpeg's libraries, hashes it and prints the result as
//! one JSON line. A codec that crashes or runs wild on a hostile file takes down only that
//! child; the server or the scan gets an error and carries on, and a child that outlives
//! its time limit is killed.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ward_core::pdq::{PdqHash, Quality};
use ward_core::video::{self, FrameHash, HashedVideo, VideoInfo, VideoOptions, Vpdq};

/// The subcommand the child runs (hidden from `ward --help`).
pub const SUBCOMMAND: &str = "video-worker";

/// The environment variable naming another worker program (tests use it to stand in a
/// worker that hangs or crashes).
const WORKER_ENV: &str = "WARD_VIDEO_WORKER";

/// How long past the decoder's own time limit the child is given before it is killed.
const GRACE: Duration = Duration::from_secs(5);

/// Hashes the video at `path` in a `ward video-worker` child.
pub fn hash_video(path: &Path, options: &VideoOptions) -> ward_core::Result<HashedVideo> {
    if !ward_core::video::DECODES_VIDEO {
        return Err(ward_core::Error::NoVideoDecoder);
    }
    let program = worker_program()?;
    let mut command = Command::new(&program);
    command
        .arg(SUBCOMMAND)
        .arg("--seconds-per-hash")
        .arg(options.seconds_per_hash.to_string())
        .arg("--max-duration")
        .arg(options.max_duration.as_secs().to_string())
        .arg("--max-frame-pixels")
        .arg(options.max_frame_pixels.to_string())
        .arg("--decoder-timeout")
        .arg(options.timeout.as_secs().max(1).to_string())
        .arg("--threads")
        .arg(options.threads.to_string());
    if options.trim_bars {
        command.arg("--trim-bars");
    }
    command.arg("--").arg(path);
    let (status, stdout, stderr) = run(command, options.timeout + GRACE, &program)?;
    let line = String::from_utf8_lossy(&stdout);
    match serde_json::from_str::<Value>(line.trim()) {
        Ok(answer) if status.success() || answer.get("error").is_some() => read_answer(&answer),
        _ => Err(ward_core::Error::Decoder(match status_signal(&status) {
            Some(signal) => format!("the video decoder crashed (signal {signal})"),
            None => {
                let said = String::from_utf8_lossy(&stderr);
                let said = said.lines().next().unwrap_or("").trim();
                format!("the video decoder failed ({status}) {said}")
                    .trim()
                    .to_string()
            }
        })),
    }
}

/// The program to run as the worker: this one, or beside a test harness in `deps/`, the
/// `ward` binary Cargo built next to it.
fn worker_program() -> ward_core::Result<PathBuf> {
    if let Some(program) = std::env::var_os(WORKER_ENV) {
        return Ok(PathBuf::from(program));
    }
    let exe = std::env::current_exe()
        .map_err(|e| ward_core::Error::Decoder(format!("cannot find the ward program: {e}")))?;
    match exe.parent() {
        Some(deps) if deps.file_name().is_some_and(|n| n == "deps") => Ok(deps
            .parent()
            .unwrap_or(deps)
            .join(format!("ward{}", std::env::consts::EXE_SUFFIX))),
        _ => Ok(exe),
    }
}

/// Runs the child to its end or the deadline; keeps its output (bounded).
fn run(
    mut command: Command,
    limit: Duration,
    program: &Path,
) -> ward_core::Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            ward_core::Error::Decoder(format!(
                "cannot run the video decoder {}: {e}",
                program.display()
            ))
        })?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    // A vPDQ of every frame of a four-hour 60 fps video is some 90 MB of JSON.
    let stdout = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut out).take(256 << 20).read_to_end(&mut bytes);
        let _ = io::copy(&mut out, &mut io::sink());
        bytes
    });
    let stderr = thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut err).take(4096).read_to_end(&mut bytes);
        let _ = io::copy(&mut err, &mut io::sink());
        bytes
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(ward_core::Error::Decoder(format!("waiting: {e}"))),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ward_core::Error::Timeout(
                limit.saturating_sub(GRACE).as_secs(),
            ));
        }
        thread::sleep(Duration::from_millis(5));
    };
    Ok((
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

#[cfg(unix)]
fn status_signal(status: &ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn status_signal(_: &ExitStatus) -> Option<i32> {
    None
}

/// The child's side: hashes `path` in this process and prints the answer.
pub fn serve(path: &Path, options: &VideoOptions) -> String {
    write_answer(&video::hash_video(path, options))
}

/// The answer as one JSON line: the hashed video, or the error in its parts.
fn write_answer(result: &ward_core::Result<HashedVideo>) -> String {
    let frames = |vpdq: &Vpdq| -> Value {
        vpdq.frames()
            .iter()
            .map(|f| json!([f.frame, f.quality.get(), f.hash.to_string(), f.timestamp]))
            .collect()
    };
    let value = match result {
        Ok(hashed) => json!({
            "info": {
                "width": hashed.info.width,
                "height": hashed.info.height,
                "fps": hashed.info.fps,
                "duration": hashed.info.duration,
                "frames": hashed.info.frames,
            },
            "vpdq": frames(&hashed.vpdq),
            "trimmed": hashed.trimmed.as_ref().map(frames),
        }),
        Err(error) => json!({"error": error_parts(error)}),
    };
    value.to_string()
}

fn error_parts(error: &ward_core::Error) -> Value {
    use ward_core::Error as E;
    match error {
        E::Truncated { .. } => json!({"kind": "truncated"}),
        E::Corrupt { message, .. } => json!({"kind": "corrupt", "message": message}),
        E::Unsupported { message, .. } => json!({"kind": "unsupported", "message": message}),
        E::TooLarge {
            width,
            height,
            limit,
        } => json!({"kind": "too_large", "width": width, "height": height, "limit": limit}),
        E::TooLong { seconds, limit } => {
            json!({"kind": "too_long", "seconds": seconds, "limit": limit})
        }
        E::Timeout(seconds) => json!({"kind": "timeout", "seconds": seconds}),
        E::InvalidOption(message) => json!({"kind": "invalid_option", "message": message}),
        E::Decoder(message) => json!({"kind": "decoder", "message": message}),
        // Nothing else comes out of hashing a video; said in words if it ever does.
        other => json!({"kind": "decoder", "message": other.to_string()}),
    }
}

/// Reads the child's answer back into a hashed video or ward-core's error.
fn read_answer(answer: &Value) -> ward_core::Result<HashedVideo> {
    let malformed = || ward_core::Error::Decoder("the video decoder's answer is malformed".into());
    if let Some(error) = answer.get("error") {
        let text = |key: &str| error[key].as_str().unwrap_or_default().to_string();
        let number = |key: &str| error[key].as_u64().unwrap_or_default();
        return Err(match error["kind"].as_str().unwrap_or_default() {
            "truncated" => ward_core::Error::Truncated { format: "video" },
            "corrupt" => ward_core::Error::Corrupt {
                format: "video",
                message: text("message"),
            },
            "unsupported" => ward_core::Error::Unsupported {
                format: "video",
                message: text("message"),
            },
            "too_large" => ward_core::Error::TooLarge {
                width: number("width"),
                height: number("height"),
                limit: number("limit"),
            },
            "too_long" => ward_core::Error::TooLong {
                seconds: error["seconds"].as_f64().unwrap_or_default(),
                limit: number("limit"),
            },
            "timeout" => ward_core::Error::Timeout(number("seconds")),
            "invalid_option" => ward_core::Error::InvalidOption(text("message")),
            _ => ward_core::Error::Decoder(text("message")),
        });
    }
    let frames = |value: &Value| -> Option<Vpdq> {
        let mut frames = Vec::new();
        for frame in value.as_array()? {
            frames.push(FrameHash {
                frame: frame[0].as_u64()?,
                quality: Quality::new(u8::try_from(frame[1].as_u64()?).ok()?)?,
                hash: frame[2].as_str()?.parse::<PdqHash>().ok()?,
                timestamp: frame[3].as_f64()?,
            });
        }
        Some(Vpdq::new(frames))
    };
    let info = &answer["info"];
    Ok(HashedVideo {
        info: VideoInfo {
            width: info["width"]
                .as_u64()
                .and_then(|w| w.try_into().ok())
                .ok_or_else(malformed)?,
            height: info["height"]
                .as_u64()
                .and_then(|h| h.try_into().ok())
                .ok_or_else(malformed)?,
            fps: info["fps"].as_f64(),
            duration: info["duration"].as_f64(),
            frames: info["frames"].as_u64(),
        },
        vpdq: frames(&answer["vpdq"]).ok_or_else(malformed)?,
        trimmed: match &answer["trimmed"] {
            Value::Null => None,
            trimmed => Some(frames(trimmed).ok_or_else(malformed)?),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, q: u8, word: u64) -> FrameHash {
        FrameHash {
            frame: n,
            quality: Quality::new(q).unwrap(),
            hash: PdqHash::from_words([word, !word, word << 3, 7]),
            timestamp: f64::from(n as f32 / (30000.0f32 / 1001.0)),
        }
    }

    #[test]
    fn answers_read_back_as_they_were_written() {
        let hashed = HashedVideo {
            info: VideoInfo {
                width: 1280,
                height: 720,
                fps: Some(30000.0 / 1001.0),
                duration: Some(60.06),
                frames: Some(1800),
            },
            vpdq: Vpdq::new(vec![frame(0, 100, 1), frame(29, 49, 0xdead_beef)]),
            trimmed: Some(Vpdq::new(vec![frame(0, 80, 3)])),
        };
        let untrimmed = HashedVideo {
            trimmed: None,
            info: VideoInfo {
                fps: None,
                duration: None,
                frames: None,
                ..hashed.info.clone()
            },
            ..hashed.clone()
        };
        for video in [hashed, untrimmed] {
            let line = write_answer(&Ok(video.clone()));
            let answer: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(read_answer(&answer).unwrap(), video);
        }
    }

    #[test]
    fn errors_read_back_as_they_were_written() {
        use ward_core::Error as E;
        let errors = [
            E::Truncated { format: "video" },
            E::Corrupt {
                format: "video",
                message: "moov atom not found".into(),
            },
            E::TooLarge {
                width: 9000,
                height: 9000,
                limit: 100,
            },
            E::TooLong {
                seconds: 7.5,
                limit: 2,
            },
            E::Timeout(3),
            E::InvalidOption("seconds per hash must be 0 or more".into()),
            E::Decoder("stopped".into()),
        ];
        for error in errors {
            let line = write_answer(&Err(error));
            let answer: Value = serde_json::from_str(&line).unwrap();
            let back = read_answer(&answer).unwrap_err();
            let error = serde_json::from_str::<Value>(&line).unwrap();
            assert_eq!(write_answer(&Err(back)), error.to_string(), "{line}");
        }
    }

    #[test]
    fn malformed_answers_are_decoder_errors() {
        for line in [
            r#"{"info":{"width":1},"vpdq":[]}"#,
            r#"{"info":{"width":1,"height":1},"vpdq":[[0,101,"00",0]]}"#,
            r#"{"info":{"width":1,"height":1},"vpdq":"no"}"#,
        ] {
            let answer: Value = serde_json::from_str(line).unwrap();
            assert!(
                matches!(read_answer(&answer), Err(ward_core::Error::Decoder(_))),
                "{line}"
            );
        }
    }
}
