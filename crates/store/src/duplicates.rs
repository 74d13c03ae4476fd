//! Duplicate insurance (重复参保, spec enrollment.md §10): for each person with two basic
//! relations (310/390) in force together in a year, the facts the §10.2 rules read — gathered
//! from the registry (identity categories), the contributions (continuous
//! employee months, the employer's region, the day each relation's year was paid) and the
//! settlements (benefits drawn) — and the enrollment engine's decision: which relation stays,
//! by which rule, and the refund of the other (`yibao_enrollment::duplicate`). The decision is
//! reported for a clerk; nothing is terminated here.

use chrono::NaiveDate;
use yibao_core_types::Fen;
use yibao_enrollment::contribution::{CategorySpan, RefundFacts, ResidentInput, ResidentKind};
use yibao_enrollment::duplicate::{resolve_duplicate, DuplicateRelation, Scheme};
use yibao_enrollment::ParamSet;

use crate::error::StoreError;
use crate::{pg, sq, Pool, Store};

/// What the rules need to know about one relation of a duplicate pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationFacts {
    /// `310` or `390`.
    pub insutype: String,
    /// The relation's region (`insuplc_admdvs`).
    pub admdvs: String,
    /// `psn_type` (`14xx` a student).
    pub psn_type: String,
    /// The relation's start (`begndate`).
    pub begndate: String,
    /// Consecutive months of employee contributions up to the year's end (employee relations).
    pub continuous_employee_months: u32,
    /// The region is the region of the person's employer that year.
    pub place_of_employment: bool,
    /// The region is where the person habitually lives (常住地). Not known yet: no feed brings
    /// residence (the police file's region is the household registration, 户籍), so this is
    /// false and rule 4 passes to the next.
    pub habitual_residence: bool,
    /// When the year was paid: the earliest payment for the relation's assessments of the year,
    /// else the relation's start.
    pub paid_on: NaiveDate,
    /// A settlement was made under the relation in the year.
    pub benefits_used: bool,
}

/// A person insured twice in a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicatePair {
    /// The person.
    pub psn_no: String,
    /// Their identity number.
    pub certno: String,
    /// Their birth date (`YYYY-MM-DD`).
    pub brdy: String,
    /// Identity categories in force during the year.
    pub categories: Vec<CategorySpan>,
    /// The two relations, in a fixed order.
    pub relations: [RelationFacts; 2],
}

/// The decision on a pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateOutcome {
    /// The person's identity number.
    pub certno: String,
    /// The person.
    pub psn_no: String,
    /// The relation that stays (`INSUTYPE@ADMDVS`).
    pub keep: String,
    /// The relation to end for the overlap (`INSUTYPE@ADMDVS`).
    pub end: String,
    /// The §10.2 rule that decided (`habitual_residence` …).
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// The individual contribution paid back, when the ended relation is a resident one and a
    /// refund is allowed.
    pub refund_to_person: Option<Fen>,
    /// The subsidies reversed between funds (payer, amount).
    pub reversals: Vec<(String, Fen)>,
    /// Why there is no refund, when there is none.
    pub no_refund: Option<String>,
}

fn label(r: &RelationFacts) -> String {
    format!("{}@{}", r.insutype, r.admdvs)
}

impl Store {
    /// Persons with two basic relations in force together during `year`, with their facts.
    pub async fn duplicate_pairs(&self, year: i32) -> Result<Vec<DuplicatePair>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => pg::duplicate_pairs(p, year).await,
            Pool::Sq { pool, .. } => sq::duplicate_pairs(pool, year).await,
        }
    }

    /// The §10.2 decision for every duplicate pair of `year` as of `today`.
    pub async fn duplicate_decisions(
        &self,
        year: i32,
        params: &ParamSet,
        today: NaiveDate,
    ) -> Result<Vec<DuplicateOutcome>, StoreError> {
        let pairs = self.duplicate_pairs(year).await?;
        Ok(pairs
            .iter()
            .map(|pair| decide(pair, year, params, today))
            .collect())
    }
}

/// One pair's decision; a pair the engine cannot decide is reported with why.
fn decide(
    pair: &DuplicatePair,
    year: i32,
    params: &ParamSet,
    today: NaiveDate,
) -> DuplicateOutcome {
    let undecided = |reason: String| DuplicateOutcome {
        certno: pair.certno.clone(),
        psn_no: pair.psn_no.clone(),
        keep: String::new(),
        end: String::new(),
        rule: String::new(),
        reason,
        refund_to_person: None,
        reversals: Vec::new(),
        no_refund: None,
    };
    // The rule order is the region's where the person lives, else the first relation's.
    let home = pair
        .relations
        .iter()
        .find(|r| r.habitual_residence)
        .unwrap_or(&pair.relations[0]);
    let Some(p) = params.get_pooled(&home.admdvs, year) else {
        return undecided(format!(
            "no enrollment parameters for {} in {year}",
            home.admdvs
        ));
    };
    let brdy = NaiveDate::parse_from_str(&pair.brdy, "%Y-%m-%d").ok();
    let january = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let kind = match brdy {
        Some(b) if yibao_enrollment::age_at(b, january) < 18 => ResidentKind::Child,
        _ => ResidentKind::Adult,
    };
    // A resident relation's assessment for the year, as the resident run makes it.
    let assessments: Vec<Option<yibao_enrollment::contribution::ResidentAssessment>> = pair
        .relations
        .iter()
        .map(|r| {
            if r.insutype != "390" {
                return None;
            }
            let rp = params.get_pooled(&r.admdvs, year)?;
            yibao_enrollment::assess_resident(
                rp,
                ResidentInput {
                    benefit_year: year,
                    kind,
                    chosen_tier: None,
                    categories: &pair.categories,
                    assessed_on: january,
                },
            )
            .ok()
        })
        .collect();
    let is_student = pair.relations.iter().any(|r| r.psn_type.starts_with("14"));
    let relations: Vec<DuplicateRelation<'_>> = pair
        .relations
        .iter()
        .zip(&assessments)
        .map(|(r, a)| DuplicateRelation {
            relation_id: "",
            scheme: if r.insutype == "310" {
                Scheme::Employee
            } else {
                Scheme::Resident
            },
            admdvs: &r.admdvs,
            continuous_employee_months: r.continuous_employee_months,
            is_place_of_employment: r.place_of_employment,
            is_place_of_study: r.psn_type.starts_with("14"),
            is_habitual_residence: r.habitual_residence,
            paid_on: r.paid_on,
            chosen_by_person: false,
            assessment: a.as_ref(),
            refund_facts: RefundFacts {
                benefits_used: r.benefits_used,
                benefit_year_started: today >= january,
            },
        })
        .collect();
    let labels: Vec<String> = pair.relations.iter().map(label).collect();
    let ids = [labels[0].as_str(), labels[1].as_str()];
    let relations: Vec<DuplicateRelation<'_>> = relations
        .into_iter()
        .zip(ids)
        .map(|(mut r, id)| {
            r.relation_id = id;
            r
        })
        .collect();
    match resolve_duplicate(p, [&relations[0], &relations[1]], is_student) {
        Ok(d) => DuplicateOutcome {
            certno: pair.certno.clone(),
            psn_no: pair.psn_no.clone(),
            keep: d.keep,
            end: d.terminate,
            rule: d.rule.key().to_owned(),
            reason: d.reason,
            refund_to_person: d.refund.as_ref().map(|r| r.to_person),
            reversals: d
                .refund
                .map(|r| {
                    r.reversals
                        .into_iter()
                        .map(|l| (l.payer.key().to_owned(), l.amount))
                        .collect()
                })
                .unwrap_or_default(),
            no_refund: d.refund_refused.map(|e| e.to_string()),
        },
        Err(err) => undecided(err.to_string()),
    }
}
