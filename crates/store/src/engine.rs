//! The store's side of the settlement engine: registry documents parsed once into an in-memory
//! cache, and the conversion between stored rows and the engine's values.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use yibao_core_types::{
    AcctUsedFlag, Admdvs, ChrgitmLv, CodeError, Fen, HiSetlLv, HospApprFlag, Insutype, ListType,
    MedType, Price, PsnType, Quantity, Ratio, SpPsnType,
};
use yibao_policy::{parse_catalogue, parse_policy, Catalogue, Policy};
use yibao_settlement::{
    self as st, classify_line_with, FeeLine, LineSplit, SetlAmounts, SettleError,
};

use crate::cmd::FeeLineResult;
use crate::error::StoreError;

/// The national fund codes (`fund_pay_type`, national-interface.md section 5.3). Import opens an
/// account for each in every insured region, so settlements never create accounts on the way.
pub(crate) const NATIONAL_FUNDS: &[&str] = &[
    "310100", "320100", "330100", "340100", "350100", "370100", "390100", "390200", "510100",
    "610100", "999996", "999997",
];

/// `round_half_up(pric × cnt)` in fen: the engine's rule, used in one place.
pub(crate) fn line_amount_fen(pric_micro: i64, cnt_e4: i64) -> i64 {
    yibao_core_types::line_amount(Price(pric_micro), Quantity(cnt_e4)).0
}

/// Fen as yuan text with two decimals.
pub(crate) fn render_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        fen.unsigned_abs() / 100,
        fen.unsigned_abs() % 100
    )
}

/// The catalogue facts stored with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineFacts {
    pub(crate) in_catalogue: bool,
    pub(crate) chrgitm_lv: String,
    pub(crate) med_chrgitm_type: String,
    pub(crate) selfpay_prop_ppm: i64,
    pub(crate) pric_uplmt_micro: Option<i64>,
    pub(crate) lmt_used_flag: String,
}

/// 自付比例 as the interface answers it for a line (2204/2301 `selfpay_prop`, millionths): 1 on a
/// 丙类 line and on a line whose item is not in the catalogue (the person pays all of it; spec
/// national-interface §3A, and the Zhejiang platform's answer in §6 V3), else the 乙类 share the
/// engine applied (0 for 甲类). The engine's own ratio is only the pre-self-pay share.
fn interface_selfpay_prop_ppm(split: &LineSplit) -> i64 {
    match split.chrgitm_lv {
        None | Some(ChrgitmLv::ClassC) => Ratio::ONE_PPM as i64,
        Some(_) => split.selfpay_prop.0,
    }
}

/// Where a fee line is priced: the catalogue version in force on its fee date and the 乙类 share
/// the place of care's policy sets for the visit's scheme (就医地目录: the institution's region).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pricing<'a> {
    /// The day the fee arose.
    pub(crate) fee_date: NaiveDate,
    /// The institution's region.
    pub(crate) region: &'a str,
    /// The visit's insurance type.
    pub(crate) insutype: &'a str,
}

/// A classified fee line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredLine {
    pub(crate) feedetl_sn: String,
    /// The day the fee arose (`fee_ocur_time`): the catalogue version in force that day prices it.
    pub(crate) fee_date: NaiveDate,
    pub(crate) med_list_codg: String,
    pub(crate) pric_micro: i64,
    pub(crate) cnt_e4: i64,
    pub(crate) amount_fen: i64,
    pub(crate) hosp_appr_flag: String,
    pub(crate) facts: LineFacts,
    pub(crate) fulamt_ownpay_fen: i64,
    pub(crate) overlmt_selfpay_fen: i64,
    pub(crate) preselfpay_fen: i64,
    pub(crate) inscp_scp_fen: i64,
    pub(crate) memo: String,
}

impl StoredLine {
    pub(crate) fn result(&self) -> FeeLineResult {
        FeeLineResult {
            feedetl_sn: self.feedetl_sn.clone(),
            det_item_fee_sumamt_fen: self.amount_fen,
            cnt_e4: self.cnt_e4,
            pric_micro: self.pric_micro,
            pric_uplmt_micro: self.facts.pric_uplmt_micro,
            selfpay_prop_ppm: self.facts.selfpay_prop_ppm,
            fulamt_ownpay_fen: self.fulamt_ownpay_fen,
            overlmt_selfpay_fen: self.overlmt_selfpay_fen,
            preselfpay_fen: self.preselfpay_fen,
            inscp_scp_fen: self.inscp_scp_fen,
            chrgitm_lv: self.facts.chrgitm_lv.clone(),
            med_chrgitm_type: self.facts.med_chrgitm_type.clone(),
            lmt_used_flag: self.facts.lmt_used_flag.clone(),
            memo: self.memo.clone(),
        }
    }
}

/// Year-to-date accumulators (spec settlement.md section 5) or one settlement's delta.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ytd {
    pub(crate) inpatient_admissions: i64,
    pub(crate) hifp_inpatient: i64,
    pub(crate) hifp_outpatient: i64,
    pub(crate) outpatient_deductible: i64,
    pub(crate) hifob: i64,
    pub(crate) hifmi_base: i64,
    pub(crate) hifmi: i64,
    pub(crate) maf: i64,
    pub(crate) maf_deductible: i64,
    /// `chronic:<disease key>` and `other:<name>`.
    pub(crate) keyed: BTreeMap<String, i64>,
}

/// Everything the engine needs for one bill, read under the person's lock.
pub(crate) struct SettleInput<'a> {
    pub(crate) settle_date: NaiveDate,
    pub(crate) psn_no: &'a str,
    pub(crate) insutype: &'a str,
    pub(crate) psn_type: &'a str,
    pub(crate) age_years: i64,
    pub(crate) sp_psn_types: &'a [String],
    pub(crate) insuplc_admdvs: &'a str,
    pub(crate) acct_balance_fen: i64,
    /// Bound family accounts in binding order: (psn_no, balance).
    pub(crate) mulaid_balances: &'a [(String, i64)],
    pub(crate) ytd: &'a Ytd,
    pub(crate) med_type: &'a str,
    pub(crate) hi_setl_lv: &'a str,
    pub(crate) mdtrtarea_admvs: &'a str,
    /// The cross-region filing that covers the visit (`None`: unfiled, or a local visit).
    pub(crate) filing: Option<st::FilingKind>,
    pub(crate) emergency: bool,
    pub(crate) dise_codg: &'a str,
    pub(crate) acct_used_flag: AcctUsedFlag,
    pub(crate) lines: &'a [StoredLine],
    /// Contribution tier in force.
    pub(crate) tier: Option<&'a str>,
    /// Chronic recognitions in force: (disease code, begndate, enddate, institution or '').
    pub(crate) recognitions: &'a [(String, String, String, String)],
    /// The settling institution and its kinds.
    pub(crate) fixmedins_code: &'a str,
    pub(crate) institution_kinds: &'a [String],
    /// Admission (visit) date.
    pub(crate) begin_date: Option<NaiveDate>,
    /// 生育类别 of a maternity visit (2203A).
    pub(crate) matn_type: Option<&'a str>,
    /// A referred visit (转诊).
    pub(crate) referral: bool,
    /// An admission transferred in from another hospital (转院).
    pub(crate) transfer_in: bool,
}

/// Whether a bill of `med_type` is settled by the scheme's maternity benefit (and so reads the
/// visit's 2203A delivery type).
pub(crate) fn is_maternity(policy: &Policy, insutype: &str, med_type: &str) -> bool {
    let (Ok(insutype), Ok(med_type)) = (Insutype::parse(insutype), MedType::parse(med_type)) else {
        return false;
    };
    policy
        .scheme(insutype)
        .and_then(|scheme| scheme.maternity.as_ref())
        .is_some_and(|benefit| benefit.med_types.contains(&med_type))
}

/// The filing kind of a cross-region filing's `dcla_type` (docs/REGISTRY-FILES.md): `1` 异地安置,
/// `2` 异地长期居住 and `3` 常驻异地工作 are long-term residence; `4` 异地转诊 and `5` 临时外出 are
/// temporary trips; another code is a filing of unstated kind.
pub(crate) fn filing_kind(dcla_type: &str) -> st::FilingKind {
    match dcla_type {
        "1" | "2" | "3" => st::FilingKind::LongTerm,
        "4" | "5" => st::FilingKind::Temporary,
        _ => st::FilingKind::Unspecified,
    }
}

/// What the engine decided for one bill.
pub(crate) struct Computed {
    /// The `setlinfo` amounts (`balc` from the balance the engine was given).
    pub(crate) amounts: SetlAmounts,
    /// Fund payments (`fund_pay_type`, fen), without the personal account.
    pub(crate) detail: Vec<(String, i64)>,
    /// Family accounts drawn for mutual aid: (psn_no, fen), in binding order.
    pub(crate) mulaid_draws: Vec<(String, i64)>,
    /// What this bill adds to the accumulators.
    pub(crate) ytd_delta: Ytd,
    /// The compact trace for `setl_proc_info`.
    pub(crate) trace: String,
}

/// The parsed catalogue and policies (immutable between imports).
#[derive(Debug, Default)]
pub(crate) struct EngineCache {
    catalogue: Catalogue,
    policies: Vec<Policy>,
}

/// `med_chrgitm_type` for a catalogue list type (national codes: 09 西药费, 05 治疗费, 08 卫生材料费,
/// 14 其他费).
fn med_chrgitm_type(list_type: Option<ListType>) -> &'static str {
    match list_type {
        Some(ListType::Drug) => "09",
        Some(ListType::ServiceItem) => "05",
        Some(ListType::Consumable) => "08",
        None => "14",
    }
}

fn bad_code(field: &str, e: CodeError) -> StoreError {
    StoreError::bad(field, e.to_string())
}

impl EngineCache {
    /// Parses the registry documents (kind, name, body) with the engine's own parsers.
    pub(crate) fn build(docs: &[(String, String, String)]) -> Result<EngineCache, StoreError> {
        let mut cache = EngineCache::default();
        for (kind, name, body) in docs {
            match kind.as_str() {
                "catalogue" => {
                    cache.catalogue = parse_catalogue(name, body)
                        .map_err(|e| StoreError::bad(name.clone(), e.to_string()))?;
                }
                "policy" => {
                    cache.policies.push(
                        parse_policy(name, body)
                            .map_err(|e| StoreError::bad(name.clone(), e.to_string()))?,
                    );
                }
                other => {
                    return Err(StoreError::Invariant(format!(
                        "unknown registry document kind {other:?}"
                    )))
                }
            }
        }
        Ok(cache)
    }

    fn split(
        &self,
        med_list_codg: &str,
        pric_micro: i64,
        cnt_e4: i64,
        amount_fen: i64,
        hosp_appr_flag: &str,
        pricing: Pricing<'_>,
    ) -> Result<LineSplit, String> {
        let fee_date = pricing.fee_date;
        let flag = HospApprFlag::parse(hosp_appr_flag).map_err(|e| e.to_string())?;
        let line = FeeLine::new(
            med_list_codg.to_string(),
            Price(pric_micro),
            Quantity(cnt_e4),
            Some(Fen(amount_fen)),
            flag,
        )
        .map_err(|e| e.to_string())?;
        let entry = self.catalogue.get_on(med_list_codg, fee_date);
        let share = entry.and_then(|entry| {
            let insutype = Insutype::parse(pricing.insutype).ok()?;
            self.policy_on(pricing.region, fee_date)?
                .scheme(insutype)?
                .class_b_share(entry.list_type)
        });
        Ok(classify_line_with(entry, &line, share))
    }

    /// Classifies one fee line against the catalogue (spec settlement.md section 3).
    // One argument per stored column of the line, as the caller has them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn classify(
        &self,
        feedetl_sn: &str,
        med_list_codg: &str,
        pric_micro: i64,
        cnt_e4: i64,
        amount_fen: i64,
        hosp_appr_flag: &str,
        pricing: Pricing<'_>,
    ) -> Result<StoredLine, String> {
        let fee_date = pricing.fee_date;
        let split = self.split(
            med_list_codg,
            pric_micro,
            cnt_e4,
            amount_fen,
            hosp_appr_flag,
            pricing,
        )?;
        Ok(StoredLine {
            feedetl_sn: feedetl_sn.to_string(),
            fee_date,
            med_list_codg: med_list_codg.to_string(),
            pric_micro,
            cnt_e4,
            amount_fen: split.det_item_fee_sumamt.0,
            hosp_appr_flag: hosp_appr_flag.to_string(),
            facts: LineFacts {
                in_catalogue: self.catalogue.get_on(med_list_codg, fee_date).is_some(),
                // Not in the catalogue reads as 丙类 on the interface: fully self-paid.
                chrgitm_lv: split
                    .chrgitm_lv
                    .map(|lv| lv.code())
                    .unwrap_or("03")
                    .to_string(),
                med_chrgitm_type: med_chrgitm_type(split.list_type).to_string(),
                selfpay_prop_ppm: interface_selfpay_prop_ppm(&split),
                pric_uplmt_micro: split.pric_uplmt_amt.map(|p| p.0),
                lmt_used_flag: if split.lmt_used_flag { "1" } else { "0" }.to_string(),
            },
            fulamt_ownpay_fen: split.fulamt_ownpay_amt.0,
            overlmt_selfpay_fen: split.overlmt_selfpay.0,
            preselfpay_fen: split.preselfpay_amt.0,
            inscp_scp_fen: split.inscp_scp_amt.0,
            memo: split.reason.text_zh().to_string(),
        })
    }

    /// The policy of a region in force on a date.
    fn policy_on(&self, admdvs: &str, date: NaiveDate) -> Option<&Policy> {
        let region = Admdvs::parse(admdvs).ok()?;
        self.policies
            .iter()
            .find(|p| p.admdvs.contains(region) && p.is_effective_on(date))
    }

    /// The policy of the person's region (`insuplc_admdvs`) in force on `date`; a region without
    /// one is refused naming `insuplc_admdvs`. A settlement looks it up once and uses it for its
    /// insurance year, its maternity facts and the engine.
    pub(crate) fn policy_for(
        &self,
        insuplc_admdvs: &str,
        date: NaiveDate,
    ) -> Result<&Policy, StoreError> {
        let insuplc = Admdvs::parse(insuplc_admdvs).map_err(|e| bad_code("insuplc_admdvs", e))?;
        self.policies
            .iter()
            .find(|p| p.admdvs.contains(insuplc) && p.is_effective_on(date))
            .ok_or_else(|| {
                StoreError::refused(
                    "insuplc_admdvs",
                    format!("no policy for region {insuplc_admdvs} on {date}"),
                )
            })
    }

    /// Settles one bill with `policy`, the person's region's in force on the settle date
    /// ([`EngineCache::policy_for`]).
    pub(crate) fn settle(
        &self,
        policy: &Policy,
        input: &SettleInput<'_>,
    ) -> Result<Computed, StoreError> {
        let insuplc =
            Admdvs::parse(input.insuplc_admdvs).map_err(|e| bad_code("insuplc_admdvs", e))?;
        let mut lines = Vec::with_capacity(input.lines.len());
        for l in input.lines {
            let split = self
                .split(
                    &l.med_list_codg,
                    l.pric_micro,
                    l.cnt_e4,
                    l.amount_fen,
                    &l.hosp_appr_flag,
                    Pricing {
                        fee_date: l.fee_date,
                        region: input.mdtrtarea_admvs,
                        insutype: input.insutype,
                    },
                )
                .map_err(|e| {
                    StoreError::Invariant(format!(
                        "stored line {} no longer classifies: {e}",
                        l.feedetl_sn
                    ))
                })?;
            let stored = [
                l.fulamt_ownpay_fen,
                l.overlmt_selfpay_fen,
                l.preselfpay_fen,
                l.inscp_scp_fen,
            ];
            let now = [
                split.fulamt_ownpay_amt.0,
                split.overlmt_selfpay.0,
                split.preselfpay_amt.0,
                split.inscp_scp_amt.0,
            ];
            if stored != now {
                return Err(StoreError::Invariant(format!(
                    "line {} classified {stored:?} at upload, {now:?} now",
                    l.feedetl_sn
                )));
            }
            lines.push(split);
        }
        let mut ytd = st::Ytd {
            inpatient_admissions: input.ytd.inpatient_admissions,
            hifp_inpatient: Fen(input.ytd.hifp_inpatient),
            hifp_outpatient: Fen(input.ytd.hifp_outpatient),
            outpatient_deductible: Fen(input.ytd.outpatient_deductible),
            hifob: Fen(input.ytd.hifob),
            hifmi_base: Fen(input.ytd.hifmi_base),
            hifmi: Fen(input.ytd.hifmi),
            maf: Fen(input.ytd.maf),
            maf_deductible: Fen(input.ytd.maf_deductible),
            ..st::Ytd::default()
        };
        for (key, fen) in &input.ytd.keyed {
            if let Some(d) = key.strip_prefix("chronic:") {
                ytd.chronic.insert(d.to_string(), Fen(*fen));
            } else if let Some(o) = key.strip_prefix("other:") {
                ytd.other.insert(o.to_string(), Fen(*fen));
            }
        }
        let sp_psn_types = input
            .sp_psn_types
            .iter()
            .map(|t| SpPsnType::parse(t).map_err(|e| bad_code("sp_psn_type", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let engine_input = st::SettleInput {
            person: st::Person {
                psn_no: input.psn_no.to_string(),
                insutype: Insutype::parse(input.insutype).map_err(|e| bad_code("insutype", e))?,
                psn_type: PsnType::parse(input.psn_type).map_err(|e| bad_code("psn_type", e))?,
                age: u32::try_from(input.age_years).unwrap_or(0),
                sp_psn_types,
                insuplc_admdvs: insuplc,
                acct_balance: Fen(input.acct_balance_fen),
                mulaid_balances: input.mulaid_balances.iter().map(|(_, b)| Fen(*b)).collect(),
                ytd,
                tier: input.tier.map(str::to_owned),
                chronic_recognitions: input
                    .recognitions
                    .iter()
                    .filter_map(|(dise_codg, begndate, enddate, fixmedins_code)| {
                        let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
                        Some(st::ChronicRecognition {
                            dise_codg: dise_codg.clone(),
                            begndate: date(begndate)?,
                            enddate: if enddate.is_empty() {
                                NaiveDate::MAX
                            } else {
                                date(enddate)?
                            },
                            fixmedins_code: (!fixmedins_code.is_empty())
                                .then(|| fixmedins_code.clone()),
                        })
                    })
                    .collect(),
            },
            visit: st::Visit {
                med_type: MedType::parse(input.med_type).map_err(|e| bad_code("med_type", e))?,
                hi_setl_lv: HiSetlLv::parse(input.hi_setl_lv)
                    .map_err(|e| bad_code("hi_setl_lv", e))?,
                mdtrtarea_admvs: Admdvs::parse(input.mdtrtarea_admvs)
                    .map_err(|e| bad_code("mdtrtarea_admvs", e))?,
                filing: input.filing,
                emergency: input.emergency,
                dise_codg: input.dise_codg.to_string(),
                acct_used_flag: input.acct_used_flag,
                fixmedins_code: input.fixmedins_code.to_owned(),
                institution_kinds: input.institution_kinds.to_vec(),
                referral: input.referral,
                transfer_in: input.transfer_in,
                begin_date: input.begin_date,
                matn_type: input.matn_type.map(str::to_owned),
            },
            lines,
            settle_date: input.settle_date,
        };
        let s = st::settle(policy, &engine_input).map_err(|e| match e {
            SettleError::InvariantBroken { .. } => StoreError::Invariant(e.to_string()),
            other => StoreError::bad(
                other.field().unwrap_or_else(|| "lines".into()),
                other.to_string(),
            ),
        })?;
        let amounts = s.amounts;
        if s.account_draws.own != amounts.acct_pay - amounts.acct_mulaid_pay
            || s.account_draws.family.len() > input.mulaid_balances.len()
        {
            return Err(StoreError::Invariant(
                "the engine's account draws disagree with acct_pay".into(),
            ));
        }
        let mulaid_draws = s
            .account_draws
            .family
            .iter()
            .zip(input.mulaid_balances)
            .filter(|(fen, _)| fen.0 != 0)
            .map(|(fen, (psn, _))| (psn.clone(), fen.0))
            .collect();
        let d = &s.ytd_delta;
        let mut keyed = BTreeMap::new();
        for (k, fen) in &d.chronic {
            keyed.insert(format!("chronic:{k}"), fen.0);
        }
        for (k, fen) in &d.other {
            keyed.insert(format!("other:{k}"), fen.0);
        }
        Ok(Computed {
            amounts,
            detail: s
                .setldetail
                .iter()
                .filter(|(fund, _)| fund.as_str() != crate::ledger::PERSONAL_ACCOUNT_FUND)
                .map(|(fund, fen)| (fund.as_str().to_string(), fen.0))
                .collect(),
            mulaid_draws,
            ytd_delta: Ytd {
                inpatient_admissions: d.inpatient_admissions,
                hifp_inpatient: d.hifp_inpatient.0,
                hifp_outpatient: d.hifp_outpatient.0,
                outpatient_deductible: d.outpatient_deductible.0,
                hifob: d.hifob.0,
                hifmi_base: d.hifmi_base.0,
                hifmi: d.hifmi.0,
                maf: d.maf.0,
                maf_deductible: d.maf_deductible.0,
                keyed,
            },
            trace: s.trace.compact(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_renders_with_two_decimals() {
        assert_eq!(render_fen(123_450), "1234.50");
        assert_eq!(render_fen(-5), "-0.05");
    }
}
