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
        let mut lines = text.lines();
        if lines
            .next()
            .map(|h| h.trim_start_matches('\u{feff}').trim())
            != Some(RETIREMENT_HEADER)
        {
            return Err(StoreError::bad(
                "header",
                format!("the first line must be `{RETIREMENT_HEADER}`"),
            ));
        }
        let mut rows = Vec::new();
        let mut refused = Vec::new();
        for (idx, raw) in lines.enumerate() {
            let line = idx as u64 + 2;
            if raw.trim().is_empty() {
                continue;
            }
            if rows.len() + refused.len() >= RETIREMENT_ROWS_MAX {
                return Err(StoreError::bad(
                    "file",
                    format!("more than {RETIREMENT_ROWS_MAX} rows: send it in parts"),
                ));
            }
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            let [certno, name, date] = fields[..] else {
                refused.push((line, format!("{} fields, 3 expected", fields.len())));
                continue;
            };
            let id = match yibao_enrollment::CitizenId::parse(certno, today) {
                Ok(id) => id,
                Err(err) => {
                    refused.push((line, format!("certno `{certno}`: {}", err.reason())));
                    continue;
                }
            };
            if name.is_empty() {
                refused.push((line, "psn_name is empty".to_owned()));
                continue;
            }
            let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
                refused.push((line, format!("retire_date `{date}` is not YYYY-MM-DD")));
                continue;
            };
            // An approval names a retirement at most a year ahead.
            if (date - today).num_days() > 366 {
                refused.push((
                    line,
                    format!("retire_date {date} is more than a year ahead"),
                ));
                continue;
            }
            rows.push((line, id.as_str().to_owned(), date));
        }
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
