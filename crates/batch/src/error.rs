//! The one error type of the batch layer: each variant names the file or the argument at fault.

use std::path::PathBuf;

use yibao_store::StoreError;

/// Everything the export can refuse or fail on.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The store refused or failed a read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument is malformed or not allowed.
    #[error("{field}: {reason}")]
    BadInput {
        /// The argument.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file of the export (manifest, Parquet file, key file) is not what this build writes
    /// or reads: another schema version, missing, unreadable or malformed.
    #[error("{}: {reason}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A batch rule's query failed in the query engine (a bug in the rule or unreadable files).
    #[error("rule {rule}: {reason}")]
    Query {
        /// The rule (or `tables` while the export's tables are registered).
        rule: String,
        /// The engine's message.
        reason: String,
    },
    /// A stored value does not fit its column (an internal bug or a broken row, never bad input).
    #[error("{table}.{column}: {reason}")]
    Value {
        /// The table.
        table: &'static str,
        /// The column.
        column: String,
        /// Why.
        reason: String,
    },
}

impl BatchError {
    /// A bad argument.
    pub fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        BatchError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A file that is not as it should be.
    pub fn file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        BatchError::File {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| BatchError::Io { path, source }
    }
}
