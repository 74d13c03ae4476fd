//! Planted violations (issue 12): in a share of general outpatient visits the simulator bills
//! something the shipped smart-audit knowledge forbids (a female-only item on a man's bill, an
//! item over its daily count, both items of an exclusive pair, an item above the institution's
//! level …), lets it settle through the normal chain and writes what it planted to a manifest,
//! so a report can tell which findings the server made on purpose-built violations.
//!
//! Every planted code, count, diagnosis and expected severity comes from the knowledge tables
//! and rules passed in (`yibao_audit::builtin()`), never from a list written here.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use serde::Serialize;
use yibao_audit::{AgeBound, Builtin, Executor, Gend, Phase, Rule, Scope, Table};
use yibao_core_types::{Admdvs, ListType};

use crate::limits::PLANT_CANDIDATES_MAX;

/// The number of kinds planted.
pub const N_KINDS: usize = 10;

/// The kinds that can be planted, in report order: the line-level knowledge tables whose
/// entries `Plant::from_knowledge` turns into violations of a general outpatient bill. The
/// other tables (encounter limits, companions, frequencies, reference costs …) need visits,
/// stays or histories the demo's outpatient bills do not build, and are not planted.
pub const PLANT_KINDS: [Table; N_KINDS] = [
    Table::SexLimit,
    Table::AgeLimit,
    Table::QuantityLimit,
    Table::ExclusivePair,
    Table::LevelLimit,
    Table::DxRequired,
    Table::DxExcluded,
    Table::DxSexLimit,
    Table::DxAgeLimit,
    Table::MinInterval,
];

/// Default share of general outpatient visits planted with each kind, permille: ten kinds at
/// 5 ‰ plant 5 % of general outpatient visits, about 2 % of all visits with the default mix.
pub const DEFAULT_PERMILLE: u32 = 5;

/// How often each kind is planted, in permille of general outpatient visits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlantRates {
    /// Permille per kind, in [`PLANT_KINDS`] order.
    pub permille: [u32; N_KINDS],
}

impl PlantRates {
    /// Nothing planted.
    pub fn none() -> PlantRates {
        PlantRates {
            permille: [0; N_KINDS],
        }
    }

    /// [`DEFAULT_PERMILLE`] for every kind.
    pub fn default_rates() -> PlantRates {
        PlantRates {
            permille: [DEFAULT_PERMILLE; N_KINDS],
        }
    }

    /// The permille of visits planted with any kind.
    pub fn total_permille(&self) -> u32 {
        self.permille.iter().sum()
    }

    /// `kind=permille` pairs, for the report.
    pub fn describe(&self) -> String {
        PLANT_KINDS
            .iter()
            .zip(self.permille)
            .map(|(kind, permille)| format!("{}={permille}", kind.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromStr for PlantRates {
    type Err = String;

    /// `none`, `default`, `all=N`, or `kind=N` pairs (`sex_limit=10,level_limit=5`), applied in
    /// order over nothing planted: `default,age_limit=0` plants every kind but ages. `N` is
    /// permille of general outpatient visits; the kinds together at most 1,000.
    fn from_str(text: &str) -> Result<PlantRates, String> {
        let mut rates = PlantRates::none();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "none" => rates = PlantRates::none(),
                "default" => rates = PlantRates::default_rates(),
                _ => {
                    let (name, value) = part.split_once('=').ok_or_else(|| {
                        format!("plant: {part:?} is not none, default or KIND=PERMILLE")
                    })?;
                    let value: u32 = value.trim().parse().map_err(|_| {
                        format!("plant: {value:?} of {name} is not a whole permille")
                    })?;
                    match name.trim() {
                        "all" => rates.permille = [value; N_KINDS],
                        name => {
                            let idx = PLANT_KINDS
                                .iter()
                                .position(|t| t.name() == name)
                                .ok_or_else(|| {
                                    format!(
                                        "plant: unknown kind {name:?} (all, {})",
                                        PLANT_KINDS.map(|t| t.name()).join(", ")
                                    )
                                })?;
                            rates.permille[idx] = value;
                        }
                    }
                }
            }
        }
        if rates.total_permille() > 1000 {
            return Err(format!(
                "plant: the kinds add up to {} permille, more than every visit",
                rates.total_permille()
            ));
        }
        Ok(rates)
    }
}

/// Who a planted violation needs to be a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone, anywhere.
    Anyone,
    /// A person of this sex (`true`: a man).
    Sex {
        /// A man.
        male: bool,
    },
    /// A person younger than `younger_than` or older than `older_than` (completed years on the
    /// visit's day, with a year to spare).
    Age {
        /// The person is younger than this.
        younger_than: Option<u32>,
        /// The person is older than this.
        older_than: Option<u32>,
    },
    /// An institution whose registry level is below this.
    LevelBelow(u8),
}

/// One violation the simulator can plant, built from a knowledge entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The knowledge table (the rule kind).
    pub table: Table,
    /// The entry's position in its table.
    pub entry_idx: usize,
    /// Lines added to the bill: catalogue code and count in 1/10000.
    pub lines: Vec<(String, i64)>,
    /// The visit's diagnosis instead of the usual one (code, name).
    pub diagnosis: Option<(String, String)>,
    /// Diagnosis prefixes the visit's diagnosis must not start with.
    pub diagnosis_not_under: Vec<String>,
    /// The person or institution the violation needs.
    pub need: Need,
    /// The rules expected to fire (事中, outpatient).
    pub rule_ids: Vec<String>,
    /// The highest severity (lowest `sev_deg`) among them.
    pub sev_deg: u8,
}

/// What a run plants: the rates and, per kind, the candidates.
#[derive(Clone, Debug)]
pub struct Plant {
    /// The rates.
    pub rates: PlantRates,
    /// Candidates per kind, in [`PLANT_KINDS`] order.
    pub candidates: [Vec<Candidate>; N_KINDS],
}

impl Plant {
    /// Plants nothing.
    pub fn none() -> Plant {
        Plant {
            rates: PlantRates::none(),
            candidates: Default::default(),
        }
    }

    /// The candidates of every knowledge entry in force on `day` in `region` that a shipped
    /// rule enforces at settlement (事中) on an outpatient bill; an entry no rule enforces is
    /// left out (planting it would test nothing).
    pub fn from_knowledge(
        base: &Builtin,
        rates: PlantRates,
        day: NaiveDate,
        region: &str,
    ) -> Plant {
        let region = Admdvs::parse(region).ok();
        let mut candidates: [Vec<Candidate>; N_KINDS] = Default::default();
        let k = &base.knowledge;
        let applies = |scope: &Scope| scope.applies(day, region);
        let mut push = |table: Table, candidate: Option<Candidate>| {
            let idx = PLANT_KINDS
                .iter()
                .position(|t| *t == table)
                .expect("every table is a kind");
            if let Some(c) = candidate {
                if candidates[idx].len() < PLANT_CANDIDATES_MAX && !c.rule_ids.is_empty() {
                    candidates[idx].push(c);
                }
            }
        };
        let builder = Builder { base, day };
        for (idx, e) in k.sex_limit.iter().enumerate() {
            if !applies(&e.scope) || e.gend == Gend::Unknown {
                continue;
            }
            push(
                Table::SexLimit,
                builder.item(
                    Table::SexLimit,
                    idx,
                    &e.med_list_codg,
                    None,
                    |_| true,
                    |c| {
                        c.need = Need::Sex {
                            male: e.gend == Gend::Female,
                        }
                    },
                ),
            );
        }
        for (idx, e) in k.age_limit.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            // The lower bound when there is one (a child), else the upper one.
            let (bound, need) = match (e.min_age, e.max_age) {
                (Some(min), _) if min >= 2 => (
                    AgeBound::Lower,
                    Need::Age {
                        younger_than: Some(min - 1),
                        older_than: None,
                    },
                ),
                (_, Some(max)) => (
                    AgeBound::Upper,
                    Need::Age {
                        younger_than: None,
                        older_than: Some(max + 1),
                    },
                ),
                _ => continue,
            };
            push(
                Table::AgeLimit,
                builder.item(
                    Table::AgeLimit,
                    idx,
                    &e.med_list_codg,
                    None,
                    |executor| {
                        matches!(executor, Executor::AgeLimit { bound: b, .. }
                            if *b == bound || *b == AgeBound::Both)
                    },
                    |c| c.need = need.clone(),
                ),
            );
        }
        for (idx, e) in k.quantity_limit.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            push(
                Table::QuantityLimit,
                builder.item(
                    Table::QuantityLimit,
                    idx,
                    &e.med_list_codg,
                    None,
                    |executor| matches!(executor, Executor::QuantityLimit { per, .. } if *per == e.per),
                    // One whole unit over the cap, on one line.
                    |c| c.lines[0].1 = e.max_cnt.0 + 10_000,
                ),
            );
        }
        for (idx, e) in k.exclusive_pair.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            let (Some(type_a), Some(type_b)) = (
                builder.list_type(&e.med_list_codg_a),
                builder.list_type(&e.med_list_codg_b),
            ) else {
                continue;
            };
            let rules = builder.rules(Table::ExclusivePair, |executor| {
                matches!(executor, Executor::ExclusivePair { list_type_a, list_type_b, within, .. }
                    if *within == e.within
                        && ((*list_type_a == type_a && *list_type_b == type_b)
                            || (*list_type_a == type_b && *list_type_b == type_a)))
            });
            push(
                Table::ExclusivePair,
                rules_candidate(
                    Table::ExclusivePair,
                    idx,
                    vec![
                        (e.med_list_codg_a.clone(), 10_000),
                        (e.med_list_codg_b.clone(), 10_000),
                    ],
                    &rules,
                ),
            );
        }
        for (idx, e) in k.level_limit.iter().enumerate() {
            if !applies(&e.scope) || e.min_hosp_lv.get() < 2 {
                continue;
            }
            push(
                Table::LevelLimit,
                builder.item(
                    Table::LevelLimit,
                    idx,
                    &e.med_list_codg,
                    None,
                    |_| true,
                    |c| c.need = Need::LevelBelow(e.min_hosp_lv.get()),
                ),
            );
        }
        for (idx, e) in k.dx_required.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            push(
                Table::DxRequired,
                builder.item(
                    Table::DxRequired,
                    idx,
                    &e.med_list_codg,
                    None,
                    |_| true,
                    |c| c.diagnosis_not_under = e.dise_codg_prefixes.clone(),
                ),
            );
        }
        for (idx, e) in k.dx_excluded.iter().enumerate() {
            let Some(prefix) = e.dise_codg_prefixes.first() else {
                continue;
            };
            if !applies(&e.scope) {
                continue;
            }
            push(
                Table::DxExcluded,
                builder.item(
                    Table::DxExcluded,
                    idx,
                    &e.med_list_codg,
                    Some(diagnosis_under(prefix)),
                    |_| true,
                    |_| {},
                ),
            );
        }
        for (idx, e) in k.min_interval.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            // The item twice on one day: zero days apart.
            push(
                Table::MinInterval,
                builder.item(
                    Table::MinInterval,
                    idx,
                    &e.med_list_codg,
                    None,
                    |_| true,
                    |c| c.lines.push(c.lines[0].clone()),
                ),
            );
        }
        for (idx, e) in k.dx_sex_limit.iter().enumerate() {
            if !applies(&e.scope) || e.gend == Gend::Unknown {
                continue;
            }
            let rules = builder.rules(Table::DxSexLimit, |_| true);
            push(
                Table::DxSexLimit,
                rules_candidate(Table::DxSexLimit, idx, Vec::new(), &rules).map(|mut c| {
                    c.diagnosis = Some(diagnosis_under(&e.dise_codg_prefix));
                    c.need = Need::Sex {
                        male: e.gend == Gend::Female,
                    };
                    c
                }),
            );
        }
        for (idx, e) in k.dx_age_limit.iter().enumerate() {
            if !applies(&e.scope) {
                continue;
            }
            let need = match (e.min_age, e.max_age) {
                (Some(min), _) if min >= 2 => Need::Age {
                    younger_than: Some(min - 1),
                    older_than: None,
                },
                (_, Some(max)) => Need::Age {
                    younger_than: None,
                    older_than: Some(max + 1),
                },
                _ => continue,
            };
            let rules = builder.rules(Table::DxAgeLimit, |_| true);
            push(
                Table::DxAgeLimit,
                rules_candidate(Table::DxAgeLimit, idx, Vec::new(), &rules).map(|mut c| {
                    c.diagnosis = Some(diagnosis_under(&e.dise_codg_prefix));
                    c.need = need;
                    c
                }),
            );
        }
        Plant { rates, candidates }
    }

    /// Whether anything is planted.
    pub fn is_active(&self) -> bool {
        self.rates.total_permille() > 0 && self.candidates.iter().any(|c| !c.is_empty())
    }

    /// Draws whether a visit is planted and with which candidate.
    pub fn draw(&self, rng: &mut impl Rng) -> Option<&Candidate> {
        if !self.is_active() {
            return None;
        }
        let mut pick = rng.random_range(0..1000u32);
        for (idx, permille) in self.rates.permille.iter().enumerate() {
            if pick < *permille {
                let candidates = &self.candidates[idx];
                if candidates.is_empty() {
                    return None;
                }
                return Some(&candidates[rng.random_range(0..candidates.len())]);
            }
            pick -= permille;
        }
        None
    }
}

/// Builds item candidates with the rules that enforce their code.
struct Builder<'a> {
    base: &'a Builtin,
    day: NaiveDate,
}

impl Builder<'_> {
    fn list_type(&self, code: &str) -> Option<ListType> {
        self.base
            .knowledge
            .items
            .get(code)
            .map(|item| item.list_type)
    }

    /// The rules of `table` that run at settlement on an outpatient bill on the day and that
    /// `select` accepts.
    fn rules(&self, table: Table, select: impl Fn(&Executor) -> bool) -> Vec<&Rule> {
        self.base
            .rules
            .rules
            .iter()
            .filter(|rule| {
                rule.executor.table() == Some(table)
                    && rule.phases.contains(&Phase::During)
                    && rule.scenes.iter().any(|s| s == "outpatient")
                    && rule.in_force_on(self.day)
                    && select(&rule.executor)
            })
            .collect()
    }

    /// A one-line candidate for `code`, with the rules of `table` that cover the code's list
    /// and that `select` accepts; `shape` then adjusts it.
    fn item(
        &self,
        table: Table,
        entry_idx: usize,
        code: &str,
        diagnosis: Option<(String, String)>,
        select: impl Fn(&Executor) -> bool,
        shape: impl FnOnce(&mut Candidate),
    ) -> Option<Candidate> {
        let list_type = self.list_type(code)?;
        let rules = self.rules(table, |executor| {
            covers(executor, list_type) && select(executor)
        });
        let mut candidate =
            rules_candidate(table, entry_idx, vec![(code.to_owned(), 10_000)], &rules)?;
        candidate.diagnosis = diagnosis;
        shape(&mut candidate);
        Some(candidate)
    }
}

/// Whether a line-level executor's lists include `list_type` (an executor added later covers
/// nothing until it is listed here).
#[allow(unreachable_patterns)]
fn covers(executor: &Executor, list_type: ListType) -> bool {
    match executor {
        Executor::SexLimit { list_types }
        | Executor::AgeLimit { list_types, .. }
        | Executor::QuantityLimit { list_types, .. }
        | Executor::LevelLimit { list_types }
        | Executor::DiagnosisRequired { list_types }
        | Executor::DiagnosisExcluded { list_types }
        | Executor::MinInterval { list_types } => list_types.contains(&list_type),
        Executor::ExclusivePair {
            list_type_a,
            list_type_b,
            ..
        } => *list_type_a == list_type || *list_type_b == list_type,
        Executor::DiagnosisSexLimit | Executor::DiagnosisAgeLimit => true,
        _ => false,
    }
}

fn rules_candidate(
    table: Table,
    entry_idx: usize,
    lines: Vec<(String, i64)>,
    rules: &[&Rule],
) -> Option<Candidate> {
    let sev_deg = rules.iter().map(|r| r.sev_deg.get()).min()?;
    Some(Candidate {
        table,
        entry_idx,
        lines,
        diagnosis: None,
        diagnosis_not_under: Vec::new(),
        need: Need::Anyone,
        rule_ids: rules.iter().map(|r| r.rule_id.clone()).collect(),
        sev_deg,
    })
}

/// A diagnosis code under `prefix`: the prefix's category padded to three characters with `0`,
/// then `.900` unless the prefix already has a subcategory (`O` → `O00.900`, `K25` →
/// `K25.900`, `I44.2` → `I44.200`).
pub fn diagnosis_under(prefix: &str) -> (String, String) {
    let code = match prefix.split_once('.') {
        Some((category, sub)) => format!("{category}.{sub:0<3}"),
        None => format!("{prefix:0<3}.900"),
    };
    let name = format!("{prefix} 类诊断（植入）");
    (code, name)
}

/// The sex (`true`: a man) and birth date written in an 18-character resident id (GB 11643:
/// birth date at 7–14, an odd sequence for men at 15–17).
pub fn sex_and_birth_of_certno(certno: &str) -> Option<(bool, NaiveDate)> {
    if certno.len() != 18 || !certno.is_ascii() {
        return None;
    }
    let brdy = NaiveDate::parse_from_str(&certno[6..14], "%Y%m%d").ok()?;
    let sequence: u32 = certno[14..17].parse().ok()?;
    Some((sequence % 2 == 1, brdy))
}

/// Completed years between `brdy` and `day`.
pub fn age_on(brdy: NaiveDate, day: NaiveDate) -> i64 {
    let mut years = i64::from(day.year()) - i64::from(brdy.year());
    if (day.month(), day.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years
}

/// Whether a person with resident id `certno` meets `need` on `day` (an institution's level is
/// checked by the caller).
pub fn person_meets(need: &Need, certno: &str, day: NaiveDate) -> bool {
    let Some((male, brdy)) = sex_and_birth_of_certno(certno) else {
        return matches!(need, Need::Anyone | Need::LevelBelow(_));
    };
    match need {
        Need::Anyone | Need::LevelBelow(_) => true,
        Need::Sex { male: wanted } => male == *wanted,
        Need::Age {
            younger_than,
            older_than,
        } => {
            let age = age_on(brdy, day);
            younger_than.is_some_and(|y| age < i64::from(y))
                || older_than.is_some_and(|o| age > i64::from(o))
        }
    }
}

/// One planted violation that settled, as written to the manifest (one JSON line each).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlantRecord {
    /// The visit.
    pub mdtrt_id: String,
    /// The person.
    pub psn_no: String,
    /// The settlement.
    pub setl_id: String,
    /// The institution.
    pub fixmedins_code: String,
    /// The rule kind: the knowledge table.
    pub kind: &'static str,
    /// The entry's position in its table.
    pub entry_idx: usize,
    /// The planted catalogue codes (empty for a diagnosis rule).
    pub codes: Vec<String>,
    /// The planted diagnosis, when the violation is one.
    pub dise_codg: Option<String>,
    /// The rules expected to fire.
    pub rule_ids: Vec<String>,
    /// The severity expected (the highest of those rules).
    pub sev_deg: u8,
}

impl PlantRecord {
    /// The record as one JSON line.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a manifest record serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant() -> Plant {
        let base = yibao_audit::builtin().expect("shipped rules");
        Plant::from_knowledge(
            &base,
            PlantRates::default_rates(),
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            "140500",
        )
    }

    #[test]
    fn rates_parse_and_errors_name_the_kind() {
        assert_eq!("none".parse::<PlantRates>(), Ok(PlantRates::none()));
        assert_eq!(
            "default".parse::<PlantRates>(),
            Ok(PlantRates::default_rates())
        );
        let rates: PlantRates = "default,age_limit=0,sex_limit=20".parse().unwrap();
        assert_eq!(rates.permille[0], 20);
        assert_eq!(rates.permille[1], 0);
        assert_eq!(
            rates.total_permille(),
            20 + (N_KINDS as u32 - 2) * DEFAULT_PERMILLE
        );
        assert_eq!(
            "all=50".parse::<PlantRates>().unwrap().total_permille(),
            50 * N_KINDS as u32
        );
        assert!("all=1000".parse::<PlantRates>().is_err());
        assert!("dental=5"
            .parse::<PlantRates>()
            .unwrap_err()
            .contains("dental"));
        assert!("sex_limit=x".parse::<PlantRates>().is_err());
    }

    /// Every kind of the shipped knowledge yields at least one candidate, each with rules and a
    /// severity, from the tables (no code written here).
    #[test]
    fn every_shipped_kind_can_be_planted() {
        let plant = plant();
        let base = yibao_audit::builtin().unwrap();
        // The kinds `Plant::from_knowledge` plants; a table added later may have none.
        let planted_kinds = [
            "sex_limit",
            "age_limit",
            "quantity_limit",
            "exclusive_pair",
            "level_limit",
            "dx_required",
            "dx_excluded",
            "dx_sex_limit",
            "dx_age_limit",
            "min_interval",
        ];
        for (kind, candidates) in PLANT_KINDS.iter().zip(&plant.candidates) {
            assert!(
                !candidates.is_empty() || !planted_kinds.contains(&kind.name()),
                "no candidate of {}",
                kind.name()
            );
            for c in candidates {
                assert!((1..=3).contains(&c.sev_deg));
                for (code, cnt) in &c.lines {
                    assert!(base.knowledge.items.contains_key(code.as_str()), "{code}");
                    assert!(*cnt >= 10_000);
                }
                for rule_id in &c.rule_ids {
                    let rule = base
                        .rules
                        .rules
                        .iter()
                        .find(|r| &r.rule_id == rule_id)
                        .unwrap();
                    assert_eq!(rule.executor.table(), Some(*kind));
                }
            }
        }
    }

    #[test]
    fn resident_ids_give_sex_and_birth() {
        // Sequence 123 (odd): a man born 1990-03-07.
        let (male, brdy) = sex_and_birth_of_certno("14050219900307123X").unwrap();
        assert!(male);
        assert_eq!(brdy, NaiveDate::from_ymd_opt(1990, 3, 7).unwrap());
        assert!(!sex_and_birth_of_certno("140502199003071242").unwrap().0);
        assert_eq!(sex_and_birth_of_certno("short"), None);
        let day = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        assert_eq!(age_on(brdy, day), 35);
        assert!(person_meets(
            &Need::Age {
                younger_than: None,
                older_than: Some(30)
            },
            "14050219900307123X",
            day
        ));
        assert!(!person_meets(
            &Need::Sex { male: false },
            "14050219900307123X",
            day
        ));
    }

    #[test]
    fn diagnoses_under_a_prefix() {
        assert_eq!(diagnosis_under("O").0, "O00.900");
        assert_eq!(diagnosis_under("K25").0, "K25.900");
        assert_eq!(diagnosis_under("I44.2").0, "I44.200");
        assert!(diagnosis_under("P").0.starts_with('P'));
    }
}
