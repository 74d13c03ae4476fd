//! Input nodes of spec §4, one serde struct per node, converted by hand into [`Request`]s: a
//! write straight into the store's [`Command`], a query into the server's own variants.
//!
//! Every field is lenient ([`Opt`]): presence, length and range are checked in the conversion,
//! so every refusal names its field. Keys not listed here (provincial additions, `exp_content`)
//! are ignored.

use inpatient::{AdmissionChangeInput, AdmitInput, DischargeInput};
use serde::Deserialize;

use chrono::NaiveDateTime;
use yibao_store::{
    AcctUsedFlag, Admit, CancelFees, Command, DeclaredSplit, Diagnosis, Discharge, FeeLineIn,
    FeeSelection, Maternity, ReconcileRequest, RegisterOutpatient, ReverseSettlement, Revoke,
    Settle, SignIn, SignOut, UpdateAdmission, UploadFees, UploadVisitInfo, VisitKind, VisitRef,
};

use crate::backend::{PersonQuery, Request};

use crate::envelope::RequestEnvelope;
use crate::error::AppError;
use crate::infno::Infno;
use crate::limits::{
    DIAGNOSES_PER_MESSAGE_MAX, FEE_LINES_PER_UPLOAD_MAX, PRICE_MAX_E6, QUANTITY_MAX_E4,
    SIGN_NO_CHARS_MAX, TEXT_CHARS_MAX,
};
use crate::wire::check::{
    amount, date, date_time, decimal, one_of, opt_amount, opt_date, opt_date_time, opt_digit_code,
    opt_flag, opt_text, rows_max, text,
};
use crate::wire::scalar::{
    Amount, Date, DateTime, Decimal, Node, Opt, Price, Quantity, Rows, Text,
};

/// Longest id (`psn_no`, `mdtrt_id`, `setl_id`, `feedetl_sn`, …): C 30.
const ID_CHARS_MAX: usize = 30;
/// Longest short code (`insutype`, `med_type`, …): C 6.
const CODE_CHARS_MAX: usize = 6;

/// Parses `envelope.input` for its transaction into a request.
pub fn request(envelope: &RequestEnvelope<'_>) -> Result<Request, AppError> {
    use Infno::*;
    let write = match envelope.infno {
        SignIn9001 => envelope.parse_input::<SignInInput>()?.into_command(),
        SignOut9002 => envelope.parse_input::<SignOutInput>()?.into_command(),
        PersonInfo1101 => {
            return envelope
                .parse_input::<DataInput<PersonQueryData>>()?
                .data
                .0
                .into_request()
        }
        Register2201 => envelope
            .parse_input::<DataInput<RegisterData>>()?
            .data
            .0
            .into_command(),
        CancelRegister2202 => {
            let data = envelope.parse_input::<DataInput<VisitData>>()?.data.0;
            Ok(Command::CancelRegistration(data.visit("data", true)?))
        }
        VisitInfo2203 | VisitInfo2203A => envelope
            .parse_input::<VisitInfoInput>()?
            .into_command(envelope.infno == VisitInfo2203),
        FeeUpload2204 => envelope
            .parse_input::<FeeInput>()?
            .into_command(VisitKind::Outpatient),
        InpatientFeeUpload2301 => envelope
            .parse_input::<FeeInput>()?
            .into_command(VisitKind::Inpatient),
        FeeCancel2205 => envelope
            .parse_input::<DataInput<FeeCancelData>>()?
            .data
            .0
            .into_command(VisitKind::Outpatient),
        InpatientFeeCancel2302 => {
            // 2302 specifies `data` as multi-row; one visit per message is what clients send.
            let rows = envelope.parse_input::<RowsInput<FeeCancelData>>()?.data.0;
            match <[FeeCancelData; 1]>::try_from(rows) {
                Ok([data]) => data.into_command(VisitKind::Inpatient),
                Err(rows) if rows.is_empty() => Err(AppError::required("input.data")),
                Err(_) => Err(AppError::field(
                    "input.data",
                    "withdraw one visit's lines per message",
                )),
            }
        }
        PreSettle2206 | PreSettle2206A => envelope
            .parse_input::<DataInput<SettleData>>()?
            .data
            .0
            .into_command(VisitKind::Outpatient, false),
        Settle2207 | Settle2207A => envelope
            .parse_input::<DataInput<SettleData>>()?
            .data
            .0
            .into_command(VisitKind::Outpatient, true),
        InpatientPreSettle2303 => envelope
            .parse_input::<DataInput<SettleData>>()?
            .data
            .0
            .into_command(VisitKind::Inpatient, false),
        InpatientSettle2304 => envelope
            .parse_input::<DataInput<SettleData>>()?
            .data
            .0
            .into_command(VisitKind::Inpatient, true),
        SettleReverse2208 | InpatientSettleReverse2305 => {
            let data = envelope.parse_input::<DataInput<VisitData>>()?.data.0;
            let kind = if envelope.infno == SettleReverse2208 {
                VisitKind::Outpatient
            } else {
                VisitKind::Inpatient
            };
            Ok(Command::ReverseSettlement(ReverseSettlement {
                kind,
                setl_id: text(&data.setl_id, "data", "setl_id", ID_CHARS_MAX)?,
                visit: data.visit("data", false)?,
            }))
        }
        Admit2401 => envelope.parse_input::<AdmitInput>()?.into_command(),
        Discharge2402 => envelope.parse_input::<DischargeInput>()?.into_command(),
        AdmissionChange2403 => envelope
            .parse_input::<AdmissionChangeInput>()?
            .into_command(),
        AdmissionCancel2404 => Ok(Command::CancelAdmission(
            envelope
                .parse_input::<DataInput<VisitData>>()?
                .data
                .0
                .visit("data", false)?,
        )),
        DischargeUndo2405 => Ok(Command::UndoDischarge(
            envelope
                .parse_input::<DataInput<VisitData>>()?
                .data
                .0
                .visit("data", false)?,
        )),
        Revoke2601 => envelope
            .parse_input::<DataInput<RevokeData>>()?
            .data
            .0
            .into_command(),
        Reconcile3201 => {
            return envelope
                .parse_input::<DataInput<ReconcileData>>()?
                .data
                .0
                .into_request()
        }
        SetlList4101 | SetlList4101A => crate::setl_list::upload_command(envelope),
        SetlListQuery4103 => return crate::setl_list::query_request(envelope),
        StmtDetail3202 | ClearingApply3203 | ClearingWithdraw3204 | FileUpload9101
        | FileDownload9102 => return crate::clearing::request(envelope),
        SetlListStatus4102 => return crate::setl_list_status::status_request(envelope),
        SetlListQc4104 => return crate::setl_list_status::qc_request(envelope),
        Stocktake3501 | StockChange3502 | Purchase3503 | PurchaseReturn3504 | Sale3505
        | SaleReturn3506 | InventoryDelete3507 => return crate::inventory::request(envelope),
        AuditBefore3101 => crate::audit::check_command(envelope, yibao_audit::Phase::Before),
        AuditDuring3102 => crate::audit::check_command(envelope, yibao_audit::Phase::During),
        AuditFeedback3103 => crate::audit::feedback_command(envelope),
        SettlementQuery5203 => {
            let data = envelope.parse_input::<DataInput<VisitData>>()?.data.0;
            return Ok(Request::QuerySettlement {
                setl_id: text(&data.setl_id, "data", "setl_id", ID_CHARS_MAX)?,
                visit: data.visit("data", false)?,
            });
        }
        Cumulative5206 => {
            let data = envelope.parse_input::<DataInput<CumulativeData>>()?.data.0;
            let cum_ym = opt_text(&data.cum_ym, "data", "cum_ym", 6)?;
            if let Some(ym) = &cum_ym {
                let month = ym.get(4..).and_then(|month| month.parse::<u32>().ok());
                if ym.len() != 6
                    || !ym.bytes().all(|b| b.is_ascii_digit())
                    || !month.is_some_and(|month| (1..=12).contains(&month))
                {
                    return Err(AppError::field(
                        "input.data.cum_ym",
                        format!("`{ym}` is not yyyyMM"),
                    ));
                }
            }
            return Ok(Request::QueryCumulative {
                psn_no: text(&data.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
                cum_ym,
            });
        }
        ChronicRecognition5301 => {
            let data = envelope.parse_input::<DataInput<PersonData>>()?.data.0;
            return Ok(Request::QueryChronicRecognitions {
                psn_no: text(&data.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
            });
        }
    };
    write.map(|command| Request::Write(Box::new(command)))
}

/// A `data` node that names a person only (5301).
#[derive(Deserialize, Default)]
#[serde(default)]
struct PersonData {
    psn_no: Opt<Text>,
}

/// `{"data": {…}}`, the most common input shape.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DataInput<T: Default> {
    data: Node<T>,
}

/// `{"data": [{…}]}` (or one object).
#[derive(Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de>"))]
struct RowsInput<T> {
    data: Rows<T>,
}

impl<T> Default for RowsInput<T> {
    fn default() -> Self {
        Self {
            data: Rows::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInInput {
    #[serde(rename = "signIn", alias = "signin")]
    sign_in: Node<SignInData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInData {
    opter_no: Opt<Text>,
    mac: Opt<Text>,
    ip: Opt<Text>,
}

impl SignInInput {
    fn into_command(self) -> Result<Command, AppError> {
        let data = self.sign_in.0;
        Ok(Command::SignIn(SignIn {
            opter_no: text(&data.opter_no, "signIn", "opter_no", 20)?,
            mac: text(&data.mac, "signIn", "mac", 20)?,
            ip: text(&data.ip, "signIn", "ip", 20)?,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignOutInput {
    #[serde(rename = "signOut", alias = "signout")]
    sign_out: Node<SignOutData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignOutData {
    sign_no: Opt<Text>,
    opter_no: Opt<Text>,
}

impl SignOutInput {
    fn into_command(self) -> Result<Command, AppError> {
        let data = self.sign_out.0;
        Ok(Command::SignOut(SignOut {
            sign_no: text(&data.sign_no, "signOut", "sign_no", SIGN_NO_CHARS_MAX)?,
            opter_no: text(&data.opter_no, "signOut", "opter_no", 20)?,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PersonQueryData {
    mdtrt_cert_type: Opt<Text>,
    psn_no: Opt<Text>,
    mdtrt_cert_no: Opt<Text>,
    card_sn: Opt<Text>,
    begntime: Opt<DateTime>,
    psn_cert_type: Opt<Text>,
    certno: Opt<Text>,
    psn_name: Opt<Text>,
}

impl PersonQueryData {
    fn into_request(self) -> Result<Request, AppError> {
        let mdtrt_cert_type = match self.mdtrt_cert_type.get() {
            Some(_) => Some(one_of(
                &self.mdtrt_cert_type,
                "data",
                "mdtrt_cert_type",
                &["01", "02", "03"],
            )?),
            None => None,
        };
        let query = PersonQuery {
            mdtrt_cert_no: opt_text(&self.mdtrt_cert_no, "data", "mdtrt_cert_no", 50)?,
            card_sn: opt_text(&self.card_sn, "data", "card_sn", 32)?,
            psn_no: opt_text(&self.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
            psn_cert_type: opt_text(&self.psn_cert_type, "data", "psn_cert_type", CODE_CHARS_MAX)?,
            certno: opt_text(&self.certno, "data", "certno", 50)?,
            psn_name: opt_text(&self.psn_name, "data", "psn_name", 50)?,
            begntime: opt_date_time(&self.begntime),
            mdtrt_cert_type,
        };
        // Real clients leave the credential number empty and send the id number in `certno`
        // (HN §1101), or send no credential at all (the spec's own example, §6 V6): a
        // credential, `certno` or `psn_no` must identify the person, and a credential number
        // means something only with its type.
        let by_document = query.certno.is_some() || query.psn_no.is_some();
        match (&query.mdtrt_cert_type, &query.mdtrt_cert_no) {
            (None, _) if !by_document => Err(AppError::required("input.data.mdtrt_cert_type")),
            (Some(_), None) if !by_document => Err(AppError::required("input.data.mdtrt_cert_no")),
            _ => Ok(Request::PersonInfo(query)),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterData {
    psn_no: Opt<Text>,
    insutype: Opt<Text>,
    begntime: Opt<DateTime>,
    mdtrt_cert_type: Opt<Text>,
    mdtrt_cert_no: Opt<Text>,
    ipt_otp_no: Opt<Text>,
    atddr_no: Opt<Text>,
    dr_name: Opt<Text>,
    dept_code: Opt<Text>,
    dept_name: Opt<Text>,
    caty: Opt<Text>,
    exp_content: Option<serde_json::Value>,
}

/// A key of `exp_content` (字段扩展): an object, or an object written as a JSON string; the
/// provinces put their extensions there, so anything else in it is ignored.
fn exp_content_key(exp_content: &Option<serde_json::Value>, key: &str) -> Option<String> {
    let parsed;
    let object = match exp_content.as_ref()? {
        serde_json::Value::Object(object) => object,
        serde_json::Value::String(text) => {
            parsed = serde_json::from_str::<serde_json::Value>(text).ok()?;
            parsed.as_object()?
        }
        _ => return None,
    };
    match object.get(key)? {
        serde_json::Value::String(value) => Some(value.clone()),
        serde_json::Value::Number(value) => Some(value.to_string()),
        _ => None,
    }
}

impl RegisterData {
    fn into_command(self) -> Result<Command, AppError> {
        Ok(Command::RegisterOutpatient(RegisterOutpatient {
            psn_no: text(&self.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
            insutype: text(&self.insutype, "data", "insutype", CODE_CHARS_MAX)?,
            begntime: date_time(&self.begntime, "data", "begntime")?,
            mdtrt_cert_type: one_of(
                &self.mdtrt_cert_type,
                "data",
                "mdtrt_cert_type",
                &["01", "02", "03"],
            )?,
            mdtrt_cert_no: text(&self.mdtrt_cert_no, "data", "mdtrt_cert_no", 50)?,
            ipt_otp_no: text(&self.ipt_otp_no, "data", "ipt_otp_no", ID_CHARS_MAX)?,
            atddr_no: opt_text(&self.atddr_no, "data", "atddr_no", ID_CHARS_MAX)?
                .unwrap_or_default(),
            dr_name: opt_text(&self.dr_name, "data", "dr_name", 50)?.unwrap_or_default(),
            dept_code: text(&self.dept_code, "data", "dept_code", ID_CHARS_MAX)?,
            dept_name: text(&self.dept_name, "data", "dept_name", 100)?,
            caty: text(&self.caty, "data", "caty", 10)?,
            referral: matches!(
                exp_content_key(&self.exp_content, "OTP_ER_REFL_FLAG").as_deref(),
                Some("2" | "3")
            ),
        }))
    }
}

/// The ids that name a visit and a settlement (2202, 2208, 2305, 2404, 2405, 5203).
#[derive(Deserialize, Default)]
#[serde(default)]
struct VisitData {
    psn_no: Opt<Text>,
    mdtrt_id: Opt<Text>,
    ipt_otp_no: Opt<Text>,
    setl_id: Opt<Text>,
}

impl VisitData {
    fn visit(&self, node: &str, ipt_otp_no_required: bool) -> Result<VisitRef, AppError> {
        let ipt_otp_no = if ipt_otp_no_required {
            Some(text(&self.ipt_otp_no, node, "ipt_otp_no", ID_CHARS_MAX)?)
        } else {
            opt_text(&self.ipt_otp_no, node, "ipt_otp_no", ID_CHARS_MAX)?
        };
        Ok(VisitRef {
            psn_no: text(&self.psn_no, node, "psn_no", ID_CHARS_MAX)?,
            mdtrt_id: text(&self.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
            ipt_otp_no,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DiagnosisData {
    diag_type: Opt<Text>,
    diag_srt_no: Opt<Decimal<0>>,
    diag_code: Opt<Text>,
    diag_name: Opt<Text>,
    maindiag_flag: Opt<Text>,
    diag_dept: Opt<Text>,
    dise_dor_no: Opt<Text>,
    dise_dor_name: Opt<Text>,
    diag_time: Opt<DateTime>,
    vali_flag: Opt<Text>,
}

fn diagnoses(rows: Rows<DiagnosisData>) -> Result<Vec<Diagnosis>, AppError> {
    rows_max(rows.0.len(), DIAGNOSES_PER_MESSAGE_MAX, "diseinfo")?;
    let mut out = Vec::with_capacity(rows.0.len());
    for (idx, row) in rows.0.into_iter().enumerate() {
        let node = format!("diseinfo[{idx}]");
        out.push(Diagnosis {
            diag_type: text(&row.diag_type, &node, "diag_type", 3)?,
            diag_srt_no: decimal(&row.diag_srt_no, 99, &node, "diag_srt_no", false)?,
            diag_code: text(&row.diag_code, &node, "diag_code", 20)?,
            diag_name: text(&row.diag_name, &node, "diag_name", 100)?,
            maindiag_flag: opt_flag(&row.maindiag_flag, &node, "maindiag_flag")?,
            diag_dept: opt_text(&row.diag_dept, &node, "diag_dept", 50)?.unwrap_or_default(),
            dise_dor_no: opt_text(&row.dise_dor_no, &node, "dise_dor_no", ID_CHARS_MAX)?
                .unwrap_or_default(),
            dise_dor_name: opt_text(&row.dise_dor_name, &node, "dise_dor_name", 50)?
                .unwrap_or_default(),
            diag_time: opt_date_time(&row.diag_time),
            valid: opt_flag(&row.vali_flag, &node, "vali_flag")?.unwrap_or(true),
        });
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VisitInfoInput {
    mdtrtinfo: Node<VisitInfoData>,
    diseinfo: Rows<DiagnosisData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VisitInfoData {
    mdtrt_id: Opt<Text>,
    psn_no: Opt<Text>,
    med_type: Opt<Text>,
    begntime: Opt<DateTime>,
    main_cond_dscr: Opt<Text>,
    dise_codg: Opt<Text>,
    dise_name: Opt<Text>,
    birctrl_type: Opt<Text>,
    birctrl_matn_date: Opt<Date>,
    matn_type: Opt<Text>,
    geso_val: Opt<Decimal<0>>,
    fetts: Opt<Decimal<0>>,
    fetus_cnt: Opt<Decimal<0>>,
    pret_flag: Opt<Text>,
    latechb_flag: Opt<Text>,
    cop_flag: Opt<Text>,
    fpsc_no: Opt<Text>,
}

/// 生育信息: the maternity fields of 2203/2203A `mdtrtinfo` and of 2402 `dscginfo`, borrowed
/// from either node (serde's `flatten` cannot carry the interface's scalar types).
struct MaternityData<'a> {
    birctrl_type: &'a Opt<Text>,
    birctrl_matn_date: &'a Opt<Date>,
    matn_type: &'a Opt<Text>,
    geso_val: &'a Opt<Decimal<0>>,
    fetts: &'a Opt<Decimal<0>>,
    fetus_cnt: &'a Opt<Decimal<0>>,
    pret_flag: &'a Opt<Text>,
    latechb_flag: &'a Opt<Text>,
    cop_flag: &'a Opt<Text>,
    fpsc_no: &'a Opt<Text>,
}

/// Borrows the maternity fields of a node that has them.
macro_rules! maternity_of {
    ($data:expr) => {
        MaternityData {
            birctrl_type: &$data.birctrl_type,
            birctrl_matn_date: &$data.birctrl_matn_date,
            matn_type: &$data.matn_type,
            geso_val: &$data.geso_val,
            fetts: &$data.fetts,
            fetus_cnt: &$data.fetus_cnt,
            pret_flag: &$data.pret_flag,
            latechb_flag: &$data.latechb_flag,
            cop_flag: &$data.cop_flag,
            fpsc_no: &$data.fpsc_no,
        }
    };
}

impl MaternityData<'_> {
    /// 生育信息 of `node` (表75, 2203A and 2402; the counts and flags as 5201 names them).
    fn maternity(&self, node: &str) -> Result<Maternity, AppError> {
        let count = |value: &Opt<Decimal<0>>, field: &str, min: i64, max: i64| match value.get() {
            None => Ok(None),
            Some(_) => {
                let count = decimal(value, max, node, field, false)?;
                if count < min {
                    return Err(AppError::field(
                        format!("input.{node}.{field}"),
                        format!("must be at least {min}"),
                    ));
                }
                Ok(Some(count))
            }
        };
        Ok(Maternity {
            matn_type: opt_digit_code(self.matn_type, node, "matn_type", Maternity::MATN_TYPES)?,
            birctrl_type: opt_digit_code(
                self.birctrl_type,
                node,
                "birctrl_type",
                Maternity::BIRCTRL_TYPES,
            )?,
            birctrl_matn_date: opt_date(self.birctrl_matn_date),
            geso_val: count(self.geso_val, "geso_val", 0, Maternity::GESO_VAL_MAX)?,
            fetts: count(self.fetts, "fetts", 1, Maternity::COUNT_MAX)?,
            fetus_cnt: count(self.fetus_cnt, "fetus_cnt", 1, Maternity::COUNT_MAX)?,
            pret_flag: opt_flag(self.pret_flag, node, "pret_flag")?,
            latechb_flag: opt_flag(self.latechb_flag, node, "latechb_flag")?,
            cop_flag: opt_flag(self.cop_flag, node, "cop_flag")?,
            fpsc_no: opt_text(self.fpsc_no, node, "fpsc_no", 50)?,
        })
    }
}

impl VisitInfoInput {
    fn into_command(self, disease_required: bool) -> Result<Command, AppError> {
        let data = self.mdtrtinfo.0;
        let node = "mdtrtinfo";
        let dise_codg = opt_text(&data.dise_codg, node, "dise_codg", ID_CHARS_MAX)?;
        if disease_required && dise_codg.is_none() {
            return Err(AppError::required("input.mdtrtinfo.dise_codg"));
        }
        Ok(Command::UploadVisitInfo(UploadVisitInfo {
            mdtrt_id: text(&data.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
            psn_no: text(&data.psn_no, node, "psn_no", ID_CHARS_MAX)?,
            med_type: text(&data.med_type, node, "med_type", CODE_CHARS_MAX)?,
            begntime: date_time(&data.begntime, node, "begntime")?,
            main_cond_dscr: opt_text(&data.main_cond_dscr, node, "main_cond_dscr", TEXT_CHARS_MAX)?
                .unwrap_or_default(),
            dise_codg: dise_codg.unwrap_or_default(),
            dise_name: opt_text(&data.dise_name, node, "dise_name", 500)?.unwrap_or_default(),
            maternity: maternity_of!(data).maternity(node)?,
            diagnoses: diagnoses(self.diseinfo)?,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FeeInput {
    feedetail: Rows<FeeLineData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FeeLineData {
    feedetl_sn: Opt<Text>,
    init_feedetl_sn: Opt<Text>,
    mdtrt_id: Opt<Text>,
    psn_no: Opt<Text>,
    chrg_bchno: Opt<Text>,
    med_type: Opt<Text>,
    dise_codg: Opt<Text>,
    rxno: Opt<Text>,
    drord_no: Opt<Text>,
    rx_circ_flag: Opt<Text>,
    fee_ocur_time: Opt<DateTime>,
    med_list_codg: Opt<Text>,
    medins_list_codg: Opt<Text>,
    det_item_fee_sumamt: Opt<Amount>,
    cnt: Opt<Quantity>,
    pric: Opt<Price>,
    bilg_dept_codg: Opt<Text>,
    bilg_dept_name: Opt<Text>,
    bilg_dr_codg: Opt<Text>,
    bilg_dr_name: Opt<Text>,
    hosp_appr_flag: Opt<Text>,
    dscg_tkdrug_flag: Opt<Text>,
    matn_fee_flag: Opt<Text>,
    memo: Opt<Text>,
}

/// `pric × cnt` rounded half-up to the fen, the spec's fee-line rule (§3A).
fn line_total_fen(pric_e6: i64, cnt_e4: i64) -> i64 {
    // pric has 6 decimals and cnt 4: the product has 10; fen keep 2, so divide by 10^8.
    let product = i128::from(pric_e6) * i128::from(cnt_e4);
    let divisor: i128 = 100_000_000;
    let quotient = product / divisor;
    let remainder = product % divisor;
    let rounded = if 2 * remainder.abs() >= divisor {
        quotient + product.signum()
    } else {
        quotient
    };
    rounded as i64
}

/// 医院审批标志: `0` 无须审批 (no approval), `1` 审批通过, `2` 审批不通过 (§5.4).
const HOSP_APPR_FLAGS: &[&str] = &["0", "1", "2"];
/// The approval flag of a 2301 line that sends none: no approval.
const HOSP_APPR_NONE: &str = "0";

/// The batch of an inpatient line (2301 has no 收费批次号): the day it was incurred, a ward day,
/// as the Zhejiang platform's own batches are dates.
fn ward_day_batch(fee_ocur_time: NaiveDateTime) -> String {
    fee_ocur_time.format("%Y-%m-%d").to_string()
}

/// Difference tolerated between `det_item_fee_sumamt` and `pric × cnt` (§3A: 0.01 yuan).
const LINE_TOTAL_TOLERANCE_FEN: i64 = 1;

impl FeeInput {
    fn into_command(self, kind: VisitKind) -> Result<Command, AppError> {
        let rows = self.feedetail.0;
        if rows.is_empty() {
            return Err(AppError::required("input.feedetail"));
        }
        rows_max(rows.len(), FEE_LINES_PER_UPLOAD_MAX, "feedetail")?;
        let mut lines = Vec::with_capacity(rows.len());
        for (idx, row) in rows.into_iter().enumerate() {
            let node = format!("feedetail[{idx}]");
            let node = node.as_str();
            let negative_allowed = kind == VisitKind::Inpatient;
            let cnt_e4 = decimal(&row.cnt, QUANTITY_MAX_E4, node, "cnt", negative_allowed)?;
            let pric_e6 = decimal(&row.pric, PRICE_MAX_E6, node, "pric", false)?;
            let det_item_fee_sumamt_fen = amount(
                &row.det_item_fee_sumamt,
                node,
                "det_item_fee_sumamt",
                negative_allowed,
            )?;
            let expected = line_total_fen(pric_e6, cnt_e4);
            if (det_item_fee_sumamt_fen - expected).abs() > LINE_TOTAL_TOLERANCE_FEN {
                return Err(AppError::field(
                    format!("input.{node}.det_item_fee_sumamt"),
                    format!(
                        "{} is not pric × cnt = {}",
                        crate::wire::scalar::format_decimal(det_item_fee_sumamt_fen, 2),
                        crate::wire::scalar::format_decimal(expected, 2)
                    ),
                ));
            }
            let init_feedetl_sn =
                opt_text(&row.init_feedetl_sn, node, "init_feedetl_sn", ID_CHARS_MAX)?;
            if cnt_e4 < 0 && init_feedetl_sn.is_none() {
                return Err(AppError::field(
                    format!("input.{node}.init_feedetl_sn"),
                    "is required for a refund line (negative cnt)",
                ));
            }
            let fee_ocur_time = date_time(&row.fee_ocur_time, node, "fee_ocur_time")?;
            lines.push(FeeLineIn {
                feedetl_sn: text(&row.feedetl_sn, node, "feedetl_sn", ID_CHARS_MAX)?,
                init_feedetl_sn,
                mdtrt_id: text(&row.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
                psn_no: text(&row.psn_no, node, "psn_no", ID_CHARS_MAX)?,
                chrg_bchno: match kind {
                    VisitKind::Outpatient => {
                        text(&row.chrg_bchno, node, "chrg_bchno", ID_CHARS_MAX)?
                    }
                    VisitKind::Inpatient => {
                        opt_text(&row.chrg_bchno, node, "chrg_bchno", ID_CHARS_MAX)?
                            .unwrap_or_else(|| ward_day_batch(fee_ocur_time))
                    }
                },
                med_type: match kind {
                    VisitKind::Inpatient => {
                        Some(text(&row.med_type, node, "med_type", CODE_CHARS_MAX)?)
                    }
                    VisitKind::Outpatient => {
                        opt_text(&row.med_type, node, "med_type", CODE_CHARS_MAX)?
                    }
                },
                dise_codg: opt_text(&row.dise_codg, node, "dise_codg", ID_CHARS_MAX)?,
                rxno: match opt_text(&row.rxno, node, "rxno", ID_CHARS_MAX)? {
                    Some(rxno) => Some(rxno),
                    None => opt_text(&row.drord_no, node, "drord_no", ID_CHARS_MAX)?,
                },
                rx_circ_flag: opt_text(&row.rx_circ_flag, node, "rx_circ_flag", 3)?,
                fee_ocur_time,
                med_list_codg: text(&row.med_list_codg, node, "med_list_codg", 50)?,
                medins_list_codg: text(&row.medins_list_codg, node, "medins_list_codg", 150)?,
                det_item_fee_sumamt_fen,
                cnt_e4,
                pric_micro: pric_e6,
                bilg_dept_codg: text(&row.bilg_dept_codg, node, "bilg_dept_codg", ID_CHARS_MAX)?,
                bilg_dept_name: text(&row.bilg_dept_name, node, "bilg_dept_name", 100)?,
                bilg_dr_codg: text(&row.bilg_dr_codg, node, "bilg_dr_codg", ID_CHARS_MAX)?,
                bilg_dr_name: text(&row.bilg_dr_name, node, "bilg_dr_name", 50)?,
                hosp_appr_flag: {
                    let flag = opt_digit_code(
                        &row.hosp_appr_flag,
                        node,
                        "hosp_appr_flag",
                        HOSP_APPR_FLAGS,
                    )?;
                    match (flag, kind) {
                        (Some(flag), _) => flag,
                        // Required in 2204 (表79): a missing approval is never taken as given.
                        (None, VisitKind::Outpatient) => {
                            return Err(AppError::required(format!("input.{node}.hosp_appr_flag")))
                        }
                        // Optional in 2301 (表91): absent means no approval was given (`0`),
                        // so a restricted item is self-paid (§3A).
                        (None, VisitKind::Inpatient) => HOSP_APPR_NONE.to_owned(),
                    }
                },
                dscg_tkdrug_flag: opt_text(&row.dscg_tkdrug_flag, node, "dscg_tkdrug_flag", 3)?,
                matn_fee_flag: opt_text(&row.matn_fee_flag, node, "matn_fee_flag", CODE_CHARS_MAX)?,
                memo: opt_text(&row.memo, node, "memo", TEXT_CHARS_MAX)?,
            });
        }
        Ok(Command::UploadFees(UploadFees { kind, lines }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FeeCancelData {
    mdtrt_id: Opt<Text>,
    psn_no: Opt<Text>,
    chrg_bchno: Opt<Text>,
    feedetl_sn: Opt<Text>,
}

/// The "withdraw everything unsettled" selector of 2205/2302.
const ALL_LINES: &str = "0000";

impl FeeCancelData {
    fn into_command(self, kind: VisitKind) -> Result<Command, AppError> {
        let selection = match kind {
            VisitKind::Outpatient => {
                match text(&self.chrg_bchno, "data", "chrg_bchno", ID_CHARS_MAX)? {
                    all if all == ALL_LINES => FeeSelection::All,
                    batch => FeeSelection::Batch(batch),
                }
            }
            VisitKind::Inpatient => {
                match text(&self.feedetl_sn, "data", "feedetl_sn", ID_CHARS_MAX)? {
                    all if all == ALL_LINES => FeeSelection::All,
                    line => FeeSelection::Line(line),
                }
            }
        };
        Ok(Command::CancelFees(CancelFees {
            kind,
            mdtrt_id: text(&self.mdtrt_id, "data", "mdtrt_id", ID_CHARS_MAX)?,
            psn_no: text(&self.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
            selection,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettleData {
    psn_no: Opt<Text>,
    mdtrt_cert_type: Opt<Text>,
    mdtrt_cert_no: Opt<Text>,
    med_type: Opt<Text>,
    medfee_sumamt: Opt<Amount>,
    psn_setlway: Opt<Text>,
    mdtrt_id: Opt<Text>,
    chrg_bchno: Opt<Text>,
    acct_used_flag: Opt<Text>,
    insutype: Opt<Text>,
    invono: Opt<Text>,
    mid_setl_flag: Opt<Text>,
    #[serde(rename = "dscgTime", alias = "dscg_time")]
    dscg_time: Opt<Date>,
    fulamt_ownpay_amt: Opt<Amount>,
    overlmt_selfpay: Opt<Amount>,
    preselfpay_amt: Opt<Amount>,
    inscp_scp_amt: Opt<Amount>,
}

impl SettleData {
    fn into_command(self, kind: VisitKind, commit: bool) -> Result<Command, AppError> {
        let node = "data";
        let declared = {
            let parts = [
                opt_amount(&self.fulamt_ownpay_amt, node, "fulamt_ownpay_amt")?,
                opt_amount(&self.overlmt_selfpay, node, "overlmt_selfpay")?,
                opt_amount(&self.preselfpay_amt, node, "preselfpay_amt")?,
                opt_amount(&self.inscp_scp_amt, node, "inscp_scp_amt")?,
            ];
            match parts {
                [Some(fulamt_ownpay_fen), Some(overlmt_selfpay_fen), Some(preselfpay_fen), Some(inscp_scp_fen)] => {
                    Some(DeclaredSplit {
                        fulamt_ownpay_fen,
                        overlmt_selfpay_fen,
                        preselfpay_fen,
                        inscp_scp_fen,
                    })
                }
                // 2207/2304 declare the split; a partial declaration cannot be checked, so it
                // is ignored rather than guessed at (W 2207A sends all four).
                _ => None,
            }
        };
        // Required for outpatient settlement (表82/85), optional for inpatient (表94/97).
        let account_use_code = match kind {
            VisitKind::Outpatient => Some(text(&self.acct_used_flag, node, "acct_used_flag", 3)?),
            VisitKind::Inpatient => opt_text(&self.acct_used_flag, node, "acct_used_flag", 3)?,
        };
        let acct_used_flag = match account_use_code
            .as_deref()
            .map(|code| code.trim_start_matches('0'))
        {
            None | Some("") => AcctUsedFlag::NotUsed,
            Some("1") => AcctUsedFlag::Own,
            Some("2") => AcctUsedFlag::OwnThenFamily,
            Some(_) => {
                return Err(AppError::field(
                    "input.data.acct_used_flag",
                    format!(
                        "`{}` is not one of 0, 1, 2",
                        account_use_code.unwrap_or_default()
                    ),
                ))
            }
        };
        Ok(Command::Settle(Settle {
            kind,
            pre: !commit,
            psn_no: text(&self.psn_no, node, "psn_no", ID_CHARS_MAX)?,
            mdtrt_id: text(&self.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
            mdtrt_cert_type: one_of(
                &self.mdtrt_cert_type,
                node,
                "mdtrt_cert_type",
                &["01", "02", "03"],
            )?,
            mdtrt_cert_no: opt_text(&self.mdtrt_cert_no, node, "mdtrt_cert_no", 50)?,
            // Empty (inpatient, not sent) takes the visit's.
            med_type: match kind {
                VisitKind::Outpatient => text(&self.med_type, node, "med_type", CODE_CHARS_MAX)?,
                VisitKind::Inpatient => {
                    opt_text(&self.med_type, node, "med_type", CODE_CHARS_MAX)?.unwrap_or_default()
                }
            },
            medfee_sumamt_fen: amount(&self.medfee_sumamt, node, "medfee_sumamt", false)?,
            psn_setlway: text(&self.psn_setlway, node, "psn_setlway", CODE_CHARS_MAX)?,
            // Empty (inpatient) settles every unsettled line of the visit.
            chrg_bchno: match kind {
                VisitKind::Outpatient => text(&self.chrg_bchno, node, "chrg_bchno", ID_CHARS_MAX)?,
                VisitKind::Inpatient => String::new(),
            },
            acct_used_flag,
            insutype: text(&self.insutype, node, "insutype", CODE_CHARS_MAX)?,
            invono: opt_text(&self.invono, node, "invono", 20)?.unwrap_or_default(),
            mid_setl_flag: match kind {
                VisitKind::Inpatient => {
                    one_of(&self.mid_setl_flag, node, "mid_setl_flag", &["0", "1"])? == "1"
                }
                VisitKind::Outpatient => false,
            },
            dscg_time: opt_date(&self.dscg_time),
            declared: if commit { declared } else { None },
            // The region's choice, set by the server after the fingerprint is taken.
            audit_gate: Default::default(),
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeData {
    psn_no: Opt<Text>,
    omsgid: Opt<Text>,
    oinfno: Opt<Text>,
}

impl RevokeData {
    fn into_command(self) -> Result<Command, AppError> {
        let oinfno_text = text(&self.oinfno, "data", "oinfno", 6)?;
        let oinfno = Infno::parse(&oinfno_text)
            .filter(|infno| {
                matches!(
                    infno,
                    Infno::Settle2207
                        | Infno::Settle2207A
                        | Infno::InpatientSettle2304
                        | Infno::Admit2401
                )
            })
            .ok_or_else(|| {
                AppError::field(
                    "input.data.oinfno",
                    format!("`{oinfno_text}` cannot be revoked (2207, 2304, 2401)"),
                )
            })?;
        Ok(Command::Revoke(Revoke {
            psn_no: text(&self.psn_no, "data", "psn_no", ID_CHARS_MAX)?,
            omsgid: text(&self.omsgid, "data", "omsgid", ID_CHARS_MAX)?,
            oinfno: oinfno.code().to_owned(),
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReconcileData {
    insutype: Opt<Text>,
    clr_type: Opt<Text>,
    setl_optins: Opt<Text>,
    stmt_begndate: Opt<Date>,
    stmt_enddate: Opt<Date>,
    medfee_sumamt: Opt<Amount>,
    fund_pay_sumamt: Opt<Amount>,
    acct_pay: Opt<Amount>,
    fixmedins_setl_cnt: Opt<Decimal<0>>,
}

/// Longest reconciliation period: a year of daily totals bounds the ledger scan.
const RECONCILE_DAYS_MAX: i64 = 366;

impl ReconcileData {
    fn into_request(self) -> Result<Request, AppError> {
        let node = "data";
        let stmt_begndate = date(&self.stmt_begndate, node, "stmt_begndate")?;
        let stmt_enddate = date(&self.stmt_enddate, node, "stmt_enddate")?;
        if stmt_enddate < stmt_begndate {
            return Err(AppError::field(
                "input.data.stmt_enddate",
                "is before stmt_begndate",
            ));
        }
        if (stmt_enddate - stmt_begndate).num_days() >= RECONCILE_DAYS_MAX {
            return Err(AppError::field(
                "input.data.stmt_enddate",
                format!("period longer than {RECONCILE_DAYS_MAX} days"),
            ));
        }
        Ok(Request::Reconcile(ReconcileRequest {
            insutype: text(&self.insutype, node, "insutype", CODE_CHARS_MAX)?,
            clr_type: text(&self.clr_type, node, "clr_type", CODE_CHARS_MAX)?,
            setl_optins: text(&self.setl_optins, node, "setl_optins", CODE_CHARS_MAX)?,
            begndate: stmt_begndate,
            enddate: stmt_enddate,
            medfee_sumamt_fen: amount(&self.medfee_sumamt, node, "medfee_sumamt", true)?,
            fund_pay_sumamt_fen: amount(&self.fund_pay_sumamt, node, "fund_pay_sumamt", true)?,
            acct_pay_fen: amount(&self.acct_pay, node, "acct_pay", true)?,
            fixmedins_setl_cnt: decimal(
                &self.fixmedins_setl_cnt,
                9_999_999_999,
                node,
                "fixmedins_setl_cnt",
                false,
            )?,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CumulativeData {
    psn_no: Opt<Text>,
    cum_ym: Opt<Text>,
}

// After `maternity_of!`, which the discharge node uses.
mod inpatient;

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(body: &str) -> [u8; 32] {
        let envelope = crate::envelope::parse_request(body.as_bytes()).unwrap();
        request(&envelope).unwrap().fingerprint(envelope.infno)
    }

    /// Issue 10: referral (2201 `OTP_ER_REFL_FLAG`) and transfer (2401 `IPT_TYPE`) come from
    /// `exp_content`, written as an object or as a JSON string; anything else there is ignored.
    #[test]
    fn exp_content_gives_referral_and_transfer() {
        let object = Some(serde_json::json!({"OTP_ER_REFL_FLAG": "2", "TRUM_FLAG": "0"}));
        let text = Some(serde_json::json!("{\"IPT_TYPE\":3}"));
        assert_eq!(
            exp_content_key(&object, "OTP_ER_REFL_FLAG").as_deref(),
            Some("2")
        );
        assert_eq!(exp_content_key(&text, "IPT_TYPE").as_deref(), Some("3"));
        assert_eq!(
            exp_content_key(&Some(serde_json::json!("not json")), "IPT_TYPE"),
            None
        );
        assert_eq!(exp_content_key(&None, "IPT_TYPE"), None);
        let register = |exp: &str| {
            let body = format!(
                "{{\"infno\":\"2201\",\"msgid\":\"H1\",\"fixmedins_code\":\"H1\",\"input\":{{\"data\":{{\"psn_no\":\"P1\",\"insutype\":\"310\",\"begntime\":\"2025-05-10 10:00:00\",\"mdtrt_cert_type\":\"02\",\"mdtrt_cert_no\":\"X\",\"ipt_otp_no\":\"O1\",\"dept_code\":\"A03\",\"dept_name\":\"内科\",\"caty\":\"A03\"{exp}}}}}}}"
            );
            let envelope = crate::envelope::parse_request(body.as_bytes()).unwrap();
            match request(&envelope).unwrap() {
                Request::Write(command) => match *command {
                    Command::RegisterOutpatient(r) => r.referral,
                    other => panic!("2201 gave {other:?}"),
                },
                other => panic!("2201 gave {other:?}"),
            }
        };
        assert!(register(",\"exp_content\":{\"OTP_ER_REFL_FLAG\":\"3\"}"));
        assert!(register(
            ",\"exp_content\":\"{\\\"OTP_ER_REFL_FLAG\\\":\\\"2\\\"}\""
        ));
        assert!(!register(",\"exp_content\":{\"OTP_ER_REFL_FLAG\":\"1\"}"));
        assert!(!register(""));
    }

    #[test]
    fn fingerprint_is_over_the_parsed_input() {
        let head = r#"{"infno":"2207","msgid":"m1","fixmedins_code":"H1","input":"#;
        let sent = format!(
            r#"{head}{{"data":{{"psn_no":"P1","mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":2505.45,"psn_setlway":"01","mdtrt_id":"M1","chrg_bchno":"B1","acct_used_flag":"1","insutype":"310","invono":""}}}}}}"#
        );
        let rebuilt = format!(
            "{head} {{ \"data\" : {{ \"insutype\":310, \"acct_used_flag\":\"01\",\n \"chrg_bchno\":\"B1\", \"mdtrt_id\":\"M1\", \"psn_setlway\":\"01\", \"medfee_sumamt\":\"2505.450\", \"med_type\":11, \"mdtrt_cert_type\":\"02\", \"psn_no\":\"P1\", \"exp_content\": {{\"x\":1}} }} }} }}"
        );
        assert_eq!(fingerprint(&sent), fingerprint(&rebuilt));
        let other_amount = sent.replace("2505.45", "2505.46");
        assert_ne!(fingerprint(&sent), fingerprint(&other_amount));
        let other_code = sent.replace(r#""infno":"2207""#, r#""infno":"2207A""#);
        assert_ne!(fingerprint(&sent), fingerprint(&other_code));
    }

    /// Issue 13: 2402 `dscginfo` carries the delivery (生育信息) the maternity allowance reads;
    /// a bad code is refused naming the field.
    #[test]
    fn a_discharge_carries_its_delivery() {
        let discharge = |extra: &str| {
            let body = format!(
                "{{\"infno\":\"2402\",\"msgid\":\"m2\",\"fixmedins_code\":\"H1\",\"input\":{{\"dscginfo\":{{\"mdtrt_id\":\"M1\",\"psn_no\":\"P1\",\"insutype\":\"310\",\"endtime\":\"2025-07-06 09:00:00\",\"dscg_dept_codg\":\"A05\",\"dscg_dept_name\":\"产科\",\"dscg_way\":\"1\"{extra}}},\"diseinfo\":[]}}}}"
            );
            let envelope = crate::envelope::parse_request(body.as_bytes()).unwrap();
            request(&envelope).map(|r| match r {
                Request::Write(command) => match *command {
                    Command::Discharge(d) => d.maternity,
                    other => panic!("2402 gave {other:?}"),
                },
                other => panic!("2402 gave {other:?}"),
            })
        };
        let m = discharge(",\"matn_type\":\"3\",\"fetus_cnt\":2,\"geso_val\":39")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (m.matn_type.as_deref(), m.fetus_cnt, m.geso_val),
            (Some("3"), Some(2), Some(39))
        );
        assert!(discharge("").ok().unwrap().is_empty());
        let err = discharge(",\"matn_type\":\"8\"").err().unwrap();
        assert!(err.to_string().contains("dscginfo.matn_type"), "{err}");
    }

    #[test]
    fn line_total_rounds_half_up() {
        assert_eq!(line_total_fen(120_000_000, 100_000), 120_000); // 120 × 10 = 1200.00
        assert_eq!(line_total_fen(4_520_000, 10_000), 452);
        assert_eq!(line_total_fen(1_005_000, 5_000), 50); // 1.005 × 0.5 = 0.5025 → 0.50
        assert_eq!(line_total_fen(1_015_000, 5_000), 51); // 0.5075 → 0.51
        assert_eq!(line_total_fen(1_015_000, -5_000), -51);
    }
}
