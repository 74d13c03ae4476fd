//! Retirement approvals from human resources (在职转退休, spec enrollment.md §5.2, §11): each
//! approval is checked against the person's contribution years — months paid here (the
//! employee assessments), months brought by transfers, deemed and back-paid months — by the
//! enrollment engine (`yibao_enrollment::auto::on_retirement`). When the years are met the
//! person becomes a retiree with nobody applying: the relation's current segment ends the day
//! before the month of retirement and a `1201` segment begins (contributions stop; the monthly
//! run credits the retiree's fixed amount); when short, the decision is the notice of the
//! one-off back-payment. Each decision is an automatic decision (`auto_decision`) with its
//! source line; a file sent again decides nothing new.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::ParamSet;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// The approvals file's header.
pub const RETIREMENT_HEADER: &str = "certno,psn_name,retire_date";

/// Rows one approvals file may hold.
pub const RETIREMENT_ROWS_MAX: usize = 1_000_000;

/// What an approvals file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetirementReport {
    /// Persons who became retirees: the person and the first day as one.
    pub retired: Vec<(String, NaiveDate)>,
    /// Persons short of years: the person, the months short and the back-payment.
    pub short: Vec<(String, u32, Fen)>,
    /// Rows refused, with their line and why.
    pub refused: Vec<(u64, String)>,
    /// Rows decided before (the file or the row sent again).
    pub decided_before: u64,
}

impl Store {
    /// Records a human-resources approvals file (CSV with [`RETIREMENT_HEADER`]) as of `today`.
    pub async fn import_retirements(
        &self,
        text: &str,
        source_ref: &str,
        params: &ParamSet,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<RetirementReport, StoreError> {
        // An approval names a retirement at most a year ahead.
        let (rows, refused) = crate::deaths::dated_rows(
            text,
            RETIREMENT_HEADER,
            RETIREMENT_ROWS_MAX,
            today,
            |date| {
                ((date - today).num_days() > 366)
                    .then(|| format!("retire_date {date} is more than a year ahead"))
            },
        )?;
        let mut report = match &self.inner.pool {
            Pool::Pg(p) => pg::retirement_import(p, &rows, source_ref, params, now).await?,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::retirement_import(pool, &rows, source_ref, params, now).await?
            }
        };
        report.refused.extend(refused);
        report.refused.sort();
        Ok(report)
    }
}
