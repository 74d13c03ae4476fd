//! What the engine settles: the person's state, the visit, the classified lines and the date.

use std::collections::BTreeMap;

use yibao_core_types::{
    AcctUsedFlag, Admdvs, Fen, HiSetlLv, Insutype, MedType, NaiveDate, PsnType, SpPsnType,
};
pub use yibao_policy::FilingKind;

use crate::classify::LineSplit;

/// Everything one settlement needs besides the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleInput {
    /// The insured person and what they have used this year.
    pub person: Person,
    /// The visit.
    pub visit: Visit,
    /// The bill's lines, already classified with [`crate::classify_line`].
    pub lines: Vec<LineSplit>,
    /// The settlement date (the caller's clock, read once).
    pub settle_date: NaiveDate,
}

/// The insured person's state at settlement time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// 人员编号.
    pub psn_no: String,
    /// 险种.
    pub insutype: Insutype,
    /// 人员类别.
    pub psn_type: PsnType,
    /// Age in whole years.
    pub age: u32,
    /// Identity categories (特殊人员类型), all that apply.
    pub sp_psn_types: Vec<SpPsnType>,
    /// 参保地医保区划.
    pub insuplc_admdvs: Admdvs,
    /// Own personal account balance.
    pub acct_balance: Fen,
    /// Balances of the family accounts bound for mutual aid, in binding order.
    pub mulaid_balances: Vec<Fen>,
    /// Year-to-date accumulators before this bill.
    pub ytd: Ytd,
    /// Contribution tier (缴费档次, `"1"` 一档, `"2"` 二档), when the scheme has tiers.
    pub tier: Option<String>,
    /// Recognised chronic and special diseases (门慢认定).
    pub chronic_recognitions: Vec<ChronicRecognition>,
}

/// One recognised chronic or special disease (门慢认定): the disease, its validity and the
/// designated institution, if the recognition names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronicRecognition {
    /// The recognised disease code (`I10.x00`, `E11`).
    pub dise_codg: String,
    /// First valid day.
    pub begndate: NaiveDate,
    /// Last valid day (inclusive).
    pub enddate: NaiveDate,
    /// The designated institution (定点机构); `None` = any institution.
    pub fixmedins_code: Option<String>,
}

impl ChronicRecognition {
    /// True when valid on `date` at `fixmedins_code`.
    pub fn valid_at(&self, date: NaiveDate, fixmedins_code: &str) -> bool {
        self.begndate <= date
            && date <= self.enddate
            && self
                .fixmedins_code
                .as_deref()
                .is_none_or(|code| code == fixmedins_code)
    }
}

/// The visit being settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// 医疗类别.
    pub med_type: MedType,
    /// 医保结算等级.
    pub hi_setl_lv: HiSetlLv,
    /// 就医地医保区划.
    pub mdtrtarea_admvs: Admdvs,
    /// The person's cross-region filing (备案) that covers this visit; `None` = unfiled.
    pub filing: Option<FilingKind>,
    /// An emergency.
    pub emergency: bool,
    /// 病种编码 (the chronic disease for `med_type` 14); may be empty.
    pub dise_codg: String,
    /// 个人账户使用标志.
    pub acct_used_flag: AcctUsedFlag,
    /// The institution's code (for designated-institution checks); may be empty offline.
    pub fixmedins_code: String,
    /// The institution's kinds (`tcm`, `village`, `community`, `dual_channel` …).
    pub institution_kinds: Vec<String>,
    /// Came by referral (转诊).
    pub referral: bool,
    /// A transfer in from another hospital within one episode (转院, `adm_way` 3).
    pub transfer_in: bool,
    /// Admission or visit date (`begntime`), when known: a stay that began in an earlier
    /// insurance year is charged to the year of discharge, and the trace says so.
    pub begin_date: Option<NaiveDate>,
    /// 生育类别 `matn_type` of a maternity bill.
    pub matn_type: Option<String>,
}

/// Year-to-date accumulators (spec section 5). As a settlement's delta, a reversal subtracts
/// exactly these amounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ytd {
    /// Settled inpatient admissions.
    pub inpatient_admissions: i64,
    /// Basic fund paid on inpatient bills.
    pub hifp_inpatient: Fen,
    /// Basic fund paid on outpatient pooling bills.
    pub hifp_outpatient: Fen,
    /// Outpatient pooling deductible used.
    pub outpatient_deductible: Fen,
    /// Large-amount fund paid.
    pub hifob: Fen,
    /// Serious-illness base accumulated.
    pub hifmi_base: Fen,
    /// Serious-illness insurance paid.
    pub hifmi: Fen,
    /// Medical assistance paid.
    pub maf: Fen,
    /// Medical assistance deductible used.
    pub maf_deductible: Fen,
    /// Basic fund paid on chronic outpatient bills, per disease key (`I10`).
    pub chronic: BTreeMap<String, Fen>,
    /// Policy-named accumulators: extra layers (`320100`, `320100.deductible`) and outpatient
    /// benefits with their own accumulator (`accident_outpatient`, `….deductible`).
    pub other: BTreeMap<String, Fen>,
}

/// Adds `sign × from` into `into`; an entry that reaches zero is dropped (zero and missing mean
/// the same).
fn add_map(into: &mut BTreeMap<String, Fen>, from: &BTreeMap<String, Fen>, sign: i64) {
    for (key, amount) in from {
        let entry = into.entry(key.clone()).or_insert(Fen::ZERO);
        *entry += Fen(amount.0 * sign);
        if entry.is_zero() {
            into.remove(key);
        }
    }
}

impl Ytd {
    /// Adds a settlement's delta.
    pub fn add(&mut self, delta: &Ytd) {
        self.combine(delta, 1);
    }

    /// Subtracts a settlement's delta (a reversal).
    pub fn subtract(&mut self, delta: &Ytd) {
        self.combine(delta, -1);
    }

    fn combine(&mut self, delta: &Ytd, sign: i64) {
        self.inpatient_admissions += delta.inpatient_admissions * sign;
        let scaled = |amount: Fen| Fen(amount.0 * sign);
        self.hifp_inpatient += scaled(delta.hifp_inpatient);
        self.hifp_outpatient += scaled(delta.hifp_outpatient);
        self.outpatient_deductible += scaled(delta.outpatient_deductible);
        self.hifob += scaled(delta.hifob);
        self.hifmi_base += scaled(delta.hifmi_base);
        self.hifmi += scaled(delta.hifmi);
        self.maf += scaled(delta.maf);
        self.maf_deductible += scaled(delta.maf_deductible);
        add_map(&mut self.chronic, &delta.chronic, sign);
        add_map(&mut self.other, &delta.other, sign);
    }

    /// The exact negation (a reversal's delta).
    pub fn negated(&self) -> Ytd {
        let mut negated = Ytd::default();
        negated.subtract(self);
        negated
    }

    /// What the chronic map holds for a disease key.
    pub fn chronic_used(&self, disease_key: &str) -> Fen {
        self.chronic.get(disease_key).copied().unwrap_or(Fen::ZERO)
    }

    /// What the policy-named map holds for a key.
    pub fn other_used(&self, key: &str) -> Fen {
        self.other.get(key).copied().unwrap_or(Fen::ZERO)
    }

    /// The first negative field, if any (a year-to-date amount is never negative).
    pub fn first_negative_field(&self) -> Option<String> {
        if self.inpatient_admissions < 0 {
            return Some("inpatient_admissions".into());
        }
        let fields = [
            ("hifp_inpatient", self.hifp_inpatient),
            ("hifp_outpatient", self.hifp_outpatient),
            ("outpatient_deductible", self.outpatient_deductible),
            ("hifob", self.hifob),
            ("hifmi_base", self.hifmi_base),
            ("hifmi", self.hifmi),
            ("maf", self.maf),
            ("maf_deductible", self.maf_deductible),
        ];
        if let Some((name, _)) = fields.iter().find(|(_, amount)| amount.is_negative()) {
            return Some((*name).into());
        }
        if let Some((key, _)) = self.chronic.iter().find(|(_, amount)| amount.is_negative()) {
            return Some(format!("chronic.{key}"));
        }
        self.other
            .iter()
            .find(|(_, amount)| amount.is_negative())
            .map(|(key, _)| format!("other.{key}"))
    }
}
