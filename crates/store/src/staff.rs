//! Staff accounts, sessions and the access log (spec data-authorization.md §9, §11): the types,
//! the rules that need no database (roles and their static separation of duties, password
//! hashing, session tokens, the access log's leaf and chain), and the [`Store`] methods that run
//! them in transactions (the SQL is `staff_tx.rs`, compiled once per backend).
//!
//! Time is an input: every method takes `now_ms` (UTC milliseconds since the Unix epoch) from
//! the caller, so tests move the clock by hand.

use std::fmt;

use argon2::password_hash::{phc::PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use sha2::Digest as _;
use sm3::Sm3;

use crate::error::StoreError;
use crate::{limits, Pool, Store};

/// A staff role. Roles are stored by [`Role::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// 初审: first review of audit findings and claims.
    Reviewer,
    /// 复审: second review, after 初审.
    SeniorReviewer,
    /// 终审: final approval, after 复审.
    FinalReviewer,
    /// 安全审计员: reads the access log and audit details, changes nothing.
    Auditor,
    /// 系统管理员: manages staff accounts and roles; reads no business data.
    Admin,
    /// 基金财务: payments and clearing.
    Finance,
    /// A designated institution's user (定点医药机构用户): sees only its own institution's cases
    /// and appeals.
    Institution,
    /// 窗口经办: the enrollment front desk; registers persons, files registry cases and starts
    /// corrections, which a reviewer decides.
    FrontDesk,
    /// 系统管理员 (三员): manages accounts (lists, creates, deactivates); reads no personal data
    /// and no log, and grants no role.
    SystemAdmin,
    /// 安全管理员 (三员): assigns roles; reads no personal data and no log.
    SecurityAdmin,
    /// 安全审计员 (三员): reads the access log and the security alarms; changes nothing.
    SecurityAuditor,
    /// 稽核: investigates cases opened by a supervisor; may break the glass (§11.5).
    Inspector,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 12] = [
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::FinalReviewer,
        Role::Auditor,
        Role::Admin,
        Role::Finance,
        Role::Institution,
        Role::FrontDesk,
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::SecurityAuditor,
        Role::Inspector,
    ];

    /// The code stored and sent on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::SeniorReviewer => "senior_reviewer",
            Role::FinalReviewer => "final_reviewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Institution => "institution",
            Role::FrontDesk => "front_desk",
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::SecurityAuditor => "security_auditor",
            Role::Inspector => "inspector",
        }
    }

    /// The role with this code.
    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// The role of the privacy engine with the same code: `admin` is the engine's system
    /// administrator post and `auditor` its security audit post (§11.1 三员分立).
    pub fn privacy(self) -> yibao_privacy::staff::StaffRole {
        yibao_privacy::staff::StaffRole::parse(self.code())
            .expect("every store role has an engine role of the same code")
    }

    /// Whether the role belongs to the 三员 management posts (system, security, audit):
    /// granted only from the command line, never over the API (no role self-grant, §12 T4).
    pub fn is_management(self) -> bool {
        use yibao_privacy::staff::Post;
        matches!(
            self.privacy().post(),
            Post::SystemManagement | Post::SecurityManagement | Post::SecurityAudit
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Checks a set of roles against the static separation of duties (§11.3) and the institution
/// rule (an institution user names its institution, a bureau user names none); returns them
/// sorted and without repeats.
pub fn check_roles(roles: &[Role], fixmedins_code: Option<&str>) -> Result<Vec<Role>, StoreError> {
    let mut sorted = roles.to_vec();
    sorted.sort();
    sorted.dedup();
    let Some(first) = sorted.first() else {
        return Err(StoreError::bad("roles", "at least one role is required"));
    };
    let engine: Vec<_> = sorted.iter().map(|role| role.privacy()).collect();
    if let Err(err) = yibao_privacy::staff::check_roles(&engine) {
        return Err(StoreError::bad(
            "roles",
            format!("{err} (separation of duties, §11.3)"),
        ));
    }
    match (*first == Role::Institution, fixmedins_code) {
        (true, None) => Err(StoreError::bad(
            "fixmedins_code",
            "is required for the institution role",
        )),
        (false, Some(_)) => Err(StoreError::bad(
            "fixmedins_code",
            "is only for the institution role",
        )),
        _ => Ok(sorted),
    }
}

/// A staff account as read (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// The account's number.
    pub staff_id: i64,
    /// The login name.
    pub username: String,
    /// The name shown to people.
    pub display_name: String,
    /// The roles, sorted.
    pub roles: Vec<Role>,
    /// For the institution role: the institution (定点医药机构编号).
    pub fixmedins_code: Option<String>,
    /// The region the account works in (医保区划).
    pub admdvs: String,
    /// False once deactivated: no login, no session.
    pub active: bool,
}

impl StaffAccount {
    /// Whether the account holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name: 3–64 characters of `a-z 0-9 . _ -`.
    pub username: String,
    /// The password in clear (hashed here with Argon2id; never stored).
    pub password: String,
    /// The name shown to people.
    pub display_name: String,
    /// The roles (checked by [`check_roles`]).
    pub roles: Vec<Role>,
    /// For the institution role: its institution, which must exist.
    pub fixmedins_code: Option<String>,
    /// The region the account works in (six digits).
    pub admdvs: String,
}

/// Session and login rules; the defaults are production's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends (default 30 minutes).
    pub idle_ms: i64,
    /// A session ends this long after login, used or not (default 12 hours).
    pub absolute_ms: i64,
    /// Failed logins in a row that lock the account (default 5).
    pub failed_logins_max: i64,
    /// How long a locked account refuses every login (default 15 minutes).
    pub lockout_ms: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * 3600 * 1000,
            failed_logins_max: 5,
            lockout_ms: 15 * 60 * 1000,
        }
    }
}

/// Why a login was refused. The caller is told only that it failed; the reason goes to the
/// access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDenied {
    /// No account has this username.
    UnknownUser,
    /// The password does not match.
    WrongPassword,
    /// Too many failures: the account is locked until the time given (UTC ms).
    Locked {
        /// When the lock ends.
        until_ms: i64,
    },
    /// The account was deactivated.
    Inactive,
}

impl LoginDenied {
    /// The reason code written to the access log.
    pub fn code(self) -> &'static str {
        match self {
            LoginDenied::UnknownUser => "unknown_user",
            LoginDenied::WrongPassword => "wrong_password",
            LoginDenied::Locked { .. } => "locked",
            LoginDenied::Inactive => "inactive",
        }
    }
}

/// A new session: the bearer token (given to the client once, only its SHA-256 is stored).
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The bearer token: 32 random bytes, hex.
    pub token: String,
    /// The account logged in.
    pub account: StaffAccount,
    /// When the session ends at the latest (UTC ms).
    pub expires_at_ms: i64,
}

/// What a bearer token is worth now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCheck {
    /// An open session of an active account.
    Valid(StaffAccount),
    /// The session ran past its idle or absolute timeout (and is now ended).
    Expired,
    /// No such session, or it was ended (logout, deactivation).
    Invalid,
}

/// A decision recorded in the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decision {
    /// The action was allowed (and, for a read, the data was given).
    Permit,
    /// The action was refused (the default: nothing is allowed unless said).
    #[default]
    Deny,
}

impl Decision {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Decision::Permit => "permit",
            Decision::Deny => "deny",
        }
    }
}

/// One event to append to the access log (a leaf of the Merkle log, see [`crate::access_log`]).
/// `event`, `purpose` and `reason` are codes: at most 64 printable ASCII characters each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessEntry {
    /// When (UTC ms).
    pub ts_ms: i64,
    /// What kind of event (`data.read`, `session.login`, `account.roles` …).
    pub event: String,
    /// Who: the staff account, when known.
    pub staff_id: Option<i64>,
    /// The endpoint or action (`GET /api/v1/persons/{psn_no}`).
    pub action: String,
    /// Whose data or which record: a [`subject_ref_psn`], `case:ID`, `staff:ID` or empty. A
    /// person's designation never reaches the database: the leaf holds only its keyed,
    /// per-leaf pseudonym.
    pub subject_ref: String,
    /// Why: the purpose code the request carried (empty for events without one).
    pub purpose: String,
    /// Permitted or denied.
    pub decision: Decision,
    /// The reason code of the decision (`role_missing`, `wrong_password`, empty when permitted).
    pub reason: String,
}

/// One row of the chain-era access log (migration 8, kept as `access_log_chain` by migration
/// 27).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEraRow {
    /// Position in the log, from 1, without gaps.
    pub idx: i64,
    /// The event.
    pub entry: AccessEntry,
    /// SM3(0x00 ‖ leaf), hex.
    pub leaf_hash: String,
    /// SM3(chain of the previous row ‖ leaf hash), hex; the previous chain of row 1 is 32 zeros.
    pub chain: String,
}

/// The result of checking the chain-era access log ([`Store::verify_chain_era`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows read.
    pub entries: i64,
    /// The head's size and chain (what the last append recorded).
    pub head_size: i64,
    /// The first problem found, if any (`idx 7: leaf hash does not match its fields` …).
    pub problem: Option<String>,
}

impl ChainReport {
    /// True when every row matches its hash and chain and the head matches the last row.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Version byte of the chain era's leaf encoding.
pub const LEAF_VERSION: u8 = 1;

/// The canonical bytes of a chain-era leaf (migration 8): the version byte, `ts_ms` as 8
/// big-endian bytes, then each of event, actor (the staff id in decimal, or empty), action,
/// subject_ref, purpose, decision and reason as a 4-byte big-endian length and its UTF-8 bytes.
/// The Merkle log's leaves are `yibao-translog`'s encoding instead.
pub fn leaf_bytes(entry: &AccessEntry) -> Vec<u8> {
    let actor = entry.staff_id.map(|id| id.to_string()).unwrap_or_default();
    let fields = [
        entry.event.as_str(),
        actor.as_str(),
        entry.action.as_str(),
        entry.subject_ref.as_str(),
        entry.purpose.as_str(),
        entry.decision.code(),
        entry.reason.as_str(),
    ];
    let mut out = Vec::with_capacity(9 + fields.iter().map(|f| 4 + f.len()).sum::<usize>());
    out.push(LEAF_VERSION);
    out.extend_from_slice(&entry.ts_ms.to_be_bytes());
    for field in fields {
        let len = u32::try_from(field.len()).expect("access log fields are bounded by limits");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The chain era's leaf hash, SM3(0x00 ‖ [`leaf_bytes`]).
pub fn leaf_hash(entry: &AccessEntry) -> [u8; 32] {
    let mut hasher = <Sm3 as sm3::Digest>::new();
    sm3::Digest::update(&mut hasher, [0u8]);
    sm3::Digest::update(&mut hasher, leaf_bytes(entry));
    sm3::Digest::finalize(hasher).into()
}

/// The chain era's next link: SM3(previous chain ‖ leaf hash).
pub fn chain_next(previous: &[u8; 32], leaf_hash: &[u8; 32]) -> [u8; 32] {
    let mut hasher = <Sm3 as sm3::Digest>::new();
    sm3::Digest::update(&mut hasher, previous);
    sm3::Digest::update(&mut hasher, leaf_hash);
    sm3::Digest::finalize(hasher).into()
}

/// The subject designation of a person: `psn:` and SM3 of a domain tag and the `psn_no`, in
/// hex, so that no number is carried around in clear. It is never stored: an append turns it
/// into the leaf's `subject_ref` = HMAC-SM3(k_subject, designation ‖ leaf_nonce) and the person
/// index's HMAC-SM3(k_idx, designation), under keys kept outside the database.
pub fn subject_ref_psn(psn_no: &str) -> String {
    let mut hasher = <Sm3 as sm3::Digest>::new();
    sm3::Digest::update(&mut hasher, b"yibao-subject-v1\0");
    sm3::Digest::update(&mut hasher, psn_no.as_bytes());
    let digest: [u8; 32] = sm3::Digest::finalize(hasher).into();
    format!("psn:{}", hex(&digest))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex SHA-256 of a bearer token: what the session table stores.
pub(crate) fn token_hash(token: &str) -> String {
    hex(&sha2::Sha256::digest(token.as_bytes()))
}

/// 32 bytes from the operating system's generator, hex.
pub(crate) fn new_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
    Ok(hex(&bytes))
}

/// A new random password of 20 characters from an alphabet without look-alikes (`0`/`O`,
/// `1`/`l`/`I`): about 114 bits, for demo accounts and first passwords.
pub fn random_password() -> Result<String, StoreError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
    // 256 is not a multiple of 57: the first 28 symbols are a little likelier, which costs
    // well under a bit over 20 characters.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

/// Argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane) with a 16-byte random salt, as a
/// PHC string.
pub(crate) fn hash_password(password: &str) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Invariant(format!("hashing a password: {e}")))
}

/// Whether `password` matches the stored PHC string (the comparison is constant-time in the
/// `password-hash` crate). A stored string that does not parse matches nothing.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid Argon2id hash of nothing anyone knows, verified for an unknown username so that its
/// refusal takes as long as a wrong password's.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("no account has this password").unwrap_or_else(|_| String::from("$argon2id"))
    })
}

/// Runs password hashing off the async threads (tens of milliseconds of CPU).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Invariant(format!("a password task failed: {e}")))
}

fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), StoreError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(StoreError::bad(
            field,
            format!("must be {min}–{max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::bad(field, "contains a control character"));
    }
    Ok(())
}

/// Checks a username: 3–64 characters of `a-z 0-9 . _ -`.
pub fn check_username(username: &str) -> Result<(), StoreError> {
    check_text("username", username, 3, limits::USERNAME_CHARS_MAX)?;
    if !username
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(StoreError::bad(
            "username",
            "may hold only a-z, 0-9, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Checks a new password's length (12 characters at least; the upper bound bounds hashing).
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let n = password.chars().count();
    if n < limits::PASSWORD_CHARS_MIN || password.len() > limits::PASSWORD_BYTES_MAX {
        return Err(StoreError::bad(
            "password",
            format!(
                "must be at least {} characters and at most {} bytes",
                limits::PASSWORD_CHARS_MIN,
                limits::PASSWORD_BYTES_MAX
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_entry(entry: &AccessEntry) -> Result<(), StoreError> {
    for (field, value, max) in [
        ("action", &entry.action, limits::LOG_FIELD_CHARS_MAX),
        (
            "subject_ref",
            &entry.subject_ref,
            limits::LOG_FIELD_CHARS_MAX,
        ),
    ] {
        check_text(field, value, 0, max)?;
    }
    // The leaf holds these as codes (translog: printable ASCII, at most 64 bytes). A reason that
    // is not a code is kept as text in the leaf's committed details (access_log.rs).
    check_text("reason", &entry.reason, 0, limits::LOG_FIELD_CHARS_MAX)?;
    for (field, value) in [("event", &entry.event), ("purpose", &entry.purpose)] {
        if value.len() > 64 || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(StoreError::bad(
                field,
                "must be a code: at most 64 printable ASCII characters",
            ));
        }
    }
    if entry.event.is_empty() || entry.action.is_empty() {
        return Err(StoreError::bad("event", "event and action are required"));
    }
    Ok(())
}

impl Store {
    /// Creates a staff account (Argon2id password hash, roles checked by [`check_roles`]) and
    /// logs `account.create` by `actor` (`None`: the command line). A taken username is
    /// [`StoreError::Refused`].
    pub async fn staff_create(
        &self,
        new: &NewStaff,
        actor: Option<i64>,
        now_ms: i64,
    ) -> Result<StaffAccount, StoreError> {
        check_username(&new.username)?;
        check_password(&new.password)?;
        check_text("display_name", &new.display_name, 1, limits::TEXT_CHARS_MAX)?;
        if new.admdvs.len() != 6 || !new.admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::bad("admdvs", "must be a 6-digit region code"));
        }
        if let Some(code) = &new.fixmedins_code {
            check_text("fixmedins_code", code, 1, limits::ID_CHARS_MAX)?;
        }
        let roles = check_roles(&new.roles, new.fixmedins_code.as_deref())?;
        let password = new.password.clone();
        let hash = blocking(move || hash_password(&password)).await??;
        on_backend!(self, write, |m, pool| {
            m::staff_insert(pool, new, &roles, &hash, actor, now_ms).await
        })
    }

    /// Checks a username and password. On success opens a session (its token returned once)
    /// and logs `session.login`; on failure counts it (locking the account after
    /// [`SessionPolicy::failed_logins_max`] in a row), logs the denial with its reason and
    /// returns why (which the caller must not tell the client).
    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
        policy: &SessionPolicy,
        now_ms: i64,
    ) -> Result<Result<NewSession, LoginDenied>, StoreError> {
        let found = if username.chars().count() <= limits::USERNAME_CHARS_MAX {
            on_backend!(self, read, |m, pool| m::staff_secret(pool, username).await)?
        } else {
            None
        };
        let stored = found
            .as_ref()
            .map(|f| f.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let password = password.to_owned();
        // Bounded so that a huge password cannot make hashing expensive; a longer one is wrong.
        let matches = password.len() <= limits::PASSWORD_BYTES_MAX
            && blocking(move || verify_password(&password, &stored)).await?;
        let Some(found) = found else {
            self.log_access(&AccessEntry {
                ts_ms: now_ms,
                event: "session.login".into(),
                staff_id: None,
                action: "POST /api/v1/session".into(),
                subject_ref: String::new(),
                purpose: String::new(),
                decision: Decision::Deny,
                reason: LoginDenied::UnknownUser.code().into(),
            })
            .await?;
            return Ok(Err(LoginDenied::UnknownUser));
        };
        let token = new_token()?;
        on_backend!(self, write, |m, pool| {
            m::staff_login_record(pool, &found, matches, &token, policy, now_ms).await
        })
    }

    /// What a bearer token is worth at `now_ms`; a valid session's last use moves to now (at
    /// most once per `limits::SESSION_TOUCH_MS_MIN`).
    pub async fn staff_session(
        &self,
        token: &str,
        policy: &SessionPolicy,
        now_ms: i64,
    ) -> Result<SessionCheck, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(SessionCheck::Invalid);
        }
        let hash = token_hash(token);
        let (check, touch) = on_backend!(self, read, |m, pool| m::staff_session_read(
            pool, &hash, policy, now_ms
        )
        .await)?;
        if touch {
            on_backend!(self, write, |m, pool| {
                m::staff_session_touch(pool, &hash, &check, now_ms).await
            })?;
        }
        Ok(check)
    }

    /// Ends the session of `token` (logout) and logs `session.logout`; false when it was not
    /// open.
    pub async fn staff_logout(&self, token: &str, now_ms: i64) -> Result<bool, StoreError> {
        let hash = token_hash(token);
        on_backend!(self, write, |m, pool| m::staff_logout(pool, &hash, now_ms)
            .await)
    }

    /// Replaces the roles of account `staff_id` (checked by [`check_roles`]) and logs
    /// `account.roles` by `actor`. Nobody changes their own roles.
    pub async fn staff_set_roles(
        &self,
        actor: i64,
        staff_id: i64,
        roles: &[Role],
        now_ms: i64,
    ) -> Result<StaffAccount, StoreError> {
        if actor == staff_id {
            return Err(StoreError::refused(
                "staff_id",
                "nobody may change their own roles",
            ));
        }
        on_backend!(self, write, |m, pool| {
            m::staff_set_roles(pool, actor, staff_id, roles, now_ms).await
        })
    }

    /// Deactivates account `staff_id`, ends its sessions and logs `account.deactivate` by
    /// `actor`. Nobody deactivates themselves.
    pub async fn staff_deactivate(
        &self,
        actor: i64,
        staff_id: i64,
        now_ms: i64,
    ) -> Result<StaffAccount, StoreError> {
        if actor == staff_id {
            return Err(StoreError::refused(
                "staff_id",
                "nobody may deactivate their own account",
            ));
        }
        on_backend!(self, write, |m, pool| {
            m::staff_deactivate(pool, actor, staff_id, now_ms).await
        })
    }

    /// The account `staff_id`.
    pub async fn staff_account(&self, staff_id: i64) -> Result<StaffAccount, StoreError> {
        on_backend!(self, read, |m, pool| m::staff_account(pool, staff_id).await)?
            .ok_or_else(|| StoreError::not_found("staff_id", staff_id.to_string()))
    }

    /// Every account, by `staff_id` (at most `limits::STAFF_LIST_MAX`).
    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        on_backend!(self, read, |m, pool| m::staff_accounts(pool).await)
    }

    /// Appends one event to the access log (in its own transaction) and returns its index.
    pub async fn log_access(&self, entry: &AccessEntry) -> Result<i64, StoreError> {
        check_entry(entry)?;
        on_backend!(self, write, |m, pool| m::access_append_alone(pool, entry)
            .await)
    }

    /// Up to `limit` (at most `limits::ACCESS_LOG_PAGE_MAX`) entries after index `after` (-1:
    /// from the first, index 0), in order.
    pub async fn access_log(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::access_log::AccessLogRow>, StoreError> {
        let limit = limit.clamp(1, limits::ACCESS_LOG_PAGE_MAX);
        on_backend!(self, read, |m, pool| m::access_log_page(pool, after, limit)
            .await)
    }

    /// Checks the chain-era log kept by migration 27 (`access_log_chain`): every row's leaf
    /// hash against its fields, the chain from the first row to the last, indexes from 1
    /// without gaps, and the head against the last row.
    pub async fn verify_chain_era(&self) -> Result<ChainReport, StoreError> {
        on_backend!(self, read, |m, pool| m::chain_era_verify(pool).await)
    }
}

/// An account with what only login needs.
#[derive(Debug, Clone)]
pub(crate) struct StaffSecret {
    pub(crate) account: StaffAccount,
    pub(crate) password_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_known_answer() {
        let mut hasher = <Sm3 as sm3::Digest>::new();
        sm3::Digest::update(&mut hasher, b"abc");
        let digest: [u8; 32] = sm3::Digest::finalize(hasher).into();
        assert_eq!(
            hex(&digest),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn separation_of_duties() {
        use Role::*;
        assert!(check_roles(&[Admin, Reviewer], None).is_err());
        assert!(check_roles(&[Auditor, Admin], None).is_err());
        assert!(check_roles(&[Finance, FinalReviewer], None).is_err());
        // 三员分立: the three management posts apart, and apart from the business posts.
        assert!(check_roles(&[SystemAdmin, SecurityAdmin], None).is_err());
        assert!(check_roles(&[SecurityAdmin, SecurityAuditor], None).is_err());
        assert!(check_roles(&[SecurityAuditor, Reviewer], None).is_err());
        assert!(check_roles(&[Inspector, Reviewer], None).is_err());
        assert!(check_roles(&[Admin, SystemAdmin], None).is_ok());
        assert!(check_roles(&[Auditor, SecurityAuditor], None).is_ok());
        assert!(check_roles(&[Institution], None).is_err());
        assert!(check_roles(&[Reviewer], Some("H1")).is_err());
        assert!(check_roles(&[], None).is_err());
        assert_eq!(
            check_roles(&[FinalReviewer, Reviewer, Reviewer], None).unwrap(),
            vec![Reviewer, FinalReviewer]
        );
        assert_eq!(
            check_roles(&[Institution], Some("H1")).unwrap(),
            vec![Institution]
        );
    }

    #[test]
    fn roles_map_to_the_engine_and_back() {
        for role in Role::ALL {
            assert_eq!(role.privacy().code(), role.code());
        }
        let management: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|role| role.is_management())
            .collect();
        use Role::*;
        assert_eq!(
            management,
            [Auditor, Admin, SystemAdmin, SecurityAdmin, SecurityAuditor]
        );
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn a_leaf_changes_with_every_field() {
        let entry = AccessEntry {
            ts_ms: 1,
            event: "data.read".into(),
            staff_id: Some(3),
            action: "GET /x".into(),
            subject_ref: "case:1".into(),
            purpose: "case_review".into(),
            decision: Decision::Permit,
            reason: String::new(),
        };
        let base = leaf_hash(&entry);
        let mut other = entry.clone();
        other.staff_id = None;
        assert_ne!(leaf_hash(&other), base);
        let mut other = entry.clone();
        other.decision = Decision::Deny;
        assert_ne!(leaf_hash(&other), base);
        // Length prefixes keep field boundaries: moving a character between fields changes it.
        let mut other = entry.clone();
        other.action = "GET /".into();
        other.subject_ref = "xcase:1".into();
        assert_ne!(leaf_hash(&other), base);
    }
}
