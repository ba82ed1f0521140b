//! Times Ward's vPDQ on videos (used by bench/vpdq-vs-reference.sh): one JSON line per video
//! with the wall time, the processor time of the whole process (every thread), the frames
//! hashed and their hashes, so the script can check them against the reference's.

use std::path::Path;
use std::time::Instant;

use ward_core::video::{VideoOptions, hash_video};

fn main() {
    let mut seconds_per_hash = 1.0;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds-per-hash" => {
                seconds_per_hash = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds-per-hash S");
            }
            _ => paths.push(arg),
        }
    }
    let options = VideoOptions {
        seconds_per_hash,
        ..VideoOptions::default()
    };
    for path in paths {
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        match hash_video(Path::new(&path), &options) {
            Ok(video) => {
                let seconds = started.elapsed().as_secs_f64();
                let cpu = cpu_seconds() - cpu_started;
                let frames = video.vpdq.frames().len();
                let hashes: Vec<String> = video
                    .vpdq
                    .frames()
                    .iter()
                    .map(|f| format!("\"{},{},{}\"", f.frame, f.quality, f.hash))
                    .collect();
                println!(
                    "{{\"path\":\"{path}\",\"seconds\":{seconds:.4},\"cpu_seconds\":{cpu:.4},\"frames\":{frames},\"frames_per_second\":{:.1},\"hashes\":[{}]}}",
                    frames as f64 / seconds,
                    hashes.join(",")
                );
            }
            Err(e) => println!("{{\"path\":\"{path}\",\"error\":\"{e}\"}}"),
        }
    }
}

/// The processor time this process has used so far, all its threads together.
fn cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, a local here.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}
