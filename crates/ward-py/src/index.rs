//! `ward.PdqIndex`: ward-core's exact PDQ index for Python. Building, searching (one query
//! or a batch, in parallel), adding, removing and snapshots all release the GIL.
//!
//! A batch search answers with three flat arrays (query position, id, distance), handed to
//! numpy with `numpy.frombuffer` over the bytes Rust filled, so they are not copied again.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use ward_core::index::{PdqIndex as CoreIndex, PdqMatch};

use crate::errors::OrRaise;
use crate::signals::{pdq_arg, pdq_list};

/// The largest distance a search takes: beyond it every hash matches.
const MAX_DISTANCE: u32 = 256;

/// An exact index of PDQ hashes with integer ids: every stored hash within a distance of a
/// query, none missed. See `ward.PdqIndex`.
#[pyclass(module = "ward")]
#[derive(Debug)]
pub struct PdqIndex {
    inner: CoreIndex,
}

#[pymethods]
impl PdqIndex {
    /// Builds an index over `hashes` (hex strings, 32-byte values, packed bytes or a numpy
    /// uint8 array of shape (n, 32)) with `ids` (ints, default 0..n).
    #[new]
    #[pyo3(signature = (hashes=None, ids=None))]
    fn new(
        py: Python<'_>,
        hashes: Option<&Bound<'_, PyAny>>,
        ids: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PdqIndex> {
        let hashes = match hashes {
            Some(hashes) => pdq_list(hashes)?,
            None => Vec::new(),
        };
        let ids: Vec<u64> = match ids {
            None => (0..hashes.len() as u64).collect(),
            Some(ids) => id_list(ids)?,
        };
        if ids.len() != hashes.len() {
            return Err(PyValueError::new_err(format!(
                "{} hashes but {} ids",
                hashes.len(),
                ids.len()
            )));
        }
        let inner = py.allow_threads(|| CoreIndex::build(hashes.into_iter().zip(ids)));
        Ok(PdqIndex { inner })
    }

    /// Every stored entry within `distance` of `query`, as (id, distance) pairs, nearest
    /// first (then by id).
    #[pyo3(signature = (query, distance=31))]
    fn search(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        distance: u32,
    ) -> PyResult<Vec<(u64, u32)>> {
        let query = pdq_arg(query)?;
        let distance = checked_distance(distance)?;
        Ok(py.allow_threads(|| {
            let mut found = Vec::new();
            self.inner.search_radius(&query, distance, &mut found);
            sorted_pairs(found)
        }))
    }

    /// The `k` stored entries nearest to `query`, as (id, distance) pairs, nearest first.
    fn nearest(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        k: usize,
    ) -> PyResult<Vec<(u64, u32)>> {
        let query = pdq_arg(query)?;
        Ok(py.allow_threads(|| {
            self.inner
                .search_nearest(&query, k)
                .into_iter()
                .map(|m| (m.id, m.distance))
                .collect()
        }))
    }

    /// Searches many queries on all cores (or `threads`): three numpy arrays of equal
    /// length, the query's position in `queries` (uint64), the stored id (uint64) and the
    /// distance (uint32), one element per match, in query order and nearest first (then by
    /// id) within a query.
    #[pyo3(signature = (queries, distance=31, threads=None))]
    fn search_many<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        distance: u32,
        threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let queries = pdq_list(queries)?;
        let distance = checked_distance(distance)?;
        let pool = match threads {
            Some(n) if n > 0 => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| PyValueError::new_err(format!("cannot start threads: {e}")))?,
            ),
            _ => None,
        };
        let (positions, ids, distances) = py.allow_threads(|| {
            let search = || search_many(&self.inner, &queries, distance);
            match &pool {
                Some(pool) => pool.install(search),
                None => search(),
            }
        });
        // numpy.frombuffer shares the bytes' memory: no copy after the search's own.
        let numpy = py.import("numpy")?;
        let array = |bytes: &[u8], dtype: &str| {
            numpy.call_method1("frombuffer", (PyBytes::new(py, bytes), dtype))
        };
        Ok((
            array(&positions, "<u8")?,
            array(&ids, "<u8")?,
            array(&distances, "<u4")?,
        ))
    }

    /// Adds an entry; the same hash may be stored under several ids.
    fn add(&self, py: Python<'_>, hash: &Bound<'_, PyAny>, id: u64) -> PyResult<()> {
        let hash = pdq_arg(hash)?;
        py.allow_threads(|| self.inner.insert(hash, id));
        Ok(())
    }

    /// Removes the entry with this hash and id; returns whether there was one.
    fn remove(&self, py: Python<'_>, hash: &Bound<'_, PyAny>, id: u64) -> PyResult<bool> {
        let hash = pdq_arg(hash)?;
        Ok(py.allow_threads(|| self.inner.remove(&hash, id)))
    }

    /// Re-forms the index's buckets, as building it anew would (after many additions).
    fn rebuild(&self, py: Python<'_>) {
        py.allow_threads(|| self.inner.rebuild());
    }

    /// Writes the index to `path` in Ward's snapshot format (what `ward serve` keeps), by way
    /// of a temporary file beside it, so that `path` always holds a whole snapshot.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.allow_threads(|| -> PyResult<()> {
            let mut partial = path.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            let mut out = BufWriter::new(File::create(&partial)?);
            self.inner.write_snapshot(&mut out).or_raise()?;
            out.flush()?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&partial, &path)?;
            Ok(())
        })
    }

    /// Reads an index written by `save` (or by Ward), checking its version and checksum.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PdqIndex> {
        py.allow_threads(|| -> PyResult<PdqIndex> {
            let mut input = BufReader::new(File::open(&path)?);
            let inner = CoreIndex::read_snapshot(&mut input).or_raise()?;
            Ok(PdqIndex { inner })
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("PdqIndex(<{} entries>)", self.inner.len())
    }
}

fn checked_distance(distance: u32) -> PyResult<u32> {
    if distance > MAX_DISTANCE {
        return Err(crate::errors::raise_named(
            "InvalidOption",
            "invalid_option",
            &format!("distance is 0 to {MAX_DISTANCE}, not {distance}"),
        ));
    }
    Ok(distance)
}

fn sorted_pairs(mut found: Vec<PdqMatch>) -> Vec<(u64, u32)> {
    found.sort_unstable_by_key(|m| (m.distance, m.id));
    found.into_iter().map(|m| (m.id, m.distance)).collect()
}

/// Every query's matches, flattened into little-endian columns.
fn search_many(
    index: &CoreIndex,
    queries: &[ward_core::pdq::PdqHash],
    distance: u32,
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    // Groups of queries per task, each searched together (which an index of more than a
    // few million puts in order for them): large enough for that, small enough to give
    // every thread some.
    let group = (queries.len() / rayon::current_num_threads()).clamp(64, 2048);
    let per_query: Vec<Vec<(u64, u32)>> = queries
        .par_chunks(group)
        .flat_map_iter(|part| {
            index
                .search_radius_many(part, distance)
                .into_iter()
                .map(sorted_pairs)
        })
        .collect();
    let total: usize = per_query.iter().map(Vec::len).sum();
    let mut positions = Vec::with_capacity(total * 8);
    let mut ids = Vec::with_capacity(total * 8);
    let mut distances = Vec::with_capacity(total * 4);
    for (position, matches) in per_query.iter().enumerate() {
        for &(id, distance) in matches {
            positions.extend_from_slice(&(position as u64).to_le_bytes());
            ids.extend_from_slice(&id.to_le_bytes());
            distances.extend_from_slice(&distance.to_le_bytes());
        }
    }
    (positions, ids, distances)
}

/// Ids: a sequence of ints, or a numpy array (taken as uint64 in one conversion).
fn id_list(ids: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    if ids.hasattr("__array_interface__")? {
        let numpy = ids.py().import("numpy")?;
        let array = numpy.call_method1("ascontiguousarray", (ids, "uint64"))?;
        let bytes = array.call_method0("tobytes")?;
        return Ok(bytes
            .downcast::<PyBytes>()?
            .as_bytes()
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("chunks of 8")))
            .collect());
    }
    ids.try_iter()?.map(|id| id?.extract::<u64>()).collect()
}
