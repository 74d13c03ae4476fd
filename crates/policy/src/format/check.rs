//! Validation of a policy file's values: money, shares, points, codes, conditions, ratio tables,
//! segments, waivers, bands and the inpatient shape, each error naming the file, the field path
//! and the reason.

use yibao_core_types::{Fen, FundPayType, MedType, Ratio, SpPsnType};

use super::files::*;
use super::{KNOWN_FUNDS, POLICY_LIST_MAX};
use crate::model::*;
use crate::PolicyError;

/// Validation context: the file name and a way to build errors at a field path.
pub(super) struct Check<'a> {
    pub(super) file: &'a str,
    /// The contribution tiers of the scheme being checked (conditions may only name these).
    pub(super) tiers: Vec<String>,
}

/// The names the standard accumulators already use; a policy-named accumulator may not.
const STANDARD_ACCUMULATORS: [&str; 12] = [
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
    "negotiated",
    "maternity",
];

impl Check<'_> {
    pub(super) fn error(&self, field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
        PolicyError::Invalid {
            file: self.file.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(super) fn money(&self, field: &str, text: &str) -> Result<Fen, PolicyError> {
        Fen::parse_non_negative(text).map_err(|error| self.error(field, error.to_string()))
    }

    pub(super) fn opt_money(
        &self,
        field: &str,
        text: &Option<String>,
    ) -> Result<Option<Fen>, PolicyError> {
        text.as_ref()
            .map(|text| self.money(field, text))
            .transpose()
    }

    pub(super) fn share(&self, field: &str, text: &str) -> Result<Ratio, PolicyError> {
        Ratio::parse_unit(text)
            .map_err(|error| self.error(field, format!("{error} (a share in [0, 1])")))
    }

    pub(super) fn points(&self, field: &str, text: &str) -> Result<Ratio, PolicyError> {
        let points = Ratio::parse(text).map_err(|error| self.error(field, error.to_string()))?;
        if !(-1_000_000..=1_000_000).contains(&points.0) {
            return Err(self.error(field, "points must lie in [-1, 1]"));
        }
        Ok(points)
    }

    pub(super) fn factor(&self, field: &str, text: &str) -> Result<Ratio, PolicyError> {
        let factor = Ratio::parse(text).map_err(|error| self.error(field, error.to_string()))?;
        if !(0..=10_000_000).contains(&factor.0) {
            return Err(self.error(field, "a factor must lie in [0, 10]"));
        }
        Ok(factor)
    }

    pub(super) fn fund(&self, field: &str, text: &str) -> Result<FundPayType, PolicyError> {
        let fund =
            FundPayType::parse(text).map_err(|error| self.error(field, error.to_string()))?;
        if !KNOWN_FUNDS.contains(&fund.as_str()) {
            return Err(self.error(
                field,
                format!("unknown fund_pay_type {fund} (not a national fund code)"),
            ));
        }
        Ok(fund)
    }

    pub(super) fn list_len<T>(
        &self,
        field: &str,
        list: &[T],
        allow_empty: bool,
    ) -> Result<(), PolicyError> {
        if list.len() > POLICY_LIST_MAX {
            return Err(self.error(field, format!("more than {POLICY_LIST_MAX} entries")));
        }
        if !allow_empty && list.is_empty() {
            return Err(self.error(field, "must not be empty"));
        }
        Ok(())
    }

    pub(super) fn med_types(
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

    pub(super) fn psn_types(
        &self,
        field: &str,
        prefixes: &[String],
    ) -> Result<Vec<String>, PolicyError> {
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

    pub(super) fn sp_psn_types(
        &self,
        field: &str,
        codes: &[String],
    ) -> Result<Vec<SpPsnType>, PolicyError> {
        self.list_len(field, codes, true)?;
        codes
            .iter()
            .enumerate()
            .map(|(idx, code)| {
                SpPsnType::parse(code)
                    .map_err(|error| self.error(format!("{field}[{idx}]"), error.to_string()))
            })
            .collect()
    }

    pub(super) fn disease_range(
        &self,
        field: &str,
        text: &str,
    ) -> Result<DiseaseRange, PolicyError> {
        let valid = |code: &str| {
            !code.is_empty()
                && code.len() <= 20
                && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        };
        let (from, to) = text.split_once('-').unwrap_or((text, text));
        if !valid(from) || !valid(to) {
            return Err(self.error(
                field,
                format!("a disease code or range like I10 or E10-E14 (got {text:?})"),
            ));
        }
        if from.len() != to.len() || from > to {
            return Err(self.error(
                field,
                format!("a range's ends must have the same length and be in order (got {text:?})"),
            ));
        }
        Ok(DiseaseRange {
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }

    /// Builds conditions from a `when` table plus the legacy row-level `psn_types`.
    pub(super) fn conditions(
        &self,
        field: &str,
        legacy_psn_types: &[String],
        when: Option<&ConditionsFile>,
    ) -> Result<Conditions, PolicyError> {
        let empty = ConditionsFile::default();
        let file = when.unwrap_or(&empty);
        if !legacy_psn_types.is_empty() && !file.psn_types.is_empty() {
            return Err(self.error(
                format!("{field}.psn_types"),
                "give psn_types either beside the row or in when, not both",
            ));
        }
        let when_field = format!("{field}.when");
        let psn_types = if legacy_psn_types.is_empty() {
            self.psn_types(&format!("{when_field}.psn_types"), &file.psn_types)?
        } else {
            self.psn_types(&format!("{field}.psn_types"), legacy_psn_types)?
        };
        if let (Some(min), Some(max)) = (file.age_min, file.age_max) {
            if min > max {
                return Err(self.error(format!("{when_field}.age_min"), "is above age_max"));
            }
        }
        for bound in [file.age_min, file.age_max].into_iter().flatten() {
            if bound > 150 {
                return Err(self.error(format!("{when_field}.age_max"), "ages lie in 0..=150"));
            }
        }
        let sp_psn_types =
            self.sp_psn_types(&format!("{when_field}.sp_psn_types"), &file.sp_psn_types)?;
        self.list_len(&format!("{when_field}.tiers"), &file.tiers, true)?;
        for (idx, tier) in file.tiers.iter().enumerate() {
            if !self.tiers.contains(tier) {
                return Err(self.error(
                    format!("{when_field}.tiers[{idx}]"),
                    format!(
                        "unknown tier {tier:?}: the scheme's tiers are {:?}",
                        self.tiers
                    ),
                ));
            }
        }
        self.list_len(
            &format!("{when_field}.institution_kinds"),
            &file.institution_kinds,
            true,
        )?;
        for (idx, kind) in file.institution_kinds.iter().enumerate() {
            if !INSTITUTION_KINDS.contains(&kind.as_str()) {
                return Err(self.error(
                    format!("{when_field}.institution_kinds[{idx}]"),
                    format!("unknown institution kind {kind:?} (known: {INSTITUTION_KINDS:?})"),
                ));
            }
        }
        self.list_len(&format!("{when_field}.diseases"), &file.diseases, true)?;
        let diseases = file
            .diseases
            .iter()
            .enumerate()
            .map(|(idx, text)| self.disease_range(&format!("{when_field}.diseases[{idx}]"), text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Conditions {
            psn_types,
            age_min: file.age_min,
            age_max: file.age_max,
            sp_psn_types,
            tiers: file.tiers.clone(),
            institution_kinds: file.institution_kinds.clone(),
            referral: file.referral,
            diseases,
        })
    }

    pub(super) fn ratio_table(
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
            let when = self.conditions(&path, &row.psn_types, row.when.as_ref())?;
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
            table.rows.push(RatioRow { when, by_level });
        }
        for (idx, adjustment) in adjustments.iter().enumerate() {
            let path = format!("{field}.adjustments[{idx}]");
            let when = self.conditions(&path, &adjustment.psn_types, adjustment.when.as_ref())?;
            if when.is_empty() {
                return Err(self.error(
                    format!("{path}.when"),
                    "an adjustment must name who it is for (psn_types or when)",
                ));
            }
            let points = self.points(&format!("{path}.points"), &adjustment.points)?;
            table.adjustments.push(RatioAdjustment { when, points });
        }
        let reach = table.highest_reach();
        if reach > Ratio::ONE {
            return Err(self.error(
                format!("{field}.adjustments"),
                format!(
                    "the highest ratio plus every positive adjustment reaches {reach}: the fund would pay more than the policy-range amount"
                ),
            ));
        }
        Ok(table)
    }

    pub(super) fn segments(
        &self,
        field: &str,
        files: &[SegmentFile],
        table: &RatioTable,
    ) -> Result<Vec<Segment>, PolicyError> {
        self.list_len(field, files, true)?;
        let mut segments: Vec<Segment> = Vec::new();
        for (idx, file) in files.iter().enumerate() {
            let path = format!("{field}[{idx}]");
            let above = self.money(&format!("{path}.above"), &file.above)?;
            if let Some(previous) = segments.last() {
                if above <= previous.above {
                    return Err(self.error(
                        format!("{path}.above"),
                        format!(
                            "segments overlap: {above} is not above the previous segment's start {}",
                            previous.above
                        ),
                    ));
                }
            }
            let points = self.points(&format!("{path}.points"), &file.points)?;
            let reach = table.highest_reach() + points;
            if reach > Ratio::ONE {
                return Err(self.error(
                    format!("{path}.points"),
                    format!("the ratio in this segment reaches {reach}: the fund would pay more than the policy-range amount"),
                ));
            }
            segments.push(Segment { above, points });
        }
        Ok(segments)
    }

    pub(super) fn waivers(
        &self,
        field: &str,
        files: &[WaiverFile],
    ) -> Result<Vec<DeductibleWaiver>, PolicyError> {
        self.list_len(field, files, true)?;
        files
            .iter()
            .enumerate()
            .map(|(idx, file)| {
                let path = format!("{field}[{idx}]");
                let when = self.conditions(&path, &[], Some(&file.when))?;
                if when.is_empty() {
                    return Err(
                        self.error(format!("{path}.when"), "a waiver must name who it is for")
                    );
                }
                Ok(DeductibleWaiver {
                    when,
                    factor: self.share(&format!("{path}.factor"), &file.factor)?,
                })
            })
            .collect()
    }

    pub(super) fn accumulator(
        &self,
        field: &str,
        name: &Option<String>,
    ) -> Result<(), PolicyError> {
        if let Some(name) = name {
            if name.is_empty()
                || name.len() > 40
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || STANDARD_ACCUMULATORS.contains(&name.as_str())
            {
                return Err(self.error(
                    field,
                    "must be a new name of lowercase letters, digits and _",
                ));
            }
        }
        Ok(())
    }

    pub(super) fn bands(
        &self,
        field: &str,
        files: &[BandFile],
        allow_empty: bool,
    ) -> Result<Vec<Band>, PolicyError> {
        self.list_len(field, files, allow_empty)?;
        let mut bands = Vec::new();
        for (band_idx, band) in files.iter().enumerate() {
            let band_field = format!("{field}[{band_idx}]");
            let width = match &band.width {
                Some(text) => {
                    let width = self.money(&format!("{band_field}.width"), text)?;
                    if width.is_zero() {
                        return Err(self.error(format!("{band_field}.width"), "must be positive"));
                    }
                    Some(width)
                }
                None if band_idx + 1 == files.len() => None,
                None => {
                    return Err(self.error(
                        format!("{band_field}.width"),
                        "only the last band may be unbounded",
                    ))
                }
            };
            bands.push(Band {
                width,
                ratio: self.share(&format!("{band_field}.ratio"), &band.ratio)?,
            });
        }
        Ok(bands)
    }

    pub(super) fn inpatient(
        &self,
        field: &str,
        file: &InpatientFile,
        default_counts: bool,
    ) -> Result<InpatientBenefit, PolicyError> {
        let med_types = self.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
        let levels = &file.deductible_per_admission;
        let mut deductible_per_admission = [Fen::ZERO; 3];
        for (level_idx, text) in [&levels.level1, &levels.level2, &levels.level3]
            .into_iter()
            .enumerate()
        {
            let level_field = format!("{field}.deductible_per_admission.level{}", level_idx + 1);
            let text = text
                .as_ref()
                .ok_or_else(|| self.error(&level_field, "is missing"))?;
            deductible_per_admission[level_idx] = self.money(&level_field, text)?;
        }
        let admission_factors = match (&file.repeat_admission_factor, &file.admission_factors) {
            (Some(_), Some(_)) => {
                return Err(self.error(
                    format!("{field}.admission_factors"),
                    "give either repeat_admission_factor or admission_factors, not both",
                ))
            }
            (Some(repeat), None) => vec![
                Ratio::ONE,
                self.share(&format!("{field}.repeat_admission_factor"), repeat)?,
            ],
            (None, Some(factors)) => {
                self.list_len(&format!("{field}.admission_factors"), factors, false)?;
                factors
                    .iter()
                    .enumerate()
                    .map(|(idx, text)| {
                        self.share(&format!("{field}.admission_factors[{idx}]"), text)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            (None, None) => {
                return Err(self.error(
                    format!("{field}.admission_factors"),
                    "is missing (give admission_factors or repeat_admission_factor)",
                ))
            }
        };
        self.accumulator(&format!("{field}.accumulator"), &file.accumulator)?;
        let ratios = self.ratio_table(field, &file.ratios, &file.adjustments)?;
        let segments = self.segments(&format!("{field}.segments"), &file.segments, &ratios)?;
        Ok(InpatientBenefit {
            med_types,
            counts_as_admission: file.counts_as_admission.unwrap_or(default_counts),
            deductible_per_admission,
            admission_factors,
            transfer_factor: file
                .transfer_factor
                .as_ref()
                .map(|text| self.share(&format!("{field}.transfer_factor"), text))
                .transpose()?,
            deductible_waivers: self.waivers(
                &format!("{field}.deductible_waivers"),
                &file.deductible_waivers,
            )?,
            annual_cap: self.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            accumulator: file.accumulator.clone(),
            ratios,
            segments,
        })
    }
}
