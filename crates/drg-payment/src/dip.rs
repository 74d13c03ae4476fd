//! DIP (按病种分值付费): a region's disease catalogue (病种目录库) built from its history, and each
//! case's score.
//!
//! A case's key is its principal diagnosis at 5 characters (`I21.0`) × its set of procedures
//! (order and repeats ignored). Keys with at least `core_min_cases` historical cases are core
//! groups (核心病种); the other cases merge into comprehensive groups (综合病种) by diagnosis
//! category (3 characters, `I21`) × treatment type (保守治疗 / 诊断性操作 / 治疗性操作 / 相关手术).
//! Score (病种分值) = group mean cost / overall mean cost × 1000.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::error::{config_error, PaymentError};
use crate::exact::{div_round_half_up, to_i64, POINT_E4, PPM};
use crate::limits;
use crate::model::{check_ppm, validate_cases, Hospital, HospitalLevel, InpatientCase};
use crate::weights::ExactMean;

/// Score of a group at the overall mean cost.
pub const SCORE_SCALE: i128 = 1000;

/// Treatment type of a case, from its procedures; the highest present wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TreatmentType {
    /// 保守治疗: no procedure.
    Conservative,
    /// 诊断性操作: only diagnostic procedures.
    Diagnostic,
    /// 治疗性操作: a therapeutic non-OR procedure.
    Therapeutic,
    /// 相关手术: an operating-room procedure.
    Surgical,
}

impl TreatmentType {
    /// A short English label.
    pub fn label(self) -> &'static str {
        match self {
            TreatmentType::Conservative => "conservative",
            TreatmentType::Diagnostic => "diagnostic",
            TreatmentType::Therapeutic => "therapeutic",
            TreatmentType::Surgical => "surgical",
        }
    }
}

/// Classifies procedures: codes in the OR-procedure list are surgical; ICD-9-CM-3 codes 87–91
/// (imaging, diagnostic radiology, interview and examination, laboratory) are diagnostic; every
/// other procedure is therapeutic.
#[derive(Debug, Clone, Default)]
pub struct ProcedureClassifier {
    /// Operating-room procedures (有效手术操作).
    pub or_procedures: HashSet<String>,
}

impl ProcedureClassifier {
    /// The treatment type one procedure stands for.
    pub fn classify(&self, code: &str) -> TreatmentType {
        if self.or_procedures.contains(code) {
            return TreatmentType::Surgical;
        }
        match code.get(..2).and_then(|head| head.parse::<u8>().ok()) {
            Some(87..=91) => TreatmentType::Diagnostic,
            _ => TreatmentType::Therapeutic,
        }
    }

    /// The treatment type of a case: the highest of its procedures', conservative if none.
    pub fn treatment_type(&self, procedures: &[String]) -> TreatmentType {
        procedures
            .iter()
            .map(|code| self.classify(code))
            .max()
            .unwrap_or(TreatmentType::Conservative)
    }
}

/// How a region builds and applies its DIP catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DipConfig {
    /// Cases a diagnosis × procedure combination needs to be a core group (default 15).
    pub core_min_cases: u32,
    /// Level coefficients (等级系数) in ppm, levels one, two, three.
    pub level_coefficient_ppm: [i64; 3],
    /// Diagnosis categories (3 characters) whose conservative groups are grassroots groups
    /// (基层病种): one score and coefficient 1 at every level.
    pub grassroots_categories: BTreeSet<String>,
    /// Cost above this multiple of the group's mean at the hospital's level is a high deviation
    /// case, ppm (default 2×).
    pub high_ratio_ppm: i64,
    /// Cost below this multiple is a low deviation case, ppm (default 0.5×).
    pub low_ratio_ppm: i64,
}

impl Default for DipConfig {
    fn default() -> Self {
        DipConfig {
            core_min_cases: 15,
            level_coefficient_ppm: [PPM as i64; 3],
            grassroots_categories: BTreeSet::new(),
            high_ratio_ppm: 2_000_000,
            low_ratio_ppm: 500_000,
        }
    }
}

/// Checks a DIP configuration.
pub fn validate_dip_config(config: &DipConfig) -> Result<(), PaymentError> {
    if config.core_min_cases == 0 {
        return Err(config_error("dip.core_min_cases", "must be at least 1"));
    }
    for (idx, coef) in config.level_coefficient_ppm.iter().enumerate() {
        check_ppm(
            &format!("dip.level_coefficients.level{}", idx + 1),
            *coef,
            1,
            limits::COEFFICIENT_PPM_MAX,
        )?;
    }
    check_ppm(
        "dip.high_ratio",
        config.high_ratio_ppm,
        PPM as i64,
        limits::COEFFICIENT_PPM_MAX,
    )?;
    check_ppm("dip.low_ratio", config.low_ratio_ppm, 0, PPM as i64)?;
    for category in &config.grassroots_categories {
        if category.chars().count() != 3 {
            return Err(config_error(
                "dip.grassroots_categories",
                format!("`{category}` is not 3 characters"),
            ));
        }
    }
    Ok(())
}

/// Core or comprehensive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DipGroupKind {
    /// 核心病种: an exact diagnosis × procedure-set combination.
    Core,
    /// 综合病种: a diagnosis category × treatment type.
    Comprehensive,
}

/// One group of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DipGroup {
    /// Readable id: `I21.0|36.0601+88.5500` (core) or `I21|surgical` (comprehensive).
    pub id: String,
    /// Core or comprehensive.
    pub kind: DipGroupKind,
    /// Diagnosis at 5 characters (core) or its 3-character category (comprehensive).
    pub diagnosis: String,
    /// The procedure set (core groups; empty for comprehensive ones).
    pub procedures: Vec<String>,
    /// Treatment type.
    pub treatment: TreatmentType,
    /// Whether it is a grassroots group (基层病种).
    pub grassroots: bool,
    /// Historical cases.
    pub n_cases: u64,
    /// Mean cost over all levels, fen.
    pub mean_cost: ExactMean,
    /// Mean cost at each level (None where the level had no case), fen.
    pub mean_cost_by_level: [Option<ExactMean>; 3],
    /// Score (病种分值) in 1/10000: mean cost / overall mean × 1000.
    pub score_e4: i64,
}

/// A region's DIP catalogue.
#[derive(Debug, Clone)]
pub struct DipCatalogue {
    /// Groups: core groups first (by id), then comprehensive groups (by id).
    pub groups: Vec<DipGroup>,
    /// Mean cost of all historical cases, fen.
    pub overall_mean_cost: ExactMean,
    core_index: HashMap<(String, Vec<String>), usize>,
    core_by_diagnosis: HashMap<String, Vec<usize>>,
    comprehensive_index: HashMap<(String, TreatmentType), usize>,
}

impl DipCatalogue {
    /// Number of core groups.
    pub fn n_core(&self) -> usize {
        self.groups
            .iter()
            .filter(|g| g.kind == DipGroupKind::Core)
            .count()
    }

    /// The group a case falls in, in this order:
    /// 1. the core group of its exact combination;
    /// 2. else the core group of the same diagnosis and treatment type whose (non-empty)
    ///    procedure set is contained in the case's, the one with the most procedures, then the
    ///    higher score, then the earlier group (an extra imaging code does not push a case out of
    ///    its core group); the choice never depends on the case's cost;
    /// 3. else the comprehensive group of its category × treatment type, if the catalogue has it.
    pub fn match_case(
        &self,
        principal_dx: &str,
        procedures: &[String],
        classifier: &ProcedureClassifier,
    ) -> Option<usize> {
        let key = case_key(principal_dx, procedures);
        if let Some(idx) = self.core_index.get(&key) {
            return Some(*idx);
        }
        let treatment = classifier.treatment_type(procedures);
        let contained = self
            .core_by_diagnosis
            .get(&key.0)
            .into_iter()
            .flatten()
            .copied()
            .filter(|idx| {
                let group = &self.groups[*idx];
                group.treatment == treatment
                    && !group.procedures.is_empty()
                    && group
                        .procedures
                        .iter()
                        .all(|p| key.1.binary_search(p).is_ok())
            })
            .max_by(|a, b| {
                let (ga, gb) = (&self.groups[*a], &self.groups[*b]);
                (ga.procedures.len(), ga.score_e4, std::cmp::Reverse(*a)).cmp(&(
                    gb.procedures.len(),
                    gb.score_e4,
                    std::cmp::Reverse(*b),
                ))
            });
        if contained.is_some() {
            return contained;
        }
        self.comprehensive_index
            .get(&(category(principal_dx), treatment))
            .copied()
    }
}

/// The diagnosis at 5 characters (`I21.0`): the sub-category level of ICD-10.
pub fn diagnosis_5(code: &str) -> String {
    code.chars().take(5).collect()
}

/// The diagnosis category at 3 characters (`I21`).
pub fn category(code: &str) -> String {
    code.chars().take(3).collect()
}

/// A case's key: diagnosis at 5 characters and its sorted, de-duplicated procedure set.
pub fn case_key(principal_dx: &str, procedures: &[String]) -> (String, Vec<String>) {
    let set: BTreeSet<&String> = procedures.iter().collect();
    (
        diagnosis_5(principal_dx),
        set.into_iter().cloned().collect(),
    )
}

#[derive(Default)]
struct Tally {
    sum: i64,
    count: u64,
    by_level: [(i64, u64); 3],
}

impl Tally {
    fn add(&mut self, cost_fen: i64, level: HospitalLevel) {
        self.sum += cost_fen;
        self.count += 1;
        self.by_level[level.idx()].0 += cost_fen;
        self.by_level[level.idx()].1 += 1;
    }
}

/// Builds a region's catalogue from its historical cases.
pub fn build_dip_catalogue(
    history: &[InpatientCase],
    hospitals: &[Hospital],
    classifier: &ProcedureClassifier,
    config: &DipConfig,
) -> Result<DipCatalogue, PaymentError> {
    validate_cases(history, hospitals)?;
    validate_dip_config(config)?;
    let overall_sum: i64 = history.iter().map(|c| c.cost_fen).sum();
    if history.is_empty() || overall_sum <= 0 {
        return Err(PaymentError::EmptyHistory);
    }
    let overall = ExactMean {
        sum: overall_sum,
        count: history.len() as u64,
    };
    let mut by_key: BTreeMap<(String, Vec<String>), Vec<usize>> = BTreeMap::new();
    for (idx, case) in history.iter().enumerate() {
        by_key
            .entry(case_key(&case.principal_dx, &case.procedures))
            .or_default()
            .push(idx);
    }
    let mut core: BTreeMap<(String, Vec<String>), Tally> = BTreeMap::new();
    let mut comprehensive: BTreeMap<(String, TreatmentType), Tally> = BTreeMap::new();
    for (key, members) in by_key {
        let is_core = members.len() as u64 >= u64::from(config.core_min_cases);
        for idx in members {
            let case = &history[idx];
            let level = hospitals[case.hospital as usize].level;
            if is_core {
                core.entry(key.clone())
                    .or_default()
                    .add(case.cost_fen, level);
            } else {
                let merged = (
                    category(&case.principal_dx),
                    classifier.treatment_type(&case.procedures),
                );
                comprehensive
                    .entry(merged)
                    .or_default()
                    .add(case.cost_fen, level);
            }
        }
    }
    let mut groups = Vec::with_capacity(core.len() + comprehensive.len());
    let mut core_index = HashMap::with_capacity(core.len());
    let mut comprehensive_index = HashMap::with_capacity(comprehensive.len());
    for ((diagnosis, procedures), tally) in core {
        let treatment = classifier.treatment_type(&procedures);
        let id = format!("{diagnosis}|{}", procedures.join("+"));
        let grassroots = treatment == TreatmentType::Conservative
            && config.grassroots_categories.contains(&category(&diagnosis));
        core_index.insert((diagnosis.clone(), procedures.clone()), groups.len());
        groups.push(group(
            id,
            DipGroupKind::Core,
            diagnosis,
            procedures,
            treatment,
            grassroots,
            &tally,
            &overall,
        ));
    }
    for ((diagnosis, treatment), tally) in comprehensive {
        let id = format!("{diagnosis}|{}", treatment.label());
        let grassroots = treatment == TreatmentType::Conservative
            && config.grassroots_categories.contains(&diagnosis);
        comprehensive_index.insert((diagnosis.clone(), treatment), groups.len());
        groups.push(group(
            id,
            DipGroupKind::Comprehensive,
            diagnosis,
            Vec::new(),
            treatment,
            grassroots,
            &tally,
            &overall,
        ));
    }
    let mut core_by_diagnosis: HashMap<String, Vec<usize>> = HashMap::new();
    for ((diagnosis, _), idx) in &core_index {
        core_by_diagnosis
            .entry(diagnosis.clone())
            .or_default()
            .push(*idx);
    }
    Ok(DipCatalogue {
        groups,
        overall_mean_cost: overall,
        core_index,
        core_by_diagnosis,
        comprehensive_index,
    })
}

#[allow(clippy::too_many_arguments)]
fn group(
    id: String,
    kind: DipGroupKind,
    diagnosis: String,
    procedures: Vec<String>,
    treatment: TreatmentType,
    grassroots: bool,
    tally: &Tally,
    overall: &ExactMean,
) -> DipGroup {
    // score = (sum / count) / (overall sum / overall count) × 1000, in 1/10000.
    let score = div_round_half_up(
        i128::from(tally.sum) * i128::from(overall.count) * SCORE_SCALE * POINT_E4,
        i128::from(tally.count) * i128::from(overall.sum),
    );
    let mean_cost_by_level = tally
        .by_level
        .map(|(sum, count)| (count > 0 && sum > 0).then_some(ExactMean { sum, count }));
    DipGroup {
        id,
        kind,
        diagnosis,
        procedures,
        treatment,
        grassroots,
        n_cases: tally.count,
        mean_cost: ExactMean {
            sum: tally.sum,
            count: tally.count,
        },
        mean_cost_by_level,
        score_e4: to_i64(score, "score"),
    }
}

/// How a case's score was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DipCaseKind {
    /// The group's score.
    Normal,
    /// 高偏差: cost above the high multiple: [(cost / mean − high) + 1] × score.
    HighDeviation,
    /// 低偏差: cost below the low multiple: cost / mean × score.
    LowDeviation,
    /// No group in the catalogue: cost / overall mean × 1000, no coefficient.
    Unmatched,
}

impl DipCaseKind {
    /// Every kind, in report order.
    pub const ALL: [DipCaseKind; 4] = [
        DipCaseKind::Normal,
        DipCaseKind::HighDeviation,
        DipCaseKind::LowDeviation,
        DipCaseKind::Unmatched,
    ];

    /// A short English label.
    pub fn label(self) -> &'static str {
        match self {
            DipCaseKind::Normal => "normal",
            DipCaseKind::HighDeviation => "high_deviation",
            DipCaseKind::LowDeviation => "low_deviation",
            DipCaseKind::Unmatched => "unmatched",
        }
    }
}

/// One case's DIP result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DipCaseScore {
    /// The group (index into the catalogue's groups).
    pub group: Option<usize>,
    /// How the score was found.
    pub kind: DipCaseKind,
    /// Points paid in 1/10000: the case's score × the level coefficient, rounded once.
    pub points_e4: i64,
}

/// Scores one case of a hospital at `level`.
pub fn dip_case_score(
    case: &InpatientCase,
    level: HospitalLevel,
    catalogue: &DipCatalogue,
    classifier: &ProcedureClassifier,
    config: &DipConfig,
) -> DipCaseScore {
    let cost = i128::from(case.cost_fen);
    let Some(group_idx) = catalogue.match_case(&case.principal_dx, &case.procedures, classifier)
    else {
        let overall = &catalogue.overall_mean_cost;
        let points = div_round_half_up(
            cost * i128::from(overall.count) * SCORE_SCALE * POINT_E4,
            i128::from(overall.sum),
        );
        return DipCaseScore {
            group: None,
            kind: DipCaseKind::Unmatched,
            points_e4: to_i64(points, "points"),
        };
    };
    let group = &catalogue.groups[group_idx];
    // Deviation is judged against the group's mean at the hospital's level (all levels for a
    // grassroots group, or when the level had no case).
    let mean = if group.grassroots {
        None
    } else {
        group.mean_cost_by_level[level.idx()]
    }
    .unwrap_or(group.mean_cost);
    let coef = if group.grassroots {
        PPM
    } else {
        i128::from(config.level_coefficient_ppm[level.idx()])
    };
    let (sum, count) = (i128::from(mean.sum), i128::from(mean.count));
    let score = i128::from(group.score_e4);
    let cost_scaled = cost * count * PPM;
    let high = i128::from(config.high_ratio_ppm);
    let (kind, num, den) = if cost_scaled > high * sum {
        // score × (cost / mean − high + 1) × coef, over 10^6 × sum × 10^6.
        (
            DipCaseKind::HighDeviation,
            score * (cost_scaled - high * sum + PPM * sum) * coef,
            PPM * sum * PPM,
        )
    } else if cost_scaled < i128::from(config.low_ratio_ppm) * sum {
        (
            DipCaseKind::LowDeviation,
            score * cost * count * coef,
            sum * PPM,
        )
    } else {
        (DipCaseKind::Normal, score * coef, PPM)
    };
    DipCaseScore {
        group: Some(group_idx),
        kind,
        points_e4: to_i64(div_round_half_up(num, den), "points"),
    }
}

/// Every case's DIP score, in input order. Validates cases and configuration first.
pub fn dip_case_scores(
    cases: &[InpatientCase],
    hospitals: &[Hospital],
    catalogue: &DipCatalogue,
    classifier: &ProcedureClassifier,
    config: &DipConfig,
) -> Result<Vec<DipCaseScore>, PaymentError> {
    validate_cases(cases, hospitals)?;
    validate_dip_config(config)?;
    Ok(cases
        .iter()
        .map(|case| {
            dip_case_score(
                case,
                hospitals[case.hospital as usize].level,
                catalogue,
                classifier,
                config,
            )
        })
        .collect())
}
