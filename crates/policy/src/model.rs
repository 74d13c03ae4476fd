//! The validated policy: what the settlement engine reads. Built only by [`crate::parse_policy`],
//! so every value here has already been checked (ratios in range, bands ordered, caps set).

use yibao_core_types::{
    Admdvs, Fen, FundPayType, HiSetlLv, Insutype, MedType, NaiveDate, PsnType, Ratio, SpPsnType,
};

/// One region's benefit rules for one period (usually a calendar year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Stable id, `<admdvs>-<year>` (`140500-2025`).
    pub id: String,
    /// The pooling region (统筹区) this policy applies to.
    pub admdvs: Admdvs,
    /// The calendar year of the accumulators this policy's caps count against.
    pub year: i32,
    /// A human title.
    pub title: String,
    /// First day the policy applies.
    pub effective_from: NaiveDate,
    /// Last day the policy applies (inclusive).
    pub effective_until: NaiveDate,
    /// The cross-region (异地就医) adjustment of the basic fund's ratio.
    pub cross_region: CrossRegionRule,
    /// One scheme per insurance type.
    pub schemes: Vec<Scheme>,
}

impl Policy {
    /// The scheme for an insurance type, if the policy covers it.
    pub fn scheme(&self, insutype: Insutype) -> Option<&Scheme> {
        self.schemes
            .iter()
            .find(|scheme| scheme.insutype == insutype)
    }

    /// True when `date` lies within the effective dates.
    pub fn is_effective_on(&self, date: NaiveDate) -> bool {
        self.effective_from <= date && date <= self.effective_until
    }
}

/// How a visit outside the pooling region changes the basic fund's ratio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossRegionRule {
    /// Points added to the basic ratio for an unfiled visit (negative: `-0.20`).
    pub unfiled_points: Ratio,
    /// Whether an emergency visit counts as filed.
    pub emergency_counts_as_filed: bool,
}

/// The benefits of one insurance type (`310` employees, `390` residents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// The insurance type.
    pub insutype: Insutype,
    /// The basic pooling fund's code (`310100`, `390100`).
    pub pooling_fund: FundPayType,
    /// Basic fund, inpatient (per-admission deductible).
    pub inpatient: Option<InpatientBenefit>,
    /// Basic fund, outpatient pooling benefits (annual deductible), in order of precedence.
    pub outpatient: Vec<OutpatientBenefit>,
    /// Basic fund, chronic/special outpatient (per-disease quotas).
    pub chronic: Option<ChronicBenefit>,
    /// Employees' large-amount fund.
    pub large_amount: Option<LargeAmountLayer>,
    /// Residents' serious-illness insurance.
    pub serious_illness: Option<SeriousIllnessLayer>,
    /// Medical assistance.
    pub assistance: Option<AssistanceLayer>,
    /// Further layers (civil-servant subsidy, enterprise supplementary, commercial).
    pub extra_layers: Vec<ExtraLayer>,
    /// The personal account, when the scheme has one.
    pub personal_account: Option<PersonalAccountRule>,
}

/// A ratio table: rows by person type with a ratio per level, then adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioTable {
    /// Rows in order; the first row whose person types match decides.
    pub rows: Vec<RatioRow>,
    /// Adjustments added to the row's ratio for matching person types.
    pub adjustments: Vec<RatioAdjustment>,
}

/// One row of a ratio table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioRow {
    /// `psn_type` prefixes the row applies to (`"12"` = retired); empty = everyone.
    pub psn_types: Vec<String>,
    /// The ratio per level (index 0 = level 1); `None` = no pooling at that level.
    pub by_level: [Option<Ratio>; 3],
}

/// Points added to a table's ratio for some person types (minors +10 points, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioAdjustment {
    /// `psn_type` prefixes the adjustment applies to.
    pub psn_types: Vec<String>,
    /// Points added (may be negative).
    pub points: Ratio,
}

/// Where a ratio came from, for the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatioLookup {
    /// The ratio from the table row, before adjustments.
    pub table_ratio: Ratio,
    /// Index of the row that matched.
    pub row_idx: usize,
    /// Sum of the person-type adjustments that applied.
    pub adjustment_points: Ratio,
}

/// True when `psn_type` starts with one of `prefixes`, or `prefixes` is empty.
pub fn psn_type_matches(prefixes: &[String], psn_type: PsnType) -> bool {
    prefixes.is_empty() || prefixes.iter().any(|prefix| psn_type.has_prefix(prefix))
}

/// Index 0..3 of a level.
pub fn level_idx(level: HiSetlLv) -> usize {
    match level {
        HiSetlLv::Level1 => 0,
        HiSetlLv::Level2 => 1,
        HiSetlLv::Level3 => 2,
    }
}

impl RatioTable {
    /// The ratio for a level and person type: the first matching row that has the level, plus
    /// every matching adjustment. `None` when no row covers the level (no pooling).
    pub fn lookup(&self, level: HiSetlLv, psn_type: PsnType) -> Option<RatioLookup> {
        let (row_idx, table_ratio) = self.rows.iter().enumerate().find_map(|(row_idx, row)| {
            if psn_type_matches(&row.psn_types, psn_type) {
                row.by_level[level_idx(level)].map(|ratio| (row_idx, ratio))
            } else {
                None
            }
        })?;
        let adjustment_points = self
            .adjustments
            .iter()
            .filter(|adjustment| psn_type_matches(&adjustment.psn_types, psn_type))
            .fold(Ratio::ZERO, |sum, adjustment| sum + adjustment.points);
        Some(RatioLookup {
            table_ratio,
            row_idx,
            adjustment_points,
        })
    }
}

/// Basic fund, inpatient bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InpatientBenefit {
    /// The `med_type`s this benefit covers (21, 22, 24); each counts as an admission.
    pub med_types: Vec<MedType>,
    /// Deductible per admission by level (index 0 = level 1).
    pub deductible_per_admission: [Fen; 3],
    /// Factor on the deductible for the second and later admissions of the year.
    pub repeat_admission_factor: Ratio,
    /// Annual cap on the basic fund's inpatient payments.
    pub annual_cap: Fen,
    /// Ratios.
    pub ratios: RatioTable,
}

/// Basic fund, outpatient pooling (门诊统筹) with an annual deductible and cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutpatientBenefit {
    /// The `med_type`s this benefit covers.
    pub med_types: Vec<MedType>,
    /// Annual deductible.
    pub annual_deductible: Fen,
    /// Annual cap.
    pub annual_cap: Fen,
    /// `None`: the standard accumulators `hifp_outpatient` and `outpatient_deductible`.
    /// `Some(name)`: the policy-named accumulators `name` (paid) and `name.deductible`.
    pub accumulator: Option<String>,
    /// Ratios.
    pub ratios: RatioTable,
}

/// Basic fund, chronic/special outpatient (门诊慢特病): no deductible, per-disease quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicBenefit {
    /// The `med_type`s this benefit covers (14).
    pub med_types: Vec<MedType>,
    /// How many leading characters of `dise_codg` identify the disease (3: `I10`).
    pub disease_prefix_len: usize,
    /// Annual quota per disease key; a disease without a quota gets no pooling.
    pub quotas: Vec<(String, Fen)>,
    /// Ratios.
    pub ratios: RatioTable,
}

impl ChronicBenefit {
    /// The disease key of a `dise_codg` (its first `disease_prefix_len` characters).
    pub fn disease_key<'a>(&self, dise_codg: &'a str) -> &'a str {
        match dise_codg.char_indices().nth(self.disease_prefix_len) {
            Some((end, _)) => &dise_codg[..end],
            None => dise_codg,
        }
    }

    /// The annual quota of a disease key.
    pub fn quota(&self, disease_key: &str) -> Option<Fen> {
        self.quotas
            .iter()
            .find(|(key, _)| key == disease_key)
            .map(|&(_, quota)| quota)
    }
}

/// Employees' large-amount fund: pays on what the basic fund's cap cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeAmountLayer {
    /// Fund code (330100).
    pub fund: FundPayType,
    /// Bills it applies to; empty = every bill whose basic payment was capped.
    pub med_types: Vec<MedType>,
    /// Ratio.
    pub ratio: Ratio,
    /// Annual cap.
    pub annual_cap: Fen,
}

/// Residents' serious-illness insurance: bands over an annual threshold on accumulated base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriousIllnessLayer {
    /// Fund code (390200).
    pub fund: FundPayType,
    /// Bills it applies to.
    pub med_types: Vec<MedType>,
    /// Rules in order; the first whose conditions the person and bill meet applies.
    pub rules: Vec<SeriousIllnessRule>,
}

/// One serious-illness rule: who it is for, threshold, bands, cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriousIllnessRule {
    /// Identity categories any of which selects this rule; empty = no condition.
    pub sp_psn_types: Vec<SpPsnType>,
    /// `dise_codg` prefixes any of which selects this rule; empty = no condition.
    pub disease_prefixes: Vec<String>,
    /// Annual threshold on the accumulated base.
    pub threshold: Fen,
    /// Bands over the threshold, in order; only the last may be unbounded.
    pub bands: Vec<Band>,
    /// Annual cap; `None` = no cap.
    pub annual_cap: Option<Fen>,
}

/// A band of a banded ratio: `width` yuan (the last may be unbounded) at `ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// Width of the band; `None` = unbounded (last band only).
    pub width: Option<Fen>,
    /// Ratio inside the band.
    pub ratio: Ratio,
}

/// Medical assistance for identity categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistanceLayer {
    /// Fund code (610100).
    pub fund: FundPayType,
    /// Bills it applies to.
    pub med_types: Vec<MedType>,
    /// Categories; the person's most favourable (highest ratio, then first listed) applies.
    pub categories: Vec<AssistanceCategory>,
}

/// The assistance terms of one identity category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistanceCategory {
    /// The identity category.
    pub sp_psn_type: SpPsnType,
    /// Ratio.
    pub ratio: Ratio,
    /// Annual deductible.
    pub annual_deductible: Fen,
    /// Annual cap; `None` = no cap.
    pub annual_cap: Option<Fen>,
}

/// What an extra layer's base is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraBase {
    /// The policy-range amount the funds before it left: `inscp_scp_amt − funds so far`.
    PolicyRange,
    /// Also the pre-self-pay and over-cap amounts (commercial inclusive insurance):
    /// `inscp_scp_amt + preselfpay_amt + overlmt_selfpay − funds so far`.
    WithSelfpay,
}

/// A further layer of the usual shape (civil servant 320100 → `cvlserv_pay`, enterprise
/// supplementary 370100 → `hifes_pay`, any other code → `oth_pay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLayer {
    /// Fund code.
    pub fund: FundPayType,
    /// A name for the trace.
    pub name: String,
    /// Bills it applies to; empty = every bill.
    pub med_types: Vec<MedType>,
    /// `psn_type` prefixes it applies to; empty = everyone.
    pub psn_types: Vec<String>,
    /// The base.
    pub base: ExtraBase,
    /// Annual deductible (accumulated under `<fund>.deductible`).
    pub annual_deductible: Fen,
    /// Ratio.
    pub ratio: Ratio,
    /// Annual cap (accumulated under `<fund>`); `None` = no cap.
    pub annual_cap: Option<Fen>,
}

/// The personal account rules of a scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccountRule {
    /// Whether bound family accounts may pay (共济, `acct_used_flag` 2).
    pub mutual_aid: bool,
}
