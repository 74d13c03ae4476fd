//! Encryption at rest of level-3 items (spec data-authorization.md §4.5, §10.1; docs/PRIVACY.md,
//! "Encryption at rest"): which columns are sealed and under which key family, the keyring a
//! store seals with, and the jobs of a key rotation (`yibao keys`): counting the values under
//! each key version and rewrapping old ones in batches. The format and the keys are
//! `yibao-gm`'s [`Keyring`]; the SQL is `sealing_tx.rs`, compiled once per backend.
//!
//! Sealed: `visit.mdtrt_cert_no`, the credential a visit was opened with (an e-voucher token, a
//! card number or an ID number), bound to its `mdtrt_id`. Indexed only: the e-voucher token of
//! `ec_token`, kept as its blind index under the keyring's index key, because 1101 finds the
//! person by it and nothing needs the token back.
//!
//! A process's stores seal under the keyring given with [`Store::with_keyring`]; a store opened
//! without one uses a keyring made for the process (fine for tests; values it sealed do not open
//! after a restart), which is why `yibao serve` and `yibao demo` always give a key file.

use std::sync::{Arc, Mutex};

pub use yibao_gm::Keyring;
use yibao_gm::{sealed_version, FieldPlace};

use crate::error::StoreError;
use crate::{limits, Pool, Store};

/// The key family of `visit.mdtrt_cert_no`.
pub const VISIT_CERT_FAMILY: &str = "visit.mdtrt_cert_no";
/// The blind-index purpose of e-voucher tokens.
pub const EC_TOKEN_PURPOSE: &str = "ec_token";

/// A sealed column: its key family, table, column and the column of the row key bound into
/// each value's associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    /// The key family.
    pub family: &'static str,
    /// The table.
    pub table: &'static str,
    /// The sealed column.
    pub column: &'static str,
    /// The column holding the row's key.
    pub row_key: &'static str,
}

/// `visit.mdtrt_cert_no`, keyed by `mdtrt_id`.
pub const VISIT_CERT: SealedColumn = SealedColumn {
    family: VISIT_CERT_FAMILY,
    table: "visit",
    column: "mdtrt_cert_no",
    row_key: "mdtrt_id",
};

/// Every sealed column (what `yibao keys status` counts and `rewrap` walks).
pub const SEALED_COLUMNS: &[SealedColumn] = &[VISIT_CERT];

/// The families a new key file gets (`yibao keys generate`).
pub fn families() -> Vec<&'static str> {
    SEALED_COLUMNS.iter().map(|column| column.family).collect()
}

/// The keyring of a process whose stores were given none.
static PROCESS_KEYRING: Mutex<Option<Arc<Keyring>>> = Mutex::new(None);

/// The process's keyring, made on first use.
pub(crate) fn process_keyring() -> Result<Arc<Keyring>, StoreError> {
    let mut slot = PROCESS_KEYRING.lock().expect("keyring lock");
    if let Some(keyring) = slot.as_ref() {
        return Ok(keyring.clone());
    }
    let keyring = Arc::new(
        Keyring::generate(&families())
            .map_err(|e| StoreError::Invariant(format!("data keys: {e}")))?,
    );
    *slot = Some(keyring.clone());
    Ok(keyring)
}

fn place_of<'a>(column: &SealedColumn, row_key: &'a str) -> FieldPlace<'a> {
    FieldPlace {
        table: column.table,
        column: column.column,
        row_key,
    }
}

fn sealed_error(column: &SealedColumn, row_key: &str, source: yibao_gm::GmError) -> StoreError {
    StoreError::Sealed {
        place: format!("{}.{} of {row_key}", column.table, column.column),
        source,
    }
}

/// `value` sealed for `column` of row `row_key` under the family's active key; an empty value
/// stays empty (nothing to protect, and "not sent" stays visible).
pub(crate) fn seal_field(
    keyring: &Keyring,
    column: &SealedColumn,
    row_key: &str,
    value: &str,
) -> Result<String, StoreError> {
    if value.is_empty() {
        return Ok(String::new());
    }
    keyring
        .seal(column.family, &place_of(column, row_key), value.as_bytes())
        .map_err(|e| sealed_error(column, row_key, e))
}

/// The clear value of a sealed field of `column` in row `row_key` (empty stays empty).
pub fn open_field(
    keyring: &Keyring,
    column: &SealedColumn,
    row_key: &str,
    sealed: &str,
) -> Result<String, StoreError> {
    if sealed.is_empty() {
        return Ok(String::new());
    }
    let bytes = keyring
        .open(column.family, &place_of(column, row_key), sealed)
        .map_err(|e| sealed_error(column, row_key, e))?;
    String::from_utf8(bytes).map_err(|_| {
        StoreError::Invariant(format!(
            "{}.{} of {row_key}: opened to bytes that are not UTF-8",
            column.table, column.column
        ))
    })
}

/// The blind index of an e-voucher token (`ec_token.token_index`).
pub fn token_index(keyring: &Keyring, token: &str) -> String {
    keyring.blind_index(EC_TOKEN_PURPOSE, token.as_bytes())
}

/// The values of one sealed column by key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnStatus {
    /// The column.
    pub column: SealedColumn,
    /// Rows sealed under each version the key file holds, ascending; versions without rows
    /// included.
    pub by_version: Vec<(u32, i64)>,
    /// Rows still in clear (written before sealing began); `rewrap` seals them.
    pub clear: i64,
    /// Rows sealed under a version the key file does not hold (retired too early, or another
    /// key file): they do not open.
    pub unknown_version: i64,
}

/// What `yibao keys status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysStatus {
    /// Each sealed column.
    pub columns: Vec<ColumnStatus>,
    /// E-voucher tokens of an older database still in clear (`ec_token_clear`); `rewrap`
    /// indexes and deletes them.
    pub ec_tokens_clear: i64,
    /// E-voucher tokens stored as their blind index (`ec_token`): found only with the index
    /// key they were indexed under.
    pub ec_tokens_indexed: i64,
}

impl KeysStatus {
    /// Values that need this database's key file: sealed values and indexed tokens.
    pub fn keyed_rows(&self) -> i64 {
        let sealed: i64 = self
            .columns
            .iter()
            .map(|c| c.by_version.iter().map(|(_, rows)| rows).sum::<i64>() + c.unknown_version)
            .sum();
        sealed + self.ec_tokens_indexed
    }
}

impl KeysStatus {
    /// Rows `rewrap` still has to do: clear values, clear tokens and values under a version that
    /// is not the family's active one.
    pub fn rewrap_pending(&self, keyring: &Keyring) -> i64 {
        let columns: i64 = self
            .columns
            .iter()
            .map(|status| {
                let active = keyring.active_version(status.column.family);
                let old: i64 = status
                    .by_version
                    .iter()
                    .filter(|(version, _)| Some(*version) != active)
                    .map(|(_, rows)| rows)
                    .sum();
                status.clear + old + status.unknown_version
            })
            .sum();
        columns + self.ec_tokens_clear
    }
}

/// What one `rewrap` batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewrapProgress {
    /// Values re-sealed under their family's active version (or sealed, when clear).
    pub resealed: u64,
    /// Clear e-voucher tokens replaced by their blind index.
    pub tokens_indexed: u64,
}

impl RewrapProgress {
    /// Whether the batch changed nothing.
    pub fn is_empty(&self) -> bool {
        self.resealed == 0 && self.tokens_indexed == 0
    }
}

/// Where a rewrap has got to: the clear tokens (deleted as they are indexed, so they need no
/// position), then each sealed column in key order after the last row done. It moves only
/// forward, so a rewrap reads each row once; a new rewrap starts again from the beginning and
/// skips what is already under the active version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapCursor {
    pub(crate) tokens_done: bool,
    pub(crate) column_idx: usize,
    pub(crate) after: Option<String>,
}

impl RewrapCursor {
    /// Whether every token and every sealed column has been walked to its end.
    pub fn is_finished(&self) -> bool {
        self.tokens_done && self.column_idx >= SEALED_COLUMNS.len()
    }
}

/// Whether `value` is sealed under `version` (rather than clear or under another one).
pub(crate) fn is_under(value: &str, version: u32) -> bool {
    sealed_version(value) == Some(version)
}

impl Store {
    /// Makes `keyring` the keys this store seals, opens and indexes with, and returns the store.
    pub fn with_keyring(self, keyring: Keyring) -> Store {
        *self.inner.keyring.write().expect("keyring lock poisoned") = Arc::new(keyring);
        self
    }

    /// The keyring this store uses.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.inner
            .keyring
            .read()
            .expect("keyring lock poisoned")
            .clone()
    }

    /// Counts the sealed values by key version, the clear ones, and the clear e-voucher tokens
    /// of an older database.
    pub async fn keys_status(&self) -> Result<KeysStatus, StoreError> {
        let keyring = self.keyring();
        on_backend!(self, read, |m, pool| {
            m::sealing_status(pool, &keyring).await
        })
    }

    /// Does one batch of a rewrap in one transaction, from `cursor` on: up to `rows_max` (at
    /// most `limits::REWRAP_BATCH_ROWS_MAX`) clear e-voucher tokens indexed, then values not
    /// under their family's active version re-sealed under it (clear ones sealed), and moves
    /// the cursor past them once committed. Repeat until [`RewrapCursor::is_finished`];
    /// stopping between batches loses nothing, and running it again (from a new cursor) carries
    /// on. A value under a version the key file does not hold stops it with an error naming the
    /// row and the version. A batch that did something appends a `keys.rewrap` leaf to the
    /// access log at `now_ms` in its transaction (spec §9.1: key rotations are logged).
    pub async fn rewrap_batch(
        &self,
        rows_max: u32,
        now_ms: i64,
        cursor: &mut RewrapCursor,
    ) -> Result<RewrapProgress, StoreError> {
        if rows_max == 0 || u64::from(rows_max) > limits::REWRAP_BATCH_ROWS_MAX {
            return Err(StoreError::bad(
                "batch",
                format!("must be 1 to {} rows", limits::REWRAP_BATCH_ROWS_MAX),
            ));
        }
        let keyring = self.keyring();
        on_backend!(self, write, |m, pool| {
            m::sealing_rewrap_batch(pool, &keyring, i64::from(rows_max), now_ms, cursor).await
        })
    }

    /// Refuses to let version `version` of `family` go while any value is still sealed under
    /// it (`yibao keys retire` asks this before it edits the key file).
    pub async fn check_retire(&self, family: &str, version: u32) -> Result<(), StoreError> {
        let status = self.keys_status().await?;
        for column in status.columns.iter().filter(|c| c.column.family == family) {
            let rows = column
                .by_version
                .iter()
                .find(|(v, _)| *v == version)
                .map_or(0, |(_, rows)| *rows);
            if rows > 0 {
                return Err(StoreError::refused(
                    "version",
                    format!(
                        "{rows} values of {}.{} are still sealed under version {version} of \
                         {family}: run `yibao keys rewrap` first",
                        column.column.table, column.column.column
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_stays_empty_and_a_value_opens_only_in_its_row() {
        let keyring = Keyring::generate(&families()).unwrap();
        assert_eq!(seal_field(&keyring, &VISIT_CERT, "M1", "").unwrap(), "");
        assert_eq!(open_field(&keyring, &VISIT_CERT, "M1", "").unwrap(), "");
        let sealed = seal_field(&keyring, &VISIT_CERT, "M1", "tok").unwrap();
        assert!(is_under(&sealed, 1));
        assert_eq!(
            open_field(&keyring, &VISIT_CERT, "M1", &sealed).unwrap(),
            "tok"
        );
        let moved = open_field(&keyring, &VISIT_CERT, "M2", &sealed).unwrap_err();
        assert_eq!(
            moved.to_string(),
            "visit.mdtrt_cert_no of M2: sealed data: does not open under version 1 of \
             visit.mdtrt_cert_no (altered, moved from another row or column, or sealed under \
             another key file)"
        );
    }
}
