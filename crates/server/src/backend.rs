//! The boundary between the interface and the database: parsed commands in, typed outcomes out.
//!
//! The server never sends SQL. Every transaction becomes one [`Command`] (parsed, checked, amounts
//! in fen) executed by a [`Backend`] for the authenticated institution; the outcome is rendered
//! into the §4 output nodes by the server. `yibao-store`'s `Store` is the production backend
//! (see `store_backend.rs`). Domain values here are plain data and do not derive `Serialize`:
//! the wire format lives only in `wire/`.

use std::future::Future;

use chrono::{NaiveDate, NaiveDateTime};

use crate::infno::Infno;

/// Who sent a message and when: passed with every command.
#[derive(Debug, Clone)]
pub struct Meta {
    /// The authenticated institution (the envelope's `fixmedins_code`, checked against the keys).
    pub fixmedins_code: String,
    /// The sender's message id, the idempotency key per institution.
    pub msgid: String,
    /// The transaction.
    pub infno: Infno,
    /// [`Command::fingerprint`]: equal exactly when a replay has the same content.
    pub fingerprint: [u8; 32],
    /// The request time (Beijing time), read once by the server when the request arrived.
    pub at: NaiveDateTime,
    /// 就医地医保区划: the calling institution's region (a different one in the envelope is
    /// refused); the envelope's only for an institution the server does not know (no gateway).
    pub mdtrtarea_admvs: Option<String>,
    /// 参保地医保区划 from the envelope, when sent.
    pub insuplc_admdvs: Option<String>,
    /// The operator code, when sent.
    pub opter: Option<String>,
    /// The operator name, when sent.
    pub opter_name: Option<String>,
}

/// One institution's gateway credentials as the backend stores them.
#[derive(Debug, Clone)]
pub struct InstitutionKey {
    /// 定点医药机构编号.
    pub fixmedins_code: String,
    /// The access key (AK).
    pub access_key: String,
    /// The secret key (SK).
    pub secret_key: String,
    /// Whether the institution may currently settle.
    pub active: bool,
    /// The institution's region (医保区划): every message it sends is for care here
    /// (`mdtrtarea_admvs`).
    pub admdvs: String,
}

/// Why a backend refused or failed a command.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Bad input or a refused business rule, naming the field (sent to the client).
    #[error("{field}: {reason}")]
    User {
        /// The field as the client sees it (`input.data.setl_id`, `msgid`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Anything else (logged, never sent).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Turns an outcome into the output JSON text of its transaction, so a backend can keep the
/// exact answer with the effect in one database transaction and return it on a replay.
pub type Render<'a> = &'a (dyn Fn(&Outcome) -> String + Send + Sync);

/// What the server needs from a database.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The credentials of every institution, read once at startup.
    fn institutions(
        &self,
    ) -> impl Future<Output = Result<Vec<InstitutionKey>, BackendError>> + Send;

    /// Whether `sign_no` is a sign-in (9001) of `fixmedins_code` made on `date` and not signed
    /// out (9002).
    fn sign_in_valid(
        &self,
        fixmedins_code: &str,
        sign_no: &str,
        date: NaiveDate,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Executes one command for `meta.fixmedins_code`. For a transaction that writes (all but
    /// the queries 1101, 3201, 4103, 5203, 5206, 5301): a second call with the same `(fixmedins_code, msgid)` and fingerprint
    /// writes nothing and returns the first answer (possibly as [`Outcome::Rendered`]); with a
    /// different fingerprint it is a user error naming `msgid`.
    fn execute(
        &self,
        meta: &Meta,
        command: Command,
        render: Render<'_>,
    ) -> impl Future<Output = Result<Outcome, BackendError>> + Send;
}

/// Outpatient (门诊) or inpatient (住院): the two halves of the visit chain share commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// 门诊 (2201–2208).
    Outpatient,
    /// 住院 (2301–2305, 2401–2405).
    Inpatient,
}

/// One transaction's parsed request.
#[derive(Debug, Clone)]
pub enum Command {
    /// 9001 签到.
    SignIn {
        /// 操作员编号.
        opter_no: String,
        /// 签到MAC地址.
        mac: String,
        /// 签到IP地址.
        ip: String,
    },
    /// 9002 签退.
    SignOut {
        /// 签到编号.
        sign_no: String,
        /// 操作员编号.
        opter_no: String,
    },
    /// 1101 人员信息获取.
    PersonInfo(PersonQuery),
    /// 2201 门诊挂号.
    Register(Registration),
    /// 2202 门诊挂号撤销.
    CancelRegistration(VisitRef),
    /// 2203/2203A 门诊就诊信息上传.
    VisitInfo(VisitInfo),
    /// 2204/2301 费用明细上传.
    UploadFees {
        /// Which visit chain.
        setting: Setting,
        /// The lines, at most [`crate::limits::FEE_LINES_PER_UPLOAD_MAX`].
        lines: Vec<FeeLine>,
    },
    /// 2205/2302 费用明细撤销.
    CancelFees {
        /// Which visit chain.
        setting: Setting,
        /// The visit.
        visit: VisitRef,
        /// Which lines.
        selection: FeeSelection,
    },
    /// 2206/2207/2303/2304 (pre-)settlement.
    Settle(SettleRequest),
    /// 2208/2305 结算撤销.
    ReverseSettlement {
        /// Which visit chain.
        setting: Setting,
        /// The settlement to reverse (结算ID).
        setl_id: String,
        /// The visit.
        visit: VisitRef,
    },
    /// 2401 入院办理.
    Admit(Admission),
    /// 2402 出院办理.
    Discharge(Discharge),
    /// 2403 入院信息变更.
    ChangeAdmission(Admission),
    /// 2404 入院撤销.
    CancelAdmission(VisitRef),
    /// 2405 出院撤销.
    UndoDischarge(VisitRef),
    /// 2601 冲正交易.
    Revoke {
        /// 人员编号.
        psn_no: String,
        /// The original message id.
        omsgid: String,
        /// The original transaction.
        oinfno: Infno,
    },
    /// 3201 医药机构费用结算对总账.
    Reconcile(ReconcileRequest),
    /// 5203 结算信息查询.
    QuerySettlement {
        /// 结算ID.
        setl_id: String,
        /// The visit.
        visit: VisitRef,
    },
    /// 5206 人员累计信息查询.
    QueryCumulative {
        /// 人员编号.
        psn_no: String,
        /// 累计年月 `yyyyMM` (a valid month), when sent: that month only; else the current year
        /// month by month.
        cum_ym: Option<String>,
    },
    /// 5301 人员慢特病备案查询.
    QueryChronicRecognitions {
        /// 人员编号.
        psn_no: String,
    },
    /// 4101/4101A 结算清单信息上传 (the list is a record the store keeps as sent).
    UploadSetlList(Box<yibao_store::SetlListUpload>),
    /// 4103 结算清单信息查询: the calling institution's own lists with their groups.
    QuerySetlLists(yibao_store::SetlListQuery),
}

impl Command {
    /// SHA-256 of the transaction code and the parsed command: two messages with the same
    /// `msgid` are "the same content" exactly when this agrees. Being taken after parsing, it
    /// does not see what the tolerances of §3A make equal (key order, whitespace, `2505.45` sent
    /// as a number or a string, `""` for absent, `input` as an object or a string, ignored keys),
    /// and it sees every value the command carries.
    pub fn fingerprint(&self, infno: Infno) -> [u8; 32] {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        /// Feeds formatted text into the hash without building it in memory first.
        struct Hashing(sha2::Sha256);
        impl std::fmt::Write for Hashing {
            fn write_str(&mut self, text: &str) -> std::fmt::Result {
                self.0.update(text.as_bytes());
                Ok(())
            }
        }
        let mut hashing = Hashing(sha2::Sha256::new());
        // The derived `Debug` writes every field of the command, by name and in declaration
        // order, with exact integers for amounts: a canonical text of the parsed message.
        // Writing into a hash cannot fail.
        let _ = write!(hashing, "{}\n{self:?}", infno.code());
        hashing.0.finalize().into()
    }
}

/// A visit named by the hospital: every visit command carries both ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRef {
    /// 就诊ID.
    pub mdtrt_id: String,
    /// 人员编号.
    pub psn_no: String,
    /// 住院/门诊号, when sent.
    pub ipt_otp_no: Option<String>,
}

/// 1101 query: by credential (就诊凭证), by identity document or by person number.
#[derive(Debug, Clone)]
pub struct PersonQuery {
    /// 就诊凭证类型 (`01` e-credential, `02` id card, `03` social security card); may be absent
    /// when `certno` or `psn_no` identifies the person (spec §6 V6).
    pub mdtrt_cert_type: Option<String>,
    /// 就诊凭证编号: the e-voucher token (`01`), the resident id (`02`) or the card number (`03`);
    /// read only with its type.
    pub mdtrt_cert_no: Option<String>,
    /// 卡识别码 of a social security card (`03`), when sent.
    pub card_sn: Option<String>,
    /// 人员编号, when sent (not in 表7, but clients that have it send it).
    pub psn_no: Option<String>,
    /// 人员证件类型.
    pub psn_cert_type: Option<String>,
    /// 证件号码.
    pub certno: Option<String>,
    /// 人员姓名.
    pub psn_name: Option<String>,
    /// 开始时间 (history as of), when sent.
    pub begntime: Option<NaiveDateTime>,
}

/// 2201 registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// 人员编号.
    pub psn_no: String,
    /// 险种类型.
    pub insutype: String,
    /// 开始时间.
    pub begntime: NaiveDateTime,
    /// 就诊凭证类型.
    pub mdtrt_cert_type: String,
    /// 就诊凭证编号.
    pub mdtrt_cert_no: String,
    /// 住院/门诊号.
    pub ipt_otp_no: String,
    /// 医师编码.
    pub atddr_no: Option<String>,
    /// 医师姓名.
    pub dr_name: Option<String>,
    /// 科室编码.
    pub dept_code: String,
    /// 科室名称.
    pub dept_name: String,
    /// 科别.
    pub caty: String,
    /// 转诊: `exp_content` `OTP_ER_REFL_FLAG` is 2 (转诊) or 3 (转诊合并急诊).
    pub referral: bool,
}

/// One diagnosis (诊断信息).
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// 诊断类别.
    pub diag_type: String,
    /// 诊断排序号.
    pub diag_srt_no: i64,
    /// 诊断代码.
    pub diag_code: String,
    /// 诊断名称.
    pub diag_name: String,
    /// 主诊断标志, when sent.
    pub maindiag_flag: Option<bool>,
    /// 诊断科室.
    pub diag_dept: Option<String>,
    /// 诊断医生编码.
    pub dise_dor_no: Option<String>,
    /// 诊断医生姓名.
    pub dise_dor_name: Option<String>,
    /// 诊断时间.
    pub diag_time: Option<NaiveDateTime>,
    /// 有效标志 (`vali_flag`; false withdraws the diagnosis).
    pub valid: bool,
}

/// 2203 visit information.
#[derive(Debug, Clone)]
pub struct VisitInfo {
    /// The visit.
    pub visit: VisitRef,
    /// 医疗类别.
    pub med_type: String,
    /// 开始时间.
    pub begntime: NaiveDateTime,
    /// 主要病情描述.
    pub main_cond_dscr: Option<String>,
    /// 病种编码.
    pub dise_codg: Option<String>,
    /// 病种名称.
    pub dise_name: Option<String>,
    /// The maternity facts (2203A; `birctrl_*` also in 2203), checked field by field.
    pub maternity: yibao_store::Maternity,
    /// 诊断信息.
    pub diagnoses: Vec<Diagnosis>,
}

/// One fee line (费用明细) of 2204 or 2301.
#[derive(Debug, Clone)]
pub struct FeeLine {
    /// 费用明细流水号, unique within the visit.
    pub feedetl_sn: String,
    /// 原费用流水号 (a refund line names the line it refunds; 2301 only).
    pub init_feedetl_sn: Option<String>,
    /// The visit.
    pub mdtrt_id: String,
    /// 人员编号.
    pub psn_no: String,
    /// 收费批次号 (2204).
    pub chrg_bchno: Option<String>,
    /// 医疗类别 (2301).
    pub med_type: Option<String>,
    /// 病种编码.
    pub dise_codg: Option<String>,
    /// 处方号 / 医嘱号.
    pub rxno: Option<String>,
    /// 外购处方标志.
    pub rx_circ_flag: Option<String>,
    /// 费用发生时间.
    pub fee_ocur_time: NaiveDateTime,
    /// 医疗目录编码.
    pub med_list_codg: String,
    /// 医药机构目录编码.
    pub medins_list_codg: String,
    /// 明细项目费用总额, fen.
    pub det_item_fee_sumamt_fen: i64,
    /// 数量, ten-thousandths.
    pub cnt_e4: i64,
    /// 单价, millionths of a yuan.
    pub pric_e6: i64,
    /// 开单科室编码.
    pub bilg_dept_codg: String,
    /// 开单科室名称.
    pub bilg_dept_name: String,
    /// 开单医生编码.
    pub bilg_dr_codg: String,
    /// 开单医师姓名.
    pub bilg_dr_name: String,
    /// 医院审批标志 (`0`, `1`, `2`): required in 2204; a 2301 line without it is `0`, never
    /// taken as approved.
    pub hosp_appr_flag: String,
    /// 出院带药标志.
    pub dscg_tkdrug_flag: Option<String>,
    /// 生育费用标志.
    pub matn_fee_flag: Option<String>,
    /// 备注.
    pub memo: Option<String>,
}

/// Which unsettled lines a 2205/2302 withdraws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeeSelection {
    /// Every unsettled line of the visit (`"0000"`).
    All,
    /// One 收费批次 (2205).
    Batch(String),
    /// One line (2302).
    Line(String),
}

/// 个人账户使用标志 `acct_used_flag`: whether (and whose) personal accounts pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountUse {
    /// `0`: cash only.
    None,
    /// `1`: the person's own account.
    Own,
    /// `2`: the own account, then the bound family accounts (使用共济人个账, 共济).
    OwnThenFamily,
}

impl AccountUse {
    /// The dictionary code.
    pub fn code(self) -> &'static str {
        match self {
            AccountUse::None => "0",
            AccountUse::Own => "1",
            AccountUse::OwnThenFamily => "2",
        }
    }
}

/// What the hospital declares it computed (2207/2304), checked against the platform's own split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredSplit {
    /// 全自费金额, fen.
    pub fulamt_ownpay_fen: i64,
    /// 超限价金额, fen.
    pub overlmt_selfpay_fen: i64,
    /// 先行自付金额, fen.
    pub preselfpay_fen: i64,
    /// 符合政策范围金额, fen.
    pub inscp_scp_fen: i64,
}

/// 2206/2207/2303/2304.
#[derive(Debug, Clone)]
pub struct SettleRequest {
    /// Which visit chain.
    pub setting: Setting,
    /// False for a pre-settlement (预结算): computed, nothing written.
    pub commit: bool,
    /// The visit.
    pub visit: VisitRef,
    /// 就诊凭证类型.
    pub mdtrt_cert_type: String,
    /// 就诊凭证编号.
    pub mdtrt_cert_no: Option<String>,
    /// 医疗类别 (outpatient; inpatient takes the admission's).
    pub med_type: Option<String>,
    /// 医疗费总额, fen: must equal the uploaded lines' total.
    pub medfee_sumamt_fen: i64,
    /// 个人结算方式.
    pub psn_setlway: String,
    /// 收费批次号 (outpatient).
    pub chrg_bchno: Option<String>,
    /// 个人账户使用标志.
    pub account_use: AccountUse,
    /// 险种类型.
    pub insutype: String,
    /// 发票号.
    pub invono: Option<String>,
    /// 中途结算标志 (inpatient).
    pub mid_setl: bool,
    /// 出院时间 (inpatient), when sent.
    pub dscg_time: Option<NaiveDate>,
    /// The hospital's own split, when sent (2207/2304).
    pub declared: Option<DeclaredSplit>,
}

/// 2401 admission / 2403 change.
#[derive(Debug, Clone)]
pub struct Admission {
    /// 就诊ID (2403 only; 2401 gets a new one).
    pub mdtrt_id: Option<String>,
    /// 人员编号.
    pub psn_no: String,
    /// 险种类型 (2401).
    pub insutype: Option<String>,
    /// 开始时间 (入院时间).
    pub begntime: NaiveDateTime,
    /// 就诊凭证类型.
    pub mdtrt_cert_type: String,
    /// 就诊凭证编号, when sent.
    pub mdtrt_cert_no: Option<String>,
    /// 医疗类别.
    pub med_type: String,
    /// 住院号.
    pub ipt_no: String,
    /// 主治医生编码.
    pub atddr_no: Option<String>,
    /// 主诊医师姓名.
    pub chfpdr_name: Option<String>,
    /// 入院诊断描述.
    pub adm_diag_dscr: Option<String>,
    /// 入院科室编码.
    pub adm_dept_codg: String,
    /// 入院科室名称.
    pub adm_dept_name: String,
    /// 入院床位.
    pub adm_bed: Option<String>,
    /// 住院主诊断代码.
    pub dscg_maindiag_code: String,
    /// 住院主诊断名称.
    pub dscg_maindiag_name: String,
    /// 诊断信息.
    pub diagnoses: Vec<Diagnosis>,
    /// 转院住院: `exp_content` `IPT_TYPE` is 3 (2401; false for 2403).
    pub transfer_in: bool,
}

/// 2402 discharge.
#[derive(Debug, Clone)]
pub struct Discharge {
    /// The visit.
    pub visit: VisitRef,
    /// 险种类型.
    pub insutype: String,
    /// 结束时间 (出院时间).
    pub endtime: NaiveDateTime,
    /// 出院科室编码.
    pub dscg_dept_codg: String,
    /// 出院科室名称.
    pub dscg_dept_name: String,
    /// 离院方式.
    pub dscg_way: String,
    /// 死亡日期.
    pub die_date: Option<NaiveDate>,
    /// 出院诊断.
    pub diagnoses: Vec<Diagnosis>,
}

/// 3201 totals the hospital computed for one period.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    /// 险种.
    pub insutype: String,
    /// 清算类别.
    pub clr_type: String,
    /// 结算经办机构.
    pub setl_optins: String,
    /// 对账开始日期.
    pub stmt_begndate: NaiveDate,
    /// 对账结束日期 (inclusive).
    pub stmt_enddate: NaiveDate,
    /// 医疗费总额, fen.
    pub medfee_sumamt_fen: i64,
    /// 基金支付总额, fen.
    pub fund_pay_sumamt_fen: i64,
    /// 个人账户支付金额, fen.
    pub acct_pay_fen: i64,
    /// 定点医药机构结算笔数.
    pub fixmedins_setl_cnt: i64,
}

/// One transaction's result.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The output JSON text, already rendered: the backend stored it with the effect (and
    /// returns the same text on a replay).
    Rendered(String),
    /// 9001.
    SignedIn {
        /// 签到编号.
        sign_no: String,
        /// 签到时间.
        sign_time: NaiveDateTime,
    },
    /// 9002.
    SignedOut {
        /// 签退时间.
        sign_time: NaiveDateTime,
    },
    /// 1101.
    Person(PersonInfo),
    /// 2201 (and 2401: `ipt_otp_no` is the 住院号).
    Registered(VisitRef),
    /// A transaction without output.
    Done,
    /// 2204/2301: one result per uploaded line, in order.
    FeeResults(Vec<FeeLineResult>),
    /// 2206/2207/2208/2303/2304/2305/5203.
    Settlement(Box<Settlement>),
    /// 3201.
    Reconciliation {
        /// 结算经办机构.
        setl_optins: String,
        /// True when the hospital's totals agree with the ledger (对账结果 `0` 平).
        balanced: bool,
        /// 对账结果说明.
        description: String,
    },
    /// 5206.
    Cumulative(Vec<CumulativeEntry>),
    /// 5301: the recognitions in force on the day of the message.
    ChronicRecognitions(Vec<ChronicRecognition>),
    /// 4101/4101A: the stored list version and its DRG group.
    SetlListStored(Box<yibao_store::SetlListStored>),
    /// 4103: the institution's lists (latest versions) with their groups.
    SetlLists(Vec<yibao_store::SetlListView>),
}

/// 1101 output.
#[derive(Debug, Clone)]
pub struct PersonInfo {
    /// 人员编号.
    pub psn_no: String,
    /// 人员证件类型.
    pub psn_cert_type: String,
    /// 证件号码.
    pub certno: String,
    /// 人员姓名.
    pub psn_name: String,
    /// 性别.
    pub gend: String,
    /// 民族.
    pub naty: Option<String>,
    /// 出生日期.
    pub brdy: Option<NaiveDate>,
    /// 年龄 in tenths of a year (N 4,1).
    pub age_e1: i64,
    /// 参保信息.
    pub insurance: Vec<InsuranceRelation>,
    /// 身份信息.
    pub identities: Vec<Identity>,
}

/// One insurance relation (参保信息).
#[derive(Debug, Clone)]
pub struct InsuranceRelation {
    /// 余额 (personal account), fen.
    pub balc_fen: i64,
    /// 险种类型.
    pub insutype: String,
    /// 人员类别.
    pub psn_type: String,
    /// 人员参保状态.
    pub psn_insu_stas: String,
    /// 个人参保日期.
    pub psn_insu_date: Option<NaiveDate>,
    /// 暂停参保日期.
    pub paus_insu_date: Option<NaiveDate>,
    /// 公务员标志.
    pub cvlserv_flag: String,
    /// 参保地医保区划.
    pub insuplc_admdvs: String,
    /// 单位名称.
    pub emp_name: Option<String>,
}

/// One identity category (身份信息).
#[derive(Debug, Clone)]
pub struct Identity {
    /// 人员身份类别.
    pub psn_idet_type: String,
    /// 人员类别等级.
    pub psn_type_lv: Option<String>,
    /// 备注.
    pub memo: Option<String>,
    /// 开始时间.
    pub begntime: NaiveDateTime,
    /// 结束时间.
    pub endtime: Option<NaiveDateTime>,
}

/// 2204/2301 result for one line.
#[derive(Debug, Clone)]
pub struct FeeLineResult {
    /// 费用明细流水号.
    pub feedetl_sn: String,
    /// 明细项目费用总额, fen.
    pub det_item_fee_sumamt_fen: i64,
    /// 数量, ten-thousandths.
    pub cnt_e4: i64,
    /// 单价, millionths.
    pub pric_e6: i64,
    /// 定价上限金额, millionths.
    pub pric_uplmt_amt_e6: i64,
    /// 自付比例, ten-thousandths.
    pub selfpay_prop_e4: i64,
    /// 全自费金额, fen.
    pub fulamt_ownpay_amt_fen: i64,
    /// 超限价金额, fen.
    pub overlmt_amt_fen: i64,
    /// 先行自付金额, fen.
    pub preselfpay_amt_fen: i64,
    /// 符合政策范围金额, fen.
    pub inscp_scp_amt_fen: i64,
    /// 收费项目等级.
    pub chrgitm_lv: String,
    /// 医疗收费项目类别.
    pub med_chrgitm_type: String,
    /// 限制使用标志.
    pub lmt_used_flag: String,
    /// 基本药物标志.
    pub bas_medn_flag: Option<String>,
    /// 医保谈判药品标志.
    pub hi_nego_drug_flag: Option<String>,
    /// 备注.
    pub memo: Option<String>,
}

/// One payer bucket of a settlement (结算基金分项).
#[derive(Debug, Clone)]
pub struct FundDetail {
    /// 基金支付类型.
    pub fund_pay_type: String,
    /// 基金支付类型名称.
    pub fund_pay_type_name: String,
    /// 符合政策范围金额, fen.
    pub inscp_scp_amt_fen: i64,
    /// 本次可支付限额金额, fen.
    pub crt_payb_lmt_amt_fen: Option<i64>,
    /// 基金支付金额, fen.
    pub fund_payamt_fen: i64,
    /// 结算过程信息: the compact settlement trace.
    pub setl_proc_info: Option<String>,
}

/// A settlement's result (结算信息), amounts in fen; reversals carry negated amounts.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)] // Field names are the §4 names; see table 86.
pub struct Settlement {
    pub setl_id: Option<String>,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub psn_name: String,
    pub psn_cert_type: String,
    pub certno: String,
    pub gend: Option<String>,
    pub naty: Option<String>,
    pub brdy: Option<NaiveDate>,
    /// Age in tenths of a year.
    pub age_e1: i64,
    pub insutype: String,
    pub psn_type: String,
    pub cvlserv_flag: String,
    pub setl_time: Option<NaiveDateTime>,
    pub mdtrt_cert_type: Option<String>,
    pub med_type: String,
    /// The `setlinfo` amounts, in interface order.
    pub amounts: yibao_store::SetlAmounts,
    /// The request `msgid` of the settling (or reversing) message.
    pub medins_setl_id: String,
    pub clr_optins: Option<String>,
    pub clr_way: Option<String>,
    pub clr_type: String,
    /// 结算类别 (`1` settlement, `2` reversal).
    pub setl_type: Option<String>,
    /// Whether this settlement has been reversed (退费结算标志).
    pub refd_setl_flag: bool,
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    pub begndate: Option<NaiveDate>,
    pub enddate: Option<NaiveDate>,
    pub invono: Option<String>,
    pub details: Vec<FundDetail>,
}

/// 5301 one chronic or special outpatient disease recognition (门慢门特备案).
#[derive(Debug, Clone)]
pub struct ChronicRecognition {
    /// 门慢门特病种目录代码.
    pub opsp_dise_code: String,
    /// 门慢门特病种名称.
    pub opsp_dise_name: String,
    /// 开始日期.
    pub begndate: NaiveDate,
    /// 结束日期 (none when open-ended).
    pub enddate: Option<NaiveDate>,
}

/// 5206 one cumulative figure (累计信息).
#[derive(Debug, Clone)]
pub struct CumulativeEntry {
    /// 险种类型.
    pub insutype: String,
    /// 年度.
    pub year: String,
    /// 累计年月.
    pub cum_ym: String,
    /// 累计类别代码 (the national codes: `F0000_BIZ11`, `D310201`, …).
    pub cum_type_code: String,
    /// 累计值 in hundredths: fen for amounts, 100 per visit for counts.
    pub cum_e2: i64,
}
