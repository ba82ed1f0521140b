//! The `ward._ward` extension module: Ward's exact PDQ, vPDQ, index and list readers for
//! Python. The `ward` package (`python/ward/`) re-exports it and adds what is easier in
//! Python (the video worker process, the compat helpers, numpy conversions).
//!
//! Every call that hashes, decodes, searches or reads releases the GIL for the work, so
//! other Python threads run meanwhile; errors become the exception classes of
//! `ward.errors` (see `errors.rs`).

mod errors;
mod hashing;
mod index;
mod lists;
mod signals;
mod video;

use pyo3::prelude::*;

/// The native half of the `ward` package.
#[pymodule]
fn _ward(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DIHEDRAL_NAMES", ward_core::pdq::DIHEDRAL_NAMES.to_vec())?;
    m.add("DECODES_VIDEO", ward_core::video::DECODES_VIDEO)?;
    m.add_class::<hashing::ImageHash>()?;
    m.add_class::<hashing::ImageBatch>()?;
    m.add_class::<index::PdqIndex>()?;
    m.add_class::<lists::ListReader>()?;
    m.add_function(wrap_pyfunction!(hashing::hash_image, m)?)?;
    m.add_function(wrap_pyfunction!(hashing::hash_images, m)?)?;
    m.add_function(wrap_pyfunction!(hashing::hash_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(signals::distance, m)?)?;
    m.add_function(wrap_pyfunction!(video::hash_video_in_process, m)?)?;
    m.add_function(wrap_pyfunction!(lists::read_list, m)?)?;
    Ok(())
}
