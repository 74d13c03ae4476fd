//! Store errors: refusals that go back to the caller (the interface's `infcode -1` with the
//! message), kept apart from internal failures that are logged and never sent.

/// Why the store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A field of the request is malformed or out of range.
    #[error("{field}: {reason}")]
    BadInput {
        /// The interface field name (for example `feedetail[3].pric`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A referenced record does not exist.
    #[error("{field}: {value} does not exist")]
    NotFound {
        /// The interface field that names the record.
        field: String,
        /// The value that was looked up.
        value: String,
    },
    /// The request is well-formed but the state does not allow it (out of order, already done,
    /// a limit reached).
    #[error("{field}: {reason}")]
    Refused {
        /// The interface field the refusal is about.
        field: String,
        /// Why.
        reason: String,
    },
    /// The institution may not read or change this record.
    #[error("{field}: {value} belongs to another institution")]
    Forbidden {
        /// The interface field that names the record.
        field: String,
        /// The value.
        value: String,
    },
    /// The `msgid` was already used by this institution for a different request.
    #[error("msgid: {msgid} exists with different content (first used for infno {infno})")]
    MsgidConflict {
        /// The message id.
        msgid: String,
        /// The transaction it was first used for.
        infno: String,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A broken invariant: a bug. Nothing was written.
    #[error("invariant broken: {0}")]
    Invariant(String),
    /// SQLite: another connection kept the database's write lock for longer than the busy
    /// timeout. Nothing was written; the same message may be sent again.
    #[error(
        "database busy: another connection held the write lock for more than {timeout_ms} ms; \
         nothing was written, send the message again"
    )]
    Busy {
        /// The busy timeout that ran out, in milliseconds.
        timeout_ms: u128,
    },
    /// Too many write commands are already inside the store; this one was turned away at once
    /// and wrote nothing. The same message may be sent again.
    #[error(
        "the settlement service is overloaded ({queued} write commands are ahead of this one); \
         nothing was written, send the message again"
    )]
    Overloaded {
        /// Write commands inside the store when this one arrived.
        queued: usize,
    },
    /// A simulated crash ([`crate::CrashPoint`]) stopped this store: the command's batch may or
    /// may not have committed, as with a real crash; open a new store to carry on.
    #[error("the store stopped (a simulated crash); whether the command took effect is unknown")]
    Crashed,
    /// A sealed field that cannot be sealed or opened: its key version is not in the key file
    /// (retired too early, or another key file), or the value was altered or moved. An
    /// operator's problem, never the caller's (docs/PRIVACY.md, "Encryption at rest").
    #[error("{place}: {source}")]
    Sealed {
        /// Where the value is (`visit.mdtrt_cert_no of M…`).
        place: String,
        /// What the keyring said.
        source: yibao_gm::GmError,
    },
}

impl StoreError {
    /// True for refusals the caller is told the reason of (answered with `infcode -1`): caused by
    /// the request, or an overload it may retry; false for internal failures (to be logged and
    /// answered as a server error).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::BadInput { .. }
                | StoreError::NotFound { .. }
                | StoreError::Refused { .. }
                | StoreError::Forbidden { .. }
                | StoreError::MsgidConflict { .. }
                | StoreError::Overloaded { .. }
        )
    }

    /// SQLite's "database is locked" (SQLITE_BUSY or SQLITE_LOCKED, with any extended code) as
    /// [`StoreError::Busy`]; every other error as it is.
    pub(crate) fn sqlite_busy(self, timeout: std::time::Duration) -> Self {
        if let StoreError::Database(sqlx::Error::Database(db)) = &self {
            let primary = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            if matches!(primary, Some(5 | 6)) {
                return StoreError::Busy {
                    timeout_ms: timeout.as_millis(),
                };
            }
        }
        self
    }

    pub(crate) fn bad(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::BadInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn refused(field: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::Refused {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(field: impl Into<String>, value: impl Into<String>) -> Self {
        StoreError::NotFound {
            field: field.into(),
            value: value.into(),
        }
    }
}

/// One problem found in a registry file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// The file, relative to the registry folder (for example `persons.csv`).
    pub file: String,
    /// 1-based line (the header is line 1); 0 when the problem is about the whole file.
    pub line: u64,
    /// The column name; empty when the problem is about the whole row or file.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for ImportIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if !self.column.is_empty() {
            write!(f, " column {}", self.column)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The files have problems (at most `IMPORT_ISSUES_MAX` are listed).
    #[error("registry files are invalid ({} problems), first: {}", .0.len(), .0.first().map(|i| i.to_string()).unwrap_or_default())]
    Invalid(Vec<ImportIssue>),
    /// A file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The error.
        source: std::io::Error,
    },
    /// The store already holds a registry.
    #[error("the store already holds a registry ({persons} persons); import into an empty store")]
    NotEmpty {
        /// Persons already present.
        persons: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Database(e))
    }
}
