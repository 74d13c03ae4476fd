//! `yibao-store`'s `Store` as the server's [`Backend`]: a write is the store's own command, run
//! by [`yibao_store::Store::execute`]; a query calls the store's read and shapes its answer.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_store as store;

use crate::infno::Infno;

use crate::backend::{
    Backend, BackendError, ChronicRecognition, CumulativeEntry, Identity, InstitutionKey,
    InsuranceRelation, Meta, Outcome, PersonInfo, Render, Request,
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
        request: Request,
        render: Render<'_>,
    ) -> Result<Outcome, BackendError> {
        let command = match request {
            Request::PersonInfo(query) => {
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
            Request::QuerySettlement { setl_id, visit } => {
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
                return Ok(Outcome::Settlement(Box::new(view)));
            }
            Request::QueryCumulative { psn_no, cum_ym } => {
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
            Request::QueryChronicRecognitions { psn_no } => {
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
            Request::QuerySetlLists(query) => {
                let lists = self
                    .setl_lists(&meta.fixmedins_code, &query)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::SetlLists(lists));
            }
            Request::Reconcile(request) => {
                let result = self
                    .reconcile(&meta.fixmedins_code, &request)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::Reconciliation {
                    setl_optins: request.setl_optins,
                    balanced: result.balanced,
                    description: result.description,
                });
            }
            Request::Write(command) => *command,
        };
        let env = store::Envelope {
            fixmedins_code: meta.fixmedins_code.clone(),
            msgid: meta.msgid.clone(),
            infno: meta.infno.code().to_owned(),
            request_hash: meta.fingerprint,
            mdtrtarea_admvs: meta.mdtrtarea_admvs.clone().unwrap_or_default(),
            now: meta.at,
        };
        let reply = store::Store::execute(self, &env, command, render)
            .await
            .map_err(|err| backend_error(err, meta.infno))?;
        Ok(match reply {
            store::Reply::Fresh { response, .. } | store::Reply::Replayed { response } => {
                Outcome::Rendered(response)
            }
        })
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
