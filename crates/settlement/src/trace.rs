//! The explanation of a settlement (spec section 7): for each line its classification and why;
//! for each layer its base, deductible, ratio and where it came from, cap room before and after,
//! and the amount. Structured here; [`Trace::render_text`] is for clerks and
//! [`Trace::compact`] is the interface's `setl_proc_info`.

use std::fmt::Write as _;

use yibao_core_types::{AcctUsedFlag, Fen, FundPayType, Ratio, SpPsnType};

use crate::classify::LineSplit;

/// Which layer a step is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Basic pooling fund, inpatient.
    BasicInpatient,
    /// Basic pooling fund, outpatient pooling.
    BasicOutpatient,
    /// Basic pooling fund, chronic outpatient.
    BasicChronic,
    /// Basic pooling fund, day surgery (日间手术).
    BasicDaySurgery,
    /// Maternity medical fees (生育医疗费).
    BasicMaternity,
    /// Basic pooling fund, negotiated drugs (国谈药 双通道) paid apart.
    BasicNegotiated,
    /// Basic pooling fund, when no benefit covers the bill's `med_type`.
    BasicNone,
    /// Employees' large-amount fund.
    LargeAmount,
    /// Residents' serious-illness insurance.
    SeriousIllness,
    /// Medical assistance.
    Assistance,
    /// A further layer (`cvlserv_pay`, `hifes_pay`, `oth_pay`).
    Extra,
}

impl LayerKind {
    /// Chinese name for clerks.
    pub fn name_zh(self) -> &'static str {
        match self {
            LayerKind::BasicInpatient => "基本医疗保险统筹基金（住院）",
            LayerKind::BasicOutpatient => "基本医疗保险统筹基金（门诊统筹）",
            LayerKind::BasicChronic => "基本医疗保险统筹基金（门诊慢特病）",
            LayerKind::BasicDaySurgery => "基本医疗保险统筹基金（日间手术）",
            LayerKind::BasicMaternity => "生育医疗费用",
            LayerKind::BasicNegotiated => "基本医疗保险统筹基金（国谈药双通道）",
            LayerKind::BasicNone => "基本医疗保险统筹基金",
            LayerKind::LargeAmount => "职工大额医疗费用补助",
            LayerKind::SeriousIllness => "城乡居民大病保险",
            LayerKind::Assistance => "医疗救助",
            LayerKind::Extra => "补充保障",
        }
    }

    /// Stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            LayerKind::BasicInpatient => "basic_inpatient",
            LayerKind::BasicOutpatient => "basic_outpatient",
            LayerKind::BasicChronic => "basic_chronic",
            LayerKind::BasicDaySurgery => "basic_day_surgery",
            LayerKind::BasicMaternity => "basic_maternity",
            LayerKind::BasicNegotiated => "basic_negotiated",
            LayerKind::BasicNone => "basic",
            LayerKind::LargeAmount => "large_amount",
            LayerKind::SeriousIllness => "serious_illness",
            LayerKind::Assistance => "assistance",
            LayerKind::Extra => "extra",
        }
    }
}

/// Why a layer paid nothing without computing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The policy has no benefit for this `med_type` (pharmacy purchases, …).
    NoBenefitForMedType,
    /// The ratio table has no ratio for this level and person type.
    NoRatioForLevel,
    /// A chronic bill whose disease has no quota.
    NoQuotaForDisease,
    /// The layer does not apply to this `med_type`.
    NotForMedType,
    /// The layer does not apply to this person type.
    NotForPsnType,
    /// The person has no identity category the layer names.
    NoCategory,
    /// No rule of the layer matches the person and bill.
    NoRule,
    /// The basic fund's cap did not cut its payment, so nothing is over the cap.
    NothingOverCap,
    /// The benefit for this `med_type` is for other people (children and students only, …).
    NotForPerson,
    /// A pharmacy purchase of negotiated drugs at a pharmacy not designated for them.
    NotDesignatedPharmacy,
}

impl Skip {
    /// Chinese explanation.
    pub fn text_zh(self) -> &'static str {
        match self {
            Skip::NoBenefitForMedType => "该医疗类别无统筹待遇",
            Skip::NoRatioForLevel => "该结算等级或人员类别无统筹待遇",
            Skip::NoQuotaForDisease => "该病种无门诊慢特病限额，不予统筹",
            Skip::NotForMedType => "不适用于该医疗类别",
            Skip::NotForPsnType => "不适用于该人员类别",
            Skip::NoCategory => "无政策规定的特殊人员身份",
            Skip::NoRule => "无适用规则",
            Skip::NothingOverCap => "统筹基金未超年度限额",
            Skip::NotForPerson => "该待遇不适用于此参保人",
            Skip::NotDesignatedPharmacy => "非双通道定点药店",
        }
    }

    /// Stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            Skip::NoBenefitForMedType => "no_benefit_for_med_type",
            Skip::NoRatioForLevel => "no_ratio_for_level",
            Skip::NoQuotaForDisease => "no_quota_for_disease",
            Skip::NotForMedType => "not_for_med_type",
            Skip::NotForPsnType => "not_for_psn_type",
            Skip::NoCategory => "no_category",
            Skip::NoRule => "no_rule",
            Skip::NothingOverCap => "nothing_over_cap",
            Skip::NotForPerson => "not_for_person",
            Skip::NotDesignatedPharmacy => "not_designated_pharmacy",
        }
    }
}

/// Where a layer's ratio came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioSource {
    /// No ratio (the layer was skipped).
    None,
    /// The layer's single ratio.
    Fixed,
    /// A ratio table row plus adjustments, clamped to `[0, 1]`.
    Table {
        /// The matching row.
        row_idx: usize,
        /// The row's ratio for the level.
        table_ratio: Ratio,
        /// Person-type adjustments.
        adjustment_points: Ratio,
        /// Cross-region unfiled adjustment (0 when local, filed or an emergency).
        cross_region_points: Ratio,
    },
    /// Bands of a serious-illness rule (the ratio shown is the effective one).
    Bands {
        /// The rule that applied.
        rule_idx: usize,
    },
    /// An identity category's ratio.
    Category {
        /// The category.
        sp_psn_type: SpPsnType,
    },
}

/// Layer-specific facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerDetail {
    /// Nothing more.
    None,
    /// Inpatient deductible: per admission, halved (or so) on a repeat admission.
    Inpatient {
        /// The level's per-admission deductible.
        per_admission: Fen,
        /// Whether this is a repeat admission this year.
        repeat: bool,
    },
    /// Chronic outpatient: the disease key and its quota.
    Chronic {
        /// The disease key (`I10`).
        disease_key: String,
        /// The annual quota.
        quota: Fen,
    },
    /// Large-amount fund: what the basic fund's cap left.
    LargeAmount {
        /// `overcap_base`.
        overcap_base: Fen,
    },
    /// Serious illness: the accumulated base before and after, and the threshold.
    SeriousIllness {
        /// `B0`.
        base_before: Fen,
        /// `B1`.
        base_after: Fen,
        /// `T`.
        threshold: Fen,
    },
}

/// One layer's computation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStep {
    /// Which layer.
    pub kind: LayerKind,
    /// Its fund code.
    pub fund: FundPayType,
    /// Set when the layer did not apply.
    pub skipped: Option<Skip>,
    /// The base before the deductible.
    pub base_before_deductible: Fen,
    /// The deductible still open before this bill.
    pub deductible_open: Fen,
    /// The deductible this bill used (`act_pay_dedc` for the basic fund).
    pub deductible_used: Fen,
    /// The base the ratio applies to.
    pub base: Fen,
    /// The ratio applied (clamped).
    pub ratio: Ratio,
    /// Where the ratio came from.
    pub ratio_source: RatioSource,
    /// The amount before the cap.
    pub raw: Fen,
    /// Cap room before this bill (`None` = no cap).
    pub cap_room_before: Option<Fen>,
    /// What the layer pays.
    pub amount: Fen,
    /// Layer-specific facts.
    pub detail: LayerDetail,
    /// Which rules applied and why, in words (segments, waivers, conditions, period caps).
    pub notes: Vec<String>,
}

impl LayerStep {
    /// A step for a layer that did not apply.
    pub fn skipped(kind: LayerKind, fund: FundPayType, skip: Skip) -> LayerStep {
        LayerStep {
            kind,
            fund,
            skipped: Some(skip),
            base_before_deductible: Fen::ZERO,
            deductible_open: Fen::ZERO,
            deductible_used: Fen::ZERO,
            base: Fen::ZERO,
            ratio: Ratio::ZERO,
            ratio_source: RatioSource::None,
            raw: Fen::ZERO,
            cap_room_before: None,
            amount: Fen::ZERO,
            detail: LayerDetail::None,
            notes: Vec::new(),
        }
    }

    /// Cap room after this bill.
    pub fn cap_room_after(&self) -> Option<Fen> {
        self.cap_room_before.map(|room| room - self.amount)
    }
}

/// The personal account step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStep {
    /// The flag the bill sent.
    pub acct_used_flag: AcctUsedFlag,
    /// Whether the scheme has a personal account at all.
    pub scheme_has_account: bool,
    /// Whether the policy allows mutual aid.
    pub mutual_aid_allowed: bool,
    /// `psn_part_amt` the account could pay.
    pub psn_part_amt: Fen,
    /// Own balance before.
    pub own_balance_before: Fen,
    /// Drawn from the own account.
    pub own_draw: Fen,
    /// Family accounts: (balance before, drawn), in binding order.
    pub family: Vec<(Fen, Fen)>,
}

/// The bill's totals after classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillTotals {
    /// `medfee_sumamt`.
    pub medfee_sumamt: Fen,
    /// `fulamt_ownpay_amt`.
    pub fulamt_ownpay_amt: Fen,
    /// `overlmt_selfpay`.
    pub overlmt_selfpay: Fen,
    /// `preselfpay_amt`.
    pub preselfpay_amt: Fen,
    /// `inscp_scp_amt`.
    pub inscp_scp_amt: Fen,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The policy id.
    pub policy_id: String,
    /// Whether the visit counted as cross-region unfiled.
    pub cross_region_unfiled: bool,
    /// Bill-level explanations (cross-region filing and its adjustment).
    pub notes: Vec<String>,
    /// The lines as classified.
    pub lines: Vec<LineSplit>,
    /// The totals.
    pub totals: BillTotals,
    /// The layers in order.
    pub layers: Vec<LayerStep>,
    /// The personal account.
    pub account: AccountStep,
}

/// Longest `setl_proc_info` (the interface field is C(4000)).
pub const SETL_PROC_INFO_MAX: usize = 4000;

fn percent(ratio: Ratio) -> String {
    let text = Ratio(ratio.0 * 100).to_string();
    format!("{text}%")
}

fn room(room: Option<Fen>) -> String {
    room.map_or_else(|| "不限".to_owned(), |room| room.to_string())
}

impl Trace {
    /// The explanation as text a bureau clerk can read (Chinese, one step per line).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let totals = &self.totals;
        let _ = writeln!(out, "政策 {}", self.policy_id);
        for note in &self.notes {
            let _ = writeln!(out, "  说明：{note}");
        }
        let _ = writeln!(out, "一、费用明细分类");
        for (idx, line) in self.lines.iter().enumerate() {
            let class = line.chrgitm_lv.map_or("目录外", |level| match level {
                yibao_core_types::ChrgitmLv::ClassA => "甲类",
                yibao_core_types::ChrgitmLv::ClassB => "乙类",
                yibao_core_types::ChrgitmLv::ClassC => "丙类",
            });
            let _ = write!(
                out,
                "  {}. {} {} 单价 {} × 数量 {} = {}：{}",
                idx + 1,
                line.med_list_codg,
                class,
                line.pric,
                line.cnt,
                line.det_item_fee_sumamt,
                line.reason.text_zh()
            );
            if !line.overlmt_selfpay.is_zero() {
                let cap = line
                    .pric_uplmt_amt
                    .map(|cap| cap.to_string())
                    .unwrap_or_default();
                let _ = write!(out, "；超限价 {}（限价 {cap}）", line.overlmt_selfpay);
            }
            if !line.preselfpay_amt.is_zero() {
                let _ = write!(
                    out,
                    "；先行自付 {}（比例 {}）",
                    line.preselfpay_amt,
                    percent(line.selfpay_prop)
                );
            }
            if !line.fulamt_ownpay_amt.is_zero() {
                let _ = write!(out, "；全自费 {}", line.fulamt_ownpay_amt);
            }
            let _ = writeln!(out, "；政策范围内 {}", line.inscp_scp_amt);
        }
        let _ = writeln!(
            out,
            "  合计：医疗费总额 {} = 全自费 {} + 超限价自费 {} + 先行自付 {} + 政策范围内 {}",
            totals.medfee_sumamt,
            totals.fulamt_ownpay_amt,
            totals.overlmt_selfpay,
            totals.preselfpay_amt,
            totals.inscp_scp_amt
        );
        let _ = writeln!(out, "二、基金支付（按顺序）");
        for layer in &self.layers {
            for note in &layer.notes {
                let _ = writeln!(out, "  · {note}");
            }
            let _ = write!(out, "  {} {}：", layer.kind.name_zh(), layer.fund);
            if let Some(skip) = layer.skipped {
                let _ = writeln!(out, "不支付（{}）", skip.text_zh());
                continue;
            }
            match &layer.detail {
                LayerDetail::Inpatient {
                    per_admission,
                    repeat,
                } => {
                    let _ = write!(
                        out,
                        "本次起付线 {}（{}，每次住院 {}），",
                        layer.deductible_open,
                        if *repeat {
                            "年内再次住院"
                        } else {
                            "年内首次住院"
                        },
                        per_admission
                    );
                }
                LayerDetail::Chronic { disease_key, quota } => {
                    let _ = write!(out, "病种 {disease_key}（年度限额 {quota}），");
                }
                LayerDetail::LargeAmount { overcap_base } => {
                    let _ = write!(out, "统筹基金超限额部分 {overcap_base}，");
                }
                LayerDetail::SeriousIllness {
                    base_before,
                    base_after,
                    threshold,
                } => {
                    let _ = write!(
                        out,
                        "年度累计基数 {base_before} → {base_after}（起付线 {threshold}），"
                    );
                }
                LayerDetail::None => {
                    if !layer.deductible_open.is_zero() {
                        let _ = write!(out, "剩余年度起付线 {}，", layer.deductible_open);
                    }
                }
            }
            if !matches!(layer.ratio_source, RatioSource::Bands { .. }) {
                let _ = write!(out, "基数 {}", layer.base_before_deductible);
            }
            if !layer.deductible_used.is_zero() {
                let _ = write!(out, " − 起付线 {} = {}", layer.deductible_used, layer.base);
            }
            if let RatioSource::Bands { rule_idx } = layer.ratio_source {
                let _ = writeln!(
                    out,
                    "本次基数 {}，按规则第 {} 条分段比例计算 F(累计后) − F(累计前) = {}（当前段比例 {}）；可支付限额 {} → {}；支付 {}",
                    layer.base,
                    rule_idx + 1,
                    layer.raw,
                    percent(layer.ratio),
                    room(layer.cap_room_before),
                    room(layer.cap_room_after()),
                    layer.amount
                );
                continue;
            }
            let _ = write!(out, " × {}", percent(layer.ratio));
            match layer.ratio_source {
                RatioSource::Table {
                    row_idx,
                    table_ratio,
                    adjustment_points,
                    cross_region_points,
                } => {
                    let _ = write!(
                        out,
                        "（比例表第 {} 行 {}",
                        row_idx + 1,
                        percent(table_ratio)
                    );
                    if adjustment_points != Ratio::ZERO {
                        let _ = write!(out, "，人员类别调整 {}", percent(adjustment_points));
                    }
                    if cross_region_points != Ratio::ZERO {
                        let _ = write!(out, "，异地未备案调整 {}", percent(cross_region_points));
                    }
                    let _ = write!(out, "）");
                }
                RatioSource::Bands { rule_idx } => {
                    let _ = write!(
                        out,
                        "（分段比例，规则第 {} 条，按累计基数计算）",
                        rule_idx + 1
                    );
                }
                RatioSource::Category { sp_psn_type } => {
                    let _ = write!(out, "（特殊人员类型 {sp_psn_type}）");
                }
                RatioSource::Fixed | RatioSource::None => {}
            }
            let _ = write!(out, " = {}", layer.raw);
            let _ = writeln!(
                out,
                "；可支付限额 {} → {}；支付 {}",
                room(layer.cap_room_before),
                room(layer.cap_room_after()),
                layer.amount
            );
        }
        let account = &self.account;
        let fund_total: Fen = self.layers.iter().map(|layer| layer.amount).sum();
        let _ = write!(out, "三、个人负担 {}", account.psn_part_amt);
        match account.acct_used_flag {
            AcctUsedFlag::NotUsed => {
                let _ = writeln!(out, "：不使用个人账户");
            }
            _ if !account.scheme_has_account => {
                let _ = writeln!(out, "：该险种无个人账户");
            }
            _ => {
                let _ = write!(
                    out,
                    "：个人账户余额 {} 支付 {}",
                    account.own_balance_before, account.own_draw
                );
                for (idx, (before, draw)) in account.family.iter().enumerate() {
                    let _ = write!(out, "；共济账户 {} 余额 {before} 支付 {draw}", idx + 1);
                }
                if account.acct_used_flag == AcctUsedFlag::OwnThenFamily
                    && !account.mutual_aid_allowed
                {
                    let _ = write!(out, "；本政策不允许共济");
                }
                let _ = writeln!(out);
            }
        }
        let family_total: Fen = account.family.iter().map(|&(_, draw)| draw).sum();
        let account_total = account.own_draw + family_total;
        let _ = writeln!(
            out,
            "结果：医疗费总额 {} = 基金支付 {} + 个人账户 {}（其中共济 {}） + 个人现金 {}",
            self.totals.medfee_sumamt,
            fund_total,
            account_total,
            family_total,
            account.psn_part_amt - account_total
        );
        out
    }

    /// The compact form for the interface's `setl_proc_info`: a JSON array with one object per
    /// computed layer, at most [`SETL_PROC_INFO_MAX`] bytes (later layers are left out rather
    /// than cut in the middle).
    pub fn compact(&self) -> String {
        let mut out = String::from("[");
        for layer in self.layers.iter().filter(|layer| layer.skipped.is_none()) {
            let mut item = String::new();
            let _ = write!(
                item,
                "{{\"fundPayType\":\"{}\",\"base\":{},\"dedc\":{},\"ratio\":{},\"pay\":{}",
                layer.fund,
                layer.base_before_deductible,
                layer.deductible_used,
                layer.ratio,
                layer.amount
            );
            if let Some(room) = layer.cap_room_before {
                let _ = write!(item, ",\"capRoom\":{room}");
            }
            item.push('}');
            if out.len() + item.len() + 2 > SETL_PROC_INFO_MAX {
                break;
            }
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&item);
        }
        out.push(']');
        out
    }
}
