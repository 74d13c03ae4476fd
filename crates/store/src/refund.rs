//! Contribution refunds (退费, spec enrollment.md §5.6, §10.3; guide `docs/CONTRIBUTIONS.md`): a
//! relation's assessments of one period are refunded once, by command, as a `refund`
//! assessment (sign -1) linked to the run's. Only the individual part goes back to the person
//! (into a payout account the bank pays from); the employer's part goes back to the collection
//! and every subsidy line (finance, the assistance fund …) is reversed between the funds, never
//! paid to the person. Refused when a benefit was drawn under the relation in the period
//! (a settlement of that person and scheme with a fund payment), for residents once the
//! benefit year has started unless the region's parameters allow it, and a second time. The
//! rules are the enrollment engine's ([`yibao_enrollment::contribution::refund_resident`]); the
//! SQL is in `refund_tx.rs`.

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::ParamSet;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// Transfer kind of a refund's individual part paid out of a pooled fund to the person.
pub const KIND_CLCT_REFUND: &str = "clct_refund";

/// The account a person's refunds are paid into (the bank pays the person from it).
pub fn person_payout_account(psn_no: &str) -> String {
    format!("payout:person:{psn_no}")
}

/// The longest reason a refund may carry, in characters.
pub const REFUND_REASON_MAX: usize = 500;

/// What asks for a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The person's identity number.
    pub certno: String,
    /// `390` (residents, `period` `YYYY`) or `310` (employees, `period` `YYYY-MM`).
    pub insutype: String,
    /// The period refunded.
    pub period: String,
    /// Why (required).
    pub reason: String,
    /// The day the rules are judged on (a resident benefit year has started or not).
    pub today: NaiveDate,
    /// Who asks (a staff account's name, or `cli`).
    pub actor: String,
    /// Executes the duplicate-insurance decision (§10.2, §10.3) of the period's year: refused
    /// unless that decision ends this relation and allows its refund; recorded as the source.
    pub from_duplicate: bool,
}

/// A refund written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDone {
    /// The `refund` assessment (`INSUTYPE:PERIOD:PSN_NO:refund`).
    pub assessment_id: String,
    /// The person.
    pub psn_no: String,
    /// `310` or `390`.
    pub insutype: String,
    /// The period.
    pub period: String,
    /// Paid back to the person.
    pub to_person: Fen,
    /// The account it was paid into ([`person_payout_account`]).
    pub paid_to: String,
    /// Reversed to the other payers, never to the person: (payer key, amount).
    pub reversed: Vec<(String, Fen)>,
}

impl Store {
    /// Refunds a relation's contributions of one period (see the module's rules), in one
    /// transaction: the `refund` assessment with its negated payer lines, its ledger transfers
    /// and the refund's record. Bad input names the field; a refund the rules refuse names
    /// `period` and the reason.
    pub async fn refund_contribution(
        &self,
        request: &RefundRequest,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<RefundDone, StoreError> {
        check_request(request)?;
        let source = if request.from_duplicate {
            self.duplicate_source(request, params).await?
        } else {
            "clerk".to_owned()
        };
        match &self.inner.pool {
            Pool::Pg(p) => pg::refund_contribution(p, request, &source, params, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                sq::refund_contribution(pool, request, &source, params, now).await
            }
        }
    }

    /// The duplicate decision a refund executes, as the refund's source: the person's pair of
    /// the period's year must end this relation and allow a refund.
    async fn duplicate_source(
        &self,
        request: &RefundRequest,
        params: &ParamSet,
    ) -> Result<String, StoreError> {
        let year: i32 = request.period[..4]
            .parse()
            .map_err(|_| StoreError::bad("period", "has no year"))?;
        let certno = request.certno.trim().to_uppercase();
        let decisions = self
            .duplicate_decisions(year, params, request.today)
            .await?;
        let Some(found) = decisions.into_iter().find(|d| d.certno == certno) else {
            return Err(StoreError::refused(
                "from_duplicate",
                format!("{certno} is not insured twice in {year}"),
            ));
        };
        if !found.end.starts_with(&format!("{}@", request.insutype)) {
            return Err(StoreError::refused(
                "from_duplicate",
                format!(
                    "the duplicate decision ends {} (keeps {}), not this relation",
                    if found.end.is_empty() {
                        "nothing"
                    } else {
                        &found.end
                    },
                    found.keep
                ),
            ));
        }
        if let Some(why) = found.no_refund {
            return Err(StoreError::refused("from_duplicate", why));
        }
        Ok(format!(
            "duplicate:{year}:{}: keep {}, end {}",
            found.rule, found.keep, found.end
        ))
    }
}

/// The first and last day of a refund's period: `YYYY` for residents, `YYYY-MM` for employees.
pub(crate) fn period_days(insutype: &str, period: &str) -> Option<(NaiveDate, NaiveDate)> {
    match insutype {
        "390" => {
            if period.len() != 4 || !period.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let year: i32 = period.parse().ok()?;
            Some((
                NaiveDate::from_ymd_opt(year, 1, 1)?,
                NaiveDate::from_ymd_opt(year, 12, 31)?,
            ))
        }
        "310" => {
            let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
            if period.len() != 7 {
                return None;
            }
            let next = first.checked_add_months(chrono::Months::new(1))?;
            Some((first, next.pred_opt()?))
        }
        _ => None,
    }
}

fn check_request(request: &RefundRequest) -> Result<(), StoreError> {
    if request.certno.trim().is_empty() {
        return Err(StoreError::bad("certno", "is required"));
    }
    if !matches!(request.insutype.as_str(), "310" | "390") {
        return Err(StoreError::bad(
            "insutype",
            format!("`{}` is neither 310 nor 390", request.insutype),
        ));
    }
    if period_days(&request.insutype, &request.period).is_none() {
        let shape = if request.insutype == "390" {
            "YYYY"
        } else {
            "YYYY-MM"
        };
        return Err(StoreError::bad(
            "period",
            format!(
                "`{}` is not a {} period ({shape})",
                request.period, request.insutype
            ),
        ));
    }
    if request.reason.trim().is_empty() {
        return Err(StoreError::bad("reason", "a refund needs a reason"));
    }
    if request.reason.chars().count() > REFUND_REASON_MAX {
        return Err(StoreError::bad(
            "reason",
            format!("at most {REFUND_REASON_MAX} characters"),
        ));
    }
    if request.actor.trim().is_empty() {
        return Err(StoreError::bad("actor", "is required"));
    }
    if request.from_duplicate && request.insutype != "390" {
        return Err(StoreError::bad(
            "from_duplicate",
            "a duplicate's refund is of a resident (390) relation",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_by_scheme() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period_days("390", "2025"),
            Some((d("2025-01-01"), d("2025-12-31")))
        );
        assert_eq!(
            period_days("310", "2024-02"),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
        for (insutype, period) in [
            ("390", "2025-01"),
            ("310", "2025"),
            ("310", "2025-13"),
            ("390", "25"),
            ("320", "2025"),
        ] {
            assert_eq!(period_days(insutype, period), None, "{insutype} {period}");
        }
    }
}
