//! Grants to third parties and the calls made under them (spec data-authorization.md §5, §6.3,
//! §8): registered grantees with their SM2 public keys, the grants people give them, and the
//! enforcement point of a data call. The rules are the privacy engine's ([`yibao_privacy`]); this
//! module stores them and runs each call in one transaction (the SQL is `grants_tx.rs`).
//!
//! A call, in one transaction: record the nonce, load the grant found by the HMAC of its token
//! (locked on PostgreSQL; SQLite has one writer), answer a retried request id from the stored
//! answer, decide with [`yibao_privacy::decide`], consume the use, append the access-log leaf,
//! and only then read the data and store the answer. Nothing is released before the commit, so
//! no answer leaves without its leaf ("no log, no data").
//!
//! The grantee's handle (the grant token) is shown once and stored only as HMAC-SM3 under a
//! [`TokenKey`] the caller holds outside the database.

use chrono::NaiveDate;
use yibao_privacy::decision::DenyCode;
use yibao_privacy::grant::{DataScope, GrantDraft};
use yibao_privacy::{Grant, ItemSet, OutputForm, Purpose};

use crate::error::StoreError;
use crate::{Pool, Store};

/// Nonces are remembered this long; a request older than the skew window is refused anyway
/// (§6.1: nonces seen in the last 600 s).
pub const NONCE_WINDOW_MS: i64 = 600_000;
/// Characters of a request id or a nonce: a UUID with room to spare.
pub const REQUEST_ID_CHARS_MAX: usize = 64;
/// Settlements in one answer: a person's year of outpatient visits; more needs a narrower period.
pub const SETTLEMENTS_PER_ANSWER_MAX: i64 = 500;
/// Grants listed for one person.
pub const GRANTS_PER_PERSON_MAX: i64 = 1_000;
/// Grants ended by one expiry sweep; the sweep runs again for the rest.
pub const EXPIRE_SWEEP_MAX: i64 = 1_000;
/// Codes in one health-declaration question.
pub const QUESTION_CODES_MAX: usize = 50;
/// Characters of the pairwise subject pseudonym `sub` (§5.3: 26 characters).
pub const SUB_CHARS: usize = 26;

/// The key under which grant tokens are stored (HMAC-SM3) and pairwise pseudonyms derived.
/// Held outside the database (a key file or the 密码机); never written to it.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> TokenKey {
        TokenKey(bytes)
    }

    /// A fresh random key.
    pub fn random() -> Result<TokenKey, StoreError> {
        yibao_gm::random_bytes()
            .map(TokenKey)
            .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))
    }

    /// The key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<TokenKey, StoreError> {
        unhex(text.trim())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .map(TokenKey)
            .ok_or_else(|| StoreError::bad("token_key", "must be 64 hex digits (32 bytes)"))
    }

    /// The stored form of a token: hex of HMAC-SM3(key, token).
    pub fn token_mac(&self, token: &str) -> String {
        hex(&yibao_gm::hmac_sm3(&self.0, token.as_bytes()))
    }

    /// The grantee's pseudonym of a person (§5.3 `sub`): stable per grantee, unlinkable across
    /// grantees without the key.
    pub fn pairwise_sub(&self, grantee_id: &str, subject: &str) -> String {
        let message = [
            b"sub\0".as_slice(),
            grantee_id.as_bytes(),
            b"\0",
            subject.as_bytes(),
        ]
        .concat();
        let mut sub = hex(&yibao_gm::hmac_sm3(&self.0, &message));
        sub.truncate(SUB_CHARS);
        sub
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

/// What kind of organisation a grantee is (R8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GranteeKind {
    /// A commercial insurer.
    Insurer,
    /// A bank (P07 institution credit).
    Bank,
    /// A third-party administrator.
    Tpa,
}

impl GranteeKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            GranteeKind::Insurer => "insurer",
            GranteeKind::Bank => "bank",
            GranteeKind::Tpa => "tpa",
        }
    }

    /// The kind with this code.
    pub fn parse(code: &str) -> Option<GranteeKind> {
        [GranteeKind::Insurer, GranteeKind::Bank, GranteeKind::Tpa]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// A grantee to register.
#[derive(Debug, Clone)]
pub struct NewGrantee {
    /// Its registration id (`insurer-a`): 1–30 characters of `a-z 0-9 -`.
    pub grantee_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: GranteeKind,
    /// The SM2 public key its requests are signed with.
    pub public_key: yibao_gm::VerifyingKey,
    /// The purposes approved for it.
    pub purposes: Vec<Purpose>,
}

/// A registered grantee as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranteeRecord {
    /// Its registration id.
    pub grantee_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: GranteeKind,
    /// Its SM2 public key.
    pub public_key: yibao_gm::VerifyingKey,
    /// The purposes approved for it.
    pub purposes: Vec<Purpose>,
    /// False while suspended: every call is refused.
    pub active: bool,
}

/// A grant as stored, with its log leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant (terms and state).
    pub grant: Grant,
    /// The grantee's pseudonym of the subject.
    pub sub: String,
    /// The log leaf of `grant.created`.
    pub created_leaf: i64,
    /// The log leaf of the revocation or expiry, once ended that way.
    pub ended_leaf: Option<i64>,
    /// When it was revoked or expired (UTC ms).
    pub ended_at_ms: Option<i64>,
}

/// A grant just given: the token is shown here once and never again.
#[derive(Debug, Clone)]
pub struct GivenGrant {
    /// The grantee's handle: 256 random bits, hex.
    pub token: String,
    /// The stored grant.
    pub record: GrantRecord,
}

/// What a call reads once permitted; each query serves some items only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallQuery {
    /// P01 identity check: does the name match, does the ID number's SM3 (hex) match, is the
    /// person an adult, insured, in which scheme. Derived answers only.
    IdentityCheck {
        /// The name the person gave the insurer.
        name: String,
        /// SM3 of the ID number the person gave, 64 hex digits.
        id_number_sm3: String,
    },
    /// P02 health declaration: was any of these diagnosis codes (prefixes) recorded in the
    /// period? A yes or no; the question may not name special-list codes.
    HealthQuestion {
        /// The codes of the registered question.
        codes: Vec<String>,
    },
    /// P04/P05 settlement summaries in the period or of the bound settlement (fields or masked
    /// fields of ST01, ST02, ST04, ST08).
    Settlements,
    /// P03 direct claims (理赔直付, rules-in): the insurer's filed [`ClaimRule`] runs inside the
    /// bureau on each settlement in the grant's scope; only claim results leave, and each payout
    /// is posted once in the ledger.
    DirectClaims,
}

impl CallQuery {
    /// The items this query can answer.
    pub fn served_items(&self) -> ItemSet {
        let codes: &[&str] = match self {
            CallQuery::IdentityCheck { .. } => &["ID02", "ID04", "ID06", "IN01", "IN03"],
            CallQuery::HealthQuestion { .. } => &["VS04"],
            CallQuery::Settlements => &["ST01", "ST02", "ST04", "ST08"],
            CallQuery::DirectClaims => &["ST01", "ST04"],
        };
        codes
            .iter()
            .map(|code| yibao_privacy::classification::item(code))
            .collect()
    }

    /// The query's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            CallQuery::IdentityCheck { .. } => "identity_check",
            CallQuery::HealthQuestion { .. } => "health_declaration",
            CallQuery::Settlements => "settlements_query",
            CallQuery::DirectClaims => "direct_claims",
        }
    }
}

/// One data call as the data service verified it.
#[derive(Debug, Clone)]
pub struct GrantCall {
    /// The grantee named in the request.
    pub grantee_id: String,
    /// Whether the request's SM2 signature verified under the grantee's registered key.
    pub signature_valid: bool,
    /// The request's signed timestamp (UTC ms).
    pub timestamp_ms: i64,
    /// The request's nonce.
    pub nonce: String,
    /// The grantee's request id (idempotency key).
    pub request_id: String,
    /// SM3 of the request body: a retried request id with another body is a replay.
    pub request_digest: [u8; 32],
    /// The endpoint (`POST /open/v1/identity-checks`), for the log.
    pub action: String,
    /// The purpose the endpoint serves (the settlements query serves P04 and P05 and takes the
    /// grant's when it is either).
    pub purpose: Purpose,
    /// The grant token presented.
    pub token: String,
    /// The items asked for; None: every item of the grant the query serves.
    pub items: Option<ItemSet>,
    /// The data asked for; None: the grant's own period or event.
    pub scope: Option<DataScope>,
    /// The form asked for; None: the grant's.
    pub output_form: Option<OutputForm>,
    /// What to read.
    pub query: CallQuery,
}

/// The outcome of a call, as stored and as given back to a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAnswer {
    /// None when permitted; the public code when refused.
    pub code: Option<DenyCode>,
    /// The answer, JSON (the data and the items it carries, or the error).
    pub body: String,
    /// The access-log record of the call (its outbox id), committed with the call; the
    /// sequencer makes it a leaf, which [`Store::call_leaf`] then names.
    pub log_ref: i64,
    /// True when this is the stored answer of an earlier call with the same request id.
    pub replayed: bool,
}

/// The ledger account of what a grantee owes under its direct claims (its clearing position).
pub fn insurer_account(grantee_id: &str) -> String {
    format!("insurer:{grantee_id}")
}

/// The ledger account of what direct claims owe a person (paid out to them by the bureau).
pub fn claim_payout_account(psn_no: &str) -> String {
    format!("claimpay:{psn_no}")
}

/// Transfer kind of a direct-claim payout.
pub const KIND_DIRECT_CLAIM: &str = "direct_claim";

/// Transfer kind of a direct-claim payout given back when its settlement is reversed.
pub const KIND_DIRECT_CLAIM_REVERSAL: &str = "direct_claim_reversal";

/// An insurer's direct-claim rule for one product, as data (§8.3 rules-in): it pays its share
/// of the personal cash part left after the basic funds, up to a cap per claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    /// The rule's version, returned with every result (`H-2026.1`).
    pub rule_version: String,
    /// The share of the personal cash part, in basis points (0–10000).
    pub share_bp: i64,
    /// The most one claim pays, fen.
    pub cap_fen: i64,
}

impl ClaimRule {
    /// What a claim pays on a settlement whose personal cash part is `cash_fen`: the share,
    /// rounded down to the fen, never above the cap or the cash part, never negative.
    pub fn payable(&self, cash_fen: i64) -> i64 {
        let base = i128::from(cash_fen.max(0));
        let share = base * i128::from(self.share_bp.clamp(0, 10_000)) / 10_000;
        let payable = share.min(i128::from(self.cap_fen.max(0)));
        i64::try_from(payable).expect("a share of an i64 amount fits an i64")
    }
}

impl Store {
    /// Files an insurer's direct-claim rule for one of its products (P03 approved). A product
    /// has one rule; a new version is a new product code.
    pub async fn file_claim_rule(
        &self,
        grantee_id: &str,
        product_id: &str,
        rule: &ClaimRule,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if !(0..=10_000).contains(&rule.share_bp) {
            return Err(StoreError::bad("share_bp", "must be 0 to 10000"));
        }
        if rule.cap_fen < 0 {
            return Err(StoreError::bad("cap_fen", "must not be negative"));
        }
        if rule.rule_version.is_empty() || product_id.is_empty() {
            return Err(StoreError::bad(
                "rule_version",
                "and product_id must not be empty",
            ));
        }
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::claim_rule_insert($p, grantee_id, product_id, rule, now_ms).await
            };
        }
        on_backend_writing!(self, (), run)
    }

    /// Registers a grantee (an insurer, a bank) with its SM2 public key and approved purposes.
    pub async fn register_grantee(
        &self,
        new: &NewGrantee,
        now_ms: i64,
    ) -> Result<GranteeRecord, StoreError> {
        check_grantee_id(&new.grantee_id)?;
        if new.name.trim().is_empty() {
            return Err(StoreError::bad("name", "is empty"));
        }
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grantee_insert($p, new, now_ms).await
            };
        }
        on_backend_writing!(self, GranteeRecord, run)
    }

    /// The grantee with this id, if registered.
    pub async fn grantee(&self, grantee_id: &str) -> Result<Option<GranteeRecord>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::grantee_read(p, grantee_id).await,
            Pool::Sq { pool, .. } => crate::sq::grantee_read(pool, grantee_id).await,
        }
    }

    /// Suspends (false) or reinstates (true) a grantee: while suspended every call under its
    /// grants is refused (R8), without touching the grants.
    pub async fn set_grantee_active(
        &self,
        grantee_id: &str,
        active: bool,
        now_ms: i64,
    ) -> Result<GranteeRecord, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grantee_set_active($p, grantee_id, active, now_ms).await
            };
        }
        on_backend_writing!(self, GranteeRecord, run)
    }

    /// Gives a grant: the draft is checked by [`yibao_privacy::create_grant`], the grantee must
    /// be registered, active and approved for the purpose; the grant is stored with a fresh
    /// token (only its HMAC under `key`) and its `grant.created` leaf in one transaction. A proxy
    /// grantor's facts are replaced by the stored ones and checked by
    /// [`yibao_privacy::proxy::may_act`] (see [`crate::safebox`]).
    pub async fn give_grant(
        &self,
        draft: GrantDraft,
        key: &TokenKey,
    ) -> Result<GivenGrant, StoreError> {
        if matches!(draft.grantor, yibao_privacy::grant::Grantor::Proxy(_)) {
            return self.give_grant_by_proxy(draft, key).await;
        }
        let grant = yibao_privacy::create_grant(draft).map_err(|e| privacy_bad("grant", e))?;
        if grant.id().is_empty() || grant.id().chars().count() > crate::limits::ID_CHARS_MAX {
            return Err(StoreError::bad("grant_id", "must be 1 to 30 characters"));
        }
        let token = yibao_gm::random_token()
            .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
        let token_mac = key.token_mac(&token);
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grant_insert($p, &grant, &token_mac, key).await
            };
        }
        let record = on_backend_writing!(self, GrantRecord, run)?;
        Ok(GivenGrant { token, record })
    }

    /// The grant with this id, if any.
    pub async fn grant(
        &self,
        grant_id: &str,
        key: &TokenKey,
    ) -> Result<Option<GrantRecord>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::grant_read(p, grant_id, key).await,
            Pool::Sq { pool, .. } => crate::sq::grant_read(pool, grant_id, key).await,
        }
    }

    /// A person's grants, newest consent first (at most [`GRANTS_PER_PERSON_MAX`]).
    pub async fn grants_of(
        &self,
        subject: &str,
        key: &TokenKey,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::grants_of_subject(p, subject, key).await,
            Pool::Sq { pool, .. } => crate::sq::grants_of_subject(pool, subject, key).await,
        }
    }

    /// Revocation by the subject (R5): effective for every call decided after it commits; its
    /// leaf is written in the same transaction. A grant of someone else is "not found".
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        subject: &str,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<GrantRecord, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grant_revoke($p, grant_id, subject, key, now_ms).await
            };
        }
        on_backend_writing!(self, GrantRecord, run)
    }

    /// Marks grants past `not_after` EXPIRED, each with its leaf; returns their ids (at most
    /// [`EXPIRE_SWEEP_MAX`] per sweep).
    pub async fn expire_grants(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grants_expire($p, now_ms).await
            };
        }
        on_backend_writing!(self, Vec<String>, run)
    }

    /// Removes the nonces seen before the replay window ([`NONCE_WINDOW_MS`]); a call treats
    /// such a nonce as new anyway, so this only keeps the table small. Returns how many went.
    pub async fn prune_nonces(&self, now_ms: i64) -> Result<u64, StoreError> {
        on_backend!(self, write, |m, pool| m::grantee_nonces_prune(
            pool,
            now_ms - NONCE_WINDOW_MS
        )
        .await)
    }

    /// Runs one data call (§6.3) in one transaction: see the module. A refused call is an
    /// answer with a code, not an error; an error means nothing was consumed, logged or given.
    pub async fn grant_call(
        &self,
        call: &GrantCall,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<CallAnswer, StoreError> {
        check_call(call)?;
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::grant_call_run($p, call, key, now_ms).await
            };
        }
        on_backend_writing!(self, CallAnswer, run)
    }
}

/// Where a grantee's call stands in the access log: the receipt `GET /open/v1/receipts/{log_ref}`
/// gives.
#[derive(Debug, Clone)]
pub enum CallReceipt {
    /// The call's record waits in the outbox for the sequencer (milliseconds, as a rule).
    Pending,
    /// The record is a leaf: its receipt, with the inclusion proof once a signed checkpoint
    /// covers it.
    InLog(Box<crate::safebox::Receipt>),
}

impl Store {
    /// The receipt of a call `grantee_id` made, by the `log_ref` its answer carried: another
    /// grantee's call, or a refusal that recorded no call, is not found.
    pub async fn call_receipt(
        &self,
        grantee_id: &str,
        log_ref: i64,
    ) -> Result<CallReceipt, StoreError> {
        let owned = match &self.inner.pool {
            Pool::Pg(p) => crate::pg::grant_call_owned(p, grantee_id, log_ref).await?,
            Pool::Sq { pool, .. } => crate::sq::grant_call_owned(pool, grantee_id, log_ref).await?,
        };
        if !owned {
            return Err(StoreError::not_found("log_ref", log_ref.to_string()));
        }
        match self.call_leaf(log_ref).await? {
            None => Ok(CallReceipt::Pending),
            Some(idx) => Ok(CallReceipt::InLog(Box::new(self.receipt(idx).await?))),
        }
    }

    /// The leaf a call's log record (`CallAnswer::log_ref`) became, once the sequencer took it;
    /// `None` while it waits in the outbox.
    pub async fn call_leaf(&self, log_ref: i64) -> Result<Option<i64>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::outbox_leaf(p, log_ref).await,
            Pool::Sq { pool, .. } => crate::sq::outbox_leaf(pool, log_ref).await,
        }
    }
}

fn privacy_bad(field: &str, error: yibao_privacy::PrivacyError) -> StoreError {
    StoreError::bad(field, error.to_string())
}

fn check_grantee_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.chars().count() <= crate::limits::ID_CHARS_MAX
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::bad(
            "grantee_id",
            "must be 1 to 30 characters of a-z, 0-9 and -",
        ))
    }
}

/// Bad input in a call is refused before the transaction: nothing consumed, nothing logged.
fn check_call(call: &GrantCall) -> Result<(), StoreError> {
    for (field, value) in [
        ("request_id", &call.request_id),
        ("nonce", &call.nonce),
        ("grantee", &call.grantee_id),
    ] {
        if value.is_empty() || value.chars().count() > REQUEST_ID_CHARS_MAX {
            return Err(StoreError::bad(
                field,
                format!("must be 1 to {REQUEST_ID_CHARS_MAX} characters"),
            ));
        }
    }
    if let Some(items) = &call.items {
        let outside = items.difference(&call.query.served_items());
        if items.is_empty() {
            return Err(StoreError::bad("items", "names no item"));
        }
        if !outside.is_empty() {
            return Err(StoreError::bad(
                "items",
                format!("this endpoint does not serve {outside}"),
            ));
        }
    }
    match &call.query {
        CallQuery::IdentityCheck { id_number_sm3, .. } => {
            if unhex(id_number_sm3).is_none_or(|bytes| bytes.len() != 32) {
                return Err(StoreError::bad("id_number_sm3", "must be 64 hex digits"));
            }
        }
        CallQuery::HealthQuestion { codes } => {
            if codes.len() > QUESTION_CODES_MAX {
                return Err(StoreError::bad(
                    "codes",
                    format!("at most {QUESTION_CODES_MAX} codes"),
                ));
            }
            yibao_privacy::derived::register_health_question(yibao_privacy::builtin(), codes)
                .map_err(|e| privacy_bad("codes", e))?;
        }
        CallQuery::Settlements | CallQuery::DirectClaims => {}
    }
    Ok(())
}

/// The UTC calendar day of an instant.
pub(crate) fn day_of(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.date_naive())
        .unwrap_or(NaiveDate::MIN)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
