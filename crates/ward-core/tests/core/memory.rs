//! `decode::plan` against what decoding really allocates: for every test image and for
//! generated pictures of each colour type, the bytes held at once while decoding (counted by
//! this binary's allocator, per thread) never exceed the plan, which a server admits decodes
//! by; and what hashing the picture holds besides stays within `pdq::memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use image::{DynamicImage, ImageFormat as Encoded};
use ward_core::decode::{self, DecodeOptions, ImageFormat};
use ward_core::pdq::{self, Pipeline};

use crate::testdata;

/// Counts the bytes each thread holds, and the most it held since its last reset.
struct Counting;

thread_local! {
    static HELD: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    // A thread being torn down has no counters left; its allocations go uncounted.
    let _ = HELD.try_with(|held| {
        let now = held.get() + delta;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        // SAFETY: the caller's pointer and layout, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes `work` held at once beyond what the thread held before it.
fn peak_of<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let before = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let out = work();
    let peak = PEAK.with(Cell::get);
    (out, (peak - before).max(0) as u64)
}

/// Plans, decodes and hashes `bytes`; fails when either stage held more than it may.
fn check(name: &str, bytes: &[u8]) {
    let options = DecodeOptions::default();
    let Ok(plan) = decode::plan(bytes, &options) else {
        // Files the decoder refuses (the hostile ones) are refused by the plan too.
        assert!(
            decode::decode(bytes, &options).is_err(),
            "{name}: planned no decode"
        );
        return;
    };
    let (picture, decoding) = peak_of(|| decode::decode(bytes, &options));
    let picture = picture.unwrap_or_else(|e| panic!("{name}: planned, then {e}"));
    assert_eq!(
        (picture.width(), picture.height()),
        (plan.width, plan.height),
        "{name}"
    );
    assert!(
        decoding <= plan.memory,
        "{name} ({:?} {}x{}): decoding held {decoding} bytes, planned {}",
        plan.format,
        plan.width,
        plan.height,
        plan.memory
    );
    let (_, hashing) = peak_of(|| pdq::hash(&picture, Pipeline::Full));
    let allowed = pdq::memory(plan.width, plan.height);
    assert!(
        hashing <= allowed,
        "{name}: hashing held {hashing} bytes, allowed {allowed}"
    );
}

#[test]
fn every_test_image_decodes_within_its_plan() {
    let mut checked = 0;
    for entry in walk(&testdata()) {
        let bytes = std::fs::read(&entry).unwrap();
        if ImageFormat::sniff(&bytes).is_some() {
            check(&entry.display().to_string(), &bytes);
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} images found");
}

#[test]
fn generated_pictures_of_every_colour_type_decode_within_their_plans() {
    let (width, height) = (1500, 1000);
    let pictures: [(&str, DynamicImage); 8] = [
        ("grey", DynamicImage::new_luma8(width, height)),
        ("grey-alpha", DynamicImage::new_luma_a8(width, height)),
        ("rgb", DynamicImage::new_rgb8(width, height)),
        ("rgba", DynamicImage::new_rgba8(width, height)),
        ("grey16", DynamicImage::new_luma16(width, height)),
        ("grey-alpha16", DynamicImage::new_luma_a16(width, height)),
        ("rgb16", DynamicImage::new_rgb16(width, height)),
        ("rgba16", DynamicImage::new_rgba16(width, height)),
    ];
    for (name, picture) in pictures {
        for format in [Encoded::Png, Encoded::Tiff, Encoded::Bmp] {
            let mut bytes = Vec::new();
            if picture
                .write_to(&mut Cursor::new(&mut bytes), format)
                .is_ok()
            {
                check(&format!("{name} {format:?}"), &bytes);
            }
        }
    }
}

/// Every file under `folder`, recursively.
fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
