//! A deterministic (seeded) generator of a region's synthetic inpatient history: hospitals of
//! three levels, and stays whose codes are drawn from the grouping scheme's own lists per ADRG
//! (so they group where intended), with lengths of stay and costs that depend on the ADRG, the
//! hospital's level and the case's severity (lognormal), calibrated to a median of about 6,000
//! and a mean of about 10,000 yuan per stay (`spec/demo-city.md`).
//!
//! Floats appear here only to draw random synthetic values; each cost is rounded to integer fen
//! once, when the case is made, and no payment computation ever sees a float.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::error::{config_error, PaymentError};
use crate::limits;
use crate::model::{DrgCode, Hospital, HospitalLevel, InpatientCase};

/// Section of an ADRG (the second letter of its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// A–J: operating-room procedures.
    Surgical,
    /// K–Q: non-OR procedures.
    NonOrProcedure,
    /// R–Z: medical.
    Medical,
}

/// Required sex of a case in an ADRG's MDC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexRule {
    /// Either.
    Any,
    /// Male (MDCM).
    Male,
    /// Female (MDCN, MDCO).
    Female,
}

/// The codes a case of one ADRG is drawn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdrgCodes {
    /// ADRG code (`GZ1`).
    pub adrg: String,
    /// Section.
    pub section: Section,
    /// Sex the MDC needs.
    pub sex: SexRule,
    /// Principal diagnoses that lead into this ADRG (non-empty).
    pub principal_dx: Vec<String>,
    /// Main procedures (empty for medical ADRGs).
    pub main_procedures: Vec<String>,
    /// A second procedure list the ADRG also needs (double-procedure ADRGs), else empty.
    pub second_procedures: Vec<String>,
    /// Relative cost of the ADRG's cases (1,000,000 = typical of its section), ppm; transplants
    /// and ECMO are far above 1.
    pub cost_factor_ppm: i64,
}

/// Everything the generator draws codes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeCodes {
    /// The ADRGs cases are generated for.
    pub adrgs: Vec<AdrgCodes>,
    /// Major complications (MCC) for severe cases.
    pub mcc: Vec<String>,
    /// Complications (CC) for moderately severe cases.
    pub cc: Vec<String>,
    /// Ordinary secondary diagnoses (neither CC nor MCC).
    pub plain_secondary: Vec<String>,
    /// Principal diagnoses that group nowhere (for the share of ungroupable cases).
    pub ungroupable_dx: Vec<String>,
    /// Diagnostic or therapeutic non-OR procedures that no ADRG reads (imaging, tests), added to
    /// some medical stays after their main procedure (may be empty).
    pub extra_procedures: Vec<String>,
}

/// Severity drawn for a case (decides its secondary diagnoses and cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// No CC or MCC.
    None,
    /// A CC.
    Cc,
    /// An MCC.
    Mcc,
}

/// One generated stay: the grouper's record fields and the payment fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthCase {
    /// Case id.
    pub id: u64,
    /// Hospital index.
    pub hospital: u32,
    /// Discharge month, 1 to 12.
    pub month: u8,
    /// 1 male, 2 female.
    pub sex: u8,
    /// Age in years.
    pub age_years: u32,
    /// Age in days.
    pub age_days: u32,
    /// Diagnoses, principal first.
    pub diagnoses: Vec<String>,
    /// Procedures, main first.
    pub procedures: Vec<String>,
    /// Cost in fen.
    pub cost_fen: i64,
    /// Insured person's share in fen.
    pub insured_share_fen: i64,
    /// Length of stay in days.
    pub stay_days: u32,
    /// Index of the ADRG the case was drawn for (`None`: drawn to be ungroupable).
    pub target_adrg: Option<usize>,
    /// Severity drawn.
    pub severity: Severity,
}

impl SynthCase {
    /// The payment engine's view of the case, with the DRG the grouper gave.
    pub fn to_inpatient(&self, drg: Option<DrgCode>) -> InpatientCase {
        InpatientCase {
            id: self.id,
            hospital: self.hospital,
            month: self.month,
            drg,
            principal_dx: self.diagnoses[0].clone(),
            procedures: self.procedures.clone(),
            cost_fen: self.cost_fen,
            insured_share_fen: self.insured_share_fen,
            stay_days: self.stay_days,
        }
    }
}

/// A generated region: hospitals and the fixed parameters each year is drawn with.
#[derive(Debug, Clone)]
pub struct SynthRegion {
    /// Hospitals (codes `H0001` …).
    pub hospitals: Vec<Hospital>,
    seed: u64,
    hospital_volume: WeightedIndex<f64>,
    hospital_efficiency: Vec<f64>,
    adrg_popularity: WeightedIndex<f64>,
    adrg_log_cost: Vec<f64>,
    adrg_log_stay: Vec<f64>,
}

/// Cost of a stay at the median before calibration (yuan); the level and severity factors move it.
const MEDIAN_COST_YUAN: f64 = 5_400.0;

fn level_cost_factor(level: HospitalLevel) -> f64 {
    match level {
        HospitalLevel::One => 0.7,
        HospitalLevel::Two => 0.95,
        HospitalLevel::Three => 1.2,
    }
}

fn severity_cost_factor(severity: Severity) -> f64 {
    match severity {
        Severity::None => 1.0,
        Severity::Cc => 1.35,
        Severity::Mcc => 1.9,
    }
}

/// Checks the scheme codes the generator needs.
fn validate_codes(codes: &SchemeCodes) -> Result<(), PaymentError> {
    if codes.adrgs.is_empty() {
        return Err(config_error("codes.adrgs", "is empty"));
    }
    for (idx, adrg) in codes.adrgs.iter().enumerate() {
        if adrg.principal_dx.is_empty() {
            return Err(config_error(
                format!("codes.adrgs[{idx}].principal_dx"),
                format!("{} has none", adrg.adrg),
            ));
        }
        if adrg.section != Section::Medical && adrg.main_procedures.is_empty() {
            return Err(config_error(
                format!("codes.adrgs[{idx}].main_procedures"),
                format!("{} has none", adrg.adrg),
            ));
        }
        if !(1..=limits::COEFFICIENT_PPM_MAX).contains(&adrg.cost_factor_ppm) {
            return Err(config_error(
                format!("codes.adrgs[{idx}].cost_factor_ppm"),
                "is not positive",
            ));
        }
    }
    for (field, list) in [
        ("codes.mcc", &codes.mcc),
        ("codes.cc", &codes.cc),
        ("codes.plain_secondary", &codes.plain_secondary),
    ] {
        if list.is_empty() {
            return Err(config_error(field, "is empty"));
        }
    }
    Ok(())
}

/// Makes a region: `n_hospitals` hospitals (about 5% level 3, 25% level 2, 70% level 1, at least
/// one of each level from three hospitals on), their volumes and cost efficiencies, and each
/// ADRG's popularity, typical cost and typical stay. Deterministic in `seed`.
pub fn synth_region(
    codes: &SchemeCodes,
    n_hospitals: usize,
    seed: u64,
) -> Result<SynthRegion, PaymentError> {
    validate_codes(codes)?;
    if n_hospitals == 0 || n_hospitals > limits::HOSPITALS_MAX {
        return Err(config_error(
            "hospitals",
            format!("{n_hospitals} is not 1 to {}", limits::HOSPITALS_MAX),
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let n_level3 =
        ((n_hospitals as f64 * 0.05).round() as usize).max(usize::from(n_hospitals >= 3));
    let n_level2 =
        ((n_hospitals as f64 * 0.25).round() as usize).max(usize::from(n_hospitals >= 2));
    let mut hospitals = Vec::with_capacity(n_hospitals);
    let mut volume = Vec::with_capacity(n_hospitals);
    let mut efficiency = Vec::with_capacity(n_hospitals);
    for idx in 0..n_hospitals {
        let level = if idx < n_level3 {
            HospitalLevel::Three
        } else if idx < n_level3 + n_level2 {
            HospitalLevel::Two
        } else {
            HospitalLevel::One
        };
        let z: f64 = rng.sample(StandardNormal);
        let level_volume = match level {
            HospitalLevel::Three => 30.0,
            HospitalLevel::Two => 6.0,
            HospitalLevel::One => 1.0,
        };
        volume.push(level_volume * (0.5 * z).exp());
        let z: f64 = rng.sample(StandardNormal);
        efficiency.push((0.12 * z).exp());
        hospitals.push(Hospital {
            code: format!("H{:04}", idx + 1),
            level,
            coefficient_ppm: None,
        });
    }
    // ADRG popularity: a long tail (1 / (rank + 8)) over a seeded shuffle, medical ADRGs the
    // most common, procedures' ADRGs less, the expensive pre-MDC ones rare.
    let mut order: Vec<usize> = (0..codes.adrgs.len()).collect();
    for idx in (1..order.len()).rev() {
        order.swap(idx, rng.random_range(0..=idx));
    }
    let mut popularity = vec![0.0; codes.adrgs.len()];
    let mut log_cost = vec![0.0; codes.adrgs.len()];
    let mut log_stay = vec![0.0; codes.adrgs.len()];
    for (rank, adrg_idx) in order.into_iter().enumerate() {
        let adrg = &codes.adrgs[adrg_idx];
        let (section_share, section_cost, section_stay) = match adrg.section {
            Section::Medical => (3.0, 0.8, 7.5),
            Section::NonOrProcedure => (0.8, 1.4, 7.0),
            Section::Surgical => (1.0, 2.8, 9.5),
        };
        let factor = adrg.cost_factor_ppm as f64 / 1e6;
        popularity[adrg_idx] = section_share / (rank as f64 + 8.0) / factor.max(1.0).powi(2);
        let z: f64 = rng.sample(StandardNormal);
        log_cost[adrg_idx] = (MEDIAN_COST_YUAN * section_cost * factor).ln() + 0.45 * z;
        let z2: f64 = rng.sample(StandardNormal);
        log_stay[adrg_idx] = (section_stay * factor.sqrt()).ln() + 0.3 * (0.6 * z + 0.8 * z2);
    }
    Ok(SynthRegion {
        hospitals,
        seed,
        hospital_volume: WeightedIndex::new(&volume).expect("positive volumes"),
        hospital_efficiency: efficiency,
        adrg_popularity: WeightedIndex::new(&popularity).expect("positive popularity"),
        adrg_log_cost: log_cost,
        adrg_log_stay: log_stay,
    })
}

/// Share of cases drawn to be ungroupable, ppm (if the scheme gives ungroupable diagnoses).
const UNGROUPABLE_PPM: u32 = 8_000;
/// Share of very short stays (discharged, transferred or died within a day or two), ppm.
const SHORT_STAY_PPM: u32 = 30_000;

/// Draws one year of `n_cases` stays. Year `year` (0 = the oldest) shifts the seed and adds 3%
/// cost growth a year; case ids start at `first_id`. Deterministic in the region's seed and
/// `year`.
pub fn synth_year(
    region: &SynthRegion,
    codes: &SchemeCodes,
    year: u32,
    n_cases: usize,
    first_id: u64,
) -> Result<Vec<SynthCase>, PaymentError> {
    validate_codes(codes)?;
    if codes.adrgs.len() != region.adrg_log_cost.len() {
        return Err(config_error(
            "codes.adrgs",
            "differs from the codes the region was made with",
        ));
    }
    if n_cases > limits::CASES_MAX {
        return Err(PaymentError::TooMany {
            field: "cases",
            count: n_cases,
            max: limits::CASES_MAX,
        });
    }
    let mut rng = StdRng::seed_from_u64(
        region.seed ^ (0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(u64::from(year) + 1)),
    );
    let growth = 1.03_f64.powi(year as i32);
    let mut cases = Vec::with_capacity(n_cases);
    for offset in 0..n_cases {
        let hospital_idx = region.hospital_volume.sample(&mut rng);
        let hospital = &region.hospitals[hospital_idx];
        let ungroupable =
            !codes.ungroupable_dx.is_empty() && rng.random_range(0..1_000_000) < UNGROUPABLE_PPM;
        let target = (!ungroupable).then(|| region.adrg_popularity.sample(&mut rng));
        let severity = match rng.random_range(0..100) {
            0..62 => Severity::None,
            62..88 => Severity::Cc,
            _ => Severity::Mcc,
        };
        let sex_rule = target.map_or(SexRule::Any, |idx| codes.adrgs[idx].sex);
        let sex = match sex_rule {
            SexRule::Male => 1,
            SexRule::Female => 2,
            SexRule::Any => rng.random_range(1..=2),
        };
        // Adults mostly, older people more often; a few children.
        let age_years: u32 = if rng.random_range(0..100) < 8 {
            rng.random_range(1..18)
        } else {
            rng.random_range(18..=95)
        };
        let age_days = age_years * 365 + rng.random_range(0..365);
        let mut diagnoses = Vec::with_capacity(5);
        let mut procedures = Vec::with_capacity(3);
        match target {
            Some(idx) => {
                let adrg = &codes.adrgs[idx];
                diagnoses.push(
                    adrg.principal_dx
                        .choose(&mut rng)
                        .expect("validated")
                        .clone(),
                );
                if let Some(main) = adrg.main_procedures.choose(&mut rng) {
                    procedures.push(main.clone());
                }
                if let Some(second) = adrg.second_procedures.choose(&mut rng) {
                    procedures.push(second.clone());
                }
                // Medical stays often have an imaging or test procedure; surgical ones sometimes.
                let extra_percent = if adrg.section == Section::Medical {
                    45
                } else {
                    20
                };
                if rng.random_range(0..100) < extra_percent {
                    if let Some(extra) = skewed(&mut rng, &codes.extra_procedures) {
                        procedures.push(extra.clone());
                    }
                }
            }
            None => diagnoses.push(
                codes
                    .ungroupable_dx
                    .choose(&mut rng)
                    .expect("checked non-empty")
                    .clone(),
            ),
        }
        match severity {
            Severity::None => {}
            Severity::Cc => diagnoses.push(codes.cc.choose(&mut rng).expect("validated").clone()),
            Severity::Mcc => diagnoses.push(codes.mcc.choose(&mut rng).expect("validated").clone()),
        }
        for _ in 0..rng.random_range(0..=3) {
            diagnoses.push(
                codes
                    .plain_secondary
                    .choose(&mut rng)
                    .expect("validated")
                    .clone(),
            );
        }
        let (log_cost, log_stay) = match target {
            Some(idx) => (region.adrg_log_cost[idx], region.adrg_log_stay[idx]),
            None => ((MEDIAN_COST_YUAN * 0.8).ln(), 7.0_f64.ln()),
        };
        let z_cost: f64 = rng.sample(StandardNormal);
        let z_other: f64 = rng.sample(StandardNormal);
        let z_stay = 0.7 * z_cost + 0.71 * z_other;
        let mut cost_yuan = (log_cost + 0.5 * z_cost).exp()
            * level_cost_factor(hospital.level)
            * severity_cost_factor(severity)
            * region.hospital_efficiency[hospital_idx]
            * growth;
        let severity_stay = match severity {
            Severity::None => 1.0,
            Severity::Cc => 1.2,
            Severity::Mcc => 1.5,
        };
        let mut stay_days = ((log_stay + 0.4 * z_stay).exp() * severity_stay)
            .round()
            .max(1.0);
        if rng.random_range(0..1_000_000) < SHORT_STAY_PPM {
            stay_days = f64::from(rng.random_range(1_u32..=2));
            cost_yuan *= 0.3;
        }
        let cost_fen =
            ((cost_yuan.max(50.0) * 100.0).round() as i64).min(limits::CASE_COST_FEN_MAX);
        cases.push(SynthCase {
            id: first_id + offset as u64,
            hospital: hospital_idx as u32,
            month: rng.random_range(1..=12),
            sex,
            age_years,
            age_days,
            diagnoses,
            procedures,
            cost_fen,
            insured_share_fen: insured_share_fen(cost_fen, hospital.level),
            stay_days: (stay_days as u32).min(limits::STAY_DAYS_MAX),
            target_adrg: target,
            severity,
        });
    }
    Ok(cases)
}

/// Picks from a list with a long tail toward its front (index = len × u³): a few codes of each
/// list are common and most are rare, as in real case mix, so that diagnosis × procedure
/// combinations repeat often enough to form DIP core groups.
fn skewed<'a>(rng: &mut StdRng, list: &'a [String]) -> Option<&'a String> {
    if list.is_empty() {
        return None;
    }
    let u: f64 = rng.random();
    list.get(((list.len() as f64) * u * u * u) as usize)
        .or(list.last())
}

/// The insured person's share of a stay: a deductible by level (200 / 500 / 800 yuan) plus a
/// co-payment of 15% / 22% / 30% of the rest, never more than the cost. Half-up to the fen.
pub fn insured_share_fen(cost_fen: i64, level: HospitalLevel) -> i64 {
    let (deductible_fen, copay_ppm) = match level {
        HospitalLevel::One => (20_000, 150_000),
        HospitalLevel::Two => (50_000, 220_000),
        HospitalLevel::Three => (80_000, 300_000),
    };
    if cost_fen <= deductible_fen {
        return cost_fen;
    }
    let copay = crate::exact::div_round_half_up(
        i128::from(cost_fen - deductible_fen) * copay_ppm,
        crate::exact::PPM,
    );
    deductible_fen + crate::exact::to_i64(copay, "co-payment")
}
