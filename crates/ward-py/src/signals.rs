//! Reading PDQ hashes from Python values (64 hex digits, 32 bytes, or a numpy array of
//! them) and measuring their distance.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use ward_core::pdq::PdqHash;

use crate::errors::{OrRaise, raise_named};

/// One PDQ hash: a `str` of 64 hex digits or 32 `bytes` (big-endian, the order of the hex).
pub fn pdq_arg(value: &Bound<'_, PyAny>) -> PyResult<PdqHash> {
    if let Ok(text) = value.downcast::<PyString>() {
        return text.to_cow()?.parse::<PdqHash>().or_raise();
    }
    let bytes: Option<Vec<u8>> = if let Ok(bytes) = value.downcast::<PyBytes>() {
        Some(bytes.as_bytes().to_vec())
    } else if let Ok(bytes) = value.downcast::<PyByteArray>() {
        Some(bytes.to_vec())
    } else {
        None
    };
    match bytes {
        Some(bytes) => pdq_from_bytes(&bytes),
        None => Err(PyTypeError::new_err(format!(
            "a PDQ hash is a str of 64 hex digits or 32 bytes, not {}",
            value.get_type().name()?
        ))),
    }
}

fn pdq_from_bytes(bytes: &[u8]) -> PyResult<PdqHash> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| {
        raise_named(
            "InvalidSignal",
            "invalid_signal",
            &format!("invalid pdq: expected 32 bytes, got {}", bytes.len()),
        )
    })?;
    Ok(PdqHash::from_bytes(array))
}

/// Many PDQ hashes: a sequence of hashes as [`pdq_arg`] takes them, `bytes` holding 32 per
/// hash back to back, or a numpy array of shape (n, 32) and dtype uint8.
pub fn pdq_list(value: &Bound<'_, PyAny>) -> PyResult<Vec<PdqHash>> {
    let py = value.py();
    if let Ok(bytes) = value.downcast::<PyBytes>() {
        return packed(bytes.as_bytes());
    }
    if value.hasattr("__array_interface__")? {
        let numpy = py.import("numpy")?;
        let array = numpy.call_method1("ascontiguousarray", (value, "uint8"))?;
        let shape: Vec<usize> = array.getattr("shape")?.extract()?;
        if shape.len() != 2 || shape[1] != 32 {
            return Err(raise_named(
                "InvalidSignal",
                "invalid_signal",
                &format!("an array of PDQ hashes has shape (n, 32), not {shape:?}"),
            ));
        }
        let bytes = array.call_method0("tobytes")?;
        return packed(bytes.downcast::<PyBytes>()?.as_bytes());
    }
    value.try_iter()?.map(|item| pdq_arg(&item?)).collect()
}

fn packed(bytes: &[u8]) -> PyResult<Vec<PdqHash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(raise_named(
            "InvalidSignal",
            "invalid_signal",
            &format!(
                "packed PDQ hashes take 32 bytes each; {} bytes is not a whole number of them",
                bytes.len()
            ),
        ));
    }
    bytes.chunks_exact(32).map(pdq_from_bytes).collect()
}

/// The Hamming distance between two PDQ hashes (hex strings or 32 bytes each), 0 to 256.
#[pyfunction]
pub fn distance(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u32> {
    Ok(pdq_arg(a)?.distance(&pdq_arg(b)?))
}
