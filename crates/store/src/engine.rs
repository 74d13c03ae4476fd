//! The store's side of the settlement engine: registry documents parsed once into an in-memory
//! cache, and the conversion between stored rows and the engine's values.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::cmd::FeeLineResult;
use crate::error::StoreError;

/// The funds (`fund_pay_type`) a scheme's settlements may draw on, for opening ledger accounts.
pub(crate) fn funds_of_scheme(insutype: &str) -> &'static [&'static str] {
    match insutype {
        "310" => &["310100", "320100", "330100", "370100", "610100", "999997"],
        _ => &["390100", "390200", "610100", "999997"],
    }
}

/// `round_half_up(pric × cnt)` in fen (micro-yuan × 1/10000 = 10^-10 yuan; a fen is 10^-2).
pub(crate) fn line_amount_fen(pric_micro: i64, cnt_e4: i64) -> i64 {
    let product = i128::from(pric_micro) * i128::from(cnt_e4);
    let d: i128 = 100_000_000;
    let q = if product >= 0 {
        (product + d / 2) / d
    } else {
        -((-product + d / 2) / d)
    };
    q as i64
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

/// A classified fee line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredLine {
    pub(crate) feedetl_sn: String,
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

/// The `setlinfo` amounts of one settlement (fen; the ratio in millionths).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Amounts {
    pub(crate) medfee_sumamt: i64,
    pub(crate) fulamt_ownpay_amt: i64,
    pub(crate) overlmt_selfpay: i64,
    pub(crate) preselfpay_amt: i64,
    pub(crate) inscp_scp_amt: i64,
    pub(crate) act_pay_dedc: i64,
    pub(crate) hifp_pay: i64,
    pub(crate) pool_prop_selfpay_ppm: i64,
    pub(crate) cvlserv_pay: i64,
    pub(crate) hifes_pay: i64,
    pub(crate) hifmi_pay: i64,
    pub(crate) hifob_pay: i64,
    pub(crate) maf_pay: i64,
    pub(crate) oth_pay: i64,
    pub(crate) fund_pay_sumamt: i64,
    pub(crate) psn_part_amt: i64,
    pub(crate) acct_pay: i64,
    pub(crate) acct_mulaid_pay: i64,
    pub(crate) psn_cash_pay: i64,
    pub(crate) hosp_part_amt: i64,
}

impl Amounts {
    /// The identities of spec settlement.md section 6, for a settlement (`sign` 1) or a
    /// reversal (`sign` -1). The store asserts them before writing; CHECKs back them.
    pub(crate) fn check(&self, sign: i64) -> Result<(), String> {
        let a = self;
        if a.medfee_sumamt
            != a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt + a.inscp_scp_amt
        {
            return Err("medfee_sumamt ≠ fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt".into());
        }
        if a.medfee_sumamt != a.fund_pay_sumamt + a.psn_part_amt + a.hosp_part_amt {
            return Err("medfee_sumamt ≠ fund_pay_sumamt + psn_part_amt + hosp_part_amt".into());
        }
        if a.fund_pay_sumamt
            != a.hifp_pay
                + a.cvlserv_pay
                + a.hifes_pay
                + a.hifmi_pay
                + a.hifob_pay
                + a.maf_pay
                + a.oth_pay
        {
            return Err("fund_pay_sumamt ≠ the sum of the funds".into());
        }
        if a.psn_part_amt != a.acct_pay + a.psn_cash_pay {
            return Err("psn_part_amt ≠ acct_pay + psn_cash_pay".into());
        }
        if sign * (a.acct_pay - a.acct_mulaid_pay) < 0 {
            return Err("acct_mulaid_pay exceeds acct_pay".into());
        }
        if sign * (a.inscp_scp_amt - a.hifp_pay - a.hifob_pay - a.hifmi_pay - a.maf_pay) < 0 {
            return Err("the basic, large-amount, serious-illness and assistance funds exceed inscp_scp_amt".into());
        }
        let all = [
            a.medfee_sumamt,
            a.fulamt_ownpay_amt,
            a.overlmt_selfpay,
            a.preselfpay_amt,
            a.inscp_scp_amt,
            a.act_pay_dedc,
            a.hifp_pay,
            a.cvlserv_pay,
            a.hifes_pay,
            a.hifmi_pay,
            a.hifob_pay,
            a.maf_pay,
            a.oth_pay,
            a.fund_pay_sumamt,
            a.psn_part_amt,
            a.acct_pay,
            a.acct_mulaid_pay,
            a.psn_cash_pay,
            a.hosp_part_amt,
        ];
        if all.iter().any(|x| sign * x < 0) {
            return Err("an amount has the wrong sign".into());
        }
        if !(0..=1_000_000).contains(&a.pool_prop_selfpay_ppm) {
            return Err("pool_prop_selfpay is outside [0, 1]".into());
        }
        Ok(())
    }
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
    pub(crate) cross_region_filed: bool,
    pub(crate) emergency: bool,
    pub(crate) dise_codg: &'a str,
    pub(crate) acct_used_flag: &'a str,
    pub(crate) lines: &'a [StoredLine],
}

/// What the engine decided for one bill.
pub(crate) struct Computed {
    pub(crate) amounts: Amounts,
    /// Fund payments (`fund_pay_type`, fen), without the personal account.
    pub(crate) detail: Vec<(String, i64)>,
    /// Family accounts drawn for mutual aid: (psn_no, fen), in binding order.
    pub(crate) mulaid_draws: Vec<(String, i64)>,
    /// What this bill adds to the accumulators.
    pub(crate) ytd_delta: Ytd,
    /// The compact trace for `setl_proc_info`.
    pub(crate) trace: String,
}

/// Splits a mutual-aid total over the family accounts in binding order.
pub(crate) fn mulaid_draws(total: i64, balances: &[(String, i64)]) -> Vec<(String, i64)> {
    let mut left = total;
    let mut draws = Vec::new();
    for (psn, balance) in balances {
        if left <= 0 {
            break;
        }
        let take = left.min(*balance).max(0);
        if take > 0 {
            draws.push((psn.clone(), take));
            left -= take;
        }
    }
    draws
}

/// The parsed catalogue and policies (immutable between imports).
#[derive(Debug, Default)]
pub(crate) struct EngineCache {
    n_documents: usize,
}

impl EngineCache {
    /// Parses the registry documents (kind, name, body).
    pub(crate) fn build(docs: &[(String, String, String)]) -> Result<EngineCache, StoreError> {
        Ok(EngineCache {
            n_documents: docs.len(),
        })
    }

    /// Classifies one fee line against the catalogue (spec settlement.md section 3).
    pub(crate) fn classify(
        &self,
        _feedetl_sn: &str,
        _med_list_codg: &str,
        _pric_micro: i64,
        _cnt_e4: i64,
        _amount_fen: i64,
        _hosp_appr_flag: &str,
    ) -> Result<StoredLine, String> {
        // FIXME: wired to yibao_settlement::classify_line as soon as the engine is committed.
        Err(format!(
            "the settlement engine is not linked yet ({} documents loaded)",
            self.n_documents
        ))
    }

    /// Settles one bill with the policy of the person's region and year.
    pub(crate) fn settle(&self, _input: &SettleInput<'_>) -> Result<Computed, StoreError> {
        // FIXME: wired to yibao_settlement::settle as soon as the engine is committed.
        Err(StoreError::refused(
            "policy",
            "the settlement engine is not linked yet",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_amounts_round_half_up_to_the_fen() {
        assert_eq!(line_amount_fen(100_000_000, 100_000), 1_000_000); // 100.00 × 10
        assert_eq!(line_amount_fen(1_005_000, 10_000), 101); // 1.005 → 1.01
        assert_eq!(line_amount_fen(1_005_000, -10_000), -101);
        assert_eq!(line_amount_fen(3_333_333, 30_000), 1_000); // 3.333333 × 3 = 9.999999 → 10.00
    }

    #[test]
    fn mutual_aid_draws_in_binding_order() {
        let family = vec![("A".to_string(), 300), ("B".to_string(), 1_000)];
        assert_eq!(
            mulaid_draws(500, &family),
            vec![("A".to_string(), 300), ("B".to_string(), 200)]
        );
        assert_eq!(mulaid_draws(0, &family), vec![]);
    }

    #[test]
    fn fen_renders_with_two_decimals() {
        assert_eq!(render_fen(123_450), "1234.50");
        assert_eq!(render_fen(-5), "-0.05");
    }
}
