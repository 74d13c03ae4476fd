//! Output nodes of spec §4, rendered from [`Outcome`]s: amounts as JSON numbers with two
//! decimals, codes as strings, dates as `yyyy-MM-dd`, date-times as `yyyy-MM-dd HH:mm:ss`.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::backend::{
    CumulativeEntry, DeclaredSplit, FeeLineResult, FundDetail, Identity, InsuranceRelation,
    Outcome, PersonInfo, Settlement,
};
use crate::wire::scalar::{format_decimal, ppm_to_e4, Fixed, Prop, Yuan};
use yibao_store::{SetlAmounts, SetlValue};

/// The output JSON text of an outcome, moving an already rendered text.
pub fn into_output(outcome: Outcome) -> String {
    match outcome {
        Outcome::Rendered(text) => text,
        other => render(&other),
    }
}

/// The output JSON text of one outcome (`null` for transactions without output).
pub fn render(outcome: &Outcome) -> String {
    let result = match outcome {
        Outcome::Rendered(text) => return text.clone(),
        Outcome::Done => return "null".to_owned(),
        Outcome::SignedIn { sign_no, sign_time } => serde_json::to_string(&SignInOut {
            signinoutb: SignIn {
                sign_time: date_time(*sign_time),
                sign_no,
            },
        }),
        Outcome::SignedOut { sign_time } => serde_json::to_string(&SignOutOut {
            signoutoutb: SignOut {
                sign_time: date_time(*sign_time),
            },
        }),
        Outcome::Person(person) => serde_json::to_string(&PersonOut::from(person)),
        Outcome::Registered(visit) => serde_json::to_string(&RegisteredOut {
            data: Registered {
                mdtrt_id: &visit.mdtrt_id,
                psn_no: &visit.psn_no,
                ipt_otp_no: visit.ipt_otp_no.as_deref().unwrap_or(""),
                exp_content: None,
            },
            result: AdmittedOut {
                mdtrt_id: &visit.mdtrt_id,
                exp_content: None,
            },
        }),
        Outcome::FeeResults(lines) => serde_json::to_string(&FeeResultsOut {
            result: lines.iter().map(FeeResultOut::from).collect(),
        }),
        Outcome::Settlement(settlement) => {
            serde_json::to_string(&SettlementOut::from(settlement.as_ref()))
        }
        Outcome::Reconciliation {
            setl_optins,
            balanced,
            description,
        } => serde_json::to_string(&ReconcileOut {
            stmtinfo: StmtInfo {
                setl_optins,
                stmt_rslt: if *balanced { "0" } else { "1" },
                stmt_rslt_dscr: description,
            },
        }),
        Outcome::Cumulative(entries) => serde_json::to_string(&CumulativeOut {
            cuminfo: entries.iter().map(CumulativeRow::from).collect(),
        }),
        Outcome::ChronicRecognitions(found) => serde_json::to_string(&ChronicOut {
            feedetail: found
                .iter()
                .map(|r| ChronicRow {
                    opsp_dise_code: &r.opsp_dise_code,
                    opsp_dise_name: &r.opsp_dise_name,
                    begndate: r.begndate.format("%Y-%m-%d").to_string(),
                    enddate: r.enddate.map(|d| d.format("%Y-%m-%d").to_string()),
                })
                .collect(),
        }),
        Outcome::SetlListStored(stored) => crate::setl_list::render_stored(stored),
        Outcome::SetlLists(lists) => crate::setl_list::render_lists(lists),
    };
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    result.expect("output nodes serialise")
}

/// `warn_msg` for a 2207/2304 whose declared split (`fulamt_ownpay_amt`, `overlmt_selfpay`,
/// `preselfpay_amt`, `inscp_scp_amt` as the hospital computed them) differs from the settlement
/// in `output` (our rendered `setlinfo`), or `None` when they agree. The settlement follows our
/// classification of the uploaded lines, as the real platform does (§6 V3: 2207A declared
/// `inscp_scp_amt 1200` for a line the platform classified fully self-paid, and was settled).
/// Computed from the answer itself, so a replayed answer carries the same warning.
pub fn declared_split_warning(output: &str, declared: &DeclaredSplit) -> Option<String> {
    use crate::wire::scalar::{Amount, Opt};
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Answer {
        setlinfo: SetlAmounts,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct SetlAmounts {
        fulamt_ownpay_amt: Opt<Amount>,
        overlmt_selfpay: Opt<Amount>,
        preselfpay_amt: Opt<Amount>,
        inscp_scp_amt: Opt<Amount>,
    }
    let settled = serde_json::from_str::<Answer>(output).ok()?.setlinfo;
    let pairs = [
        (
            "fulamt_ownpay_amt",
            declared.fulamt_ownpay_fen,
            settled.fulamt_ownpay_amt,
        ),
        (
            "overlmt_selfpay",
            declared.overlmt_selfpay_fen,
            settled.overlmt_selfpay,
        ),
        (
            "preselfpay_amt",
            declared.preselfpay_fen,
            settled.preselfpay_amt,
        ),
        (
            "inscp_scp_amt",
            declared.inscp_scp_fen,
            settled.inscp_scp_amt,
        ),
    ];
    let differences: Vec<String> = pairs
        .into_iter()
        .filter_map(|(field, declared_fen, settled)| {
            let settled_fen = settled.get()?.0;
            (settled_fen != declared_fen).then(|| {
                format!(
                    "input.data.{field}: declared {}, settled {}",
                    format_decimal(declared_fen, 2),
                    format_decimal(settled_fen, 2)
                )
            })
        })
        .collect();
    (!differences.is_empty()).then(|| {
        format!(
            "the declared split differs from the platform's classification, which was settled: {}",
            differences.join("; ")
        )
    })
}

fn date_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

#[derive(Serialize)]
struct SignInOut<'a> {
    signinoutb: SignIn<'a>,
}

#[derive(Serialize)]
struct SignIn<'a> {
    sign_time: String,
    sign_no: &'a str,
}

#[derive(Serialize)]
struct SignOutOut {
    signoutoutb: SignOut,
}

#[derive(Serialize)]
struct SignOut {
    sign_time: String,
}

#[derive(Serialize)]
struct PersonOut<'a> {
    baseinfo: BaseInfo<'a>,
    insuinfo: Vec<InsuInfo<'a>>,
    idetinfo: Vec<IdetInfo<'a>>,
}

#[derive(Serialize)]
struct BaseInfo<'a> {
    psn_no: &'a str,
    psn_cert_type: &'a str,
    certno: &'a str,
    psn_name: &'a str,
    gend: &'a str,
    naty: Option<&'a str>,
    brdy: Option<String>,
    age: Fixed<1>,
}

#[derive(Serialize)]
struct InsuInfo<'a> {
    balc: Yuan,
    insutype: &'a str,
    psn_type: &'a str,
    psn_insu_stas: &'a str,
    psn_insu_date: Option<String>,
    paus_insu_date: Option<String>,
    cvlserv_flag: &'a str,
    insuplc_admdvs: &'a str,
    emp_name: Option<&'a str>,
}

#[derive(Serialize)]
struct IdetInfo<'a> {
    psn_idet_type: &'a str,
    psn_type_lv: Option<&'a str>,
    memo: Option<&'a str>,
    begntime: String,
    endtime: Option<String>,
}

impl<'a> From<&'a PersonInfo> for PersonOut<'a> {
    fn from(person: &'a PersonInfo) -> Self {
        Self {
            baseinfo: BaseInfo {
                psn_no: &person.psn_no,
                psn_cert_type: &person.psn_cert_type,
                certno: &person.certno,
                psn_name: &person.psn_name,
                gend: &person.gend,
                naty: person.naty.as_deref(),
                brdy: person.brdy.map(date),
                age: Fixed(person.age_e1),
            },
            insuinfo: person.insurance.iter().map(InsuInfo::from).collect(),
            idetinfo: person.identities.iter().map(IdetInfo::from).collect(),
        }
    }
}

impl<'a> From<&'a InsuranceRelation> for InsuInfo<'a> {
    fn from(relation: &'a InsuranceRelation) -> Self {
        Self {
            balc: Yuan(relation.balc_fen),
            insutype: &relation.insutype,
            psn_type: &relation.psn_type,
            psn_insu_stas: &relation.psn_insu_stas,
            psn_insu_date: relation.psn_insu_date.map(date),
            paus_insu_date: relation.paus_insu_date.map(date),
            cvlserv_flag: &relation.cvlserv_flag,
            insuplc_admdvs: &relation.insuplc_admdvs,
            emp_name: relation.emp_name.as_deref(),
        }
    }
}

impl<'a> From<&'a Identity> for IdetInfo<'a> {
    fn from(identity: &'a Identity) -> Self {
        Self {
            psn_idet_type: &identity.psn_idet_type,
            psn_type_lv: identity.psn_type_lv.as_deref(),
            memo: identity.memo.as_deref(),
            begntime: date_time(identity.begntime),
            endtime: identity.endtime.map(date_time),
        }
    }
}

/// 2201 answers `data`, 2401 answers `result`; both carry the new `mdtrt_id`, so both nodes are
/// sent and each client reads the one it knows.
#[derive(Serialize)]
struct RegisteredOut<'a> {
    data: Registered<'a>,
    result: AdmittedOut<'a>,
}

#[derive(Serialize)]
struct Registered<'a> {
    mdtrt_id: &'a str,
    psn_no: &'a str,
    ipt_otp_no: &'a str,
    /// 字段扩展: always `null` here (present in real responses, W).
    exp_content: Option<&'a str>,
}

#[derive(Serialize)]
struct AdmittedOut<'a> {
    mdtrt_id: &'a str,
    exp_content: Option<&'a str>,
}

#[derive(Serialize)]
struct FeeResultsOut<'a> {
    result: Vec<FeeResultOut<'a>>,
}

#[derive(Serialize)]
struct FeeResultOut<'a> {
    feedetl_sn: &'a str,
    det_item_fee_sumamt: Yuan,
    cnt: Fixed<4>,
    pric: Fixed<6>,
    pric_uplmt_amt: Fixed<6>,
    selfpay_prop: Prop,
    fulamt_ownpay_amt: Yuan,
    overlmt_amt: Yuan,
    preselfpay_amt: Yuan,
    inscp_scp_amt: Yuan,
    chrgitm_lv: &'a str,
    med_chrgitm_type: &'a str,
    bas_medn_flag: Option<&'a str>,
    hi_nego_drug_flag: Option<&'a str>,
    lmt_used_flag: &'a str,
    chld_medc_flag: Option<&'a str>,
    list_sp_item_flag: Option<&'a str>,
    drt_reim_flag: Option<&'a str>,
    memo: Option<&'a str>,
    exp_content: Option<&'a str>,
}

impl<'a> From<&'a FeeLineResult> for FeeResultOut<'a> {
    fn from(line: &'a FeeLineResult) -> Self {
        Self {
            feedetl_sn: &line.feedetl_sn,
            det_item_fee_sumamt: Yuan(line.det_item_fee_sumamt_fen),
            cnt: Fixed(line.cnt_e4),
            pric: Fixed(line.pric_e6),
            pric_uplmt_amt: Fixed(line.pric_uplmt_amt_e6),
            selfpay_prop: Prop(line.selfpay_prop_e4),
            fulamt_ownpay_amt: Yuan(line.fulamt_ownpay_amt_fen),
            overlmt_amt: Yuan(line.overlmt_amt_fen),
            preselfpay_amt: Yuan(line.preselfpay_amt_fen),
            inscp_scp_amt: Yuan(line.inscp_scp_amt_fen),
            chrgitm_lv: &line.chrgitm_lv,
            med_chrgitm_type: &line.med_chrgitm_type,
            bas_medn_flag: line.bas_medn_flag.as_deref(),
            hi_nego_drug_flag: line.hi_nego_drug_flag.as_deref(),
            lmt_used_flag: &line.lmt_used_flag,
            chld_medc_flag: None,
            list_sp_item_flag: None,
            drt_reim_flag: None,
            memo: line.memo.as_deref(),
            exp_content: None,
        }
    }
}

#[derive(Serialize)]
struct SettlementOut<'a> {
    setlinfo: SetlInfo<'a>,
    setldetail: Vec<SetlDetail<'a>>,
}

/// 结算信息 (table 86, plus the 2208/2305 and 5203 fields).
#[derive(Serialize)]
struct SetlInfo<'a> {
    mdtrt_id: &'a str,
    setl_id: Option<&'a str>,
    psn_no: &'a str,
    psn_name: &'a str,
    psn_cert_type: &'a str,
    certno: &'a str,
    gend: Option<&'a str>,
    naty: Option<&'a str>,
    brdy: Option<String>,
    age: Fixed<1>,
    insutype: &'a str,
    psn_type: &'a str,
    cvlserv_flag: &'a str,
    setl_time: Option<String>,
    mdtrt_cert_type: Option<&'a str>,
    med_type: &'a str,
    #[serde(flatten)]
    amounts: AmountsOut<'a>,
    medins_setl_id: &'a str,
    clr_optins: Option<&'a str>,
    clr_way: Option<&'a str>,
    clr_type: &'a str,
    setl_type: Option<&'a str>,
    refd_setl_flag: &'static str,
    fixmedins_code: &'a str,
    fixmedins_name: &'a str,
    begndate: Option<String>,
    enddate: Option<String>,
    invono: Option<&'a str>,
    // 5203 names for the same amounts.
    psn_pay: Yuan,
    cash_payamt: Yuan,
    year: Option<String>,
}

/// The `setlinfo` amounts in interface order: money as yuan with two decimals, the ratio with
/// four.
struct AmountsOut<'a>(&'a SetlAmounts);

impl Serialize for AmountsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.values() {
            // 伤残人员医疗保障基金支出: no fund of the platform pays it, so it is always zero; table
            // 86 places it before `fund_pay_sumamt`.
            if name == "fund_pay_sumamt" {
                map.serialize_entry("hifdm_pay", &Yuan(0))?;
            }
            match value {
                SetlValue::Fen(amount) => map.serialize_entry(name, &Yuan(amount.0))?,
                SetlValue::Ratio(ratio) => map.serialize_entry(name, &Prop(ppm_to_e4(ratio.0)))?,
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct SetlDetail<'a> {
    fund_pay_type: &'a str,
    fund_pay_type_name: &'a str,
    inscp_scp_amt: Yuan,
    crt_payb_lmt_amt: Option<Yuan>,
    fund_payamt: Yuan,
    setl_proc_info: Option<&'a str>,
}

impl<'a> From<&'a Settlement> for SettlementOut<'a> {
    fn from(s: &'a Settlement) -> Self {
        Self {
            setlinfo: SetlInfo {
                mdtrt_id: &s.mdtrt_id,
                setl_id: s.setl_id.as_deref(),
                psn_no: &s.psn_no,
                psn_name: &s.psn_name,
                psn_cert_type: &s.psn_cert_type,
                certno: &s.certno,
                gend: s.gend.as_deref(),
                naty: s.naty.as_deref(),
                brdy: s.brdy.map(date),
                age: Fixed(s.age_e1),
                insutype: &s.insutype,
                psn_type: &s.psn_type,
                cvlserv_flag: &s.cvlserv_flag,
                setl_time: s.setl_time.map(date_time),
                mdtrt_cert_type: s.mdtrt_cert_type.as_deref(),
                med_type: &s.med_type,
                amounts: AmountsOut(&s.amounts),
                medins_setl_id: &s.medins_setl_id,
                clr_optins: s.clr_optins.as_deref(),
                clr_way: s.clr_way.as_deref(),
                clr_type: &s.clr_type,
                setl_type: s.setl_type.as_deref(),
                refd_setl_flag: if s.refd_setl_flag { "1" } else { "0" },
                fixmedins_code: &s.fixmedins_code,
                fixmedins_name: &s.fixmedins_name,
                begndate: s.begndate.map(date),
                enddate: s.enddate.map(date),
                invono: s.invono.as_deref(),
                psn_pay: Yuan(s.amounts.psn_part_amt.0),
                cash_payamt: Yuan(s.amounts.psn_cash_pay.0),
                year: s.setl_time.map(|at| at.format("%Y").to_string()),
            },
            setldetail: s.details.iter().map(SetlDetail::from).collect(),
        }
    }
}

impl<'a> From<&'a FundDetail> for SetlDetail<'a> {
    fn from(d: &'a FundDetail) -> Self {
        Self {
            fund_pay_type: &d.fund_pay_type,
            fund_pay_type_name: &d.fund_pay_type_name,
            inscp_scp_amt: Yuan(d.inscp_scp_amt_fen),
            crt_payb_lmt_amt: d.crt_payb_lmt_amt_fen.map(Yuan),
            fund_payamt: Yuan(d.fund_payamt_fen),
            setl_proc_info: d.setl_proc_info.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct ReconcileOut<'a> {
    stmtinfo: StmtInfo<'a>,
}

#[derive(Serialize)]
struct StmtInfo<'a> {
    setl_optins: &'a str,
    stmt_rslt: &'static str,
    stmt_rslt_dscr: &'a str,
}

/// 5301 output: the national spec names its one multi-row node `feedetail`.
#[derive(Serialize)]
struct ChronicOut<'a> {
    feedetail: Vec<ChronicRow<'a>>,
}

#[derive(Serialize)]
struct ChronicRow<'a> {
    opsp_dise_code: &'a str,
    opsp_dise_name: &'a str,
    begndate: String,
    enddate: Option<String>,
}

#[derive(Serialize)]
struct CumulativeOut<'a> {
    cuminfo: Vec<CumulativeRow<'a>>,
}

#[derive(Serialize)]
struct CumulativeRow<'a> {
    insutype: &'a str,
    year: &'a str,
    cum_ym: &'a str,
    cum_type_code: &'a str,
    cum: Yuan,
}

impl<'a> From<&'a CumulativeEntry> for CumulativeRow<'a> {
    fn from(entry: &'a CumulativeEntry) -> Self {
        Self {
            insutype: &entry.insutype,
            year: &entry.year,
            cum_ym: &entry.cum_ym,
            cum_type_code: &entry.cum_type_code,
            cum: Yuan(entry.cum_e2),
        }
    }
}

/// Formats fen as yuan text with two decimals (for messages).
pub fn yuan_text(fen: i64) -> String {
    format_decimal(fen, 2)
}
