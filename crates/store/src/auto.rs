//! 免申即享 (spec enrollment.md §11): after an identity list is imported, each category that
//! started gives, with nobody applying, the decisions of the enrollment engine
//! (`yibao_enrollment::auto::on_category_start`): the contribution subsidy for the year, medical
//! assistance from the category's start, enrollment of a person without a paid relation; after
//! a police file, each birth it registered pre-registers the newborn (`auto::on_birth`). Each
//! decision is stored with its rule, the source record (batch and line) and the data in words;
//! deciding a batch twice decides nothing new; a decision is undone by a reviewer with a reason,
//! as an added row.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_enrollment::params::ParamSet;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// What deciding a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoReport {
    /// Category records of the batch read.
    pub records: u64,
    /// Decisions added (a batch decided before adds none).
    pub decided: u64,
    /// Of those, contribution subsidies.
    pub subsidies: u64,
    /// Of those, medical-assistance grants.
    pub assistance: u64,
    /// Of those, enrollments without application.
    pub enrollments: u64,
    /// Of those, newborns pre-registered (a police batch's births).
    pub newborns: u64,
    /// Of those, chronic recognitions proposed from settlement lists.
    pub chronic_proposals: u64,
    /// Records no decision could be taken on, each with why (no region, no parameters …).
    pub skipped: Vec<(u64, String)>,
}

/// A stored automatic decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDecision {
    /// Its number.
    pub decision_id: i64,
    /// The person.
    pub psn_no: String,
    /// The engine's rule id (`category_start.subsidy` …).
    pub rule_id: String,
    /// The record that triggered it: a feed batch (the file's SHA-256), or `setl_list:` and a
    /// settlement list's id.
    pub source_ref: String,
    /// The line in that file.
    pub line: u64,
    /// The triggering data, in words.
    pub trigger: String,
    /// `subsidy`, `assistance` or `enroll`.
    pub result_kind: String,
    /// The result as JSON (amounts in fen).
    pub result: String,
    /// When it was decided.
    pub decided_at: String,
    /// Its reversal, when undone: staff account, reason, time.
    pub undone: Option<(i64, String, String)>,
    /// Its confirmation, for a proposal: staff account, reason, time.
    pub confirmed: Option<(i64, String, String)>,
}

/// The longest reason an undo may carry, in characters.
pub const UNDO_REASON_MAX: usize = 500;

impl Store {
    /// Takes the automatic decisions a batch gives, under the parameters of each person's
    /// region: the categories of an identity list (subsidy, assistance, enrollment for
    /// `today`'s year); the births of a police file (a person it registered who is within the
    /// region's newborn window: pre-registered as a child resident from birth, the parents told
    /// the amount and the last day).
    pub async fn decide_on_batch(
        &self,
        batch_id: &str,
        params: &ParamSet,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<AutoReport, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::auto_decide_batch(p, batch_id, params, today, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::auto_decide_batch(pool, batch_id, params, today, now).await
            }
        }
    }

    /// Proposes a chronic recognition (门慢认定) for each settlement list uploaded from `from`
    /// to `to` (inclusive) whose diagnoses meet an entry of the person's region's list
    /// (`yibao_enrollment::auto::on_discharge`), unless the person is recognised for that disease
    /// on the upload day; a proposal waits for a reviewer's confirmation.
    pub async fn propose_chronic(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        list: &yibao_enrollment::chronic::ChronicList,
        now: NaiveDateTime,
    ) -> Result<AutoReport, StoreError> {
        if to < from {
            return Err(StoreError::bad("to", "before from"));
        }
        match &self.inner.pool {
            Pool::Pg(p) => pg::auto_propose_chronic(p, from, to, list, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::auto_propose_chronic(pool, from, to, list, now).await
            }
        }
    }

    /// Confirms a proposal (once, with a reason, never an undone one): a chronic proposal
    /// becomes a recognition from the confirmation day, at any designated institution.
    pub async fn confirm_auto_decision(
        &self,
        decision_id: i64,
        staff_id: i64,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<StoredDecision, StoreError> {
        check_reason(reason, "a confirmation")?;
        match &self.inner.pool {
            Pool::Pg(p) => pg::auto_confirm(p, decision_id, staff_id, reason, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::auto_confirm(pool, decision_id, staff_id, reason, now).await
            }
        }
    }

    /// A person's automatic decisions, oldest first.
    pub async fn auto_decisions(&self, psn_no: &str) -> Result<Vec<StoredDecision>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::auto_decisions(p, psn_no).await,
            Pool::Sq { pool, .. } => sq::auto_decisions(pool, psn_no).await,
        }
    }

    /// Undoes a decision (once, with a reason) and returns it.
    pub async fn undo_auto_decision(
        &self,
        decision_id: i64,
        staff_id: i64,
        reason: &str,
        now: NaiveDateTime,
    ) -> Result<StoredDecision, StoreError> {
        check_reason(reason, "an undo")?;
        match &self.inner.pool {
            Pool::Pg(p) => pg::auto_undo(p, decision_id, staff_id, reason, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::auto_undo(pool, decision_id, staff_id, reason, now).await
            }
        }
    }
}

/// The stored form of an engine decision's result: its kind and JSON (fen).
pub(crate) fn result_of(result: &yibao_enrollment::auto::AutoResult) -> (&'static str, String) {
    use yibao_enrollment::auto::AutoResult;
    let (kind, value) = match result {
        AutoResult::Subsidy {
            benefit_year,
            category,
            amount,
            lines,
            individual_due,
        } => (
            "subsidy",
            serde_json::json!({
                "benefit_year": benefit_year,
                "category": category.key(),
                "amount_fen": amount.0,
                "individual_due_fen": individual_due.0,
                "lines": lines
                    .iter()
                    .map(|l| serde_json::json!({"payer": l.payer.key(), "amount_fen": l.amount.0}))
                    .collect::<Vec<_>>(),
            }),
        ),
        AutoResult::Assistance {
            category,
            class,
            from,
            until,
        } => (
            "assistance",
            serde_json::json!({
                "category": category.key(),
                "class": class,
                "from": from.to_string(),
                "until": until.map(|d| d.to_string()),
            }),
        ),
        AutoResult::Enroll {
            benefit_year,
            fully_subsidised,
            individual_due,
        } => (
            "enroll",
            serde_json::json!({
                "benefit_year": benefit_year,
                "fully_subsidised": fully_subsidised,
                "individual_due_fen": individual_due.0,
            }),
        ),
        AutoResult::ChronicProposal {
            disease_code,
            disease_name,
            diagnosis,
        } => (
            "chronic_proposal",
            serde_json::json!({
                "disease_code": disease_code,
                "disease_name": disease_name,
                "diagnosis": diagnosis,
            }),
        ),
        AutoResult::Retiree {
            psn_type,
            monthly_credit,
            from,
        } => (
            "retirement",
            serde_json::json!({
                "psn_type": psn_type,
                "monthly_credit_fen": monthly_credit.0,
                "from": from.to_string(),
            }),
        ),
        AutoResult::BackPayNotice {
            shortfall_months,
            amount,
        } => (
            "backpay_notice",
            serde_json::json!({
                "shortfall_months": shortfall_months,
                "amount_fen": amount.0,
            }),
        ),
        AutoResult::NewbornPreRegistration {
            birth,
            pay_by,
            amount_due,
            years_to_pay,
        } => (
            "newborn",
            serde_json::json!({
                "birth": birth.to_string(),
                "pay_by": pay_by.to_string(),
                "amount_due_fen": amount_due.0,
                "years_to_pay": years_to_pay,
            }),
        ),
    };
    (kind, value.to_string())
}

/// A reviewer's reason: not blank, at most [`UNDO_REASON_MAX`] characters.
fn check_reason(reason: &str, what: &str) -> Result<(), StoreError> {
    if reason.trim().is_empty() {
        return Err(StoreError::bad("reason", format!("{what} needs a reason")));
    }
    if reason.chars().count() > UNDO_REASON_MAX {
        return Err(StoreError::bad(
            "reason",
            format!("at most {UNDO_REASON_MAX} characters"),
        ));
    }
    Ok(())
}
