//! ward-core's errors as Python exceptions: each kind raises its class from `ward.errors`
//! (defined in Python, so that `InvalidSignal` can also be a `ValueError` and `Timeout` a
//! `TimeoutError`), with the kind's name in the exception's `kind` attribute.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// The Python class and kind name for a ward-core error.
pub fn class_of(error: &ward_core::Error) -> (&'static str, &'static str) {
    use ward_core::Error as E;
    match error {
        E::Empty => ("DecodeError", "empty"),
        E::UnsupportedFormat => ("UnsupportedFormat", "unsupported_format"),
        E::Truncated { .. } => ("DecodeError", "truncated"),
        E::Corrupt { .. } => ("DecodeError", "corrupt"),
        E::Unsupported { .. } => ("DecodeError", "unsupported"),
        E::Decoder(_) => ("DecodeError", "decoder"),
        E::TooLarge { .. } => ("TooLarge", "too_large"),
        E::TooLong { .. } => ("TooLong", "too_long"),
        E::Timeout(_) => ("Timeout", "timeout"),
        E::InvalidSignal { .. } => ("InvalidSignal", "invalid_signal"),
        E::Snapshot(_) => ("SnapshotError", "snapshot"),
        E::NoVideoDecoder => ("NoVideoDecoder", "no_video_decoder"),
        E::InvalidOption(_) => ("InvalidOption", "invalid_option"),
        _ => ("WardError", "other"),
    }
}

/// Raises `error` as its `ward.errors` class.
pub fn raise(error: &ward_core::Error) -> PyErr {
    let (class, kind) = class_of(error);
    raise_named(class, kind, &error.to_string())
}

/// Raises `ward.errors.<class>(message)` with `kind` set.
pub fn raise_named(class: &str, kind: &str, message: &str) -> PyErr {
    Python::with_gil(|py| {
        let made = || -> PyResult<PyErr> {
            let class = py.import("ward.errors")?.getattr(class)?;
            let class = class.downcast_into::<PyType>()?;
            let err = PyErr::from_type(class, message.to_owned());
            err.value(py).setattr("kind", kind)?;
            Ok(err)
        };
        // Without the Python half of the package (an unusual install), still an exception.
        made().unwrap_or_else(|_| PyRuntimeError::new_err(format!("{kind}: {message}")))
    })
}

/// The conversion `?` uses in this crate.
pub trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}

impl<T> OrRaise<T> for ward_core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(|e| raise(&e))
    }
}
