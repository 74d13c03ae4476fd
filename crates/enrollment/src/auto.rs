//! 免申即享 (spec enrollment.md §11): decisions the registry takes without an application when
//! data shows a person qualifies. Each is a pure function returning decisions that carry the
//! rule id, the data that triggered them and the result, so they can be stored, explained and
//! reversed.

use chrono::{Datelike, NaiveDate};
use yibao_core_types::Fen;

use crate::category::Category;
use crate::contribution::{
    assess_resident, retiree_monthly_credit, CategorySpan, PayerLine, ResidentInput, ResidentKind,
};
use crate::error::EngineError;
use crate::params::Params;
use crate::retirement::{retirement_check, Sex, YearsLedger};
use crate::waiting::newborn_benefit;

/// Rule id: a category start gives the contribution subsidy for the year.
pub const RULE_CATEGORY_SUBSIDY: &str = "category_start.subsidy";
/// Rule id: a category start gives medical assistance from its `valid_from`.
pub const RULE_CATEGORY_ASSISTANCE: &str = "category_start.assistance";
/// Rule id: a category person without a paid relation is enrolled.
pub const RULE_CATEGORY_ENROLL: &str = "category_start.enroll";
/// Rule id: a discharge diagnosis in the chronic-disease list proposes recognition.
pub const RULE_CHRONIC_PROPOSAL: &str = "discharge.chronic_proposal";
/// Rule id: a birth pre-registers the newborn.
pub const RULE_NEWBORN: &str = "birth.newborn_preregistration";
/// Rule id: retirement with the minimum years met.
pub const RULE_RETIREMENT_MET: &str = "retirement.met";
/// Rule id: retirement short of the minimum years.
pub const RULE_RETIREMENT_SHORT: &str = "retirement.backpay_notice";

/// Most chronic-disease list entries or discharge diagnoses one call reads.
pub const CHRONIC_ENTRIES_MAX: usize = 10_000;

/// One automatic decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoDecision {
    /// The rule that decided.
    pub rule_id: &'static str,
    /// The data that triggered it, in words (stored with the decision).
    pub trigger: String,
    /// What was decided.
    pub result: AutoResult,
}

/// What an automatic decision grants or proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoResult {
    /// A contribution subsidy for the year.
    Subsidy {
        /// The benefit year.
        benefit_year: i32,
        /// The category that gave the most favourable subsidy.
        category: Category,
        /// The subsidy.
        amount: Fen,
        /// Every payer line of the assessment.
        lines: Vec<PayerLine>,
        /// What the person still pays.
        individual_due: Fen,
    },
    /// Medical-assistance eligibility.
    Assistance {
        /// The category.
        category: Category,
        /// Its assistance class (1–4).
        class: u8,
        /// From this day.
        from: NaiveDate,
        /// Until this day, if the category is closed.
        until: Option<NaiveDate>,
    },
    /// Enrollment without application (代缴 / 批量参保).
    Enroll {
        /// The benefit year.
        benefit_year: i32,
        /// The subsidy covers the whole individual part: enrolled outright.
        fully_subsidised: bool,
        /// The remaining individual part sent for collection.
        individual_due: Fen,
    },
    /// A proposal of chronic-disease recognition for staff review.
    ChronicProposal {
        /// The list entry's disease code.
        disease_code: String,
        /// The list entry's name.
        disease_name: String,
        /// The discharge diagnosis that matched.
        diagnosis: String,
    },
    /// A newborn pre-registered; the parents are told what to pay and by when.
    NewbornPreRegistration {
        /// The birth date.
        birth: NaiveDate,
        /// Pay by this day to be covered from birth.
        pay_by: NaiveDate,
        /// The individual amount per year to pay.
        amount_due: Fen,
        /// The years to pay if paid by `pay_by`.
        years_to_pay: Vec<i32>,
    },
    /// The person becomes a retiree for medical insurance.
    Retiree {
        /// The new `psn_type`.
        psn_type: &'static str,
        /// The monthly account credit.
        monthly_credit: Fen,
        /// Credits and the retiree status run from this day; contributions stop.
        from: NaiveDate,
    },
    /// The person is short of years: notice of the one-off back-payment.
    BackPayNotice {
        /// Months short.
        shortfall_months: u32,
        /// The amount of the one-off back-payment.
        amount: Fen,
    },
}

/// The facts of a category start.
#[derive(Debug, Clone, Copy)]
pub struct CategoryStart<'a> {
    /// The category that started.
    pub started: CategorySpan,
    /// Every category the person holds (the started one may be among them).
    pub all_categories: &'a [CategorySpan],
    /// Adult, child or student, for the tier.
    pub kind: ResidentKind,
    /// The tier an adult chose, where the region has several.
    pub chosen_tier: Option<&'a str>,
    /// The benefit year the subsidy is for (current or next, by the region's practice).
    pub benefit_year: i32,
    /// The person already has a paid basic relation for the year.
    pub has_paid_relation: bool,
    /// The decision date (the subsidy's reference date).
    pub as_of: NaiveDate,
}

/// A category starts (§11): the subsidy for `benefit_year` (when any category gives one), medical
/// assistance from the category's `valid_from` (when it has an assistance class), and enrollment
/// when the person has no paid relation for the year.
pub fn on_category_start(
    params: &Params,
    facts: CategoryStart<'_>,
) -> Result<Vec<AutoDecision>, EngineError> {
    let CategoryStart {
        started,
        all_categories,
        kind,
        chosen_tier,
        benefit_year,
        has_paid_relation,
        as_of,
    } = facts;
    let trigger = format!(
        "{} ({}) valid from {}{}",
        started.category.name_zh(),
        started.category.key(),
        started.valid_from,
        started
            .valid_to
            .map(|to| format!(" to {to}"))
            .unwrap_or_default()
    );
    let mut categories: Vec<CategorySpan> = all_categories.to_vec();
    if !categories.contains(&started) {
        categories.push(started);
    }
    let assessment = assess_resident(
        params,
        ResidentInput {
            benefit_year,
            kind,
            chosen_tier,
            categories: &categories,
            assessed_on: as_of,
        },
    )?;
    let mut decisions = Vec::new();
    if let Some(subsidy) = assessment.subsidy {
        decisions.push(AutoDecision {
            rule_id: RULE_CATEGORY_SUBSIDY,
            trigger: trigger.clone(),
            result: AutoResult::Subsidy {
                benefit_year,
                category: subsidy.category,
                amount: subsidy.amount,
                lines: assessment.lines.clone(),
                individual_due: assessment.individual_due(),
            },
        });
    }
    if let Some(class) = started.category.assistance_class() {
        decisions.push(AutoDecision {
            rule_id: RULE_CATEGORY_ASSISTANCE,
            trigger: trigger.clone(),
            result: AutoResult::Assistance {
                category: started.category,
                class,
                from: started.valid_from,
                until: started.valid_to,
            },
        });
    }
    if !has_paid_relation {
        decisions.push(AutoDecision {
            rule_id: RULE_CATEGORY_ENROLL,
            trigger,
            result: AutoResult::Enroll {
                benefit_year,
                fully_subsidised: assessment.individual_due().is_zero(),
                individual_due: assessment.individual_due(),
            },
        });
    }
    Ok(decisions)
}

/// An entry of a chronic-disease list: a diagnosis code prefix (ICD-10, insurance edition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicDisease {
    /// The region's chronic-disease code.
    pub disease_code: String,
    /// Its name.
    pub disease_name: String,
    /// Diagnosis codes starting with any of these prefixes qualify.
    pub diagnosis_prefixes: Vec<String>,
}

/// A discharge's diagnoses against the chronic-disease list: one proposal per list entry that a
/// diagnosis matches (the first matching diagnosis is named). Proposals go to staff review.
pub fn on_discharge(
    diagnoses: &[&str],
    list: &[ChronicDisease],
) -> Result<Vec<AutoDecision>, EngineError> {
    if diagnoses.len() > CHRONIC_ENTRIES_MAX || list.len() > CHRONIC_ENTRIES_MAX {
        return Err(EngineError::NotQualified(format!(
            "more than {CHRONIC_ENTRIES_MAX} diagnoses or list entries"
        )));
    }
    let normalised: Vec<String> = diagnoses
        .iter()
        .map(|code| code.trim().to_ascii_uppercase())
        .collect();
    let mut decisions = Vec::new();
    for entry in list {
        let hit = normalised.iter().find(|code| {
            entry
                .diagnosis_prefixes
                .iter()
                .any(|prefix| !prefix.is_empty() && code.starts_with(&prefix.to_ascii_uppercase()))
        });
        if let Some(diagnosis) = hit {
            decisions.push(AutoDecision {
                rule_id: RULE_CHRONIC_PROPOSAL,
                trigger: format!("discharge diagnosis {diagnosis}"),
                result: AutoResult::ChronicProposal {
                    disease_code: entry.disease_code.clone(),
                    disease_name: entry.disease_name.clone(),
                    diagnosis: diagnosis.clone(),
                },
            });
        }
    }
    Ok(decisions)
}

/// A birth (§11): pre-register the newborn as a child resident and tell the parents the amount
/// (after any subsidy the child's categories give) and the last day that covers from birth.
pub fn on_birth(
    params: &Params,
    birth: NaiveDate,
    categories: &[CategorySpan],
) -> Result<AutoDecision, EngineError> {
    let assessment = assess_resident(
        params,
        ResidentInput {
            benefit_year: birth.year(),
            kind: ResidentKind::Child,
            chosen_tier: None,
            categories,
            assessed_on: birth,
        },
    )?;
    // Paying on the birth day shows the window's end and the years a timely payment covers.
    let window = newborn_benefit(params, birth, birth)?;
    let pay_by = window.window_ends;
    Ok(AutoDecision {
        rule_id: RULE_NEWBORN,
        trigger: format!("birth on {birth}"),
        result: AutoResult::NewbornPreRegistration {
            birth,
            pay_by,
            amount_due: assessment.individual_due(),
            years_to_pay: (birth.year()..=pay_by.year()).collect(),
        },
    })
}

/// The `psn_type` of a retired employee.
pub const PSN_TYPE_RETIRED: &str = "1201";

/// Retirement approved, or the back-payment that completes the years matched (§5.2, §11): when
/// the years are met the person becomes a retiree (`1201`), contributions stop and the fixed
/// credit runs from the first day of the month of `event_date`; when short, a back-pay notice.
pub fn on_retirement(
    params: &Params,
    ledger: YearsLedger,
    sex: Sex,
    age: u32,
    event_date: NaiveDate,
) -> Result<AutoDecision, EngineError> {
    let check = retirement_check(params, ledger, sex)?;
    let trigger = format!(
        "retirement event on {event_date}: {} months cumulative of {} required",
        check.cumulative_months, check.required_months
    );
    if check.met {
        return Ok(AutoDecision {
            rule_id: RULE_RETIREMENT_MET,
            trigger,
            result: AutoResult::Retiree {
                psn_type: PSN_TYPE_RETIRED,
                monthly_credit: retiree_monthly_credit(params, age)?,
                from: event_date.with_day(1).expect("day 1 exists"),
            },
        });
    }
    Ok(AutoDecision {
        rule_id: RULE_RETIREMENT_SHORT,
        trigger,
        result: AutoResult::BackPayNotice {
            shortfall_months: check.shortfall_months,
            amount: check.backpay,
        },
    })
}
