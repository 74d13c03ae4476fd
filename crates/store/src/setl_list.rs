//! 4101A 医疗保障基金结算清单 (the settlement list): what a hospital uploads after a settlement,
//! its validation, the CHS-DRG 1.1 scheme it is grouped with, and the reads that show an
//! institution its lists with their groups.
//!
//! A list names a settlement (`setl_id`) of the uploading institution. Each accepted upload is
//! stored as a new version (never an edit in place) and the latest version wins; the group is
//! computed once, when the version is accepted, and stored with it. The SQL lives in
//! `setl_list_tx.rs`, compiled for both backends next to `tx.rs`.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_drg::{CaseRecord, GroupConfig, GroupStatus, Scheme, SchemeFiles, Sex};

use crate::error::StoreError;
use crate::limits;
use crate::{Pool, Store};

/// The scheme every list is grouped with (stored with each group).
pub const DRG_SCHEME_NAME: &str = "CHS-DRG 1.1";

/// One 4101A upload: `setlinfo` plus its multi-row nodes, parsed by the server.
#[derive(Debug, Clone, Default)]
pub struct SetlListUpload {
    /// `psn_no`.
    pub psn_no: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `setl_id`: the settlement the list is for.
    pub setl_id: String,
    /// `medcasno` (病案号).
    pub medcasno: String,
    /// `gend` when the list carries it (the older 4101 layout); else the registry's.
    pub gend: Option<String>,
    /// `age` in whole years when sent; else from the registry's birth date.
    pub age_years: Option<i64>,
    /// `nwb_age` (or `age_days`): age in days of a child under one year, when sent.
    pub nwb_age_days: Option<i64>,
    /// `nwb_bir_wt` in grams.
    pub nwb_bir_wt_g: Option<i64>,
    /// `nwb_adm_wt` in grams.
    pub nwb_adm_wt_g: Option<i64>,
    /// `ntly` (国籍).
    pub ntly: String,
    /// `prfs` (职业).
    pub prfs: String,
    /// `adm_way` (入院途径).
    pub adm_way: String,
    /// `trt_type` (治疗类别).
    pub trt_type: String,
    /// `adm_time`; the visit's admission time when absent.
    pub adm_time: Option<NaiveDateTime>,
    /// `adm_caty` (入院科别).
    pub adm_caty: String,
    /// `dscg_time`; the visit's end when absent.
    pub dscg_time: Option<NaiveDateTime>,
    /// `dscg_caty` (出院科别).
    pub dscg_caty: String,
    /// `dscg_way` (离院方式).
    pub dscg_way: String,
    /// `act_ipt_days` (实际住院天数) when sent; else computed from the admission and discharge.
    pub act_ipt_days: Option<i64>,
    /// `vent_used_dura` (`days/hours/minutes`).
    pub vent_used_dura: String,
    /// `setl_begn_date`.
    pub setl_begn_date: NaiveDate,
    /// `setl_end_date`.
    pub setl_end_date: NaiveDate,
    /// `hi_paymtd` (医保支付方式).
    pub hi_paymtd: String,
    /// `bill_code`.
    pub bill_code: String,
    /// `bill_no`.
    pub bill_no: String,
    /// `biz_sn`.
    pub biz_sn: String,
    /// `chfpdr_code` (主诊医师代码).
    pub chfpdr_code: String,
    /// `medins_fill_dept`.
    pub medins_fill_dept: String,
    /// `medins_fill_psn`.
    pub medins_fill_psn: String,
    /// `diseinfo[]`, in the order sent.
    pub diagnoses: Vec<SetlListDiagnosis>,
    /// `oprninfo[]`, in the order sent.
    pub operations: Vec<SetlListOperation>,
    /// `icuinfo[]`.
    pub icu_stays: Vec<SetlListIcuStay>,
    /// `payinfo[]`.
    pub payments: Vec<SetlListPayment>,
    /// `bldinfo[]`.
    pub blood: Vec<SetlListBlood>,
    /// `opspdiseinfo[]`.
    pub opsp_diagnoses: Vec<SetlListOpspDiagnosis>,
    /// The region's deadline for corrections (set by the server, not part of the message).
    pub deadline: crate::setl_list_status::SetlListDeadline,
}

/// One `diseinfo` row (住院诊断).
#[derive(Debug, Clone, Default)]
pub struct SetlListDiagnosis {
    /// `diag_type`.
    pub diag_type: String,
    /// `diag_code` (ICD-10 医保版).
    pub diag_code: String,
    /// `diag_name`.
    pub diag_name: String,
    /// `adm_cond_type` (入院病情).
    pub adm_cond_type: String,
    /// `maindiag_flag` = 1: the principal diagnosis (主要诊断).
    pub maindiag_flag: bool,
}

/// One `oprninfo` row (手术操作).
#[derive(Debug, Clone, Default)]
pub struct SetlListOperation {
    /// `oprn_oprt_type`.
    pub oprn_oprt_type: String,
    /// `oprn_oprt_code` (ICD-9-CM-3 医保版).
    pub oprn_oprt_code: String,
    /// `oprn_oprt_name`.
    pub oprn_oprt_name: String,
    /// `oprn_oprt_date` (or the date of `oprn_oprt_begntime`).
    pub oprn_oprt_date: Option<NaiveDate>,
    /// `anst_way`.
    pub anst_way: String,
    /// `oper_dr_code`.
    pub oper_dr_code: String,
    /// `anst_dr_code`.
    pub anst_dr_code: String,
    /// `main_oprn_flag` = 1: the main procedure (主要手术操作).
    pub main_oprn_flag: bool,
}

/// One `icuinfo` row (重症监护).
#[derive(Debug, Clone)]
pub struct SetlListIcuStay {
    /// `scs_cutd_ward_type`.
    pub ward_type: String,
    /// `scs_cutd_inpool_time`.
    pub inpool_time: NaiveDateTime,
    /// `scs_cutd_exit_time`.
    pub exit_time: NaiveDateTime,
    /// `scs_cutd_sum_dura` (`days/hours/minutes`).
    pub sum_dura: String,
}

/// One `payinfo` row: what the hospital declares a fund paid.
#[derive(Debug, Clone)]
pub struct SetlListPayment {
    /// `fund_pay_type`.
    pub fund_pay_type: String,
    /// `fund_payamt` in fen.
    pub fund_payamt_fen: i64,
}

/// One `bldinfo` row (输血).
#[derive(Debug, Clone, Default)]
pub struct SetlListBlood {
    /// `bld_cat`.
    pub bld_cat: String,
    /// `bld_amt` in units of `bld_unt`.
    pub bld_amt: Option<i64>,
    /// `bld_unt`.
    pub bld_unt: String,
}

/// One `opspdiseinfo` row (门诊慢特病诊断).
#[derive(Debug, Clone, Default)]
pub struct SetlListOpspDiagnosis {
    /// `diag_code`.
    pub diag_code: String,
    /// `diag_name`.
    pub diag_name: String,
    /// `oprn_oprt_code`.
    pub oprn_oprt_code: String,
    /// `oprn_oprt_name`.
    pub oprn_oprt_name: String,
}

/// The DRG group of one list version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetlListGroup {
    /// The scheme ([`DRG_SCHEME_NAME`]).
    pub scheme: String,
    /// `grouped`, `ungroupable`, `ambiguous` or `invalid`.
    pub status: String,
    /// MDC code (`0000` when none).
    pub mdc: String,
    /// ADRG code (`00` when none).
    pub adrg: String,
    /// DRG code (`0000` when none).
    pub drg: String,
    /// The DRG's name (empty when none).
    pub drg_name: String,
    /// `none`, `CC` or `MCC`.
    pub cc_level: String,
    /// How the grouper reached the result (MDCs entered, ADRG, the diagnosis that set the CC
    /// level, exclusions), or why the record is invalid.
    pub trace: String,
}

impl SetlListGroup {
    /// The reference grouper's status text (分组成功, 无法入组, 歧义病案, 信息校验不通过).
    pub fn status_name(&self) -> &'static str {
        match self.status.as_str() {
            "grouped" => "分组成功",
            "ungroupable" => "无法入组",
            "ambiguous" => "歧义病案",
            _ => "信息校验不通过",
        }
    }
}

/// What a 4101A stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetlListStored {
    /// `setl_list_id` (清单流水号) of the new version.
    pub setl_list_id: String,
    /// Its version: 1 for the first upload for the settlement, then 2, 3, …
    pub version: i64,
    /// `setl_id`.
    pub setl_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// The group.
    pub group: SetlListGroup,
    /// The quality checks of the version (质控), kept with it.
    pub qc: crate::setl_list_qc::QcResult,
}

/// Which of its lists an institution asks for (all filters optional; latest versions only).
#[derive(Debug, Clone, Default)]
pub struct SetlListQuery {
    /// Only this settlement's list.
    pub setl_id: Option<String>,
    /// Only this person's lists.
    pub psn_no: Option<String>,
    /// Only this visit's lists.
    pub mdtrt_id: Option<String>,
    /// 1-based page.
    pub page_num: i64,
    /// Rows per page, at most [`limits::SETL_LIST_PAGE_ROWS_MAX`].
    pub page_size: i64,
}

/// One list (its latest version) with its group, as an institution sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetlListView {
    /// `setl_list_id`.
    pub setl_list_id: String,
    /// Its version.
    pub version: i64,
    /// `setl_id`.
    pub setl_id: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// When the version was accepted.
    pub uploaded_at: NaiveDateTime,
    /// The principal diagnosis code.
    pub main_diag_code: String,
    /// The main procedure code (empty when none).
    pub main_oprn_code: String,
    /// Length of stay in days.
    pub los_days: i64,
    /// The group.
    pub group: SetlListGroup,
}

// ------------------------------------------------------------------------------------------
// The scheme

static SCHEME: OnceLock<Result<Scheme, String>> = OnceLock::new();

/// The CHS-DRG 1.1 scheme, loaded from the embedded tables on first use and kept for the life
/// of the process. A failure is a bug in the shipped tables, reported as an invariant.
pub fn drg_scheme() -> Result<&'static Scheme, StoreError> {
    SCHEME
        .get_or_init(|| {
            // The tables the project carries, compiled in: grouping needs no file at run time.
            Scheme::load(&SchemeFiles::CARRIED).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| StoreError::Invariant(format!("the embedded {DRG_SCHEME_NAME} tables: {e}")))
}

// ------------------------------------------------------------------------------------------
// Validation (pure; runs before anything is read or written)

fn required(field: &str, value: &str, chars_max: usize) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::bad(field, "is required"));
    }
    optional(field, value, chars_max)
}

fn optional(field: &str, value: &str, chars_max: usize) -> Result<(), StoreError> {
    if value.chars().count() > chars_max {
        return Err(StoreError::bad(
            field,
            format!("is longer than {chars_max} characters"),
        ));
    }
    Ok(())
}

/// Refuses a node of more than `max` rows, naming the first row beyond the limit.
fn rows_max(node: &str, n: usize, max: usize) -> Result<(), StoreError> {
    if n > max {
        return Err(StoreError::bad(
            format!("{node}[{max}]"),
            format!("{node} has {n} rows, more than {max}"),
        ));
    }
    Ok(())
}

/// Checks a list on its own (the settlement it names is checked against the database later).
/// Errors name the field as the interface does (`setlinfo.setl_id`, `diseinfo[2].diag_code`).
pub fn check_upload(c: &SetlListUpload) -> Result<(), StoreError> {
    let id = limits::ID_CHARS_MAX;
    let text = limits::TEXT_CHARS_MAX;
    required("setlinfo.psn_no", &c.psn_no, id)?;
    required("setlinfo.mdtrt_id", &c.mdtrt_id, id)?;
    required("setlinfo.setl_id", &c.setl_id, id)?;
    for (field, value, chars_max) in [
        ("setlinfo.medcasno", &c.medcasno, 40),
        ("setlinfo.ntly", &c.ntly, 6),
        ("setlinfo.prfs", &c.prfs, 6),
        ("setlinfo.adm_way", &c.adm_way, 30),
        ("setlinfo.trt_type", &c.trt_type, 3),
        ("setlinfo.adm_caty", &c.adm_caty, 10),
        ("setlinfo.dscg_caty", &c.dscg_caty, 10),
        ("setlinfo.dscg_way", &c.dscg_way, 3),
        ("setlinfo.vent_used_dura", &c.vent_used_dura, 10),
        ("setlinfo.hi_paymtd", &c.hi_paymtd, 3),
        ("setlinfo.bill_code", &c.bill_code, 50),
        ("setlinfo.bill_no", &c.bill_no, 30),
        ("setlinfo.biz_sn", &c.biz_sn, 50),
        ("setlinfo.chfpdr_code", &c.chfpdr_code, 30),
        ("setlinfo.medins_fill_dept", &c.medins_fill_dept, 100),
        ("setlinfo.medins_fill_psn", &c.medins_fill_psn, 50),
    ] {
        optional(field, value, chars_max)?;
    }
    if let Some(gend) = &c.gend {
        // The national sex dictionary: 0 unknown, 1 male, 2 female, 9 unstated.
        if !matches!(gend.as_str(), "0" | "1" | "2" | "9") {
            return Err(StoreError::bad(
                "setlinfo.gend",
                format!("`{gend}` is not a sex code (0, 1, 2, 9)"),
            ));
        }
    }
    for (field, value, max) in [
        ("setlinfo.age", c.age_years, limits::AGE_YEARS_MAX),
        ("setlinfo.nwb_age", c.nwb_age_days, 365),
        (
            "setlinfo.nwb_bir_wt",
            c.nwb_bir_wt_g,
            limits::NEWBORN_WEIGHT_G_MAX,
        ),
        (
            "setlinfo.nwb_adm_wt",
            c.nwb_adm_wt_g,
            limits::NEWBORN_WEIGHT_G_MAX,
        ),
        (
            "setlinfo.act_ipt_days",
            c.act_ipt_days,
            limits::STAY_DAYS_MAX,
        ),
    ] {
        if let Some(value) = value {
            if !(0..=max).contains(&value) {
                return Err(StoreError::bad(
                    field,
                    format!("{value} is not within 0..={max}"),
                ));
            }
        }
    }
    if let (Some(adm), Some(dscg)) = (c.adm_time, c.dscg_time) {
        if dscg < adm {
            return Err(StoreError::bad("setlinfo.dscg_time", "is before adm_time"));
        }
    }
    if c.setl_end_date < c.setl_begn_date {
        return Err(StoreError::bad(
            "setlinfo.setl_end_date",
            "is before setl_begn_date",
        ));
    }

    if c.diagnoses.is_empty() {
        return Err(StoreError::bad(
            "diseinfo[0]",
            "is required (at least the principal diagnosis)",
        ));
    }
    rows_max(
        "diseinfo",
        c.diagnoses.len(),
        limits::DIAGNOSES_PER_MESSAGE_MAX,
    )?;
    let mut main_idx = None;
    for (idx, d) in c.diagnoses.iter().enumerate() {
        required(&format!("diseinfo[{idx}].diag_type"), &d.diag_type, 3)?;
        required(&format!("diseinfo[{idx}].diag_code"), &d.diag_code, 20)?;
        required(&format!("diseinfo[{idx}].diag_name"), &d.diag_name, 500)?;
        optional(
            &format!("diseinfo[{idx}].adm_cond_type"),
            &d.adm_cond_type,
            3,
        )?;
        if d.maindiag_flag {
            if let Some(first) = main_idx {
                return Err(StoreError::bad(
                    format!("diseinfo[{idx}].maindiag_flag"),
                    format!("a second principal diagnosis (diseinfo[{first}] is one)"),
                ));
            }
            main_idx = Some(idx);
        }
    }
    if main_idx.is_none() {
        return Err(StoreError::bad(
            "diseinfo.maindiag_flag",
            "no diagnosis is the principal one (maindiag_flag 1)",
        ));
    }

    rows_max(
        "oprninfo",
        c.operations.len(),
        limits::OPERATIONS_PER_LIST_MAX,
    )?;
    let mut main_oprn_idx = None;
    for (idx, o) in c.operations.iter().enumerate() {
        optional(
            &format!("oprninfo[{idx}].oprn_oprt_type"),
            &o.oprn_oprt_type,
            3,
        )?;
        required(
            &format!("oprninfo[{idx}].oprn_oprt_code"),
            &o.oprn_oprt_code,
            30,
        )?;
        required(
            &format!("oprninfo[{idx}].oprn_oprt_name"),
            &o.oprn_oprt_name,
            500,
        )?;
        optional(&format!("oprninfo[{idx}].anst_way"), &o.anst_way, 6)?;
        optional(
            &format!("oprninfo[{idx}].oper_dr_code"),
            &o.oper_dr_code,
            30,
        )?;
        optional(
            &format!("oprninfo[{idx}].anst_dr_code"),
            &o.anst_dr_code,
            30,
        )?;
        if o.main_oprn_flag {
            if let Some(first) = main_oprn_idx {
                return Err(StoreError::bad(
                    format!("oprninfo[{idx}].main_oprn_flag"),
                    format!("a second main procedure (oprninfo[{first}] is one)"),
                ));
            }
            main_oprn_idx = Some(idx);
        }
    }

    rows_max("icuinfo", c.icu_stays.len(), limits::ICU_STAYS_PER_LIST_MAX)?;
    for (idx, s) in c.icu_stays.iter().enumerate() {
        required(
            &format!("icuinfo[{idx}].scs_cutd_ward_type"),
            &s.ward_type,
            6,
        )?;
        optional(
            &format!("icuinfo[{idx}].scs_cutd_sum_dura"),
            &s.sum_dura,
            10,
        )?;
        if s.exit_time < s.inpool_time {
            return Err(StoreError::bad(
                format!("icuinfo[{idx}].scs_cutd_exit_time"),
                "is before scs_cutd_inpool_time",
            ));
        }
    }
    rows_max("payinfo", c.payments.len(), limits::PAYMENTS_PER_LIST_MAX)?;
    for (idx, p) in c.payments.iter().enumerate() {
        required(
            &format!("payinfo[{idx}].fund_pay_type"),
            &p.fund_pay_type,
            6,
        )?;
        if !(0..=limits::LIST_AMOUNT_FEN_MAX).contains(&p.fund_payamt_fen) {
            return Err(StoreError::bad(
                format!("payinfo[{idx}].fund_payamt"),
                "is negative or out of range",
            ));
        }
    }
    rows_max("bldinfo", c.blood.len(), limits::BLOOD_ROWS_PER_LIST_MAX)?;
    for (idx, b) in c.blood.iter().enumerate() {
        optional(&format!("bldinfo[{idx}].bld_cat"), &b.bld_cat, 3)?;
        optional(&format!("bldinfo[{idx}].bld_unt"), &b.bld_unt, 15)?;
        if b.bld_amt
            .is_some_and(|amount| !(0..=999_999).contains(&amount))
        {
            return Err(StoreError::bad(
                format!("bldinfo[{idx}].bld_amt"),
                "is negative or longer than 6 digits",
            ));
        }
    }
    rows_max(
        "opspdiseinfo",
        c.opsp_diagnoses.len(),
        limits::DIAGNOSES_PER_MESSAGE_MAX,
    )?;
    for (idx, o) in c.opsp_diagnoses.iter().enumerate() {
        optional(&format!("opspdiseinfo[{idx}].diag_code"), &o.diag_code, 20)?;
        optional(&format!("opspdiseinfo[{idx}].diag_name"), &o.diag_name, 100)?;
        optional(
            &format!("opspdiseinfo[{idx}].oprn_oprt_code"),
            &o.oprn_oprt_code,
            30,
        )?;
        optional(
            &format!("opspdiseinfo[{idx}].oprn_oprt_name"),
            &o.oprn_oprt_name,
            text,
        )?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The list as the grouper reads it

/// What the registry and the visit add to a list that leaves them out (4101A carries no
/// demographics: they are the platform's own).
#[derive(Debug, Clone)]
pub struct CaseFacts {
    /// The person's registered sex (`1`/`2`).
    pub gend: String,
    /// The person's registered birth date.
    pub brdy: Option<NaiveDate>,
    /// The admission day (the list's `adm_time`, else the visit's start).
    pub adm_date: NaiveDate,
}

/// Whole years from `from` to `to` (0 when `to` is earlier).
fn whole_years(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut years = i64::from(to.year() - from.year());
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years.max(0)
}

/// The grouper's case for a list: principal diagnosis first (the row flagged
/// `maindiag_flag` 1, the others in the order sent), main procedure first (the row flagged
/// `main_oprn_flag` 1, else the first sent), sex from `gend` (else the registry's), age in
/// years from `age` (else from the registry's birth date at admission), age in days from
/// `nwb_age` (else from the birth date), birth weight from `nwb_bir_wt`.
pub fn case_record(c: &SetlListUpload, facts: &CaseFacts) -> CaseRecord {
    let main_diag = c.diagnoses.iter().position(|d| d.maindiag_flag);
    let mut diagnoses = Vec::with_capacity(c.diagnoses.len());
    if let Some(idx) = main_diag {
        diagnoses.push(c.diagnoses[idx].diag_code.clone());
    }
    diagnoses.extend(
        c.diagnoses
            .iter()
            .enumerate()
            .filter(|(idx, _)| Some(*idx) != main_diag)
            .map(|(_, d)| d.diag_code.clone()),
    );
    let main_oprn = c.operations.iter().position(|o| o.main_oprn_flag);
    let mut procedures = Vec::with_capacity(c.operations.len());
    if let Some(idx) = main_oprn {
        procedures.push(c.operations[idx].oprn_oprt_code.clone());
    }
    procedures.extend(
        c.operations
            .iter()
            .enumerate()
            .filter(|(idx, _)| Some(*idx) != main_oprn)
            .map(|(_, o)| o.oprn_oprt_code.clone()),
    );
    let gend = c.gend.as_deref().unwrap_or(&facts.gend);
    let sex = match gend {
        "1" => Some(Sex::Male),
        "2" => Some(Sex::Female),
        _ => None,
    };
    let age_years = c
        .age_years
        .or_else(|| facts.brdy.map(|brdy| whole_years(brdy, facts.adm_date)));
    let age_days = c.nwb_age_days.or_else(|| {
        facts
            .brdy
            .map(|brdy| (facts.adm_date - brdy).num_days().max(0))
    });
    CaseRecord {
        diagnoses,
        procedures,
        sex,
        age_years,
        age_days,
        birth_weight_g: c.nwb_bir_wt_g,
    }
}

/// Groups a case with the embedded scheme and the reference grouper's options.
pub fn group_case(record: &CaseRecord) -> Result<SetlListGroup, StoreError> {
    let scheme = drg_scheme()?;
    let result = yibao_drg::group(record, scheme, &GroupConfig::default());
    let status = match result.status {
        GroupStatus::Grouped => "grouped",
        GroupStatus::Ungroupable => "ungroupable",
        GroupStatus::Ambiguous => "ambiguous",
        GroupStatus::Invalid(_) => "invalid",
    };
    let drg_name = result
        .drg
        .map(|drg| scheme.drg(drg).name.clone())
        .unwrap_or_default();
    Ok(SetlListGroup {
        scheme: DRG_SCHEME_NAME.to_owned(),
        status: status.to_owned(),
        mdc: result.mdc_code(scheme).to_owned(),
        adrg: result.adrg_code(scheme).to_owned(),
        drg: result.drg_code(scheme).to_owned(),
        drg_name,
        cc_level: result.cc_level.as_str().to_owned(),
        trace: result.explain(scheme, record),
    })
}

/// Length of stay in days: `act_ipt_days` when sent, else discharge day minus admission day,
/// counting a same-day stay as one day (the settlement list's rule for 实际住院天数).
pub fn stay_days(
    c: &SetlListUpload,
    adm_time: NaiveDateTime,
    dscg_time: Option<NaiveDateTime>,
) -> i64 {
    if let Some(days) = c.act_ipt_days {
        return days;
    }
    match dscg_time {
        Some(dscg) => (dscg.date() - adm_time.date()).num_days().max(1),
        None => 0,
    }
}

// ------------------------------------------------------------------------------------------
// Reads

impl Store {
    /// 4103: the latest version of each of the institution's settlement lists that match
    /// `query`, with their groups, newest first. Only `fixmedins_code`'s own lists are seen.
    pub async fn setl_lists(
        &self,
        fixmedins_code: &str,
        query: &SetlListQuery,
    ) -> Result<Vec<SetlListView>, StoreError> {
        if query.page_num < 1 {
            return Err(StoreError::bad("data.page_num", "must be at least 1"));
        }
        // The row offset, (page_num - 1) × page_size, must stay an i64.
        if query.page_num > i64::MAX / limits::SETL_LIST_PAGE_ROWS_MAX {
            return Err(StoreError::bad("data.page_num", "is too large"));
        }
        if !(1..=limits::SETL_LIST_PAGE_ROWS_MAX).contains(&query.page_size) {
            return Err(StoreError::bad(
                "data.page_size",
                format!("must be within 1..={}", limits::SETL_LIST_PAGE_ROWS_MAX),
            ));
        }
        for (field, value) in [
            ("data.setl_id", &query.setl_id),
            ("data.psn_no", &query.psn_no),
            ("data.mdtrt_id", &query.mdtrt_id),
        ] {
            if let Some(value) = value {
                required(field, value, limits::ID_CHARS_MAX)?;
            }
        }
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::setl_lists(p, fixmedins_code, query).await,
            Pool::Sq { pool, .. } => crate::sq::setl_lists(pool, fixmedins_code, query).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> SetlListUpload {
        SetlListUpload {
            psn_no: "P1".into(),
            mdtrt_id: "M1".into(),
            setl_id: "S1".into(),
            setl_begn_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            setl_end_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            diagnoses: vec![
                SetlListDiagnosis {
                    diag_type: "1".into(),
                    diag_code: "D23.506".into(),
                    diag_name: "b".into(),
                    ..Default::default()
                },
                SetlListDiagnosis {
                    diag_type: "1".into(),
                    diag_code: "S62.410".into(),
                    diag_name: "a".into(),
                    maindiag_flag: true,
                    ..Default::default()
                },
            ],
            operations: vec![SetlListOperation {
                oprn_oprt_code: "81.0601".into(),
                oprn_oprt_name: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn facts() -> CaseFacts {
        CaseFacts {
            gend: "1".into(),
            brdy: NaiveDate::from_ymd_opt(1986, 3, 2),
            adm_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        }
    }

    #[test]
    fn the_flagged_principal_diagnosis_comes_first_and_the_registry_fills_demographics() {
        let record = case_record(&list(), &facts());
        assert_eq!(record.diagnoses, ["S62.410", "D23.506"]);
        assert_eq!(record.procedures, ["81.0601"]);
        assert_eq!(record.sex, Some(Sex::Male));
        assert_eq!(record.age_years, Some(39));
        assert_eq!(record.age_days, Some(14_609));
        let mut sent = list();
        sent.gend = Some("2".into());
        sent.age_years = Some(0);
        sent.nwb_age_days = Some(3);
        sent.nwb_bir_wt_g = Some(3200);
        let record = case_record(&sent, &facts());
        assert_eq!(
            (
                record.sex,
                record.age_years,
                record.age_days,
                record.birth_weight_g
            ),
            (Some(Sex::Female), Some(0), Some(3), Some(3200))
        );
    }

    #[test]
    fn a_list_groups_as_the_grouper_groups_its_case() {
        let record = case_record(&list(), &facts());
        let expected = yibao_drg::group(&record, drg_scheme().unwrap(), &GroupConfig::default());
        let group = group_case(&record).unwrap();
        let scheme = drg_scheme().unwrap();
        assert_eq!(group.drg, expected.drg_code(scheme));
        assert_eq!(group.adrg, expected.adrg_code(scheme));
        assert_eq!(group.mdc, expected.mdc_code(scheme));
        assert_eq!(group.status_name(), expected.status.as_str());
        assert_eq!(group.trace, expected.explain(scheme, &record));
        assert!(
            group.trace.contains(&format!("ADRG {}", group.adrg)),
            "{}",
            group.trace
        );
    }

    /// Invalid lists in order of precedence: each names its field.
    #[test]
    fn invalid_lists_name_their_field() {
        type Spoil = Box<dyn Fn(&mut SetlListUpload)>;
        let cases: Vec<(&str, Spoil)> = vec![
            (
                "setlinfo.psn_no: is required",
                Box::new(|c| c.psn_no.clear()),
            ),
            (
                "setlinfo.setl_id: is required",
                Box::new(|c| c.setl_id.clear()),
            ),
            (
                "setlinfo.gend: `x` is not a sex code (0, 1, 2, 9)",
                Box::new(|c| c.gend = Some("x".into())),
            ),
            (
                "setlinfo.setl_end_date: is before setl_begn_date",
                Box::new(|c| std::mem::swap(&mut c.setl_begn_date, &mut c.setl_end_date)),
            ),
            (
                "diseinfo[0]: is required (at least the principal diagnosis)",
                Box::new(|c| c.diagnoses.clear()),
            ),
            (
                "diseinfo.maindiag_flag: no diagnosis is the principal one (maindiag_flag 1)",
                Box::new(|c| c.diagnoses[1].maindiag_flag = false),
            ),
            (
                "diseinfo[1].maindiag_flag: a second principal diagnosis (diseinfo[0] is one)",
                Box::new(|c| c.diagnoses[0].maindiag_flag = true),
            ),
            (
                "diseinfo[1].diag_code: is required",
                Box::new(|c| c.diagnoses[1].diag_code.clear()),
            ),
            (
                "oprninfo[0].oprn_oprt_code: is required",
                Box::new(|c| c.operations[0].oprn_oprt_code.clear()),
            ),
        ];
        assert!(check_upload(&list()).is_ok());
        for (expected, spoil) in cases {
            let mut c = list();
            spoil(&mut c);
            assert_eq!(check_upload(&c).unwrap_err().to_string(), expected);
        }
    }

    /// Every reference case of the scheme (`testcases.jsonl`, 1,656 cases), sent as a list with
    /// the principal diagnosis and the main procedure at a different row each time (flagged),
    /// groups to the reference grouper's expected status, MDC, ADRG and DRG.
    #[test]
    fn reference_cases_sent_as_lists_group_as_expected() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/chs-drg-1.1/testcases.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut n_cases = 0;
        for (line_idx, line) in text.lines().enumerate() {
            let case = yibao_drg::parse_case_json(line).unwrap().record;
            let expected: serde_json::Value = serde_json::from_str(line).unwrap();
            let expected = &expected["expected"];
            // Move the principal diagnosis and the main procedure to row `line_idx mod n`.
            let spread = |codes: &[String]| -> (Vec<String>, usize) {
                let mut rows = codes.to_vec();
                if rows.is_empty() {
                    return (rows, 0);
                }
                let main = rows.remove(0);
                let at = line_idx % (rows.len() + 1);
                rows.insert(at, main);
                (rows, at)
            };
            let (dx_rows, dx_main) = spread(&case.diagnoses);
            let (px_rows, px_main) = spread(&case.procedures);
            let list = SetlListUpload {
                gend: Some(
                    case.sex
                        .map_or("0", |sex| if sex == Sex::Male { "1" } else { "2" })
                        .to_owned(),
                ),
                age_years: case.age_years,
                nwb_age_days: case.age_days,
                nwb_bir_wt_g: case.birth_weight_g,
                diagnoses: dx_rows
                    .iter()
                    .enumerate()
                    .map(|(idx, code)| SetlListDiagnosis {
                        diag_code: code.clone(),
                        maindiag_flag: idx == dx_main,
                        ..Default::default()
                    })
                    .collect(),
                operations: px_rows
                    .iter()
                    .enumerate()
                    .map(|(idx, code)| SetlListOperation {
                        oprn_oprt_code: code.clone(),
                        main_oprn_flag: idx == px_main,
                        ..Default::default()
                    })
                    .collect(),
                ..list()
            };
            let facts = CaseFacts {
                gend: String::new(),
                brdy: None,
                adm_date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            };
            let record = case_record(&list, &facts);
            assert_eq!(record, case, "line {}", line_idx + 1);
            let group = group_case(&record).unwrap();
            let got = (
                group.status_name(),
                group.mdc.as_str(),
                group.adrg.as_str(),
                group.drg.as_str(),
            );
            let want = (
                expected["status"].as_str().unwrap(),
                expected["mdc"].as_str().unwrap(),
                expected["adrg"].as_str().unwrap(),
                expected["drg"].as_str().unwrap(),
            );
            assert_eq!(got, want, "line {}", line_idx + 1);
            n_cases += 1;
        }
        assert_eq!(n_cases, 1_656);
    }
}
