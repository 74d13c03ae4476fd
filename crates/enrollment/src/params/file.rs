//! The raw shape of a parameter file, as serde reads it. Money and ratios stay text here so that
//! they are parsed exactly (never through a float) by the checks in the parent module.

use serde::Deserialize;

/// A whole parameter file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ParamsFile {
    pub admdvs: String,
    pub year: i32,
    pub title: String,
    pub employee: Option<EmployeeFile>,
    pub retirement: Option<RetirementFile>,
    pub maternity: Option<MaternityFile>,
    pub resident: Option<ResidentFile>,
    pub transfer: Option<TransferFile>,
    pub duplicate: Option<DuplicateFile>,
    pub personal_account: Option<PersonalAccountFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmployeeFile {
    pub employer_rate: String,
    pub employee_rate: String,
    pub maternity_rate: String,
    pub average_wage: String,
    pub base_floor: String,
    pub base_ceiling: String,
    pub in_service_credit: String,
    pub gap_backpay_months_max: u32,
    pub gap_waiting_months_max: u32,
    pub retiree_credit: Vec<RetireeBandFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetireeBandFile {
    pub from_age: u32,
    pub monthly: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetirementFile {
    pub min_years_men: u32,
    pub min_years_women: u32,
    pub min_years_actual: u32,
    pub min_years_local_actual: u32,
    pub backpay_base: String,
    pub backpay_rate: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MaternityFile {
    pub qualifying_months: u32,
    pub days_per_month: u32,
    pub allowance_base: String,
    pub extra_days_per_additional_baby: u32,
    pub leave_days: LeaveDaysFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeaveDaysFile {
    pub normal: u32,
    pub difficult: u32,
    pub miscarriage_under_4_months: u32,
    pub miscarriage_from_4_months: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResidentFile {
    pub children_tier: String,
    pub student_tier: Option<String>,
    pub collection_start: String,
    pub collection_end: String,
    pub extension_end: Option<String>,
    pub extension_waiting: Option<bool>,
    pub late_waiting_months: u32,
    pub payment_month_counts: bool,
    pub waiting_exemptions: Vec<String>,
    pub subsidy_reference: String,
    pub refund_after_year_start: bool,
    pub lapse: Option<LapseFile>,
    pub newborn: NewbornFile,
    pub tier: Vec<TierFile>,
    #[serde(default)]
    pub subsidy: Vec<SubsidyFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LapseFile {
    pub count_from_year: i32,
    pub variable_months_per_year: u32,
    pub repair_months_per_year: u32,
    pub floor_months: u32,
    pub floor_after_lapsed_years: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewbornFile {
    pub window_days: Option<u32>,
    pub window_months: Option<u32>,
    pub late_window_months: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TierFile {
    pub id: String,
    pub total: String,
    pub finance: String,
    pub individual: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubsidyFile {
    pub categories: Vec<String>,
    pub kind: String,
    pub amount: Option<String>,
    pub percent: Option<String>,
    pub payer: String,
    pub first_payer: Option<String>,
    pub first_amount: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferFile {
    pub sending_working_days: u32,
    pub receiving_working_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DuplicateFile {
    pub order: Vec<String>,
    pub employee_continuous_months: u32,
}

/// `[personal_account]`: every key may be left out (the default of
/// [`super::PersonalAccountParams`] applies).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PersonalAccountFile {
    pub withdraw_on_abroad: Option<bool>,
    pub abroad_requires_relation_ended: Option<bool>,
    pub withdraw_on_death: Option<bool>,
    pub inherit_on_death: Option<bool>,
    pub withdraw_on_move_without_transfer: Option<bool>,
    pub partial_withdrawal: Option<bool>,
    pub heirs_max: Option<u32>,
}
