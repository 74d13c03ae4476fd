//! `yibao-store`'s `Store` as the server's [`Backend`]: a write is the store's own command, run
//! by [`yibao_store::Store::execute`]; a query calls the store's read and shapes its answer.

use chrono::{Datelike, NaiveDate};
use yibao_store as store;

use crate::infno::Infno;

use crate::backend::{Backend, BackendError, InstitutionKey, Meta, Outcome, Render, Request};

/// Converts a store error, naming a user error's field as the client sees it: message-level
/// fields as they are, input fields under `input.` and their transaction's node.
pub(crate) fn backend_error(err: store::StoreError, infno: Infno) -> BackendError {
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

/// Logs a read of these people's data by the calling institution (each person once) and
/// returns once the log records are durable: the answer is released only after ("no log, no
/// data"; the sequencer turns them into access-log leaves).
async fn log_reads<'a>(
    store: &store::Store,
    meta: &Meta,
    people: impl IntoIterator<Item = &'a str>,
) -> Result<(), BackendError> {
    let mut calls: Vec<store::access_outbox::InterfaceAccess> = Vec::new();
    for psn_no in people {
        if psn_no.is_empty() || calls.iter().any(|call| call.psn_no == psn_no) {
            continue;
        }
        calls.push(store::access_outbox::InterfaceAccess {
            ts_ms: store::access_outbox::beijing_to_utc_ms(meta.at),
            fixmedins_code: meta.fixmedins_code.clone(),
            infno: meta.infno.code().to_owned(),
            psn_no: psn_no.to_owned(),
            write: false,
            request_digest: Some(meta.fingerprint),
            response_digest: None,
        });
    }
    store.log_interface(&calls).await.map_err(|err| {
        BackendError::Internal(anyhow::Error::new(err).context("access log, interface read"))
    })
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
        FileUpload9101 => "fsUploadIn",
        FileDownload9102 => "fsDownloadIn",
        Stocktake3501 | StockChange3502 => "invinfo",
        Purchase3503 | PurchaseReturn3504 => "purcinfo",
        Sale3505 | SaleReturn3506 => "selinfo",
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
                log_reads(self, meta, [person.base.psn_no.as_str()]).await?;
                return Ok(Outcome::Person {
                    person: Box::new(person),
                    at: meta.at,
                });
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
                log_reads(self, meta, [visit.psn_no.as_str()]).await?;
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
                log_reads(self, meta, [psn_no.as_str()]).await?;
                return Ok(Outcome::Cumulative(rows));
            }
            Request::QueryChronicRecognitions { psn_no } => {
                let found = self
                    .chronic_recognitions(&psn_no, meta.at.date())
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                log_reads(self, meta, [psn_no.as_str()]).await?;
                return Ok(Outcome::ChronicRecognitions(found));
            }
            Request::QuerySetlLists(query) => {
                let lists = self
                    .setl_lists(&meta.fixmedins_code, &query)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                log_reads(self, meta, lists.iter().map(|list| list.psn_no.as_str())).await?;
                return Ok(Outcome::SetlLists(lists));
            }
            Request::SetlListStatus(change) => {
                let changed = self
                    .change_setl_list_status(&meta.fixmedins_code, &meta.msgid, &change, meta.at)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::SetlListStatus(changed));
            }
            Request::QuerySetlListQc(query) => {
                let views = self
                    .setl_list_qc(&meta.fixmedins_code, &query)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                log_reads(self, meta, views.iter().map(|view| view.psn_no.as_str())).await?;
                return Ok(Outcome::SetlListQc(views));
            }
            Request::Inventory(upload) => {
                let message = store::inventory::InventoryMessage {
                    fixmedins_code: meta.fixmedins_code.clone(),
                    msgid: meta.msgid.clone(),
                    request_hash: meta.fingerprint,
                    at: meta.at,
                };
                let stored = self
                    .record_inventory(&message, &upload)
                    .await
                    .map_err(|err| backend_error(err, meta.infno))?;
                return Ok(Outcome::Inventory(stored));
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
            Request::Clearing(request) => {
                return crate::clearing::execute(self, meta, request).await;
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

    async fn download_file(
        &self,
        fixmedins_code: &str,
        request: &crate::clearing::Download,
        at: chrono::NaiveDateTime,
    ) -> Result<crate::clearing::FileDownload, BackendError> {
        crate::clearing::download(self, fixmedins_code, request, at).await
    }
}
