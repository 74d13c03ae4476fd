//! The validated policy: what the settlement engine reads. Built only by [`crate::parse_policy`],
//! so every value here has already been checked (ratios in range, bands ordered, caps set).

use yibao_core_types::{
    Admdvs, Fen, FundPayType, HiSetlLv, Insutype, ListType, MedType, NaiveDate, PsnType, Ratio,
    SpPsnType,
};

/// One region's benefit rules for one insurance year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Stable id, `<admdvs>-<year>` (`140500-2025`).
    pub id: String,
    /// The pooling region (统筹区) this policy applies to.
    pub admdvs: Admdvs,
    /// The insurance year's label: the calendar year of `effective_from`. Accumulators (caps,
    /// deductibles, counts) are kept per label, so an insurance year that starts in July counts
    /// across the calendar year end.
    pub year: i32,
    /// A human title.
    pub title: String,
    /// First day the policy applies.
    pub effective_from: NaiveDate,
    /// Last day the policy applies (inclusive; at most one year after `effective_from`).
    pub effective_until: NaiveDate,
    /// The cross-region (异地就医) rules.
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

/// The kind of a cross-region filing (异地就医备案).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingKind {
    /// 异地长期居住 (settled elsewhere, retired elsewhere, posted elsewhere).
    LongTerm,
    /// 临时外出就医 (referral, temporary trip).
    Temporary,
    /// A filing whose kind the caller did not state.
    Unspecified,
}

impl FilingKind {
    /// The policy-file name (`long_term`, `temporary`, `unspecified`).
    pub fn code(self) -> &'static str {
        match self {
            FilingKind::LongTerm => "long_term",
            FilingKind::Temporary => "temporary",
            FilingKind::Unspecified => "unspecified",
        }
    }

    /// Chinese name for the trace.
    pub fn name_zh(self) -> &'static str {
        match self {
            FilingKind::LongTerm => "异地长期居住备案",
            FilingKind::Temporary => "临时外出就医备案",
            FilingKind::Unspecified => "已备案",
        }
    }
}

/// Which cross-region visits a rule is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossScope {
    /// Inside the province (the first two digits of `admdvs` agree).
    InProvince,
    /// Outside the province.
    OutOfProvince,
    /// Either.
    Any,
}

/// A cross-region rule: for a filing kind (or no filing) and a scope, points on the basic
/// fund's ratio and a factor on its deductible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossRegionFilingRule {
    /// `None` = unfiled visits; `Some(kind)` = visits filed as `kind`.
    pub filing: Option<FilingKind>,
    /// In or out of province.
    pub scope: CrossScope,
    /// Points added to the basic fund's ratio (negative: a reduction).
    pub points: Ratio,
    /// Factor on the basic benefit's deductible (`1` = unchanged).
    pub deductible_factor: Ratio,
}

/// How a visit outside the pooling region changes the basic fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossRegionRule {
    /// Points added to the basic ratio for an unfiled visit when no rule of `rules` is for it.
    pub unfiled_points: Ratio,
    /// Whether an emergency visit counts as filed.
    pub emergency_counts_as_filed: bool,
    /// The filing kind an emergency counts as (Shandong: 临时外出就医).
    pub emergency_filing: FilingKind,
    /// Rules by filing kind and scope, first match wins.
    pub rules: Vec<CrossRegionFilingRule>,
}

/// A cap shared by several funds (基本 + 大额 合计 …), accumulated under `shared.<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCap {
    /// A name of the policy's own.
    pub name: String,
    /// The funds whose payments count against it.
    pub funds: Vec<FundPayType>,
    /// The cap.
    pub annual_cap: Fen,
}

impl SharedCap {
    /// The accumulator key.
    pub fn key(&self) -> String {
        format!("shared.{}", self.name)
    }
}

/// The region's own 乙类 pre-self-pay share, overriding the catalogue's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassBSelfpay {
    /// The list types it applies to (empty = every 乙类 item).
    pub list_types: Vec<ListType>,
    /// The share.
    pub share: Ratio,
}

/// The benefits of one insurance type (`310` employees, `390` residents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// The insurance type.
    pub insutype: Insutype,
    /// The basic pooling fund's code (`310100`, `390100`).
    pub pooling_fund: FundPayType,
    /// The contribution tiers (缴费档次) the scheme has (`["1", "2"]`); empty = none.
    pub tiers: Vec<String>,
    /// The region's 乙类 pre-self-pay shares, first match wins; empty = the catalogue's.
    pub class_b_selfpay: Vec<ClassBSelfpay>,
    /// Basic fund, inpatient (per-admission deductible).
    pub inpatient: Option<InpatientBenefit>,
    /// Basic fund, day surgery (日间手术): the inpatient shape, its own deductible and ratios.
    pub day_surgery: Option<InpatientBenefit>,
    /// Basic fund, outpatient pooling benefits (annual deductible), in order of precedence.
    pub outpatient: Vec<OutpatientBenefit>,
    /// Basic fund, chronic/special outpatient (per-disease quotas).
    pub chronic: Option<ChronicBenefit>,
    /// Maternity medical fees (生育医疗费).
    pub maternity: Option<MaternityBenefit>,
    /// Negotiated drugs (国谈药 双通道) paid outside the quota of the bill's benefit.
    pub negotiated_drugs: Option<NegotiatedDrugBenefit>,
    /// Employees' large-amount fund.
    pub large_amount: Option<LargeAmountLayer>,
    /// Residents' serious-illness insurance.
    pub serious_illness: Option<SeriousIllnessLayer>,
    /// Medical assistance.
    pub assistance: Option<AssistanceLayer>,
    /// Further layers (civil-servant subsidy, enterprise supplementary, commercial).
    pub extra_layers: Vec<ExtraLayer>,
    /// Caps shared between funds.
    pub shared_caps: Vec<SharedCap>,
    /// The personal account, when the scheme has one.
    pub personal_account: Option<PersonalAccountRule>,
}

impl Scheme {
    /// The 乙类 share the region sets for an item of this list type, if it sets one.
    pub fn class_b_share(&self, list_type: Option<ListType>) -> Option<Ratio> {
        self.class_b_selfpay
            .iter()
            .find(|rule| {
                rule.list_types.is_empty()
                    || list_type.is_some_and(|lt| rule.list_types.contains(&lt))
            })
            .map(|rule| rule.share)
    }
}

/// Facts about the person and the visit that policy conditions are tested against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// 人员类别.
    pub psn_type: PsnType,
    /// Age in whole years on the settle date.
    pub age: u32,
    /// Identity categories (特殊人员类型).
    pub sp_psn_types: &'a [SpPsnType],
    /// Contribution tier (缴费档次, `"1"` 一档, `"2"` 二档), when the scheme has tiers.
    pub tier: Option<&'a str>,
    /// The institution's kinds (`tcm`, `village`, `community`, `dual_channel` …).
    pub institution_kinds: &'a [String],
    /// Whether the visit came by referral (转诊).
    pub referral: bool,
    /// 病种/诊断编码 of the bill (may be empty).
    pub dise_codg: &'a str,
}

/// The institution kinds a policy may name (`institution_kinds`): a fixed vocabulary so that a
/// typo is refused at load instead of silently never matching.
pub const INSTITUTION_KINDS: &[&str] = &[
    "village",
    "community",
    "township",
    "tcm",
    "dual_channel",
    "specialist",
    "rehabilitation",
    "private",
];

/// A range of disease codes: `I10` (every code starting `I10`) or `E10-E14` (every code whose
/// first characters lie between the two, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiseaseRange {
    /// First code of the range.
    pub from: String,
    /// Last code of the range (equal to `from` for a single prefix).
    pub to: String,
}

impl DiseaseRange {
    /// True when `dise_codg` falls in the range.
    pub fn contains(&self, dise_codg: &str) -> bool {
        let n = self.from.len();
        if dise_codg.len() < n || !dise_codg.is_char_boundary(n) {
            return false;
        }
        let head = &dise_codg[..n];
        self.from.as_str() <= head && head <= self.to.as_str()
    }

    /// The range as written (`E10-E14`, `I10`).
    pub fn text(&self) -> String {
        if self.from == self.to {
            self.from.clone()
        } else {
            format!("{}-{}", self.from, self.to)
        }
    }
}

/// Conditions on the person and the visit: every condition given must hold; an empty list or
/// an absent bound is no condition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// `psn_type` prefixes (`"12"` = retired).
    pub psn_types: Vec<String>,
    /// Lowest age, inclusive.
    pub age_min: Option<u32>,
    /// Highest age, inclusive.
    pub age_max: Option<u32>,
    /// Identity categories, any of which.
    pub sp_psn_types: Vec<SpPsnType>,
    /// Contribution tiers, any of which.
    pub tiers: Vec<String>,
    /// Institution kinds, any of which.
    pub institution_kinds: Vec<String>,
    /// Referral (转诊) required (`true`) or excluded (`false`).
    pub referral: Option<bool>,
    /// Disease code ranges, any of which.
    pub diseases: Vec<DiseaseRange>,
}

impl Conditions {
    /// True when every condition holds for the subject.
    pub fn holds(&self, subject: &Subject<'_>) -> bool {
        psn_type_matches(&self.psn_types, subject.psn_type)
            && self.age_min.is_none_or(|min| subject.age >= min)
            && self.age_max.is_none_or(|max| subject.age <= max)
            && (self.sp_psn_types.is_empty()
                || self
                    .sp_psn_types
                    .iter()
                    .any(|category| subject.sp_psn_types.contains(category)))
            && (self.tiers.is_empty()
                || subject
                    .tier
                    .is_some_and(|tier| self.tiers.iter().any(|t| t == tier)))
            && (self.institution_kinds.is_empty()
                || self
                    .institution_kinds
                    .iter()
                    .any(|kind| subject.institution_kinds.contains(kind)))
            && self
                .referral
                .is_none_or(|referral| referral == subject.referral)
            && (self.diseases.is_empty()
                || self
                    .diseases
                    .iter()
                    .any(|range| range.contains(subject.dise_codg)))
    }

    /// True when no condition is set.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// A short description for the trace (`psn_type 14*, 二档`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.psn_types.is_empty() {
            parts.push(format!("人员类别 {}", self.psn_types.join("/")));
        }
        match (self.age_min, self.age_max) {
            (Some(min), Some(max)) => parts.push(format!("年龄 {min}–{max}")),
            (Some(min), None) => parts.push(format!("年龄 ≥{min}")),
            (None, Some(max)) => parts.push(format!("年龄 ≤{max}")),
            (None, None) => {}
        }
        if !self.sp_psn_types.is_empty() {
            let codes: Vec<String> = self.sp_psn_types.iter().map(|c| c.to_string()).collect();
            parts.push(format!("特殊人员 {}", codes.join("/")));
        }
        if !self.tiers.is_empty() {
            parts.push(format!("缴费档次 {}", self.tiers.join("/")));
        }
        if !self.institution_kinds.is_empty() {
            parts.push(format!("机构 {}", self.institution_kinds.join("/")));
        }
        if let Some(referral) = self.referral {
            parts.push(if referral { "转诊" } else { "非转诊" }.to_owned());
        }
        if !self.diseases.is_empty() {
            let ranges: Vec<String> = self.diseases.iter().map(DiseaseRange::text).collect();
            parts.push(format!("病种 {}", ranges.join("/")));
        }
        if parts.is_empty() {
            "所有人".to_owned()
        } else {
            parts.join("，")
        }
    }
}

/// A ratio table: rows by condition with a ratio per level, then adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioTable {
    /// Rows in order; the first row whose conditions hold and that has the level decides.
    pub rows: Vec<RatioRow>,
    /// Adjustments added to the row's ratio when their conditions hold.
    pub adjustments: Vec<RatioAdjustment>,
}

/// One row of a ratio table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioRow {
    /// Who and where the row applies to; empty = everyone.
    pub when: Conditions,
    /// The ratio per level (index 0 = level 1); `None` = no pooling at that level.
    pub by_level: [Option<Ratio>; 3],
}

/// Points added to a table's ratio when conditions hold (minors +10 points, TCM +5 …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioAdjustment {
    /// When the adjustment applies (never empty).
    pub when: Conditions,
    /// Points added (may be negative).
    pub points: Ratio,
}

/// Where a ratio came from, for the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatioLookup {
    /// The ratio from the table row, before adjustments.
    pub table_ratio: Ratio,
    /// Index of the row that matched.
    pub row_idx: usize,
    /// Sum of the adjustments that applied.
    pub adjustment_points: Ratio,
    /// Indices of the adjustments that applied.
    pub adjustments_applied: Vec<usize>,
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
    /// The ratio for a level and subject: the first matching row that has the level, plus every
    /// matching adjustment. `None` when no row covers the level (no pooling).
    pub fn lookup(&self, level: HiSetlLv, subject: &Subject<'_>) -> Option<RatioLookup> {
        let (row_idx, table_ratio) = self.rows.iter().enumerate().find_map(|(row_idx, row)| {
            if row.when.holds(subject) {
                row.by_level[level_idx(level)].map(|ratio| (row_idx, ratio))
            } else {
                None
            }
        })?;
        let mut adjustment_points = Ratio::ZERO;
        let mut adjustments_applied = Vec::new();
        for (idx, adjustment) in self.adjustments.iter().enumerate() {
            if adjustment.when.holds(subject) {
                adjustment_points = adjustment_points + adjustment.points;
                adjustments_applied.push(idx);
            }
        }
        Some(RatioLookup {
            table_ratio,
            row_idx,
            adjustment_points,
            adjustments_applied,
        })
    }

    /// The largest ratio any row gives plus every positive adjustment: what the table could
    /// reach before clamping (checked at load to stay within 1).
    pub fn highest_reach(&self) -> Ratio {
        let row_max = self
            .rows
            .iter()
            .flat_map(|row| row.by_level.iter().flatten().copied())
            .max()
            .unwrap_or(Ratio::ZERO);
        let positive = self
            .adjustments
            .iter()
            .filter(|adjustment| adjustment.points.0 > 0)
            .fold(Ratio::ZERO, |sum, adjustment| sum + adjustment.points);
        row_max + positive
    }
}

/// A cost segment of the basic fund (分段比例): the part of a bill's base above `above` gets the
/// table ratio plus `points`, up to the next segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Where the segment starts (the base after the deductible).
    pub above: Fen,
    /// Points added to the ratio inside the segment.
    pub points: Ratio,
}

/// A deductible waiver or reduction: when the conditions hold the deductible is multiplied by
/// `factor` (`0` waives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeductibleWaiver {
    /// Who it is for.
    pub when: Conditions,
    /// Factor on the deductible.
    pub factor: Ratio,
}

/// The first waiver whose conditions hold, with its index.
pub fn find_waiver<'a>(
    waivers: &'a [DeductibleWaiver],
    subject: &Subject<'_>,
) -> Option<(usize, &'a DeductibleWaiver)> {
    waivers
        .iter()
        .enumerate()
        .find(|(_, waiver)| waiver.when.holds(subject))
}

/// Caps on shorter periods than the year (per visit, per day, per month).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodCaps {
    /// Most the benefit pays on one bill.
    pub per_visit: Option<Fen>,
    /// Most it pays on one day (accumulated under `<accumulator>@<yyyy-mm-dd>`).
    pub daily: Option<Fen>,
    /// Most it pays in one calendar month (accumulated under `<accumulator>@<yyyy-mm>`).
    pub monthly: Option<Fen>,
}

impl PeriodCaps {
    /// True when no period cap is set.
    pub fn is_empty(&self) -> bool {
        self.per_visit.is_none() && self.daily.is_none() && self.monthly.is_none()
    }
}

/// Basic fund, inpatient-shaped bills (inpatient, day surgery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InpatientBenefit {
    /// The `med_type`s this benefit covers (21, 22, 24; 28 for day surgery).
    pub med_types: Vec<MedType>,
    /// Whether a settled bill counts as an admission (`inpatient_admissions`).
    pub counts_as_admission: bool,
    /// Deductible per admission by level (index 0 = level 1).
    pub deductible_per_admission: [Fen; 3],
    /// Factor on the deductible by the admission's number in the year: index 0 the first
    /// admission, index 1 the second, …; the last factor repeats (`[1, 0.5, 0]`: the third
    /// admission onward has no deductible).
    pub admission_factors: Vec<Ratio>,
    /// Factor on the deductible for a transfer in from another hospital (转院, `adm_way` 3);
    /// `None` = no exemption.
    pub transfer_factor: Option<Ratio>,
    /// Deductible waivers by identity, first match wins.
    pub deductible_waivers: Vec<DeductibleWaiver>,
    /// Annual cap on the basic fund's payments of this benefit.
    pub annual_cap: Fen,
    /// `None`: the inpatient accumulator `hifp_inpatient`; `Some(name)`: its own (`ytd.other`).
    pub accumulator: Option<String>,
    /// Ratios.
    pub ratios: RatioTable,
    /// Cost segments (分段比例), ascending; empty = one ratio for the whole base.
    pub segments: Vec<Segment>,
}

/// Basic fund, outpatient pooling (门诊统筹) with an annual deductible and cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutpatientBenefit {
    /// The `med_type`s this benefit covers.
    pub med_types: Vec<MedType>,
    /// Who it is for (children and students only, …); a bill of someone else falls to the next
    /// benefit listing the `med_type`, or gets no pooling.
    pub when: Conditions,
    /// A name for the trace.
    pub name: String,
    /// Annual deductible.
    pub annual_deductible: Fen,
    /// Deductible waivers by identity, first match wins.
    pub deductible_waivers: Vec<DeductibleWaiver>,
    /// Annual cap.
    pub annual_cap: Fen,
    /// Per-visit, daily and monthly caps.
    pub period_caps: PeriodCaps,
    /// `None`: the standard accumulators `hifp_outpatient` and `outpatient_deductible`.
    /// `Some(name)`: the policy-named accumulators `name` (paid) and `name.deductible`.
    pub accumulator: Option<String>,
    /// Ratios.
    pub ratios: RatioTable,
    /// Cost segments, ascending; empty = one ratio.
    pub segments: Vec<Segment>,
}

impl OutpatientBenefit {
    /// The accumulator key of what this benefit paid.
    pub fn paid_key(&self) -> &str {
        self.accumulator.as_deref().unwrap_or("hifp_outpatient")
    }
}

/// One chronic or special disease (门慢门特病种): its codes, quota and (optionally) its own ratios.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicDisease {
    /// The key its quota is tracked under (`ytd.chronic`), e.g. `I10` or `diabetes`.
    pub key: String,
    /// The disease codes it covers.
    pub codes: Vec<DiseaseRange>,
    /// Annual quota.
    pub quota: Fen,
    /// Its own ratios; `None` = the benefit's.
    pub ratios: Option<RatioTable>,
    /// Whether its payments also count against the inpatient annual cap (`hifp_inpatient`).
    pub shares_inpatient_cap: bool,
}

/// How the quotas of a person recognised for several diseases combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CombinedQuota {
    /// Added to the largest quota for each further recognised disease.
    pub extra_per_disease: Fen,
    /// The combined quota never exceeds this.
    pub max: Option<Fen>,
}

/// Basic fund, chronic/special outpatient (门诊慢特病): per-disease quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicBenefit {
    /// The `med_type`s this benefit covers (14).
    pub med_types: Vec<MedType>,
    /// The diseases, first match on `dise_codg` wins; a disease not listed gets no pooling.
    pub diseases: Vec<ChronicDisease>,
    /// Annual chronic-outpatient deductible (accumulated under `chronic.deductible`).
    pub annual_deductible: Fen,
    /// Deductible waivers by identity.
    pub deductible_waivers: Vec<DeductibleWaiver>,
    /// Whether a bill needs the person's recognised disease (门慢认定) valid on the settle date
    /// (and at the designated institution, when the recognition names one).
    pub require_recognition: bool,
    /// How several recognised diseases combine; `None` = each disease keeps its own quota.
    pub combined: Option<CombinedQuota>,
    /// Ratios (by level, conditions).
    pub ratios: RatioTable,
}

impl ChronicBenefit {
    /// The disease a `dise_codg` belongs to.
    pub fn disease(&self, dise_codg: &str) -> Option<&ChronicDisease> {
        self.diseases
            .iter()
            .find(|disease| disease.codes.iter().any(|range| range.contains(dise_codg)))
    }
}

/// A fixed maternity payment for some delivery types (生育类别 `matn_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaternityFixed {
    /// The `matn_type`s (`1` 正常产, `3` 剖宫产 …).
    pub matn_types: Vec<String>,
    /// The fixed amount (never more than the bill's policy range).
    pub amount: Fen,
}

/// Maternity medical fees (生育医疗费, `med_type` 51/52/53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaternityBenefit {
    /// The `med_type`s.
    pub med_types: Vec<MedType>,
    /// The fund that pays (`510100` 生育基金, or the pooling fund).
    pub fund: FundPayType,
    /// Fixed amounts by delivery type, first match wins.
    pub fixed: Vec<MaternityFixed>,
    /// Ratios for bills no fixed amount covers; `None` = no payment for them.
    pub ratios: Option<RatioTable>,
    /// Annual cap (accumulated under `maternity`); `None` = no cap.
    pub annual_cap: Option<Fen>,
}

/// Negotiated drugs (国家谈判药品, 双通道): their policy-range amount is paid outside the quota
/// of the bill's own benefit, with its own ratios and cap (`negotiated` in `ytd.other`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedDrugBenefit {
    /// Bills on which negotiated lines are paid this way (`14`, `41` …).
    pub med_types: Vec<MedType>,
    /// For pharmacy bills (`41`): the institution kind the pharmacy must have (`dual_channel`).
    pub pharmacy_kind: Option<String>,
    /// The pharmacy `med_type`s the kind applies to.
    pub pharmacy_med_types: Vec<MedType>,
    /// Ratios.
    pub ratios: RatioTable,
    /// Annual cap.
    pub annual_cap: Fen,
}

/// Employees' large-amount fund: pays on what the basic fund's annual inpatient cap cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeAmountLayer {
    /// Fund code (330100).
    pub fund: FundPayType,
    /// The bills it reaches (never empty; outpatient pooling types are refused at load).
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
    /// Who and which bills (identity, tier, age, disease …); empty = everyone.
    pub when: Conditions,
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
    /// Everything the person owes, 丙类 and out-of-catalogue items included:
    /// `medfee_sumamt − funds so far`.
    All,
}

/// A further layer of the usual shape (civil servant 320100 → `cvlserv_pay`, enterprise
/// supplementary 370100 → `hifes_pay`, any other code → `oth_pay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraLayer {
    /// Fund code.
    pub fund: FundPayType,
    /// A name for the trace.
    pub name: String,
    /// Bills it applies to (never empty).
    pub med_types: Vec<MedType>,
    /// Who it is for (identity, person type, age …); empty = everyone.
    pub when: Conditions,
    /// The base.
    pub base: ExtraBase,
    /// Annual deductible (accumulated under `<fund>.deductible`); with `bands`, the threshold
    /// over the accumulated base (`<fund>.base`).
    pub annual_deductible: Fen,
    /// Ratio (when there are no bands).
    pub ratio: Ratio,
    /// Bands over the deductible on the accumulated base; empty = the single `ratio`.
    pub bands: Vec<Band>,
    /// Annual cap (accumulated under `<fund>`); `None` = no cap.
    pub annual_cap: Option<Fen>,
}

/// The personal account rules of a scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalAccountRule {
    /// Whether bound family accounts may pay (共济, `acct_used_flag` 2).
    pub mutual_aid: bool,
}
