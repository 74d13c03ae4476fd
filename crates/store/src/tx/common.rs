// Included twice by lib.rs (`mod pg` and `mod sq`), with `Db` the backend's database type and
// `IS_PG` telling them apart. SQL uses `$n` placeholders, BIGINT and TEXT only, so each
// statement runs unchanged on both; PostgreSQL-only lock clauses are guarded by `IS_PG`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use sqlx::Row;

use crate::cmd::*;
use crate::engine::{self, Computed, LineFacts, SettleInput, StoredLine, Ytd};
use crate::error::StoreError;
use crate::import::{ImportSummary, Parsed};
use crate::ledger::{self, LedgerReport};
use crate::limits;
use crate::registry::*;
use crate::Ctx;

type Pool = sqlx::Pool<Db>;
type Tx<'c> = sqlx::Transaction<'c, Db>;

const TS: &str = "%Y-%m-%d %H:%M:%S";

fn ts(t: NaiveDateTime) -> String {
    t.format(TS).to_string()
}

fn parse_ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, TS).unwrap_or_default()
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn retryable(e: &StoreError) -> bool {
    if let StoreError::Database(sqlx::Error::Database(db)) = e {
        return matches!(db.code().as_deref(), Some("40001") | Some("40P01"));
    }
    false
}
