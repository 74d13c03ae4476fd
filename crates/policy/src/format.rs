//! The policy file format (TOML, documented in `docs/POLICY.md`) and its validation into
//! [`Policy`]. Money and ratios are strings so that they stay exact.

use yibao_core_types::{
    Admdvs, Fen, FundPayType, Insutype, ListType, MedType, NaiveDate, Ratio, SpPsnType,
};

use crate::model::*;
use crate::PolicyError;

/// Largest number of schemes, rows, bands, quotas or layers in one list: a policy is written by
/// hand and read on every settlement, so a longer list is a mistake.
pub const POLICY_LIST_MAX: usize = 64;

/// The national fund codes (`fund_pay_type`, national-interface.md §5.3, national list and the
/// provincial extensions it names): a fund code outside this list is a typo, refused at load.
pub const KNOWN_FUNDS: &[&str] = &[
    "310100", "310101", "310102", "310103", "310200", "310300", "310400", "310500", "320100",
    "320200", "330100", "330200", "340100", "340200", "350100", "370100", "370200", "390100",
    "390101", "390102", "390200", "390300", "390400", "390500", "410100", "510100", "610100",
    "610102", "610103", "610104", "610200", "620100", "630100", "640100", "999109", "999900",
    "999996", "999997",
];

/// The 生育类别 `matn_type` codes (national-interface.md §5.4).
pub const MATN_TYPES: &[&str] = &["1", "2", "3", "4", "5", "6", "7", "9"];

mod check;
mod files;

use check::Check;
use files::*;

/// Parses and validates a policy file. `file_name` is used only in error messages.
///
/// Errors name the file, the field path and the reason; a syntax error carries the TOML
/// parser's line and column.
pub fn parse_policy(file_name: &str, text: &str) -> Result<Policy, PolicyError> {
    let raw: PolicyFile = toml::from_str(text).map_err(|error| PolicyError::Syntax {
        file: file_name.to_owned(),
        reason: error.to_string().trim_end().to_owned(),
    })?;
    let check = Check {
        file: file_name,
        tiers: Vec::new(),
    };
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
    let one_year_later = effective_from
        .checked_add_months(chrono::Months::new(12))
        .unwrap_or(effective_from);
    if effective_until >= one_year_later {
        return Err(check.error(
            "effective_until",
            "an insurance year is at most one year long (accumulators count per insurance year)",
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
    let cross_region = cross_region_from_file(&check, &raw.cross_region)?;
    check.list_len("schemes", &raw.schemes, false)?;
    let mut schemes: Vec<Scheme> = Vec::new();
    for (idx, scheme) in raw.schemes.iter().enumerate() {
        let path = format!("schemes[{idx}]");
        let built = scheme_from_file(file_name, &path, scheme)?;
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
        cross_region,
        schemes,
    })
}

fn filing_kind(
    check: &Check<'_>,
    field: &str,
    text: &str,
) -> Result<Option<FilingKind>, PolicyError> {
    match text {
        "unfiled" => Ok(None),
        "long_term" => Ok(Some(FilingKind::LongTerm)),
        "temporary" => Ok(Some(FilingKind::Temporary)),
        "unspecified" => Ok(Some(FilingKind::Unspecified)),
        other => Err(check.error(
            field,
            format!("must be unfiled, long_term, temporary or unspecified (got {other:?})"),
        )),
    }
}

fn cross_region_from_file(
    check: &Check<'_>,
    raw: &CrossRegionFile,
) -> Result<CrossRegionRule, PolicyError> {
    let unfiled_points = check.points("cross_region.unfiled_points", &raw.unfiled_points)?;
    let emergency_filing = match &raw.emergency_filing {
        None => FilingKind::Unspecified,
        Some(text) => {
            filing_kind(check, "cross_region.emergency_filing", text)?.ok_or_else(|| {
                check.error(
                    "cross_region.emergency_filing",
                    "an emergency cannot count as unfiled",
                )
            })?
        }
    };
    if raw.emergency_filing.is_some() && !raw.emergency_counts_as_filed {
        return Err(check.error(
            "cross_region.emergency_filing",
            "is set but emergency_counts_as_filed is false",
        ));
    }
    check.list_len("cross_region.rules", &raw.rules, true)?;
    let mut rules: Vec<CrossRegionFilingRule> = Vec::new();
    for (idx, rule) in raw.rules.iter().enumerate() {
        let path = format!("cross_region.rules[{idx}]");
        let filing = filing_kind(check, &format!("{path}.filing"), &rule.filing)?;
        let scope = match rule.scope.as_str() {
            "in_province" => CrossScope::InProvince,
            "out_of_province" => CrossScope::OutOfProvince,
            "any" => CrossScope::Any,
            other => {
                return Err(check.error(
                    format!("{path}.scope"),
                    format!("must be in_province, out_of_province or any (got {other:?})"),
                ))
            }
        };
        if rules.iter().any(|earlier| {
            earlier.filing == filing && (earlier.scope == scope || earlier.scope == CrossScope::Any)
        }) {
            return Err(check.error(
                format!("{path}.scope"),
                "an earlier rule already covers this filing kind and scope (it would never apply)",
            ));
        }
        rules.push(CrossRegionFilingRule {
            filing,
            scope,
            points: check.points(&format!("{path}.points"), &rule.points)?,
            deductible_factor: rule
                .deductible_factor
                .as_ref()
                .map(|text| check.factor(&format!("{path}.deductible_factor"), text))
                .transpose()?
                .unwrap_or(Ratio::ONE),
        });
    }
    Ok(CrossRegionRule {
        unfiled_points,
        emergency_counts_as_filed: raw.emergency_counts_as_filed,
        emergency_filing,
        rules,
    })
}

fn scheme_from_file(file_name: &str, path: &str, raw: &SchemeFile) -> Result<Scheme, PolicyError> {
    let mut check = Check {
        file: file_name,
        tiers: Vec::new(),
    };
    let insutype = Insutype::parse(&raw.insutype)
        .map_err(|error| check.error(format!("{path}.insutype"), error.to_string()))?;
    let pooling_fund = check.fund(&format!("{path}.pooling_fund"), &raw.pooling_fund)?;
    check.list_len(&format!("{path}.tiers"), &raw.tiers, true)?;
    for (idx, tier) in raw.tiers.iter().enumerate() {
        if tier.is_empty() || tier.len() > 6 || !tier.bytes().all(|b| b.is_ascii_digit()) {
            return Err(check.error(format!("{path}.tiers[{idx}]"), "a tier is 1 to 6 digits"));
        }
        if raw.tiers[..idx].contains(tier) {
            return Err(check.error(format!("{path}.tiers[{idx}]"), "appears twice"));
        }
    }
    check.tiers = raw.tiers.clone();
    let check = check;
    check.list_len(
        &format!("{path}.class_b_selfpay"),
        &raw.class_b_selfpay,
        true,
    )?;
    let mut class_b_selfpay = Vec::new();
    for (idx, rule) in raw.class_b_selfpay.iter().enumerate() {
        let field = format!("{path}.class_b_selfpay[{idx}]");
        let list_types = rule
            .list_types
            .iter()
            .enumerate()
            .map(|(lt_idx, code)| {
                ListType::parse(code).map_err(|error| {
                    check.error(format!("{field}.list_types[{lt_idx}]"), error.to_string())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        class_b_selfpay.push(ClassBSelfpay {
            list_types,
            share: check.share(&format!("{field}.share"), &rule.share)?,
        });
    }

    // Every med_type belongs to one basic benefit, except that outpatient benefits limited to
    // some people (`when`) may be followed by others for everyone else.
    let mut claimed: Vec<(MedType, String, bool)> = Vec::new();
    let mut claim =
        |field: String, med_types: &[MedType], conditional: bool| -> Result<(), PolicyError> {
            for med_type in med_types {
                if let Some((_, other, other_conditional)) = claimed
                    .iter()
                    .find(|(claimed_type, _, _)| claimed_type == med_type)
                {
                    if !(*other_conditional
                        && other.contains(".outpatient[")
                        && field.contains(".outpatient["))
                    {
                        return Err(check.error(
                            field.clone(),
                            format!("med_type {med_type} is already covered by {other}"),
                        ));
                    }
                }
                claimed.push((*med_type, field.clone(), conditional));
            }
            Ok(())
        };
    let inpatient = match &raw.inpatient {
        None => None,
        Some(file) => {
            let field = format!("{path}.inpatient");
            let benefit = check.inpatient(&field, file, true)?;
            claim(format!("{field}.med_types"), &benefit.med_types, false)?;
            Some(benefit)
        }
    };
    let day_surgery = match &raw.day_surgery {
        None => None,
        Some(file) => {
            let field = format!("{path}.day_surgery");
            let benefit = check.inpatient(&field, file, false)?;
            claim(format!("{field}.med_types"), &benefit.med_types, false)?;
            Some(benefit)
        }
    };
    check.list_len(&format!("{path}.outpatient"), &raw.outpatient, true)?;
    let mut outpatient = Vec::new();
    for (idx, file) in raw.outpatient.iter().enumerate() {
        let field = format!("{path}.outpatient[{idx}]");
        let med_types = check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
        let when = check.conditions(&field, &[], file.when.as_ref())?;
        claim(format!("{field}.med_types"), &med_types, !when.is_empty())?;
        check.accumulator(&format!("{field}.accumulator"), &file.accumulator)?;
        let period_caps = PeriodCaps {
            per_visit: check.opt_money(&format!("{field}.per_visit_cap"), &file.per_visit_cap)?,
            daily: check.opt_money(&format!("{field}.daily_cap"), &file.daily_cap)?,
            monthly: check.opt_money(&format!("{field}.monthly_cap"), &file.monthly_cap)?,
        };
        let ratios = check.ratio_table(&field, &file.ratios, &file.adjustments)?;
        let segments = check.segments(&format!("{field}.segments"), &file.segments, &ratios)?;
        outpatient.push(OutpatientBenefit {
            med_types,
            when,
            name: file.name.clone(),
            annual_deductible: check.money(
                &format!("{field}.annual_deductible"),
                &file.annual_deductible,
            )?,
            deductible_waivers: check.waivers(
                &format!("{field}.deductible_waivers"),
                &file.deductible_waivers,
            )?,
            annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            period_caps,
            accumulator: file.accumulator.clone(),
            ratios,
            segments,
        });
    }
    let chronic = match &raw.chronic {
        None => None,
        Some(file) => Some(chronic_from_file(
            &check,
            &format!("{path}.chronic"),
            file,
            &mut claim,
        )?),
    };
    let maternity = match &raw.maternity {
        None => None,
        Some(file) => {
            let field = format!("{path}.maternity");
            let med_types =
                check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
            claim(format!("{field}.med_types"), &med_types, false)?;
            check.list_len(&format!("{field}.fixed"), &file.fixed, true)?;
            let mut fixed: Vec<MaternityFixed> = Vec::new();
            for (idx, entry) in file.fixed.iter().enumerate() {
                let entry_field = format!("{field}.fixed[{idx}]");
                check.list_len(
                    &format!("{entry_field}.matn_types"),
                    &entry.matn_types,
                    false,
                )?;
                for (m_idx, code) in entry.matn_types.iter().enumerate() {
                    if !MATN_TYPES.contains(&code.as_str()) {
                        return Err(check.error(
                            format!("{entry_field}.matn_types[{m_idx}]"),
                            format!("unknown matn_type {code:?} (known: {MATN_TYPES:?})"),
                        ));
                    }
                    if fixed
                        .iter()
                        .any(|earlier| earlier.matn_types.contains(code))
                    {
                        return Err(check.error(
                            format!("{entry_field}.matn_types[{m_idx}]"),
                            format!("matn_type {code} already has a fixed amount"),
                        ));
                    }
                }
                fixed.push(MaternityFixed {
                    matn_types: entry.matn_types.clone(),
                    amount: check.money(&format!("{entry_field}.amount"), &entry.amount)?,
                });
            }
            let ratios = file
                .ratios
                .as_ref()
                .map(|rows| check.ratio_table(&field, rows, &file.adjustments))
                .transpose()?;
            if fixed.is_empty() && ratios.is_none() {
                return Err(check.error(field, "gives neither fixed amounts nor ratios"));
            }
            Some(MaternityBenefit {
                med_types,
                fund: check.fund(&format!("{field}.fund"), &file.fund)?,
                fixed,
                ratios,
                annual_cap: check.opt_money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            })
        }
    };
    let negotiated_drugs = match &raw.negotiated_drugs {
        None => None,
        Some(file) => {
            let field = format!("{path}.negotiated_drugs");
            if let Some(kind) = &file.pharmacy_kind {
                if !INSTITUTION_KINDS.contains(&kind.as_str()) {
                    return Err(check.error(
                        format!("{field}.pharmacy_kind"),
                        format!("unknown institution kind {kind:?}"),
                    ));
                }
            }
            Some(NegotiatedDrugBenefit {
                med_types: check.med_types(
                    &format!("{field}.med_types"),
                    &file.med_types,
                    false,
                )?,
                pharmacy_kind: file.pharmacy_kind.clone(),
                pharmacy_med_types: check.med_types(
                    &format!("{field}.pharmacy_med_types"),
                    &file.pharmacy_med_types,
                    true,
                )?,
                ratios: check.ratio_table(&field, &file.ratios, &file.adjustments)?,
                annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
            })
        }
    };
    let large_amount = match &raw.large_amount {
        None => None,
        Some(file) => {
            let field = format!("{path}.large_amount");
            let med_types =
                check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
            for (idx, med_type) in med_types.iter().enumerate() {
                if outpatient
                    .iter()
                    .any(|benefit| benefit.med_types.contains(med_type))
                {
                    return Err(check.error(
                        format!("{field}.med_types[{idx}]"),
                        format!(
                            "med_type {med_type} is general outpatient: an amount over an outpatient cap never reaches the large-amount fund"
                        ),
                    ));
                }
                let reaches = inpatient
                    .iter()
                    .chain(day_surgery.iter())
                    .any(|b| b.med_types.contains(med_type))
                    || chronic
                        .as_ref()
                        .is_some_and(|b| b.med_types.contains(med_type));
                if !reaches {
                    return Err(check.error(
                        format!("{field}.med_types[{idx}]"),
                        format!("med_type {med_type} has no inpatient, day-surgery or chronic benefit whose cap it could pay over"),
                    ));
                }
            }
            Some(LargeAmountLayer {
                fund: check.fund(&format!("{field}.fund"), &file.fund)?,
                med_types,
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
                let mut when = check.conditions(&rule_field, &[], rule.when.as_ref())?;
                let legacy_sp = check
                    .sp_psn_types(&format!("{rule_field}.sp_psn_types"), &rule.sp_psn_types)?;
                if !legacy_sp.is_empty() {
                    if !when.sp_psn_types.is_empty() {
                        return Err(check.error(
                            format!("{rule_field}.sp_psn_types"),
                            "give sp_psn_types either beside the rule or in when, not both",
                        ));
                    }
                    when.sp_psn_types = legacy_sp;
                }
                check.list_len(
                    &format!("{rule_field}.disease_prefixes"),
                    &rule.disease_prefixes,
                    true,
                )?;
                if !rule.disease_prefixes.is_empty() {
                    if !when.diseases.is_empty() {
                        return Err(check.error(
                            format!("{rule_field}.disease_prefixes"),
                            "give diseases either beside the rule or in when, not both",
                        ));
                    }
                    for (prefix_idx, prefix) in rule.disease_prefixes.iter().enumerate() {
                        when.diseases.push(check.disease_range(
                            &format!("{rule_field}.disease_prefixes[{prefix_idx}]"),
                            prefix,
                        )?);
                    }
                }
                rules.push(SeriousIllnessRule {
                    when,
                    threshold: check.money(&format!("{rule_field}.threshold"), &rule.threshold)?,
                    bands: check.bands(&format!("{rule_field}.bands"), &rule.bands, false)?,
                    annual_cap: check
                        .opt_money(&format!("{rule_field}.annual_cap"), &rule.annual_cap)?,
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
                    annual_cap: check.opt_money(
                        &format!("{category_field}.annual_cap"),
                        &category.annual_cap,
                    )?,
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
        if known.contains(&fund)
            || extra_layers.iter().any(|other| other.fund == fund)
            || maternity.as_ref().is_some_and(|m| m.fund == fund)
        {
            return Err(check.error(
                format!("{field}.fund"),
                format!("fund {fund} is already used by another layer"),
            ));
        }
        let base = match file.base.as_str() {
            "policy_range" => ExtraBase::PolicyRange,
            "with_selfpay" => ExtraBase::WithSelfpay,
            "all" => ExtraBase::All,
            other => {
                return Err(check.error(
                    format!("{field}.base"),
                    format!("must be policy_range, with_selfpay or all (got {other:?})"),
                ))
            }
        };
        let bands = check.bands(&format!("{field}.bands"), &file.bands, true)?;
        let ratio = match (&file.ratio, bands.is_empty()) {
            (Some(text), true) => check.share(&format!("{field}.ratio"), text)?,
            (None, false) => Ratio::ZERO,
            (Some(_), false) => {
                return Err(check.error(
                    format!("{field}.ratio"),
                    "give either ratio or bands, not both",
                ))
            }
            (None, true) => {
                return Err(
                    check.error(format!("{field}.ratio"), "is missing (give ratio or bands)")
                )
            }
        };
        extra_layers.push(ExtraLayer {
            fund,
            name: file.name.clone(),
            med_types: check.med_types(&format!("{field}.med_types"), &file.med_types, false)?,
            when: check.conditions(&field, &file.psn_types, file.when.as_ref())?,
            base,
            annual_deductible: check.money(
                &format!("{field}.annual_deductible"),
                &file.annual_deductible,
            )?,
            ratio,
            bands,
            annual_cap: check.opt_money(&format!("{field}.annual_cap"), &file.annual_cap)?,
        });
    }
    check.list_len(&format!("{path}.shared_caps"), &raw.shared_caps, true)?;
    let mut used_funds: Vec<FundPayType> = vec![pooling_fund];
    used_funds.extend(large_amount.iter().map(|l| l.fund));
    used_funds.extend(serious_illness.iter().map(|l| l.fund));
    used_funds.extend(assistance.iter().map(|l| l.fund));
    used_funds.extend(maternity.iter().map(|l| l.fund));
    used_funds.extend(extra_layers.iter().map(|l| l.fund));
    let mut shared_caps: Vec<SharedCap> = Vec::new();
    for (idx, file) in raw.shared_caps.iter().enumerate() {
        let field = format!("{path}.shared_caps[{idx}]");
        check.accumulator(&format!("{field}.name"), &Some(file.name.clone()))?;
        if shared_caps.iter().any(|cap| cap.name == file.name) {
            return Err(check.error(format!("{field}.name"), "appears twice"));
        }
        check.list_len(&format!("{field}.funds"), &file.funds, false)?;
        let mut funds = Vec::new();
        for (f_idx, code) in file.funds.iter().enumerate() {
            let fund_field = format!("{field}.funds[{f_idx}]");
            let fund = check.fund(&fund_field, code)?;
            if !used_funds.contains(&fund) {
                return Err(check.error(
                    fund_field,
                    format!("fund {fund} is not paid by any layer of this scheme"),
                ));
            }
            funds.push(fund);
        }
        shared_caps.push(SharedCap {
            name: file.name.clone(),
            funds,
            annual_cap: check.money(&format!("{field}.annual_cap"), &file.annual_cap)?,
        });
    }
    Ok(Scheme {
        insutype,
        pooling_fund,
        tiers: raw.tiers.clone(),
        class_b_selfpay,
        inpatient,
        day_surgery,
        outpatient,
        chronic,
        maternity,
        negotiated_drugs,
        large_amount,
        serious_illness,
        assistance,
        extra_layers,
        shared_caps,
        personal_account: raw
            .personal_account
            .as_ref()
            .map(|file| PersonalAccountRule {
                mutual_aid: file.mutual_aid,
            }),
    })
}

fn chronic_from_file(
    check: &Check<'_>,
    field: &str,
    file: &ChronicFile,
    claim: &mut impl FnMut(String, &[MedType], bool) -> Result<(), PolicyError>,
) -> Result<ChronicBenefit, PolicyError> {
    let med_types = check.med_types(&format!("{field}.med_types"), &file.med_types, false)?;
    claim(format!("{field}.med_types"), &med_types, false)?;
    let ratios = check.ratio_table(field, &file.ratios, &file.adjustments)?;
    let mut diseases: Vec<ChronicDisease> = Vec::new();
    if !file.quotas.is_empty() {
        let prefix_len = file.disease_prefix_len.ok_or_else(|| {
            check.error(
                format!("{field}.disease_prefix_len"),
                "is required with quotas",
            )
        })?;
        if !(1..=20).contains(&prefix_len) {
            return Err(check.error(
                format!("{field}.disease_prefix_len"),
                "must be between 1 and 20",
            ));
        }
        if file.quotas.len() > POLICY_LIST_MAX * 16 {
            return Err(check.error(format!("{field}.quotas"), "too many diseases"));
        }
        for (key, amount) in &file.quotas {
            let quota_field = format!("{field}.quotas.{key}");
            if key.chars().count() != prefix_len {
                return Err(check.error(
                    quota_field,
                    format!("disease key must have disease_prefix_len = {prefix_len} characters"),
                ));
            }
            diseases.push(ChronicDisease {
                key: key.clone(),
                codes: vec![check.disease_range(&quota_field, key)?],
                quota: check.money(&quota_field, amount)?,
                ratios: None,
                shares_inpatient_cap: false,
            });
        }
    } else if file.disease_prefix_len.is_some() {
        return Err(check.error(
            format!("{field}.disease_prefix_len"),
            "is only used with quotas",
        ));
    }
    check.list_len(&format!("{field}.diseases"), &file.diseases, true)?;
    for (idx, disease) in file.diseases.iter().enumerate() {
        let disease_field = format!("{field}.diseases[{idx}]");
        let key = &disease.key;
        if key.is_empty()
            || key.len() > 40
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(check.error(
                format!("{disease_field}.key"),
                "1 to 40 letters, digits, _ or .",
            ));
        }
        if key == "deductible" || diseases.iter().any(|other| &other.key == key) {
            return Err(check.error(
                format!("{disease_field}.key"),
                format!("key {key:?} is already used"),
            ));
        }
        check.list_len(&format!("{disease_field}.codes"), &disease.codes, false)?;
        let codes = disease
            .codes
            .iter()
            .enumerate()
            .map(|(c_idx, text)| {
                check.disease_range(&format!("{disease_field}.codes[{c_idx}]"), text)
            })
            .collect::<Result<Vec<_>, _>>()?;
        diseases.push(ChronicDisease {
            key: key.clone(),
            codes,
            quota: check.money(&format!("{disease_field}.quota"), &disease.quota)?,
            ratios: disease
                .ratios
                .as_ref()
                .map(|rows| check.ratio_table(&disease_field, rows, &disease.adjustments))
                .transpose()?,
            shares_inpatient_cap: disease.shares_inpatient_cap,
        });
    }
    if diseases.is_empty() {
        return Err(check.error(
            format!("{field}.diseases"),
            "a chronic benefit needs quotas or diseases",
        ));
    }
    let combined = match &file.combined {
        None => None,
        Some(combined) => Some(CombinedQuota {
            extra_per_disease: check.money(
                &format!("{field}.combined.extra_per_disease"),
                &combined.extra_per_disease,
            )?,
            max: check.opt_money(&format!("{field}.combined.max"), &combined.max)?,
        }),
    };
    if combined.is_some() && !file.require_recognition {
        return Err(check.error(
            format!("{field}.combined"),
            "combined quotas need require_recognition = true (the recognised diseases say which combine)",
        ));
    }
    Ok(ChronicBenefit {
        med_types,
        diseases,
        annual_deductible: check
            .opt_money(
                &format!("{field}.annual_deductible"),
                &file.annual_deductible,
            )?
            .unwrap_or(Fen::ZERO),
        deductible_waivers: check.waivers(
            &format!("{field}.deductible_waivers"),
            &file.deductible_waivers,
        )?,
        require_recognition: file.require_recognition,
        combined,
        ratios,
    })
}
