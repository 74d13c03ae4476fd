//! Step 1 of settlement (spec section 3): classify each fee line into fully self-paid, over the
//! price cap, pre-self-pay and policy range — the 2204/2301 `result[]` split.

use std::sync::Arc;

use yibao_core_types::{
    line_amount, ChrgitmLv, Fen, HospApprFlag, ListType, Price, Quantity, Ratio,
};
use yibao_policy::CatalogueEntry;

use crate::limits::CODE_TEXT_MAX;

/// One fee line as the hospital sent it, already checked: its amount agrees with price × count
/// within 0.01. Build it with [`FeeLine::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLine {
    /// 医保目录编码 (shared: classification and the trace copy only a reference).
    pub med_list_codg: Arc<str>,
    /// Unit price (`pric`), never negative.
    pub pric: Price,
    /// Count (`cnt`); negative on a refund line.
    pub cnt: Quantity,
    /// `det_item_fee_sumamt`: the supplied amount, or `round_half_up(pric × cnt)`.
    pub amount: Fen,
    /// `hosp_appr_flag`.
    pub hosp_appr_flag: HospApprFlag,
}

/// Why a fee line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeLineError {
    /// The supplied amount differs from `round_half_up(pric × cnt)` by more than 0.01.
    #[error(
        "det_item_fee_sumamt: {supplied} differs from pric × cnt = {computed} by more than 0.01"
    )]
    AmountMismatch {
        /// The amount the hospital sent.
        supplied: Fen,
        /// `round_half_up(pric × cnt)`.
        computed: Fen,
    },
    /// The code is empty or too long.
    #[error("med_list_codg: must be 1 to {CODE_TEXT_MAX} characters")]
    BadCode,
}

impl FeeLine {
    /// Checks a line: the amount, when given, must agree with `round_half_up(pric × cnt)` within
    /// one fen; when not given it is that product.
    pub fn new(
        med_list_codg: impl Into<Arc<str>>,
        pric: Price,
        cnt: Quantity,
        supplied_amount: Option<Fen>,
        hosp_appr_flag: HospApprFlag,
    ) -> Result<FeeLine, FeeLineError> {
        let med_list_codg = med_list_codg.into();
        if med_list_codg.is_empty() || med_list_codg.len() > CODE_TEXT_MAX {
            return Err(FeeLineError::BadCode);
        }
        let computed = line_amount(pric, cnt);
        let amount = match supplied_amount {
            Some(supplied) if (supplied.0 - computed.0).abs() > 1 => {
                return Err(FeeLineError::AmountMismatch { supplied, computed });
            }
            Some(supplied) => supplied,
            None => computed,
        };
        Ok(FeeLine {
            med_list_codg,
            pric,
            cnt,
            amount,
            hosp_appr_flag,
        })
    }
}

/// Why a line was classified the way it was (for the trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineReason {
    /// Not in the catalogue: fully self-paid.
    NotInCatalogue,
    /// 丙类: fully self-paid.
    ClassC,
    /// Restricted item without hospital approval: fully self-paid.
    RestrictedNotApproved,
    /// Unrestricted item the hospital marked not approved (`hosp_appr_flag` 2): fully self-paid.
    MarkedNotApproved,
    /// 甲类: the allowed amount is in the policy range.
    ClassA,
    /// 乙类: the allowed amount minus the pre-self-pay share is in the policy range.
    ClassB,
}

impl LineReason {
    /// A short Chinese explanation for clerks.
    pub fn text_zh(self) -> &'static str {
        match self {
            LineReason::NotInCatalogue => "目录外，全自费",
            LineReason::ClassC => "丙类，全自费",
            LineReason::RestrictedNotApproved => "限制使用项目未经审批，全自费",
            LineReason::MarkedNotApproved => "医院审批不通过，全自费",
            LineReason::ClassA => "甲类，纳入政策范围",
            LineReason::ClassB => "乙类，先行自付后纳入政策范围",
        }
    }

    /// A stable machine name.
    pub fn code(self) -> &'static str {
        match self {
            LineReason::NotInCatalogue => "not_in_catalogue",
            LineReason::ClassC => "class_c",
            LineReason::RestrictedNotApproved => "restricted_not_approved",
            LineReason::MarkedNotApproved => "marked_not_approved",
            LineReason::ClassA => "class_a",
            LineReason::ClassB => "class_b",
        }
    }
}

/// The classification of one line (2204/2301 `result[]`).
/// `det_item_fee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSplit {
    /// 医保目录编码, shared so that the trace keeps the lines without copying their codes.
    pub med_list_codg: Arc<str>,
    /// Unit price.
    pub pric: Price,
    /// Count.
    pub cnt: Quantity,
    /// The line amount.
    pub det_item_fee_sumamt: Fen,
    /// 全自费金额.
    pub fulamt_ownpay_amt: Fen,
    /// 超限价自费费用.
    pub overlmt_selfpay: Fen,
    /// 先行自付金额.
    pub preselfpay_amt: Fen,
    /// 符合政策范围金额.
    pub inscp_scp_amt: Fen,
    /// The pre-self-pay share applied (0 unless 乙类).
    pub selfpay_prop: Ratio,
    /// The catalogue class, when the item is in the catalogue.
    pub chrgitm_lv: Option<ChrgitmLv>,
    /// The list type, when known.
    pub list_type: Option<ListType>,
    /// The price cap, when the entry has one.
    pub pric_uplmt_amt: Option<Price>,
    /// Restricted use.
    pub lmt_used_flag: bool,
    /// A negotiated drug (国家谈判药品, `hi_nego_drug_flag`).
    pub negotiated: bool,
    /// Why.
    pub reason: LineReason,
}

/// Classifies one line (spec section 3). `entry` is the catalogue entry for the line's code, or
/// `None` when the item is not in the catalogue.
pub fn classify_line(entry: Option<&CatalogueEntry>, line: &FeeLine) -> LineSplit {
    classify_line_with(entry, line, None)
}

/// Classifies one line with the region's own 乙类 pre-self-pay share, when its policy sets one
/// (`Scheme::class_b_share`), instead of the catalogue's default.
pub fn classify_line_with(
    entry: Option<&CatalogueEntry>,
    line: &FeeLine,
    class_b_share: Option<Ratio>,
) -> LineSplit {
    let amount = line.amount;
    let mut split = LineSplit {
        med_list_codg: Arc::clone(&line.med_list_codg),
        pric: line.pric,
        cnt: line.cnt,
        det_item_fee_sumamt: amount,
        fulamt_ownpay_amt: Fen::ZERO,
        overlmt_selfpay: Fen::ZERO,
        preselfpay_amt: Fen::ZERO,
        inscp_scp_amt: Fen::ZERO,
        selfpay_prop: Ratio::ZERO,
        chrgitm_lv: entry.map(|entry| entry.chrgitm_lv),
        list_type: entry.and_then(|entry| entry.list_type),
        pric_uplmt_amt: entry.and_then(|entry| entry.pric_uplmt_amt),
        lmt_used_flag: entry.is_some_and(|entry| entry.lmt_used_flag),
        negotiated: entry.is_some_and(|entry| entry.negotiated),
        reason: LineReason::NotInCatalogue,
    };
    let Some(entry) = entry else {
        split.fulamt_ownpay_amt = amount;
        return split;
    };
    let fully_self_paid = if entry.chrgitm_lv == ChrgitmLv::ClassC {
        Some(LineReason::ClassC)
    } else if entry.lmt_used_flag && line.hosp_appr_flag != HospApprFlag::Approved {
        Some(LineReason::RestrictedNotApproved)
    } else if !entry.lmt_used_flag && line.hosp_appr_flag == HospApprFlag::Refused {
        Some(LineReason::MarkedNotApproved)
    } else {
        None
    };
    if let Some(reason) = fully_self_paid {
        split.reason = reason;
        split.fulamt_ownpay_amt = amount;
        return split;
    }
    split.overlmt_selfpay = match entry.pric_uplmt_amt {
        Some(cap) if line.pric > cap => line_amount(Price(line.pric.0 - cap.0), line.cnt),
        _ => Fen::ZERO,
    };
    // A supplied amount may be one fen below pric × cnt; the over-cap part never exceeds it.
    if split.overlmt_selfpay.0.abs() > amount.0.abs() {
        split.overlmt_selfpay = amount;
    }
    let allowed = amount - split.overlmt_selfpay;
    if entry.chrgitm_lv == ChrgitmLv::ClassB {
        split.reason = LineReason::ClassB;
        split.selfpay_prop = class_b_share.unwrap_or(entry.selfpay_prop);
        split.preselfpay_amt = allowed.mul_ratio(split.selfpay_prop);
    } else {
        split.reason = LineReason::ClassA;
    }
    split.inscp_scp_amt = allowed - split.preselfpay_amt;
    split
}
