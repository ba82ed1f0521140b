//! Video: Ward's vPDQ against Meta's reference run on the same FFmpeg, matching of variants,
//! clips and unrelated videos, and the keyframe grids analysts see instead of playing a video.

use std::path::PathBuf;

use ward_core::Error;
use ward_core::pdq::Quality;
use ward_core::video::{
    CompareOptions, GridShape, HashedVideo, VideoOptions, Vpdq, compare, hash_video, keyframe_grid,
};

use crate::testdata;

fn video(name: &str) -> PathBuf {
    testdata().join("video").join(name)
}

fn hash(name: &str, seconds_per_hash: f64) -> Vpdq {
    let options = VideoOptions {
        seconds_per_hash,
        ..VideoOptions::default()
    };
    hash_video(&video(name), &options)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .vpdq
}

fn read(path: PathBuf) -> Vpdq {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Vpdq::parse_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Goldens where the reference misses the last frames of the video: when the video stream is
/// not the file's first, Meta's vpdq stops reading at the end of the file without draining the
/// decoder of the frames it holds back for reordering (`has_b_frames`, 2 here). FFmpeg itself,
/// `ffprobe -count_frames` and the container's frame count all say 360 frames; Ward hashes all
/// of them. At one hash a second the lost frames are not sampled, so only every-frame differs.
const REFERENCE_LOSES_LAST_FRAMES: &[(&str, usize)] = &[("gen-other.every-frame.txt", 2)];

/// Every golden (made by the PyPI `vpdq` package, Meta's C++ vPDQ, on this FFmpeg; see
/// testdata/vpdq/generate_goldens.py), every frame and one a second: same frame numbers and
/// timestamps, equal quality, every hash within 2 bits. Prints how many are exact.
#[test]
fn vpdq_matches_the_reference_on_the_same_ffmpeg() {
    let dir = testdata().join("vpdq/goldens");
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".txt"))
        .collect();
    goldens.sort();
    assert!(goldens.len() >= 10, "only {} golden files", goldens.len());
    let (mut frames, mut exact) = (0usize, 0usize);
    for golden in goldens {
        let name = golden.file_name().unwrap().to_string_lossy().to_string();
        let (stem, seconds_per_hash) = if let Some(stem) = name.strip_suffix(".every-frame.txt") {
            (stem.to_string(), 0.0)
        } else if let Some(stem) = name.strip_suffix(".per-second.txt") {
            (stem.to_string(), 1.0)
        } else {
            continue;
        };
        let expected = read(golden.clone());
        let mut actual = hash(&format!("{stem}.mp4"), seconds_per_hash);
        if let Some(&(_, extra)) = REFERENCE_LOSES_LAST_FRAMES.iter().find(|(n, _)| *n == name) {
            // Ward has the frames the reference loses: check that they are the last ones.
            let frames = actual.frames();
            assert_eq!(frames.len(), expected.frames().len() + extra, "{name}");
            assert_eq!(frames.last().unwrap().frame as usize, frames.len() - 1);
            actual = Vpdq::new(frames[..expected.frames().len()].to_vec());
        }
        assert_eq!(
            actual.frames().len(),
            expected.frames().len(),
            "{name}: frame count"
        );
        let mut here = 0;
        for (a, e) in actual.frames().iter().zip(expected.frames()) {
            assert_eq!(a.frame, e.frame, "{name}");
            assert!(
                (a.timestamp - e.timestamp).abs() < 0.0005,
                "{name} frame {}: {} vs {}",
                a.frame,
                a.timestamp,
                e.timestamp
            );
            assert_eq!(a.quality, e.quality, "{name} frame {}", a.frame);
            let distance = a.hash.distance(&e.hash);
            assert!(
                distance <= 2,
                "{name} frame {}: distance {distance}",
                a.frame
            );
            here += usize::from(distance == 0);
        }
        eprintln!(
            "vpdq {name}: {here} of {} frames exact",
            expected.frames().len()
        );
        frames += expected.frames().len();
        exact += here;
    }
    eprintln!("vpdq: {exact} of {frames} frames exact");
    assert!(frames > 1000);
}

/// Meta's shipped sample hashes come from another FFmpeg build: only Meta's own tolerance
/// holds (same frame numbers, distance below 31 where both qualities are at least 50).
#[test]
fn vpdq_is_within_meta_tolerance_of_the_shipped_sample_hashes() {
    let dir = testdata().join("vpdq/meta-sample-hashes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let expected = read(file.clone());
        let actual = hash(&format!("{stem}.mp4"), 0.0);
        assert_eq!(actual.frames().len(), expected.frames().len(), "{stem}");
        let mut histogram = [0usize; 4];
        for (a, e) in actual.frames().iter().zip(expected.frames()) {
            assert_eq!(a.frame, e.frame, "{stem}");
            let d = a.hash.distance(&e.hash);
            if a.quality >= Quality::MATCHABLE && e.quality >= Quality::MATCHABLE {
                assert!(d < 31, "{stem} frame {}: distance {d}", a.frame);
            }
            histogram[match d {
                0 => 0,
                1..=2 => 1,
                3..=30 => 2,
                _ => 3,
            }] += 1;
        }
        eprintln!(
            "meta sample {stem}: exact {}, 1-2 bits {}, 3-30 bits {}, 31+ bits {}",
            histogram[0], histogram[1], histogram[2], histogram[3]
        );
    }
}

fn hash_trimmed(path: PathBuf) -> HashedVideo {
    let options = VideoOptions {
        trim_bars: true,
        ..VideoOptions::default()
    };
    hash_video(&path, &options).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Variants of a video match it; a clip matches the video it was cut from (in the
/// clip-to-video direction); different videos do not match.
#[test]
fn variants_and_clips_match_and_others_do_not() {
    let options = CompareOptions::default();
    let original = hash("gen-original.mp4", 1.0);
    for variant in ["gen-reencoded.mp4", "gen-resized.mp4", "gen-logo.mp4"] {
        let query = hash(variant, 1.0);
        let m = compare(&query, &original, &options);
        eprintln!(
            "{variant} vs original: query {:.1}%, compared {:.1}%",
            m.query_share, m.compared_share
        );
        assert!(m.is_match(&options), "{variant}: {m:?}");
        let back = compare(&original, &query, &options);
        assert!(back.is_match(&options), "original vs {variant}: {back:?}");
    }
    let clip = hash("gen-clip5s.mp4", 1.0);
    let m = compare(&clip, &original, &options);
    eprintln!(
        "clip vs original: query {:.1}%, compared {:.1}%",
        m.query_share, m.compared_share
    );
    assert!(m.is_match(&options), "clip: {m:?}");
    // The other way, most of the original is not in the clip.
    assert!(!compare(&original, &clip, &options).is_match(&options));

    let other = hash("gen-other.mp4", 1.0);
    for (name, video) in [("other", &other), ("clip", &clip)] {
        let m = compare(video, &original, &options);
        let back = compare(&original, video, &options);
        eprintln!("{name}: {m:?}, back {back:?}");
    }
    let m = compare(&other, &original, &options);
    assert!(
        !m.is_match(&options) && m.query_share < 10.0,
        "other: {m:?}"
    );
    assert!(!compare(&original, &other, &options).is_match(&options));

    // Meta's samples: the same pattern with a grey bar and with a logo on its bar match;
    // the chair does not match the pattern.
    let grey = hash("pattern-sd-grey-bar.mp4", 1.0);
    let logo = hash("pattern-sd-with-small-logo-bar.mp4", 1.0);
    assert!(compare(&logo, &grey, &options).is_match(&options));
    let chair = hash("chair-20-sd-bar.mp4", 1.0);
    assert!(!compare(&chair, &grey, &options).is_match(&options));
    assert!(!compare(&grey, &chair, &options).is_match(&options));
}

/// Bars added around a video defeat vPDQ as the reference computes it (0% both ways, for our
/// letterboxed variant as for Meta's grey-bar and no-bar samples); with the bars trimmed the
/// frames inside match the original, and trimming finds nothing to trim in an unrelated
/// video that would make it match.
#[test]
fn videos_with_bars_added_match_once_trimmed() {
    let options = CompareOptions::default();
    let cases = [
        ("gen-bars.mp4", "gen-original.mp4"),
        ("pattern-sd-grey-bar.mp4", "pattern-hd-no-bar.mp4"),
    ];
    for (with_bars, original) in cases {
        let query = hash_trimmed(video(with_bars));
        let original = hash(original, 1.0);
        let as_is = compare(&query.vpdq, &original, &options);
        assert!(!as_is.is_match(&options), "{with_bars} as it is: {as_is:?}");
        let trimmed = query.trimmed.as_ref().expect("bars found");
        let m = compare(trimmed, &original, &options);
        eprintln!(
            "{with_bars} trimmed vs original: query {:.1}%, compared {:.1}%",
            m.query_share, m.compared_share
        );
        assert!(m.is_match(&options), "{with_bars} trimmed: {m:?}");
    }
    // Trimming changes nothing of the reference hash.
    let plain = hash("gen-bars.mp4", 1.0);
    assert_eq!(hash_trimmed(video("gen-bars.mp4")).vpdq, plain);
    // Unrelated videos stay unrelated, trimmed or not.
    let other = hash_trimmed(video("gen-other.mp4"));
    let original = hash("gen-original.mp4", 1.0);
    for query in [Some(&other.vpdq), other.trimmed.as_ref()]
        .into_iter()
        .flatten()
    {
        assert!(!compare(query, &original, &options).is_match(&options));
    }
    let chair = hash_trimmed(video("chair-20-sd-bar.mp4"));
    let grey = hash("pattern-sd-grey-bar.mp4", 1.0);
    let trimmed = chair.trimmed.as_ref().expect("the chair has bars");
    assert!(!compare(trimmed, &grey, &options).is_match(&options));
}

#[test]
fn broken_and_foreign_files_are_clear_errors() {
    let options = VideoOptions::default();
    match hash_video(&video("truncated.mp4"), &options) {
        Err(Error::Truncated { .. } | Error::Corrupt { .. }) => {}
        other => panic!("truncated: {other:?}"),
    }
    match hash_video(&video("not-a-video.mp4"), &options) {
        Err(Error::Corrupt { message, .. }) => assert!(!message.contains(" @ 0x"), "{message}"),
        other => panic!("not a video: {other:?}"),
    }
    let short = VideoOptions {
        max_duration: std::time::Duration::from_secs(2),
        ..VideoOptions::default()
    };
    assert!(matches!(
        hash_video(&video("gen-original.mp4"), &short),
        Err(Error::TooLong { .. })
    ));
    let small = VideoOptions {
        max_frame_pixels: 1000,
        ..VideoOptions::default()
    };
    assert!(matches!(
        hash_video(&video("gen-original.mp4"), &small),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn keyframe_grids_are_small_pngs_within_the_limits() {
    let options = VideoOptions::default();
    let shape = GridShape::default();
    let png = keyframe_grid(&video("gen-clip5s.mp4"), &options, &shape).unwrap();
    let picture = ward_core::decode::decode(&png, &Default::default()).unwrap();
    assert_eq!((picture.width(), picture.height()), (480, 270));
    // Frames from along the whole video: the clip changes scene after its first half, so
    // the first and last cells differ.
    let cell = |column: u32, row: u32| -> Vec<u8> {
        let ward_core::decode::Pixels::Rgb(rgb) = picture.pixels() else {
            panic!("RGB expected")
        };
        let mut out = Vec::new();
        for y in row * 90..(row + 1) * 90 {
            let start = ((y * 480 + column * 160) * 3) as usize;
            out.extend_from_slice(&rgb[start..start + 160 * 3]);
        }
        out
    };
    assert_ne!(cell(0, 0), cell(2, 2));
    // A wider grid of a video in portrait or landscape keeps its cells' size.
    let wide = GridShape {
        columns: 5,
        rows: 1,
        cell_width: 64,
        cell_height: 64,
    };
    let png = keyframe_grid(&video("gen-rotated.mp4"), &options, &wide).unwrap();
    let picture = ward_core::decode::decode(&png, &Default::default()).unwrap();
    assert_eq!((picture.width(), picture.height()), (320, 64));

    // The limits of hashing hold here too, and broken files are clear errors.
    let short = VideoOptions {
        max_duration: std::time::Duration::from_secs(2),
        ..VideoOptions::default()
    };
    assert!(matches!(
        keyframe_grid(&video("gen-original.mp4"), &short, &shape),
        Err(Error::TooLong { .. })
    ));
    let small = VideoOptions {
        max_frame_pixels: 1000,
        ..VideoOptions::default()
    };
    assert!(matches!(
        keyframe_grid(&video("gen-original.mp4"), &small, &shape),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        keyframe_grid(&video("not-a-video.mp4"), &options, &shape),
        Err(Error::Corrupt { .. })
    ));
    let huge = GridShape {
        columns: 100,
        rows: 100,
        cell_width: 160,
        cell_height: 90,
    };
    assert!(matches!(
        keyframe_grid(&video("gen-clip5s.mp4"), &options, &huge),
        Err(Error::InvalidOption(_))
    ));
}
