//! Fund operations on the store (issue 14, guide `docs/FUNDS.md`): the month's payment run per
//! region — settlements paid once each, inpatient cases priced by DRG points or DIP scores from
//! the settlement lists hospitals uploaded, audit recoveries deducted, the quality holdback
//! withheld, a payment order per institution posted in the ledger with its approval — the
//! clearing between regions (异地清算), and the funds' monthly statements drawn from the ledger.
//! The arithmetic is the funds engine's ([`yibao_funds`]); the SQL is in `funds_tx.rs` (preparing a
//! run), `funds_post_tx.rs` (posting) and `funds_read_tx.rs` (reading, statements).
//!
//! A run is prepared by one finance officer and approved by another; only the approval posts
//! money. Preparing the same region and month again returns the run as it is; approving it
//! again is refused. Each settlement and each reversal belongs to at most one run
//! (`payment_item`'s key), so nothing is paid twice.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_funds::config::FundsConfig;

use crate::error::StoreError;
use crate::{Pool, Store};

/// The bank account of a fund of a region (基金支出户): credited with what it pays out.
pub fn bank_account(fund: &str, admdvs: &str) -> String {
    format!("bank:{fund}:{admdvs}")
}

/// What region `debtor` owes region `creditor` for fund `fund` (异地清算): credited when the
/// creditor pays its hospitals for the debtor's insured, debited when the debtor reimburses it.
pub fn clearing_account(fund: &str, debtor: &str, creditor: &str) -> String {
    format!("xreg:{fund}:{debtor}:{creditor}")
}

/// The cash an institution took from patients at its counter (cleared by the run, not paid).
pub fn counter_account(fixmedins_code: &str) -> String {
    format!("counter:{fixmedins_code}")
}

/// The fund code personal-account payments are paid from (no holdback on them).
pub const PERSONAL_ACCOUNT_FUND: &str = crate::ledger::PERSONAL_ACCOUNT_FUND;

/// The pooling fund DRG/DIP adjustments of a scheme are charged to.
pub fn pool_fund(insutype: &str) -> Option<&'static str> {
    match insutype {
        "310" => Some(crate::contributions::EMPLOYEE_POOL_FUND),
        "390" => Some(crate::contributions::RESIDENT_POOL_FUND),
        _ => None,
    }
}

/// What prepares a run.
#[derive(Debug, Clone)]
pub struct PrepareRun {
    /// The treating region (institution.admdvs) whose institutions are paid.
    pub admdvs: String,
    /// `YYYY-MM`: settlements dated up to the month's end (and earlier ones not yet paid).
    pub month: String,
    /// The finance officer preparing it (a staff username).
    pub prepared_by: String,
    /// The region's month-end settings.
    pub config: FundsConfig,
    /// The region's payment rules (region file).
    pub region: yibao_drg_payment::region::RegionConfig,
    /// Operating-room procedures (DIP treatment types).
    pub or_procedures: std::collections::HashSet<String>,
    /// The day payment is due (month end + the region's working days).
    pub pay_by: NaiveDate,
    /// When.
    pub now: NaiveDateTime,
}

impl PrepareRun {
    /// A run's request from a region file's text: its `[funds]` table and payment rules, the
    /// carried CHS-DRG scheme's operating-room procedures (DIP treatment types), and the due date
    /// (the month's last day plus the region's working days over the shipped holiday calendar).
    pub fn from_region_text(
        admdvs: &str,
        month: &str,
        prepared_by: &str,
        region_text: &str,
        now: NaiveDateTime,
    ) -> Result<PrepareRun, StoreError> {
        let (_, last) = month_bounds(month)?;
        let config = yibao_funds::config::parse_funds(region_text)
            .map_err(|e| StoreError::bad("region", e.to_string()))?;
        let region = yibao_drg_payment::region::parse_region(region_text)
            .map_err(|e| StoreError::bad("region", e.to_string()))?;
        let or_procedures = crate::setl_list::drg_scheme()?
            .or_procedures()
            .iter()
            .map(|p| p.code.clone())
            .collect();
        let calendar = yibao_enrollment::builtin::builtin_calendar()
            .map_err(|e| StoreError::Invariant(format!("the holiday calendar: {e}")))?;
        let days = config.pay_within_working_days;
        let pay_by = calendar
            .add_working_days(last, days)
            .unwrap_or(last + chrono::Days::new(u64::from(days) * 7 / 5));
        Ok(PrepareRun {
            admdvs: admdvs.to_string(),
            month: month.to_string(),
            prepared_by: prepared_by.to_string(),
            config,
            region,
            or_procedures,
            pay_by,
            now,
        })
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// `pay:ADMDVS:YYYY-MM`.
    pub run_id: String,
    /// The treating region.
    pub admdvs: String,
    /// The month.
    pub month: String,
    /// `drg`, `dip` or `ffs`.
    pub method: String,
    /// Who prepared it.
    pub prepared_by: String,
    /// Who approved it (None: prepared, nothing paid yet).
    pub approved_by: Option<String>,
    /// Payment due date.
    pub pay_by: String,
    /// The month's pool shared by points, fen.
    pub pool_fen: i64,
    /// Total points of the month's cases, 1/10000.
    pub points_e4: i64,
    /// Settlements and reversals paid.
    pub n_settlements: i64,
    /// Inpatient cases priced by points.
    pub n_cases: i64,
    /// Inpatient settlements held back for a missing or failing settlement list.
    pub n_held: i64,
    /// What the banks pay (Σ bank + clearing lines), fen.
    pub total_fen: i64,
    /// Whether it is the year-end run (true-up, holdback release).
    pub year_end: bool,
    /// True when this call prepared or approved it (false: it already was).
    pub fresh: bool,
}

impl RunSummary {
    /// The point value in fen per point, 4 decimals of a fen (`None` without points).
    pub fn point_value(&self) -> Option<String> {
        (self.points_e4 > 0).then(|| {
            let e4 = yibao_core_types::money::round_half_up(
                i128::from(self.pool_fen) * 10_000 * 10_000,
                i128::from(self.points_e4),
            );
            format!("{}.{:04}", e4 / 10_000, e4 % 10_000)
        })
    }
}

/// One line of a payment order, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The institution (`region:ADMDVS` for a region's reimbursement).
    pub fixmedins_code: String,
    /// Line number within the institution's order.
    pub seq: i64,
    /// `ffs`, `drg`, `true_up`, `recovery`, `holdback`, `holdback_release`, `counter`, `bank`,
    /// `clearing`, `reimburse`.
    pub kind: String,
    /// The ledger account on the other side.
    pub account: String,
    /// Fen.
    pub amount_fen: i64,
    /// Where it comes from.
    pub trace: String,
}

/// One institution's order, summed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderSummary {
    /// The institution.
    pub fixmedins_code: String,
    /// Its name.
    pub fixmedins_name: String,
    /// What its settlements left owed by funds (Σ ffs), fen.
    pub owed_fen: i64,
    /// DRG/DIP adjustments and true-up, fen.
    pub drg_fen: i64,
    /// Recoveries deducted, fen.
    pub recovery_fen: i64,
    /// Holdback withheld net of releases, fen.
    pub holdback_fen: i64,
    /// Paid by the banks (bank + clearing), fen.
    pub paid_fen: i64,
}

/// A fund's month (one row of the statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundStatementRow {
    /// The figures.
    pub month: yibao_funds::statement::FundMonth,
    /// Income by ledger kind (source), fen.
    pub income_by_kind: Vec<(String, i64)>,
    /// Expenditure by clearing type (`21` inpatient, `11` outpatient, `14` chronic, `41`
    /// pharmacy …), fen.
    pub expenditure_by_clr_type: Vec<(String, i64)>,
    /// Months of expenditure the closing balance covers (over the last 12 months' mean).
    pub months_covered: Option<String>,
    /// Year-to-date expenditure / the year's budget.
    pub execution_rate: Option<String>,
    /// The ledger balance at the month end (sum of shards less later transfers): equals closing.
    pub ledger_closing: i64,
}

/// Interest recorded for a fund, region and month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestRecord {
    /// The fund.
    pub fund: String,
    /// Its region.
    pub admdvs: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The interest, fen.
    pub amount_fen: i64,
    /// The finance officer who recorded it.
    pub recorded_by: String,
    /// The ledger reference it is posted under (`int:FUND:ADMDVS:YYYY-MM`).
    pub ref_id: String,
    /// Recorded by this call (false: it was already, with the same amount).
    pub fresh: bool,
}

/// The counter-account interest comes from: the bank crediting a fund's special account (goes
/// negative as interest comes in).
pub fn interest_account(fund: &str, admdvs: &str) -> String {
    format!("interest:{fund}:{admdvs}")
}

/// One pair of regions in a month's cross-region clearing statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingPair {
    /// The insured region, which owes.
    pub debtor: String,
    /// The treating region, which paid its hospitals.
    pub creditor: String,
    /// The fund.
    pub fund: String,
    /// Paid by the creditor for the debtor's insured in the month's runs, fen.
    pub advanced_fen: i64,
    /// Reimbursed by the debtor in the month, fen.
    pub reimbursed_fen: i64,
    /// Still owed now, fen.
    pub outstanding_fen: i64,
}

/// Checks `YYYY-MM` and gives the month's first and last day.
pub fn month_bounds(month: &str) -> Result<(NaiveDate, NaiveDate), StoreError> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| month.len() == 7)
        .ok_or_else(|| StoreError::bad("month", format!("{month:?} is not YYYY-MM")))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| StoreError::bad("month", "out of range"))?;
    Ok((first, next.pred_opt().expect("a day before")))
}

impl Store {
    /// Prepares the payment run of a region and month (see the module): idempotent — an
    /// existing run is returned as it is (`fresh` false). Refused while an earlier run of the
    /// region awaits approval.
    pub async fn prepare_payment_run(
        &self,
        request: &PrepareRun,
    ) -> Result<RunSummary, StoreError> {
        month_bounds(&request.month)?;
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::prepare_payment_run($p, request).await
            };
        }
        on_backend_writing!(self, RunSummary, run)
    }

    /// Approves a prepared run and posts its payment orders in the ledger, in one transaction.
    /// `approved_by` must differ from who prepared it; a run approved before is refused.
    pub async fn approve_payment_run(
        &self,
        run_id: &str,
        approved_by: &str,
        now: NaiveDateTime,
    ) -> Result<RunSummary, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::approve_payment_run($p, run_id, approved_by, now).await
            };
        }
        on_backend_writing!(self, RunSummary, run)
    }

    /// Reimburses (异地清算) what `debtor` owes other regions now, approved by two finance
    /// officers; booked on `booked_on`. Nothing outstanding: nothing written. Returns the pairs
    /// paid.
    pub async fn reimburse_regions(
        &self,
        debtor: &str,
        month: &str,
        by: &str,
        approved_by: &str,
        now: NaiveDateTime,
    ) -> Result<Vec<ClearingPair>, StoreError> {
        let (_, last) = month_bounds(month)?;
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::reimburse_regions($p, debtor, month, last, by, approved_by, now).await
            };
        }
        on_backend_writing!(self, Vec<ClearingPair>, run)
    }

    /// The run of a region and month, if any.
    pub async fn payment_run(
        &self,
        admdvs: &str,
        month: &str,
    ) -> Result<Option<RunSummary>, StoreError> {
        let run_id = run_id(admdvs, month);
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::read_run(p, &run_id).await,
            Pool::Sq { pool, .. } => crate::sq::read_run(pool, &run_id).await,
        }
    }

    /// The runs of a month, every region.
    pub async fn payment_runs(&self, month: &str) -> Result<Vec<RunSummary>, StoreError> {
        month_bounds(month)?;
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::read_runs(p, month).await,
            Pool::Sq { pool, .. } => crate::sq::read_runs(pool, month).await,
        }
    }

    /// The regions that have institutions (each is paid by its own run).
    pub async fn payment_regions(&self) -> Result<Vec<String>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::payment_regions(p).await,
            Pool::Sq { pool, .. } => crate::sq::payment_regions(pool).await,
        }
    }

    /// The lines of a run's orders, by institution and line number.
    pub async fn payment_lines(&self, run_id: &str) -> Result<Vec<OrderLine>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::payment_lines(p, run_id).await,
            Pool::Sq { pool, .. } => crate::sq::payment_lines(pool, run_id).await,
        }
    }

    /// Each institution's order of a run, summed from its lines, with its name.
    pub async fn payment_orders(&self, run_id: &str) -> Result<Vec<OrderSummary>, StoreError> {
        let lines = self.payment_lines(run_id).await?;
        let names = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::institution_names(p).await?,
            Pool::Sq { pool, .. } => crate::sq::institution_names(pool).await?,
        };
        Ok(summarise_orders(&lines, &names))
    }

    /// The bank file of an approved run: one row per institution and paying account (CSV:
    /// `run_id,fixmedins_code,fixmedins_name,pay_from,amount,pay_by`, amounts in yuan), then a
    /// `total` row. Refused for a run not approved.
    pub async fn bank_file(&self, run_id: &str) -> Result<String, StoreError> {
        let run = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::read_run(p, run_id).await?,
            Pool::Sq { pool, .. } => crate::sq::read_run(pool, run_id).await?,
        }
        .ok_or_else(|| StoreError::bad("run_id", format!("{run_id} does not exist")))?;
        if run.approved_by.is_none() {
            return Err(StoreError::refused(
                "run_id",
                format!("{run_id} is not approved: nothing is paid yet"),
            ));
        }
        let lines = self.payment_lines(run_id).await?;
        let names = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::institution_names(p).await?,
            Pool::Sq { pool, .. } => crate::sq::institution_names(pool).await?,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| StoreError::Invariant(format!("bank file: {e}"));
        w.write_record([
            "run_id",
            "fixmedins_code",
            "fixmedins_name",
            "pay_from",
            "amount",
            "pay_by",
        ])
        .map_err(io)?;
        let mut total = 0i64;
        let mut n = 0;
        for l in lines.iter().filter(|l| {
            matches!(l.kind.as_str(), "bank" | "clearing" | "reimburse") && l.amount_fen != 0
        }) {
            total += l.amount_fen;
            n += 1;
            let name = names
                .get(&l.fixmedins_code)
                .map(String::as_str)
                .unwrap_or("");
            let amount = yibao_funds::statement::yuan(l.amount_fen);
            w.write_record([
                run_id,
                l.fixmedins_code.as_str(),
                name,
                l.account.as_str(),
                amount.as_str(),
                run.pay_by.as_str(),
            ])
            .map_err(io)?;
        }
        let total = yibao_funds::statement::yuan(total);
        let n = format!("{n} rows");
        w.write_record([
            run_id,
            "total",
            n.as_str(),
            "",
            total.as_str(),
            run.pay_by.as_str(),
        ])
        .map_err(io)?;
        String::from_utf8(
            w.into_inner()
                .map_err(|e| StoreError::Invariant(e.to_string()))?,
        )
        .map_err(|e| StoreError::Invariant(e.to_string()))
    }

    /// The funds' statement of a month: one row per fund account (`fund:CODE:ADMDVS`), each
    /// closing checked against the ledger balance (an error if they differ).
    pub async fn fund_statement(&self, month: &str) -> Result<Vec<FundStatementRow>, StoreError> {
        let (first, last) = month_bounds(month)?;
        let rows = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::fund_statement(p, first, last).await?,
            Pool::Sq { pool, .. } => crate::sq::fund_statement(pool, first, last).await?,
        };
        for r in &rows {
            if r.month.closing != r.ledger_closing {
                return Err(StoreError::Invariant(format!(
                    "fund {}:{} closes at {} by its movements but the ledger holds {}",
                    r.month.fund, r.month.admdvs, r.month.closing, r.ledger_closing
                )));
            }
        }
        Ok(rows)
    }

    /// The month's cross-region clearing statement, one row per debtor × creditor × fund.
    pub async fn clearing_statement(&self, month: &str) -> Result<Vec<ClearingPair>, StoreError> {
        month_bounds(month)?;
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::clearing_statement(p, month).await,
            Pool::Sq { pool, .. } => crate::sq::clearing_statement(pool, month).await,
        }
    }

    /// Records the interest the bank credited to a fund of a region for a month and posts it
    /// (kind `interest`, from `interest:FUND:ADMDVS` into the fund, booked on the month's last
    /// day, or today in the current month). Once per fund, region and month: the same amount
    /// again returns the record unchanged (`fresh` false), another amount is refused; a month
    /// not begun is refused.
    pub async fn record_interest(
        &self,
        fund: &str,
        admdvs: &str,
        month: &str,
        amount_fen: i64,
        by: &str,
        now: NaiveDateTime,
    ) -> Result<InterestRecord, StoreError> {
        let (first, last) = month_bounds(month)?;
        let six_digits = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
        if !six_digits(fund) {
            return Err(StoreError::bad(
                "fund",
                format!("{fund:?} is not six digits"),
            ));
        }
        if !six_digits(admdvs) {
            return Err(StoreError::bad(
                "admdvs",
                format!("{admdvs:?} is not six digits"),
            ));
        }
        if amount_fen <= 0 {
            return Err(StoreError::bad("amount", "must be above zero"));
        }
        if first > now.date() {
            return Err(StoreError::refused(
                "month",
                format!("{month} has not begun: no interest to record yet"),
            ));
        }
        let booked_on = last.min(now.date());
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::record_interest($p, fund, admdvs, month, booked_on, amount_fen, by, now).await
            };
        }
        on_backend_writing!(self, InterestRecord, run)
    }

    /// Sets a fund's annual expenditure budget, or with fund [`DRG_BUDGET_FUND`] the region's
    /// DRG/DIP budget (a new version; the latest counts).
    pub async fn set_fund_budget(
        &self,
        fund: &str,
        admdvs: &str,
        year: i32,
        amount_fen: i64,
        by: &str,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if amount_fen <= 0 {
            return Err(StoreError::bad("amount", "must be above zero"));
        }
        let six_digits = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
        if !six_digits(fund) && fund != DRG_BUDGET_FUND {
            return Err(StoreError::bad(
                "fund",
                format!("{fund:?} is not a fund code (six digits) or {DRG_BUDGET_FUND:?}"),
            ));
        }
        if !six_digits(admdvs) {
            return Err(StoreError::bad(
                "admdvs",
                format!("{admdvs:?} is not six digits"),
            ));
        }
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::set_fund_budget($p, fund, admdvs, year, amount_fen, by, now).await
            };
        }
        on_backend_writing!(self, (), run)
    }
}

/// The pseudo-fund under which `fund_budget` keeps a region's annual DRG/DIP budget (总额预算
/// of the inpatient cases paid by points); without one, last year's spending grown by the
/// region's `[budget] growth`, else budget neutral (docs/FUNDS.md).
pub const DRG_BUDGET_FUND: &str = "drg";

/// The run id of a region and month.
pub fn run_id(admdvs: &str, month: &str) -> String {
    format!("pay:{admdvs}:{month}")
}

fn summarise_orders(
    lines: &[OrderLine],
    names: &std::collections::HashMap<String, String>,
) -> Vec<OrderSummary> {
    let mut by: std::collections::BTreeMap<&str, OrderSummary> = Default::default();
    for l in lines {
        let o = by
            .entry(l.fixmedins_code.as_str())
            .or_insert_with(|| OrderSummary {
                fixmedins_code: l.fixmedins_code.clone(),
                fixmedins_name: names.get(&l.fixmedins_code).cloned().unwrap_or_default(),
                ..Default::default()
            });
        match l.kind.as_str() {
            "ffs" => o.owed_fen += l.amount_fen,
            "drg" | "true_up" => o.drg_fen += l.amount_fen,
            "recovery" => o.recovery_fen += l.amount_fen,
            "holdback" => o.holdback_fen += l.amount_fen,
            "holdback_release" => o.holdback_fen -= l.amount_fen,
            "bank" | "clearing" | "reimburse" => o.paid_fen += l.amount_fen,
            _ => {}
        }
    }
    by.into_values().collect()
}
