//! The inpatient nodes (2401 admission, 2403 its change, 2402 discharge): one serde struct per
//! node, converted by hand into the store's commands like the rest of `wire::input`.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AdmitInput {
    mdtrtinfo: Node<AdmissionData>,
    diseinfo: Rows<DiagnosisData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AdmissionChangeInput {
    adminfo: Node<AdmissionData>,
    diseinfo: Rows<DiagnosisData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdmissionData {
    exp_content: Option<serde_json::Value>,
    mdtrt_id: Opt<Text>,
    psn_no: Opt<Text>,
    insutype: Opt<Text>,
    begntime: Opt<DateTime>,
    mdtrt_cert_type: Opt<Text>,
    mdtrt_cert_no: Opt<Text>,
    med_type: Opt<Text>,
    ipt_no: Opt<Text>,
    ipt_otp_no: Opt<Text>,
    atddr_no: Opt<Text>,
    chfpdr_name: Opt<Text>,
    adm_diag_dscr: Opt<Text>,
    adm_dept_codg: Opt<Text>,
    adm_dept_name: Opt<Text>,
    adm_bed: Opt<Text>,
    dscg_maindiag_code: Opt<Text>,
    dscg_maindiag_name: Opt<Text>,
}

/// The fields 2401 and 2403 share, parsed once; each transaction's command takes its own.
struct AdmissionFields {
    mdtrt_id: Option<String>,
    psn_no: String,
    insutype: Option<String>,
    begntime: NaiveDateTime,
    mdtrt_cert_type: String,
    mdtrt_cert_no: Option<String>,
    med_type: String,
    ipt_no: String,
    atddr_no: Option<String>,
    chfpdr_name: Option<String>,
    adm_diag_dscr: Option<String>,
    adm_dept_codg: String,
    adm_dept_name: String,
    adm_bed: Option<String>,
    dscg_maindiag_code: String,
    dscg_maindiag_name: String,
    diagnoses: Vec<Diagnosis>,
    transfer_in: bool,
}

impl AdmissionData {
    fn admission(
        &self,
        node: &str,
        change: bool,
        diagnoses: Vec<Diagnosis>,
    ) -> Result<AdmissionFields, AppError> {
        let ipt_no = match opt_text(&self.ipt_no, node, "ipt_no", ID_CHARS_MAX)? {
            Some(ipt_no) => ipt_no,
            None if change => text(&self.ipt_otp_no, node, "ipt_otp_no", ID_CHARS_MAX)?,
            None => return Err(AppError::required(format!("input.{node}.ipt_no"))),
        };
        Ok(AdmissionFields {
            mdtrt_id: if change {
                Some(text(&self.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?)
            } else {
                None
            },
            psn_no: text(&self.psn_no, node, "psn_no", ID_CHARS_MAX)?,
            insutype: if change {
                opt_text(&self.insutype, node, "insutype", CODE_CHARS_MAX)?
            } else {
                Some(text(&self.insutype, node, "insutype", CODE_CHARS_MAX)?)
            },
            begntime: date_time(&self.begntime, node, "begntime")?,
            mdtrt_cert_type: one_of(
                &self.mdtrt_cert_type,
                node,
                "mdtrt_cert_type",
                &["01", "02", "03"],
            )?,
            mdtrt_cert_no: opt_text(&self.mdtrt_cert_no, node, "mdtrt_cert_no", 50)?,
            med_type: text(&self.med_type, node, "med_type", CODE_CHARS_MAX)?,
            ipt_no,
            atddr_no: opt_text(&self.atddr_no, node, "atddr_no", ID_CHARS_MAX)?,
            chfpdr_name: opt_text(&self.chfpdr_name, node, "chfpdr_name", 50)?,
            adm_diag_dscr: opt_text(&self.adm_diag_dscr, node, "adm_diag_dscr", 200)?,
            adm_dept_codg: text(&self.adm_dept_codg, node, "adm_dept_codg", ID_CHARS_MAX)?,
            adm_dept_name: text(&self.adm_dept_name, node, "adm_dept_name", 100)?,
            adm_bed: opt_text(&self.adm_bed, node, "adm_bed", ID_CHARS_MAX)?,
            dscg_maindiag_code: text(&self.dscg_maindiag_code, node, "dscg_maindiag_code", 20)?,
            dscg_maindiag_name: text(&self.dscg_maindiag_name, node, "dscg_maindiag_name", 300)?,
            diagnoses,
            transfer_in: !change
                && exp_content_key(&self.exp_content, "IPT_TYPE").as_deref() == Some("3"),
        })
    }
}

impl AdmitInput {
    pub(super) fn into_command(self) -> Result<Command, AppError> {
        let diagnoses = diagnoses(self.diseinfo)?;
        let a = self.mdtrtinfo.0.admission("mdtrtinfo", false, diagnoses)?;
        Ok(Command::Admit(Admit {
            psn_no: a.psn_no,
            insutype: a.insutype.unwrap_or_default(),
            begntime: a.begntime,
            mdtrt_cert_type: a.mdtrt_cert_type,
            mdtrt_cert_no: a.mdtrt_cert_no.unwrap_or_default(),
            med_type: a.med_type,
            ipt_no: a.ipt_no,
            atddr_no: a.atddr_no.unwrap_or_default(),
            chfpdr_name: a.chfpdr_name.unwrap_or_default(),
            adm_dept_codg: a.adm_dept_codg,
            adm_dept_name: a.adm_dept_name,
            dscg_maindiag_code: a.dscg_maindiag_code,
            dscg_maindiag_name: a.dscg_maindiag_name,
            main_cond_dscr: a.adm_diag_dscr.unwrap_or_default(),
            adm_bed: a.adm_bed,
            diagnoses: a.diagnoses,
            transfer_in: a.transfer_in,
        }))
    }
}

impl AdmissionChangeInput {
    pub(super) fn into_command(self) -> Result<Command, AppError> {
        let diagnoses = diagnoses(self.diseinfo)?;
        let a = self.adminfo.0.admission("adminfo", true, diagnoses)?;
        Ok(Command::UpdateAdmission(UpdateAdmission {
            mdtrt_id: a.mdtrt_id.unwrap_or_default(),
            psn_no: a.psn_no,
            insutype: a.insutype,
            begntime: a.begntime,
            mdtrt_cert_type: a.mdtrt_cert_type,
            mdtrt_cert_no: a.mdtrt_cert_no,
            med_type: a.med_type,
            ipt_no: a.ipt_no,
            atddr_no: a.atddr_no,
            chfpdr_name: a.chfpdr_name,
            adm_dept_codg: a.adm_dept_codg,
            adm_dept_name: a.adm_dept_name,
            adm_bed: a.adm_bed,
            dscg_maindiag_code: a.dscg_maindiag_code,
            dscg_maindiag_name: a.dscg_maindiag_name,
            main_cond_dscr: a.adm_diag_dscr.unwrap_or_default(),
            diagnoses: a.diagnoses,
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct DischargeInput {
    dscginfo: Node<DischargeData>,
    diseinfo: Rows<DiagnosisData>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DischargeData {
    mdtrt_id: Opt<Text>,
    psn_no: Opt<Text>,
    insutype: Opt<Text>,
    endtime: Opt<DateTime>,
    dscg_dept_codg: Opt<Text>,
    dscg_dept_name: Opt<Text>,
    dscg_way: Opt<Text>,
    die_date: Opt<Date>,
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

impl DischargeInput {
    pub(super) fn into_command(self) -> Result<Command, AppError> {
        let data = self.dscginfo.0;
        let node = "dscginfo";
        Ok(Command::Discharge(Discharge {
            mdtrt_id: text(&data.mdtrt_id, node, "mdtrt_id", ID_CHARS_MAX)?,
            psn_no: text(&data.psn_no, node, "psn_no", ID_CHARS_MAX)?,
            insutype: text(&data.insutype, node, "insutype", CODE_CHARS_MAX)?,
            endtime: date_time(&data.endtime, node, "endtime")?,
            dscg_dept_codg: text(&data.dscg_dept_codg, node, "dscg_dept_codg", ID_CHARS_MAX)?,
            dscg_dept_name: text(&data.dscg_dept_name, node, "dscg_dept_name", 100)?,
            dscg_way: text(&data.dscg_way, node, "dscg_way", 3)?,
            die_date: opt_date(&data.die_date),
            maternity: maternity_of!(data).maternity(node)?,
            diagnoses: diagnoses(self.diseinfo)?,
        }))
    }
}
