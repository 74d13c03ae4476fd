//! The registry check (`yibao registry check`, spec enrollment.md §9.2, §10.1): for one year,
//! each person of the base population who is not insured, with the provisional reason
//! (`yibao_enrollment::coverage`), each person insured twice, and the coverage report by
//! county — base, insured by scheme, uninsured by reason, and how many subsidy-category
//! persons are enrolled (the seeds' 100%).
//!
//! The base population is every person of the registry, less those whose death is confirmed on
//! or before the reference date. A person is insured when a basic relation (`310`/`390`) in
//! status 1 overlaps the year up to the reference date, unless the only such relation is a
//! resident one whose assessment for the year has an individual part the tax bureau's payments
//! do not cover (the "missing contribution" of issue 13): a registry imported without
//! assessments counts as insured.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use yibao_enrollment::coverage::{rate_bp, reference_date, UninsuredReason};
use yibao_enrollment::ParamSet;

use crate::error::StoreError;
use crate::{Pool, Store};

/// One finding of the registry check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFinding {
    /// The person's identity number.
    pub certno: String,
    /// The person's number (人员编号).
    pub psn_no: String,
    /// `uninsured` or `duplicate`.
    pub finding: &'static str,
    /// For `uninsured`, the reason's code (`lapsed`, `never_insured` …); for `duplicate`,
    /// `two_schemes` or `two_relations`.
    pub reason: &'static str,
    /// The county (household region, else the relation's) the person is counted in.
    pub admdvs: String,
}

/// One county's line of the coverage report (§9.2 step 6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountyCoverage {
    /// The county (`admdvs`; '' for persons with neither household nor relation).
    pub admdvs: String,
    /// The base population `|B|`.
    pub base: u64,
    /// Insured with an employee relation (`310`).
    pub insured_employee: u64,
    /// Insured with a resident relation only (`390`).
    pub insured_resident: u64,
    /// Uninsured, by reason (every reason of `UninsuredReason::ALL`, in that order).
    pub uninsured: Vec<(&'static str, u64)>,
    /// Persons insured twice.
    pub duplicate: u64,
    /// Persons holding a category the region subsidises.
    pub category_persons: u64,
    /// Of those, how many are insured.
    pub category_insured: u64,
}

impl CountyCoverage {
    /// Insured persons (either scheme).
    pub fn insured(&self) -> u64 {
        self.insured_employee + self.insured_resident
    }

    /// Uninsured persons (every reason).
    pub fn uninsured_total(&self) -> u64 {
        self.uninsured.iter().map(|(_, n)| n).sum()
    }

    /// The coverage rate `insured / base` in basis points, rounded down.
    pub fn coverage_bp(&self) -> Option<u64> {
        rate_bp(self.insured(), self.base)
    }

    /// Subsidy-category persons enrolled / all of them, in basis points.
    pub fn category_bp(&self) -> Option<u64> {
        rate_bp(self.category_insured, self.category_persons)
    }
}

/// What `registry_check` found for a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCheck {
    /// The year checked.
    pub year: i32,
    /// The reference date (today, held inside the year).
    pub reference: NaiveDate,
    /// Every finding, sorted by identity number then finding.
    pub findings: Vec<CheckFinding>,
    /// The report by county, sorted by county.
    pub counties: Vec<CountyCoverage>,
}

impl RegistryCheck {
    /// The counties' lines added up (its `admdvs` is `all`).
    pub fn total(&self) -> CountyCoverage {
        let mut total = CountyCoverage {
            admdvs: "all".into(),
            uninsured: UninsuredReason::ALL.iter().map(|r| (r.code(), 0)).collect(),
            ..Default::default()
        };
        for c in &self.counties {
            total.base += c.base;
            total.insured_employee += c.insured_employee;
            total.insured_resident += c.insured_resident;
            total.duplicate += c.duplicate;
            total.category_persons += c.category_persons;
            total.category_insured += c.category_insured;
            for (slot, (_, n)) in total.uninsured.iter_mut().zip(&c.uninsured) {
                slot.1 += n;
            }
        }
        total
    }
}

/// One person's facts as the check reads them, before the rules.
#[derive(Debug, Default)]
pub(crate) struct PersonCoverage {
    pub(crate) psn_no: String,
    pub(crate) certno: String,
    pub(crate) admdvs: String,
    /// Insured through a paying employee relation (counted under `310`).
    pub(crate) employee: bool,
    pub(crate) duplicate: Option<&'static str>,
    pub(crate) facts: yibao_enrollment::coverage::CoverageFacts,
}

/// The outcomes a grid worker records on a follow-up (§9.2 step 5); `other` needs a note.
pub const FOLLOWUP_OUTCOMES: [&str; 8] = [
    "enrolled",
    "insured_elsewhere",
    "refused",
    "working_abroad",
    "commercial_only",
    "moved",
    "dead",
    "other",
];

/// The follow-up of one uninsured person in one year (§9.2 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followup {
    /// Its number.
    pub followup_id: i64,
    /// The year checked.
    pub year: i32,
    /// The person.
    pub psn_no: String,
    /// The person's identity number.
    pub certno: String,
    /// The person's name.
    pub psn_name: String,
    /// The county whose grid workers follow it up.
    pub admdvs: String,
    /// The reason the check gave.
    pub reason: String,
    /// The check's reference date.
    pub reference: String,
    /// When it was opened.
    pub opened_at: String,
    /// The worker's outcome, once recorded (it closes the follow-up).
    pub outcome: Option<FollowupOutcome>,
}

/// A grid worker's outcome of a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupOutcome {
    /// One of [`FOLLOWUP_OUTCOMES`].
    pub outcome: String,
    /// What the worker found ('' allowed unless the outcome is `other`).
    pub note: String,
    /// Who recorded it.
    pub staff_id: i64,
    /// When.
    pub recorded_at: String,
}

/// Which follow-ups to list.
#[derive(Debug, Clone, Default)]
pub struct FollowupQuery {
    /// The year.
    pub year: i32,
    /// One county only.
    pub admdvs: Option<String>,
    /// `Some(true)` open only, `Some(false)` closed only.
    pub open: Option<bool>,
    /// At most this many (capped at 500), oldest first.
    pub limit: usize,
}

impl Store {
    /// Opens a follow-up for every uninsured person of `check` that has none for the year yet;
    /// returns how many were opened (a second run of the same check opens none).
    pub async fn open_followups(
        &self,
        check: &RegistryCheck,
        now: NaiveDateTime,
    ) -> Result<u64, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::followups_open(p, check, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                crate::sq::followups_open(pool, check, now).await
            }
        }
    }

    /// The follow-ups of a year, oldest first.
    pub async fn followups(&self, query: &FollowupQuery) -> Result<Vec<Followup>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::followups_list(p, query, None).await,
            Pool::Sq { pool, .. } => crate::sq::followups_list(pool, query, None).await,
        }
    }

    /// One follow-up; `NotFound` when there is none.
    pub async fn followup(&self, followup_id: i64) -> Result<Followup, StoreError> {
        let found = match &self.inner.pool {
            Pool::Pg(p) => {
                crate::pg::followups_list(p, &FollowupQuery::default(), Some(followup_id)).await?
            }
            Pool::Sq { pool, .. } => {
                crate::sq::followups_list(pool, &FollowupQuery::default(), Some(followup_id))
                    .await?
            }
        };
        found
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found("followup_id", followup_id.to_string()))
    }

    /// Records a grid worker's outcome, which closes the follow-up: once, with an outcome of
    /// [`FOLLOWUP_OUTCOMES`] (a note for `other`).
    pub async fn close_followup(
        &self,
        followup_id: i64,
        outcome: &str,
        note: &str,
        staff_id: i64,
        now: NaiveDateTime,
    ) -> Result<Followup, StoreError> {
        if !FOLLOWUP_OUTCOMES.contains(&outcome) {
            return Err(StoreError::bad(
                "outcome",
                format!("`{outcome}` is not one of {}", FOLLOWUP_OUTCOMES.join(", ")),
            ));
        }
        let note = note.trim();
        if outcome == "other" && note.is_empty() {
            return Err(StoreError::bad(
                "note",
                "is required with the outcome `other`",
            ));
        }
        if note.chars().count() > crate::limits::TEXT_CHARS_MAX {
            return Err(StoreError::bad(
                "note",
                format!(
                    "is longer than {} characters",
                    crate::limits::TEXT_CHARS_MAX
                ),
            ));
        }
        match &self.inner.pool {
            Pool::Pg(p) => {
                crate::pg::followups_close(p, followup_id, outcome, note, staff_id, now).await?
            }
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                crate::sq::followups_close(pool, followup_id, outcome, note, staff_id, now).await?
            }
        }
        self.followup(followup_id).await
    }

    /// The registry check of `year` run on `today` (§9.2, §10.1): the uninsured with their
    /// reasons, the persons insured twice, and the report by county. `params` gives each
    /// region's newborn window and subsidised categories.
    pub async fn registry_check(
        &self,
        year: i32,
        today: NaiveDate,
        params: &ParamSet,
    ) -> Result<RegistryCheck, StoreError> {
        let reference = reference_date(year, today)
            .ok_or_else(|| StoreError::bad("year", format!("{year} is not a year")))?;
        let persons = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::coverage_facts(p, year, reference).await?,
            Pool::Sq { pool, .. } => crate::sq::coverage_facts(pool, year, reference).await?,
        };
        Ok(judge(year, reference, persons, params))
    }
}

/// Applies the rules to every person's facts and adds up the report.
fn judge(
    year: i32,
    reference: NaiveDate,
    persons: Vec<PersonCoverage>,
    params: &ParamSet,
) -> RegistryCheck {
    let mut findings = Vec::new();
    let mut counties: BTreeMap<String, CountyCoverage> = BTreeMap::new();
    for p in persons {
        let region_params = params.get_pooled(&p.admdvs, year);
        let county = counties
            .entry(p.admdvs.clone())
            .or_insert_with(|| CountyCoverage {
                admdvs: p.admdvs.clone(),
                uninsured: UninsuredReason::ALL.iter().map(|r| (r.code(), 0)).collect(),
                ..Default::default()
            });
        county.base += 1;
        let subsidised = region_params
            .and_then(|rp| rp.resident.as_ref())
            .is_some_and(|r| {
                r.subsidies.iter().any(|rule| {
                    rule.categories
                        .iter()
                        .any(|c| p.facts.categories.contains(c))
                })
            });
        let reason =
            yibao_enrollment::coverage::uninsured_reason(&p.facts, year, reference, region_params);
        if subsidised {
            county.category_persons += 1;
            if reason.is_none() {
                county.category_insured += 1;
            }
        }
        match reason {
            None if p.employee => county.insured_employee += 1,
            None => county.insured_resident += 1,
            Some(r) => {
                if let Some(slot) = county.uninsured.iter_mut().find(|(c, _)| *c == r.code()) {
                    slot.1 += 1;
                }
                findings.push(CheckFinding {
                    certno: p.certno.clone(),
                    psn_no: p.psn_no.clone(),
                    finding: "uninsured",
                    reason: r.code(),
                    admdvs: p.admdvs.clone(),
                });
            }
        }
        if let Some(kind) = p.duplicate {
            county.duplicate += 1;
            findings.push(CheckFinding {
                certno: p.certno,
                psn_no: p.psn_no,
                finding: "duplicate",
                reason: kind,
                admdvs: p.admdvs,
            });
        }
    }
    findings.sort_by(|x, y| (&x.certno, x.finding).cmp(&(&y.certno, y.finding)));
    RegistryCheck {
        year,
        reference,
        findings,
        counties: counties.into_values().collect(),
    }
}
