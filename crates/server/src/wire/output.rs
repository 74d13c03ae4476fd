//! Output nodes of spec §4, rendered from the store's outcomes of writes ([`render_stored`]) and
//! the server's [`Outcome`]s of queries ([`render`]): amounts as JSON numbers with two
//! decimals, codes as strings, dates as `yyyy-MM-dd`, date-times as `yyyy-MM-dd HH:mm:ss`.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use crate::backend::Outcome;
use crate::wire::scalar::{format_decimal, ppm_to_e4, Fixed, Prop, Yuan};
use yibao_store::{DeclaredSplit, FeeLineResult, SetlAmounts, SetlValue, SettlementView};

/// The output JSON text of an outcome, moving an already rendered text.
pub fn into_output(outcome: Outcome) -> String {
    match outcome {
        Outcome::Rendered(text) => text,
        other => render(&other),
    }
}

/// The output JSON text of a write's outcome (`null` for transactions without output): what the
/// store keeps with the effect and answers a replay with.
pub fn render_stored(outcome: &yibao_store::Outcome) -> String {
    use yibao_store::Outcome as Stored;
    let result = match outcome {
        // 2601 has no output (§4.11).
        Stored::Done | Stored::Revoked(_) => return "null".to_owned(),
        Stored::SignedIn { sign_no, sign_time } => serde_json::to_string(&SignInOut {
            signinoutb: SignIn {
                sign_time: date_time(*sign_time),
                sign_no,
            },
        }),
        Stored::SignedOut { sign_time } => serde_json::to_string(&SignOutOut {
            signoutoutb: SignOut {
                sign_time: date_time(*sign_time),
            },
        }),
        // 2201 and 2401 (`ipt_otp_no` is the 住院号).
        Stored::VisitOpened {
            mdtrt_id,
            psn_no,
            ipt_otp_no,
        } => serde_json::to_string(&RegisteredOut {
            data: Registered {
                mdtrt_id,
                psn_no,
                ipt_otp_no,
                exp_content: None,
            },
            result: AdmittedOut {
                mdtrt_id,
                exp_content: None,
            },
        }),
        Stored::FeesUploaded(lines) => serde_json::to_string(&FeeResultsOut {
            result: lines.iter().map(FeeResultOut::from).collect(),
        }),
        Stored::Settled(view) => serde_json::to_string(&SettlementOut::from(view.as_ref())),
        Stored::SetlListStored(stored) => crate::setl_list::render_stored(stored),
        Stored::AuditResults(results) => crate::audit::render_results(results),
    };
    // Serialising these plain structs cannot fail: no maps with non-string keys, no floats.
    result.expect("output nodes serialise")
}

/// The output JSON text of one outcome: a write's text as rendered and stored, a query's
/// rendered now.
pub fn render(outcome: &Outcome) -> String {
    let result = match outcome {
        Outcome::Rendered(text) => return text.clone(),
        Outcome::Person { person, at } => serde_json::to_string(&PersonOut::new(person, *at)),
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
            // A recognition whose begin date does not read is not listed.
            feedetail: found
                .iter()
                .filter_map(|r| {
                    Some(ChronicRow {
                        opsp_dise_code: &r.opsp_dise_code,
                        opsp_dise_name: &r.opsp_dise_name,
                        begndate: date(parse_date(&r.begndate)?),
                        enddate: parse_date(&r.enddate).map(date),
                    })
                })
                .collect(),
        }),
        Outcome::SetlLists(lists) => crate::setl_list::render_lists(lists),
        Outcome::SetlListStatus(changed) => crate::setl_list_status::render_status(changed),
        Outcome::SetlListQc(views) => crate::setl_list_status::render_qc(views),
        Outcome::Inventory(stored) => crate::inventory::render(stored),
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

impl<'a> PersonOut<'a> {
    /// 1101's answer for `person`, with the age counted at the request time `at`.
    fn new(person: &'a yibao_store::PersonInfo, at: NaiveDateTime) -> Self {
        let base = &person.base;
        let brdy = parse_date(&base.brdy);
        // An identity period is a day; the interface sends it as that day's midnight.
        let midnight = |day: NaiveDate| date_time(day.and_time(NaiveTime::MIN));
        Self {
            baseinfo: BaseInfo {
                psn_no: &base.psn_no,
                // The registry holds resident identity card numbers (居民身份证, 01).
                psn_cert_type: "01",
                certno: &base.certno,
                psn_name: &base.psn_name,
                gend: &base.gend,
                naty: non_empty(&base.naty),
                brdy: brdy.map(date),
                age: Fixed(age_years(brdy, at) * 10),
            },
            insuinfo: person
                .insurance
                .iter()
                .map(|relation| InsuInfo {
                    balc: Yuan(relation.balc_fen),
                    insutype: &relation.insutype,
                    psn_type: &relation.psn_type,
                    psn_insu_stas: &relation.psn_insu_stas,
                    psn_insu_date: parse_date(&relation.begndate).map(date),
                    paus_insu_date: parse_date(&relation.enddate).map(date),
                    cvlserv_flag: "0",
                    insuplc_admdvs: &relation.insuplc_admdvs,
                    emp_name: non_empty(&relation.emp_name),
                })
                .collect(),
            // An identity whose begin date does not read is not listed.
            idetinfo: person
                .identities
                .iter()
                .filter_map(|identity| {
                    Some(IdetInfo {
                        psn_idet_type: &identity.sp_psn_type,
                        psn_type_lv: None,
                        memo: non_empty(&identity.source_dept),
                        begntime: midnight(parse_date(&identity.begndate)?),
                        endtime: parse_date(&identity.enddate).map(midnight),
                    })
                })
                .collect(),
        }
    }
}

/// Whole years between a birth date and a day, for 1101's `age`.
fn age_years(brdy: Option<NaiveDate>, at: NaiveDateTime) -> i64 {
    let Some(brdy) = brdy else { return 0 };
    let today = at.date();
    let mut years = i64::from(today.year() - brdy.year());
    if (today.month(), today.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years.max(0)
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

/// `pric_uplmt_amt` of a line whose item has no price cap in the catalogue: the spec's
/// placeholder for "unlimited".
const PRICE_UNCAPPED_E6: i64 = 99_999_999_000_000;

impl<'a> From<&'a FeeLineResult> for FeeResultOut<'a> {
    fn from(line: &'a FeeLineResult) -> Self {
        Self {
            feedetl_sn: &line.feedetl_sn,
            det_item_fee_sumamt: Yuan(line.det_item_fee_sumamt_fen),
            cnt: Fixed(line.cnt_e4),
            pric: Fixed(line.pric_micro),
            pric_uplmt_amt: Fixed(line.pric_uplmt_micro.unwrap_or(PRICE_UNCAPPED_E6)),
            selfpay_prop: Prop(ppm_to_e4(line.selfpay_prop_ppm)),
            fulamt_ownpay_amt: Yuan(line.fulamt_ownpay_fen),
            overlmt_amt: Yuan(line.overlmt_selfpay_fen),
            preselfpay_amt: Yuan(line.preselfpay_fen),
            inscp_scp_amt: Yuan(line.inscp_scp_fen),
            chrgitm_lv: &line.chrgitm_lv,
            med_chrgitm_type: &line.med_chrgitm_type,
            bas_medn_flag: None,
            hi_nego_drug_flag: None,
            lmt_used_flag: &line.lmt_used_flag,
            chld_medc_flag: None,
            list_sp_item_flag: None,
            drt_reim_flag: None,
            memo: non_empty(&line.memo),
            exp_content: None,
        }
    }
}

/// Text that is absent when empty.
fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// A stored day (`yyyy-MM-dd`, possibly with a time after it).
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

/// The national name of a fund payment type (spec §5.3).
pub fn fund_pay_type_name(code: &str) -> &'static str {
    match code {
        "310100" => "城镇职工基本医疗保险统筹基金",
        "310200" => "城镇职工基本医疗保险个人账户基金",
        "320100" => "公务员医疗补助基金",
        "330100" => "大额医疗费用补助基金",
        "340100" => "离休人员医疗保障基金",
        "350100" => "一至六级残疾军人医疗补助基金",
        "370100" => "企业补充医疗保险基金",
        "390100" => "城乡居民基本医疗保险基金",
        "390200" => "城乡居民大病医疗保险基金",
        "510100" => "生育基金",
        "610100" => "医疗救助基金",
        "999996" => "医院垫付基金",
        "999997" => "其他基金",
        _ => "",
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
    fund_pay_type_name: &'static str,
    inscp_scp_amt: Yuan,
    crt_payb_lmt_amt: Option<Yuan>,
    fund_payamt: Yuan,
    setl_proc_info: Option<&'a str>,
}

impl<'a> From<&'a SettlementView> for SettlementOut<'a> {
    fn from(s: &'a SettlementView) -> Self {
        // A pre-settlement has no `setl_id`, time or clearing way.
        let recorded = !s.setl_id.is_empty();
        let setl_time = recorded.then_some(s.setl_time);
        let trace = non_empty(&s.setl_proc_info);
        Self {
            setlinfo: SetlInfo {
                mdtrt_id: &s.mdtrt_id,
                setl_id: non_empty(&s.setl_id),
                psn_no: &s.psn_no,
                psn_name: &s.psn_name,
                psn_cert_type: &s.psn_cert_type,
                certno: &s.certno,
                gend: non_empty(&s.gend),
                naty: non_empty(&s.naty),
                brdy: parse_date(&s.brdy).map(date),
                age: Fixed(s.age_years * 10),
                insutype: &s.insutype,
                psn_type: &s.psn_type,
                cvlserv_flag: &s.cvlserv_flag,
                setl_time: setl_time.map(date_time),
                mdtrt_cert_type: non_empty(&s.mdtrt_cert_type),
                med_type: &s.med_type,
                amounts: AmountsOut(&s.amounts),
                medins_setl_id: &s.medins_setl_id,
                clr_optins: non_empty(&s.insuplc_admdvs),
                // 按项目 (clearing by item) is the only way the demo policies clear.
                clr_way: recorded.then_some("1"),
                clr_type: &s.clr_type,
                setl_type: Some(s.setl_type()),
                refd_setl_flag: if s.refd_setl_flag { "1" } else { "0" },
                fixmedins_code: &s.fixmedins_code,
                fixmedins_name: &s.fixmedins_name,
                begndate: parse_date(&s.begndate).map(date),
                enddate: parse_date(&s.enddate).map(date),
                invono: non_empty(&s.invono),
                psn_pay: Yuan(s.amounts.psn_part_amt.0),
                cash_payamt: Yuan(s.amounts.psn_cash_pay.0),
                year: setl_time.map(|at| at.format("%Y").to_string()),
            },
            setldetail: s
                .detail
                .iter()
                .enumerate()
                .map(|(idx, payment)| SetlDetail {
                    fund_pay_type: &payment.fund_pay_type,
                    fund_pay_type_name: fund_pay_type_name(&payment.fund_pay_type),
                    inscp_scp_amt: Yuan(s.amounts.inscp_scp_amt.0),
                    crt_payb_lmt_amt: None,
                    fund_payamt: Yuan(payment.fund_payamt_fen),
                    // The trace explains the whole split; it is sent once, on the first bucket.
                    setl_proc_info: if idx == 0 { trace } else { None },
                })
                .collect(),
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
    year: String,
    cum_ym: &'a str,
    cum_type_code: &'a str,
    cum: Yuan,
}

impl<'a> From<&'a yibao_store::CumulativeRow> for CumulativeRow<'a> {
    fn from(row: &'a yibao_store::CumulativeRow) -> Self {
        Self {
            insutype: &row.insutype,
            year: row.year.to_string(),
            cum_ym: &row.cum_ym,
            cum_type_code: &row.cum_type_code,
            cum: Yuan(row.cum),
        }
    }
}

/// Formats fen as yuan text with two decimals (for messages).
pub fn yuan_text(fen: i64) -> String {
    format_decimal(fen, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_whole_years() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert_eq!(age_years(NaiveDate::from_ymd_opt(1986, 3, 1), at), 40);
        assert_eq!(age_years(NaiveDate::from_ymd_opt(1986, 3, 2), at), 39);
        assert_eq!(age_years(None, at), 0);
    }
}
