//! The review of findings on the store (初审 → 申诉 → 复审 → 终审): cases opened from the findings
//! settlements recorded, their append-only histories, the receivables a confirmation posts to
//! the ledger, and the funnel and per-rule precision. The rules of the workflow are the audit
//! crate's ([`yibao_audit::review`]); the SQL is in `tx/review.rs`.

use chrono::NaiveDateTime;
use yibao_audit::review::{CaseState, Step, Verdict};
use yibao_core_types::Fen;

use crate::audit::AuditResultLine;

/// The region's review settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewSettings {
    /// Days after 初审 within which the institution may appeal (申诉期限).
    pub appeal_days: u32,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings { appeal_days: 10 }
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Only this institution's (an institution's user sees no other).
    pub fixmedins_code: Option<String>,
    /// Only cases in this state (a [`CaseState::code`]).
    pub state: Option<String>,
    /// Only this rule's.
    pub rule_id: Option<String>,
    /// At most this many (capped at [`CASES_PAGE_MAX`]).
    pub limit: usize,
    /// Cases after this `case_id` (the previous page's last).
    pub after: Option<String>,
}

/// The most cases one listing answers.
pub const CASES_PAGE_MAX: usize = 500;

/// A case in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSummary {
    /// The case.
    pub case_id: String,
    /// Its finding.
    pub jr_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The person (`psn_no`).
    pub patn_id: String,
    /// The settlement the finding was recorded with.
    pub setl_id: String,
    /// The rule.
    pub rule_id: String,
    /// The rule's severity.
    pub sev_deg: u8,
    /// The money the finding flagged.
    pub flagged: Fen,
    /// Where the case stands now.
    pub state: CaseState,
    /// When it was opened.
    pub opened_at: NaiveDateTime,
}

/// One entry of a case's history as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseEventView {
    /// 1, 2, … in order.
    pub seq: i64,
    /// `first`, `second`, `final` or `appeal`.
    pub kind: String,
    /// The staff account (or institution user) that acted.
    pub actor: String,
    /// `uphold`, `dismiss` or `appeal`.
    pub verdict: String,
    /// The amount upheld (0 otherwise).
    pub amount: Fen,
    /// Why.
    pub reason: String,
    /// When.
    pub at: NaiveDateTime,
}

/// A case with its finding, lines, history and receivable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseView {
    /// The listing's fields.
    pub summary: CaseSummary,
    /// The visit of the finding.
    pub mdtrt_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// The finding's message.
    pub vola_cont: String,
    /// The finding's evidence (JSON text).
    pub evidence: String,
    /// The lines the finding names.
    pub lines: Vec<AuditResultLine>,
    /// The history, in order.
    pub events: Vec<CaseEventView>,
    /// The confirmed amount and penalty, once confirmed.
    pub receivable: Option<(Fen, Fen)>,
    /// The hospital's answers (3103) to warnings of the same rule on the same visit before it
    /// settled: a warning it continued past with a reason is the reviewer's first lead.
    pub prior_warnings: Vec<PriorWarning>,
}

/// A 3101/3102 warning of the case's rule on the case's visit and the hospital's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorWarning {
    /// The warning's `jr_id`.
    pub jr_id: String,
    /// 1 事前, 2 事中.
    pub warn_type: i64,
    /// 1 继续执行, 2 返回修改; `None` when the hospital never answered.
    pub dspo_way: Option<i64>,
    /// The hospital's reason.
    pub dspo_way_rea: String,
}

/// A reviewer's decision on a case.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The step decided.
    pub step: Step,
    /// The decision.
    pub verdict: Verdict,
    /// Why (required).
    pub reason: String,
}

/// The review funnel (as the bureau reports it: suspicious items → after first review → after
/// second → confirmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Findings recorded with a settlement.
    pub findings: i64,
    /// Persons they concern.
    pub findings_persons: i64,
    /// Money they flagged.
    pub findings_flagged: Fen,
    /// Cases opened from them.
    pub cases: i64,
    /// Cases upheld at 初审.
    pub first_upheld: i64,
    /// Cases upheld at 复审.
    pub second_upheld: i64,
    /// Cases confirmed at 终审.
    pub confirmed: i64,
    /// Persons of confirmed cases.
    pub confirmed_persons: i64,
    /// Money confirmed (to be recovered).
    pub confirmed_amount: Fen,
    /// Penalties confirmed with it.
    pub penalties: Fen,
    /// Cases the institution appealed.
    pub appealed: i64,
}

/// A rule's precision: of its cases closed, how many were confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePrecision {
    /// The rule.
    pub rule_id: String,
    /// Cases opened.
    pub cases: i64,
    /// Cases closed (confirmed or dismissed at any step).
    pub reviewed: i64,
    /// Cases confirmed.
    pub confirmed: i64,
}

impl RulePrecision {
    /// Confirmed ÷ reviewed in parts per million (`None` before any case closed).
    pub fn precision_ppm(&self) -> Option<i64> {
        (self.reviewed > 0).then(|| self.confirmed * 1_000_000 / self.reviewed)
    }
}

/// The shipped penalties, loaded once per process.
pub fn penalties() -> Result<&'static [yibao_audit::review::Penalty], crate::error::StoreError> {
    static PENALTIES: std::sync::OnceLock<Result<Vec<yibao_audit::review::Penalty>, String>> =
        std::sync::OnceLock::new();
    let base = crate::audit::base()?;
    PENALTIES
        .get_or_init(|| {
            yibao_audit::review::shipped_penalties(&base.rules).map_err(|err| err.to_string())
        })
        .as_deref()
        .map_err(|err| crate::error::StoreError::Invariant(format!("the shipped penalties: {err}")))
}

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

impl Store {
    /// Opens a case for every finding recorded with a settlement that has none yet (opening
    /// twice opens nothing new); returns how many were opened.
    pub async fn open_cases(&self, opened_by: &str, now: NaiveDateTime) -> Result<u64, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::review_open_cases(p, opened_by, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::review_open_cases(pool, opened_by, now).await
            }
        }
    }

    /// Cases matching `filter`, each with its state at `now`.
    pub async fn cases(
        &self,
        filter: &CaseFilter,
        now: NaiveDateTime,
        settings: ReviewSettings,
    ) -> Result<Vec<CaseSummary>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::review_cases(p, filter, now, settings).await,
            Pool::Sq { pool, .. } => sq::review_cases(pool, filter, now, settings).await,
        }
    }

    /// One case with its finding, lines, history and receivable; with `fixmedins_code`, another
    /// institution's case is not found.
    pub async fn case(
        &self,
        case_id: &str,
        fixmedins_code: Option<&str>,
        now: NaiveDateTime,
        settings: ReviewSettings,
    ) -> Result<CaseView, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::review_case(p, case_id, fixmedins_code, now, settings).await,
            Pool::Sq { pool, .. } => {
                sq::review_case(pool, case_id, fixmedins_code, now, settings).await
            }
        }
    }

    /// Records `actor`'s decision of a step (refused out of order, by an earlier decider, with
    /// an amount above the previous step's, or without a reason, writing nothing); a final
    /// confirmation posts the receivable. Returns the case after it.
    pub async fn decide(
        &self,
        case_id: &str,
        actor: &str,
        decision: &Decision,
        now: NaiveDateTime,
        settings: ReviewSettings,
    ) -> Result<CaseView, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::review_decide(p, case_id, actor, decision, now, settings).await?,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::review_decide(pool, case_id, actor, decision, now, settings).await?
            }
        }
        self.case(case_id, None, now, settings).await
    }

    /// Records the institution's appeal (申诉) of its own case, once, within the deadline.
    pub async fn appeal(
        &self,
        case_id: &str,
        fixmedins_code: &str,
        actor: &str,
        reason: &str,
        now: NaiveDateTime,
        settings: ReviewSettings,
    ) -> Result<CaseView, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => {
                pg::review_appeal(p, case_id, fixmedins_code, actor, reason, now, settings).await?
            }
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::review_appeal(pool, case_id, fixmedins_code, actor, reason, now, settings)
                    .await?
            }
        }
        self.case(case_id, Some(fixmedins_code), now, settings)
            .await
    }

    /// The review funnel and each rule's precision at `now`.
    pub async fn review_report(
        &self,
        now: NaiveDateTime,
        settings: ReviewSettings,
    ) -> Result<(Funnel, Vec<RulePrecision>), StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::review_report(p, now, settings).await,
            Pool::Sq { pool, .. } => sq::review_report(pool, now, settings).await,
        }
    }
}
