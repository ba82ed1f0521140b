//! `ward.read_list`: the hash lists `ward import` reads (CSV, HMA, VICS, NCMEC, StopNCII),
//! streamed record by record as dicts.
//!
//! ward-core's readers push records into a callback; here one runs on its own thread and
//! passes records through a bounded channel to the Python iterator, which waits for them
//! with the GIL released. Memory stays one small batch of records however large the file.

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use ward_core::exchange::{self, Change, Format, Record, RecordError};

use crate::errors::{OrRaise, raise_named};

/// Records in flight between the reading thread and Python.
const IN_FLIGHT: usize = 1024;

/// Opens the list at `path` and reads it as `format`. See `ward.read_list`.
#[pyfunction]
#[pyo3(signature = (path, format="csv", *, malformed="raise"))]
pub fn read_list(path: PathBuf, format: &str, malformed: &str) -> PyResult<ListReader> {
    let format = format.parse::<Format>().or_raise()?;
    let malformed = match malformed {
        "raise" => Malformed::Raise,
        "skip" => Malformed::Skip,
        "yield" => Malformed::Yield,
        other => {
            return Err(raise_named(
                "InvalidOption",
                "invalid_option",
                &format!("malformed is \"raise\", \"skip\" or \"yield\", not {other:?}"),
            ));
        }
    };
    let file = File::open(&path)?;
    let (sender, records) = sync_channel(IN_FLIGHT);
    thread::spawn(move || {
        exchange::read(format, BufReader::new(file), &mut |item| {
            match sender.send(item) {
                Ok(()) => ControlFlow::Continue(()),
                // The iterator was dropped: stop reading.
                Err(_) => ControlFlow::Break(()),
            }
        });
    });
    Ok(ListReader {
        records: Mutex::new(Some(records)),
        malformed,
    })
}

/// What to do with a record that cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Malformed {
    Raise,
    Skip,
    Yield,
}

/// The records of a list, as dicts, in file order.
#[pyclass(module = "ward")]
#[derive(Debug)]
pub struct ListReader {
    /// `None` once reading has ended.
    records: Mutex<Option<Receiver<Result<Record, RecordError>>>>,
    malformed: Malformed,
}

#[pymethods]
impl ListReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        loop {
            let item = py.allow_threads(|| {
                let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
                let item = records.as_ref().and_then(|r| r.recv().ok());
                if item.is_none() {
                    *records = None;
                }
                item
            });
            match item {
                None => return Ok(None),
                Some(Ok(record)) => return record_dict(py, &record).map(Some),
                Some(Err(RecordError::Fatal { position, reason })) => {
                    let err = raise_named("ListError", "fatal", &format!("{position}: {reason}"));
                    err.value(py).setattr("record", position.record)?;
                    err.value(py).setattr("line", position.line)?;
                    return Err(err);
                }
                Some(Err(RecordError::Malformed { position, reason })) => match self.malformed {
                    Malformed::Skip => {}
                    Malformed::Raise => {
                        let err = raise_named(
                            "MalformedRecord",
                            "malformed",
                            &format!("{position}: {reason}"),
                        );
                        err.value(py).setattr("record", position.record)?;
                        err.value(py).setattr("line", position.line)?;
                        return Err(err);
                    }
                    Malformed::Yield => {
                        let dict = PyDict::new(py);
                        dict.set_item("record", position.record)?;
                        dict.set_item("line", position.line)?;
                        dict.set_item("error", reason)?;
                        return Ok(Some(dict));
                    }
                },
            }
        }
    }
}

/// A record as a dict: `record`, `line`, `id`, `change` (`upsert` or `delete`) and, for an
/// upsert, `signals` (a list of `{"type", "value"}`), `label` (`{"scheme", "profile",
/// "label"}` or None) and `attributes` (a dict of the list's other fields).
fn record_dict<'py>(py: Python<'py>, record: &Record) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("record", record.position.record)?;
    dict.set_item("line", record.position.line)?;
    dict.set_item("id", record.external_id.as_deref())?;
    match &record.change {
        Change::Delete => dict.set_item("change", "delete")?,
        Change::Upsert(item) => {
            dict.set_item("change", "upsert")?;
            let signals = item
                .signals
                .iter()
                .map(|signal| {
                    let entry = PyDict::new(py);
                    entry.set_item("type", signal.signal_type)?;
                    entry.set_item("value", &signal.value)?;
                    Ok(entry)
                })
                .collect::<PyResult<Vec<_>>>()?;
            dict.set_item("signals", signals)?;
            let label = match &item.label {
                None => None,
                Some(label) => {
                    let entry = PyDict::new(py);
                    entry.set_item("scheme", label.scheme)?;
                    entry.set_item("profile", label.profile.as_deref())?;
                    entry.set_item("label", &label.label)?;
                    Some(entry)
                }
            };
            dict.set_item("label", label)?;
            let attributes = PyDict::new(py);
            for (name, value) in &item.attributes {
                attributes.set_item(name, value)?;
            }
            dict.set_item("attributes", attributes)?;
        }
    }
    Ok(dict)
}
