//! vPDQ in the video worker: `python -m ward._video_worker` calls
//! [`hash_video_in_process`] and prints what it returns, so that FFmpeg's codecs run in a
//! child process and a crash there costs only the child (`ward.hash_video` in Python runs
//! the child, with a time limit, as the CLI's `video_worker.rs` does).

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use serde_json::{Value, json};
use ward_core::video::{self, VideoOptions};

/// Decodes and hashes the video at `path` in this process, and gives the answer as one
/// line of JSON: `{"frames": [[frame_number, quality, pdq_hex, timestamp], ...]}` or
/// `{"error": {"kind": ..., "message": ...}}`. Only for the worker process: a crashing codec
/// takes the calling process down with it.
#[pyfunction]
#[pyo3(signature = (path, seconds_per_hash, max_duration, max_frame_pixels, timeout, threads))]
pub fn hash_video_in_process(
    py: Python<'_>,
    path: PathBuf,
    seconds_per_hash: f64,
    max_duration: u64,
    max_frame_pixels: u64,
    timeout: u64,
    threads: usize,
) -> String {
    let options = VideoOptions {
        seconds_per_hash,
        max_duration: Duration::from_secs(max_duration),
        max_frame_pixels,
        timeout: Duration::from_secs(timeout),
        threads,
        ..VideoOptions::default()
    };
    let answer = py.allow_threads(|| match video::hash_video(&path, &options) {
        Ok(hashed) if hashed.vpdq.is_empty() => error(&ward_core::Error::Corrupt {
            format: "video",
            message: "no frames could be decoded".into(),
        }),
        Ok(hashed) => {
            let frames: Vec<Value> = hashed
                .vpdq
                .frames()
                .iter()
                .map(|f| json!([f.frame, f.quality.get(), f.hash.to_string(), f.timestamp]))
                .collect();
            json!({ "frames": frames })
        }
        Err(e) => error(&e),
    });
    answer.to_string()
}

/// The error as the Python side raises it again: its `ward.errors` class and message.
fn error(error: &ward_core::Error) -> Value {
    let (class, kind) = crate::errors::class_of(error);
    json!({"error": {"class": class, "kind": kind, "message": error.to_string()}})
}
