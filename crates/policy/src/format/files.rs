//! The shapes of a policy file as TOML gives them (strings, lists, optional keys), before
//! validation: every struct refuses unknown keys, so a typo is an error, never a rule left out.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) id: String,
    pub(super) admdvs: String,
    #[serde(default)]
    pub(super) title: String,
    pub(super) effective_from: String,
    pub(super) effective_until: String,
    pub(super) cross_region: CrossRegionFile,
    pub(super) schemes: Vec<SchemeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CrossRegionFile {
    pub(super) unfiled_points: String,
    pub(super) emergency_counts_as_filed: bool,
    pub(super) emergency_filing: Option<String>,
    #[serde(default)]
    pub(super) rules: Vec<CrossRuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CrossRuleFile {
    pub(super) filing: String,
    #[serde(default = "scope_any")]
    pub(super) scope: String,
    pub(super) points: String,
    pub(super) deductible_factor: Option<String>,
}

pub(super) fn scope_any() -> String {
    "any".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SchemeFile {
    pub(super) insutype: String,
    pub(super) pooling_fund: String,
    #[serde(default)]
    pub(super) tiers: Vec<String>,
    #[serde(default)]
    pub(super) class_b_selfpay: Vec<ClassBFile>,
    pub(super) inpatient: Option<InpatientFile>,
    pub(super) day_surgery: Option<InpatientFile>,
    #[serde(default)]
    pub(super) outpatient: Vec<OutpatientFile>,
    pub(super) chronic: Option<ChronicFile>,
    pub(super) maternity: Option<MaternityFile>,
    pub(super) negotiated_drugs: Option<NegotiatedFile>,
    pub(super) large_amount: Option<LargeAmountFile>,
    pub(super) serious_illness: Option<SeriousIllnessFile>,
    pub(super) assistance: Option<AssistanceFile>,
    #[serde(default)]
    pub(super) extra_layers: Vec<ExtraLayerFile>,
    #[serde(default)]
    pub(super) shared_caps: Vec<SharedCapFile>,
    pub(super) personal_account: Option<PersonalAccountFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClassBFile {
    #[serde(default)]
    pub(super) list_types: Vec<String>,
    pub(super) share: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LevelsFile {
    pub(super) level1: Option<String>,
    pub(super) level2: Option<String>,
    pub(super) level3: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ConditionsFile {
    #[serde(default)]
    pub(super) psn_types: Vec<String>,
    pub(super) age_min: Option<u32>,
    pub(super) age_max: Option<u32>,
    #[serde(default)]
    pub(super) sp_psn_types: Vec<String>,
    #[serde(default)]
    pub(super) tiers: Vec<String>,
    #[serde(default)]
    pub(super) institution_kinds: Vec<String>,
    pub(super) referral: Option<bool>,
    #[serde(default)]
    pub(super) diseases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RatioRowFile {
    #[serde(default)]
    pub(super) psn_types: Vec<String>,
    pub(super) when: Option<ConditionsFile>,
    pub(super) all_levels: Option<String>,
    pub(super) level1: Option<String>,
    pub(super) level2: Option<String>,
    pub(super) level3: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AdjustmentFile {
    #[serde(default)]
    pub(super) psn_types: Vec<String>,
    pub(super) when: Option<ConditionsFile>,
    pub(super) points: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SegmentFile {
    pub(super) above: String,
    pub(super) points: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WaiverFile {
    pub(super) when: ConditionsFile,
    pub(super) factor: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InpatientFile {
    pub(super) med_types: Vec<String>,
    pub(super) counts_as_admission: Option<bool>,
    pub(super) deductible_per_admission: LevelsFile,
    pub(super) repeat_admission_factor: Option<String>,
    pub(super) admission_factors: Option<Vec<String>>,
    pub(super) transfer_factor: Option<String>,
    #[serde(default)]
    pub(super) deductible_waivers: Vec<WaiverFile>,
    pub(super) annual_cap: String,
    pub(super) accumulator: Option<String>,
    pub(super) ratios: Vec<RatioRowFile>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
    #[serde(default)]
    pub(super) segments: Vec<SegmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutpatientFile {
    pub(super) med_types: Vec<String>,
    #[serde(default)]
    pub(super) name: String,
    pub(super) when: Option<ConditionsFile>,
    pub(super) annual_deductible: String,
    #[serde(default)]
    pub(super) deductible_waivers: Vec<WaiverFile>,
    pub(super) annual_cap: String,
    pub(super) per_visit_cap: Option<String>,
    pub(super) daily_cap: Option<String>,
    pub(super) monthly_cap: Option<String>,
    pub(super) accumulator: Option<String>,
    pub(super) ratios: Vec<RatioRowFile>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
    #[serde(default)]
    pub(super) segments: Vec<SegmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChronicFile {
    pub(super) med_types: Vec<String>,
    pub(super) disease_prefix_len: Option<usize>,
    #[serde(default)]
    pub(super) quotas: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) diseases: Vec<ChronicDiseaseFile>,
    pub(super) annual_deductible: Option<String>,
    #[serde(default)]
    pub(super) deductible_waivers: Vec<WaiverFile>,
    #[serde(default)]
    pub(super) require_recognition: bool,
    pub(super) combined: Option<CombinedFile>,
    pub(super) ratios: Vec<RatioRowFile>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChronicDiseaseFile {
    pub(super) key: String,
    pub(super) codes: Vec<String>,
    pub(super) quota: String,
    pub(super) ratios: Option<Vec<RatioRowFile>>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
    #[serde(default)]
    pub(super) shares_inpatient_cap: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CombinedFile {
    pub(super) extra_per_disease: String,
    pub(super) max: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MaternityFile {
    pub(super) med_types: Vec<String>,
    pub(super) fund: String,
    #[serde(default)]
    pub(super) fixed: Vec<MaternityFixedFile>,
    pub(super) ratios: Option<Vec<RatioRowFile>>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
    pub(super) annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MaternityFixedFile {
    pub(super) matn_types: Vec<String>,
    pub(super) amount: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NegotiatedFile {
    pub(super) med_types: Vec<String>,
    pub(super) pharmacy_kind: Option<String>,
    #[serde(default)]
    pub(super) pharmacy_med_types: Vec<String>,
    pub(super) ratios: Vec<RatioRowFile>,
    #[serde(default)]
    pub(super) adjustments: Vec<AdjustmentFile>,
    pub(super) annual_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LargeAmountFile {
    pub(super) fund: String,
    pub(super) med_types: Vec<String>,
    pub(super) ratio: String,
    pub(super) annual_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeriousIllnessFile {
    pub(super) fund: String,
    pub(super) med_types: Vec<String>,
    pub(super) rules: Vec<SeriousIllnessRuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeriousIllnessRuleFile {
    #[serde(default)]
    pub(super) sp_psn_types: Vec<String>,
    #[serde(default)]
    pub(super) disease_prefixes: Vec<String>,
    pub(super) when: Option<ConditionsFile>,
    pub(super) threshold: String,
    pub(super) bands: Vec<BandFile>,
    pub(super) annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BandFile {
    pub(super) width: Option<String>,
    pub(super) ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AssistanceFile {
    pub(super) fund: String,
    pub(super) med_types: Vec<String>,
    pub(super) categories: Vec<AssistanceCategoryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AssistanceCategoryFile {
    pub(super) sp_psn_type: String,
    pub(super) ratio: String,
    pub(super) annual_deductible: String,
    pub(super) annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtraLayerFile {
    pub(super) fund: String,
    pub(super) name: String,
    pub(super) med_types: Vec<String>,
    #[serde(default)]
    pub(super) psn_types: Vec<String>,
    pub(super) when: Option<ConditionsFile>,
    pub(super) base: String,
    pub(super) annual_deductible: String,
    pub(super) ratio: Option<String>,
    #[serde(default)]
    pub(super) bands: Vec<BandFile>,
    pub(super) annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SharedCapFile {
    pub(super) name: String,
    pub(super) funds: Vec<String>,
    pub(super) annual_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PersonalAccountFile {
    pub(super) mutual_aid: bool,
}
