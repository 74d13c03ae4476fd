//! Duplicate insurance (重复参保, spec enrollment.md §10): of two overlapping basic relations,
//! which stays by the region's rule order (data), why, and the refund the losing one causes.

use chrono::NaiveDate;

use crate::contribution::{refund_resident, Refund, RefundFacts, ResidentAssessment};
use crate::error::EngineError;
use crate::params::{DuplicateRule, Params};

/// The scheme of a basic relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `310` employees' basic.
    Employee,
    /// `390` residents' basic.
    Resident,
}

/// What the rules need to know about one of the two relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRelation<'a> {
    /// The relation's id (`psn_insu_rlts_id`).
    pub relation_id: &'a str,
    /// The scheme.
    pub scheme: Scheme,
    /// The region.
    pub admdvs: &'a str,
    /// Continuous employee months up to now (employee relations).
    pub continuous_employee_months: u32,
    /// The region is the current employer's.
    pub is_place_of_employment: bool,
    /// The region is the place of study (学籍地).
    pub is_place_of_study: bool,
    /// The region is the place of habitual residence (常住地).
    pub is_habitual_residence: bool,
    /// When the overlapping period was paid.
    pub paid_on: NaiveDate,
    /// The person chose this one.
    pub chosen_by_person: bool,
    /// The resident assessment for the overlapping year, if this is a resident relation.
    pub assessment: Option<&'a ResidentAssessment>,
    /// Facts for the refund if this relation loses.
    pub refund_facts: RefundFacts,
}

/// The decision on a duplicate pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateDecision {
    /// The relation that stays.
    pub keep: String,
    /// The relation terminated for the overlapping period (status 4, reason `duplicate`).
    pub terminate: String,
    /// The rule that decided.
    pub rule: DuplicateRule,
    /// Why, in words.
    pub reason: String,
    /// The refund of the losing relation, where it is a resident one and a refund is allowed.
    pub refund: Option<Refund>,
    /// Why no refund, where the losing relation had a resident assessment but a refund is not
    /// allowed.
    pub refund_refused: Option<EngineError>,
}

/// Which of two values picks exactly one side: `Some(0)`, `Some(1)` or `None`.
fn exactly_one(a: bool, b: bool) -> Option<usize> {
    match (a, b) {
        (true, false) => Some(0),
        (false, true) => Some(1),
        _ => None,
    }
}

/// Decides which of two overlapping basic relations stays (§10.2) by trying the region's rules
/// in order; the first that picks one side decides. Computes the losing relation's refund
/// (§10.3): individual parts back to the person, subsidies reversed between funds.
pub fn resolve_duplicate(
    params: &Params,
    relations: [&DuplicateRelation<'_>; 2],
    is_student: bool,
) -> Result<DuplicateDecision, EngineError> {
    let duplicate = params
        .duplicate
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "duplicate",
        })?;
    let [a, b] = relations;
    for &rule in &duplicate.order {
        let pick = match rule {
            DuplicateRule::EmployeeContinuous => {
                let qualifies = |r: &DuplicateRelation<'_>| {
                    r.scheme == Scheme::Employee
                        && r.continuous_employee_months >= duplicate.employee_continuous_months
                };
                if a.scheme != b.scheme {
                    exactly_one(qualifies(a), qualifies(b)).map(|side| {
                        (
                            side,
                            format!(
                                "employee and resident insurance, with at least {} months of continuous employee insurance: the employee relation stays",
                                duplicate.employee_continuous_months
                            ),
                        )
                    })
                } else {
                    None
                }
            }
            DuplicateRule::PlaceOfEmployment => (a.scheme == Scheme::Employee
                && b.scheme == Scheme::Employee)
                .then(|| exactly_one(a.is_place_of_employment, b.is_place_of_employment))
                .flatten()
                .map(|side| {
                    (
                        side,
                        "two employee relations: the place of employment stays".to_owned(),
                    )
                }),
            DuplicateRule::PlaceOfStudy => is_student
                .then(|| exactly_one(a.is_place_of_study, b.is_place_of_study))
                .flatten()
                .map(|side| (side, "a student: the place of study stays".to_owned())),
            DuplicateRule::HabitualResidence => (a.scheme == Scheme::Resident
                && b.scheme == Scheme::Resident)
                .then(|| exactly_one(a.is_habitual_residence, b.is_habitual_residence))
                .flatten()
                .map(|side| {
                    (
                        side,
                        "two resident relations: the place of habitual residence stays".to_owned(),
                    )
                }),
            DuplicateRule::FirstPaid => exactly_one(a.paid_on < b.paid_on, b.paid_on < a.paid_on)
                .map(|side| {
                    let first = if side == 0 { a } else { b };
                    (
                        side,
                        format!("the relation paid first ({}) stays", first.paid_on),
                    )
                }),
            DuplicateRule::PersonsChoice => exactly_one(a.chosen_by_person, b.chosen_by_person)
                .map(|side| (side, "the person's choice stays".to_owned())),
        };
        if let Some((side, reason)) = pick {
            let (keep, lose) = if side == 0 { (a, b) } else { (b, a) };
            let (refund, refund_refused) = match lose.assessment {
                None => (None, None),
                Some(assessment) => match refund_resident(params, assessment, lose.refund_facts) {
                    Ok(refund) => (Some(refund), None),
                    Err(error) => (None, Some(error)),
                },
            };
            return Ok(DuplicateDecision {
                keep: keep.relation_id.to_owned(),
                terminate: lose.relation_id.to_owned(),
                rule,
                reason,
                refund,
                refund_refused,
            });
        }
    }
    Err(EngineError::DuplicateUndecided(
        a.relation_id.to_owned(),
        b.relation_id.to_owned(),
    ))
}
