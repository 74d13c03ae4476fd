//! Step 2 of settlement (spec section 4): the funds in order, each seeing what the layers before
//! it left, then the personal account and family mutual aid. One pure function, [`settle`].

use std::fmt::Write as _;

use yibao_core_types::{AcctUsedFlag, Fen, FundPayType, NaiveDate, Ratio};
use yibao_policy::{
    find_waiver, level_idx, Band, CrossScope, DeductibleWaiver, ExtraBase, ExtraLayer, Policy,
    RatioTable, Scheme, Segment, Subject,
};

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
    /// 医疗费总额.
    pub medfee_sumamt: Fen,
    /// 全自费金额.
    pub fulamt_ownpay_amt: Fen,
    /// 超限价自费费用.
    pub overlmt_selfpay: Fen,
    /// 先行自付金额.
    pub preselfpay_amt: Fen,
    /// 符合政策范围金额 (`E`).
    pub inscp_scp_amt: Fen,
    /// 实际支付起付线.
    pub act_pay_dedc: Fen,
    /// 基本医疗保险统筹基金支出.
    pub hifp_pay: Fen,
    /// 统筹基金自付比例 `1 − r` (a ratio, N(5,4) on the interface).
    pub pool_prop_selfpay: Ratio,
    /// 公务员医疗补助资金支出.
    pub cvlserv_pay: Fen,
    /// 企业补充医疗保险基金支出.
    pub hifes_pay: Fen,
    /// 居民大病保险资金支出.
    pub hifmi_pay: Fen,
    /// 职工大额医疗费用补助基金支出.
    pub hifob_pay: Fen,
    /// 医疗救助基金支出.
    pub maf_pay: Fen,
    /// 其他支出.
    pub oth_pay: Fen,
    /// 基金支付总额.
    pub fund_pay_sumamt: Fen,
    /// 个人负担总金额.
    pub psn_part_amt: Fen,
    /// 个人账户支出 (includes `acct_mulaid_pay`).
    pub acct_pay: Fen,
    /// 个人账户共济支付金额.
    pub acct_mulaid_pay: Fen,
    /// 个人现金支出.
    pub psn_cash_pay: Fen,
    /// 医院负担金额 (0 at settlement time).
    pub hosp_part_amt: Fen,
    /// 余额: the own account balance after this settlement.
    pub balc: Fen,
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
            medfee_sumamt: -self.medfee_sumamt,
            fulamt_ownpay_amt: -self.fulamt_ownpay_amt,
            overlmt_selfpay: -self.overlmt_selfpay,
            preselfpay_amt: -self.preselfpay_amt,
            inscp_scp_amt: -self.inscp_scp_amt,
            act_pay_dedc: -self.act_pay_dedc,
            hifp_pay: -self.hifp_pay,
            pool_prop_selfpay: self.pool_prop_selfpay,
            cvlserv_pay: -self.cvlserv_pay,
            hifes_pay: -self.hifes_pay,
            hifmi_pay: -self.hifmi_pay,
            hifob_pay: -self.hifob_pay,
            maf_pay: -self.maf_pay,
            oth_pay: -self.oth_pay,
            fund_pay_sumamt: -self.fund_pay_sumamt,
            psn_part_amt: -self.psn_part_amt,
            acct_pay: -self.acct_pay,
            acct_mulaid_pay: -self.acct_mulaid_pay,
            psn_cash_pay: -self.psn_cash_pay,
            hosp_part_amt: -self.hosp_part_amt,
            balc: self.balc + self.account_draws.own,
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

    /// Checks the identities of spec section 6 on a settlement (not a reversal).
    pub fn check_identities(&self) -> Result<(), SettleError> {
        let broken = |identity: &'static str, detail: String| {
            Err(SettleError::InvariantBroken { identity, detail })
        };
        let classified = self.fulamt_ownpay_amt
            + self.overlmt_selfpay
            + self.preselfpay_amt
            + self.inscp_scp_amt;
        if self.medfee_sumamt != classified {
            return broken("medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt", format!("{} ≠ {classified}", self.medfee_sumamt));
        }
        let parts = self.fund_pay_sumamt + self.psn_part_amt + self.hosp_part_amt;
        if self.medfee_sumamt != parts {
            return broken(
                "medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt",
                format!("{} ≠ {parts}", self.medfee_sumamt),
            );
        }
        let funds = self.hifp_pay
            + self.cvlserv_pay
            + self.hifes_pay
            + self.hifmi_pay
            + self.hifob_pay
            + self.maf_pay
            + self.oth_pay;
        if self.fund_pay_sumamt != funds {
            return broken(
                "fund_pay_sumamt = sum of the funds",
                format!("{} ≠ {funds}", self.fund_pay_sumamt),
            );
        }
        if self.psn_part_amt != self.acct_pay + self.psn_cash_pay {
            return broken(
                "psn_part_amt = acct_pay + psn_cash_pay",
                format!(
                    "{} ≠ {} + {}",
                    self.psn_part_amt, self.acct_pay, self.psn_cash_pay
                ),
            );
        }
        if self.acct_mulaid_pay > self.acct_pay {
            return broken(
                "acct_mulaid_pay ≤ acct_pay",
                format!("{} > {}", self.acct_mulaid_pay, self.acct_pay),
            );
        }
        let policy_range_funds = self.hifp_pay + self.hifob_pay + self.hifmi_pay + self.maf_pay;
        if policy_range_funds > self.inscp_scp_amt {
            return broken(
                "basic + large-amount + serious-illness + assistance ≤ inscp_scp_amt",
                format!("{policy_range_funds} > {}", self.inscp_scp_amt),
            );
        }
        let amounts = [
            ("medfee_sumamt", self.medfee_sumamt),
            ("fulamt_ownpay_amt", self.fulamt_ownpay_amt),
            ("overlmt_selfpay", self.overlmt_selfpay),
            ("preselfpay_amt", self.preselfpay_amt),
            ("inscp_scp_amt", self.inscp_scp_amt),
            ("act_pay_dedc", self.act_pay_dedc),
            ("hifp_pay", self.hifp_pay),
            ("cvlserv_pay", self.cvlserv_pay),
            ("hifes_pay", self.hifes_pay),
            ("hifmi_pay", self.hifmi_pay),
            ("hifob_pay", self.hifob_pay),
            ("maf_pay", self.maf_pay),
            ("oth_pay", self.oth_pay),
            ("fund_pay_sumamt", self.fund_pay_sumamt),
            ("psn_part_amt", self.psn_part_amt),
            ("acct_pay", self.acct_pay),
            ("acct_mulaid_pay", self.acct_mulaid_pay),
            ("psn_cash_pay", self.psn_cash_pay),
            ("hosp_part_amt", self.hosp_part_amt),
            ("balc", self.balc),
        ];
        if let Some((name, amount)) = amounts.iter().find(|(_, amount)| amount.is_negative()) {
            return broken("no amount is negative", format!("{name} = {amount}"));
        }
        if !self.pool_prop_selfpay.is_unit() {
            return broken(
                "pool_prop_selfpay in [0, 1]",
                self.pool_prop_selfpay.to_string(),
            );
        }
        let detail_sum: Fen = self.setldetail.iter().map(|&(_, amount)| amount).sum();
        if detail_sum != self.fund_pay_sumamt + self.acct_pay
            || self.setldetail.iter().any(|(_, amount)| amount.is_zero())
        {
            return broken(
                "setldetail lists every non-zero payer and sums to fund_pay_sumamt + acct_pay",
                format!(
                    "{detail_sum} ≠ {} + {}",
                    self.fund_pay_sumamt, self.acct_pay
                ),
            );
        }
        let family_sum: Fen = self.account_draws.family.iter().copied().sum();
        if self.account_draws.own + family_sum != self.acct_pay
            || family_sum != self.acct_mulaid_pay
        {
            return broken(
                "account draws sum to acct_pay",
                format!(
                    "{} + {family_sum} ≠ {}",
                    self.account_draws.own, self.acct_pay
                ),
            );
        }
        Ok(())
    }
}

fn bad_value(field: impl Into<String>, reason: impl Into<String>) -> SettleError {
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

/// What the visit's place and filing do to the basic fund (异地就医).
#[derive(Debug, Clone)]
struct CrossOutcome {
    /// The visit is outside the pooling region and has no filing (nor counts as filed).
    unfiled: bool,
    /// Points on the basic ratio.
    points: Ratio,
    /// Factor on the basic benefit's deductible.
    deductible_factor: Ratio,
    /// For the trace; empty for a local visit.
    note: String,
}

fn cross_outcome(policy: &Policy, input: &SettleInput) -> CrossOutcome {
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

fn percent(ratio: Ratio) -> String {
    format!("{}%", Ratio(ratio.0 * 100))
}

/// The subject of the policy's conditions: the person and the visit.
fn subject(input: &SettleInput) -> Subject<'_> {
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

/// The room left under every shared cap that counts `fund`, given what this bill already paid.
fn shared_room(scheme: &Scheme, ytd: &Ytd, delta: &Ytd, fund: FundPayType) -> Option<Fen> {
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
fn add_shared(scheme: &Scheme, delta: &mut Ytd, fund: FundPayType, amount: Fen) {
    for cap in scheme
        .shared_caps
        .iter()
        .filter(|cap| cap.funds.contains(&fund))
    {
        add_other(delta, cap.key(), amount);
    }
}

/// The smaller of two optional rooms.
fn min_room(a: Option<Fen>, b: Option<Fen>) -> Option<Fen> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
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
struct Basic {
    steps: Vec<LayerStep>,
    /// The main step's ratio (for `pool_prop_selfpay`).
    ratio: Ratio,
    /// What the cap of an inpatient-type benefit or a chronic quota cut off; the large-amount
    /// fund pays on it only for the `med_type`s its policy lists (outpatient types never).
    overcap_base: Fen,
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
fn basic_fund(
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
fn negotiated_step(
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

fn add_other(delta: &mut Ytd, key: String, amount: Fen) {
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
        acct_mulaid_pay,
        psn_cash_pay,
        hosp_part_amt,
        balc: person.acct_balance - own_draw,
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
        || (scheme.personal_account.is_none() && !settlement.acct_pay.is_zero())
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
