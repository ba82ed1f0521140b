//! Hashing images from Python: one file or bytes (`hash_image`), many in parallel yielding in
//! order (`hash_images`), or pixels already decoded (`hash_pixels`, for `ward.compat.pdqhash`).
//!
//! Files are read, digested, decoded by ward-core's decoder (with its pixel limit) and hashed
//! as `ward hash` does, with the GIL released. A batch runs on its own threads, each taking
//! the next input in turn, so results arrive nearly in order; the iterator puts them in
//! order and hands them out as they come.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};
use ward_core::decode::{self, DecodeOptions, Picture, Pixels};
use ward_core::digest::FileDigests;
use ward_core::pdq::{PdqDct, PdqHash, Pipeline};

use crate::errors::{OrRaise, raise, raise_named};

/// The signals of one image: its PDQ hash and quality, its digests and, when asked for,
/// the eight dihedral hashes.
#[pyclass(module = "ward", frozen, get_all)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageHash {
    /// The PDQ hash, 64 lowercase hex digits.
    pdq: String,
    /// PDQ quality, 0 to 100 (below 50 is too flat to match on).
    quality: u8,
    /// Digests of the file's bytes, lowercase hex.
    md5: String,
    sha1: String,
    sha256: String,
    /// The hashes of the eight rotations and flips in Meta's order (`ward.DIHEDRAL_NAMES`),
    /// or `None` when not asked for.
    dihedral: Option<Vec<String>>,
    /// The path hashed, or `None` for bytes.
    path: Option<String>,
}

#[pymethods]
impl ImageHash {
    /// The fields as a dict (what `ward hash` prints as JSON, without the errors).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        if let Some(path) = &self.path {
            dict.set_item("path", path)?;
        }
        dict.set_item("pdq", &self.pdq)?;
        dict.set_item("quality", self.quality)?;
        dict.set_item("md5", &self.md5)?;
        dict.set_item("sha1", &self.sha1)?;
        dict.set_item("sha256", &self.sha256)?;
        if let Some(dihedral) = &self.dihedral {
            dict.set_item("dihedral", dihedral.clone())?;
        }
        Ok(dict)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<ImageHash>()
            .is_ok_and(|other| self == other.get())
    }

    fn __repr__(&self) -> String {
        let path = match &self.path {
            Some(path) => format!("{path:?}"),
            None => "None".into(),
        };
        format!(
            "ImageHash(pdq={:?}, quality={}, md5={:?}, path={path})",
            self.pdq, self.quality, self.md5
        )
    }
}

/// How to hash, from the keyword arguments.
#[derive(Clone, Copy, Debug)]
struct Options {
    decode: DecodeOptions,
    pipeline: Pipeline,
    dihedral: bool,
}

impl Options {
    fn new(
        dihedral: bool,
        pipeline: &str,
        max_pixels: Option<u64>,
        exif_orient: bool,
    ) -> PyResult<Options> {
        Ok(Options {
            decode: DecodeOptions {
                max_pixels: max_pixels.unwrap_or(DecodeOptions::DEFAULT_MAX_PIXELS),
                exif_orient,
            },
            pipeline: pipeline.parse::<Pipeline>().or_raise()?,
            dihedral,
        })
    }
}

/// An image to hash: a file or bytes in memory.
#[derive(Debug)]
enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

impl Source {
    fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Source> {
        if let Ok(bytes) = value.downcast::<PyBytes>() {
            return Ok(Source::Bytes(bytes.as_bytes().to_vec()));
        }
        if let Ok(bytes) = value.downcast::<PyByteArray>() {
            return Ok(Source::Bytes(bytes.to_vec()));
        }
        if value.downcast::<PyString>().is_ok() || value.hasattr("__fspath__")? {
            return Ok(Source::Path(value.extract()?));
        }
        Err(PyTypeError::new_err(format!(
            "an image is a path (str or os.PathLike) or its bytes, not {}",
            value.get_type().name()?
        )))
    }
}

/// Why one image has no signals.
#[derive(Debug)]
enum Failure {
    Read(PathBuf, std::io::Error),
    Decode(ward_core::Error),
    Video,
}

impl Failure {
    fn into_py(self) -> PyErr {
        match self {
            Failure::Read(path, error) => Python::with_gil(|py| {
                let err = PyErr::from(error);
                // The path, as `open` gives it in its OSError.
                let _ = err.value(py).setattr("filename", path.to_string_lossy());
                err
            }),
            Failure::Decode(error) => raise(&error),
            Failure::Video => raise_named(
                "UnsupportedFormat",
                "unsupported_format",
                "this is a video, not an image: hash it with ward.hash_video",
            ),
        }
    }
}

/// Reads, digests, decodes and hashes one image (no GIL needed).
fn hash_source(source: &Source, options: &Options) -> Result<ImageHash, Failure> {
    let read;
    let (bytes, path) = match source {
        Source::Bytes(bytes) => (bytes.as_slice(), None),
        Source::Path(path) => {
            read = std::fs::read(path).map_err(|e| Failure::Read(path.clone(), e))?;
            (read.as_slice(), Some(path.to_string_lossy().into_owned()))
        }
    };
    let digests = FileDigests::of(bytes);
    let picture = match decode::decode(bytes, &options.decode) {
        Err(ward_core::Error::UnsupportedFormat) if ward_core::video::sniff(bytes).is_some() => {
            return Err(Failure::Video);
        }
        other => other.map_err(Failure::Decode)?,
    };
    let dct = PdqDct::compute(&picture, options.pipeline);
    Ok(ImageHash {
        pdq: dct.hash().to_string(),
        quality: dct.quality().get(),
        md5: digests.md5.to_string(),
        sha1: digests.sha1.to_string(),
        sha256: digests.sha256.to_string(),
        dihedral: options
            .dihedral
            .then(|| dct.dihedral().iter().map(PdqHash::to_string).collect()),
        path,
    })
}

/// Hashes one image: a path or the file's bytes. See `ward.hash_image`.
#[pyfunction]
#[pyo3(signature = (path_or_bytes, *, dihedral=false, pipeline="full", max_pixels=None, exif_orient=false))]
pub fn hash_image(
    py: Python<'_>,
    path_or_bytes: &Bound<'_, PyAny>,
    dihedral: bool,
    pipeline: &str,
    max_pixels: Option<u64>,
    exif_orient: bool,
) -> PyResult<ImageHash> {
    let options = Options::new(dihedral, pipeline, max_pixels, exif_orient)?;
    let source = Source::from_py(path_or_bytes)?;
    py.allow_threads(|| hash_source(&source, &options))
        .map_err(Failure::into_py)
}

/// Hashes pixels already decoded: `width * height * channels` bytes, row-major, 1 (grey),
/// 3 (RGB) or 4 (RGBA, alpha dropped) channels. Returns (hash bytes, quality) or, with
/// `dihedral`, (the eight hashes' bytes, quality).
#[pyfunction]
#[pyo3(signature = (pixels, width, height, channels, *, dihedral=false, pipeline="full"))]
pub fn hash_pixels<'py>(
    py: Python<'py>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    dihedral: bool,
    pipeline: &str,
) -> PyResult<(Vec<Bound<'py, PyBytes>>, u8)> {
    let pipeline = pipeline.parse::<Pipeline>().or_raise()?;
    let expected = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(channels));
    if expected != Some(pixels.len()) {
        return Err(PyValueError::new_err(format!(
            "{} bytes cannot be {width}x{height} pixels of {channels} channels",
            pixels.len()
        )));
    }
    let samples = match channels {
        1 => Pixels::Grey(pixels.to_vec()),
        3 => Pixels::Rgb(pixels.to_vec()),
        4 => Pixels::Rgb(
            pixels
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
        ),
        n => {
            return Err(PyValueError::new_err(format!(
                "pixels have 1, 3 or 4 channels, not {n}"
            )));
        }
    };
    let (hashes, quality) = py
        .allow_threads(|| -> ward_core::Result<_> {
            let picture = Picture::new(width, height, samples)?;
            let dct = PdqDct::compute(&picture, pipeline);
            let hashes = if dihedral {
                dct.dihedral().to_vec()
            } else {
                vec![dct.hash()]
            };
            Ok((hashes, dct.quality().get()))
        })
        .or_raise()?;
    let hashes = hashes
        .iter()
        .map(|h| PyBytes::new(py, &h.to_bytes()))
        .collect();
    Ok((hashes, quality))
}

/// Hashes many images in parallel. See `ward.hash_images`.
#[pyfunction]
#[pyo3(signature = (paths, threads=None, *, dihedral=false, pipeline="full", max_pixels=None, exif_orient=false, errors="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn hash_images(
    paths: &Bound<'_, PyAny>,
    threads: Option<usize>,
    dihedral: bool,
    pipeline: &str,
    max_pixels: Option<u64>,
    exif_orient: bool,
    errors: &str,
) -> PyResult<ImageBatch> {
    let options = Options::new(dihedral, pipeline, max_pixels, exif_orient)?;
    let raise_errors = match errors {
        "raise" => true,
        "return" => false,
        other => {
            return Err(raise_named(
                "InvalidOption",
                "invalid_option",
                &format!("errors is \"raise\" or \"return\", not {other:?}"),
            ));
        }
    };
    let sources: Vec<Source> = paths
        .try_iter()?
        .map(|item| Source::from_py(&item?))
        .collect::<PyResult<_>>()?;
    let threads = match threads {
        Some(0) | None => thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) => n,
    };
    Ok(ImageBatch::start(sources, options, threads, raise_errors))
}

/// The results of `hash_images`, in input order, as they arrive.
#[pyclass(module = "ward")]
#[derive(Debug)]
pub struct ImageBatch {
    state: Mutex<BatchState>,
    /// Tells the workers to stop when the batch is dropped unfinished.
    stop: Arc<AtomicBool>,
    raise_errors: bool,
}

#[derive(Debug)]
struct BatchState {
    results: Receiver<(usize, Result<ImageHash, Failure>)>,
    /// Results that came before their turn.
    waiting: BTreeMap<usize, Result<ImageHash, Failure>>,
    next: usize,
    total: usize,
}

impl ImageBatch {
    fn start(sources: Vec<Source>, options: Options, threads: usize, raise_errors: bool) -> Self {
        let total = sources.len();
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, results) = channel();
        let sources = Arc::new(sources);
        let taken = Arc::new(AtomicUsize::new(0));
        for _ in 0..threads.min(total.max(1)) {
            let (sources, taken, stop, sender) =
                (sources.clone(), taken.clone(), stop.clone(), sender.clone());
            thread::spawn(move || {
                loop {
                    let i = taken.fetch_add(1, Ordering::Relaxed);
                    if i >= sources.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        hash_source(&sources[i], &options)
                    }))
                    .unwrap_or_else(|_| {
                        Err(Failure::Decode(ward_core::Error::Decoder(
                            "internal error: hashing panicked".into(),
                        )))
                    });
                    if sender.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        ImageBatch {
            state: Mutex::new(BatchState {
                results,
                waiting: BTreeMap::new(),
                next: 0,
                total,
            }),
            stop,
            raise_errors,
        }
    }
}

impl Drop for ImageBatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[pymethods]
impl ImageBatch {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next image's `ImageHash`; its error is raised (or, with `errors="return"`,
    /// returned) in its turn.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyObject>> {
        let next = py.allow_threads(|| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.next >= state.total {
                return None;
            }
            loop {
                let wanted = state.next;
                if let Some(result) = state.waiting.remove(&wanted) {
                    state.next += 1;
                    return Some(result);
                }
                match state.results.recv() {
                    Ok((i, result)) => {
                        state.waiting.insert(i, result);
                    }
                    // Every worker has gone (they never do before sending all).
                    Err(_) => {
                        state.next = state.total;
                        return None;
                    }
                }
            }
        });
        match next {
            None => Ok(None),
            Some(Ok(hashed)) => Ok(Some(Py::new(py, hashed)?.into_any())),
            Some(Err(failure)) if self.raise_errors => Err(failure.into_py()),
            Some(Err(failure)) => Ok(Some(failure.into_py().into_value(py).into_any())),
        }
    }

    fn __len__(&self) -> usize {
        self.state.lock().map_or(0, |s| s.total)
    }
}
