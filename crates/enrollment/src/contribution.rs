//! Contributions (spec enrollment.md §5.1, §5.4, §5.6): employees' monthly assessment and account
//! credit, retirees' fixed credit, residents' annual assessment split into payer lines with the
//! most favourable single subsidy, and refunds.

use chrono::NaiveDate;
use yibao_core_types::Fen;

use crate::category::Category;
use crate::error::EngineError;
use crate::params::{
    EmployeeParams, InServiceCredit, Params, Payer, ResidentParams, SubsidyKind, SubsidyReference,
    Tier,
};

/// Where the declared wage fell against the base band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseClamp {
    /// Below the floor: the floor is the base.
    Floor,
    /// Inside the band: the wage is the base.
    Within,
    /// Above the ceiling: the ceiling is the base.
    Ceiling,
}

/// One employee's monthly assessment (§5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeAssessment {
    /// The declared wage.
    pub declared_wage: Fen,
    /// The contribution base after clamping.
    pub base: Fen,
    /// How the base was found.
    pub clamp: BaseClamp,
    /// Employer amount (base × employer rate, half-up).
    pub employer: Fen,
    /// Employee amount (base × employee rate, half-up).
    pub employee: Fen,
    /// Credited to the personal account.
    pub to_account: Fen,
    /// To the pooled fund.
    pub to_pooled_fund: Fen,
    /// The former maternity share inside the employer amount, reported separately.
    pub maternity_share: Fen,
}

fn employee_section(params: &Params) -> Result<&EmployeeParams, EngineError> {
    params
        .employee
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "employee",
        })
}

fn resident_section(params: &Params) -> Result<&ResidentParams, EngineError> {
    params
        .resident
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "resident",
        })
}

/// The base for a declared wage: clamped to the band.
pub fn contribution_base(employee: &EmployeeParams, declared_wage: Fen) -> (Fen, BaseClamp) {
    let floor = employee.base_floor_amount();
    let ceiling = employee.base_ceiling_amount();
    if declared_wage < floor {
        (floor, BaseClamp::Floor)
    } else if declared_wage > ceiling {
        (ceiling, BaseClamp::Ceiling)
    } else {
        (declared_wage, BaseClamp::Within)
    }
}

/// An in-service employee's monthly assessment: base, both shares, account credit, pooled part
/// and the maternity share.
pub fn employee_monthly(
    params: &Params,
    declared_wage: Fen,
) -> Result<EmployeeAssessment, EngineError> {
    let employee_params = employee_section(params)?;
    if declared_wage.is_negative() {
        return Err(EngineError::Negative {
            what: "the declared wage",
        });
    }
    let (base, clamp) = contribution_base(employee_params, declared_wage);
    let employer = base.mul_ratio(employee_params.employer_rate);
    let employee = base.mul_ratio(employee_params.employee_rate);
    let (to_account, to_pooled_fund) = match employee_params.in_service_credit {
        InServiceCredit::EmployeeShare => (employee, employer),
    };
    let maternity_share = base.mul_ratio(employee_params.maternity_rate);
    assert_eq!(
        to_account + to_pooled_fund,
        employer + employee,
        "every fen of an employee contribution goes to the account or the pool"
    );
    assert!(
        base >= employee_params.base_floor_amount()
            && base <= employee_params.base_ceiling_amount()
    );
    assert!(
        maternity_share <= employer,
        "the maternity share is part of the employer's"
    );
    Ok(EmployeeAssessment {
        declared_wage,
        base,
        clamp,
        employer,
        employee,
        to_account,
        to_pooled_fund,
        maternity_share,
    })
}

/// A retiree's fixed monthly account credit at `age` (the band the age falls in).
pub fn retiree_monthly_credit(params: &Params, age: u32) -> Result<Fen, EngineError> {
    let employee_params = employee_section(params)?;
    let band = employee_params
        .retiree_credit
        .iter()
        .rev()
        .find(|band| band.from_age <= age)
        .expect("the first band starts at age 0 (checked at load)");
    Ok(band.monthly)
}

/// Who a resident is, for the tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentKind {
    /// An adult, who chooses a tier where there are several.
    Adult,
    /// A minor or pupil: the children's tier.
    Child,
    /// A university student: the student tier where the region has one, else as an adult.
    UniversityStudent,
}

/// An identity category held over a period (`valid_to` open when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CategorySpan {
    /// The category.
    pub category: Category,
    /// First valid day.
    pub valid_from: NaiveDate,
    /// Last valid day, if closed.
    pub valid_to: Option<NaiveDate>,
}

impl CategorySpan {
    /// Whether the category is valid on `date`.
    pub fn valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Whether the category is valid on any day of `[from, to]`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.valid_from <= to && self.valid_to.is_none_or(|end| from <= end)
    }
}

/// What a resident assessment needs.
#[derive(Debug, Clone, Copy)]
pub struct ResidentInput<'a> {
    /// The benefit year paid for.
    pub benefit_year: i32,
    /// Adult, child or student.
    pub kind: ResidentKind,
    /// The tier an adult chose (`None` where the region has one tier).
    pub chosen_tier: Option<&'a str>,
    /// The person's categories with their validity.
    pub categories: &'a [CategorySpan],
    /// The assessment date, the subsidy's reference date.
    pub assessed_on: NaiveDate,
}

/// One payer's part of a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayerLine {
    /// Who pays.
    pub payer: Payer,
    /// How much.
    pub amount: Fen,
}

/// The subsidy that applied: the most favourable single category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedSubsidy {
    /// The category that gave it.
    pub category: Category,
    /// The index of the rule in `resident.subsidy`.
    pub rule_idx: usize,
    /// The amount, never above the individual standard.
    pub amount: Fen,
}

/// A resident's annual assessment: the tier and who pays what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentAssessment {
    /// The benefit year.
    pub benefit_year: i32,
    /// The tier applied.
    pub tier: Tier,
    /// Payer lines with a non-zero amount; they add up to the tier total.
    pub lines: Vec<PayerLine>,
    /// The subsidy, if any category gave one.
    pub subsidy: Option<AppliedSubsidy>,
}

impl ResidentAssessment {
    /// The amount of one payer's line (zero when absent).
    pub fn line(&self, payer: Payer) -> Fen {
        self.lines
            .iter()
            .filter(|line| line.payer == payer)
            .map(|line| line.amount)
            .sum()
    }

    /// What the person still has to pay.
    pub fn individual_due(&self) -> Fen {
        self.line(Payer::Individual)
    }

    /// The fund's income: the sum of every line.
    pub fn fund_income(&self) -> Fen {
        self.lines.iter().map(|line| line.amount).sum()
    }
}

/// The amount one subsidy kind pays against an individual standard, capped at the standard.
pub fn subsidy_amount(kind: SubsidyKind, standard: Fen) -> Fen {
    let amount = match kind {
        SubsidyKind::Full => standard,
        SubsidyKind::Fixed(amount) => amount,
        SubsidyKind::Percent(share) => standard.mul_ratio(share),
    };
    amount.min(standard)
}

/// The most favourable single subsidy among the categories that count (就高不重复): the largest
/// amount; on a tie, the earlier rule and then the earlier category in the person's list.
pub fn best_subsidy(
    resident: &ResidentParams,
    standard: Fen,
    categories: &[Category],
) -> Option<AppliedSubsidy> {
    let mut best: Option<AppliedSubsidy> = None;
    for (rule_idx, rule) in resident.subsidies.iter().enumerate() {
        for &category in categories {
            if !rule.categories.contains(&category) {
                continue;
            }
            let amount = subsidy_amount(rule.kind, standard);
            if best.is_none_or(|best| amount > best.amount) {
                best = Some(AppliedSubsidy {
                    category,
                    rule_idx,
                    amount,
                });
            }
        }
    }
    best
}

/// The tier a resident pays.
pub fn resident_tier<'p>(
    params: &'p Params,
    kind: ResidentKind,
    chosen_tier: Option<&str>,
) -> Result<&'p Tier, EngineError> {
    let resident = resident_section(params)?;
    let unknown = |tier: &str| EngineError::UnknownTier {
        params: params.id(),
        tier: tier.to_owned(),
    };
    let id = match kind {
        ResidentKind::Child => resident.children_tier.as_str(),
        ResidentKind::UniversityStudent if resident.student_tier.is_some() => {
            resident.student_tier.as_deref().expect("checked")
        }
        ResidentKind::Adult | ResidentKind::UniversityStudent => match chosen_tier {
            Some(id) => id,
            None if resident.tiers.len() == 1 => resident.tiers[0].id.as_str(),
            None => return Err(unknown("")),
        },
    };
    resident.tier(id).ok_or_else(|| unknown(id))
}

/// A resident's annual assessment (§5.3, §5.4): the tier, the most favourable single subsidy
/// valid on the reference date (capped at the individual standard) and the payer lines.
/// Asserts that the lines add up to the tier total.
pub fn assess_resident(
    params: &Params,
    input: ResidentInput<'_>,
) -> Result<ResidentAssessment, EngineError> {
    let resident = resident_section(params)?;
    let tier = resident_tier(params, input.kind, input.chosen_tier)?.clone();
    let (window_start, window_end) = resident.collection_window(input.benefit_year);
    let counting: Vec<Category> = input
        .categories
        .iter()
        .filter(|span| match resident.subsidy_reference {
            SubsidyReference::AssessmentDate => span.valid_on(input.assessed_on),
            SubsidyReference::CollectionPeriod => {
                span.valid_on(input.assessed_on) || span.overlaps(window_start, window_end)
            }
        })
        .map(|span| span.category)
        .collect();
    let subsidy = best_subsidy(resident, tier.individual, &counting)
        .filter(|subsidy| !subsidy.amount.is_zero());
    let mut lines = vec![
        PayerLine {
            payer: Payer::Individual,
            amount: tier.individual - subsidy.map_or(Fen::ZERO, |s| s.amount),
        },
        PayerLine {
            payer: Payer::FinanceBase,
            amount: tier.finance,
        },
    ];
    if let Some(applied) = subsidy {
        let rule = &resident.subsidies[applied.rule_idx];
        let mut rest = applied.amount;
        if let Some((first_payer, first_amount)) = rule.first {
            let first = first_amount.min(rest);
            lines.push(PayerLine {
                payer: first_payer,
                amount: first,
            });
            rest -= first;
        }
        lines.push(PayerLine {
            payer: rule.payer,
            amount: rest,
        });
    }
    lines.retain(|line| !line.amount.is_zero());
    let assessment = ResidentAssessment {
        benefit_year: input.benefit_year,
        tier,
        lines,
        subsidy,
    };
    assert!(
        assessment
            .lines
            .iter()
            .all(|line| !line.amount.is_negative()),
        "no payer line is negative"
    );
    assert_eq!(
        assessment.fund_income(),
        assessment.tier.total,
        "the payer lines add up to the tier total"
    );
    assert!(assessment
        .subsidy
        .is_none_or(|s| s.amount <= assessment.tier.individual));
    Ok(assessment)
}

/// The facts a refund depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundFacts {
    /// A benefit was drawn under the relation for the period.
    pub benefits_used: bool,
    /// The benefit year has started.
    pub benefit_year_started: bool,
}

/// A refund: the individual part back to the person, every other line reversed between funds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Paid back to the person.
    pub to_person: Fen,
    /// Reversed to their payers (finance, assistance fund …), never paid to the person.
    pub reversals: Vec<PayerLine>,
}

/// Refunds a resident assessment (§5.6, §10.3): only where no benefit was drawn, and after the
/// benefit year started only where the region allows it.
pub fn refund_resident(
    params: &Params,
    assessment: &ResidentAssessment,
    facts: RefundFacts,
) -> Result<Refund, EngineError> {
    let resident = resident_section(params)?;
    if facts.benefits_used {
        return Err(EngineError::RefundRefused(
            "a benefit was drawn under the relation for the period",
        ));
    }
    if facts.benefit_year_started && !resident.refund_after_year_start {
        return Err(EngineError::RefundRefused(
            "the benefit year has started and the region refunds only before it",
        ));
    }
    let refund = Refund {
        to_person: assessment.individual_due(),
        reversals: assessment
            .lines
            .iter()
            .filter(|line| line.payer != Payer::Individual)
            .copied()
            .collect(),
    };
    let reversed: Fen = refund.reversals.iter().map(|line| line.amount).sum();
    assert_eq!(
        refund.to_person + reversed,
        assessment.fund_income(),
        "a refund returns exactly what the fund received"
    );
    Ok(refund)
}
