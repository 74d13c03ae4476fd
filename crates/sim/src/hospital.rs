//! What a simulated hospital sends: the national-interface messages of its visit chains, built
//! from `yibao-loadgen`'s envelope, bills and exact amounts, with the simulation's clock (a fixed
//! time of the run's day) instead of the wall clock so that the same seed sends the same bytes.

use bytes::Bytes;
use serde_json::{json, Value};
use yibao_loadgen::amount::Num;
use yibao_loadgen::bill::Bill;
use yibao_loadgen::{Item, Patient, Site};

/// The outpatient chain: 挂号, 就诊信息, 费用明细, 预结算, 结算.
pub const OUTPATIENT_CHAIN: [&str; 5] = ["2201", "2203", "2204", "2206", "2207"];
/// The inpatient chain: 入院, 费用明细, 出院, 预结算, 结算 (discharged first, then settled).
pub const INPATIENT_CHAIN: [&str; 5] = ["2401", "2301", "2402", "2303", "2304"];
/// Undoing an outpatient visit after its settlement was reversed: fees withdrawn, visit cancelled.
pub const OUTPATIENT_CANCEL: [&str; 2] = ["2205", "2202"];
/// Undoing a stay after its settlement was reversed: discharge undone, fees withdrawn, admission
/// cancelled.
pub const INPATIENT_CANCEL: [&str; 3] = ["2405", "2302", "2404"];
/// Messages 2601 can revoke at the interface (the server's list; the store would also take
/// 2201, 2204 and 2301).
pub const REVOCABLE: [&str; 3] = ["2207", "2304", "2401"];

/// An outpatient diagnosis every policy covers.
const OUTPATIENT_DIAGNOSIS: (&str, &str) = ("J06.900", "急性上呼吸道感染");
/// An inpatient diagnosis every policy covers.
const INPATIENT_DIAGNOSIS: (&str, &str) = ("J18.900", "肺炎");

/// The fixed parts of every message of one chain.
pub struct Visit<'a> {
    /// The institution sending.
    pub site: &'a Site,
    /// The patient.
    pub patient: &'a Patient,
    /// The catalogue the bill's lines index.
    pub items: &'a [Item],
    /// The chain's number (outpatient / inpatient numbers, invoice, fee line numbers).
    pub seq: u64,
    /// The simulation's time of day, `yyyy-MM-dd HH:mm:ss`.
    pub now: &'a str,
    /// Inpatient (2401…) rather than outpatient (2201…).
    pub inpatient: bool,
}

impl Visit<'_> {
    /// The envelope around `input`.
    pub fn envelope(&self, infno: &str, msgid: &str, input: Value) -> Bytes {
        yibao_loadgen::wire::envelope_bytes_at(
            self.site,
            infno,
            msgid,
            &self.patient.insuplc_admdvs,
            "",
            self.now,
            input,
        )
    }

    /// The input of one step of the chain. `mdtrt_id` is the visit (empty for 2201/2401),
    /// `fee_round` numbers the fee upload (a re-upload after a 2601 uses new line numbers),
    /// `acct_used_flag` whether the personal account pays.
    pub fn input(
        &self,
        infno: &str,
        mdtrt_id: &str,
        bill: &Bill,
        fee_round: u32,
        acct_used_flag: &str,
    ) -> Value {
        let p = self.patient;
        let now = self.now;
        let seq = self.seq;
        let (dise_codg, dise_name) = if self.inpatient {
            INPATIENT_DIAGNOSIS
        } else {
            OUTPATIENT_DIAGNOSIS
        };
        let total = Num::fen(bill.total_fen());
        match infno {
            "2201" => json!({"data": {
                "psn_no": p.psn_no, "insutype": p.insutype, "begntime": now,
                "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "ipt_otp_no": format!("MZ{seq}"),
                "atddr_no": "D140500001", "dr_name": "王医生", "dept_code": "NK01", "dept_name": "内科门诊", "caty": "A03",
            }}),
            "2203" => json!({
                "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": "11", "begntime": now,
                    "main_cond_dscr": "", "dise_codg": dise_codg, "dise_name": dise_name},
                "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise_codg, "diag_name": dise_name,
                    "diag_dept": "内科门诊", "dise_dor_no": "D140500001", "dise_dor_name": "王医生", "diag_time": now, "vali_flag": "1"}],
            }),
            "2204" | "2301" => json!({"feedetail": self.fee_lines(bill, mdtrt_id, fee_round)}),
            "2206" | "2207" | "2303" | "2304" => {
                let mut data = json!({
                    "psn_no": p.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno,
                    "med_type": if self.inpatient { "21" } else { "11" }, "medfee_sumamt": total,
                    "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": acct_used_flag,
                    "insutype": p.insutype,
                });
                if self.inpatient {
                    data["mid_setl_flag"] = json!("0");
                    data["dscgTime"] = json!(&now[..10]);
                } else {
                    data["chrg_bchno"] = json!(format!("{seq}01"));
                }
                if matches!(infno, "2207" | "2304") {
                    data["invono"] = json!(format!("FP{seq}"));
                }
                json!({ "data": data })
            }
            "2401" => json!({
                "mdtrtinfo": {"psn_no": p.psn_no, "insutype": p.insutype, "coner_name": "", "tel": "",
                    "begntime": now, "mdtrt_cert_type": "02", "mdtrt_cert_no": p.certno, "med_type": "21",
                    "ipt_no": format!("ZY{seq}"), "medrcdno": "", "atddr_no": "D140500002", "chfpdr_name": "李医生",
                    "adm_diag_dscr": dise_name, "adm_dept_codg": "ZYNK", "adm_dept_name": "内科病区", "adm_bed": format!("{}", seq % 60 + 1),
                    "dscg_maindiag_code": dise_codg, "dscg_maindiag_name": dise_name, "main_cond_dscr": ""},
                "diseinfo": [{"psn_no": p.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1, "diag_code": dise_codg,
                    "diag_name": dise_name, "adm_cond": "", "diag_dept": "内科病区", "dise_dor_no": "D140500002", "dise_dor_name": "李医生", "diag_time": now}],
            }),
            "2402" => json!({
                "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "insutype": p.insutype, "endtime": now,
                    "dscg_dept_codg": "ZYNK", "dscg_dept_name": "内科病区", "dscg_way": "1"},
                "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1,
                    "diag_code": dise_codg, "diag_name": dise_name, "diag_dept": "内科病区", "dise_dor_no": "D140500002", "dise_dor_name": "李医生", "diag_time": now}],
            }),
            "2205" => {
                json!({"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": p.psn_no}})
            }
            "2202" => {
                json!({"data": {"psn_no": p.psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": format!("MZ{seq}")}})
            }
            "2302" => {
                json!({"data": [{"feedetl_sn": "0000", "mdtrt_id": mdtrt_id, "psn_no": p.psn_no}]})
            }
            // 2404, 2405.
            _ => json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": p.psn_no}}),
        }
    }

    /// A reversal (2208/2305) of settlement `setl_id`.
    pub fn reversal_input(&self, mdtrt_id: &str, setl_id: &str) -> Value {
        json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": self.patient.psn_no}})
    }

    /// A 2601 冲正 of message `omsgid`, a `oinfno`.
    pub fn revoke_input(&self, omsgid: &str, oinfno: &str) -> Value {
        json!({"data": {"psn_no": self.patient.psn_no, "omsgid": omsgid, "oinfno": oinfno}})
    }

    /// The 2204/2301 lines of `bill`.
    fn fee_lines(&self, bill: &Bill, mdtrt_id: &str, fee_round: u32) -> Vec<Value> {
        let (dise_codg, _) = OUTPATIENT_DIAGNOSIS;
        bill.lines
            .iter()
            .enumerate()
            .map(|(idx, line)| {
                let item = &self.items[line.item_idx];
                let mut row = json!({
                    "feedetl_sn": format!("{}R{fee_round}L{idx:03}", self.seq),
                    "mdtrt_id": mdtrt_id, "psn_no": self.patient.psn_no,
                    "fee_ocur_time": self.now, "med_list_codg": item.med_list_codg,
                    "medins_list_codg": format!("YN{}", item.med_list_codg),
                    "det_item_fee_sumamt": Num::fen(line.amount_fen), "cnt": Num::count(line.cnt_e4),
                    "pric": Num::price(line.pric_micro), "bilg_dept_codg": "NK01", "bilg_dept_name": "内科",
                    "bilg_dr_codg": "D140500001", "bilg_dr_name": "王医生",
                    "hosp_appr_flag": if idx % 10 == 9 { "0" } else { "1" },
                });
                if self.inpatient {
                    row["med_type"] = json!("21");
                } else {
                    row["chrg_bchno"] = json!(format!("{}01", self.seq));
                    row["dise_codg"] = json!(dise_codg);
                    row["rxno"] = json!("");
                    row["rx_circ_flag"] = json!("0");
                }
                row
            })
            .collect()
    }
}

/// The same message with other content: the invoice number of a settlement, or otherwise a
/// changed text in the input, so that its fingerprint differs.
pub fn with_other_content(body: &Bytes) -> Bytes {
    let text = String::from_utf8_lossy(body);
    let changed = text.replacen("\"invono\":\"FP", "\"invono\":\"XX", 1);
    let changed = if changed == text {
        text.replacen("\"dise_name\":\"", "\"dise_name\":\"另", 1)
    } else {
        changed
    };
    Bytes::from(changed)
}
