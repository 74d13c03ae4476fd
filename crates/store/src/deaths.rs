//! Deaths, the dangerous feed (spec enrollment.md §8.3). A department's death list (CSV
//! `certno,psn_name,death_date`, from the police, health or civil affairs) is kept report by
//! report; a death is acted on only when the police report it (户籍注销), when two different
//! departments do, or when a single report has stood for [`DEATH_CONFIRM_DAYS`] days (a later
//! run confirms it). Acting on a death ends the person's basic and dependent relations at the
//! death date (status 4) and gives smart audit the date (its death rule flags care after it);
//! the settlements already made after that date are listed for audit, never reversed. A wrong
//! death locks a living person out of care, so nothing is acted on from a name alone: every row
//! names a valid identity number of a person the registry holds.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// The death list's header.
pub const DEATH_HEADER: &str = "certno,psn_name,death_date";

/// Days a death reported by one department other than the police stands before it is acted on
/// (§8.3's confirmation window, illustrative).
pub const DEATH_CONFIRM_DAYS: i64 = 15;

/// Rows one death list may hold.
pub const DEATH_ROWS_MAX: usize = 1_000_000;

/// The departments that report deaths.
pub const DEATH_DEPTS: [&str; 3] = ["police", "health", "civil_affairs"];

/// What a death list did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeathReport {
    /// Rows recorded as reports (a report already held counts once).
    pub recorded: u64,
    /// Rows refused, with their line and why.
    pub refused: Vec<(u64, String)>,
    /// Deaths acted on by this run (this list's and earlier ones now confirmed).
    pub confirmed: Vec<ConfirmedDeath>,
    /// Reports waiting for a second department or the window.
    pub pending: u64,
}

/// A death acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedDeath {
    /// The person.
    pub psn_no: String,
    /// The death date.
    pub death_date: NaiveDate,
    /// `police`, `two_sources` or `window`.
    pub basis: &'static str,
    /// Relations ended.
    pub relations_ended: u64,
    /// Settlements dated after the death, for audit.
    pub settlements_after: Vec<String>,
}

impl Store {
    /// Records a department's death list (`dept` one of [`DEATH_DEPTS`]) as of `today`, then acts
    /// on every death now confirmed. Bad rows are refused by line and the good ones kept; a
    /// header that is not [`DEATH_HEADER`] refuses the file.
    pub async fn import_deaths(
        &self,
        text: &str,
        dept: &str,
        source_ref: &str,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<DeathReport, StoreError> {
        if !DEATH_DEPTS.contains(&dept) {
            return Err(StoreError::bad(
                "dept",
                format!("`{dept}` is not one of {}", DEATH_DEPTS.join(", ")),
            ));
        }
        let (rows, refused) = dated_rows(text, DEATH_HEADER, DEATH_ROWS_MAX, today, |date| {
            (date > today).then(|| format!("death_date {date} is in the future"))
        })?;
        let mut report = match &self.inner.pool {
            Pool::Pg(p) => pg::deaths_import(p, &rows, dept, source_ref, today, now).await?,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::deaths_import(pool, &rows, dept, source_ref, today, now).await?
            }
        };
        report.refused.extend(refused);
        report.refused.sort();
        Ok(report)
    }
}

/// Reads a department file of dated person rows (`certno,psn_name,DATE` under `header`): the
/// rows that pass — a valid identity number (canonical), a name, a `YYYY-MM-DD` date `check`
/// accepts — with their line (the header is line 1), and the refused ones by line with why. A
/// wrong header or more than `rows_max` rows refuses the whole file.
pub(crate) fn dated_rows(
    text: &str,
    header: &str,
    rows_max: usize,
    today: NaiveDate,
    check: impl Fn(NaiveDate) -> Option<String>,
) -> Result<DatedRows, StoreError> {
    let mut lines = text.lines();
    if lines
        .next()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        != Some(header)
    {
        return Err(StoreError::bad(
            "header",
            format!("the first line must be `{header}`"),
        ));
    }
    let date_field = header.rsplit(',').next().unwrap_or("date");
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (idx, raw) in lines.enumerate() {
        let line = idx as u64 + 2;
        if raw.trim().is_empty() {
            continue;
        }
        if rows.len() + refused.len() >= rows_max {
            return Err(StoreError::bad(
                "file",
                format!("more than {rows_max} rows: send it in parts"),
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
            refused.push((line, format!("{date_field} `{date}` is not YYYY-MM-DD")));
            continue;
        };
        if let Some(reason) = check(date) {
            refused.push((line, reason));
            continue;
        }
        rows.push((line, id.as_str().to_owned(), date));
    }
    Ok((rows, refused))
}

/// Rows of a dated person file, and its refused lines.
pub(crate) type DatedRows = (Vec<(u64, String, NaiveDate)>, Vec<(u64, String)>);
