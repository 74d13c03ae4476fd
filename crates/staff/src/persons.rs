//! A person's insurance record, for reviewers: `GET /api/v1/persons/{psn_no}` — the first
//! endpoint that reads a person's data, and the pattern for the others (purpose and an open
//! case, service session or break-glass required, roles checked and the read logged before the
//! data is read, values masked by their items unless revealed with a reason).

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::Role;

use crate::error::{ApiError, ErrorBody};
use crate::masking::DataResponse;
use crate::wire::{InsuranceView, PersonView};
use crate::{Access, Purpose, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(get_person))
}

/// Roles that may read a person's record (under a case, a service session or break-glass).
const READERS: &[Role] = &[
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::FinalReviewer,
    Role::Inspector,
];

/// A person's record, masked per §11.4 (ID number first 3 and last 4) unless revealed. Needs
/// a purpose and an open case, service session or break-glass; the read is logged.
#[utoipa::path(get, path = "/api/v1/persons/{psn_no}", tag = "persons",
    params(
        ("psn_no" = String, Path, description = "人员编号, in full (no partial search)."),
        ("X-Purpose" = String, Header, description = "Why the data is read: a code of the purpose list (or the query field `purpose`)."),
        ("X-Case" = Option<String>, Header, description = "The open case the read is made under: `audit:CASE_ID` or `registry:CASE_ID`."),
        ("X-Service-Session" = Option<i64>, Header, description = "The caller's service session for this person."),
        ("X-Break-Glass" = Option<i64>, Header, description = "The caller's break-glass grant for this person."),
        ("X-Unmask-Reason" = Option<String>, Header, description = "Show values in clear, for this reason (logged)."),
    ),
    responses(
        (status = 200, description = "The person; headers X-Data-Items and X-Data-View.", body = PersonView),
        (status = 400, description = "No or unknown purpose, a malformed header.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Role missing, no open case or session, a reveal refused (the denial is logged).", body = ErrorBody),
        (status = 404, description = "No such person.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_person(
    State(state): State<SharedState>,
    staff: Staff,
    purpose: Purpose,
    Path(psn_no): Path<String>,
) -> Result<DataResponse<Json<PersonView>>, ApiError> {
    if psn_no.is_empty() || psn_no.chars().count() > yibao_store::limits::ID_CHARS_MAX {
        return Err(ApiError::bad("psn_no", "must be a full person number"));
    }
    let access = Access {
        action: "GET /api/v1/persons/{psn_no}",
        roles: READERS,
        subject: Subject::person(&psn_no),
        institution: None,
    };
    let reading = staff.authorize_read(&state, &purpose, access).await?;
    let info = state
        .store
        .person_info(&psn_no)
        .await
        .map_err(|err| match err {
            yibao_store::StoreError::NotFound { .. } => {
                ApiError::not_found("psn_no", "no such person")
            }
            other => other.into(),
        })?;
    // 1101's lookup also accepts an ID number; only a person number is a path here.
    if info.base.psn_no != psn_no {
        return Err(ApiError::not_found("psn_no", "no such person"));
    }
    Ok(reading.respond(Json(PersonView {
        psn_no: info.base.psn_no.clone(),
        psn_name_masked: reading.show("person", "psn_name", &info.base.psn_name),
        certno_masked: reading.show("person", "certno", &info.base.certno),
        gend: info.base.gend.clone(),
        insurance: info
            .insurance
            .iter()
            .map(|i| InsuranceView {
                insutype: i.insutype.clone(),
                psn_type: i.psn_type.clone(),
                psn_insu_stas: i.psn_insu_stas.clone(),
                begndate: i.begndate.clone(),
                enddate: i.enddate.clone(),
                insuplc_admdvs: i.insuplc_admdvs.clone(),
            })
            .collect(),
    })))
}

/// `张**`: the surname and one `*` for every other character (§11.4).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// `110***********1234`: the first 3 and last 4 characters (§11.4, case view).
pub fn mask_certno(certno: &str) -> String {
    let chars: Vec<char> = certno.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 4 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_certno("110101199001011234"), "110***********1234");
        assert_eq!(mask_certno("12345"), "*****");
    }
}
