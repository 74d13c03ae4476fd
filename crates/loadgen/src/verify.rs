//! Checks every settlement answer against the identities of the settlement spec (section 6) and
//! every fee-line answer against the classification identity, reading amounts exactly.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::amount::parse_fen;

/// The amounts of a `setlinfo` node, in fen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// 医疗费总额.
    pub medfee_sumamt: i64,
    /// 全自费金额.
    pub fulamt_ownpay_amt: i64,
    /// 超限价自费费用.
    pub overlmt_selfpay: i64,
    /// 先行自付金额.
    pub preselfpay_amt: i64,
    /// 符合政策范围金额.
    pub inscp_scp_amt: i64,
    /// 统筹基金支出.
    pub hifp_pay: i64,
    /// 公务员医疗补助.
    pub cvlserv_pay: i64,
    /// 企业补充.
    pub hifes_pay: i64,
    /// 居民大病保险.
    pub hifmi_pay: i64,
    /// 职工大额.
    pub hifob_pay: i64,
    /// 医疗救助.
    pub maf_pay: i64,
    /// 其他支出.
    pub oth_pay: i64,
    /// 伤残人员医疗保障 (where present).
    pub hifdm_pay: i64,
    /// 基金支付总额.
    pub fund_pay_sumamt: i64,
    /// 个人负担总金额.
    pub psn_part_amt: i64,
    /// 个人账户支出.
    pub acct_pay: i64,
    /// 个人现金支出.
    pub psn_cash_pay: i64,
    /// 医院负担金额.
    pub hosp_part_amt: i64,
    /// 个人账户共济支付金额.
    pub acct_mulaid_pay: i64,
}

impl Amounts {
    /// Every field with its name, in a fixed order.
    pub fn fields(&self) -> [(&'static str, i64); 19] {
        [
            ("medfee_sumamt", self.medfee_sumamt),
            ("fulamt_ownpay_amt", self.fulamt_ownpay_amt),
            ("overlmt_selfpay", self.overlmt_selfpay),
            ("preselfpay_amt", self.preselfpay_amt),
            ("inscp_scp_amt", self.inscp_scp_amt),
            ("hifp_pay", self.hifp_pay),
            ("cvlserv_pay", self.cvlserv_pay),
            ("hifes_pay", self.hifes_pay),
            ("hifmi_pay", self.hifmi_pay),
            ("hifob_pay", self.hifob_pay),
            ("maf_pay", self.maf_pay),
            ("oth_pay", self.oth_pay),
            ("hifdm_pay", self.hifdm_pay),
            ("fund_pay_sumamt", self.fund_pay_sumamt),
            ("psn_part_amt", self.psn_part_amt),
            ("acct_pay", self.acct_pay),
            ("psn_cash_pay", self.psn_cash_pay),
            ("hosp_part_amt", self.hosp_part_amt),
            ("acct_mulaid_pay", self.acct_mulaid_pay),
        ]
    }
}

/// One `setldetail[]` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    /// 基金支付类型.
    pub fund_pay_type: String,
    /// 基金支付金额, fen.
    pub fund_payamt: i64,
}

/// A settlement answer (2206/2207/2208/2303/2304/2305 `output`) read exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// 结算ID (absent on pre-settlements).
    pub setl_id: Option<String>,
    /// 就诊ID.
    pub mdtrt_id: Option<String>,
    /// 医药机构结算ID (the request's msgid).
    pub medins_setl_id: Option<String>,
    /// The amounts.
    pub amounts: Amounts,
    /// The payer buckets.
    pub details: Vec<Detail>,
}

#[derive(Deserialize)]
struct OutputRaw<'a> {
    #[serde(borrow)]
    setlinfo: Option<&'a RawValue>,
    #[serde(borrow)]
    setldetail: Option<&'a RawValue>,
}

/// Reads a settlement `output` node. An unreadable node is an error naming the field.
pub fn parse_settlement(output: &str) -> Result<Settlement, String> {
    let raw: OutputRaw<'_> = serde_json::from_str(output).map_err(|e| format!("output: {e}"))?;
    let info = raw.setlinfo.ok_or("output.setlinfo: missing")?;
    let info: HashMap<&str, &RawValue> =
        serde_json::from_str(info.get()).map_err(|e| format!("setlinfo: {e}"))?;
    let text = |name: &str| -> Option<String> {
        info.get(name).and_then(|v| {
            serde_json::from_str::<Option<String>>(v.get())
                .ok()
                .flatten()
        })
    };
    let amount = |names: &[&str], required: bool| -> Result<i64, String> {
        for name in names {
            match info.get(name).map(|v| v.get()) {
                None | Some("null") => continue,
                Some(raw) => return parse_fen(raw).map_err(|e| format!("setlinfo.{name}: {e}")),
            }
        }
        if required {
            Err(format!("setlinfo.{}: missing", names[0]))
        } else {
            Ok(0)
        }
    };
    let amounts = Amounts {
        medfee_sumamt: amount(&["medfee_sumamt"], true)?,
        fulamt_ownpay_amt: amount(&["fulamt_ownpay_amt"], true)?,
        overlmt_selfpay: amount(&["overlmt_selfpay"], true)?,
        preselfpay_amt: amount(&["preselfpay_amt"], true)?,
        inscp_scp_amt: amount(&["inscp_scp_amt"], true)?,
        hifp_pay: amount(&["hifp_pay"], true)?,
        cvlserv_pay: amount(&["cvlserv_pay"], true)?,
        hifes_pay: amount(&["hifes_pay"], true)?,
        hifmi_pay: amount(&["hifmi_pay"], true)?,
        hifob_pay: amount(&["hifob_pay"], true)?,
        maf_pay: amount(&["maf_pay"], true)?,
        oth_pay: amount(&["oth_pay"], true)?,
        hifdm_pay: amount(&["hifdm_pay"], false)?,
        fund_pay_sumamt: amount(&["fund_pay_sumamt"], true)?,
        psn_part_amt: amount(&["psn_part_amt"], true)?,
        acct_pay: amount(&["acct_pay"], true)?,
        // The baseline 2208 model spells it `pdn_cash_pay`.
        psn_cash_pay: amount(&["psn_cash_pay", "pdn_cash_pay"], true)?,
        hosp_part_amt: amount(&["hosp_part_amt"], false)?,
        acct_mulaid_pay: amount(&["acct_mulaid_pay"], true)?,
    };
    let mut details = Vec::new();
    if let Some(detail) = raw.setldetail.filter(|d| d.get() != "null") {
        // A single object where an array is specified is accepted, as everywhere in the spec.
        let rows: Vec<HashMap<&str, &RawValue>> = serde_json::from_str(detail.get())
            .or_else(|_| serde_json::from_str(detail.get()).map(|one| vec![one]))
            .map_err(|e| format!("setldetail: {e}"))?;
        for (idx, row) in rows.iter().enumerate() {
            let fund_pay_type = row
                .get("fund_pay_type")
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
                .ok_or(format!("setldetail[{idx}].fund_pay_type: missing"))?;
            let fund_payamt = row
                .get("fund_payamt")
                .ok_or(format!("setldetail[{idx}].fund_payamt: missing"))
                .and_then(|v| {
                    parse_fen(v.get()).map_err(|e| format!("setldetail[{idx}].fund_payamt: {e}"))
                })?;
            details.push(Detail {
                fund_pay_type,
                fund_payamt,
            });
        }
    }
    Ok(Settlement {
        setl_id: text("setl_id"),
        mdtrt_id: text("mdtrt_id"),
        medins_setl_id: text("medins_setl_id"),
        amounts,
        details,
    })
}

/// Whether a settlement pays (positive amounts) or reverses one (negated amounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// 2206/2207/2303/2304.
    Settlement,
    /// 2208/2305.
    Reversal,
}

/// The fund code of the hospital's own burden, which is not a fund payment.
const HOSPITAL_BURDEN_FUND: &str = "999996";

/// The identities every settlement answer satisfies; each broken one is named.
pub fn check_identities(s: &Settlement, direction: Direction) -> Vec<String> {
    let a = &s.amounts;
    let mut problems = Vec::new();
    let mut expect = |holds: bool, what: &str| {
        if !holds {
            problems.push(what.to_owned());
        }
    };
    expect(
        a.medfee_sumamt
            == a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt + a.inscp_scp_amt,
        "medfee_sumamt = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt",
    );
    expect(
        a.medfee_sumamt == a.fund_pay_sumamt + a.psn_part_amt + a.hosp_part_amt,
        "medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt",
    );
    expect(
        a.fund_pay_sumamt
            == a.hifp_pay + a.cvlserv_pay + a.hifes_pay + a.hifmi_pay + a.hifob_pay + a.maf_pay + a.oth_pay + a.hifdm_pay,
        "fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay",
    );
    expect(
        a.psn_part_amt == a.acct_pay + a.psn_cash_pay,
        "psn_part_amt = acct_pay + psn_cash_pay",
    );
    let sign = if direction == Direction::Settlement {
        1
    } else {
        -1
    };
    expect(
        sign * a.acct_mulaid_pay <= sign * a.acct_pay,
        "acct_mulaid_pay <= acct_pay",
    );
    expect(
        sign * (a.hifp_pay + a.hifob_pay + a.hifmi_pay + a.maf_pay) <= sign * a.inscp_scp_amt,
        "hifp_pay + hifob_pay + hifmi_pay + maf_pay <= inscp_scp_amt",
    );
    for (name, value) in a.fields() {
        if sign * value < 0 {
            problems.push(format!("{name} has the wrong sign ({value} fen)"));
        }
    }
    let buckets: i64 = s
        .details
        .iter()
        .filter(|d| d.fund_pay_type != HOSPITAL_BURDEN_FUND)
        .map(|d| d.fund_payamt)
        .sum();
    if buckets != a.fund_pay_sumamt + a.acct_pay {
        problems.push(format!(
            "setldetail sums to {buckets} fen, not fund_pay_sumamt + acct_pay = {} fen",
            a.fund_pay_sumamt + a.acct_pay
        ));
    }
    if s.details.iter().any(|d| d.fund_payamt == 0) {
        problems.push("setldetail lists a bucket with a zero amount".to_owned());
    }
    problems
}

/// The reversal must be the exact negation of the settlement it reverses.
pub fn check_negation(original: &Amounts, reversal: &Amounts) -> Vec<String> {
    original
        .fields()
        .iter()
        .zip(reversal.fields())
        .filter(|((_, o), (_, r))| *r != -*o)
        .map(|((name, o), (_, r))| format!("reversal {name} is {r} fen, not -{o}"))
        .collect()
}

/// Sums of the fee-line classification (2204/2301 `result[]`), in fen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineTotals {
    /// Lines answered.
    pub n_lines: usize,
    /// Σ det_item_fee_sumamt.
    pub det_item_fee_sumamt: i64,
    /// Σ fulamt_ownpay_amt.
    pub fulamt_ownpay_amt: i64,
    /// Σ overlmt_amt.
    pub overlmt_amt: i64,
    /// Σ preselfpay_amt.
    pub preselfpay_amt: i64,
    /// Σ inscp_scp_amt.
    pub inscp_scp_amt: i64,
}

/// Reads a fee-upload `output` (`result[]`), checks each line's classification identity and
/// returns the totals, or the problems found.
pub fn parse_fee_result(output: &str) -> Result<LineTotals, Vec<String>> {
    #[derive(Deserialize)]
    struct Out<'a> {
        #[serde(borrow)]
        result: Option<&'a RawValue>,
    }
    let out: Out<'_> = serde_json::from_str(output).map_err(|e| vec![format!("output: {e}")])?;
    let result = out
        .result
        .ok_or_else(|| vec!["output.result: missing".to_owned()])?;
    let rows: Vec<HashMap<&str, &RawValue>> = serde_json::from_str(result.get())
        .or_else(|_| serde_json::from_str(result.get()).map(|one| vec![one]))
        .map_err(|e| vec![format!("result: {e}")])?;
    let mut totals = LineTotals::default();
    let mut problems = Vec::new();
    for (idx, row) in rows.iter().enumerate() {
        let get = |name: &str| -> Result<i64, String> {
            match row.get(name).map(|v| v.get()) {
                None | Some("null") => Ok(0),
                Some(raw) => parse_fen(raw).map_err(|e| format!("result[{idx}].{name}: {e}")),
            }
        };
        let values = [
            "det_item_fee_sumamt",
            "fulamt_ownpay_amt",
            "overlmt_amt",
            "preselfpay_amt",
            "inscp_scp_amt",
        ]
        .map(get);
        if let Some(Err(e)) = values.iter().find(|v| v.is_err()) {
            problems.push(e.clone());
            continue;
        }
        let [det, ful, over, pre, inscp] = values.map(|v| v.unwrap_or(0));
        if det != ful + over + pre + inscp {
            problems.push(format!(
                "result[{idx}]: det_item_fee_sumamt {det} != fulamt_ownpay_amt + overlmt_amt + preselfpay_amt + inscp_scp_amt"
            ));
        }
        totals.n_lines += 1;
        totals.det_item_fee_sumamt += det;
        totals.fulamt_ownpay_amt += ful;
        totals.overlmt_amt += over;
        totals.preselfpay_amt += pre;
        totals.inscp_scp_amt += inscp;
    }
    if problems.is_empty() {
        Ok(totals)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2207 output of spec §6 V4 (a production answer).
    const V4_2207: &str = r#"{"setlinfo":{"setl_time":"2021-11-29 18:09:52","cvlserv_pay":0,"cvlserv_flag":"0","med_type":"11","psn_cash_pay":0,"hifmi_pay":0,"act_pay_dedc":4.29,"balc":1373.63,"medins_setl_id":"H13110200026202111291809520478","acct_mulaid_pay":0,"clr_way":"1","hifob_pay":0,"oth_pay":0,"medfee_sumamt":4.52,"hifes_pay":0,"mdtrt_id":"300179916","acct_pay":4.52,"fund_pay_sumamt":0,"fulamt_ownpay_amt":0,"hosp_part_amt":0,"setl_id":"400125241","inscp_scp_amt":4.29,"insutype":"310","maf_pay":0,"psn_part_amt":4.52,"pool_prop_selfpay":0.0,"hifp_pay":0,"overlmt_selfpay":0,"preselfpay_amt":0.23,"age":35.0,"clr_type":"11"},"setldetail":[{"fund_pay_type":"310200","fund_payamt":4.52,"setl_proc_info":null,"crt_payb_lmt_amt":null,"inscp_scp_amt":4.29,"fund_pay_type_name":"城镇职工基本医疗保险个人账户基金"}],"expContent":null}"#;

    /// The 2304 output of spec §6 V5 (hospital burden as 999996, local fund codes).
    const V5_2304: &str = r#"{"setlinfo":{"setl_time":"2021-08-27 09:58:41","cvlserv_pay":0,"med_type":"21","psn_cash_pay":3982.02,"hifmi_pay":0,"act_pay_dedc":0,"balc":0.0,"medins_setl_id":"H50010302473202108270958341146","acct_mulaid_pay":0,"hifob_pay":18785.39,"oth_pay":0.0,"medfee_sumamt":23442.46,"hifes_pay":0,"mdtrt_id":"310003327436","acct_pay":170.04,"fund_pay_sumamt":18785.39,"fulamt_ownpay_amt":2533.97,"hosp_part_amt":505.01,"setl_id":"300014497225","inscp_scp_amt":18808.16,"maf_pay":0,"psn_part_amt":4152.06,"hifp_pay":0,"overlmt_selfpay":1396.89,"preselfpay_amt":703.44},"setldetail":[{"fund_pay_type":"330101","fund_payamt":18785.39,"inscp_scp_amt":18808.16},{"fund_pay_type":"999996","fund_payamt":505.01,"inscp_scp_amt":18808.16},{"fund_pay_type":"310201","fund_payamt":170.04,"inscp_scp_amt":18808.16}]}"#;

    /// The 2204 output of spec §6 V4.
    const V4_2204: &str = r#"{"result":[{"bas_medn_flag":"0","med_chrgitm_type":"09","det_item_fee_sumamt":4.52,"fulamt_ownpay_amt":0,"cnt":1.0,"pric":4.52,"feedetl_sn":"yp570","inscp_scp_amt":4.29,"overlmt_amt":0.0,"pric_uplmt_amt":999999,"selfpay_prop":0.05,"preselfpay_amt":0.23,"lmt_used_flag":"0","chrgitm_lv":"02"}]}"#;

    #[test]
    fn the_real_answers_of_the_spec_satisfy_every_identity() {
        for text in [V4_2207, V5_2304] {
            let s = parse_settlement(text).unwrap();
            assert_eq!(
                check_identities(&s, Direction::Settlement),
                Vec::<String>::new()
            );
        }
        let v4 = parse_settlement(V4_2207).unwrap();
        assert_eq!(v4.setl_id.as_deref(), Some("400125241"));
        assert_eq!(v4.amounts.acct_pay, 452);
        assert_eq!(
            v4.details,
            vec![Detail {
                fund_pay_type: "310200".into(),
                fund_payamt: 452
            }]
        );
        let lines = parse_fee_result(V4_2204).unwrap();
        assert_eq!(
            (
                lines.n_lines,
                lines.det_item_fee_sumamt,
                lines.preselfpay_amt,
                lines.inscp_scp_amt
            ),
            (1, 452, 23, 429)
        );
    }

    #[test]
    fn each_broken_identity_is_named() {
        let cases = [
            (
                "\"acct_pay\":4.52,\"fund",
                "\"acct_pay\":4.51,\"fund",
                "psn_part_amt = acct_pay + psn_cash_pay",
            ),
            (
                "\"preselfpay_amt\":0.23",
                "\"preselfpay_amt\":0.24",
                "medfee_sumamt = fulamt_ownpay_amt",
            ),
            (
                "\"oth_pay\":0,",
                "\"oth_pay\":0.01,",
                "fund_pay_sumamt = hifp_pay",
            ),
            (
                "\"fund_payamt\":4.52",
                "\"fund_payamt\":4.50",
                "setldetail sums to 450 fen",
            ),
            (
                "\"acct_mulaid_pay\":0",
                "\"acct_mulaid_pay\":5",
                "acct_mulaid_pay <= acct_pay",
            ),
        ];
        for (from, to, named) in cases {
            assert!(V4_2207.contains(from), "{from}");
            let s = parse_settlement(&V4_2207.replacen(from, to, 1)).unwrap();
            let problems = check_identities(&s, Direction::Settlement);
            assert!(
                problems.iter().any(|p| p.starts_with(named)),
                "{named}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_reversal_is_the_exact_negation() {
        let original = parse_settlement(V5_2304).unwrap();
        let mut reversal = original.clone();
        for (field, value) in [
            (
                &mut reversal.amounts.medfee_sumamt,
                original.amounts.medfee_sumamt,
            ),
            (
                &mut reversal.amounts.fulamt_ownpay_amt,
                original.amounts.fulamt_ownpay_amt,
            ),
            (
                &mut reversal.amounts.overlmt_selfpay,
                original.amounts.overlmt_selfpay,
            ),
            (
                &mut reversal.amounts.preselfpay_amt,
                original.amounts.preselfpay_amt,
            ),
            (
                &mut reversal.amounts.inscp_scp_amt,
                original.amounts.inscp_scp_amt,
            ),
            (&mut reversal.amounts.hifob_pay, original.amounts.hifob_pay),
            (
                &mut reversal.amounts.fund_pay_sumamt,
                original.amounts.fund_pay_sumamt,
            ),
            (
                &mut reversal.amounts.psn_part_amt,
                original.amounts.psn_part_amt,
            ),
            (&mut reversal.amounts.acct_pay, original.amounts.acct_pay),
            (
                &mut reversal.amounts.psn_cash_pay,
                original.amounts.psn_cash_pay,
            ),
            (
                &mut reversal.amounts.hosp_part_amt,
                original.amounts.hosp_part_amt,
            ),
        ] {
            *field = -value;
        }
        for d in &mut reversal.details {
            d.fund_payamt = -d.fund_payamt;
        }
        assert_eq!(
            check_negation(&original.amounts, &reversal.amounts),
            Vec::<String>::new()
        );
        assert_eq!(
            check_identities(&reversal, Direction::Reversal),
            Vec::<String>::new()
        );
        assert!(!check_identities(&reversal, Direction::Settlement).is_empty());
        reversal.amounts.acct_pay += 1;
        assert_eq!(
            check_negation(&original.amounts, &reversal.amounts),
            vec!["reversal acct_pay is -17003 fen, not -17004"]
        );
    }

    #[test]
    fn unreadable_answers_name_the_field() {
        assert_eq!(
            parse_settlement("{}").unwrap_err(),
            "output.setlinfo: missing"
        );
        let missing = V4_2207.replacen("\"hifp_pay\":0,", "", 1);
        assert_eq!(
            parse_settlement(&missing).unwrap_err(),
            "setlinfo.hifp_pay: missing"
        );
        let float = V4_2207.replacen("\"acct_pay\":4.52", "\"acct_pay\":4.525", 1);
        assert!(parse_settlement(&float)
            .unwrap_err()
            .starts_with("setlinfo.acct_pay:"));
    }
}
