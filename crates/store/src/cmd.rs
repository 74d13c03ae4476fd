//! The operations the national interface asks of the store (commands in) and what they produce
//! (outcomes out): the one set of command types. The server parses each wire message once,
//! directly into these (codes the store branches on become enums there), and renders the
//! outcomes into the interface's nodes, so the wire format lives in `server`. A command carries
//! everything its message said, even what the store does not keep, because the server's
//! idempotency fingerprint is taken over it.
//!
//! Money is integer fen (`*_fen`, or the interface's amount names which are all fen here),
//! prices micro-yuan (`*_micro`, 6 decimals), counts ten-thousandths (`*_e4`), ratios millionths
//! (`*_ppm`).

use chrono::{NaiveDate, NaiveDateTime};
pub use yibao_core_types::AcctUsedFlag;
use yibao_settlement::SetlAmounts;

use crate::error::StoreError;

/// 门诊 or 住院: which half of the visit chain a visit or a transaction belongs to. Outpatient
/// and pharmacy transactions are 22xx, inpatient ones 23xx and 24xx; a visit keeps its kind
/// (`visit.kind`, `otp` or `ipt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitKind {
    /// 门诊 (2201–2208): `otp`.
    Outpatient,
    /// 住院 (2301–2305, 2401–2405): `ipt`.
    Inpatient,
}

impl VisitKind {
    /// The stored code (`otp`, `ipt`).
    pub fn code(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "otp",
            VisitKind::Inpatient => "ipt",
        }
    }

    /// A stored `visit.kind`; another value is a broken row.
    pub(crate) fn parse_stored(code: &str) -> Result<VisitKind, StoreError> {
        match code {
            "otp" => Ok(VisitKind::Outpatient),
            "ipt" => Ok(VisitKind::Inpatient),
            other => Err(StoreError::Invariant(format!(
                "stored visit kind {other:?} is not otp or ipt"
            ))),
        }
    }

    /// How a refusal names a visit of this kind.
    pub(crate) fn described(self) -> &'static str {
        match self {
            VisitKind::Outpatient => "an outpatient visit",
            VisitKind::Inpatient => "an inpatient stay",
        }
    }
}

/// Who sends a message and under which id: the idempotency key and the audit of every write.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The calling institution (`fixmedins_code`), already authenticated by the server.
    pub fixmedins_code: String,
    /// The sender's message id (`msgid`): the idempotency key within the institution.
    pub msgid: String,
    /// The transaction code (`infno`, e.g. `2207` or `2207A`).
    pub infno: String,
    /// SHA-256 of the request's canonical content (the server decides what is hashed; a
    /// replay must hash equal, a different request with the same msgid must not).
    pub request_hash: [u8; 32],
    /// The visit region of the message (`mdtrtarea_admvs`); empty when not sent. It must be the
    /// institution's region, which is what the store records (never this text).
    pub mdtrtarea_admvs: String,
    /// The time the server received the message (the clock is read once, by the server).
    pub now: NaiveDateTime,
}

/// A write operation. Each is executed in one database transaction together with its
/// idempotency record.
#[derive(Debug, Clone)]
pub enum Command {
    /// 9001 签到.
    SignIn(SignIn),
    /// 9002 签退.
    SignOut(SignOut),
    /// 2201 门诊挂号.
    RegisterOutpatient(RegisterOutpatient),
    /// 2202 门诊挂号撤销.
    CancelRegistration(VisitRef),
    /// 2203 / 2203A 门诊就诊信息上传.
    UploadVisitInfo(UploadVisitInfo),
    /// 2204 门诊费用明细上传 / 2301 住院费用明细上传.
    UploadFees(UploadFees),
    /// 2205 / 2302 费用明细撤销.
    CancelFees(CancelFees),
    /// 2206/2207 (outpatient) and 2303/2304 (inpatient) 预结算 / 结算. A pre-settlement
    /// (`pre = true`) computes and returns the answer but writes nothing except its idempotency
    /// record.
    Settle(Settle),
    /// 2208 门诊结算撤销 / 2305 住院结算撤销.
    ReverseSettlement(ReverseSettlement),
    /// 2401 入院办理.
    Admit(Admit),
    /// 2402 出院办理.
    Discharge(Discharge),
    /// 2403 入院信息变更.
    UpdateAdmission(UpdateAdmission),
    /// 2404 入院撤销.
    CancelAdmission(VisitRef),
    /// 2405 出院撤销.
    UndoDischarge(VisitRef),
    /// 2601 冲正: undo the operation of message `omsgid` (transaction `oinfno`) if it happened.
    Revoke(Revoke),
    /// 4101A 结算清单上传: validate, group and store the next version of a settlement list.
    UploadSetlList(Box<crate::setl_list::SetlListUpload>),
    /// 3101 明细审核事前分析 / 3102 事中分析: check, record and answer the findings.
    AuditCheck(Box<crate::audit::AuditCheck>),
    /// 3103 事前事中服务反馈: record what the hospital did with each warning.
    AuditFeedback(crate::audit::AuditFeedback),
}

/// 9001 input (`signIn`).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// `opter_no`.
    pub opter_no: String,
    /// `mac`.
    pub mac: String,
    /// `ip`.
    pub ip: String,
}

/// 9002 input (`signOut`).
#[derive(Debug, Clone)]
pub struct SignOut {
    /// `sign_no` from 9001.
    pub sign_no: String,
    /// `opter_no`.
    pub opter_no: String,
}

/// Where a visit stands (`visit.status`): what each visit command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStatus {
    /// Registered or admitted, bill open: `open`.
    Open,
    /// Discharged (2402), not yet settled: `discharged`.
    Discharged,
    /// Settled (2207/2304); an inpatient stay settled before its discharge keeps no end time:
    /// `settled`.
    Settled,
    /// Registration or admission cancelled (2202/2404, 2601): `cancelled`.
    Cancelled,
}

impl VisitStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            VisitStatus::Open => "open",
            VisitStatus::Discharged => "discharged",
            VisitStatus::Settled => "settled",
            VisitStatus::Cancelled => "cancelled",
        }
    }

    /// A stored `visit.status`; another value is a broken row.
    pub(crate) fn parse_stored(code: &str) -> Result<VisitStatus, StoreError> {
        match code {
            "open" => Ok(VisitStatus::Open),
            "discharged" => Ok(VisitStatus::Discharged),
            "settled" => Ok(VisitStatus::Settled),
            "cancelled" => Ok(VisitStatus::Cancelled),
            other => Err(StoreError::Invariant(format!(
                "stored visit status {other:?} is not open, discharged, settled or cancelled"
            ))),
        }
    }
}

/// A visit named by the hospital (2202, 2208/2305, 2404, 2405 and 5203 inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRef {
    /// `psn_no`.
    pub psn_no: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `ipt_otp_no` (住院/门诊号), when sent.
    pub ipt_otp_no: Option<String>,
}

/// 2201 input (`data`).
#[derive(Debug, Clone)]
pub struct RegisterOutpatient {
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype` (`310`/`390`).
    pub insutype: String,
    /// `begntime`.
    pub begntime: NaiveDateTime,
    /// `mdtrt_cert_type`.
    pub mdtrt_cert_type: String,
    /// `mdtrt_cert_no`.
    pub mdtrt_cert_no: String,
    /// `ipt_otp_no` (the hospital's own visit number).
    pub ipt_otp_no: String,
    /// `atddr_no`; empty when not sent.
    pub atddr_no: String,
    /// `dr_name`; empty when not sent.
    pub dr_name: String,
    /// `dept_code`.
    pub dept_code: String,
    /// `dept_name`.
    pub dept_name: String,
    /// `caty`.
    pub caty: String,
    /// A referred visit (转诊: `exp_content` `OTP_ER_REFL_FLAG` 2 or 3); policy conditions may
    /// read it.
    pub referral: bool,
}

/// One diagnosis (`diseinfo[]` of 2203/2401/2402/2403).
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// `diag_type`.
    pub diag_type: String,
    /// `diag_srt_no`.
    pub diag_srt_no: i64,
    /// `diag_code`.
    pub diag_code: String,
    /// `diag_name`.
    pub diag_name: String,
    /// `diag_dept`; empty when not sent.
    pub diag_dept: String,
    /// `dise_dor_no`; empty when not sent.
    pub dise_dor_no: String,
    /// `dise_dor_name`; empty when not sent.
    pub dise_dor_name: String,
    /// `diag_time`; when not sent, the message's begin time (its end time for 2402).
    pub diag_time: Option<NaiveDateTime>,
    /// `maindiag_flag`, when sent (stored `1` for a main diagnosis, else `0`).
    pub maindiag_flag: Option<bool>,
    /// `vali_flag`: false withdraws an earlier diagnosis with the same sort number (absent is
    /// valid).
    pub valid: bool,
}

/// 2203 / 2203A input (`mdtrtinfo` + `diseinfo[]`).
#[derive(Debug, Clone)]
pub struct UploadVisitInfo {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `med_type` (`11`, `13`, `14`, `41`, ...).
    pub med_type: String,
    /// `begntime`.
    pub begntime: NaiveDateTime,
    /// `main_cond_dscr`; empty when not sent.
    pub main_cond_dscr: String,
    /// `dise_codg` (the chronic disease for `14`); empty when not sent.
    pub dise_codg: String,
    /// `dise_name`; empty when not sent.
    pub dise_name: String,
    /// `diseinfo[]`.
    pub diagnoses: Vec<Diagnosis>,
    /// The maternity facts of `mdtrtinfo` (2203A, and `birctrl_*` of 2203); they replace the
    /// visit's (all absent: the visit has none).
    pub maternity: Maternity,
}

/// The maternity facts of a visit (生育信息, 2203/2203A `mdtrtinfo`), each absent when not sent,
/// kept with the visit for the settlement's maternity benefit ([`crate::Store::visit_maternity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maternity {
    /// `matn_type` 生育类别: `1` 正常产, `2` 助娩产, `3` 剖宫产, `4` 难产, `5` 流产, `6` 引产,
    /// `7` 产前检查, `9` 其他.
    pub matn_type: Option<String>,
    /// `birctrl_type` 计划生育手术类别: `1` 放置宫内节育器 … `9` 其他.
    pub birctrl_type: Option<String>,
    /// `birctrl_matn_date` 计划生育手术或生育日期.
    pub birctrl_matn_date: Option<chrono::NaiveDate>,
    /// `geso_val` 孕周数, weeks of pregnancy (0–99).
    pub geso_val: Option<i64>,
    /// `fetts` 胎次, which pregnancy this is (1–999).
    pub fetts: Option<i64>,
    /// `fetus_cnt` 胎儿数, the number of fetuses (1–999).
    pub fetus_cnt: Option<i64>,
    /// `pret_flag` 早产标志: premature birth.
    pub pret_flag: Option<bool>,
    /// `latechb_flag` 晚育标志: late childbearing.
    pub latechb_flag: Option<bool>,
    /// `cop_flag` 伴有并发症标志: with complications.
    pub cop_flag: Option<bool>,
    /// `fpsc_no` 计划生育服务证号, the family-planning service certificate.
    pub fpsc_no: Option<String>,
}

impl Maternity {
    /// `matn_type` codes (生育类别, spec §5.4).
    pub const MATN_TYPES: &'static [&'static str] = &["1", "2", "3", "4", "5", "6", "7", "9"];
    /// `birctrl_type` codes (计划生育手术类别, spec §5.4).
    pub const BIRCTRL_TYPES: &'static [&'static str] =
        &["1", "2", "3", "4", "5", "6", "7", "8", "9"];
    /// Largest `geso_val` (N 2).
    pub const GESO_VAL_MAX: i64 = 99;
    /// Largest `fetts` and `fetus_cnt` (N 3).
    pub const COUNT_MAX: i64 = 999;

    /// Whether no maternity fact was sent.
    pub fn is_empty(&self) -> bool {
        *self == Maternity::default()
    }
}

/// One fee line (`feedetail[]` of 2204/2301).
#[derive(Debug, Clone, Default)]
pub struct FeeLineIn {
    /// `feedetl_sn`, unique within the visit.
    pub feedetl_sn: String,
    /// `init_feedetl_sn`: the line a refund line refunds (2301), when sent.
    pub init_feedetl_sn: Option<String>,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `chrg_bchno`. 2301 has none: an inpatient line is batched by the day it was incurred (a
    /// ward day, `yyyy-MM-dd`), as the Zhejiang platform's own batches are dates.
    pub chrg_bchno: String,
    /// `med_type` (2301), when sent.
    pub med_type: Option<String>,
    /// `dise_codg`, when sent.
    pub dise_codg: Option<String>,
    /// `rxno` (or `drord_no`), when sent.
    pub rxno: Option<String>,
    /// `rx_circ_flag`, when sent.
    pub rx_circ_flag: Option<String>,
    /// `fee_ocur_time`.
    pub fee_ocur_time: NaiveDateTime,
    /// `med_list_codg`.
    pub med_list_codg: String,
    /// `medins_list_codg`.
    pub medins_list_codg: String,
    /// `det_item_fee_sumamt` in fen as sent; checked against `pric × cnt` within one fen.
    pub det_item_fee_sumamt_fen: i64,
    /// `cnt` in 1/10000 (negative on refund lines).
    pub cnt_e4: i64,
    /// `pric` in micro-yuan (never negative).
    pub pric_micro: i64,
    /// `bilg_dept_codg`.
    pub bilg_dept_codg: String,
    /// `bilg_dept_name`.
    pub bilg_dept_name: String,
    /// `bilg_dr_codg`.
    pub bilg_dr_codg: String,
    /// `bilg_dr_name`.
    pub bilg_dr_name: String,
    /// `hosp_appr_flag` (`0`, `1`, `2`); a 2301 line without it is `0`, never taken as
    /// approved.
    pub hosp_appr_flag: String,
    /// `dscg_tkdrug_flag`, when sent.
    pub dscg_tkdrug_flag: Option<String>,
    /// `matn_fee_flag`, when sent.
    pub matn_fee_flag: Option<String>,
    /// `memo`, when sent.
    pub memo: Option<String>,
}

/// 2204 / 2301 input.
#[derive(Debug, Clone)]
pub struct UploadFees {
    /// Which visit chain (2204 outpatient, 2301 inpatient).
    pub kind: VisitKind,
    /// `feedetail[]`: all for one visit.
    pub lines: Vec<FeeLineIn>,
}

/// Which unsettled lines a 2205/2302 withdraws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeeSelection {
    /// Every unsettled line of the visit (`"0000"`).
    All,
    /// One 收费批次 (2205 `chrg_bchno`).
    Batch(String),
    /// One line (2302 `feedetl_sn`).
    Line(String),
}

/// 2205 / 2302 input.
#[derive(Debug, Clone)]
pub struct CancelFees {
    /// Which visit chain (2205 outpatient, 2302 inpatient).
    pub kind: VisitKind,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// Which lines.
    pub selection: FeeSelection,
}

/// What the hospital declares it computed (2207/2304), compared with the platform's own split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredSplit {
    /// `fulamt_ownpay_amt`, fen.
    pub fulamt_ownpay_fen: i64,
    /// `overlmt_selfpay`, fen.
    pub overlmt_selfpay_fen: i64,
    /// `preselfpay_amt`, fen.
    pub preselfpay_fen: i64,
    /// `inscp_scp_amt`, fen.
    pub inscp_scp_fen: i64,
}

/// 2206/2207/2303/2304 input (`data`).
#[derive(Debug, Clone)]
pub struct Settle {
    /// Which visit chain (2206/2207 outpatient, 2303/2304 inpatient).
    pub kind: VisitKind,
    /// Pre-settlement (2206/2303): compute, answer, change nothing.
    pub pre: bool,
    /// `psn_no`.
    pub psn_no: String,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `insutype`.
    pub insutype: String,
    /// `med_type`; empty takes the visit's.
    pub med_type: String,
    /// `medfee_sumamt` as sent; must equal the sum of the lines settled.
    pub medfee_sumamt_fen: i64,
    /// `acct_used_flag`: whether (and whose) personal accounts pay; absent (inpatient) is
    /// not used.
    pub acct_used_flag: AcctUsedFlag,
    /// `chrg_bchno`; empty (inpatient) settles every unsettled line of the visit.
    pub chrg_bchno: String,
    /// `psn_setlway`.
    pub psn_setlway: String,
    /// `invono`; empty when not sent.
    pub invono: String,
    /// `mid_setl_flag` (inpatient: `1` settles before discharge).
    pub mid_setl_flag: bool,
    /// `mdtrt_cert_type`.
    pub mdtrt_cert_type: String,
    /// `mdtrt_cert_no`, when sent.
    pub mdtrt_cert_no: Option<String>,
    /// `dscgTime` (inpatient), when sent.
    pub dscg_time: Option<NaiveDate>,
    /// The split the hospital declares (2207/2304, all four amounts sent). The settlement
    /// follows the store's classification of the uploaded lines; the server describes any
    /// difference to the hospital.
    pub declared: Option<DeclaredSplit>,
    /// What a severity-1 audit finding on the bill does (the region's choice; the server sets
    /// it from its region file).
    pub audit_gate: crate::audit::AuditGate,
}

/// 2208 / 2305 input (`data`).
#[derive(Debug, Clone)]
pub struct ReverseSettlement {
    /// Which visit chain (2208 outpatient, 2305 inpatient).
    pub kind: VisitKind,
    /// The visit.
    pub visit: VisitRef,
    /// `setl_id` of the settlement to reverse.
    pub setl_id: String,
}

/// 2401 input (`mdtrtinfo` + `diseinfo[]`).
#[derive(Debug, Clone)]
pub struct Admit {
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`.
    pub insutype: String,
    /// `begntime`.
    pub begntime: NaiveDateTime,
    /// `mdtrt_cert_type`.
    pub mdtrt_cert_type: String,
    /// `mdtrt_cert_no`; empty when not sent.
    pub mdtrt_cert_no: String,
    /// `med_type` (`21`, `22`, `24`, ...).
    pub med_type: String,
    /// `ipt_no`.
    pub ipt_no: String,
    /// `atddr_no`; empty when not sent.
    pub atddr_no: String,
    /// `chfpdr_name`; empty when not sent.
    pub chfpdr_name: String,
    /// `adm_dept_codg`.
    pub adm_dept_codg: String,
    /// `adm_dept_name`.
    pub adm_dept_name: String,
    /// `dscg_maindiag_code`.
    pub dscg_maindiag_code: String,
    /// `dscg_maindiag_name`.
    pub dscg_maindiag_name: String,
    /// `adm_diag_dscr` (入院诊断描述), kept as the visit's `main_cond_dscr`; empty when not sent.
    pub main_cond_dscr: String,
    /// `adm_bed`, when sent.
    pub adm_bed: Option<String>,
    /// `diseinfo[]`.
    pub diagnoses: Vec<Diagnosis>,
    /// A transfer in from another hospital (转院住院: `exp_content` `IPT_TYPE` 3); a policy may
    /// exempt its deductible.
    pub transfer_in: bool,
}

/// 2402 input (`dscginfo` + `diseinfo[]`).
#[derive(Debug, Clone)]
pub struct Discharge {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`.
    pub insutype: String,
    /// `endtime`.
    pub endtime: NaiveDateTime,
    /// `dscg_dept_codg`.
    pub dscg_dept_codg: String,
    /// `dscg_dept_name`.
    pub dscg_dept_name: String,
    /// `dscg_way`.
    pub dscg_way: String,
    /// `die_date`, when sent.
    pub die_date: Option<NaiveDate>,
    /// The maternity facts of `dscginfo` (delivery type, weeks, babies …): when any is sent they
    /// replace the stay's, which the settlement and the maternity allowance read.
    pub maternity: Maternity,
    /// `diseinfo[]`.
    pub diagnoses: Vec<Diagnosis>,
}

/// 2403 input (`adminfo` + `diseinfo[]`); a field left empty keeps its value.
#[derive(Debug, Clone)]
pub struct UpdateAdmission {
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `insutype`, when sent.
    pub insutype: Option<String>,
    /// `begntime`.
    pub begntime: NaiveDateTime,
    /// `mdtrt_cert_type`.
    pub mdtrt_cert_type: String,
    /// `mdtrt_cert_no`, when sent.
    pub mdtrt_cert_no: Option<String>,
    /// `med_type`.
    pub med_type: String,
    /// `ipt_no` (or `ipt_otp_no`).
    pub ipt_no: String,
    /// `atddr_no`, when sent.
    pub atddr_no: Option<String>,
    /// `chfpdr_name`, when sent.
    pub chfpdr_name: Option<String>,
    /// `adm_dept_codg`.
    pub adm_dept_codg: String,
    /// `adm_dept_name`.
    pub adm_dept_name: String,
    /// `adm_bed`, when sent.
    pub adm_bed: Option<String>,
    /// `dscg_maindiag_code`.
    pub dscg_maindiag_code: String,
    /// `dscg_maindiag_name`.
    pub dscg_maindiag_name: String,
    /// `adm_diag_dscr`, kept as the visit's `main_cond_dscr`; empty keeps it.
    pub main_cond_dscr: String,
    /// `diseinfo[]`: matched by sort number (exists → update, else insert).
    pub diagnoses: Vec<Diagnosis>,
}

/// 2601 input (`data`).
#[derive(Debug, Clone)]
pub struct Revoke {
    /// `psn_no`.
    pub psn_no: String,
    /// `omsgid`: the message to undo.
    pub omsgid: String,
    /// `oinfno`: its transaction code.
    pub oinfno: String,
}

/// What a command did; the server renders it into the interface's output nodes.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// 9001: `signinoutb`.
    SignedIn {
        /// `sign_no`.
        sign_no: String,
        /// `sign_time`.
        sign_time: NaiveDateTime,
    },
    /// 9002: `signoutoutb`.
    SignedOut {
        /// `sign_time`.
        sign_time: NaiveDateTime,
    },
    /// 2201 (`data`) and 2401 (`result`).
    VisitOpened {
        /// `mdtrt_id`.
        mdtrt_id: String,
        /// `psn_no`.
        psn_no: String,
        /// `ipt_otp_no`.
        ipt_otp_no: String,
    },
    /// Transactions without output (2202, 2203, 2205, 2302, 2402–2405): `output` is null.
    Done,
    /// 2204 / 2301: `result[]`.
    FeesUploaded(Vec<FeeLineResult>),
    /// 2206/2207/2303/2304/2208/2305: `setlinfo` + `setldetail[]`.
    Settled(Box<SettlementView>),
    /// 2601: what was undone.
    Revoked(RevokeResult),
    /// 4101A: the stored list version and its DRG group.
    SetlListStored(Box<crate::setl_list::SetlListStored>),
    /// 3101/3102: `result[]`, the findings as recorded.
    AuditResults(Vec<crate::audit::AuditResult>),
}

/// What a 2601 found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeResult {
    /// The original never reached the store; it is now barred (an idempotency row of kind
    /// `barred` under its msgid refuses it when it arrives).
    NothingToUndo,
    /// A settlement was reversed by the new settlement `reversal_setl_id`.
    SettlementReversed {
        /// The reversal's `setl_id`.
        reversal_setl_id: String,
    },
    /// A registration or admission was cancelled.
    VisitCancelled {
        /// Its `mdtrt_id`.
        mdtrt_id: String,
    },
    /// Uploaded fee lines were deleted.
    FeesDeleted {
        /// How many lines.
        n_lines: i64,
    },
    /// The original had no lasting effect (a query or a pre-settlement).
    NoEffect,
}

/// One classified fee line (2204/2301 `result[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLineResult {
    /// `feedetl_sn`.
    pub feedetl_sn: String,
    /// `det_item_fee_sumamt` (fen).
    pub det_item_fee_sumamt_fen: i64,
    /// `cnt` (1/10000).
    pub cnt_e4: i64,
    /// `pric` (micro-yuan).
    pub pric_micro: i64,
    /// `pric_uplmt_amt` (micro-yuan), when the catalogue has a cap.
    pub pric_uplmt_micro: Option<i64>,
    /// `selfpay_prop` (millionths).
    pub selfpay_prop_ppm: i64,
    /// `fulamt_ownpay_amt` (fen).
    pub fulamt_ownpay_fen: i64,
    /// `overlmt_amt` (fen).
    pub overlmt_selfpay_fen: i64,
    /// `preselfpay_amt` (fen).
    pub preselfpay_fen: i64,
    /// `inscp_scp_amt` (fen).
    pub inscp_scp_fen: i64,
    /// `chrgitm_lv` (`01`/`02`/`03`; `03` when not in the catalogue).
    pub chrgitm_lv: String,
    /// `med_chrgitm_type`.
    pub med_chrgitm_type: String,
    /// `lmt_used_flag`.
    pub lmt_used_flag: String,
    /// Why the line was classified so (goes into `memo`).
    pub memo: String,
}

/// One payer bucket of a settlement (`setldetail[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundPayment {
    /// `fund_pay_type` (`310100`, `310200`, `390200`, `610100`, ...).
    pub fund_pay_type: String,
    /// `fund_payamt` (fen; negative on a reversal).
    pub fund_payamt_fen: i64,
}

/// A settlement, pre-settlement or reversal as stored (and as answered by 2206/2207/2208/
/// 2303/2304/2305/5203).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettlementView {
    /// `setl_id`; empty for a pre-settlement.
    pub setl_id: String,
    /// The original `setl_id` when this is a reversal.
    pub orig_setl_id: Option<String>,
    /// `refd_setl_flag`: 1 once reversed.
    pub refd_setl_flag: bool,
    /// `mdtrt_id`.
    pub mdtrt_id: String,
    /// `psn_no`.
    pub psn_no: String,
    /// `psn_name`.
    pub psn_name: String,
    /// `psn_cert_type` (`01` resident id).
    pub psn_cert_type: String,
    /// `certno`.
    pub certno: String,
    /// `gend`.
    pub gend: String,
    /// `naty`.
    pub naty: String,
    /// `brdy`.
    pub brdy: String,
    /// `age` in whole years at settlement.
    pub age_years: i64,
    /// `insutype`.
    pub insutype: String,
    /// `psn_type`.
    pub psn_type: String,
    /// `cvlserv_flag`.
    pub cvlserv_flag: String,
    /// `setl_time`.
    pub setl_time: NaiveDateTime,
    /// `mdtrt_cert_type`.
    pub mdtrt_cert_type: String,
    /// `med_type`.
    pub med_type: String,
    /// `clr_type` (`11` outpatient, `21` inpatient, `41` pharmacy).
    pub clr_type: String,
    /// `clr_optins` / `insu_admdvs`: the insured region.
    pub insuplc_admdvs: String,
    /// The visit region.
    pub mdtrtarea_admvs: String,
    /// The institution.
    pub fixmedins_code: String,
    /// Its name.
    pub fixmedins_name: String,
    /// Its grade (`hosp_lv`).
    pub hosp_lv: String,
    /// Its settlement level (`hi_setl_lv`).
    pub hi_setl_lv: String,
    /// `medins_setl_id`: the msgid of the request that made this record.
    pub medins_setl_id: String,
    /// `invono`.
    pub invono: String,
    /// `dise_codg` of the visit.
    pub dise_codg: String,
    /// `begndate` of the visit.
    pub begndate: String,
    /// `enddate` of the visit (settlement date while in hospital).
    pub enddate: String,
    /// The `setlinfo` amounts (negated on a reversal; `balc` is the own account balance after
    /// this record).
    pub amounts: SetlAmounts,
    /// `setldetail[]`.
    pub detail: Vec<FundPayment>,
    /// `setl_proc_info`: the engine's compact trace.
    pub setl_proc_info: String,
}

impl SettlementView {
    /// `setl_type`: `1` a settlement, `2` a reversal.
    pub fn setl_type(&self) -> &'static str {
        if self.orig_setl_id.is_some() {
            "2"
        } else {
            "1"
        }
    }
}

/// The answer to a command.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The command ran now; `response` is what the renderer made of the outcome and what a
    /// replay will get.
    Fresh {
        /// What it did.
        outcome: Outcome,
        /// The stored response text.
        response: String,
    },
    /// The same msgid with the same content was already answered: the stored response, nothing
    /// was executed or written.
    Replayed {
        /// The stored response text.
        response: String,
    },
}

impl Reply {
    /// The response text to send.
    pub fn response(&self) -> &str {
        match self {
            Reply::Fresh { response, .. } | Reply::Replayed { response } => response,
        }
    }
}
