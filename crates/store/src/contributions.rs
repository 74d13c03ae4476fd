//! Contributions on the store (spec enrollment.md §3.6, §3.7, §5; guide `docs/CONTRIBUTIONS.md`):
//! employers and their wage declarations, the monthly employee run and the residents' annual
//! run, each assessment posted to the ledger with the run. The arithmetic is the enrollment
//! engine's ([`yibao_enrollment::contribution`]); the SQL is in `tx/contributions.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::{Category, ParamSet, YearMonth};

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// Transfer kind of an in-service employee's account credit (tax collection → personal account).
pub const KIND_CLCT_ACCT: &str = "clct_acct";
/// Transfer kind of contribution income into a pooled fund (a payer's account → the fund).
pub const KIND_CLCT_POOL: &str = "clct_pool";
/// Transfer kind of a retiree's fixed account credit (pooled fund → personal account).
pub const KIND_RETIREE_CREDIT: &str = "retiree_credit";
/// The employees' pooled fund (统筹基金), as settlement names it.
pub const EMPLOYEE_POOL_FUND: &str = "310100";
/// The residents' basic fund, as settlement names it.
pub const RESIDENT_POOL_FUND: &str = "390100";
/// The medical-assistance fund (医疗救助), as settlement names it: the assistance payer line.
pub const ASSISTANCE_FUND: &str = "610100";

/// The counter-account a payer's share of a contribution comes from: the tax bureau's
/// collection for individuals and employers (`clct:tax:ADMDVS`), the medical-assistance fund for
/// 资助参保, `clct:PAYER:ADMDVS` for finance and the other payers.
pub fn payer_account(payer: yibao_enrollment::Payer, admdvs: &str) -> String {
    use yibao_enrollment::Payer;
    match payer {
        Payer::Individual | Payer::Employer => collection_account(admdvs),
        Payer::AssistanceFund => crate::ledger::fund_account(ASSISTANCE_FUND, admdvs),
        other => format!("clct:{}:{admdvs}", other.key()),
    }
}

/// Contributions collected by the tax bureau for a region: the counter-account of employee and
/// individual resident contributions (goes negative as money comes in).
pub fn collection_account(admdvs: &str) -> String {
    format!("clct:tax:{admdvs}")
}

/// The identity category an `identity.sp_psn_type` code names, for subsidies: see
/// [`Category::from_sp_psn_type`].
pub fn category_of_sp_psn_type(code: &str) -> Option<Category> {
    Category::from_sp_psn_type(code)
}

/// An employer (参保单位).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employer {
    /// `emp_no`.
    pub emp_no: String,
    /// The employer's name.
    pub emp_name: String,
    /// Where it is insured (`insu_admdvs`).
    pub insu_admdvs: String,
}

/// A wage declaration: a person's contribution wage for a year (last year's average monthly
/// wage), declared by the employer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WageDeclaration {
    /// The person.
    pub psn_no: String,
    /// The contribution year it is for.
    pub year: i32,
    /// The declaring employer.
    pub emp_no: String,
    /// The declared monthly wage.
    pub wage: Fen,
    /// Where it came from (`employer`, `tax`, a file name …).
    pub source: String,
}

/// How a run proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Relations per chunk; each chunk is one transaction (assessments and transfers together).
    pub chunk_rows: usize,
    /// Tests only: stop as if the process died after this many chunks of this call.
    pub stop_after_chunks: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            chunk_rows: crate::limits::CONTRIBUTION_CHUNK_ROWS,
            stop_after_chunks: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// `E2025-07` (employees) or `R2026` (residents).
    pub run_id: String,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// Relations active in the period less those the run had already assessed (the progress total).
    pub candidates: u64,
    /// Assessments written by this call.
    pub assessed: u64,
    /// Of them, retirees' fixed credits.
    pub retiree_credits: u64,
    /// Relations left for a clerk (no wage, no parameter set …); see [`Store::contribution_cases`].
    pub cases: u64,
    /// The run had been begun before (a crash) and this call completed it.
    pub resumed: bool,
    /// Chunks committed by this call.
    pub chunks: u64,
    /// Employers' amounts.
    pub employer: Fen,
    /// Individuals' amounts (employees' shares, residents' individual lines).
    pub individual: Fen,
    /// Other payers' lines (finance, assistance fund …).
    pub other_payers: Fen,
    /// Credited to personal accounts.
    pub into_accounts: Fen,
    /// Into the pooled funds.
    pub into_pool: Fen,
}

impl RunReport {
    /// True when the call wrote no assessment (the period was already done).
    pub fn nothing_new(&self) -> bool {
        self.assessed == 0
    }
}

/// A stored assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentView {
    /// Its id (ledger ref of its account transfers).
    pub assessment_id: String,
    /// The person.
    pub psn_no: String,
    /// `310` or `390`.
    pub insutype: String,
    /// The region.
    pub insu_admdvs: String,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// `normal`, `retiree_credit` or `refund`.
    pub clct_type: String,
    /// The person's `psn_type` then.
    pub psn_type: String,
    /// The contribution base (employees).
    pub base: Fen,
    /// The employer's amount.
    pub employer: Fen,
    /// The person's amount.
    pub individual: Fen,
    /// Other payers' lines.
    pub other_payers: Fen,
    /// Credited to the personal account.
    pub into_account: Fen,
    /// Into the pooled fund.
    pub into_pool: Fen,
    /// The parameter set used (`140500-2025`).
    pub params_id: String,
    /// The run that wrote it (none for a single request).
    pub run_id: Option<String>,
    /// '' for a run's or a single request's; `undo:DECISION` for the parts an undone subsidy
    /// added, `refund` for a refund by command.
    pub part: String,
    /// Payer lines (residents): (payer key, amount).
    pub payer_lines: Vec<(String, Fen)>,
}

/// A relation a run could not assess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionCase {
    /// The period.
    pub period: String,
    /// The person.
    pub psn_no: String,
    /// The insurance type.
    pub insutype: String,
    /// `no_wage`, `no_params`, `psn_type`, `engine`.
    pub reason: String,
    /// What exactly.
    pub detail: String,
}

/// A progress callback: (relations done, relations in the run).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

impl Store {
    /// Records employers (an `emp_no` already known with other details is refused; the same
    /// row again is accepted and writes nothing). All or nothing.
    pub async fn record_employers(&self, employers: &[Employer]) -> Result<u64, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::contribution_employers(p, employers).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::contribution_employers(pool, employers).await
            }
        }
    }

    /// Records wage declarations at `recorded_at`, all or nothing: an unknown person or
    /// employer, a negative wage, or a second declaration for the same person and year with a
    /// different wage is refused naming the row; the same declaration again writes nothing.
    pub async fn declare_wages(
        &self,
        declarations: &[WageDeclaration],
        recorded_at: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::contribution_declare_wages(p, declarations, recorded_at).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::contribution_declare_wages(pool, declarations, recorded_at).await
            }
        }
    }

    /// The monthly employee run (spec §5.1): every `310` relation active in `month` and not
    /// paused or closed in it, not yet assessed: in service (`11xx`) the base from the wage
    /// declared for the year clamped by the engine, both shares and the account credit;
    /// retired (`12xx`) the fixed credit by age band. Posts every fen to the ledger in the same
    /// chunk transaction as the assessments. Running a month again writes nothing; a run cut
    /// short (a crash between chunks) is completed by the next, without double posting.
    pub async fn run_employee_month(
        &self,
        month: YearMonth,
        params: &ParamSet,
        options: &RunOptions,
        now: NaiveDateTime,
        progress: Progress<'_>,
    ) -> Result<RunReport, StoreError> {
        check_options(options)?;
        match &self.inner.pool {
            Pool::Pg(p) => {
                pg::contribution_run_employees(p, month, params, options, now, progress).await
            }
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::contribution_run_employees(pool, month, params, options, now, progress).await
            }
        }
    }

    /// The residents' annual run (spec §5.3, §5.4) for `benefit_year`, assessed on
    /// `assessed_on` (the subsidy's reference date): every `390` relation active in the year
    /// and not paused or closed in it, not yet assessed: the tier (the person's
    /// `contribution_tier`, the children's tier under 18), the most favourable subsidy of the
    /// person's identity categories, and the payer lines, each posted into the residents' fund
    /// so that its income is the full standard. Idempotent and resumable as the employee run.
    pub async fn run_resident_year(
        &self,
        benefit_year: i32,
        assessed_on: NaiveDate,
        params: &ParamSet,
        options: &RunOptions,
        now: NaiveDateTime,
        progress: Progress<'_>,
    ) -> Result<RunReport, StoreError> {
        check_options(options)?;
        match &self.inner.pool {
            Pool::Pg(p) => {
                pg::contribution_run_residents(
                    p,
                    benefit_year,
                    assessed_on,
                    params,
                    options,
                    now,
                    progress,
                )
                .await
            }
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::contribution_run_residents(
                    pool,
                    benefit_year,
                    assessed_on,
                    params,
                    options,
                    now,
                    progress,
                )
                .await
            }
        }
    }

    /// An explicit request to assess one employee's month outside a run: refused naming
    /// `psn_insu_stas` when the relation is paused or closed in the month, `insutype` when
    /// there is none, `wage` when no wage is declared for the year; an assessment already
    /// stored for the month is returned as it is.
    pub async fn assess_employee(
        &self,
        psn_no: &str,
        month: YearMonth,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<AssessmentView, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::contribution_assess_one(p, psn_no, month, params, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::contribution_assess_one(pool, psn_no, month, params, now).await
            }
        }
    }

    /// A person's assessments, by period.
    pub async fn assessments(&self, psn_no: &str) -> Result<Vec<AssessmentView>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::contribution_assessments(p, psn_no).await,
            Pool::Sq { pool, .. } => sq::contribution_assessments(pool, psn_no).await,
        }
    }

    /// The cases runs opened for `period` (`YYYY-MM` or `YYYY`), by person.
    pub async fn contribution_cases(
        &self,
        period: &str,
    ) -> Result<Vec<ContributionCase>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::contribution_cases(p, period).await,
            Pool::Sq { pool, .. } => sq::contribution_cases(pool, period).await,
        }
    }
}

fn check_options(options: &RunOptions) -> Result<(), StoreError> {
    if options.chunk_rows == 0 || options.chunk_rows > crate::limits::CONTRIBUTION_CHUNK_ROWS_MAX {
        return Err(StoreError::bad(
            "chunk_rows",
            format!(
                "must be 1 to {}",
                crate::limits::CONTRIBUTION_CHUNK_ROWS_MAX
            ),
        ));
    }
    Ok(())
}
