//! The store's one error type, in the domain's words.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// What can go wrong when storing or reading.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The thing asked for does not exist (or is deleted).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// The change conflicts with what is stored: a bank name in use, an organisation that
    /// exists already.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed: an empty name, a distance out of range.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database failed or could not be reached.
    #[error("database: {0}")]
    Database(String),
    /// The schema could not be brought up to date.
    #[error("migration: {0}")]
    Migration(String),
    /// The store's file (SQLite) is damaged: its header is not SQLite's, it is shorter than
    /// its pages, a page is not what SQLite wrote, or a value is not what Ward writes.
    /// Nothing is made of what it holds; the file is to be restored from a backup.
    #[error(
        "the store's file{} is damaged ({detail}); restore it from a backup",
        .file.as_ref().map(|f| format!(" {}", f.display())).unwrap_or_default()
    )]
    Damaged {
        /// The file, when known.
        file: Option<PathBuf>,
        detail: String,
    },
}

impl StoreError {
    /// The error, naming `file` if it is damage to a file not named yet.
    pub fn in_file(self, file: &Path) -> StoreError {
        match self {
            StoreError::Damaged { file: None, detail } => StoreError::Damaged {
                file: Some(file.to_owned()),
                detail,
            },
            other => other,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A database error as the store reports it. Unique violations that the trait turns into
/// `Conflict` are recognised with [`is_unique_violation`] before this is called.
pub(crate) fn database(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(e) => StoreError::Database(e.message().to_owned()),
        e => StoreError::Database(e.to_string()),
    }
}

/// Whether `error` says that a unique index refused a row.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// A failed migration.
pub(crate) fn migration(error: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Migration(error.to_string())
}
