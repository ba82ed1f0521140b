//! Builds the thin C layer over FFmpeg's libraries (`src/video/libav.c`) against the
//! installed headers, found with pkg-config (Debian: libavcodec-dev libavformat-dev
//! libavutil-dev libswscale-dev), and links ward-core to those libraries.
//!
//! Where they are not installed, ward-core is built without video decoding (the
//! `ward_no_ffmpeg` cfg; `src/video/libav_absent.rs`) and says so in a warning: images hash
//! exactly as in a full build, and hashing a video fails with a message saying what to
//! install. `WARD_REQUIRE_FFMPEG=1` makes their absence an error instead, for builds that
//! must decode video (packages, releases). Installing the libraries later makes cargo run
//! this again, through the pkg-config directories it watches while they are missing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIBRARIES: [&str; 4] = ["libavformat", "libavcodec", "libavutil", "libswscale"];

fn main() {
    const SHIM: &str = "src/video/libav.c";
    println!("cargo:rerun-if-changed={SHIM}");
    println!("cargo:rerun-if-env-changed=WARD_REQUIRE_FFMPEG");
    println!("cargo::rustc-check-cfg=cfg(ward_no_ffmpeg)");
    let mut build = cc::Build::new();
    let mut missing = Vec::new();
    for library in LIBRARIES {
        match pkg_config::Config::new()
            .atleast_version(minimum(library))
            .probe(library)
        {
            Ok(found) => {
                for path in found.include_paths {
                    build.include(path);
                }
            }
            Err(error) => missing.push((library, error)),
        }
    }
    if missing.is_empty() {
        build
            .file(SHIM)
            .warnings(true)
            .extra_warnings(true)
            .compile("ward_libav");
        return;
    }
    let install = "on Debian: apt-get install pkg-config libavcodec-dev libavformat-dev \
                   libavutil-dev libswscale-dev";
    if env::var_os("WARD_REQUIRE_FFMPEG").is_some_and(|v| v != "0" && !v.is_empty()) {
        panic!(
            "ward-core decodes video with FFmpeg's libraries (5.0 or later) and needs their \
             development files ({}); {install}",
            missing
                .iter()
                .map(|(library, error)| format!("{library}: {}", first_line(&error.to_string())))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    for dir in pkg_config_dirs() {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    println!("cargo:rustc-cfg=ward_no_ffmpeg");
    println!(
        "cargo:warning=FFmpeg's libraries (5.0 or later) were not found ({}): this build \
         hashes images but decodes no video; {install}",
        missing
            .iter()
            .map(|(library, _)| *library)
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// FFmpeg 5.0 (the send/receive API with `AVCodecParameters`, `const AVCodec`).
fn minimum(library: &str) -> &'static str {
    match library {
        "libavformat" => "59.0",
        "libavcodec" => "59.0",
        "libavutil" => "57.0",
        _ => "6.0",
    }
}

/// The directories pkg-config searches that exist, watched while FFmpeg is missing, so that
/// installing its development files (which adds `.pc` files to one of them) makes cargo run
/// this script again. A
/// directory that does not exist is left out: cargo would run the script on every build.
fn pkg_config_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(path) = env::var_os("PKG_CONFIG_PATH") {
        dirs.extend(env::split_paths(&path));
    }
    let searched = Command::new("pkg-config")
        .args(["--variable", "pc_path", "pkg-config"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    match searched {
        Some(list) => dirs.extend(env::split_paths(&list)),
        // No pkg-config yet: Debian's directories, where it and the libraries will go.
        None => {
            let multiarch = format!(
                "/usr/lib/{}-linux-gnu/pkgconfig",
                env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default()
            );
            dirs.extend(
                [
                    multiarch.as_str(),
                    "/usr/lib/pkgconfig",
                    "/usr/share/pkgconfig",
                ]
                .map(PathBuf::from),
            );
            // And the directory pkg-config itself will be installed into.
            dirs.push(PathBuf::from("/usr/bin"));
        }
    }
    dirs.retain(|dir| Path::new(dir).is_dir());
    dirs.dedup();
    dirs
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}
