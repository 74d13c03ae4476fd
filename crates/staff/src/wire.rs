//! The API's request and response bodies. Store types derive no `Serialize`; they are converted
//! here by hand, so the wire format can change without touching them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yibao_store::{AccessLogRow, LogVerifyReport, Role, StaffAccount};

/// A role, as sent and received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleCode {
    /// 初审.
    Reviewer,
    /// 复审.
    SeniorReviewer,
    /// 终审.
    FinalReviewer,
    /// 安全审计员 (read-only).
    Auditor,
    /// 系统管理员.
    Admin,
    /// 基金财务.
    Finance,
    /// A designated institution's user.
    Institution,
    /// 窗口经办 (enrollment front desk).
    FrontDesk,
    /// 系统管理员 (三员): manages accounts.
    SystemAdmin,
    /// 安全管理员 (三员): assigns roles.
    SecurityAdmin,
    /// 安全审计员 (三员): reads the log and the alarms.
    SecurityAuditor,
    /// 稽核.
    Inspector,
}

impl From<RoleCode> for Role {
    fn from(code: RoleCode) -> Role {
        match code {
            RoleCode::Reviewer => Role::Reviewer,
            RoleCode::SeniorReviewer => Role::SeniorReviewer,
            RoleCode::FinalReviewer => Role::FinalReviewer,
            RoleCode::Auditor => Role::Auditor,
            RoleCode::Admin => Role::Admin,
            RoleCode::Finance => Role::Finance,
            RoleCode::Institution => Role::Institution,
            RoleCode::FrontDesk => Role::FrontDesk,
            RoleCode::SystemAdmin => Role::SystemAdmin,
            RoleCode::SecurityAdmin => Role::SecurityAdmin,
            RoleCode::SecurityAuditor => Role::SecurityAuditor,
            RoleCode::Inspector => Role::Inspector,
        }
    }
}

impl From<Role> for RoleCode {
    fn from(role: Role) -> RoleCode {
        match role {
            Role::Reviewer => RoleCode::Reviewer,
            Role::SeniorReviewer => RoleCode::SeniorReviewer,
            Role::FinalReviewer => RoleCode::FinalReviewer,
            Role::Auditor => RoleCode::Auditor,
            Role::Admin => RoleCode::Admin,
            Role::Finance => RoleCode::Finance,
            Role::Institution => RoleCode::Institution,
            Role::FrontDesk => RoleCode::FrontDesk,
            Role::SystemAdmin => RoleCode::SystemAdmin,
            Role::SecurityAdmin => RoleCode::SecurityAdmin,
            Role::SecurityAuditor => RoleCode::SecurityAuditor,
            Role::Inspector => RoleCode::Inspector,
        }
    }
}

/// `POST /api/v1/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The bearer token: send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When the session ends at the latest (UTC ms); it ends earlier when unused.
    pub expires_at_ms: i64,
    /// Who logged in.
    pub staff: AccountView,
}

/// A staff account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// The account's number.
    pub staff_id: i64,
    /// The login name.
    pub username: String,
    /// The name shown to people.
    pub display_name: String,
    /// The roles.
    pub roles: Vec<RoleCode>,
    /// For an institution user, its institution.
    pub fixmedins_code: Option<String>,
    /// The region the account works in.
    pub admdvs: String,
    /// False once deactivated.
    pub active: bool,
}

impl From<&StaffAccount> for AccountView {
    fn from(account: &StaffAccount) -> Self {
        Self {
            staff_id: account.staff_id,
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            roles: account.roles.iter().copied().map(RoleCode::from).collect(),
            fixmedins_code: account.fixmedins_code.clone(),
            admdvs: account.admdvs.clone(),
            active: account.active,
        }
    }
}

/// `POST /api/v1/accounts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountRequest {
    /// Login name: 3–64 characters of `a-z 0-9 . _ -`.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// The name shown to people.
    pub display_name: String,
    /// The roles (static separation of duties applies).
    pub roles: Vec<RoleCode>,
    /// Required with the institution role, refused without it.
    #[serde(default)]
    pub fixmedins_code: Option<String>,
    /// The region (six digits); the administrator's own when absent.
    #[serde(default)]
    pub admdvs: Option<String>,
}

/// `PUT /api/v1/accounts/{staff_id}/roles`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRolesRequest {
    /// The new roles, replacing the old.
    pub roles: Vec<RoleCode>,
}

/// One access log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogEntryView {
    /// Position in the log (the leaf index), from 0.
    pub idx: i64,
    /// When (UTC ms).
    pub ts_ms: i64,
    /// The kind of event (`data.read`, `access.deny`, `session.login` …).
    pub event: String,
    /// Who (absent when unknown, such as a login with an unknown username).
    pub staff_id: Option<i64>,
    /// The endpoint or action.
    pub action: String,
    /// Whose data or which record: `psn:` and the hex of the leaf's keyed pseudonym (different
    /// in every leaf), `case:ID`, `staff:ID`.
    pub subject_ref: String,
    /// The purpose given.
    pub purpose: String,
    /// `permit` or `deny`.
    pub decision: String,
    /// The reason code of the decision.
    pub reason: String,
    /// SM3(0x00 ‖ leaf), hex.
    pub leaf_hash: String,
    /// The canonical leaf bytes (yibao-translog's encoding), hex.
    pub leaf: String,
}

impl From<&AccessLogRow> for AccessLogEntryView {
    fn from(row: &AccessLogRow) -> Self {
        Self {
            idx: row.idx,
            ts_ms: row.entry.ts_ms,
            event: row.entry.event.clone(),
            staff_id: row.entry.staff_id,
            action: row.entry.action.clone(),
            subject_ref: row.entry.subject_ref.clone(),
            purpose: row.entry.purpose.clone(),
            decision: row.entry.decision.code().to_owned(),
            reason: row.entry.reason.clone(),
            leaf_hash: row.leaf_hash.clone(),
            leaf: row.leaf.clone(),
        }
    }
}

/// A page of the access log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogPage {
    /// The entries, in order.
    pub entries: Vec<AccessLogEntryView>,
    /// Ask with `after` = this for the next page (absent at the end).
    pub next_after: Option<i64>,
}

/// The whole-log check.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyReport {
    /// True when nothing was found wrong.
    pub intact: bool,
    /// Leaves read.
    pub entries: i64,
    /// The size the head records.
    pub head_size: i64,
    /// The largest signed checkpoint the leaves reproduce.
    pub verified_size: i64,
    /// Signed checkpoints found.
    pub checkpoints: usize,
    /// The first bad leaf, when the problem names one.
    pub leaf_idx: Option<i64>,
    /// The first problem found (`leaf 3: altered: …`).
    pub problem: Option<String>,
}

impl From<&LogVerifyReport> for VerifyReport {
    fn from(report: &LogVerifyReport) -> Self {
        Self {
            intact: report.is_intact(),
            entries: report.entries,
            head_size: report.head_size,
            verified_size: report.verified_size,
            checkpoints: report.checkpoints,
            leaf_idx: report.leaf_idx,
            problem: report.problem.clone(),
        }
    }
}

/// An inclusion proof (RFC 6962 over SM3) of one leaf, for the auditor or the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    /// The leaf's index.
    pub idx: i64,
    /// The tree size the proof is for.
    pub size: i64,
    /// The canonical leaf bytes, hex.
    pub leaf: String,
    /// The sibling hashes from the leaf up, hex.
    pub hashes: Vec<String>,
    /// The root of the tree of `size` leaves, hex.
    pub root: String,
    /// The signed checkpoint note of that size, when one was signed.
    pub checkpoint: Option<String>,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofView {
    /// The older size.
    pub from: i64,
    /// The newer size.
    pub to: i64,
    /// The proof's hashes in RFC 6962 order, hex.
    pub hashes: Vec<String>,
}

/// A person, as a reviewer sees them outside a case: names and numbers masked (spec
/// data-authorization.md §11.4).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    /// 人员编号.
    pub psn_no: String,
    /// The name (in clear in the case view, §11.4).
    pub psn_name_masked: String,
    /// The ID number, first 3 and last 4 characters (in clear when revealed).
    pub certno_masked: String,
    /// 性别.
    pub gend: String,
    /// Insurance spells.
    pub insurance: Vec<InsuranceView>,
}

/// One insurance spell.
#[derive(Debug, Serialize, ToSchema)]
pub struct InsuranceView {
    /// 险种类型.
    pub insutype: String,
    /// 人员类别.
    pub psn_type: String,
    /// 参保状态.
    pub psn_insu_stas: String,
    /// 开始日期.
    pub begndate: String,
    /// 结束日期.
    pub enddate: String,
    /// 参保地医保区划.
    pub insuplc_admdvs: String,
}
