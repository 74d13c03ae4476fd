//! Clerk work on registry cases (spec enrollment.md §3.10, §8.2; data-authorization.md §11.3):
//! the front desk (窗口经办) files notes on a case an import opened, a reviewer (初审) resolves
//! it. Each step is an added row (`registry_case_step`); a case is closed by its resolution and
//! takes no step after it; whoever filed a note on a case may not resolve it (the creator of a
//! correction is not its approver).

use chrono::NaiveDateTime;

use crate::error::StoreError;
use crate::feed::RegistryCase;
use crate::{pg, sq, Pool, Store};

/// The longest reason a step may carry, in characters.
pub const STEP_REASON_MAX: usize = 500;

/// How a reviewer resolves a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOutcome {
    /// An unmatched record (or a fallback match, confirmed or corrected) belongs to a person
    /// the reviewer names.
    Matched,
    /// The registry or the department's record was corrected (outside this step).
    Corrected,
    /// The record is wrong and is not applied.
    Rejected,
    /// Nothing needs doing.
    NoAction,
}

impl CaseOutcome {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            CaseOutcome::Matched => "matched",
            CaseOutcome::Corrected => "corrected",
            CaseOutcome::Rejected => "rejected",
            CaseOutcome::NoAction => "no_action",
        }
    }
}

/// A step on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    /// A note filed (front desk or reviewer); the case stays open.
    Note,
    /// The case resolved; `psn_no` names the person of a `Matched` outcome.
    Resolve {
        /// The outcome.
        outcome: CaseOutcome,
        /// The person an unmatched record is matched to (only with `Matched`).
        psn_no: Option<String>,
    },
}

/// A recorded step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStep {
    /// 1, 2, … within the case.
    pub seq: i64,
    /// Who took it.
    pub staff_id: i64,
    /// `note` or `resolve`.
    pub action: String,
    /// A resolution's outcome ('' for a note).
    pub outcome: String,
    /// The person matched ('' otherwise).
    pub psn_no: String,
    /// Why.
    pub reason: String,
    /// When (Beijing time, `YYYY-MM-DD HH:MM:SS`).
    pub at: String,
}

/// A case with its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The case as the import opened it, with its current status.
    pub case: RegistryCase,
    /// Its steps, oldest first.
    pub steps: Vec<CaseStep>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// `open` or `closed` (any when `None`).
    pub status: Option<String>,
    /// `unmatched`, `data_quality`, `household_conflict` or `fallback_match` (any when `None`).
    pub kind: Option<String>,
    /// At most this many, newest first (capped at [`CASES_PAGE_MAX`]).
    pub limit: usize,
}

/// The most cases one list returns.
pub const CASES_PAGE_MAX: usize = 500;

impl Store {
    /// Registry cases matching `query`, newest first.
    pub async fn registry_case_list(
        &self,
        query: &CaseQuery,
    ) -> Result<Vec<RegistryCase>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::casework_list(p, query).await,
            Pool::Sq { pool, .. } => sq::casework_list(pool, query).await,
        }
    }

    /// One registry case with its steps.
    pub async fn registry_case_file(&self, case_id: i64) -> Result<CaseFile, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::casework_file(p, case_id).await,
            Pool::Sq { pool, .. } => sq::casework_file(pool, case_id).await,
        }
    }

    /// Records `staff_id`'s step on a case and returns the case after it. Refused, writing
    /// nothing: an empty or overlong reason, a step on a closed case, a resolution by someone who
    /// filed a note on it, a `Matched` outcome without an existing person or on a case that is
    /// not `unmatched`, a person named with another outcome.
    pub async fn registry_case_step(
        &self,
        case_id: i64,
        staff_id: i64,
        action: &CaseAction,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<CaseFile, StoreError> {
        check_step(action, reason)?;
        match &self.inner.pool {
            Pool::Pg(p) => pg::casework_step(p, case_id, staff_id, action, reason, now).await?,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::casework_step(pool, case_id, staff_id, action, reason, now).await?
            }
        }
        self.registry_case_file(case_id).await
    }
}

/// The checks a step passes before the database is touched.
fn check_step(action: &CaseAction, reason: &str) -> Result<(), StoreError> {
    let reason_chars = reason.trim().chars().count();
    if reason_chars == 0 {
        return Err(StoreError::bad("reason", "a step needs a reason"));
    }
    if reason.chars().count() > STEP_REASON_MAX {
        return Err(StoreError::bad(
            "reason",
            format!("at most {STEP_REASON_MAX} characters"),
        ));
    }
    match action {
        CaseAction::Resolve {
            outcome: CaseOutcome::Matched,
            psn_no: None,
        } => Err(StoreError::bad(
            "psn_no",
            "a `matched` resolution names the person",
        )),
        CaseAction::Resolve {
            outcome,
            psn_no: Some(_),
        } if *outcome != CaseOutcome::Matched => Err(StoreError::bad(
            "psn_no",
            "only a `matched` resolution names a person",
        )),
        _ => Ok(()),
    }
}
