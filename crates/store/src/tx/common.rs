// Included twice by lib.rs (`mod pg` and `mod sq`), with `Db` the backend's database type and
// `IS_PG` telling them apart. SQL uses `$n` placeholders, BIGINT and TEXT only, so each
// statement runs unchanged on both; PostgreSQL-only lock clauses are guarded by `IS_PG`.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use sqlx::Row;
use yibao_core_types::Fen;
use yibao_settlement::{SetlAmounts, SetlSign, SetlUnit};

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

/// A stored timestamp; one that does not read is a broken row, never 1970.
fn parse_ts(s: &str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(s, TS).map_err(|_| {
        StoreError::Invariant(format!("stored timestamp {s:?} is not yyyy-MM-dd HH:mm:ss"))
    })
}

/// The day of a stored timestamp (`yyyy-MM-dd …`); one that does not read is a broken row.
fn stored_day(s: &str) -> Result<NaiveDate, StoreError> {
    s.get(..10)
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .ok_or_else(|| StoreError::Invariant(format!("stored time {s:?} has no yyyy-MM-dd day")))
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

/// Refuses a msgid the settlement path's `idempotency` table already holds for the institution
/// (a message of another transaction), naming the transaction that used it.
async fn msgid_unused_by_settlement_path(
    conn: &mut <Db as sqlx::Database>::Connection,
    fixmedins_code: &str,
    msgid: &str,
) -> Result<(), StoreError> {
    let other: Option<String> = sqlx::query_scalar(
        "SELECT infno FROM idempotency WHERE fixmedins_code = $1 AND msgid = $2",
    )
    .bind(fixmedins_code)
    .bind(msgid)
    .fetch_optional(&mut *conn)
    .await?;
    match other {
        Some(infno) => Err(StoreError::MsgidConflict {
            msgid: msgid.to_owned(),
            infno,
        }),
        None => Ok(()),
    }
}
