//! Builds the thin C layer over FFmpeg's libraries (`src/video/libav.c`) against the
//! installed headers, found with pkg-config (Debian: libavcodec-dev libavformat-dev
//! libavutil-dev libswscale-dev), and links ward-core to those libraries.

fn main() {
    const SHIM: &str = "src/video/libav.c";
    println!("cargo:rerun-if-changed={SHIM}");
    let mut build = cc::Build::new();
    for library in ["libavformat", "libavcodec", "libavutil", "libswscale"] {
        match pkg_config::Config::new()
            .atleast_version(minimum(library))
            .probe(library)
        {
            Ok(found) => {
                for path in found.include_paths {
                    build.include(path);
                }
            }
            Err(error) => panic!(
                "ward-core decodes video with FFmpeg's libraries and needs their development \
                 files ({library}: {error}); on Debian: apt-get install pkg-config \
                 libavcodec-dev libavformat-dev libavutil-dev libswscale-dev"
            ),
        }
    }
    build
        .file(SHIM)
        .warnings(true)
        .extra_warnings(true)
        .compile("ward_libav");
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
