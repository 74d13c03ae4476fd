//! 3101 明细审核事前分析 / 3102 事中分析 and 3103 事前事中服务反馈 (spec §4.12–§4.13, smart-audit.md
//! §1.6): the wire nodes, their conversion into the store's audit commands, and the output.
//!
//! A check reads `data{trig_scen | rule_ids[], task_id, patient_dtos[…]}`; each patient carries
//! its encounters (`fsi_encounter_dtos`) with diagnoses and orders, the current one named by
//! `curr_mdtrt_id`, the others history. Only the fields the rules read are required; the other
//! fields of the tables are accepted and ignored. Findings are answered as `result[]`, each with
//! its `judge_result_detail_dtos[]`, and recorded by the store with the answer, so a retry of
//! the same `msgid` gets the same `jr_id`s. 3103's `warns[]` answer those `jr_id`s.

use serde::{Deserialize, Serialize};
use yibao_audit::{Gend, Phase};
use yibao_core_types::{Fen, Quantity};
use yibao_store::audit::{
    AuditCheck, AuditEncounter, AuditFeedback, AuditOrder, AuditPatient, AuditResult, Disposition,
    DspoWay, TrigScen, WarnType,
};
use yibao_store::Command;

use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::limits::{
    DIAGNOSES_PER_MESSAGE_MAX, FEE_LINES_PER_UPLOAD_MAX, QUANTITY_MAX_E4, TEXT_CHARS_MAX,
};
use crate::wire::check::{amount, date, decimal, opt_date, opt_text, rows_max, text};
use crate::wire::scalar::{Date, Decimal, Node, Opt, Rows, Text, Yuan};

/// Longest id of these tables (`patn_id`, `mdtrt_id`, `rx_id`, `jr_id`): C 50.
const ID_CHARS_MAX: usize = 50;
/// Patients in one check.
pub const PATIENTS_MAX: usize = 20;
/// Encounters of one patient (the current one and its history).
pub const ENCOUNTERS_MAX: usize = 100;
/// Warnings answered by one 3103.
pub const WARNS_MAX: usize = 1_000;
/// Rules named by one check.
pub const RULE_IDS_MAX: usize = 200;

/// `{"data": {…}}` of 3101/3102.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckInput {
    data: Node<CheckData>,
}

/// 表128 `data`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckData {
    syscode: Opt<Text>,
    task_id: Opt<Text>,
    trig_scen: Opt<Text>,
    rule_ids: Option<Vec<Opt<Text>>>,
    patient_dtos: Rows<PatientData>,
}

/// 表129 `patient_dtos`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct PatientData {
    patn_id: Opt<Text>,
    patn_name: Opt<Text>,
    gend: Opt<Text>,
    brdy: Opt<Date>,
    poolarea: Opt<Text>,
    curr_mdtrt_id: Opt<Text>,
    fsi_encounter_dtos: Rows<EncounterData>,
}

/// 表130 `fsi_encounter_dtos`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct EncounterData {
    mdtrt_id: Opt<Text>,
    medins_id: Opt<Text>,
    adm_date: Opt<Date>,
    dscg_date: Opt<Date>,
    dscg_main_dise_codg: Opt<Text>,
    med_type: Opt<Text>,
    med_mdtrt_type: Opt<Text>,
    insutype: Opt<Text>,
    fsi_diagnose_dtos: Rows<DiagnoseData>,
    fsi_order_dtos: Rows<OrderData>,
}

/// 表131 `fsi_diagnose_dtos`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DiagnoseData {
    dise_codg: Opt<Text>,
    maindise_flag: Opt<Text>,
}

/// 表118 `fsi_order_dtos`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OrderData {
    rx_id: Opt<Text>,
    hilist_code: Opt<Text>,
    cnt: Opt<Decimal<4>>,
    sumamt: Opt<Decimal<2>>,
    drord_begn_date: Opt<Date>,
    hilist_type: Opt<Text>,
    drord_bhvr: Opt<Text>,
    drord_dept_codg: Opt<Text>,
    #[serde(rename = "o_prdDays", alias = "prd_days")]
    prd_days: Opt<Decimal<0>>,
}

/// Parses 3101 (`phase` before) or 3102 (during) into the store's check.
pub fn check_command(envelope: &RequestEnvelope<'_>, phase: Phase) -> Result<Command, AppError> {
    let data = envelope.parse_input::<CheckInput>()?.data.0;
    let node = "data";
    // `syscode` is read for its length only: it names the calling system.
    opt_text(&data.syscode, node, "syscode", ID_CHARS_MAX)?;
    let task_id = opt_text(&data.task_id, node, "task_id", ID_CHARS_MAX)?.unwrap_or_default();
    let trig_scen = match opt_text(&data.trig_scen, node, "trig_scen", 30)? {
        None => Vec::new(),
        Some(codes) => codes
            .split(',')
            .map(|code| {
                code.trim()
                    .parse::<u8>()
                    .ok()
                    .and_then(TrigScen::new)
                    .ok_or_else(|| {
                        AppError::field(
                            "input.data.trig_scen",
                            format!("`{code}` is not a scene 1–10"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let rule_ids = data.rule_ids.unwrap_or_default();
    rows_max(rule_ids.len(), RULE_IDS_MAX, "data.rule_ids")?;
    let rule_ids = rule_ids
        .iter()
        .enumerate()
        .map(|(idx, id)| text(id, node, &format!("rule_ids[{idx}]"), ID_CHARS_MAX))
        .collect::<Result<Vec<_>, _>>()?;
    if trig_scen.is_empty() && rule_ids.is_empty() {
        return Err(AppError::field(
            "input.data.trig_scen",
            "is required when rule_ids is empty",
        ));
    }
    let patients = &data.patient_dtos.0;
    if patients.is_empty() {
        return Err(AppError::required("input.data.patient_dtos"));
    }
    rows_max(patients.len(), PATIENTS_MAX, "data.patient_dtos")?;
    let patients = patients
        .iter()
        .enumerate()
        .map(|(idx, patient)| patient_of(idx, patient))
        .collect::<Result<_, _>>()?;
    Ok(Command::AuditCheck(Box::new(AuditCheck {
        phase,
        task_id,
        trig_scen,
        rule_ids,
        patients,
    })))
}

fn patient_of(idx: usize, patient: &PatientData) -> Result<AuditPatient, AppError> {
    let node = format!("data.patient_dtos[{idx}]");
    let node = node.as_str();
    let patn_id = text(&patient.patn_id, node, "patn_id", ID_CHARS_MAX)?;
    opt_text(&patient.patn_name, node, "patn_name", TEXT_CHARS_MAX)?;
    opt_text(&patient.poolarea, node, "poolarea", 10)?;
    let gend_code = text(&patient.gend, node, "gend", 3)?;
    let gend = Gend::parse(&gend_code).ok_or_else(|| {
        AppError::field(
            format!("input.{node}.gend"),
            format!("`{gend_code}` is not 1 (男), 2 (女) or 9 (未说明)"),
        )
    })?;
    let brdy = date(&patient.brdy, node, "brdy")?;
    let curr_mdtrt_id = text(&patient.curr_mdtrt_id, node, "curr_mdtrt_id", ID_CHARS_MAX)?;
    let rows = &patient.fsi_encounter_dtos.0;
    rows_max(
        rows.len(),
        ENCOUNTERS_MAX,
        &format!("{node}.fsi_encounter_dtos"),
    )?;
    let encounters = rows
        .iter()
        .enumerate()
        .map(|(e_idx, encounter)| {
            encounter_of(&format!("{node}.fsi_encounter_dtos[{e_idx}]"), encounter)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (e_idx, encounter) in encounters.iter().enumerate() {
        if encounters[..e_idx]
            .iter()
            .any(|e| e.mdtrt_id == encounter.mdtrt_id)
        {
            return Err(AppError::field(
                format!("input.{node}.fsi_encounter_dtos[{e_idx}].mdtrt_id"),
                format!("`{}` is sent twice", encounter.mdtrt_id),
            ));
        }
    }
    if !encounters.iter().any(|e| e.mdtrt_id == curr_mdtrt_id) {
        return Err(AppError::field(
            format!("input.{node}.curr_mdtrt_id"),
            format!("`{curr_mdtrt_id}` is not one of the patient's fsi_encounter_dtos"),
        ));
    }
    Ok(AuditPatient {
        patn_id,
        gend,
        brdy,
        curr_mdtrt_id,
        encounters,
    })
}

fn encounter_of(node: &str, encounter: &EncounterData) -> Result<AuditEncounter, AppError> {
    let mdtrt_id = text(&encounter.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?;
    let medins_id = text(&encounter.medins_id, node, "medins_id", ID_CHARS_MAX)?;
    let adm_date = date(&encounter.adm_date, node, "adm_date")?;
    let dscg_date = opt_date(&encounter.dscg_date);
    if dscg_date.is_some_and(|d| d < adm_date) {
        return Err(AppError::field(
            format!("input.{node}.dscg_date"),
            "is before adm_date",
        ));
    }
    let med_type = opt_text(&encounter.med_type, node, "med_type", 6)?;
    let med_mdtrt_type = opt_text(&encounter.med_mdtrt_type, node, "med_mdtrt_type", 3)?;
    if let Some(code) = &med_mdtrt_type {
        if !["1", "2", "3", "4"].contains(&code.as_str()) {
            return Err(AppError::field(
                format!("input.{node}.med_mdtrt_type"),
                format!("`{code}` is not 1 (门诊), 2 (住院), 3 (购药) or 4 (其他)"),
            ));
        }
    }
    let insutype = opt_text(&encounter.insutype, node, "insutype", 6)?;
    let mut diagnoses = Vec::new();
    let mut main_dise_codg = opt_text(
        &encounter.dscg_main_dise_codg,
        node,
        "dscg_main_dise_codg",
        30,
    )?;
    if let Some(main) = &main_dise_codg {
        diagnoses.push(main.clone());
    }
    let rows = &encounter.fsi_diagnose_dtos.0;
    rows_max(
        rows.len(),
        DIAGNOSES_PER_MESSAGE_MAX,
        &format!("{node}.fsi_diagnose_dtos"),
    )?;
    for (idx, diagnose) in rows.iter().enumerate() {
        let at = format!("{node}.fsi_diagnose_dtos[{idx}]");
        let code = text(&diagnose.dise_codg, &at, "dise_codg", 30)?;
        if main_dise_codg.is_none()
            && opt_text(&diagnose.maindise_flag, &at, "maindise_flag", 3)?.as_deref() == Some("1")
        {
            main_dise_codg = Some(code.clone());
        }
        if !diagnoses.contains(&code) {
            diagnoses.push(code);
        }
    }
    let rows = &encounter.fsi_order_dtos.0;
    rows_max(
        rows.len(),
        FEE_LINES_PER_UPLOAD_MAX,
        &format!("{node}.fsi_order_dtos"),
    )?;
    let orders = rows
        .iter()
        .enumerate()
        .map(|(idx, order)| order_of(&format!("{node}.fsi_order_dtos[{idx}]"), order))
        .collect::<Result<_, _>>()?;
    Ok(AuditEncounter {
        mdtrt_id,
        medins_id,
        adm_date,
        dscg_date,
        med_type,
        med_mdtrt_type,
        insutype,
        main_dise_codg,
        diagnoses,
        orders,
    })
}

fn order_of(node: &str, order: &OrderData) -> Result<AuditOrder, AppError> {
    Ok(AuditOrder {
        rx_id: text(&order.rx_id, node, "rx_id", ID_CHARS_MAX)?,
        hilist_code: text(&order.hilist_code, node, "hilist_code", ID_CHARS_MAX)?,
        cnt: Quantity(decimal(&order.cnt, QUANTITY_MAX_E4, node, "cnt", true)?),
        sumamt: Fen(amount(&order.sumamt, node, "sumamt", true)?),
        begn_date: date(&order.drord_begn_date, node, "drord_begn_date")?,
        feedetl_sn: None,
        hilist_type: opt_text(&order.hilist_type, node, "hilist_type", 3)?,
        drord_bhvr: match opt_text(&order.drord_bhvr, node, "drord_bhvr", 3)? {
            Some(code) if code != "0" && code != "1" => {
                return Err(AppError::field(
                    format!("input.{node}.drord_bhvr"),
                    format!("`{code}` is not 0 (其他) or 1 (出院带药)"),
                ))
            }
            other => other,
        },
        prd_days: match order.prd_days.get() {
            None => None,
            Some(days) if (0..=3_650).contains(&days.0) => Some(days.0 as u32),
            Some(_) => {
                return Err(AppError::field(
                    format!("input.{node}.o_prdDays"),
                    "is not 0 to 3650 days",
                ))
            }
        },
        drord_dept_codg: opt_text(&order.drord_dept_codg, node, "drord_dept_codg", 30)?,
    })
}

/// `{"data": {warn_type, warns[]}}` of 3103.
#[derive(Deserialize, Default)]
#[serde(default)]
struct FeedbackInput {
    data: Node<FeedbackData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FeedbackData {
    warn_type: Opt<Text>,
    warns: Rows<WarnData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WarnData {
    warn_rslt_id: Opt<Text>,
    dspo_way: Opt<Text>,
    dspo_way_rea: Opt<Text>,
}

/// Parses 3103 into the store's feedback command.
pub fn feedback_command(envelope: &RequestEnvelope<'_>) -> Result<Command, AppError> {
    let data = envelope.parse_input::<FeedbackInput>()?.data.0;
    let warn_type = match text(&data.warn_type, "data", "warn_type", 6)?.as_str() {
        "1" => WarnType::Before,
        "2" => WarnType::During,
        other => {
            return Err(AppError::field(
                "input.data.warn_type",
                format!("`{other}` is not 1 (事前) or 2 (事中)"),
            ))
        }
    };
    let rows = &data.warns.0;
    if rows.is_empty() {
        return Err(AppError::required("input.data.warns"));
    }
    rows_max(rows.len(), WARNS_MAX, "data.warns")?;
    let warns = rows
        .iter()
        .enumerate()
        .map(|(idx, warn)| {
            let node = format!("data.warns[{idx}]");
            let node = node.as_str();
            let warn_rslt_id = text(&warn.warn_rslt_id, node, "warn_rslt_id", ID_CHARS_MAX)?;
            let dspo_way = match text(&warn.dspo_way, node, "dspo_way", 3)?.as_str() {
                "1" => DspoWay::Continue,
                "2" => DspoWay::GoBack,
                other => {
                    return Err(AppError::field(
                        format!("input.{node}.dspo_way"),
                        format!("`{other}` is not 1 (继续执行) or 2 (返回修改)"),
                    ))
                }
            };
            let reason = opt_text(&warn.dspo_way_rea, node, "dspo_way_rea", 500)?
                .filter(|reason| !reason.trim().is_empty());
            if dspo_way == DspoWay::Continue && reason.is_none() {
                return Err(AppError::field(
                    format!("input.{node}.dspo_way_rea"),
                    "is required when dspo_way is 1 (继续执行)",
                ));
            }
            Ok(Disposition {
                warn_rslt_id,
                dspo_way,
                dspo_way_rea: reason.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Command::AuditFeedback(AuditFeedback { warn_type, warns }))
}

/// 3101/3102 output: `result[]` (表134) with `judge_result_detail_dtos[]` (表135).
#[derive(Serialize)]
struct ResultsOut<'a> {
    result: Vec<ResultOut<'a>>,
}

#[derive(Serialize)]
struct ResultOut<'a> {
    jr_id: &'a str,
    rule_id: &'a str,
    rule_name: &'a str,
    vola_cont: &'a str,
    patn_id: &'a str,
    mdtrt_id: &'a str,
    judge_result_detail_dtos: Vec<DetailOut<'a>>,
    vola_amt: Yuan,
    /// `1` 正常: every amount is computed from the lines.
    vola_amt_stas: &'static str,
    sev_deg: String,
    vola_evid: &'a str,
    vola_bhvr_type: &'a str,
    task_id: &'a str,
}

#[derive(Serialize)]
struct DetailOut<'a> {
    jrd_id: &'a str,
    patn_id: &'a str,
    mdtrt_id: &'a str,
    rx_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feedetl_sn: Option<&'a str>,
    vola_item_type: String,
    vola_amt: Yuan,
}

/// The output JSON text of a check.
pub fn render_results(results: &[AuditResult]) -> Result<String, serde_json::Error> {
    serde_json::to_string(&ResultsOut {
        result: results
            .iter()
            .map(|r| ResultOut {
                jr_id: &r.jr_id,
                rule_id: &r.rule_id,
                rule_name: &r.rule_name,
                vola_cont: &r.vola_cont,
                patn_id: &r.patn_id,
                mdtrt_id: &r.mdtrt_id,
                judge_result_detail_dtos: r
                    .details
                    .iter()
                    .map(|d| DetailOut {
                        jrd_id: &d.jrd_id,
                        patn_id: &d.patn_id,
                        mdtrt_id: &d.mdtrt_id,
                        rx_id: &d.rx_id,
                        feedetl_sn: d.feedetl_sn.as_deref(),
                        vola_item_type: d.vola_item_type.to_string(),
                        vola_amt: Yuan(d.vola_amt.0),
                    })
                    .collect(),
                vola_amt: Yuan(r.vola_amt.0),
                vola_amt_stas: "1",
                sev_deg: r.sev_deg.to_string(),
                vola_evid: &r.vola_evid,
                vola_bhvr_type: &r.vola_bhvr_type,
                task_id: &r.task_id,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trig_scen_scenes() {
        assert_eq!(TrigScen::new(3).map(TrigScen::scene), Some("inpatient"));
        assert_eq!(TrigScen::new(6).map(TrigScen::scene), Some("outpatient"));
        assert_eq!(TrigScen::new(11), None);
    }
}
