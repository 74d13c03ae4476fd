//! Smart audit on the store (spec smart-audit.md §1.6): the commands of 3101/3102 (check the
//! request's encounters, with the history we hold, against the rules; record and answer the
//! findings) and 3103 (record what the hospital did with each warning), and what they answer.
//! The rules and knowledge are the audit crate's shipped files; the SQL is in `tx/audit.rs`.

use chrono::NaiveDate;
use yibao_audit::{
    AuditInput, DrordBhvr, Encounter, Evidence, FeeLine, Gend, HospLv, InsuInfo, MdtrtType, Person,
    Phase, RuleSet,
};
use yibao_core_types::{Admdvs, Fen, Insutype, ListType, MedType, Quantity};

use crate::error::StoreError;

/// Scene bits of a rule selection: outpatient and inpatient.
const OUTPATIENT: usize = 1;
const INPATIENT: usize = 2;

/// The shipped rules of `phase` (事前 or 事中) whose scenes meet `scenes` (a set of the bits
/// above), chosen once per process: a check or a settlement borrows its rule set, never
/// rebuilds it.
fn rules_of(phase: Phase, scenes: usize) -> Result<&'static RuleSet, StoreError> {
    static SETS: std::sync::OnceLock<Vec<RuleSet>> = std::sync::OnceLock::new();
    const PHASES: [Phase; 2] = [Phase::Before, Phase::During];
    let base = base()?;
    let sets = SETS.get_or_init(|| {
        PHASES
            .iter()
            .flat_map(|&phase| (0..4).map(move |bits| (phase, bits)))
            .map(|(phase, bits)| {
                RuleSet::new(
                    base.rules
                        .rules
                        .iter()
                        .filter(|rule| {
                            rule.phases.contains(&phase)
                                && rule.scenes.iter().any(|s| {
                                    (s == "outpatient" && bits & OUTPATIENT != 0)
                                        || (s == "inpatient" && bits & INPATIENT != 0)
                                })
                        })
                        .cloned()
                        .collect(),
                )
            })
            .collect()
    });
    let phase_idx = PHASES
        .iter()
        .position(|p| *p == phase)
        .ok_or_else(|| StoreError::Invariant(format!("no rule set for phase {phase:?}")))?;
    Ok(&sets[phase_idx * 4 + (scenes & 3)])
}

/// The rules a settlement runs (事中, the visit's scene).
pub(crate) fn settle_rules(inpatient: bool) -> Result<&'static RuleSet, StoreError> {
    rules_of(
        Phase::During,
        if inpatient { INPATIENT } else { OUTPATIENT },
    )
}

/// What a region does at settlement (2206/2207, 2303/2304) with a severity-1 finding (明确违规)
/// of the rules run on the bill: refuse the settlement, or settle and record the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditGate {
    /// Refuse (infcode -1, the findings in `err_msg`); nothing is written.
    Refuse,
    /// Settle; a settlement (not a pre-settlement) records the findings with its `setl_id`.
    #[default]
    Warn,
}

impl AuditGate {
    /// Reads `refuse` or `warn`.
    pub fn parse(text: &str) -> Option<AuditGate> {
        match text {
            "refuse" => Some(AuditGate::Refuse),
            "warn" => Some(AuditGate::Warn),
            _ => None,
        }
    }
}

/// 3101 事前 / 3102 事中分析: check the patients' encounters.
#[derive(Debug, Clone)]
pub struct AuditCheck {
    /// [`Phase::Before`] for 3101, [`Phase::During`] for 3102.
    pub phase: Phase,
    /// `task_id` (echoed; empty when not sent).
    pub task_id: String,
    /// `trig_scen` codes (1–10); empty when `rule_ids` chooses the rules.
    pub trig_scen: Vec<TrigScen>,
    /// `rule_ids`: only these rules run (empty: every rule of the phase and scene).
    pub rule_ids: Vec<String>,
    /// `patient_dtos`.
    pub patients: Vec<AuditPatient>,
}

/// `trig_scen` 触发场景.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrigScen(u8);

impl TrigScen {
    /// A code 1–10, else `None`.
    pub fn new(code: u8) -> Option<TrigScen> {
        (1..=10).contains(&code).then_some(TrigScen(code))
    }

    /// The code.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The audit scene: `inpatient` for 3 住院登记, 4 住院收费登记, 5 住院执行医嘱, 8 住院结算 and
    /// 9 住院预结算; `outpatient` for the others (门诊 and 10 购药划卡).
    pub fn scene(self) -> &'static str {
        match self.0 {
            3 | 4 | 5 | 8 | 9 => "inpatient",
            _ => "outpatient",
        }
    }
}

/// One `patient_dtos` row.
#[derive(Debug, Clone)]
pub struct AuditPatient {
    /// `patn_id`: our `psn_no` when the person is insured here (then the registry's sex and
    /// birth date count, and the encounters we hold are history).
    pub patn_id: String,
    /// `gend`, as sent.
    pub gend: Gend,
    /// `brdy`, as sent.
    pub brdy: NaiveDate,
    /// `curr_mdtrt_id`: the encounter checked; the others are history.
    pub curr_mdtrt_id: String,
    /// `fsi_encounter_dtos`.
    pub encounters: Vec<AuditEncounter>,
}

/// One `fsi_encounter_dtos` row.
#[derive(Debug, Clone)]
pub struct AuditEncounter {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `medins_id`: the institution's `fixmedins_code`; its level is read from the registry.
    pub medins_id: String,
    /// `adm_date` (the visit's date for an outpatient encounter).
    pub adm_date: NaiveDate,
    /// `dscg_date`, when sent.
    pub dscg_date: Option<NaiveDate>,
    /// `med_type`, when sent.
    pub med_type: Option<String>,
    /// `med_mdtrt_type` (1 门诊, 2 住院, 3 购药, 4 其他), when sent.
    pub med_mdtrt_type: Option<String>,
    /// `insutype`, when sent.
    pub insutype: Option<String>,
    /// The main diagnosis: `dscg_main_dise_codg`, or the diagnosis with `maindise_flag` 1.
    pub main_dise_codg: Option<String>,
    /// `dscg_main_dise_codg` first, then every `fsi_diagnose_dtos.dise_codg`.
    pub diagnoses: Vec<String>,
    /// `fsi_order_dtos`.
    pub orders: Vec<AuditOrder>,
}

/// One `fsi_order_dtos` row.
#[derive(Debug, Clone)]
pub struct AuditOrder {
    /// `rx_id`.
    pub rx_id: String,
    /// `hilist_code`: the catalogue code.
    pub hilist_code: String,
    /// `cnt`.
    pub cnt: Quantity,
    /// `sumamt`.
    pub sumamt: Fen,
    /// The day of `drord_begn_date`.
    pub begn_date: NaiveDate,
    /// `feedetl_sn`, when the line is an uploaded fee line (at settlement).
    pub feedetl_sn: Option<String>,
    /// `hilist_type` (101/102/103 drug, 201 service, 301 consumable), when sent.
    pub hilist_type: Option<String>,
    /// `drord_bhvr` (1 出院带药), when sent.
    pub drord_bhvr: Option<String>,
    /// Days of supply (`o_prdDays` / `prd_days`), when sent.
    pub prd_days: Option<u32>,
    /// `drord_dept_codg`, when sent.
    pub drord_dept_codg: Option<String>,
}

/// The catalogue list of a `hilist_type` code.
pub fn list_type_of_hilist(code: &str) -> Option<ListType> {
    match code {
        "101" | "102" | "103" => Some(ListType::Drug),
        "201" => Some(ListType::ServiceItem),
        "301" => Some(ListType::Consumable),
        _ => None,
    }
}

/// The `hilist_type` code of a catalogue list (101 drug, 201 service, 301 consumable).
pub(crate) fn hilist_code(list: ListType) -> &'static str {
    match list {
        ListType::Drug => "101",
        ListType::ServiceItem => "201",
        ListType::Consumable => "301",
    }
}

/// The catalogue list of a stored line's `med_chrgitm_type` (09 西药, 10 中药饮片, 11 中成药;
/// 08 卫生材料; 14 其他 unknown; the others are services).
pub(crate) fn list_type_of_chrgitm(code: &str) -> Option<ListType> {
    match code {
        "09" | "10" | "11" => Some(ListType::Drug),
        "08" => Some(ListType::Consumable),
        "14" | "" => None,
        _ => Some(ListType::ServiceItem),
    }
}

/// 3103 反馈类型 `warn_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarnType {
    /// 1 事前 (3101's warnings).
    Before,
    /// 2 事中 (3102's warnings and a settlement's).
    During,
}

impl WarnType {
    /// The national code.
    pub fn code(self) -> i64 {
        match self {
            WarnType::Before => 1,
            WarnType::During => 2,
        }
    }

    /// The warning type of findings made in `phase`.
    pub fn of_phase(phase: Phase) -> WarnType {
        match phase {
            Phase::Before => WarnType::Before,
            _ => WarnType::During,
        }
    }
}

/// 3103 处理方式 `dspo_way`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DspoWay {
    /// 1 继续执行 (the reason is required).
    Continue,
    /// 2 返回修改.
    GoBack,
}

impl DspoWay {
    /// The national code.
    pub fn code(self) -> i64 {
        match self {
            DspoWay::Continue => 1,
            DspoWay::GoBack => 2,
        }
    }
}

/// 3103 事前事中服务反馈.
#[derive(Debug, Clone)]
pub struct AuditFeedback {
    /// `warn_type`.
    pub warn_type: WarnType,
    /// `warns`.
    pub warns: Vec<Disposition>,
}

/// One `warns` row.
#[derive(Debug, Clone)]
pub struct Disposition {
    /// `warn_rslt_id`: the `jr_id` of a finding answered to this institution.
    pub warn_rslt_id: String,
    /// `dspo_way`.
    pub dspo_way: DspoWay,
    /// `dspo_way_rea` (required with [`DspoWay::Continue`]; empty otherwise when not sent).
    pub dspo_way_rea: String,
}

/// One finding as answered (3101/3102 `result[]`, spec table 134) and as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResult {
    /// `jr_id`.
    pub jr_id: String,
    /// `rule_id`.
    pub rule_id: String,
    /// The rule's version.
    pub rule_version: u32,
    /// `rule_name`.
    pub rule_name: String,
    /// `vola_cont`.
    pub vola_cont: String,
    /// `patn_id`.
    pub patn_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `vola_amt`.
    pub vola_amt: Fen,
    /// `sev_deg` (1 明确违规, 2 高度可疑, 3 轻度可疑).
    pub sev_deg: u8,
    /// `vola_evid`.
    pub vola_evid: String,
    /// `vola_bhvr_type`: the rule's category code (POL, PRC, MED, MGT, BHV, STA); the national
    /// dictionary is not public.
    pub vola_bhvr_type: String,
    /// `task_id`.
    pub task_id: String,
    /// `judge_result_detail_dtos`.
    pub details: Vec<AuditResultLine>,
}

/// One `judge_result_detail_dtos` row (spec table 135).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResultLine {
    /// `jrd_id`.
    pub jrd_id: String,
    /// `patn_id`.
    pub patn_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `rx_id`.
    pub rx_id: String,
    /// `feedetl_sn`, when the line is one we hold.
    pub feedetl_sn: Option<String>,
    /// `vola_item_type` (1 违规项, 2 涉及项).
    pub vola_item_type: u8,
    /// `vola_amt`.
    pub vola_amt: Fen,
}

/// A visit we hold, as history for a check: its institution, first day, diagnoses and lines.
#[derive(Debug, Clone)]
pub(crate) struct HeldEncounter {
    pub(crate) mdtrt_id: String,
    pub(crate) fixmedins_code: String,
    pub(crate) begn_date: NaiveDate,
    pub(crate) dscg_date: Option<NaiveDate>,
    pub(crate) inpatient: bool,
    pub(crate) med_type: String,
    pub(crate) insutype: String,
    pub(crate) main_dise_codg: String,
    pub(crate) diagnoses: Vec<String>,
    pub(crate) lines: Vec<HeldLine>,
}

/// A fee line we hold.
#[derive(Debug, Clone)]
pub(crate) struct HeldLine {
    pub(crate) feedetl_sn: String,
    pub(crate) med_list_codg: String,
    pub(crate) cnt: Quantity,
    pub(crate) amount: Fen,
    pub(crate) fee_date: NaiveDate,
    pub(crate) med_chrgitm_type: String,
}

/// The shipped rules and knowledge, loaded once per process.
pub fn base() -> Result<&'static yibao_audit::Builtin, StoreError> {
    static BASE: std::sync::OnceLock<Result<yibao_audit::Builtin, String>> =
        std::sync::OnceLock::new();
    BASE.get_or_init(|| yibao_audit::builtin().map_err(|err| err.to_string()))
        .as_ref()
        .map_err(|err| StoreError::Invariant(format!("the shipped audit rules: {err}")))
}

/// The rules a check runs: those named by `rule_ids` (each must exist and run in the check's
/// phase), else every rule of the phase whose scenes include a scene of `trig_scen` (the
/// process's shared set).
pub(crate) fn select_rules(
    base: &yibao_audit::Builtin,
    check: &AuditCheck,
) -> Result<std::borrow::Cow<'static, RuleSet>, StoreError> {
    if check.rule_ids.is_empty() {
        let scenes = check.trig_scen.iter().fold(0, |bits, t| {
            bits | if t.scene() == "inpatient" {
                INPATIENT
            } else {
                OUTPATIENT
            }
        });
        return rules_of(check.phase, scenes).map(std::borrow::Cow::Borrowed);
    }
    let mut chosen = Vec::with_capacity(check.rule_ids.len());
    for (idx, rule_id) in check.rule_ids.iter().enumerate() {
        let field = format!("data.rule_ids[{idx}]");
        let rule = base
            .rules
            .rules
            .iter()
            .find(|rule| &rule.rule_id == rule_id)
            .ok_or_else(|| StoreError::bad(field.clone(), format!("no rule `{rule_id}`")))?;
        if !rule.phases.contains(&check.phase) {
            return Err(StoreError::bad(
                field,
                format!("rule `{rule_id}` does not run {}", phase_zh(check.phase)),
            ));
        }
        chosen.push(rule.clone());
    }
    Ok(std::borrow::Cow::Owned(RuleSet::new(chosen)))
}

fn phase_zh(phase: Phase) -> &'static str {
    match phase {
        Phase::Before => "事前 (3101)",
        Phase::During => "事中 (3102)",
        _ => "事后",
    }
}

/// What the registry says about a patient, when `patn_id` is one of our persons.
pub(crate) struct Registered {
    pub(crate) gend: Gend,
    pub(crate) brdy: NaiveDate,
    pub(crate) insuinfo: Vec<InsuInfo>,
    /// The death the registry acted on (deaths.rs), if any.
    pub(crate) death_date: Option<NaiveDate>,
}

/// Builds one patient's audit input: the request's encounters (the current one first checked)
/// and, as history, the visits we hold that the request does not carry. The institution's
/// level is the registry's (`hi_setl_lv`); a pharmacy or an institution without one counts as
/// level 1.
pub(crate) fn input_of(
    patient_idx: usize,
    patient: &AuditPatient,
    registered: Option<Registered>,
    held: Vec<HeldEncounter>,
    admdvs: Option<Admdvs>,
    level_of: &dyn Fn(&str) -> Option<Option<HospLv>>,
) -> Result<AuditInput, StoreError> {
    let (gend, brdy, insuinfo, death_date) = match registered {
        Some(r) => (r.gend, r.brdy, r.insuinfo, r.death_date),
        None => (patient.gend, patient.brdy, Vec::new(), None),
    };
    let level = |field: String, code: &str| -> Result<HospLv, StoreError> {
        match level_of(code) {
            Some(level) => Ok(level.unwrap_or_else(lowest_level)),
            None => Err(StoreError::bad(
                field,
                format!("`{code}` is not a designated institution"),
            )),
        }
    };
    // History we hold comes first: on the same day, a line already uploaded is the earlier one,
    // so a pair rule names the request's line as the violating one.
    let mut encounters = Vec::with_capacity(patient.encounters.len() + held.len());
    for visit in held {
        if patient
            .encounters
            .iter()
            .any(|e| e.mdtrt_id == visit.mdtrt_id)
        {
            continue;
        }
        encounters.push(Encounter {
            hosp_lv: level_of(&visit.fixmedins_code)
                .flatten()
                .unwrap_or_else(lowest_level),
            mdtrt_id: visit.mdtrt_id,
            begn_date: visit.begn_date,
            dscg_date: visit.dscg_date,
            med_mdtrt_type: Some(if visit.inpatient {
                MdtrtType::Inpatient
            } else {
                MdtrtType::Outpatient
            }),
            med_type: MedType::parse(&visit.med_type).ok(),
            insutype: Insutype::parse(&visit.insutype).ok(),
            main_dise_codg: Some(visit.main_dise_codg).filter(|code| !code.is_empty()),
            medins_id: Some(visit.fixmedins_code),
            diagnoses: visit.diagnoses,
            lines: visit
                .lines
                .into_iter()
                .map(|line| FeeLine {
                    rx_id: line.feedetl_sn.clone(),
                    feedetl_sn: Some(line.feedetl_sn),
                    med_list_codg: line.med_list_codg,
                    cnt: line.cnt,
                    amount: line.amount,
                    fee_date: line.fee_date,
                    hilist_type: list_type_of_chrgitm(&line.med_chrgitm_type),
                    drord_bhvr: None,
                    prd_days: None,
                    drord_dept_codg: None,
                })
                .collect(),
        });
    }
    for (e_idx, encounter) in patient.encounters.iter().enumerate() {
        let at = format!("data.patient_dtos[{patient_idx}].fsi_encounter_dtos[{e_idx}]");
        encounters.push(Encounter {
            mdtrt_id: encounter.mdtrt_id.clone(),
            begn_date: encounter.adm_date,
            dscg_date: encounter.dscg_date,
            hosp_lv: level(format!("{at}.medins_id"), &encounter.medins_id)?,
            medins_id: Some(encounter.medins_id.clone()),
            med_mdtrt_type: encounter
                .med_mdtrt_type
                .as_deref()
                .and_then(MdtrtType::parse),
            med_type: encounter
                .med_type
                .as_deref()
                .and_then(|code| MedType::parse(code).ok()),
            insutype: encounter
                .insutype
                .as_deref()
                .and_then(|code| Insutype::parse(code).ok()),
            main_dise_codg: encounter.main_dise_codg.clone(),
            diagnoses: encounter.diagnoses.clone(),
            lines: encounter
                .orders
                .iter()
                .map(|order| FeeLine {
                    rx_id: order.rx_id.clone(),
                    feedetl_sn: order.feedetl_sn.clone(),
                    med_list_codg: order.hilist_code.clone(),
                    cnt: order.cnt,
                    amount: order.sumamt,
                    fee_date: order.begn_date,
                    hilist_type: order.hilist_type.as_deref().and_then(list_type_of_hilist),
                    drord_bhvr: order.drord_bhvr.as_deref().and_then(DrordBhvr::parse),
                    prd_days: order.prd_days,
                    drord_dept_codg: order.drord_dept_codg.clone(),
                })
                .collect(),
        });
    }
    Ok(AuditInput {
        person: Person {
            gend,
            brdy,
            death_date,
            insuinfo,
        },
        admdvs,
        current_mdtrt_id: Some(patient.curr_mdtrt_id.clone()),
        encounters,
    })
}

fn lowest_level() -> HospLv {
    HospLv::new(1).expect("1 is a hospital level")
}

/// The days of history a check reads around the request's dates: the longest interval a rule's
/// knowledge names (a day window needs the same day only).
pub(crate) fn history_days(base: &yibao_audit::Builtin) -> i64 {
    base.knowledge
        .min_interval
        .iter()
        .map(|entry| i64::from(entry.min_days))
        .max()
        .unwrap_or(0)
}

/// A finding's evidence as stored (JSON): the table, the entry and the values compared.
pub(crate) fn evidence_json(evidence: &Evidence) -> String {
    let values: serde_json::Map<String, serde_json::Value> = evidence
        .values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(value.as_str())))
        .collect();
    serde_json::json!({
        "table": evidence.table.map(|table| table.name()),
        "entry_idx": evidence.entry_idx,
        "values": values,
    })
    .to_string()
}
