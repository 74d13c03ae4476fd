//! Staff accounts, for administrators: list, create, set roles, deactivate. Every change is
//! logged with its actor by the store, in the change's transaction.
//!
//! Who may do what follows 三员分立 (spec data-authorization.md §11.1, §11.3): the system
//! administrator (`system_admin`) lists and deactivates accounts; the security administrator
//! (`security_admin`) creates accounts and assigns roles (creating an account assigns its
//! first roles); the legacy `admin` role, from before the split, may do both and sits in the
//! system-management post. Nobody grants one of the management roles (`system_admin`,
//! `security_admin`, `security_auditor`, `admin`, `auditor`) over the API: those are set up
//! from the command line, so no account can grant itself or a peer more power (§12 T4). Every
//! set of roles must pass the static separation of duties (400 naming `roles`).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yibao_store::{NewStaff, Role};

use crate::error::{ApiError, ErrorBody};
use crate::json::JsonBody;
use crate::wire::{AccountView, NewAccountRequest, SetRolesRequest};
use crate::{Access, SharedState, Staff, Subject};

/// The routes of this module.
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(set_roles))
        .routes(routes!(deactivate))
}

/// Roles that list and deactivate accounts.
const ACCOUNT_MANAGERS: &[Role] = &[Role::Admin, Role::SystemAdmin, Role::SecurityAdmin];
/// Roles that create accounts and assign roles.
const ROLE_ASSIGNERS: &[Role] = &[Role::Admin, Role::SecurityAdmin];
/// Roles that deactivate accounts.
const DEACTIVATORS: &[Role] = &[Role::Admin, Role::SystemAdmin];

/// Checks roles to be assigned over the API: the static separation of duties (400) and no
/// management role (403), both naming `roles`.
fn check_assignable(roles: &[Role]) -> Result<(), ApiError> {
    let engine: Vec<_> = roles.iter().map(|role| role.privacy()).collect();
    yibao_privacy::staff::check_roles(&engine)
        .map_err(|err| ApiError::bad("roles", format!("{err} (separation of duties)")))?;
    if let Some(role) = roles.iter().find(|role| role.is_management()) {
        return Err(ApiError::forbidden(
            "roles",
            format!(
                "`{role}` is a management role (三员): it is granted from the command line only"
            ),
        ));
    }
    Ok(())
}

/// The `{staff_id}` of the path, or 400 naming it.
fn staff_id_of(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(staff_id)| staff_id)
        .map_err(|_| ApiError::bad("staff_id", "must be an account number"))
}

/// Every staff account.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses(
        (status = 200, description = "The accounts.", body = Vec<AccountView>),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an administrator.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_accounts(
    State(state): State<SharedState>,
    staff: Staff,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let access = Access {
        action: "GET /api/v1/accounts",
        roles: ACCOUNT_MANAGERS,
        subject: Subject::none(),
        institution: None,
    };
    staff.authorize(&state, access).await?;
    let accounts = state.store.staff_accounts().await?;
    Ok(Json(accounts.iter().map(AccountView::from).collect()))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body = NewAccountRequest,
    responses(
        (status = 201, description = "Created.", body = AccountView),
        (status = 400, description = "Bad input, or roles that may not be held together.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not a security administrator, or a management role asked.", body = ErrorBody),
        (status = 404, description = "Unknown institution.", body = ErrorBody),
        (status = 409, description = "The username is taken.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_account(
    State(state): State<SharedState>,
    staff: Staff,
    JsonBody(request): JsonBody<NewAccountRequest>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let access = Access {
        action: "POST /api/v1/accounts",
        roles: ROLE_ASSIGNERS,
        subject: Subject::none(),
        institution: None,
    };
    staff.authorize(&state, access).await?;
    let roles: Vec<Role> = request.roles.into_iter().map(Role::from).collect();
    check_assignable(&roles)?;
    let new = NewStaff {
        username: request.username,
        password: request.password,
        display_name: request.display_name,
        roles,
        fixmedins_code: request.fixmedins_code,
        admdvs: request
            .admdvs
            .unwrap_or_else(|| staff.account.admdvs.clone()),
    };
    let account = state
        .store
        .staff_create(&new, Some(staff.id()), staff.now_ms)
        .await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
}

/// Replaces an account's roles (not one's own).
#[utoipa::path(put, path = "/api/v1/accounts/{staff_id}/roles", tag = "accounts",
    params(("staff_id" = i64, Path, description = "The account.")),
    request_body = SetRolesRequest,
    responses(
        (status = 200, description = "The account with its new roles.", body = AccountView),
        (status = 400, description = "Roles that may not be held together.", body = ErrorBody),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not a security administrator, or a management role asked.", body = ErrorBody),
        (status = 404, description = "No such account.", body = ErrorBody),
        (status = 409, description = "One's own account.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_roles(
    State(state): State<SharedState>,
    staff: Staff,
    staff_id: Result<Path<i64>, PathRejection>,
    JsonBody(request): JsonBody<SetRolesRequest>,
) -> Result<Json<AccountView>, ApiError> {
    let staff_id = staff_id_of(staff_id)?;
    let access = Access {
        action: "PUT /api/v1/accounts/{staff_id}/roles",
        roles: ROLE_ASSIGNERS,
        subject: Subject::record("staff", staff_id),
        institution: None,
    };
    staff.authorize(&state, access).await?;
    let roles: Vec<Role> = request.roles.into_iter().map(Role::from).collect();
    check_assignable(&roles)?;
    let account = state
        .store
        .staff_set_roles(staff.id(), staff_id, &roles, staff.now_ms)
        .await?;
    Ok(Json(AccountView::from(&account)))
}

/// Deactivates an account (not one's own) and ends its sessions.
#[utoipa::path(post, path = "/api/v1/accounts/{staff_id}/deactivate", tag = "accounts",
    params(("staff_id" = i64, Path, description = "The account.")),
    responses(
        (status = 200, description = "The deactivated account.", body = AccountView),
        (status = 401, description = "No valid session.", body = ErrorBody),
        (status = 403, description = "Not an administrator.", body = ErrorBody),
        (status = 404, description = "No such account.", body = ErrorBody),
        (status = 409, description = "Already deactivated, or one's own account.", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    staff: Staff,
    staff_id: Result<Path<i64>, PathRejection>,
) -> Result<Json<AccountView>, ApiError> {
    let staff_id = staff_id_of(staff_id)?;
    let access = Access {
        action: "POST /api/v1/accounts/{staff_id}/deactivate",
        roles: DEACTIVATORS,
        subject: Subject::record("staff", staff_id),
        institution: None,
    };
    staff.authorize(&state, access).await?;
    let account = state
        .store
        .staff_deactivate(staff.id(), staff_id, staff.now_ms)
        .await?;
    Ok(Json(AccountView::from(&account)))
}
