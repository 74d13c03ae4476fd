//! The basic pooling fund (spec 4.1) as the policy language writes it: the visit's cross-region
//! outcome, the ratio a table gives the person (conditions, adjustments, cost segments), the
//! deductible (admission counts, waivers, transfers), period and shared caps, and the benefit
//! that covers the bill's `med_type` — inpatient, day surgery, outpatient, chronic, maternity —
//! with negotiated drugs paid apart. [`crate::engine::settle`] runs the layers above it.

use std::fmt::Write as _;

use yibao_core_types::{Fen, FundPayType, Ratio};
use yibao_policy::{
    find_waiver, level_idx, CrossScope, DeductibleWaiver, Policy, RatioTable, Scheme, Segment,
    Subject,
};

use crate::engine::{add_other, add_shared, bad_value, min_room, shared_room, SettleError};
use crate::input::{SettleInput, Ytd};
use crate::trace::{LayerDetail, LayerKind, LayerStep, RatioSource, Skip};

/// What the visit's place and filing do to the basic fund (异地就医).
#[derive(Debug, Clone)]
pub(crate) struct CrossOutcome {
    /// The visit is outside the pooling region and has no filing (nor counts as filed).
    pub(crate) unfiled: bool,
    /// Points on the basic ratio.
    points: Ratio,
    /// Factor on the basic benefit's deductible.
    deductible_factor: Ratio,
    /// For the trace; empty for a local visit.
    pub(crate) note: String,
}

pub(crate) fn cross_outcome(policy: &Policy, input: &SettleInput) -> CrossOutcome {
    let visit = &input.visit;
    let local = CrossOutcome {
        unfiled: false,
        points: Ratio::ZERO,
        deductible_factor: Ratio::ONE,
        note: String::new(),
    };
    if policy.admdvs.contains(visit.mdtrtarea_admvs) {
        return local;
    }
    let rule = &policy.cross_region;
    let emergency_filing =
        (visit.emergency && rule.emergency_counts_as_filed).then_some(rule.emergency_filing);
    let filing = visit.filing.or(emergency_filing);
    let same_province =
        policy.admdvs.to_string().get(..2) == visit.mdtrtarea_admvs.to_string().get(..2);
    let found = rule.rules.iter().find(|candidate| {
        candidate.filing == filing
            && match candidate.scope {
                CrossScope::Any => true,
                CrossScope::InProvince => same_province,
                CrossScope::OutOfProvince => !same_province,
            }
    });
    let scope_zh = if same_province {
        "省内异地"
    } else {
        "跨省异地"
    };
    let filing_zh = match (visit.filing, emergency_filing) {
        (Some(kind), _) => kind.name_zh().to_owned(),
        (None, Some(kind)) => format!("急诊视同{}", kind.name_zh()),
        (None, None) => "未备案".to_owned(),
    };
    let (points, deductible_factor, source) = match (found, filing) {
        (Some(found), _) => (found.points, found.deductible_factor, "异地规则"),
        (None, None) => (rule.unfiled_points, Ratio::ONE, "未备案调整"),
        (None, Some(_)) => (Ratio::ZERO, Ratio::ONE, "无调整"),
    };
    let mut note = format!(
        "{scope_zh}就医（{filing_zh}）：{source}，统筹比例调整 {}",
        percent(points)
    );
    if deductible_factor != Ratio::ONE {
        let _ = write!(note, "，起付线 × {deductible_factor}");
    }
    CrossOutcome {
        unfiled: filing.is_none(),
        points,
        deductible_factor,
        note,
    }
}

pub(crate) fn percent(ratio: Ratio) -> String {
    format!("{}%", Ratio(ratio.0 * 100))
}

/// The subject of the policy's conditions: the person and the visit.
pub(crate) fn subject(input: &SettleInput) -> Subject<'_> {
    Subject {
        psn_type: input.person.psn_type,
        age: input.person.age,
        sp_psn_types: &input.person.sp_psn_types,
        tier: input.person.tier.as_deref(),
        institution_kinds: &input.visit.institution_kinds,
        referral: input.visit.referral,
        dise_codg: &input.visit.dise_codg,
    }
}

/// A basic ratio: table row + adjustments + cross-region points, clamped to [0, 1]; with the
/// notes that explain the adjustments.
fn table_ratio(
    table: &RatioTable,
    input: &SettleInput,
    cross: &CrossOutcome,
    notes: &mut Vec<String>,
) -> Option<(Ratio, RatioSource)> {
    let lookup = table.lookup(input.visit.hi_setl_lv, &subject(input))?;
    let row = &table.rows[lookup.row_idx];
    if !row.when.is_empty() {
        notes.push(format!(
            "比例表第 {} 行适用条件：{}",
            lookup.row_idx + 1,
            row.when.describe()
        ));
    }
    for &idx in &lookup.adjustments_applied {
        let adjustment = &table.adjustments[idx];
        notes.push(format!(
            "比例调整 {}（{}）",
            percent(adjustment.points),
            adjustment.when.describe()
        ));
    }
    let ratio = (lookup.table_ratio + lookup.adjustment_points + cross.points).clamp_unit();
    Some((
        ratio,
        RatioSource::Table {
            row_idx: lookup.row_idx,
            table_ratio: lookup.table_ratio,
            adjustment_points: lookup.adjustment_points,
            cross_region_points: cross.points,
        },
    ))
}

/// The pieces of a segmented base: `(start, ratio)` ascending; without segments one piece.
fn pieces(ratio: Ratio, segments: &[Segment]) -> Vec<(Fen, Ratio)> {
    let mut pieces = Vec::with_capacity(segments.len() + 1);
    if segments.first().is_none_or(|first| !first.above.is_zero()) {
        pieces.push((Fen::ZERO, ratio));
    }
    for segment in segments {
        pieces.push((segment.above, (ratio + segment.points).clamp_unit()));
    }
    pieces
}

/// `Σ overlap(base, piece) × ratio` in fen × ppm, and each piece's part (for the trace).
fn segmented(base: Fen, pieces: &[(Fen, Ratio)]) -> (i128, Vec<(Fen, Ratio)>) {
    let mut total = 0i128;
    let mut parts = Vec::new();
    for (idx, &(start, ratio)) in pieces.iter().enumerate() {
        let end = pieces
            .get(idx + 1)
            .map_or(base, |&(next, _)| next.min(base));
        if base <= start {
            break;
        }
        let part = end - start;
        total += i128::from(part.0) * i128::from(ratio.0);
        parts.push((part, ratio));
    }
    (total, parts)
}

/// The part of the base a capped payment covers: the inverse of [`segmented`], rounded half up.
fn covered_base(paid: Fen, pieces: &[(Fen, Ratio)], base: Fen) -> Fen {
    let mut remaining = i128::from(paid.0) * Ratio::ONE_PPM;
    let mut covered = Fen::ZERO;
    for (idx, &(start, ratio)) in pieces.iter().enumerate() {
        let end = pieces
            .get(idx + 1)
            .map_or(base, |&(next, _)| next.min(base));
        if base <= start || remaining <= 0 || ratio.0 <= 0 {
            break;
        }
        let full = i128::from((end - start).0) * i128::from(ratio.0);
        if full <= remaining {
            remaining -= full;
            covered = end;
        } else {
            let part = yibao_core_types::round_half_up(remaining, i128::from(ratio.0));
            return start + Fen(part as i64);
        }
    }
    covered
}

/// A ratio-based basic step over `base_before`: deductible, segments, cap; with the part of the
/// base the cap cut off (`overcap_base`).
#[allow(clippy::too_many_arguments)]
fn ratio_step(
    kind: LayerKind,
    fund: FundPayType,
    base_before: Fen,
    deductible_open: Fen,
    (ratio, ratio_source): (Ratio, RatioSource),
    segments: &[Segment],
    cap_room: Fen,
    detail: LayerDetail,
    mut notes: Vec<String>,
) -> (LayerStep, Fen) {
    let deductible_used = base_before.min(deductible_open.at_least_zero());
    let base = base_before - deductible_used;
    let (raw, amount, overcap_base) = if segments.is_empty() {
        // One ratio for the whole base (the common case): no pieces to build.
        let raw = base.mul_ratio(ratio);
        let amount = raw.min(cap_room.at_least_zero());
        let overcap_base = if amount < raw {
            base - amount.div_ratio(ratio)
        } else {
            Fen::ZERO
        };
        (raw, amount, overcap_base)
    } else {
        let pieces = pieces(ratio, segments);
        let (exact, parts) = segmented(base, &pieces);
        let raw = Fen(yibao_core_types::round_half_up(exact, Ratio::ONE_PPM) as i64);
        let described: Vec<String> = parts
            .iter()
            .map(|(part, ratio)| format!("{part} × {}", percent(*ratio)))
            .collect();
        notes.push(format!("分段比例：{} = {raw}", described.join(" + ")));
        let amount = raw.min(cap_room.at_least_zero());
        let overcap_base = if amount < raw {
            base - covered_base(amount, &pieces, base)
        } else {
            Fen::ZERO
        };
        (raw, amount, overcap_base)
    };
    let step = LayerStep {
        kind,
        fund,
        skipped: None,
        base_before_deductible: base_before,
        deductible_open,
        deductible_used,
        base,
        ratio,
        ratio_source,
        raw,
        cap_room_before: Some(cap_room),
        amount,
        detail,
        notes,
    };
    (step, overcap_base)
}

/// Applies deductible waivers (identity) to a deductible, with a note.
fn waived(
    deductible: Fen,
    waivers: &[DeductibleWaiver],
    input: &SettleInput,
    notes: &mut Vec<String>,
) -> Fen {
    match find_waiver(waivers, &subject(input)) {
        Some((_, waiver)) => {
            notes.push(format!(
                "起付线减免（{}）：× {}",
                waiver.when.describe(),
                waiver.factor
            ));
            deductible.mul_ratio(waiver.factor)
        }
        None => deductible,
    }
}

/// The basic fund's steps for the bill and the `overcap_base` the large-amount fund may pay on.
pub(crate) struct Basic {
    pub(crate) steps: Vec<LayerStep>,
    /// The main step's ratio (for `pool_prop_selfpay`).
    pub(crate) ratio: Ratio,
    /// What the cap of an inpatient-type benefit or a chronic quota cut off; the large-amount
    /// fund pays on it only for the `med_type`s its policy lists (outpatient types never).
    pub(crate) overcap_base: Fen,
}

impl Basic {
    /// One computed step and the part of its base its cap cut off.
    fn single(step: LayerStep, overcap_base: Fen) -> Basic {
        Basic {
            ratio: step.ratio,
            steps: vec![step],
            overcap_base,
        }
    }
}

fn skipped_basic(kind: LayerKind, fund: FundPayType, skip: Skip) -> Basic {
    Basic {
        steps: vec![LayerStep::skipped(kind, fund, skip)],
        ratio: Ratio::ZERO,
        overcap_base: Fen::ZERO,
    }
}

/// The basic pooling fund (4.1) on `policy_range` (the bill's policy range less any negotiated
/// drugs paid apart).
#[allow(clippy::too_many_lines)]
pub(crate) fn basic_fund(
    policy: &Policy,
    scheme: &Scheme,
    input: &SettleInput,
    policy_range: Fen,
    cross: &CrossOutcome,
    delta: &mut Ytd,
) -> Result<Basic, SettleError> {
    let visit = &input.visit;
    let ytd = &input.person.ytd;
    let fund = scheme.pooling_fund;
    let med_type = visit.med_type;

    // Inpatient and day surgery: per-admission deductible.
    let inpatient_like = [
        (scheme.inpatient.as_ref(), LayerKind::BasicInpatient),
        (scheme.day_surgery.as_ref(), LayerKind::BasicDaySurgery),
    ];
    for (benefit, kind) in inpatient_like {
        let Some(benefit) = benefit.filter(|benefit| benefit.med_types.contains(&med_type)) else {
            continue;
        };
        if benefit.counts_as_admission {
            delta.inpatient_admissions = 1;
        }
        let mut notes = Vec::new();
        if let Some(begin) = visit.begin_date {
            if begin < policy.effective_from {
                notes.push(format!(
                    "跨年度住院：入院 {begin}，出院结算日 {} 属 {} 医保年度，按出院年度政策和累计计算",
                    input.settle_date, policy.year
                ));
            }
        }
        let Some(ratio) = table_ratio(&benefit.ratios, input, cross, &mut notes) else {
            return Ok(skipped_basic(kind, fund, Skip::NoRatioForLevel));
        };
        let per_admission = benefit.deductible_per_admission[level_idx(visit.hi_setl_lv)];
        let admission_number = ytd.inpatient_admissions.max(0) as usize + 1;
        let factor_idx = (admission_number - 1).min(benefit.admission_factors.len() - 1);
        let admission_factor = benefit.admission_factors[factor_idx];
        let mut deductible_open = per_admission.mul_ratio(admission_factor);
        if admission_factor != Ratio::ONE {
            notes.push(format!(
                "年内第 {admission_number} 次住院：起付线 × {admission_factor}"
            ));
        }
        if visit.transfer_in {
            if let Some(factor) = benefit.transfer_factor {
                deductible_open = deductible_open.mul_ratio(factor);
                notes.push(format!("转院转入：起付线 × {factor}"));
            }
        }
        deductible_open = waived(
            deductible_open,
            &benefit.deductible_waivers,
            input,
            &mut notes,
        );
        if cross.deductible_factor != Ratio::ONE {
            deductible_open = deductible_open.mul_ratio(cross.deductible_factor);
        }
        let paid_before = match &benefit.accumulator {
            None => ytd.hifp_inpatient,
            Some(name) => ytd.other_used(name),
        };
        let own_room = (benefit.annual_cap - paid_before).at_least_zero();
        let cap_room =
            min_room(Some(own_room), shared_room(scheme, ytd, delta, fund)).unwrap_or(own_room);
        let (step, overcap_base) = ratio_step(
            kind,
            fund,
            policy_range,
            deductible_open,
            ratio,
            &benefit.segments,
            cap_room,
            LayerDetail::Inpatient {
                per_admission,
                repeat: admission_number > 1,
            },
            notes,
        );
        match &benefit.accumulator {
            None => delta.hifp_inpatient += step.amount,
            Some(name) => add_other(delta, name.clone(), step.amount),
        }
        add_shared(scheme, delta, fund, step.amount);
        return Ok(Basic::single(step, overcap_base));
    }

    // Outpatient pooling: the first benefit for this med_type whose conditions hold.
    let listed = scheme
        .outpatient
        .iter()
        .any(|benefit| benefit.med_types.contains(&med_type));
    if listed {
        let subject = subject(input);
        let Some(benefit) = scheme
            .outpatient
            .iter()
            .find(|benefit| benefit.med_types.contains(&med_type) && benefit.when.holds(&subject))
        else {
            return Ok(skipped_basic(
                LayerKind::BasicOutpatient,
                fund,
                Skip::NotForPerson,
            ));
        };
        let mut notes = Vec::new();
        if !benefit.when.is_empty() {
            notes.push(format!(
                "门诊待遇「{}」适用条件：{}",
                benefit.name,
                benefit.when.describe()
            ));
        }
        let Some(ratio) = table_ratio(&benefit.ratios, input, cross, &mut notes) else {
            return Ok(skipped_basic(
                LayerKind::BasicOutpatient,
                fund,
                Skip::NoRatioForLevel,
            ));
        };
        let paid_key = benefit.paid_key();
        let (paid_before, deductible_before) = match &benefit.accumulator {
            None => (ytd.hifp_outpatient, ytd.outpatient_deductible),
            Some(name) => (
                ytd.other_used(name),
                ytd.other_used(&format!("{name}.deductible")),
            ),
        };
        let deductible = waived(
            benefit.annual_deductible,
            &benefit.deductible_waivers,
            input,
            &mut notes,
        );
        let deductible_open = (deductible - deductible_before).at_least_zero();
        let mut cap_room = (benefit.annual_cap - paid_before).at_least_zero();
        let caps = benefit.period_caps;
        // The period accumulators' keys, made only when the benefit has period caps.
        let day_key = caps
            .daily
            .map(|_| format!("{paid_key}@{}", input.settle_date.format("%Y-%m-%d")));
        let month_key = caps
            .monthly
            .map(|_| format!("{paid_key}@{}", input.settle_date.format("%Y-%m")));
        if let Some(per_visit) = caps.per_visit {
            if per_visit < cap_room {
                notes.push(format!("每次限额 {per_visit}"));
            }
            cap_room = cap_room.min(per_visit);
        }
        // A period cap's room: the cap less what the period's accumulator already holds.
        for (cap, key, period) in [
            (caps.daily, &day_key, "日"),
            (caps.monthly, &month_key, "月"),
        ] {
            if let (Some(cap), Some(key)) = (cap, key) {
                let used = ytd.other_used(key);
                let room = (cap - used).at_least_zero();
                notes.push(format!(
                    "{period}限额 {cap}，当{period}已付 {used}，余 {room}"
                ));
                cap_room = cap_room.min(room);
            }
        }
        if let Some(shared) = shared_room(scheme, ytd, delta, fund) {
            cap_room = cap_room.min(shared);
        }
        let (step, _) = ratio_step(
            LayerKind::BasicOutpatient,
            fund,
            policy_range,
            deductible_open,
            ratio,
            &benefit.segments,
            cap_room,
            LayerDetail::None,
            notes,
        );
        match &benefit.accumulator {
            None => {
                delta.hifp_outpatient += step.amount;
                delta.outpatient_deductible += step.deductible_used;
            }
            Some(name) => {
                add_other(delta, name.clone(), step.amount);
                add_other(delta, format!("{name}.deductible"), step.deductible_used);
            }
        }
        for key in [day_key, month_key].into_iter().flatten() {
            add_other(delta, key, step.amount);
        }
        add_shared(scheme, delta, fund, step.amount);
        // An amount over an outpatient cap is the person's: never an overcap base.
        return Ok(Basic::single(step, Fen::ZERO));
    }

    // Chronic and special outpatient: per-disease quotas.
    if let Some(benefit) = scheme
        .chronic
        .as_ref()
        .filter(|benefit| benefit.med_types.contains(&med_type))
    {
        let Some(disease) = benefit.disease(&visit.dise_codg) else {
            return Ok(skipped_basic(
                LayerKind::BasicChronic,
                fund,
                Skip::NoQuotaForDisease,
            ));
        };
        let mut notes = Vec::new();
        let person = &input.person;
        let mut recognised_keys: Vec<&str> = Vec::new();
        if benefit.require_recognition {
            for recognition in &person.chronic_recognitions {
                if recognition.valid_at(input.settle_date, &visit.fixmedins_code) {
                    if let Some(recognised) = benefit.disease(&recognition.dise_codg) {
                        if !recognised_keys.contains(&recognised.key.as_str()) {
                            recognised_keys.push(&recognised.key);
                        }
                    }
                }
            }
            if !recognised_keys.contains(&disease.key.as_str()) {
                return Err(bad_value(
                    "visit.dise_codg",
                    format!(
                        "{} ({}) is not a chronic disease recognised (门慢认定) for this person on {} at institution {:?}",
                        visit.dise_codg, disease.key, input.settle_date, visit.fixmedins_code
                    ),
                ));
            }
            notes.push(format!("门慢认定：病种 {} 有效", disease.key));
        }
        let table = disease.ratios.as_ref().unwrap_or(&benefit.ratios);
        let Some(ratio) = table_ratio(table, input, cross, &mut notes) else {
            return Ok(skipped_basic(
                LayerKind::BasicChronic,
                fund,
                Skip::NoRatioForLevel,
            ));
        };
        // The year's use is matched by disease too, so `I10` and `I10.x05` count alike.
        let used_for = |key: &str| -> Fen {
            ytd.chronic
                .iter()
                .filter(|(recorded, _)| {
                    recorded.as_str() == key
                        || benefit.disease(recorded).is_some_and(|d| d.key == key)
                })
                .map(|(_, amount)| *amount)
                .sum()
        };
        let mut quota = disease.quota;
        let mut used = used_for(&disease.key);
        if let Some(combined) = benefit.combined.filter(|_| recognised_keys.len() > 1) {
            let largest = recognised_keys
                .iter()
                .filter_map(|key| benefit.diseases.iter().find(|d| d.key == *key))
                .map(|d| d.quota)
                .max()
                .unwrap_or(quota);
            let extra = Fen(combined.extra_per_disease.0 * (recognised_keys.len() as i64 - 1));
            quota = largest + extra;
            if let Some(max) = combined.max {
                quota = quota.min(max);
            }
            used = recognised_keys.iter().map(|key| used_for(key)).sum();
            notes.push(format!(
                "合并病种 {}：最高限额 {largest} + 每增加一病种 {} → 合并限额 {quota}，已用 {used}",
                recognised_keys.join("、"),
                combined.extra_per_disease
            ));
        }
        let mut cap_room = (quota - used).at_least_zero();
        if disease.shares_inpatient_cap {
            if let Some(inpatient) = &scheme.inpatient {
                let inpatient_room = (inpatient.annual_cap - ytd.hifp_inpatient).at_least_zero();
                notes.push(format!(
                    "与住院统筹共用年度限额，住院限额余 {inpatient_room}"
                ));
                cap_room = cap_room.min(inpatient_room);
            }
        }
        if let Some(shared) = shared_room(scheme, ytd, delta, fund) {
            cap_room = cap_room.min(shared);
        }
        let deductible = waived(
            benefit.annual_deductible,
            &benefit.deductible_waivers,
            input,
            &mut notes,
        );
        let deductible_open = (deductible - ytd.other_used("chronic.deductible")).at_least_zero();
        let (step, overcap_base) = ratio_step(
            LayerKind::BasicChronic,
            fund,
            policy_range,
            deductible_open,
            ratio,
            &[],
            cap_room,
            LayerDetail::Chronic {
                disease_key: disease.key.clone(),
                quota,
            },
            notes,
        );
        if !step.amount.is_zero() {
            delta.chronic.insert(disease.key.clone(), step.amount);
        }
        if disease.shares_inpatient_cap && scheme.inpatient.is_some() {
            delta.hifp_inpatient += step.amount;
        }
        add_other(delta, "chronic.deductible".to_owned(), step.deductible_used);
        add_shared(scheme, delta, fund, step.amount);
        return Ok(Basic::single(step, overcap_base));
    }

    // Maternity medical fees: fixed amounts by delivery type, or ratios.
    if let Some(benefit) = scheme
        .maternity
        .as_ref()
        .filter(|benefit| benefit.med_types.contains(&med_type))
    {
        let mut notes = Vec::new();
        let own_room = benefit
            .annual_cap
            .map(|cap| (cap - ytd.other_used("maternity")).at_least_zero());
        let cap_room = min_room(own_room, shared_room(scheme, ytd, delta, benefit.fund));
        let fixed = visit.matn_type.as_deref().and_then(|matn_type| {
            benefit
                .fixed
                .iter()
                .find(|fixed| fixed.matn_types.iter().any(|code| code == matn_type))
        });
        let step = if let Some(fixed) = fixed {
            let raw = fixed.amount.min(policy_range);
            notes.push(format!(
                "生育类别 {} 定额 {}（不超过政策范围内 {policy_range}）",
                visit.matn_type.as_deref().unwrap_or(""),
                fixed.amount
            ));
            let amount = cap_room.map_or(raw, |room| raw.min(room));
            LayerStep {
                kind: LayerKind::BasicMaternity,
                fund: benefit.fund,
                skipped: None,
                base_before_deductible: policy_range,
                deductible_open: Fen::ZERO,
                deductible_used: Fen::ZERO,
                base: policy_range,
                ratio: Ratio::ZERO,
                ratio_source: RatioSource::Fixed,
                raw,
                cap_room_before: cap_room,
                amount,
                detail: LayerDetail::None,
                notes,
            }
        } else if let Some(table) = &benefit.ratios {
            let Some(ratio) = table_ratio(table, input, cross, &mut notes) else {
                return Ok(skipped_basic(
                    LayerKind::BasicMaternity,
                    benefit.fund,
                    Skip::NoRatioForLevel,
                ));
            };
            let room = cap_room.unwrap_or(policy_range);
            let (mut step, _) = ratio_step(
                LayerKind::BasicMaternity,
                benefit.fund,
                policy_range,
                Fen::ZERO,
                ratio,
                &[],
                room,
                LayerDetail::None,
                notes,
            );
            step.cap_room_before = cap_room;
            step
        } else {
            return Ok(skipped_basic(
                LayerKind::BasicMaternity,
                benefit.fund,
                Skip::NoRule,
            ));
        };
        add_other(delta, "maternity".to_owned(), step.amount);
        add_shared(scheme, delta, benefit.fund, step.amount);
        return Ok(Basic::single(step, Fen::ZERO));
    }

    Ok(skipped_basic(
        LayerKind::BasicNone,
        fund,
        Skip::NoBenefitForMedType,
    ))
}

/// Negotiated drugs (双通道) on this bill, paid apart from the bill's own benefit: the step, or
/// `None` when the scheme has no such benefit or the bill none of these lines.
pub(crate) fn negotiated_step(
    scheme: &Scheme,
    input: &SettleInput,
    negotiated_range: Fen,
    cross: &CrossOutcome,
    delta: &mut Ytd,
) -> Option<LayerStep> {
    let benefit = scheme.negotiated_drugs.as_ref()?;
    let visit = &input.visit;
    let fund = scheme.pooling_fund;
    let at_pharmacy = benefit.pharmacy_med_types.contains(&visit.med_type);
    if negotiated_range.is_zero() || !(benefit.med_types.contains(&visit.med_type) || at_pharmacy) {
        return None;
    }
    if at_pharmacy {
        if let Some(kind) = &benefit.pharmacy_kind {
            if !visit.institution_kinds.contains(kind) {
                return Some(LayerStep::skipped(
                    LayerKind::BasicNegotiated,
                    fund,
                    Skip::NotDesignatedPharmacy,
                ));
            }
        }
    }
    let mut notes = vec![format!(
        "国家谈判药品（双通道）政策范围内 {negotiated_range} 单独支付，不占本次待遇限额"
    )];
    let ytd = &input.person.ytd;
    let ratio = table_ratio(&benefit.ratios, input, cross, &mut notes)?;
    let own_room = (benefit.annual_cap - ytd.other_used("negotiated")).at_least_zero();
    let cap_room =
        min_room(Some(own_room), shared_room(scheme, ytd, delta, fund)).unwrap_or(own_room);
    let (step, _) = ratio_step(
        LayerKind::BasicNegotiated,
        fund,
        negotiated_range,
        Fen::ZERO,
        ratio,
        &[],
        cap_room,
        LayerDetail::None,
        notes,
    );
    add_other(delta, "negotiated".to_owned(), step.amount);
    add_shared(scheme, delta, fund, step.amount);
    Some(step)
}
