//! The policy file format (TOML, documented in `docs/POLICY.md`) and its validation into
//! [`Policy`]. Money and ratios are strings so that they stay exact.

use std::collections::BTreeMap;

use serde::Deserialize;
use yibao_core_types::{Admdvs, Fen, FundPayType, Insutype, MedType, NaiveDate, Ratio, SpPsnType};

use crate::model::*;
use crate::PolicyError;

/// Largest number of schemes, rows, bands, quotas or layers in one list: a policy is written by
/// hand and read on every settlement, so a longer list is a mistake.
pub const POLICY_LIST_MAX: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    id: String,
    admdvs: String,
    #[serde(default)]
    title: String,
    effective_from: String,
    effective_until: String,
    cross_region: CrossRegionFile,
    schemes: Vec<SchemeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrossRegionFile {
    unfiled_points: String,
    emergency_counts_as_filed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    insutype: String,
    pooling_fund: String,
    inpatient: Option<InpatientFile>,
    #[serde(default)]
    outpatient: Vec<OutpatientFile>,
    chronic: Option<ChronicFile>,
    large_amount: Option<LargeAmountFile>,
    serious_illness: Option<SeriousIllnessFile>,
    assistance: Option<AssistanceFile>,
    #[serde(default)]
    extra_layers: Vec<ExtraLayerFile>,
    personal_account: Option<PersonalAccountFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelsFile {
    level1: Option<String>,
    level2: Option<String>,
    level3: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatioRowFile {
    #[serde(default)]
    psn_types: Vec<String>,
    all_levels: Option<String>,
    level1: Option<String>,
    level2: Option<String>,
    level3: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustmentFile {
    psn_types: Vec<String>,
    points: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InpatientFile {
    med_types: Vec<String>,
    deductible_per_admission: LevelsFile,
    repeat_admission_factor: String,
    annual_cap: String,
    ratios: Vec<RatioRowFile>,
    #[serde(default)]
    adjustments: Vec<AdjustmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutpatientFile {
    med_types: Vec<String>,
    annual_deductible: String,
    annual_cap: String,
    accumulator: Option<String>,
    ratios: Vec<RatioRowFile>,
    #[serde(default)]
    adjustments: Vec<AdjustmentFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChronicFile {
    med_types: Vec<String>,
    disease_prefix_len: usize,
    ratios: Vec<RatioRowFile>,
    #[serde(default)]
    adjustments: Vec<AdjustmentFile>,
    quotas: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LargeAmountFile {
    fund: String,
    #[serde(default)]
    med_types: Vec<String>,
    ratio: String,
    annual_cap: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriousIllnessFile {
    fund: String,
    med_types: Vec<String>,
    rules: Vec<SeriousIllnessRuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriousIllnessRuleFile {
    #[serde(default)]
    sp_psn_types: Vec<String>,
    #[serde(default)]
    disease_prefixes: Vec<String>,
    threshold: String,
    bands: Vec<BandFile>,
    annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    width: Option<String>,
    ratio: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssistanceFile {
    fund: String,
    med_types: Vec<String>,
    categories: Vec<AssistanceCategoryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssistanceCategoryFile {
    sp_psn_type: String,
    ratio: String,
    annual_deductible: String,
    annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraLayerFile {
    fund: String,
    name: String,
    #[serde(default)]
    med_types: Vec<String>,
    #[serde(default)]
    psn_types: Vec<String>,
    base: String,
    annual_deductible: String,
    ratio: String,
    annual_cap: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalAccountFile {
    mutual_aid: bool,
}

/// Validation context: the file name and a way to build errors at a field path.
struct Check<'a> {
    file: &'a str,
}

impl Check<'_> {
    fn error(&self, field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
        PolicyError::Invalid {
            file: self.file.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn money(&self, field: &str, text: &str) -> Result<Fen, PolicyError> {
        Fen::parse_non_negative(text).map_err(|error| self.error(field, error.to_string()))
    }

    fn share(&self, field: &str, text: &str) -> Result<Ratio, PolicyError> {
        Ratio::parse_unit(text)
            .map_err(|error| self.error(field, format!("{error} (a share in [0, 1])")))
    }

    fn points(&self, field: &str, text: &str) -> Result<Ratio, PolicyError> {
        let points = Ratio::parse(text).map_err(|error| self.error(field, error.to_string()))?;
        if !(-1_000_000..=1_000_000).contains(&points.0) {
            return Err(self.error(field, "points must lie in [-1, 1]"));
        }
        Ok(points)
    }

    fn fund(&self, field: &str, text: &str) -> Result<FundPayType, PolicyError> {
        FundPayType::parse(text).map_err(|error| self.error(field, error.to_string()))
    }

    fn list_len<T>(&self, field: &str, list: &[T], allow_empty: bool) -> Result<(), PolicyError> {
        if list.len() > POLICY_LIST_MAX {
            return Err(self.error(field, format!("more than {POLICY_LIST_MAX} entries")));
        }
        if !allow_empty && list.is_empty() {
            return Err(self.error(field, "must not be empty"));
        }
        Ok(())
    }

    fn med_types(
        &self,
        field: &str,
        codes: &[String],
        allow_empty: bool,
    ) -> Result<Vec<MedType>, PolicyError> {
        self.list_len(field, codes, allow_empty)?;
        codes
            .iter()
            .enumerate()
            .map(|(idx, code)| {
                MedType::parse(code)
                    .map_err(|error| self.error(format!("{field}[{idx}]"), error.to_string()))
            })
            .collect()
    }

    fn psn_types(&self, field: &str, prefixes: &[String]) -> Result<Vec<String>, PolicyError> {
        self.list_len(field, prefixes, true)?;
        for (idx, prefix) in prefixes.iter().enumerate() {
            if prefix.is_empty() || prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(self.error(
                    format!("{field}[{idx}]"),
                    format!("psn_type prefix must be 1 to 6 digits (got {prefix:?})"),
                ));
            }
        }
        Ok(prefixes.to_vec())
    }

    fn ratio_table(
        &self,
        field: &str,
        rows: &[RatioRowFile],
        adjustments: &[AdjustmentFile],
    ) -> Result<RatioTable, PolicyError> {
        self.list_len(&format!("{field}.ratios"), rows, false)?;
        self.list_len(&format!("{field}.adjustments"), adjustments, true)?;
        let mut table = RatioTable {
            rows: Vec::new(),
            adjustments: Vec::new(),
        };
        for (idx, row) in rows.iter().enumerate() {
            let path = format!("{field}.ratios[{idx}]");
            let psn_types = self.psn_types(&format!("{path}.psn_types"), &row.psn_types)?;
            let by_level = match (&row.all_levels, &row.level1, &row.level2, &row.level3) {
                (Some(all), None, None, None) => {
                    let ratio = self.share(&format!("{path}.all_levels"), all)?;
                    [Some(ratio); 3]
                }
                (Some(_), ..) => {
                    return Err(
                        self.error(path, "give either all_levels or level1..level3, not both")
                    )
                }
                (None, None, None, None) => {
                    return Err(self.error(path, "gives no ratio for any level"))
                }
                (None, level1, level2, level3) => {
                    let mut by_level = [None; 3];
                    for (level_idx, text) in [level1, level2, level3].into_iter().enumerate() {
                        if let Some(text) = text {
                            by_level[level_idx] =
                                Some(self.share(&format!("{path}.level{}", level_idx + 1), text)?);
                        }
                    }
                    by_level
                }
            };
            table.rows.push(RatioRow {
                psn_types,
                by_level,
            });
        }
        for (idx, adjustment) in adjustments.iter().enumerate() {
            let path = format!("{field}.adjustments[{idx}]");
            let psn_types = self.psn_types(&format!("{path}.psn_types"), &adjustment.psn_types)?;
            if psn_types.is_empty() {
                return Err(self.error(
                    format!("{path}.psn_types"),
                    "must name at least one psn_type prefix",
                ));
            }
            let points = self.points(&format!("{path}.points"), &adjustment.points)?;
            table
                .adjustments
                .push(RatioAdjustment { psn_types, points });
        }
        Ok(table)
    }
}

/// Parses and validates a policy file. `file_name` is used only in error messages.
///
/// Errors name the file, the field path and the reason; a syntax error carries the TOML
/// parser's line and column.
pub fn parse_policy(file_name: &str, text: &str) -> Result<Policy, PolicyError> {
    let raw: PolicyFile = toml::from_str(text).map_err(|error| PolicyError::Syntax {
        file: file_name.to_owned(),
        reason: error.to_string().trim_end().to_owned(),
    })?;
    let check = Check { file: file_name };
    let admdvs =
        Admdvs::parse(&raw.admdvs).map_err(|error| check.error("admdvs", error.to_string()))?;
    let date = |field: &str, text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| check.error(field, format!("must be a date yyyy-MM-dd (got {text:?})")))
    };
    let effective_from = date("effective_from", &raw.effective_from)?;
    let effective_until = date("effective_until", &raw.effective_until)?;
    if effective_until < effective_from {
        return Err(check.error("effective_until", "is before effective_from"));
    }
    let year = chrono::Datelike::year(&effective_from);
    if chrono::Datelike::year(&effective_until) != year {
        return Err(check.error(
            "effective_until",
            "must be in the same calendar year as effective_from (accumulators are per year)",
        ));
    }
    let expected_id = format!("{admdvs}-{year}");
    if raw.id != expected_id {
        return Err(check.error(
            "id",
            format!(
                "must be <admdvs>-<year> = {expected_id:?} (got {:?})",
                raw.id
            ),
        ));
    }
    let unfiled_points = check.points(
        "cross_region.unfiled_points",
        &raw.cross_region.unfiled_points,
    )?;
    check.list_len("schemes", &raw.schemes, false)?;
    let mut schemes: Vec<Scheme> = Vec::new();
    for (idx, scheme) in raw.schemes.iter().enumerate() {
        let path = format!("schemes[{idx}]");
        let built = scheme_from_file(&check, &path, scheme)?;
        if schemes.iter().any(|other| other.insutype == built.insutype) {
            return Err(check.error(
                format!("{path}.insutype"),
                format!("insutype {} appears twice", built.insutype),
            ));
        }
        schemes.push(built);
    }
    Ok(Policy {
        id: raw.id,
        admdvs,
        year,
        title: raw.title,
        effective_from,
        effective_until,
        cross_region: CrossRegionRule {
            unfiled_points,
            emergency_counts_as_filed: raw.cross_region.emergency_counts_as_filed,
        },
        schemes,
    })
}

fn scheme_from_file(
    check: &Check<'_>,
    path: &str,
    raw: &SchemeFile,
) -> Result<Scheme, PolicyError> {
    let insutype = Insutype::parse(&raw.insutype)
        .map_err(|error| check.error(format!("{path}.insutype"), error.to_string()))?;
    let pooling_fund = check.fund(&format!("{path}.pooling_fund"), &raw.pooling_fund)?;
    let mut claimed: Vec<(MedType, String)> = Vec::new();
    let mut claim = |field: String, med_types: &[MedType]| -> Result<(), PolicyError> {
        for med_type in med_types {
            if let Some((_, other)) = claimed
                .iter()
                .find(|(claimed_type, _)| claimed_type == med_type)
            {
                return Err(check.error(
                    field.clone(),
                    format!("med_type {med_type} is already covered by {other}"),
                ));
            }
            claimed.push((*med_type, field.clone()));
        }
        Ok(())
    };
    let inpatient = match &raw.inpatient {
        None => None,
        Some(file) => {
            let field = format!("{path}.inpatient");
            let med_types =
                check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
            claim(format!("{field}.med_types"), &med_types)?;
            let levels = &file.deductible_per_admission;
            let mut deductible_per_admission = [Fen::ZERO; 3];
            for (level_idx, text) in [&levels.level1, &levels.level2, &levels.level3]
                .into_iter()
                .enumerate()
            {
                let level_field =
                    format!("{field}.deductible_per_admission.level{}", level_idx + 1);
                let text = text
                    .as_ref()
                    .ok_or_else(|| check.error(&level_field, "is missing"))?;
                deductible_per_admission[level_idx] = check.money(&level_field, text)?;
            }
            Some(InpatientBenefit {
                med_types,
                deductible_per_admission,
                repeat_admission_factor: check.share(
                    &format!("{field}.repeat_admission_factor"),
                    &file.repeat_admission_factor,
                )?,
                annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
                ratios: check.ratio_table(&field, &file.ratios, &file.adjustments)?,
            })
        }
    };
    check.list_len(&format!("{path}.outpatient"), &raw.outpatient, true)?;
    let mut outpatient = Vec::new();
    for (idx, file) in raw.outpatient.iter().enumerate() {
        let field = format!("{path}.outpatient[{idx}]");
        let med_types = check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
        claim(format!("{field}.med_types"), &med_types)?;
        if let Some(name) = &file.accumulator {
            let standard = [
                "inpatient_admissions",
                "hifp_inpatient",
                "hifp_outpatient",
                "outpatient_deductible",
                "hifob",
                "hifmi_base",
                "hifmi",
                "maf",
                "maf_deductible",
                "chronic",
            ];
            if name.is_empty()
                || name.len() > 40
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || standard.contains(&name.as_str())
            {
                return Err(check.error(
                    format!("{field}.accumulator"),
                    "must be a new name of lowercase letters, digits and _",
                ));
            }
        }
        outpatient.push(OutpatientBenefit {
            med_types,
            annual_deductible: check.money(
                &format!("{field}.annual_deductible"),
                &file.annual_deductible,
            )?,
            annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            accumulator: file.accumulator.clone(),
            ratios: check.ratio_table(&field, &file.ratios, &file.adjustments)?,
        });
    }
    let chronic = match &raw.chronic {
        None => None,
        Some(file) => {
            let field = format!("{path}.chronic");
            let med_types =
                check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
            claim(format!("{field}.med_types"), &med_types)?;
            if !(1..=20).contains(&file.disease_prefix_len) {
                return Err(check.error(
                    format!("{field}.disease_prefix_len"),
                    "must be between 1 and 20",
                ));
            }
            if file.quotas.len() > POLICY_LIST_MAX * 16 {
                return Err(check.error(format!("{field}.quotas"), "too many diseases"));
            }
            let mut quotas = Vec::new();
            for (key, amount) in &file.quotas {
                let quota_field = format!("{field}.quotas.{key}");
                if key.chars().count() != file.disease_prefix_len {
                    return Err(check.error(
                        quota_field,
                        format!(
                            "disease key must have disease_prefix_len = {} characters",
                            file.disease_prefix_len
                        ),
                    ));
                }
                quotas.push((key.clone(), check.money(&quota_field, amount)?));
            }
            Some(ChronicBenefit {
                med_types,
                disease_prefix_len: file.disease_prefix_len,
                quotas,
                ratios: check.ratio_table(&field, &file.ratios, &file.adjustments)?,
            })
        }
    };
    let large_amount = match &raw.large_amount {
        None => None,
        Some(file) => {
            let field = format!("{path}.large_amount");
            Some(LargeAmountLayer {
                fund: check.fund(&format!("{field}.fund"), &file.fund)?,
                med_types: check.med_types(&format!("{field}.med_types"), &file.med_types, true)?,
                ratio: check.share(&format!("{field}.ratio"), &file.ratio)?,
                annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            })
        }
    };
    let serious_illness = match &raw.serious_illness {
        None => None,
        Some(file) => {
            let field = format!("{path}.serious_illness");
            check.list_len(&format!("{field}.rules"), &file.rules, false)?;
            let mut rules = Vec::new();
            for (idx, rule) in file.rules.iter().enumerate() {
                let rule_field = format!("{field}.rules[{idx}]");
                check.list_len(
                    &format!("{rule_field}.sp_psn_types"),
                    &rule.sp_psn_types,
                    true,
                )?;
                let sp_psn_types = rule
                    .sp_psn_types
                    .iter()
                    .enumerate()
                    .map(|(sp_idx, code)| {
                        SpPsnType::parse(code).map_err(|error| {
                            check.error(
                                format!("{rule_field}.sp_psn_types[{sp_idx}]"),
                                error.to_string(),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                check.list_len(
                    &format!("{rule_field}.disease_prefixes"),
                    &rule.disease_prefixes,
                    true,
                )?;
                for (prefix_idx, prefix) in rule.disease_prefixes.iter().enumerate() {
                    if prefix.is_empty()
                        || prefix.len() > 20
                        || !prefix
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.')
                    {
                        return Err(check.error(
                            format!("{rule_field}.disease_prefixes[{prefix_idx}]"),
                            "must be 1 to 20 letters, digits or dots",
                        ));
                    }
                }
                check.list_len(&format!("{rule_field}.bands"), &rule.bands, false)?;
                let mut bands = Vec::new();
                for (band_idx, band) in rule.bands.iter().enumerate() {
                    let band_field = format!("{rule_field}.bands[{band_idx}]");
                    let width = match &band.width {
                        Some(text) => {
                            let width = check.money(&format!("{band_field}.width"), text)?;
                            if width.is_zero() {
                                return Err(
                                    check.error(format!("{band_field}.width"), "must be positive")
                                );
                            }
                            Some(width)
                        }
                        None if band_idx + 1 == rule.bands.len() => None,
                        None => {
                            return Err(check.error(
                                format!("{band_field}.width"),
                                "only the last band may be unbounded",
                            ))
                        }
                    };
                    bands.push(Band {
                        width,
                        ratio: check.share(&format!("{band_field}.ratio"), &band.ratio)?,
                    });
                }
                rules.push(SeriousIllnessRule {
                    sp_psn_types,
                    disease_prefixes: rule.disease_prefixes.clone(),
                    threshold: check.money(&format!("{rule_field}.threshold"), &rule.threshold)?,
                    bands,
                    annual_cap: rule
                        .annual_cap
                        .as_ref()
                        .map(|text| check.money(&format!("{rule_field}.annual_cap"), text))
                        .transpose()?,
                });
            }
            Some(SeriousIllnessLayer {
                fund: check.fund(&format!("{field}.fund"), &file.fund)?,
                med_types: check.med_types(
                    &format!("{field}.med_types"),
                    &file.med_types,
                    false,
                )?,
                rules,
            })
        }
    };
    let assistance = match &raw.assistance {
        None => None,
        Some(file) => {
            let field = format!("{path}.assistance");
            check.list_len(&format!("{field}.categories"), &file.categories, false)?;
            let mut categories: Vec<AssistanceCategory> = Vec::new();
            for (idx, category) in file.categories.iter().enumerate() {
                let category_field = format!("{field}.categories[{idx}]");
                let sp_psn_type = SpPsnType::parse(&category.sp_psn_type).map_err(|error| {
                    check.error(format!("{category_field}.sp_psn_type"), error.to_string())
                })?;
                if categories
                    .iter()
                    .any(|other| other.sp_psn_type == sp_psn_type)
                {
                    return Err(check.error(
                        format!("{category_field}.sp_psn_type"),
                        format!("category {sp_psn_type} appears twice"),
                    ));
                }
                categories.push(AssistanceCategory {
                    sp_psn_type,
                    ratio: check.share(&format!("{category_field}.ratio"), &category.ratio)?,
                    annual_deductible: check.money(
                        &format!("{category_field}.annual_deductible"),
                        &category.annual_deductible,
                    )?,
                    annual_cap: category
                        .annual_cap
                        .as_ref()
                        .map(|text| check.money(&format!("{category_field}.annual_cap"), text))
                        .transpose()?,
                });
            }
            Some(AssistanceLayer {
                fund: check.fund(&format!("{field}.fund"), &file.fund)?,
                med_types: check.med_types(
                    &format!("{field}.med_types"),
                    &file.med_types,
                    false,
                )?,
                categories,
            })
        }
    };
    check.list_len(&format!("{path}.extra_layers"), &raw.extra_layers, true)?;
    let mut extra_layers: Vec<ExtraLayer> = Vec::new();
    for (idx, file) in raw.extra_layers.iter().enumerate() {
        let field = format!("{path}.extra_layers[{idx}]");
        let fund = check.fund(&format!("{field}.fund"), &file.fund)?;
        let known = [
            pooling_fund,
            FundPayType::LARGE_AMOUNT,
            FundPayType::SERIOUS_ILLNESS,
            FundPayType::ASSISTANCE,
            FundPayType::PERSONAL_ACCOUNT,
        ];
        if known.contains(&fund) || extra_layers.iter().any(|other| other.fund == fund) {
            return Err(check.error(
                format!("{field}.fund"),
                format!("fund {fund} is already used by another layer"),
            ));
        }
        let base = match file.base.as_str() {
            "policy_range" => ExtraBase::PolicyRange,
            "with_selfpay" => ExtraBase::WithSelfpay,
            other => {
                return Err(check.error(
                    format!("{field}.base"),
                    format!("must be policy_range or with_selfpay (got {other:?})"),
                ))
            }
        };
        extra_layers.push(ExtraLayer {
            fund,
            name: file.name.clone(),
            med_types: check.med_types(&format!("{field}.med_types"), &file.med_types, true)?,
            psn_types: check.psn_types(&format!("{field}.psn_types"), &file.psn_types)?,
            base,
            annual_deductible: check.money(
                &format!("{field}.annual_deductible"),
                &file.annual_deductible,
            )?,
            ratio: check.share(&format!("{field}.ratio"), &file.ratio)?,
            annual_cap: file
                .annual_cap
                .as_ref()
                .map(|text| check.money(&format!("{field}.annual_cap"), text))
                .transpose()?,
        });
    }
    Ok(Scheme {
        insutype,
        pooling_fund,
        inpatient,
        outpatient,
        chronic,
        large_amount,
        serious_illness,
        assistance,
        extra_layers,
        personal_account: raw
            .personal_account
            .as_ref()
            .map(|file| PersonalAccountRule {
                mutual_aid: file.mutual_aid,
            }),
    })
}
