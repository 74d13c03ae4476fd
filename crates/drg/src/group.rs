//! Grouping one case: validation, the MDC loop with its entry conditions, the ADRG loop with the
//! optional QY check, and the CC/MCC split with exclusion tables.

use std::fmt::Write as _;

use crate::codes::Facts;
use crate::predicate::{CaseView, EvalMode, Guard};
use crate::record::CaseRecord;
use crate::scheme::{AdrgIdx, DrgIdx, ExclusionTable, MdcIdx, Scheme};

/// Codes of one list looked up on the stack (the batched lookup's size); longer lists (rare) go
/// to the heap. Every case zeroes two arrays of this many slots, so it is kept small.
const CODES_INLINE_MAX: usize = 16;

/// The severity a case's secondary diagnoses give it (并发症或合并症).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum CcLevel {
    /// No secondary diagnosis counts (after exclusion).
    #[default]
    None,
    /// A complication or comorbidity (CC, 并发症或合并症).
    Cc,
    /// A major one (MCC, 严重并发症或合并症).
    Mcc,
}

impl CcLevel {
    /// `MCC`, `CC` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            CcLevel::None => "none",
            CcLevel::Cc => "CC",
            CcLevel::Mcc => "MCC",
        }
    }
}

/// When to apply the QY (歧义组) check that sits in each MDC after its procedure ADRGs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AmbiguousCheck {
    /// Never (the reference grouper: every chs_drg_11 check is written `if False and …`).
    #[default]
    Off,
    /// Where the scheme's `enabled` flag says so.
    AsScheme,
    /// In every MDC that has a check (as local variants like changzhou_2022 do).
    Always,
}

/// Grouping options. The defaults reproduce the reference grouper (OpenDRG chs_drg_11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// The QY check; default [`AmbiguousCheck::Off`].
    pub ambiguous_check: AmbiguousCheck,
    /// Surgical ADRGs (second letter A–J) test only the main procedure (`procedures[0]`);
    /// when false they accept a listed procedure in any position. Default true.
    pub surgical_main_procedure_only: bool,
    /// When no ADRG of an entered MDC matches, try the next MDC; when false the case is
    /// ungroupable in that MDC. Default true.
    pub mdc_fall_through: bool,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            ambiguous_check: AmbiguousCheck::Off,
            surgical_main_procedure_only: true,
            mdc_fall_through: true,
        }
    }
}

/// Why a record failed validation, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidReason {
    /// Sex is missing or not 1/2.
    SexMissing,
    /// Age in years is missing.
    AgeYearsMissing,
    /// Age in years is 0 and age in days is missing.
    AgeDaysMissing,
    /// A newborn of 28 days or less without a birth weight.
    BirthWeightMissing,
    /// No diagnosis at all.
    NoDiagnosis,
}

impl InvalidReason {
    /// A short English explanation.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::SexMissing => "sex missing or not 1/2",
            InvalidReason::AgeYearsMissing => "age_years missing",
            InvalidReason::AgeDaysMissing => "age_years is 0 and age_days is missing",
            InvalidReason::BirthWeightMissing => {
                "age_years is 0, age_days <= 28 and birth_weight_g is missing"
            }
            InvalidReason::NoDiagnosis => "no diagnosis",
        }
    }
}

/// The outcome of grouping one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupStatus {
    /// 分组成功: a DRG was found.
    Grouped,
    /// 无法入组: no MDC/ADRG takes the case.
    Ungroupable,
    /// 歧义病案: the QY check fired (only with [`GroupConfig::ambiguous_check`] on).
    Ambiguous,
    /// 信息校验不通过: the record failed validation.
    Invalid(InvalidReason),
}

impl GroupStatus {
    /// The reference grouper's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Grouped => "分组成功",
            GroupStatus::Ungroupable => "无法入组",
            GroupStatus::Ambiguous => "歧义病案",
            GroupStatus::Invalid(_) => "信息校验不通过",
        }
    }
}

/// The secondary diagnosis that set the CC level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CcSource {
    /// Its position in `diagnoses` (≥ 1).
    pub diagnosis_idx: usize,
    /// MCC or CC.
    pub level: CcLevel,
}

/// A secondary MCC/CC that the principal diagnosis's exclusion table removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CcExclusion {
    /// Its position in `diagnoses` (≥ 1).
    pub diagnosis_idx: usize,
    /// The level it would have given.
    pub level: CcLevel,
    /// The exclusion table shared by it and the principal diagnosis.
    pub table: ExclusionTable,
}

/// How the grouper reached its result. Rules are referred to by index; [`Scheme::mdc`] and
/// [`Scheme::adrg`] give their text. Building a trace never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Trace {
    mdcs_entered: u64,
    /// The secondary diagnosis that set the CC level (the first one of the highest level).
    pub cc_source: Option<CcSource>,
    /// The first secondary MCC/CC removed by the exclusion table.
    pub cc_excluded: Option<CcExclusion>,
    /// How many secondary MCC/CCs the exclusion table removed.
    pub n_cc_excluded: u32,
}

impl Trace {
    /// The MDCs whose entry condition held, in evaluation order (the last one decided; earlier
    /// ones had no matching ADRG and the case fell through).
    pub fn mdcs_entered(&self) -> impl Iterator<Item = MdcIdx> + '_ {
        (0..64u8)
            .filter(|bit| self.mdcs_entered & (1u64 << bit) != 0)
            .map(MdcIdx)
    }
}

/// The grouper's answer for one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupResult {
    /// Grouped, ungroupable, ambiguous or invalid (with the reason).
    pub status: GroupStatus,
    /// The MDC that decided (set when grouped or ambiguous, or when ungroupable without
    /// fall-through).
    pub mdc: Option<MdcIdx>,
    /// The ADRG matched.
    pub adrg: Option<AdrgIdx>,
    /// The DRG chosen.
    pub drg: Option<DrgIdx>,
    /// The case's CC level from its secondary diagnoses after exclusion (`None` if invalid).
    pub cc_level: CcLevel,
    /// How the result was reached.
    pub trace: Trace,
}

/// The reference grouper's code for "no MDC" / "no DRG".
const NO_MDC: &str = "0000";
/// The reference grouper's code for "no ADRG".
const NO_ADRG: &str = "00";
/// The ADRG code of an ambiguous (QY) result.
const AMBIGUOUS_ADRG: &str = "QY";

impl GroupResult {
    fn without_group(status: GroupStatus) -> GroupResult {
        GroupResult {
            status,
            mdc: None,
            adrg: None,
            drg: None,
            cc_level: CcLevel::None,
            trace: Trace::default(),
        }
    }

    /// `MDCx`, or `0000` when no MDC decided.
    pub fn mdc_code<'s>(&self, scheme: &'s Scheme) -> &'s str {
        match (self.status, self.mdc) {
            (GroupStatus::Grouped | GroupStatus::Ambiguous, Some(mdc)) => &scheme.mdc(mdc).code,
            (GroupStatus::Ungroupable, Some(mdc)) => &scheme.mdc(mdc).code,
            _ => NO_MDC,
        }
    }

    /// The ADRG code; `00` when none, `QY` when ambiguous.
    pub fn adrg_code<'s>(&self, scheme: &'s Scheme) -> &'s str {
        match (self.status, self.adrg) {
            (GroupStatus::Ambiguous, _) => AMBIGUOUS_ADRG,
            (_, Some(adrg)) => &scheme.adrg(adrg).code,
            (_, None) => NO_ADRG,
        }
    }

    /// The DRG code; `0000` when none, the MDC's QY code (`AQY` …) when ambiguous.
    pub fn drg_code<'s>(&self, scheme: &'s Scheme) -> &'s str {
        match (self.status, self.mdc, self.drg) {
            (GroupStatus::Ambiguous, Some(mdc), _) => scheme
                .mdc(mdc)
                .ambiguous_result_code
                .as_deref()
                .unwrap_or(NO_MDC),
            (_, _, Some(drg)) => &scheme.drg(drg).code,
            _ => NO_MDC,
        }
    }

    /// A readable account of the grouping for people (the trace written out).
    pub fn explain(&self, scheme: &Scheme, record: &CaseRecord) -> String {
        let mut text = String::new();
        if let GroupStatus::Invalid(reason) = self.status {
            let _ = write!(text, "invalid record: {}", reason.as_str());
            return text;
        }
        for mdc in self.trace.mdcs_entered() {
            let info = scheme.mdc(mdc);
            let _ = write!(text, "entered {} by {}; ", info.code, info.entry_condition);
        }
        match (self.status, self.adrg) {
            (GroupStatus::Grouped, Some(adrg)) => {
                let info = scheme.adrg(adrg);
                let _ = write!(
                    text,
                    "ADRG {} by {} ({}); ",
                    info.code, info.condition, info.rule_text
                );
            }
            (GroupStatus::Ambiguous, _) => text.push_str("QY check fired; "),
            _ => text.push_str("no ADRG matched; "),
        }
        let code_at = |idx: usize| record.diagnoses.get(idx).map(String::as_str).unwrap_or("?");
        match self.trace.cc_source {
            Some(source) => {
                let _ = write!(
                    text,
                    "{} from diagnosis {} ({})",
                    source.level.as_str(),
                    source.diagnosis_idx,
                    code_at(source.diagnosis_idx)
                );
            }
            None => text.push_str("no CC/MCC"),
        }
        if let Some(excluded) = self.trace.cc_excluded {
            let _ = write!(
                text,
                "; {} {} ({}) excluded by table {}",
                excluded.level.as_str(),
                excluded.diagnosis_idx,
                code_at(excluded.diagnosis_idx),
                scheme.exclusion_table_name(excluded.table)
            );
            if self.trace.n_cc_excluded > 1 {
                let _ = write!(text, " and {} more", self.trace.n_cc_excluded - 1);
            }
        }
        text
    }
}

/// The validation step of the reference grouper.
pub fn validate(record: &CaseRecord) -> Result<(), InvalidReason> {
    if record.sex.is_none() {
        return Err(InvalidReason::SexMissing);
    }
    let Some(age_years) = record.age_years else {
        return Err(InvalidReason::AgeYearsMissing);
    };
    if age_years == 0 {
        let Some(age_days) = record.age_days else {
            return Err(InvalidReason::AgeDaysMissing);
        };
        if age_days <= 28 && record.birth_weight_g.is_none() {
            return Err(InvalidReason::BirthWeightMissing);
        }
    }
    if record.diagnoses.is_empty() {
        return Err(InvalidReason::NoDiagnosis);
    }
    Ok(())
}

/// Groups one case with the scheme. Never fails: bad records get [`GroupStatus::Invalid`].
pub fn group(record: &CaseRecord, scheme: &Scheme, config: &GroupConfig) -> GroupResult {
    if let Err(reason) = validate(record) {
        return GroupResult::without_group(GroupStatus::Invalid(reason));
    }
    let mut dx_inline = [Facts::UNKNOWN; CODES_INLINE_MAX];
    let mut px_inline = [Facts::UNKNOWN; CODES_INLINE_MAX];
    let dx_heap: Vec<Facts<'_>>;
    let px_heap: Vec<Facts<'_>>;
    let dx: &[Facts<'_>] = if record.diagnoses.len() <= CODES_INLINE_MAX {
        let dx = &mut dx_inline[..record.diagnoses.len()];
        scheme.dx.get_all(&record.diagnoses, dx);
        dx
    } else {
        dx_heap = record
            .diagnoses
            .iter()
            .map(|code| scheme.dx.get(code))
            .collect();
        &dx_heap
    };
    let px: &[Facts<'_>] = if record.procedures.len() <= CODES_INLINE_MAX {
        let px = &mut px_inline[..record.procedures.len()];
        scheme.px.get_all(&record.procedures, px);
        px
    } else {
        px_heap = record
            .procedures
            .iter()
            .map(|code| scheme.px.get(code))
            .collect();
        &px_heap
    };
    let view = CaseView {
        dx,
        px,
        sex: record.sex.map(|sex| sex.code()),
        age_years: record.age_years,
        age_days: record.age_days,
        birth_weight_g: record.birth_weight_g,
    };
    group_view(&view, scheme, config)
}

/// The CC level of a case, which secondary set it, and which the exclusion table removed.
fn cc_of(dx: &[Facts<'_>]) -> (CcLevel, Trace) {
    let mut trace = Trace::default();
    let mut level = CcLevel::None;
    let principal_table = dx[0].info.principal_table;
    for (diagnosis_idx, code) in dx.iter().enumerate().skip(1) {
        let info = code.info;
        if info.cc_level == CcLevel::None {
            continue;
        }
        if principal_table != 0 && info.cc_table == principal_table {
            trace.n_cc_excluded += 1;
            if trace.cc_excluded.is_none() {
                trace.cc_excluded = Some(CcExclusion {
                    diagnosis_idx,
                    level: info.cc_level,
                    table: ExclusionTable(principal_table),
                });
            }
            continue;
        }
        if info.cc_level > level {
            level = info.cc_level;
            trace.cc_source = Some(CcSource {
                diagnosis_idx,
                level,
            });
        }
    }
    (level, trace)
}

fn group_view(view: &CaseView<'_>, scheme: &Scheme, config: &GroupConfig) -> GroupResult {
    debug_assert!(
        !view.dx.is_empty(),
        "validation guarantees a principal diagnosis"
    );
    let (cc_level, mut trace) = cc_of(view.dx);
    let plain = EvalMode {
        main_procedure_any_position: false,
    };
    let surgical_mode = EvalMode {
        main_procedure_any_position: !config.surgical_main_procedure_only,
    };
    let result = |status, mdc, adrg, drg, trace| GroupResult {
        status,
        mdc,
        adrg,
        drg,
        cc_level,
        trace,
    };
    let principal_mdcs = scheme.principal_guard_mask(&view.dx[0]);
    for (mdc_pos, rule) in scheme.mdc_rules.iter().enumerate() {
        let admitted = match rule.entry_guard {
            Guard::PrincipalDxIn(_) => principal_mdcs & (1 << mdc_pos) != 0,
            guard => guard.admits(view, plain),
        };
        if !admitted || !rule.entry.eval(view, plain) {
            continue;
        }
        let mdc = MdcIdx(mdc_pos as u8);
        trace.mdcs_entered |= 1u64 << mdc_pos;
        let qy = rule.qy.as_ref().filter(|qy| match config.ambiguous_check {
            AmbiguousCheck::Off => false,
            AmbiguousCheck::AsScheme => qy.enabled_in_scheme,
            AmbiguousCheck::Always => true,
        });
        for slot in 0..=rule.adrgs.len() {
            if let Some(qy) = qy {
                if qy.slot == slot && qy.condition.eval(view, plain) {
                    return result(GroupStatus::Ambiguous, Some(mdc), None, None, trace);
                }
            }
            let Some(&adrg) = rule.adrgs.get(slot) else {
                break;
            };
            let adrg_rule = &scheme.adrg_rules[adrg.index()];
            let mode = if adrg_rule.surgical {
                surgical_mode
            } else {
                plain
            };
            if adrg_rule.guard.admits(view, mode) && adrg_rule.condition.eval(view, mode) {
                let drg = adrg_rule
                    .drgs
                    .iter()
                    .find(|(_, split)| split.holds(cc_level))
                    .map(|(drg, _)| *drg);
                // The scheme loader checks that every ADRG ends with an `always` split.
                assert!(drg.is_some(), "ADRG without a final `always` DRG");
                return result(GroupStatus::Grouped, Some(mdc), Some(adrg), drg, trace);
            }
        }
        if !config.mdc_fall_through {
            return result(GroupStatus::Ungroupable, Some(mdc), None, None, trace);
        }
    }
    result(GroupStatus::Ungroupable, None, None, None, trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_case_json, SchemeFiles};

    /// A guard turns a rule down only when the rule itself is false. Checked for every MDC
    /// entry and ADRG condition, in both procedure modes, on every reference case and on each
    /// case with every one of its diagnoses and procedures moved to the front.
    #[test]
    fn guards_never_turn_down_a_rule_that_holds() {
        let scheme = Scheme::load(&SchemeFiles::CARRIED).unwrap();
        let modes = [false, true].map(|any| EvalMode {
            main_procedure_any_position: any,
        });
        let (mut turned_down, mut held) = (0u64, 0u64);
        let mut check = |record: &CaseRecord| {
            if record.diagnoses.is_empty() {
                return;
            }
            let dx: Vec<Facts<'_>> = record.diagnoses.iter().map(|c| scheme.dx.get(c)).collect();
            let px: Vec<Facts<'_>> = record.procedures.iter().map(|c| scheme.px.get(c)).collect();
            let view = CaseView {
                dx: &dx,
                px: &px,
                sex: record.sex.map(|sex| sex.code()),
                age_years: record.age_years,
                age_days: record.age_days,
                birth_weight_g: record.birth_weight_g,
            };
            let principal_mdcs = scheme.principal_guard_mask(&dx[0]);
            for (mdc_pos, rule) in scheme.mdc_rules.iter().enumerate() {
                if let Guard::PrincipalDxIn(_) = rule.entry_guard {
                    assert_eq!(
                        principal_mdcs & (1 << mdc_pos) != 0,
                        rule.entry_guard.admits(&view, modes[0]),
                        "MDC mask at {mdc_pos}: {record:?}"
                    );
                }
            }
            let rules = scheme
                .mdc_rules
                .iter()
                .map(|rule| (rule.entry_guard, &rule.entry))
                .chain(
                    scheme
                        .adrg_rules
                        .iter()
                        .map(|rule| (rule.guard, &rule.condition)),
                );
            for (guard, pred) in rules {
                for mode in modes {
                    let holds = pred.eval(&view, mode);
                    held += u64::from(holds);
                    if !guard.admits(&view, mode) {
                        turned_down += 1;
                        assert!(
                            !holds,
                            "{guard:?} turned down a rule that holds: {record:?}"
                        );
                    }
                }
            }
        };
        let testcases = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/chs-drg-1.1/testcases.jsonl"
        ));
        for line in testcases.lines() {
            let record = parse_case_json(line).unwrap().record;
            check(&record);
            for front in 1..record.diagnoses.len() {
                let mut moved = record.clone();
                moved.diagnoses.swap(0, front);
                check(&moved);
            }
            for front in 1..record.procedures.len() {
                let mut moved = record.clone();
                moved.procedures.swap(0, front);
                check(&moved);
            }
        }
        assert!(
            turned_down > 1_000_000 && held > 10_000,
            "{turned_down} {held}"
        );
    }
}
