//! 4101A 医疗保障基金结算清单信息上传 and 4103 结算清单信息查询 (spec §4.15): the wire nodes, their
//! conversion into the store's settlement-list command and query, and the output nodes.
//!
//! 4101A answers the spec's `data{setl_list_id}` and, so that the hospital sees the group at
//! once, the list's version and its CHS-DRG group in the same `data` node, and its quality
//! checks in `qltctrlinfo` (see `setl_list_status.rs`). The spec names 4103
//! as the list query without giving its fields; ours takes `data{setl_id, psn_no, mdtrt_id,
//! page_num, page_size}` (all optional) and answers `setllistinfo[]`: the latest version of each
//! of the calling institution's own lists with its group. Another institution's lists are never
//! seen.
//!
//! The list's domain types are the store's (`yibao_store::SetlListUpload` …): the list is a
//! record the platform keeps, with no server-side meaning of its own to convert into.

use serde::{Deserialize, Serialize};
use yibao_store::{
    SetlListBlood, SetlListDiagnosis, SetlListIcuStay, SetlListOperation, SetlListOpspDiagnosis,
    SetlListPayment, SetlListQuery, SetlListStored, SetlListUpload, SetlListView,
};

use crate::backend::Request;
use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::limits::TEXT_CHARS_MAX;
use crate::wire::check::{amount, date, date_time, decimal, opt_date, opt_flag, opt_text, text};
use crate::wire::scalar::{Amount, Date, DateTime, Decimal, Node, Opt, Rows, Text};
use yibao_store::Command;

/// Longest id (`psn_no`, `mdtrt_id`, `setl_id`): C 30.
const ID_CHARS_MAX: usize = 30;

/// 4101A `input`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SetlListInput {
    setlinfo: Node<SetlInfoData>,
    payinfo: Rows<PayInfoData>,
    opspdiseinfo: Rows<OpspDiseData>,
    diseinfo: Rows<DiseData>,
    oprninfo: Rows<OprnData>,
    icuinfo: Rows<IcuData>,
    bldinfo: Rows<BldData>,
}

/// `setlinfo` (表206). Demographic fields of the older 4101 layout (`gend`, `age`, `nwb_age`,
/// `act_ipt_days`) are read when present; every other key is ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SetlInfoData {
    psn_no: Opt<Text>,
    mdtrt_id: Opt<Text>,
    setl_id: Opt<Text>,
    medcasno: Opt<Text>,
    gend: Opt<Text>,
    age: Opt<Decimal<1>>,
    nwb_age: Opt<Decimal<0>>,
    age_days: Opt<Decimal<0>>,
    nwb_bir_wt: Opt<Decimal<2>>,
    nwb_adm_wt: Opt<Decimal<2>>,
    ntly: Opt<Text>,
    prfs: Opt<Text>,
    adm_way: Opt<Text>,
    trt_type: Opt<Text>,
    adm_time: Opt<DateTime>,
    adm_caty: Opt<Text>,
    dscg_time: Opt<DateTime>,
    dscg_caty: Opt<Text>,
    dscg_way: Opt<Text>,
    act_ipt_days: Opt<Decimal<0>>,
    vent_used_dura: Opt<Text>,
    setl_begn_date: Opt<Date>,
    setl_end_date: Opt<Date>,
    hi_paymtd: Opt<Text>,
    bill_code: Opt<Text>,
    bill_no: Opt<Text>,
    biz_sn: Opt<Text>,
    chfpdr_code: Opt<Text>,
    medins_fill_dept: Opt<Text>,
    medins_fill_psn: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PayInfoData {
    fund_pay_type: Opt<Text>,
    fund_payamt: Opt<Amount>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OpspDiseData {
    diag_code: Opt<Text>,
    diag_name: Opt<Text>,
    oprn_oprt_code: Opt<Text>,
    oprn_oprt_name: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DiseData {
    diag_type: Opt<Text>,
    diag_code: Opt<Text>,
    diag_name: Opt<Text>,
    adm_cond_type: Opt<Text>,
    maindiag_flag: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OprnData {
    oprn_oprt_type: Opt<Text>,
    oprn_oprt_name: Opt<Text>,
    oprn_oprt_code: Opt<Text>,
    oprn_oprt_date: Opt<Date>,
    oprn_oprt_begntime: Opt<DateTime>,
    anst_way: Opt<Text>,
    oper_dr_code: Opt<Text>,
    anst_dr_code: Opt<Text>,
    main_oprn_flag: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IcuData {
    scs_cutd_ward_type: Opt<Text>,
    scs_cutd_inpool_time: Opt<DateTime>,
    scs_cutd_exit_time: Opt<DateTime>,
    scs_cutd_sum_dura: Opt<Text>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BldData {
    bld_cat: Opt<Text>,
    bld_amt: Opt<Decimal<0>>,
    bld_unt: Opt<Text>,
}

/// An optional free text (the store checks each field's own length).
fn free(value: &Opt<Text>, node: &str, field: &str) -> Result<String, AppError> {
    Ok(opt_text(value, node, field, TEXT_CHARS_MAX)?.unwrap_or_default())
}

/// An optional whole number within `0..=max`.
fn opt_count(
    value: &Opt<Decimal<0>>,
    max: i64,
    node: &str,
    field: &str,
) -> Result<Option<i64>, AppError> {
    match value.get() {
        None => Ok(None),
        Some(_) => decimal(value, max, node, field, false).map(Some),
    }
}

/// Hundredths of a gram (N 6,2) to whole grams, half up: the grouper compares whole grams.
fn grams_half_up(hundredths: i64) -> i64 {
    (hundredths + 50) / 100
}

/// A weight in grams (N 6,2: at most 9999.99 g).
fn opt_weight(value: &Opt<Decimal<2>>, node: &str, field: &str) -> Result<Option<i64>, AppError> {
    match value.get() {
        None => Ok(None),
        Some(_) => decimal(value, 999_999, node, field, false).map(|v| Some(grams_half_up(v))),
    }
}

/// Parses a 4101A message into the store's upload command.
pub fn upload_command(envelope: &RequestEnvelope<'_>) -> Result<Command, AppError> {
    let input = envelope.parse_input::<SetlListInput>()?;
    // The scheme is loaded on the first list, here, before the store opens a transaction (and
    // takes the person's lock); afterwards this is a pointer read.
    yibao_store::setl_list::drg_scheme()
        .map_err(|err| AppError::Internal(anyhow::Error::new(err)))?;
    let s = input.setlinfo.0;
    let node = "setlinfo";
    let age_years = match s.age.get() {
        // N 4,1 years: the grouper reads whole years.
        Some(_) => Some(decimal(&s.age, 1_500, node, "age", false)? / 10),
        None => None,
    };
    let nwb_age_days = match opt_count(&s.nwb_age, 999, node, "nwb_age")? {
        Some(days) => Some(days),
        None => opt_count(&s.age_days, 999, node, "age_days")?,
    };
    let mut list = SetlListUpload {
        psn_no: text(&s.psn_no, node, "psn_no", ID_CHARS_MAX)?,
        mdtrt_id: text(&s.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
        setl_id: text(&s.setl_id, node, "setl_id", ID_CHARS_MAX)?,
        medcasno: free(&s.medcasno, node, "medcasno")?,
        gend: opt_text(&s.gend, node, "gend", 6)?,
        age_years,
        nwb_age_days,
        nwb_bir_wt_g: opt_weight(&s.nwb_bir_wt, node, "nwb_bir_wt")?,
        nwb_adm_wt_g: opt_weight(&s.nwb_adm_wt, node, "nwb_adm_wt")?,
        ntly: free(&s.ntly, node, "ntly")?,
        prfs: free(&s.prfs, node, "prfs")?,
        adm_way: free(&s.adm_way, node, "adm_way")?,
        trt_type: free(&s.trt_type, node, "trt_type")?,
        adm_time: s.adm_time.get().map(|at| at.0),
        adm_caty: free(&s.adm_caty, node, "adm_caty")?,
        dscg_time: s.dscg_time.get().map(|at| at.0),
        dscg_caty: free(&s.dscg_caty, node, "dscg_caty")?,
        dscg_way: free(&s.dscg_way, node, "dscg_way")?,
        act_ipt_days: opt_count(&s.act_ipt_days, 999, node, "act_ipt_days")?,
        vent_used_dura: free(&s.vent_used_dura, node, "vent_used_dura")?,
        setl_begn_date: date(&s.setl_begn_date, node, "setl_begn_date")?,
        setl_end_date: date(&s.setl_end_date, node, "setl_end_date")?,
        hi_paymtd: free(&s.hi_paymtd, node, "hi_paymtd")?,
        bill_code: free(&s.bill_code, node, "bill_code")?,
        bill_no: free(&s.bill_no, node, "bill_no")?,
        biz_sn: free(&s.biz_sn, node, "biz_sn")?,
        chfpdr_code: free(&s.chfpdr_code, node, "chfpdr_code")?,
        medins_fill_dept: free(&s.medins_fill_dept, node, "medins_fill_dept")?,
        medins_fill_psn: free(&s.medins_fill_psn, node, "medins_fill_psn")?,
        ..SetlListUpload::default()
    };
    if input.diseinfo.0.is_empty() {
        return Err(AppError::field(
            "input.diseinfo",
            "is required (at least the principal diagnosis)",
        ));
    }
    for (idx, row) in input.diseinfo.0.iter().enumerate() {
        let node = format!("diseinfo[{idx}]");
        list.diagnoses.push(SetlListDiagnosis {
            diag_type: free(&row.diag_type, &node, "diag_type")?,
            diag_code: free(&row.diag_code, &node, "diag_code")?,
            diag_name: free(&row.diag_name, &node, "diag_name")?,
            adm_cond_type: free(&row.adm_cond_type, &node, "adm_cond_type")?,
            maindiag_flag: opt_flag(&row.maindiag_flag, &node, "maindiag_flag")?.unwrap_or(false),
        });
    }
    for (idx, row) in input.oprninfo.0.iter().enumerate() {
        let node = format!("oprninfo[{idx}]");
        list.operations.push(SetlListOperation {
            oprn_oprt_type: free(&row.oprn_oprt_type, &node, "oprn_oprt_type")?,
            oprn_oprt_code: free(&row.oprn_oprt_code, &node, "oprn_oprt_code")?,
            oprn_oprt_name: free(&row.oprn_oprt_name, &node, "oprn_oprt_name")?,
            oprn_oprt_date: opt_date(&row.oprn_oprt_date)
                .or_else(|| row.oprn_oprt_begntime.get().map(|at| at.0.date())),
            anst_way: free(&row.anst_way, &node, "anst_way")?,
            oper_dr_code: free(&row.oper_dr_code, &node, "oper_dr_code")?,
            anst_dr_code: free(&row.anst_dr_code, &node, "anst_dr_code")?,
            main_oprn_flag: opt_flag(&row.main_oprn_flag, &node, "main_oprn_flag")?
                .unwrap_or(false),
        });
    }
    for (idx, row) in input.icuinfo.0.iter().enumerate() {
        let node = format!("icuinfo[{idx}]");
        list.icu_stays.push(SetlListIcuStay {
            ward_type: free(&row.scs_cutd_ward_type, &node, "scs_cutd_ward_type")?,
            inpool_time: date_time(&row.scs_cutd_inpool_time, &node, "scs_cutd_inpool_time")?,
            exit_time: date_time(&row.scs_cutd_exit_time, &node, "scs_cutd_exit_time")?,
            sum_dura: free(&row.scs_cutd_sum_dura, &node, "scs_cutd_sum_dura")?,
        });
    }
    for (idx, row) in input.payinfo.0.iter().enumerate() {
        let node = format!("payinfo[{idx}]");
        list.payments.push(SetlListPayment {
            fund_pay_type: text(&row.fund_pay_type, &node, "fund_pay_type", 6)?,
            fund_payamt_fen: amount(&row.fund_payamt, &node, "fund_payamt", false)?,
        });
    }
    for (idx, row) in input.bldinfo.0.iter().enumerate() {
        let node = format!("bldinfo[{idx}]");
        list.blood.push(SetlListBlood {
            bld_cat: free(&row.bld_cat, &node, "bld_cat")?,
            bld_amt: opt_count(&row.bld_amt, 999_999, &node, "bld_amt")?,
            bld_unt: free(&row.bld_unt, &node, "bld_unt")?,
        });
    }
    for (idx, row) in input.opspdiseinfo.0.iter().enumerate() {
        let node = format!("opspdiseinfo[{idx}]");
        list.opsp_diagnoses.push(SetlListOpspDiagnosis {
            diag_code: free(&row.diag_code, &node, "diag_code")?,
            diag_name: free(&row.diag_name, &node, "diag_name")?,
            oprn_oprt_code: free(&row.oprn_oprt_code, &node, "oprn_oprt_code")?,
            oprn_oprt_name: free(&row.oprn_oprt_name, &node, "oprn_oprt_name")?,
        });
    }
    Ok(Command::UploadSetlList(Box::new(list)))
}

/// 4103 `input`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct QueryInput {
    data: Node<QueryData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QueryData {
    setl_id: Opt<Text>,
    psn_no: Opt<Text>,
    mdtrt_id: Opt<Text>,
    page_num: Opt<Decimal<0>>,
    page_size: Opt<Decimal<0>>,
}

/// Parses a 4103 message into the store's query (page 1 of the largest page when not sent).
pub fn query_request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    let data = envelope.parse_input::<QueryInput>()?.data.0;
    let node = "data";
    let rows_max = yibao_store::limits::SETL_LIST_PAGE_ROWS_MAX;
    Ok(Request::QuerySetlLists(SetlListQuery {
        setl_id: opt_text(&data.setl_id, node, "setl_id", ID_CHARS_MAX)?,
        psn_no: opt_text(&data.psn_no, node, "psn_no", ID_CHARS_MAX)?,
        mdtrt_id: opt_text(&data.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
        page_num: opt_count(&data.page_num, 1_000_000, node, "page_num")?.unwrap_or(1),
        page_size: opt_count(&data.page_size, rows_max, node, "page_size")?.unwrap_or(rows_max),
    }))
}

/// 4101A `output`.
#[derive(Serialize)]
struct StoredOut<'a> {
    data: StoredData<'a>,
    /// The version's quality checks (质控), so the hospital sees them at once.
    qltctrlinfo: crate::setl_list_status::QcNode<'a>,
}

#[derive(Serialize)]
struct StoredData<'a> {
    setl_list_id: &'a str,
    setl_id: &'a str,
    mdtrt_id: &'a str,
    psn_no: &'a str,
    list_vers: i64,
    #[serde(flatten)]
    group: GroupOut<'a>,
}

/// The group fields, shared by 4101A and 4103.
#[derive(Serialize)]
struct GroupOut<'a> {
    grp_scheme: &'a str,
    /// 分组成功 / 无法入组 / 歧义病案 / 信息校验不通过.
    grp_stas: &'static str,
    mdc_code: &'a str,
    adrg_code: &'a str,
    drg_code: &'a str,
    drg_name: &'a str,
    cc_lv: &'a str,
    grp_proc_info: &'a str,
}

impl<'a> From<&'a yibao_store::SetlListGroup> for GroupOut<'a> {
    fn from(group: &'a yibao_store::SetlListGroup) -> Self {
        Self {
            grp_scheme: &group.scheme,
            grp_stas: group.status_name(),
            mdc_code: &group.mdc,
            adrg_code: &group.adrg,
            drg_code: &group.drg,
            drg_name: &group.drg_name,
            cc_lv: &group.cc_level,
            grp_proc_info: &group.trace,
        }
    }
}

/// The 4101A output text.
pub fn render_stored(stored: &SetlListStored) -> serde_json::Result<String> {
    serde_json::to_string(&StoredOut {
        data: StoredData {
            setl_list_id: &stored.setl_list_id,
            setl_id: &stored.setl_id,
            mdtrt_id: &stored.mdtrt_id,
            psn_no: &stored.psn_no,
            list_vers: stored.version,
            group: GroupOut::from(&stored.group),
        },
        qltctrlinfo: crate::setl_list_status::qc_node(&stored.qc),
    })
}

/// 4103 `output`.
#[derive(Serialize)]
struct ListsOut<'a> {
    setllistinfo: Vec<ListRow<'a>>,
}

#[derive(Serialize)]
struct ListRow<'a> {
    setl_list_id: &'a str,
    setl_id: &'a str,
    mdtrt_id: &'a str,
    psn_no: &'a str,
    list_vers: i64,
    upld_time: String,
    maindiag_code: &'a str,
    main_oprn_code: &'a str,
    ipt_days: i64,
    #[serde(flatten)]
    group: GroupOut<'a>,
}

/// The 4103 output text.
pub fn render_lists(lists: &[SetlListView]) -> serde_json::Result<String> {
    serde_json::to_string(&ListsOut {
        setllistinfo: lists
            .iter()
            .map(|list| ListRow {
                setl_list_id: &list.setl_list_id,
                setl_id: &list.setl_id,
                mdtrt_id: &list.mdtrt_id,
                psn_no: &list.psn_no,
                list_vers: list.version,
                upld_time: list.uploaded_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                maindiag_code: &list.main_diag_code,
                main_oprn_code: &list.main_oprn_code,
                ipt_days: list.los_days,
                group: GroupOut::from(&list.group),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_half_up_to_the_gram() {
        assert_eq!(grams_half_up(320_000), 3200);
        assert_eq!(grams_half_up(320_049), 3200);
        assert_eq!(grams_half_up(320_050), 3201);
        assert_eq!(grams_half_up(0), 0);
    }
}
