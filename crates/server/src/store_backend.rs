//! `yibao-store`'s `Store` as the server's [`Backend`]: the server's commands converted by hand
//! into the store's, and the store's outcomes into the server's.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_store as store;

use crate::infno::Infno;
use crate::wire::scalar::ppm_to_e4;

use crate::backend::{
    Backend, BackendError, ChronicRecognition, Command, CumulativeEntry, FeeLineResult,
    FeeSelection, FundDetail, Identity, InstitutionKey, InsuranceRelation, Meta, Outcome,
    PersonInfo, Render, Settlement, VisitRef,
};

/// Converts a store error, naming a user error's field as the client sees it: message-level
/// fields as they are, input fields under `input.` and their transaction's node.
fn backend_error(err: store::StoreError, infno: Infno) -> BackendError {
    if !err.is_user_error() {
        return BackendError::Internal(
            anyhow::Error::new(err).context(format!("store, {}", infno.code())),
        );
    }
    let (field, reason) = match err {
        store::StoreError::BadInput { field, reason }
        | store::StoreError::Refused { field, reason } => (field, reason),
        // Another institution's record is reported as absent: no existence leak.
        store::StoreError::NotFound { field, value }
        | store::StoreError::Forbidden { field, value } => {
            (field, format!("{value} does not exist"))
        }
        store::StoreError::MsgidConflict { msgid, infno } => (
            "msgid".to_owned(),
            format!("{msgid} exists with different content (first used for {infno})"),
        ),
        other => ("input".to_owned(), other.to_string()),
    };
    let field = if MESSAGE_FIELDS.contains(&field.as_str()) || field.starts_with("input") {
        field
    } else if field.contains('[') || field.contains('.') {
        format!("input.{field}")
    } else {
        format!("input.{}.{field}", primary_node(infno))
    };
    BackendError::User { field, reason }
}

/// Fields the store reports at message level, which are not inside `input`.
const MESSAGE_FIELDS: &[&str] = &[
    "msgid",
    "infno",
    "fixmedins_code",
    "mdtrtarea_admvs",
    "insuplc_admdvs",
];

/// The node that holds a transaction's main fields.
fn primary_node(infno: Infno) -> &'static str {
    use Infno::*;
    match infno {
        SignIn9001 => "signIn",
        SignOut9002 => "signOut",
        VisitInfo2203 | VisitInfo2203A | Admit2401 => "mdtrtinfo",
        FeeUpload2204 | InpatientFeeUpload2301 => "feedetail",
        Discharge2402 => "dscginfo",
        AdmissionChange2403 => "adminfo",
        SetlList4101 | SetlList4101A => "setlinfo",
        _ => "data",
    }
}

impl Backend for store::Store {
    async fn institutions(&self) -> Result<Vec<InstitutionKey>, BackendError> {
        Ok(store::Store::institutions(self)
            .iter()
            .map(|institution| InstitutionKey {
                fixmedins_code: institution.fixmedins_code.clone(),
                access_key: institution.access_key.clone(),
                secret_key: institution.secret_key.clone(),
                active: institution.active,
                admdvs: institution.admdvs.clone(),
            })
            .collect())
    }

    async fn sign_in_valid(
        &self,
        fixmedins_code: &str,
        sign_no: &str,
        date: NaiveDate,
    ) -> Result<bool, BackendError> {
        store::Store::sign_in_valid(self, fixmedins_code, sign_no, date)
            .await
            .map_err(|err| {
                BackendError::Internal(anyhow::Error::new(err).context("store, sign_no"))
            })
    }

    async fn execute(
        &self,
        meta: &Meta,
        command: Command,
        render: Render<'_>,
    ) -> Result<Outcome, BackendError> {
        let command = match command {
            Command::PersonInfo(query) => {
                // A token (01) or a card (03) is looked up as such; otherwise the credential
                // number counts only with its type (02), then the identity document, then the
                // person number.
                let key = match (query.mdtrt_cert_type.as_deref(), query.mdtrt_cert_no) {
                    (Some("01"), Some(number)) => store::PersonKey::EcToken(number),
                    (Some("03"), Some(number)) => store::PersonKey::SsCard {
                        card_no: number,
                        card_sn: query.card_sn,
                    },
                    (credential_type, number) => store::PersonKey::PsnNoOrCertno(
                        credential_type
                            .and(number)
                            .or(query.certno)
                            .or(query.psn_no)
                            .unwrap_or_default(),
                    ),
                };
                let person = self
                    .person_info_by(&key, meta.at.date())
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::Person(person_info(person, meta.at)));
            }
            Command::QuerySettlement { setl_id, visit } => {
                let view = self
                    .query_settlement(&meta.fixmedins_code, &visit.psn_no, &setl_id)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                if view.mdtrt_id != visit.mdtrt_id {
                    return Err(BackendError::User {
                        field: "data.mdtrt_id".to_owned(),
                        reason: format!("settlement {setl_id} belongs to another visit"),
                    });
                }
                return Ok(Outcome::Settlement(Box::new(settlement(&view))));
            }
            Command::QueryCumulative { psn_no, cum_ym } => {
                // A month asked for (`yyyyMM`, checked by the wire), else the whole current year.
                let (year, month) = match &cum_ym {
                    Some(ym) => (
                        ym[..4].parse::<i32>().unwrap_or_default(),
                        ym[4..].parse::<u32>().ok(),
                    ),
                    None => (meta.at.year(), None),
                };
                let rows = self
                    .query_cumulative(&psn_no, year, month)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::Cumulative(
                    rows.into_iter()
                        .map(|row| CumulativeEntry {
                            insutype: row.insutype,
                            year: row.year.to_string(),
                            cum_ym: row.cum_ym,
                            cum_type_code: row.cum_type_code,
                            cum_e2: row.cum,
                        })
                        .collect(),
                ));
            }
            Command::QueryChronicRecognitions { psn_no } => {
                let found = self
                    .chronic_recognitions(&psn_no, meta.at.date())
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::ChronicRecognitions(
                    found
                        .into_iter()
                        .filter_map(|r| {
                            Some(ChronicRecognition {
                                begndate: parse_date(&r.begndate)?,
                                enddate: parse_date(&r.enddate),
                                opsp_dise_code: r.opsp_dise_code,
                                opsp_dise_name: r.opsp_dise_name,
                            })
                        })
                        .collect(),
                ));
            }
            Command::QuerySetlLists(query) => {
                let lists = self
                    .setl_lists(&meta.fixmedins_code, &query)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::SetlLists(lists));
            }
            Command::Reconcile(request) => {
                let result = self
                    .reconcile(
                        &meta.fixmedins_code,
                        &store::ReconcileRequest {
                            insutype: request.insutype,
                            clr_type: request.clr_type,
                            setl_optins: request.setl_optins.clone(),
                            begndate: request.stmt_begndate,
                            enddate: request.stmt_enddate,
                            medfee_sumamt_fen: request.medfee_sumamt_fen,
                            fund_pay_sumamt_fen: request.fund_pay_sumamt_fen,
                            acct_pay_fen: request.acct_pay_fen,
                            fixmedins_setl_cnt: request.fixmedins_setl_cnt,
                        },
                    )
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::Reconciliation {
                    setl_optins: request.setl_optins,
                    balanced: result.balanced,
                    description: result.description,
                });
            }
            other => store_command(other),
        };
        let env = store::Envelope {
            fixmedins_code: meta.fixmedins_code.clone(),
            msgid: meta.msgid.clone(),
            infno: meta.infno.code().to_owned(),
            request_hash: meta.fingerprint,
            mdtrtarea_admvs: meta.mdtrtarea_admvs.clone().unwrap_or_default(),
            now: meta.at,
        };
        let store_render = |outcome: &store::Outcome| render(&outcome_from_store(outcome));
        let reply = store::Store::execute(self, &env, command, &store_render)
            .await
            .map_err(|err| backend_error(err, meta.infno))?;
        Ok(match reply {
            store::Reply::Fresh { response, .. } | store::Reply::Replayed { response } => {
                Outcome::Rendered(response)
            }
        })
    }
}

fn diagnoses(
    list: Vec<crate::backend::Diagnosis>,
    fallback_time: NaiveDateTime,
) -> Vec<store::Diagnosis> {
    list.into_iter()
        .map(|d| store::Diagnosis {
            diag_type: d.diag_type,
            diag_srt_no: d.diag_srt_no,
            diag_code: d.diag_code,
            diag_name: d.diag_name,
            diag_dept: d.diag_dept.unwrap_or_default(),
            dise_dor_no: d.dise_dor_no.unwrap_or_default(),
            dise_dor_name: d.dise_dor_name.unwrap_or_default(),
            diag_time: d.diag_time.unwrap_or(fallback_time),
            maindiag_flag: if d.maindiag_flag == Some(true) {
                "1"
            } else {
                "0"
            }
            .to_owned(),
            vali_flag: if d.valid { "1" } else { "0" }.to_owned(),
        })
        .collect()
}

fn visit_ref(visit: VisitRef) -> store::VisitRef {
    store::VisitRef {
        psn_no: visit.psn_no,
        mdtrt_id: visit.mdtrt_id,
    }
}

/// The store's command for a writing (or pre-settling) transaction.
fn store_command(command: Command) -> store::Command {
    match command {
        Command::SignIn { opter_no, mac, ip } => {
            store::Command::SignIn(store::SignIn { opter_no, mac, ip })
        }
        Command::SignOut { sign_no, opter_no } => {
            store::Command::SignOut(store::SignOut { sign_no, opter_no })
        }
        Command::Register(r) => store::Command::RegisterOutpatient(store::RegisterOutpatient {
            psn_no: r.psn_no,
            insutype: r.insutype,
            begntime: r.begntime,
            mdtrt_cert_type: r.mdtrt_cert_type,
            mdtrt_cert_no: r.mdtrt_cert_no,
            ipt_otp_no: r.ipt_otp_no,
            atddr_no: r.atddr_no.unwrap_or_default(),
            dr_name: r.dr_name.unwrap_or_default(),
            dept_code: r.dept_code,
            dept_name: r.dept_name,
            caty: r.caty,
            referral: r.referral,
        }),
        Command::CancelRegistration(visit) => store::Command::CancelRegistration(visit_ref(visit)),
        Command::VisitInfo(v) => store::Command::UploadVisitInfo(store::UploadVisitInfo {
            mdtrt_id: v.visit.mdtrt_id,
            psn_no: v.visit.psn_no,
            med_type: v.med_type,
            begntime: v.begntime,
            main_cond_dscr: v.main_cond_dscr.unwrap_or_default(),
            dise_codg: v.dise_codg.unwrap_or_default(),
            dise_name: v.dise_name.unwrap_or_default(),
            diagnoses: diagnoses(v.diagnoses, v.begntime),
            maternity: v.maternity,
        }),
        Command::UploadFees { lines, .. } => store::Command::UploadFees(store::UploadFees {
            lines: lines
                .into_iter()
                .map(|line| store::FeeLineIn {
                    feedetl_sn: line.feedetl_sn,
                    mdtrt_id: line.mdtrt_id,
                    psn_no: line.psn_no,
                    // 2301 has no 收费批次号: an inpatient line is batched by the day it was
                    // incurred (a ward day), as the Zhejiang platform's own batches are dates.
                    chrg_bchno: line
                        .chrg_bchno
                        .unwrap_or_else(|| line.fee_ocur_time.format("%Y-%m-%d").to_string()),
                    fee_ocur_time: line.fee_ocur_time,
                    med_list_codg: line.med_list_codg,
                    medins_list_codg: line.medins_list_codg,
                    det_item_fee_sumamt_fen: line.det_item_fee_sumamt_fen,
                    cnt_e4: line.cnt_e4,
                    pric_micro: line.pric_e6,
                    hosp_appr_flag: line.hosp_appr_flag,
                })
                .collect(),
        }),
        Command::CancelFees {
            visit, selection, ..
        } => {
            let (chrg_bchno, feedetl_sns) = match selection {
                FeeSelection::All => ("0000".to_owned(), Vec::new()),
                FeeSelection::Batch(batch) => (batch, Vec::new()),
                FeeSelection::Line(sn) => (String::new(), vec![sn]),
            };
            store::Command::CancelFees(store::CancelFees {
                mdtrt_id: visit.mdtrt_id,
                psn_no: visit.psn_no,
                chrg_bchno,
                feedetl_sns,
            })
        }
        Command::Settle(s) => store::Command::Settle(store::Settle {
            pre: !s.commit,
            psn_no: s.visit.psn_no,
            mdtrt_id: s.visit.mdtrt_id,
            insutype: s.insutype,
            med_type: s.med_type.unwrap_or_default(),
            medfee_sumamt_fen: s.medfee_sumamt_fen,
            acct_used_flag: s.account_use.code().to_owned(),
            chrg_bchno: s.chrg_bchno.unwrap_or_default(),
            psn_setlway: s.psn_setlway,
            invono: s.invono.unwrap_or_default(),
            mid_setl_flag: s.mid_setl,
        }),
        Command::ReverseSettlement { setl_id, visit, .. } => {
            store::Command::ReverseSettlement(store::ReverseSettlement {
                psn_no: visit.psn_no,
                mdtrt_id: visit.mdtrt_id,
                setl_id,
            })
        }
        Command::Admit(a) => store::Command::Admit(store::Admit {
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
            diagnoses: diagnoses(a.diagnoses, a.begntime),
            transfer_in: a.transfer_in,
        }),
        Command::ChangeAdmission(a) => store::Command::UpdateAdmission(store::UpdateAdmission {
            mdtrt_id: a.mdtrt_id.unwrap_or_default(),
            psn_no: a.psn_no,
            begntime: Some(a.begntime),
            med_type: a.med_type,
            dscg_maindiag_code: a.dscg_maindiag_code,
            dscg_maindiag_name: a.dscg_maindiag_name,
            main_cond_dscr: a.adm_diag_dscr.unwrap_or_default(),
            diagnoses: diagnoses(a.diagnoses, a.begntime),
        }),
        Command::Discharge(d) => store::Command::Discharge(store::Discharge {
            mdtrt_id: d.visit.mdtrt_id,
            psn_no: d.visit.psn_no,
            endtime: d.endtime,
            dscg_way: d.dscg_way,
            diagnoses: diagnoses(d.diagnoses, d.endtime),
        }),
        Command::CancelAdmission(visit) => store::Command::CancelAdmission(visit_ref(visit)),
        Command::UndoDischarge(visit) => store::Command::UndoDischarge(visit_ref(visit)),
        Command::Revoke {
            psn_no,
            omsgid,
            oinfno,
        } => store::Command::Revoke(store::Revoke {
            psn_no,
            omsgid,
            oinfno: oinfno.code().to_owned(),
        }),
        Command::UploadSetlList(list) => store::Command::UploadSetlList(list),
        Command::PersonInfo(_)
        | Command::QuerySettlement { .. }
        | Command::QuerySetlLists(_)
        | Command::QueryCumulative { .. }
        | Command::QueryChronicRecognitions { .. }
        | Command::Reconcile(_) => unreachable!("reads are answered before store_command"),
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
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

fn person_info(person: store::PersonInfo, at: NaiveDateTime) -> PersonInfo {
    let brdy = parse_date(&person.base.brdy);
    PersonInfo {
        psn_no: person.base.psn_no,
        // The registry holds resident identity card numbers (居民身份证, 01).
        psn_cert_type: "01".to_owned(),
        certno: person.base.certno,
        psn_name: person.base.psn_name,
        gend: person.base.gend,
        naty: non_empty(&person.base.naty),
        brdy,
        age_e1: age_years(brdy, at) * 10,
        insurance: person
            .insurance
            .into_iter()
            .map(|relation| InsuranceRelation {
                balc_fen: relation.balc_fen,
                insutype: relation.insutype,
                psn_type: relation.psn_type,
                psn_insu_stas: relation.psn_insu_stas,
                psn_insu_date: parse_date(&relation.begndate),
                paus_insu_date: parse_date(&relation.enddate),
                cvlserv_flag: "0".to_owned(),
                insuplc_admdvs: relation.insuplc_admdvs,
                emp_name: non_empty(&relation.emp_name),
            })
            .collect(),
        identities: person
            .identities
            .into_iter()
            .filter_map(|identity| {
                Some(Identity {
                    begntime: parse_date(&identity.begndate)?.and_time(chrono::NaiveTime::MIN),
                    endtime: parse_date(&identity.enddate)
                        .map(|day| day.and_time(chrono::NaiveTime::MIN)),
                    psn_idet_type: identity.sp_psn_type,
                    psn_type_lv: None,
                    memo: non_empty(&identity.source_dept),
                })
            })
            .collect(),
    }
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

fn settlement(view: &store::SettlementView) -> Settlement {
    let trace = non_empty(&view.setl_proc_info);
    Settlement {
        setl_id: non_empty(&view.setl_id),
        mdtrt_id: view.mdtrt_id.clone(),
        psn_no: view.psn_no.clone(),
        psn_name: view.psn_name.clone(),
        psn_cert_type: view.psn_cert_type.clone(),
        certno: view.certno.clone(),
        gend: non_empty(&view.gend),
        naty: non_empty(&view.naty),
        brdy: parse_date(&view.brdy),
        age_e1: view.age_years * 10,
        insutype: view.insutype.clone(),
        psn_type: view.psn_type.clone(),
        cvlserv_flag: view.cvlserv_flag.clone(),
        setl_time: (!view.setl_id.is_empty()).then_some(view.setl_time),
        mdtrt_cert_type: non_empty(&view.mdtrt_cert_type),
        med_type: view.med_type.clone(),
        amounts: view.amounts,
        medins_setl_id: view.medins_setl_id.clone(),
        clr_optins: non_empty(&view.insuplc_admdvs),
        // 按项目 (clearing by item) is the only way the demo policies clear.
        clr_way: (!view.setl_id.is_empty()).then(|| "1".to_owned()),
        clr_type: view.clr_type.clone(),
        setl_type: Some(view.setl_type().to_owned()),
        refd_setl_flag: view.refd_setl_flag,
        fixmedins_code: view.fixmedins_code.clone(),
        fixmedins_name: view.fixmedins_name.clone(),
        begndate: parse_date(&view.begndate),
        enddate: parse_date(&view.enddate),
        invono: non_empty(&view.invono),
        details: view
            .detail
            .iter()
            .enumerate()
            .map(|(idx, payment)| FundDetail {
                fund_pay_type: payment.fund_pay_type.clone(),
                fund_pay_type_name: fund_pay_type_name(&payment.fund_pay_type).to_owned(),
                inscp_scp_amt_fen: view.amounts.inscp_scp_amt.0,
                crt_payb_lmt_amt_fen: None,
                fund_payamt_fen: payment.fund_payamt_fen,
                // The trace explains the whole split; it is sent once, on the first bucket.
                setl_proc_info: if idx == 0 { trace.clone() } else { None },
            })
            .collect(),
    }
}

fn outcome_from_store(outcome: &store::Outcome) -> Outcome {
    match outcome {
        store::Outcome::SignedIn { sign_no, sign_time } => Outcome::SignedIn {
            sign_no: sign_no.clone(),
            sign_time: *sign_time,
        },
        store::Outcome::SignedOut { sign_time } => Outcome::SignedOut {
            sign_time: *sign_time,
        },
        store::Outcome::VisitOpened {
            mdtrt_id,
            psn_no,
            ipt_otp_no,
        } => Outcome::Registered(VisitRef {
            mdtrt_id: mdtrt_id.clone(),
            psn_no: psn_no.clone(),
            ipt_otp_no: Some(ipt_otp_no.clone()),
        }),
        // 2601 has no output (§4.11).
        store::Outcome::Done | store::Outcome::Revoked(_) => Outcome::Done,
        store::Outcome::FeesUploaded(lines) => Outcome::FeeResults(
            lines
                .iter()
                .map(|line| FeeLineResult {
                    feedetl_sn: line.feedetl_sn.clone(),
                    det_item_fee_sumamt_fen: line.det_item_fee_sumamt_fen,
                    cnt_e4: line.cnt_e4,
                    pric_e6: line.pric_micro,
                    // No cap in the catalogue: the spec's placeholder for "unlimited".
                    pric_uplmt_amt_e6: line.pric_uplmt_micro.unwrap_or(99_999_999_000_000),
                    selfpay_prop_e4: ppm_to_e4(line.selfpay_prop_ppm),
                    fulamt_ownpay_amt_fen: line.fulamt_ownpay_fen,
                    overlmt_amt_fen: line.overlmt_selfpay_fen,
                    preselfpay_amt_fen: line.preselfpay_fen,
                    inscp_scp_amt_fen: line.inscp_scp_fen,
                    chrgitm_lv: line.chrgitm_lv.clone(),
                    med_chrgitm_type: line.med_chrgitm_type.clone(),
                    lmt_used_flag: line.lmt_used_flag.clone(),
                    bas_medn_flag: None,
                    hi_nego_drug_flag: None,
                    memo: non_empty(&line.memo),
                })
                .collect(),
        ),
        store::Outcome::Settled(view) => Outcome::Settlement(Box::new(settlement(view))),
        store::Outcome::SetlListStored(stored) => Outcome::SetlListStored(stored.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_whole_years() {
        let at = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_time(chrono::NaiveTime::MIN);
        assert_eq!(age_years(NaiveDate::from_ymd_opt(1986, 3, 1), at), 40);
        assert_eq!(age_years(NaiveDate::from_ymd_opt(1986, 3, 2), at), 39);
        assert_eq!(age_years(None, at), 0);
    }
}
