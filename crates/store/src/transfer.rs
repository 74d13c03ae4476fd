//! 转移接续 (spec enrollment.md §12): moving a relation between pooling regions. The sending
//! side ends the relation where the transfer is done, builds the information sheet (contribution
//! months by region, deemed months, last month paid, account balance) and moves the balance out
//! of the personal account to its transfer clearing account; the receiving side matches the
//! sheet's person by identity number, opens the relation on the day after the sending one
//! ended (never two at once), credits the months (`contribution_years`, source `transfer_in`)
//! and the balance. Each side is one `relation_transfer` row; its deadline (10 working days to
//! send, 5 to load) comes from the holiday calendar; a side done twice is refused.
//! Retirees are not transferred (they file for cross-region care instead).

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::{HolidayCalendar, ParamSet};

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// The clearing account a sending region moves transferred balances to.
pub fn transfer_out_account(admdvs: &str) -> String {
    format!("transfer:out:{admdvs}")
}

/// The clearing account a receiving region pays transferred balances from.
pub fn transfer_in_account(admdvs: &str) -> String {
    format!("transfer:in:{admdvs}")
}

/// Ledger kind of a balance sent.
pub const KIND_TRANSFER_OUT: &str = "transfer_out";
/// Ledger kind of a balance received.
pub const KIND_TRANSFER_IN: &str = "transfer_in";

/// A sending-side transfer.
#[derive(Debug, Clone)]
pub struct TransferOut {
    /// The person.
    pub psn_no: String,
    /// `310` or `390`.
    pub insutype: String,
    /// The receiving region.
    pub to_admdvs: String,
    /// The day the application was accepted.
    pub accepted_on: NaiveDate,
    /// The day the relation ends and the sheet leaves.
    pub done_on: NaiveDate,
}

/// What one side of a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// The transfer's id (the sheet carries it).
    pub transfer_id: String,
    /// The information sheet (JSON).
    pub sheet: String,
    /// The last day allowed.
    pub due_on: NaiveDate,
    /// The day it was done.
    pub done_on: NaiveDate,
    /// Done after the deadline.
    pub late: bool,
    /// Contribution months actually paid, every region together.
    pub months_actual: i64,
    /// Deemed months.
    pub months_deemed: i64,
    /// The personal-account balance moved.
    pub balance: Fen,
}

impl Store {
    /// The sending side: ends the relation, builds the sheet, sends the balance.
    pub async fn transfer_out(
        &self,
        t: &TransferOut,
        params: &ParamSet,
        calendar: &HolidayCalendar,
        now: NaiveDateTime,
    ) -> Result<TransferReport, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::transfer_out(p, t, params, calendar, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::transfer_out(pool, t, params, calendar, now).await
            }
        }
    }

    /// The receiving side: loads a sheet received on `received_on`, done on `done_on`.
    pub async fn transfer_in(
        &self,
        sheet: &str,
        received_on: NaiveDate,
        done_on: NaiveDate,
        params: &ParamSet,
        calendar: &HolidayCalendar,
        now: NaiveDateTime,
    ) -> Result<TransferReport, StoreError> {
        let sheet: serde_json::Value = serde_json::from_str(sheet)
            .map_err(|err| StoreError::bad("sheet", format!("not JSON: {err}")))?;
        match &self.inner.pool {
            Pool::Pg(p) => {
                pg::transfer_in(p, &sheet, received_on, done_on, params, calendar, now).await
            }
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::transfer_in(pool, &sheet, received_on, done_on, params, calendar, now).await
            }
        }
    }
}

/// The transfer parameters of a region's pooling level (the region, its prefecture, its
/// province).
pub(crate) fn transfer_params<'p>(
    params: &'p ParamSet,
    admdvs: &str,
    year: i32,
) -> Option<&'p yibao_enrollment::params::TransferParams> {
    params.get_pooled(admdvs, year)?.transfer.as_ref()
}
