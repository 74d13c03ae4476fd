//! A region's payment configuration as a TOML text (the format is in `docs/DRG-PAYMENT.md`),
//! parsed into the engine's rule types with errors that name the field.
//!
//! Ratios and coefficients are written as decimal strings (`"1.05"`, `"0.4"`) and parsed exactly
//! to ppm; nothing goes through a float.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::dip::{validate_dip_config, DipConfig};
use crate::drg::{validate_drg_rules, DrgRules, OutlierTier, SpecialReviewRules};
use crate::error::{config_error, PaymentError};
use crate::exact::PPM;
use crate::settle::{validate_settlement_rules, Band, SettlementRules};
use crate::weights::{validate_weight_config, WeightConfig};

/// Everything a region sets for DRG and DIP payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionConfig {
    /// The region's name.
    pub name: String,
    /// How DRG weights are learned.
    pub weights: WeightConfig,
    /// DRG point rules.
    pub drg: DrgRules,
    /// DIP catalogue and score rules.
    pub dip: DipConfig,
    /// Surplus and overspend bands.
    pub settlement: SettlementRules,
    /// Growth of the budget over last year's fund spending when no budget is given, ppm.
    pub budget_growth_ppm: i64,
    /// When set, DRG hospital coefficients come from each hospital's historical cost index moved
    /// toward 1 by this share ([`crate::drg::coefficients_from_history`]), ppm; when absent, the
    /// level coefficients apply.
    pub drg_history_blend_ppm: Option<i64>,
}

/// Parses a decimal string (`"1.05"`, `"-0.5"`, `"3"`, at most 6 decimals) exactly into ppm.
pub fn parse_ppm(field: &str, text: &str) -> Result<i64, PaymentError> {
    parse_scaled(field, text, 6)
}

/// Parses a decimal string exactly into units of 10^-`decimals`.
pub fn parse_scaled(field: &str, text: &str, decimals: u32) -> Result<i64, PaymentError> {
    let bad = |reason: &str| config_error(field, format!("`{text}` {reason}"));
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a decimal number"));
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (body.contains('.') && fraction.is_empty())
    {
        return Err(bad("is not a decimal number"));
    }
    if fraction.len() > decimals as usize {
        return Err(bad(&format!("has more than {decimals} decimals")));
    }
    if whole.len() > 12 {
        return Err(bad("is too large"));
    }
    let scale = 10_i64.pow(decimals);
    let whole_value: i64 = whole.parse().map_err(|_| bad("is not a decimal number"))?;
    let mut fraction_value: i64 = if fraction.is_empty() {
        0
    } else {
        fraction
            .parse()
            .map_err(|_| bad("is not a decimal number"))?
    };
    fraction_value *= 10_i64.pow(decimals - fraction.len() as u32);
    let value = whole_value
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction_value))
        .ok_or_else(|| bad("is too large"))?;
    Ok(if negative { -value } else { value })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionFile {
    region: RegionSection,
    weights: WeightsSection,
    drg: DrgSection,
    dip: DipSection,
    settlement: SettlementSection,
    budget: BudgetSection,
    /// The interface's settings, read by the server (`docs/INTERFACE.md`), not here.
    #[serde(default)]
    #[allow(dead_code)]
    interface: Option<serde::de::IgnoredAny>,
    /// The smart-audit settings, read by the server (`docs/AUDIT.md`), not here.
    #[serde(default)]
    #[allow(dead_code)]
    audit: Option<serde::de::IgnoredAny>,
    /// The month-end settings, read by the funds engine (`docs/FUNDS.md`), not here.
    #[serde(default)]
    #[allow(dead_code)]
    funds: Option<serde::de::IgnoredAny>,
    /// The settlement lists' deadline, read by the server (`docs/INTERFACE.md`), not here.
    #[serde(default)]
    #[allow(dead_code)]
    setl_list: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionSection {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsSection {
    trim_each_side: String,
    min_cases: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Levels {
    level1: String,
    level2: String,
    level3: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierSection {
    base_points_upto: Option<String>,
    multiple: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewSection {
    min_cost_ratio: String,
    cases_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrgSection {
    level_coefficients: Levels,
    high_tiers: Vec<TierSection>,
    low_ratio: String,
    short_stay_days_max: u32,
    ungrouped_factor: String,
    history_blend: Option<String>,
    special_review: ReviewSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DipSection {
    core_min_cases: u32,
    level_coefficients: Levels,
    grassroots_categories: Vec<String>,
    high_ratio: String,
    low_ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandSection {
    upto: Option<String>,
    share: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlementSection {
    surplus_bands: Vec<BandSection>,
    overspend_bands: Vec<BandSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetSection {
    growth: String,
}

fn levels(field: &str, levels: &Levels) -> Result<[i64; 3], PaymentError> {
    Ok([
        parse_ppm(&format!("{field}.level1"), &levels.level1)?,
        parse_ppm(&format!("{field}.level2"), &levels.level2)?,
        parse_ppm(&format!("{field}.level3"), &levels.level3)?,
    ])
}

fn bands(field: &str, sections: &[BandSection]) -> Result<Vec<Band>, PaymentError> {
    sections
        .iter()
        .enumerate()
        .map(|(idx, band)| {
            Ok(Band {
                upto_ppm: band
                    .upto
                    .as_deref()
                    .map(|t| parse_ppm(&format!("{field}[{idx}].upto"), t))
                    .transpose()?,
                share_ppm: parse_ppm(&format!("{field}[{idx}].share"), &band.share)?,
            })
        })
        .collect()
}

/// Parses and checks a region's configuration file text.
pub fn parse_region(text: &str) -> Result<RegionConfig, PaymentError> {
    let file: RegionFile = toml::from_str(text).map_err(|err| {
        config_error(
            "(region file)",
            err.message().to_string()
                + &err
                    .span()
                    .map(|s| format!(" (at byte {})", s.start))
                    .unwrap_or_default(),
        )
    })?;
    let weights = WeightConfig {
        trim_ppm: parse_ppm("weights.trim_each_side", &file.weights.trim_each_side)?,
        min_cases: file.weights.min_cases,
    };
    let high_tiers = file
        .drg
        .high_tiers
        .iter()
        .enumerate()
        .map(|(idx, tier)| {
            Ok(OutlierTier {
                // Base points are written in points; 1/10000 point has 4 decimals.
                base_points_upto_e4: tier
                    .base_points_upto
                    .as_deref()
                    .map(|t| parse_scaled(&format!("drg.high_tiers[{idx}].base_points_upto"), t, 4))
                    .transpose()?,
                multiple_ppm: parse_ppm(
                    &format!("drg.high_tiers[{idx}].multiple"),
                    &tier.multiple,
                )?,
            })
        })
        .collect::<Result<Vec<_>, PaymentError>>()?;
    let drg = DrgRules {
        level_coefficient_ppm: levels("drg.level_coefficients", &file.drg.level_coefficients)?,
        high_tiers,
        low_ratio_ppm: parse_ppm("drg.low_ratio", &file.drg.low_ratio)?,
        short_stay_days_max: file.drg.short_stay_days_max,
        ungrouped_factor_ppm: parse_ppm("drg.ungrouped_factor", &file.drg.ungrouped_factor)?,
        special_review: SpecialReviewRules {
            min_cost_ratio_ppm: parse_ppm(
                "drg.special_review.min_cost_ratio",
                &file.drg.special_review.min_cost_ratio,
            )?,
            cases_cap_ppm: parse_ppm(
                "drg.special_review.cases_cap",
                &file.drg.special_review.cases_cap,
            )?,
        },
    };
    let dip = DipConfig {
        core_min_cases: file.dip.core_min_cases,
        level_coefficient_ppm: levels("dip.level_coefficients", &file.dip.level_coefficients)?,
        grassroots_categories: file
            .dip
            .grassroots_categories
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        high_ratio_ppm: parse_ppm("dip.high_ratio", &file.dip.high_ratio)?,
        low_ratio_ppm: parse_ppm("dip.low_ratio", &file.dip.low_ratio)?,
    };
    let settlement = SettlementRules {
        surplus_bands: bands("settlement.surplus_bands", &file.settlement.surplus_bands)?,
        overspend_bands: bands(
            "settlement.overspend_bands",
            &file.settlement.overspend_bands,
        )?,
    };
    let drg_history_blend_ppm = file
        .drg
        .history_blend
        .as_deref()
        .map(|text| parse_ppm("drg.history_blend", text))
        .transpose()?;
    if let Some(blend) = drg_history_blend_ppm {
        if !(0..=PPM as i64).contains(&blend) {
            return Err(config_error("drg.history_blend", "is not 0 to 1"));
        }
    }
    let budget_growth_ppm = parse_ppm("budget.growth", &file.budget.growth)?;
    if !(-(PPM as i64)..=PPM as i64).contains(&budget_growth_ppm) {
        return Err(config_error("budget.growth", "is not -1 to 1"));
    }
    if file.region.name.trim().is_empty() {
        return Err(config_error("region.name", "is empty"));
    }
    validate_weight_config(&weights)?;
    validate_drg_rules(&drg)?;
    validate_dip_config(&dip)?;
    validate_settlement_rules(&settlement)?;
    Ok(RegionConfig {
        name: file.region.name,
        weights,
        drg,
        dip,
        settlement,
        budget_growth_ppm,
        drg_history_blend_ppm,
    })
}
