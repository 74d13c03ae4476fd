//! Step 2 of settlement (spec section 4): the funds in order, each seeing what the layers before
//! it left, then the personal account and family mutual aid. One pure function, [`settle`].

use yibao_core_types::{AcctUsedFlag, Fen, FundPayType, NaiveDate, Ratio};
use yibao_policy::{Band, ExtraBase, ExtraLayer, Policy, Scheme};

use crate::amounts::{SetlAmounts, SetlSign};
use crate::basic::{basic_fund, cross_outcome, negotiated_step, subject};
use crate::input::{SettleInput, Ytd};
use crate::limits::{FAMILY_ACCOUNTS_MAX, LINES_MAX, SP_PSN_TYPES_MAX, YTD_MAP_ENTRIES_MAX};
use crate::trace::{
    AccountStep, BillTotals, LayerDetail, LayerKind, LayerStep, RatioSource, Skip, Trace,
};

/// Bad input (a `Result` error naming the field) or a broken identity (a bug: the request fails
/// and nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    /// The settle date is outside the policy's effective dates.
    #[error("settle_date: {settle_date} is outside policy {policy_id}'s effective dates {effective_from}..={effective_until}")]
    PolicyNotEffective {
        /// The policy.
        policy_id: String,
        /// The date asked for.
        settle_date: NaiveDate,
        /// First effective day.
        effective_from: NaiveDate,
        /// Last effective day.
        effective_until: NaiveDate,
    },
    /// The person is insured in another pooling region than the policy's.
    #[error("person.insuplc_admdvs: {insuplc_admdvs} is not inside policy {policy_id}'s region {policy_admdvs}")]
    OutsidePolicyRegion {
        /// The policy.
        policy_id: String,
        /// The policy's region.
        policy_admdvs: String,
        /// The person's region.
        insuplc_admdvs: String,
    },
    /// The policy has no scheme for the person's insurance type.
    #[error("person.insutype: policy {policy_id} has no scheme for insutype {insutype}")]
    InsutypeNotCovered {
        /// The policy.
        policy_id: String,
        /// The insurance type.
        insutype: String,
    },
    /// The bill has no lines, or too many.
    #[error("lines: {reason}")]
    Lines {
        /// Why.
        reason: String,
    },
    /// A value that must not be negative is negative, or a list is too long.
    #[error("{field}: {reason}")]
    BadValue {
        /// The field path (`person.acct_balance`, `person.ytd.hifmi`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Refund lines exceed the charges in a total (a bill never settles below zero).
    #[error(
        "lines: the bill's {field} would be negative ({amount}): refund lines exceed the charges"
    )]
    NegativeTotal {
        /// The total (`medfee_sumamt`, `inscp_scp_amt`, …).
        field: &'static str,
        /// Its value.
        amount: Fen,
    },
    /// An identity of spec section 6 failed: a bug in the engine, never the caller's fault.
    #[error("internal error: settlement identity broken: {identity} ({detail})")]
    InvariantBroken {
        /// Which identity.
        identity: &'static str,
        /// The numbers.
        detail: String,
    },
}

impl SettleError {
    /// The field the error is about, when it is bad input.
    pub fn field(&self) -> Option<String> {
        match self {
            SettleError::PolicyNotEffective { .. } => Some("settle_date".into()),
            SettleError::OutsidePolicyRegion { .. } => Some("person.insuplc_admdvs".into()),
            SettleError::InsutypeNotCovered { .. } => Some("person.insutype".into()),
            SettleError::Lines { .. } | SettleError::NegativeTotal { .. } => Some("lines".into()),
            SettleError::BadValue { field, .. } => Some(field.clone()),
            SettleError::InvariantBroken { .. } => None,
        }
    }
}

/// What the accounts paid, for the ledger: the own account and each family account by index
/// into `Person::mulaid_balances`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountDraws {
    /// Drawn from the person's own account.
    pub own: Fen,
    /// Drawn from each bound family account, same length and order as `mulaid_balances`.
    pub family: Vec<Fen>,
}

/// A settlement: every `setlinfo` amount, `setldetail[]`, the trace, the accumulator delta and
/// the account draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The `setlinfo` amounts.
    pub amounts: SetlAmounts,
    /// `setldetail[]`: every payer bucket with a non-zero amount, in layer order, the personal
    /// account (`310200`, including mutual aid) last.
    pub setldetail: Vec<(FundPayType, Fen)>,
    /// The explanation.
    pub trace: Trace,
    /// What to add to the person's year-to-date accumulators.
    pub ytd_delta: Ytd,
    /// What the accounts paid.
    pub account_draws: AccountDraws,
}

impl Settlement {
    /// The exact negation, for a reversal (2208/2305): every amount, `setldetail`, the delta and
    /// the draws negated. `balc` becomes the own balance after the money is returned, assuming
    /// nothing else moved (`balc + own draw`); the ledger has the real figure.
    pub fn negated(&self) -> Settlement {
        Settlement {
            amounts: SetlAmounts {
                balc: self.amounts.balc + self.account_draws.own,
                ..self.amounts.negated()
            },
            setldetail: self
                .setldetail
                .iter()
                .map(|&(fund, amount)| (fund, -amount))
                .collect(),
            trace: self.trace.clone(),
            ytd_delta: self.ytd_delta.negated(),
            account_draws: AccountDraws {
                own: -self.account_draws.own,
                family: self
                    .account_draws
                    .family
                    .iter()
                    .map(|&amount| -amount)
                    .collect(),
            },
        }
    }

    /// Checks the identities of spec section 6 on a settlement (not a reversal): the amounts'
    /// ([`SetlAmounts::check_identities`]), then `setldetail` and the account draws against them.
    pub fn check_identities(&self) -> Result<(), SettleError> {
        let broken = |identity: &'static str, detail: String| {
            Err(SettleError::InvariantBroken { identity, detail })
        };
        let a = &self.amounts;
        a.check_identities(SetlSign::Settlement)?;
        let detail_sum: Fen = self.setldetail.iter().map(|&(_, amount)| amount).sum();
        if detail_sum != a.fund_pay_sumamt + a.acct_pay
            || self.setldetail.iter().any(|(_, amount)| amount.is_zero())
        {
            return broken(
                "setldetail lists every non-zero payer and sums to fund_pay_sumamt + acct_pay",
                format!("{detail_sum} ≠ {} + {}", a.fund_pay_sumamt, a.acct_pay),
            );
        }
        let family_sum: Fen = self.account_draws.family.iter().copied().sum();
        if self.account_draws.own + family_sum != a.acct_pay || family_sum != a.acct_mulaid_pay {
            return broken(
                "account draws sum to acct_pay",
                format!("{} + {family_sum} ≠ {}", self.account_draws.own, a.acct_pay),
            );
        }
        Ok(())
    }
}

pub(crate) fn bad_value(field: impl Into<String>, reason: impl Into<String>) -> SettleError {
    SettleError::BadValue {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks the input before any arithmetic, in order of precedence: policy date, region and
/// scheme, lines, balances, accumulators.
fn check_input<'p>(policy: &'p Policy, input: &SettleInput) -> Result<&'p Scheme, SettleError> {
    if !policy.is_effective_on(input.settle_date) {
        return Err(SettleError::PolicyNotEffective {
            policy_id: policy.id.clone(),
            settle_date: input.settle_date,
            effective_from: policy.effective_from,
            effective_until: policy.effective_until,
        });
    }
    let person = &input.person;
    if !policy.admdvs.contains(person.insuplc_admdvs) {
        return Err(SettleError::OutsidePolicyRegion {
            policy_id: policy.id.clone(),
            policy_admdvs: policy.admdvs.to_string(),
            insuplc_admdvs: person.insuplc_admdvs.to_string(),
        });
    }
    let scheme = policy
        .scheme(person.insutype)
        .ok_or_else(|| SettleError::InsutypeNotCovered {
            policy_id: policy.id.clone(),
            insutype: person.insutype.to_string(),
        })?;
    if input.lines.is_empty() {
        return Err(SettleError::Lines {
            reason: "a bill needs at least one line".into(),
        });
    }
    if input.lines.len() > LINES_MAX {
        return Err(SettleError::Lines {
            reason: format!("more than {LINES_MAX} lines"),
        });
    }
    if person.sp_psn_types.len() > SP_PSN_TYPES_MAX {
        return Err(bad_value(
            "person.sp_psn_types",
            format!("more than {SP_PSN_TYPES_MAX} categories"),
        ));
    }
    if person.acct_balance.is_negative() {
        return Err(bad_value("person.acct_balance", "must not be negative"));
    }
    if person.mulaid_balances.len() > FAMILY_ACCOUNTS_MAX {
        return Err(bad_value(
            "person.mulaid_balances",
            format!("more than {FAMILY_ACCOUNTS_MAX} family accounts"),
        ));
    }
    if let Some(idx) = person
        .mulaid_balances
        .iter()
        .position(|balance| balance.is_negative())
    {
        return Err(bad_value(
            format!("person.mulaid_balances[{idx}]"),
            "must not be negative",
        ));
    }
    if let Some(field) = person.ytd.first_negative_field() {
        return Err(bad_value(
            format!("person.ytd.{field}"),
            "must not be negative",
        ));
    }
    if person.ytd.chronic.len() > YTD_MAP_ENTRIES_MAX
        || person.ytd.other.len() > YTD_MAP_ENTRIES_MAX
    {
        return Err(bad_value(
            "person.ytd",
            format!("more than {YTD_MAP_ENTRIES_MAX} entries in a map"),
        ));
    }
    Ok(scheme)
}

/// The bill's totals; each must be non-negative (refund lines never exceed charges) and every
/// line must satisfy its own identity.
fn bill_totals(input: &SettleInput) -> Result<BillTotals, SettleError> {
    let mut totals = BillTotals::default();
    for (idx, line) in input.lines.iter().enumerate() {
        let parts = line.fulamt_ownpay_amt
            + line.overlmt_selfpay
            + line.preselfpay_amt
            + line.inscp_scp_amt;
        if parts != line.det_item_fee_sumamt {
            return Err(SettleError::InvariantBroken {
                identity: "det_item_fee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt",
                detail: format!("line {idx}: {} ≠ {parts}", line.det_item_fee_sumamt),
            });
        }
        totals.medfee_sumamt += line.det_item_fee_sumamt;
        totals.fulamt_ownpay_amt += line.fulamt_ownpay_amt;
        totals.overlmt_selfpay += line.overlmt_selfpay;
        totals.preselfpay_amt += line.preselfpay_amt;
        totals.inscp_scp_amt += line.inscp_scp_amt;
    }
    let named = [
        ("medfee_sumamt", totals.medfee_sumamt),
        ("fulamt_ownpay_amt", totals.fulamt_ownpay_amt),
        ("overlmt_selfpay", totals.overlmt_selfpay),
        ("preselfpay_amt", totals.preselfpay_amt),
        ("inscp_scp_amt", totals.inscp_scp_amt),
    ];
    if let Some(&(field, amount)) = named.iter().find(|(_, amount)| amount.is_negative()) {
        return Err(SettleError::NegativeTotal { field, amount });
    }
    Ok(totals)
}

/// Deductible, ratio and cap applied to a base: `(deductible used, base after it, raw, paid)`.
fn apply(
    base_before: Fen,
    deductible_open: Fen,
    ratio: Ratio,
    cap_room: Option<Fen>,
) -> (Fen, Fen, Fen, Fen) {
    let deductible_used = base_before.min(deductible_open.at_least_zero());
    let base = base_before - deductible_used;
    let raw = base.mul_ratio(ratio);
    let paid = match cap_room {
        Some(room) => raw.min(room.at_least_zero()),
        None => raw,
    };
    (deductible_used, base, raw, paid)
}

/// The room left under every shared cap that counts `fund`, given what this bill already paid.
pub(crate) fn shared_room(
    scheme: &Scheme,
    ytd: &Ytd,
    delta: &Ytd,
    fund: FundPayType,
) -> Option<Fen> {
    scheme
        .shared_caps
        .iter()
        .filter(|cap| cap.funds.contains(&fund))
        .map(|cap| {
            let key = cap.key();
            (cap.annual_cap - ytd.other_used(&key) - delta.other_used(&key)).at_least_zero()
        })
        .min()
}

/// Records a layer's payment against the shared caps that count its fund.
pub(crate) fn add_shared(scheme: &Scheme, delta: &mut Ytd, fund: FundPayType, amount: Fen) {
    for cap in scheme
        .shared_caps
        .iter()
        .filter(|cap| cap.funds.contains(&fund))
    {
        add_other(delta, cap.key(), amount);
    }
}

/// The smaller of two optional rooms.
pub(crate) fn min_room(a: Option<Fen>, b: Option<Fen>) -> Option<Fen> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

pub(crate) fn add_other(delta: &mut Ytd, key: String, amount: Fen) {
    if !amount.is_zero() {
        *delta.other.entry(key).or_insert(Fen::ZERO) += amount;
    }
}

/// `F(B)` of spec 4.3 in fen × parts per million: exact, fractions of a fen kept.
fn banded(accumulated: Fen, threshold: Fen, bands: &[Band]) -> i128 {
    let mut above = i128::from((accumulated - threshold).at_least_zero().0);
    let mut total = 0_i128;
    for band in bands {
        if above <= 0 {
            break;
        }
        let in_band = match band.width {
            Some(width) => above.min(i128::from(width.0)),
            None => above,
        };
        total += in_band * i128::from(band.ratio.0);
        above -= in_band;
    }
    total
}

/// The band ratio at an accumulated base (for the trace).
fn marginal_ratio(accumulated: Fen, threshold: Fen, bands: &[Band]) -> Ratio {
    let mut above = (accumulated - threshold).0;
    if above <= 0 {
        return bands.first().map_or(Ratio::ZERO, |band| band.ratio);
    }
    for band in bands {
        match band.width {
            Some(width) if above > width.0 => above -= width.0,
            _ => return band.ratio,
        }
    }
    bands.last().map_or(Ratio::ZERO, |band| band.ratio)
}

/// Settles one bill (spec sections 3–6). Pure: the same policy and input always give the same
/// settlement. Bad input is a typed error naming the field; a broken identity is
/// [`SettleError::InvariantBroken`].
#[allow(clippy::too_many_lines)]
pub fn settle(policy: &Policy, input: &SettleInput) -> Result<Settlement, SettleError> {
    let scheme = check_input(policy, input)?;
    let totals = bill_totals(input)?;
    let person = &input.person;
    let visit = &input.visit;
    let ytd = &person.ytd;
    let med_type = visit.med_type;
    let policy_range = totals.inscp_scp_amt;
    let cross = cross_outcome(policy, input);
    let mut delta = Ytd::default();
    let mut layers = Vec::with_capacity(6 + scheme.extra_layers.len());
    let mut notes = Vec::new();
    if !cross.note.is_empty() {
        notes.push(cross.note.clone());
    }
    let subject = subject(input);

    // 4.1 Basic pooling fund: negotiated drugs apart (双通道), then the bill's own benefit.
    let negotiated_range: Fen = if scheme.negotiated_drugs.is_some() {
        input
            .lines
            .iter()
            .filter(|line| line.negotiated)
            .map(|line| line.inscp_scp_amt)
            .sum::<Fen>()
            .at_least_zero()
            .min(policy_range)
    } else {
        Fen::ZERO
    };
    let negotiated = negotiated_step(scheme, input, negotiated_range, &cross, &mut delta);
    let own_range = match &negotiated {
        Some(step) if step.skipped.is_none() => policy_range - negotiated_range,
        _ => policy_range,
    };
    let basic = basic_fund(policy, scheme, input, own_range, &cross, &mut delta)?;
    let overcap_base = basic.overcap_base;
    // A bill whose own benefit paid nothing but whose negotiated drugs were paid (a dual-channel
    // pharmacy) reports the negotiated ratio.
    let basic_ratio = match &negotiated {
        Some(step) if step.skipped.is_none() && basic.steps.iter().all(|s| s.skipped.is_some()) => {
            step.ratio
        }
        _ => basic.ratio,
    };
    let mut hifp_pay = Fen::ZERO;
    let mut maternity_oth_pay = Fen::ZERO;
    let act_pay_dedc = basic
        .steps
        .first()
        .map_or(Fen::ZERO, |step| step.deductible_used);
    for step in basic.steps.into_iter().chain(negotiated) {
        if step.fund == scheme.pooling_fund {
            hifp_pay += step.amount;
        } else {
            maternity_oth_pay += step.amount;
        }
        layers.push(step);
    }
    let maternity_fund = scheme.maternity.as_ref().map(|benefit| benefit.fund);

    // 4.2 Employees' large-amount fund.
    let mut hifob_pay = Fen::ZERO;
    if let Some(layer) = &scheme.large_amount {
        let step = if !layer.med_types.contains(&med_type) {
            LayerStep::skipped(LayerKind::LargeAmount, layer.fund, Skip::NotForMedType)
        } else if overcap_base.is_zero() {
            LayerStep::skipped(LayerKind::LargeAmount, layer.fund, Skip::NothingOverCap)
        } else {
            let own_room = (layer.annual_cap - ytd.hifob).at_least_zero();
            let cap_room = min_room(Some(own_room), shared_room(scheme, ytd, &delta, layer.fund))
                .unwrap_or(own_room);
            let (_, base, raw, amount) =
                apply(overcap_base, Fen::ZERO, layer.ratio, Some(cap_room));
            LayerStep {
                kind: LayerKind::LargeAmount,
                fund: layer.fund,
                skipped: None,
                base_before_deductible: base,
                deductible_open: Fen::ZERO,
                deductible_used: Fen::ZERO,
                base,
                ratio: layer.ratio,
                ratio_source: RatioSource::Fixed,
                raw,
                cap_room_before: Some(cap_room),
                amount,
                detail: LayerDetail::LargeAmount { overcap_base },
                notes: Vec::new(),
            }
        };
        hifob_pay = step.amount;
        delta.hifob += hifob_pay;
        add_shared(scheme, &mut delta, layer.fund, hifob_pay);
        layers.push(step);
    }

    // 4.3 Residents' serious-illness insurance.
    let mut hifmi_pay = Fen::ZERO;
    if let Some(layer) = &scheme.serious_illness {
        let step = if !layer.med_types.contains(&med_type) {
            LayerStep::skipped(LayerKind::SeriousIllness, layer.fund, Skip::NotForMedType)
        } else {
            let visit_base = (policy_range - hifp_pay).at_least_zero();
            delta.hifmi_base += visit_base;
            let rule = layer
                .rules
                .iter()
                .enumerate()
                .find(|(_, rule)| rule.when.holds(&subject));
            match rule {
                None => LayerStep::skipped(LayerKind::SeriousIllness, layer.fund, Skip::NoRule),
                Some((rule_idx, rule)) => {
                    let base_before = ytd.hifmi_base;
                    let base_after = base_before + visit_base;
                    let difference = banded(base_after, rule.threshold, &rule.bands)
                        - banded(base_before, rule.threshold, &rule.bands);
                    let raw =
                        Fen(yibao_core_types::round_half_up(difference, Ratio::ONE_PPM) as i64);
                    let own_room = rule.annual_cap.map(|cap| (cap - ytd.hifmi).at_least_zero());
                    let cap_room = min_room(own_room, shared_room(scheme, ytd, &delta, layer.fund));
                    let amount = cap_room.map_or(raw, |room| raw.min(room));
                    let mut step_notes = Vec::new();
                    if !rule.when.is_empty() {
                        step_notes.push(format!(
                            "规则第 {} 条适用条件：{}",
                            rule_idx + 1,
                            rule.when.describe()
                        ));
                    }
                    LayerStep {
                        kind: LayerKind::SeriousIllness,
                        fund: layer.fund,
                        skipped: None,
                        base_before_deductible: visit_base,
                        deductible_open: Fen::ZERO,
                        deductible_used: Fen::ZERO,
                        base: visit_base,
                        ratio: marginal_ratio(base_after, rule.threshold, &rule.bands),
                        ratio_source: RatioSource::Bands { rule_idx },
                        raw,
                        cap_room_before: cap_room,
                        amount,
                        detail: LayerDetail::SeriousIllness {
                            base_before,
                            base_after,
                            threshold: rule.threshold,
                        },
                        notes: step_notes,
                    }
                }
            }
        };
        hifmi_pay = step.amount;
        delta.hifmi += hifmi_pay;
        add_shared(scheme, &mut delta, layer.fund, hifmi_pay);
        layers.push(step);
    }

    // 4.4 Medical assistance: the most favourable category the person has.
    let mut maf_pay = Fen::ZERO;
    if let Some(layer) = &scheme.assistance {
        let category = layer
            .categories
            .iter()
            .filter(|category| person.sp_psn_types.contains(&category.sp_psn_type))
            .fold(
                None,
                |best: Option<&yibao_policy::AssistanceCategory>, category| match best {
                    Some(best) if best.ratio >= category.ratio => Some(best),
                    _ => Some(category),
                },
            );
        let step = if !layer.med_types.contains(&med_type) {
            LayerStep::skipped(LayerKind::Assistance, layer.fund, Skip::NotForMedType)
        } else if let Some(category) = category {
            let base_before = (policy_range - hifp_pay - hifob_pay - hifmi_pay).at_least_zero();
            let deductible_open = (category.annual_deductible - ytd.maf_deductible).at_least_zero();
            let own_room = category
                .annual_cap
                .map(|cap| (cap - ytd.maf).at_least_zero());
            let cap_room = min_room(own_room, shared_room(scheme, ytd, &delta, layer.fund));
            let (deductible_used, base, raw, amount) =
                apply(base_before, deductible_open, category.ratio, cap_room);
            delta.maf_deductible += deductible_used;
            LayerStep {
                kind: LayerKind::Assistance,
                fund: layer.fund,
                skipped: None,
                base_before_deductible: base_before,
                deductible_open,
                deductible_used,
                base,
                ratio: category.ratio,
                ratio_source: RatioSource::Category {
                    sp_psn_type: category.sp_psn_type,
                },
                raw,
                cap_room_before: cap_room,
                amount,
                detail: LayerDetail::None,
                notes: Vec::new(),
            }
        } else {
            LayerStep::skipped(LayerKind::Assistance, layer.fund, Skip::NoCategory)
        };
        maf_pay = step.amount;
        delta.maf += maf_pay;
        add_shared(scheme, &mut delta, layer.fund, maf_pay);
        layers.push(step);
    }

    // 4.5 Further layers.
    let (mut cvlserv_pay, mut hifes_pay, mut oth_pay) = (Fen::ZERO, Fen::ZERO, maternity_oth_pay);
    let mut funds_so_far = hifp_pay + maternity_oth_pay + hifob_pay + hifmi_pay + maf_pay;
    for layer in &scheme.extra_layers {
        let step = if !layer.med_types.contains(&med_type) {
            LayerStep::skipped(LayerKind::Extra, layer.fund, Skip::NotForMedType)
        } else if !layer.when.holds(&subject) {
            LayerStep::skipped(LayerKind::Extra, layer.fund, Skip::NotForPerson)
        } else {
            extra_step(scheme, layer, input, &totals, funds_so_far, &mut delta)
        };
        funds_so_far += step.amount;
        if layer.fund == FundPayType::CIVIL_SERVANT {
            cvlserv_pay += step.amount;
        } else if layer.fund == FundPayType::ENTERPRISE_SUPPLEMENTARY {
            hifes_pay += step.amount;
        } else {
            oth_pay += step.amount;
        }
        add_shared(scheme, &mut delta, layer.fund, step.amount);
        layers.push(step);
    }
    debug_assert!(
        maternity_fund.is_none_or(|fund| fund == scheme.pooling_fund)
            || maternity_oth_pay >= Fen::ZERO
    );

    let fund_pay_sumamt =
        hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay;
    let hosp_part_amt = Fen::ZERO;
    let psn_part_amt = totals.medfee_sumamt - fund_pay_sumamt - hosp_part_amt;

    // 4.6 Personal account and family mutual aid.
    let scheme_has_account = scheme.personal_account.is_some();
    let mutual_aid_allowed = scheme
        .personal_account
        .as_ref()
        .is_some_and(|rule| rule.mutual_aid);
    let mut own_draw = Fen::ZERO;
    let mut family_draws = vec![Fen::ZERO; person.mulaid_balances.len()];
    if scheme_has_account && visit.acct_used_flag != AcctUsedFlag::NotUsed {
        let mut owed = psn_part_amt.at_least_zero();
        own_draw = person.acct_balance.min(owed);
        owed -= own_draw;
        if visit.acct_used_flag == AcctUsedFlag::OwnThenFamily && mutual_aid_allowed {
            for (draw, &balance) in family_draws.iter_mut().zip(&person.mulaid_balances) {
                *draw = balance.min(owed);
                owed -= *draw;
            }
        }
    }
    let acct_mulaid_pay: Fen = family_draws.iter().copied().sum();
    let acct_pay = own_draw + acct_mulaid_pay;
    let psn_cash_pay = psn_part_amt - acct_pay;

    let mut setldetail = Vec::with_capacity(layers.len() + 1);
    for layer in &layers {
        if !layer.amount.is_zero() {
            setldetail.push((layer.fund, layer.amount));
        }
    }
    if !acct_pay.is_zero() {
        setldetail.push((FundPayType::PERSONAL_ACCOUNT, acct_pay));
    }

    let account = AccountStep {
        acct_used_flag: visit.acct_used_flag,
        scheme_has_account,
        mutual_aid_allowed,
        psn_part_amt,
        own_balance_before: person.acct_balance,
        own_draw,
        family: person
            .mulaid_balances
            .iter()
            .copied()
            .zip(family_draws.iter().copied())
            .collect(),
    };
    let settlement = Settlement {
        amounts: SetlAmounts {
            medfee_sumamt: totals.medfee_sumamt,
            fulamt_ownpay_amt: totals.fulamt_ownpay_amt,
            overlmt_selfpay: totals.overlmt_selfpay,
            preselfpay_amt: totals.preselfpay_amt,
            inscp_scp_amt: totals.inscp_scp_amt,
            act_pay_dedc,
            hifp_pay,
            pool_prop_selfpay: basic_ratio.complement(),
            cvlserv_pay,
            hifes_pay,
            hifmi_pay,
            hifob_pay,
            maf_pay,
            oth_pay,
            fund_pay_sumamt,
            psn_part_amt,
            acct_pay,
            psn_cash_pay,
            hosp_part_amt,
            balc: person.acct_balance - own_draw,
            acct_mulaid_pay,
        },
        setldetail,
        trace: Trace {
            policy_id: policy.id.clone(),
            cross_region_unfiled: cross.unfiled && !policy.admdvs.contains(visit.mdtrtarea_admvs),
            notes,
            lines: input.lines.clone(),
            totals,
            layers,
            account,
        },
        ytd_delta: delta,
        account_draws: AccountDraws {
            own: own_draw,
            family: family_draws,
        },
    };
    settlement.check_identities()?;
    check_caps(&settlement, scheme, input)?;
    Ok(settlement)
}

/// One further layer (4.5): its base (`policy_range`, `with_selfpay` or `all`), the annual
/// deductible, then one ratio or bands over the accumulated base, within its caps.
fn extra_step(
    scheme: &Scheme,
    layer: &ExtraLayer,
    input: &SettleInput,
    totals: &BillTotals,
    funds_so_far: Fen,
    delta: &mut Ytd,
) -> LayerStep {
    let ytd = &input.person.ytd;
    let reach = match layer.base {
        ExtraBase::PolicyRange => totals.inscp_scp_amt,
        ExtraBase::WithSelfpay => {
            totals.inscp_scp_amt + totals.preselfpay_amt + totals.overlmt_selfpay
        }
        ExtraBase::All => totals.medfee_sumamt,
    };
    let base_before = (reach - funds_so_far).at_least_zero();
    let fund_key = layer.fund.to_string();
    let own_room = layer
        .annual_cap
        .map(|cap| (cap - ytd.other_used(&fund_key)).at_least_zero());
    let cap_room = min_room(own_room, shared_room(scheme, ytd, delta, layer.fund));
    let mut notes = Vec::new();
    if !layer.when.is_empty() {
        notes.push(format!("「{}」适用：{}", layer.name, layer.when.describe()));
    }
    if layer.base == ExtraBase::All {
        notes.push("基数含丙类及目录外费用".to_owned());
    }
    let step = if layer.bands.is_empty() {
        let deductible_key = format!("{fund_key}.deductible");
        let deductible_open =
            (layer.annual_deductible - ytd.other_used(&deductible_key)).at_least_zero();
        let (deductible_used, base, raw, amount) =
            apply(base_before, deductible_open, layer.ratio, cap_room);
        add_other(delta, deductible_key, deductible_used);
        LayerStep {
            kind: LayerKind::Extra,
            fund: layer.fund,
            skipped: None,
            base_before_deductible: base_before,
            deductible_open,
            deductible_used,
            base,
            ratio: layer.ratio,
            ratio_source: RatioSource::Fixed,
            raw,
            cap_room_before: cap_room,
            amount,
            detail: LayerDetail::None,
            notes,
        }
    } else {
        let base_key = format!("{fund_key}.base");
        let accumulated_before = ytd.other_used(&base_key);
        let accumulated_after = accumulated_before + base_before;
        add_other(delta, base_key, base_before);
        let difference = banded(accumulated_after, layer.annual_deductible, &layer.bands)
            - banded(accumulated_before, layer.annual_deductible, &layer.bands);
        let raw = Fen(yibao_core_types::round_half_up(difference, Ratio::ONE_PPM) as i64);
        let amount = cap_room.map_or(raw, |room| raw.min(room));
        notes.push(format!(
            "分段：年度累计基数 {accumulated_before} → {accumulated_after}，起付 {}，F(后) − F(前) = {raw}",
            layer.annual_deductible
        ));
        LayerStep {
            kind: LayerKind::Extra,
            fund: layer.fund,
            skipped: None,
            base_before_deductible: base_before,
            deductible_open: Fen::ZERO,
            deductible_used: Fen::ZERO,
            base: base_before,
            ratio: marginal_ratio(accumulated_after, layer.annual_deductible, &layer.bands),
            ratio_source: RatioSource::Fixed,
            raw,
            cap_room_before: cap_room,
            amount,
            detail: LayerDetail::None,
            notes,
        }
    };
    add_other(delta, fund_key, step.amount);
    step
}

/// Asserts what must not happen: no layer pays more than its cap room or more than its base.
fn check_caps(
    settlement: &Settlement,
    scheme: &Scheme,
    input: &SettleInput,
) -> Result<(), SettleError> {
    for layer in &settlement.trace.layers {
        let over_room = layer
            .cap_room_before
            .is_some_and(|room| layer.amount > room);
        if over_room
            || layer.amount.is_negative()
            || (layer.amount > layer.base_before_deductible
                && layer.kind != LayerKind::SeriousIllness)
        {
            return Err(SettleError::InvariantBroken {
                identity: "a layer pays within its cap room and its base",
                detail: format!("{} {} paid {}", layer.kind.code(), layer.fund, layer.amount),
            });
        }
    }
    let person = &input.person;
    let family_over = settlement
        .account_draws
        .family
        .iter()
        .zip(&person.mulaid_balances)
        .any(|(draw, balance)| draw > balance || draw.is_negative());
    if settlement.account_draws.own > person.acct_balance
        || family_over
        || (scheme.personal_account.is_none() && !settlement.amounts.acct_pay.is_zero())
    {
        return Err(SettleError::InvariantBroken {
            identity: "no account goes below zero",
            detail: format!(
                "own draw {} of {}",
                settlement.account_draws.own, person.acct_balance
            ),
        });
    }
    Ok(())
}
