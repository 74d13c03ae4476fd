//! The person's safe box (数字保险箱, spec data-authorization.md §7) and proxies (§5.7), as the
//! store keeps them: safe-box sessions opened with the person's e-voucher (only an HMAC of the
//! session token is stored), what the platform holds about a person by table, the uses of their
//! data from the access log with receipts, P06 delegations, staff-verified guardianships, what
//! proxies did, and the pause of third-party sharing. The SQL is `safebox_tx.rs`.
//!
//! Every safe-box action appends an access-log leaf (§9.1), in the transaction of the change or
//! before any data is returned ("no log, no data"). A proxy's action is logged about the subject
//! (so it is in the subject's person index), its reason says `actor=proxy` and the relation, and a
//! `proxy_action` row ties the leaf to the proxy, so it shows in both safe boxes.
//!
//! Proxies act only on stored facts (T7): a guardianship staff verified (the minor's age from
//! the registry's birth date), a delegation the subject confirmed with a fresh factor, or a
//! family-account binding, which alone shows the code and pays, nothing more
//! ([`yibao_privacy::proxy::may_act`]).

use yibao_privacy::proxy::{Delegation, ProxyFacts, Relation};
use yibao_privacy::{ItemSet, Millis};

use crate::error::StoreError;
use crate::grants::TokenKey;
use crate::registry::PersonKey;
use crate::staff::Decision;
use crate::{Pool, Store};

/// A session ends after this long without a request.
pub const SESSION_IDLE_MS: i64 = 30 * 60_000;
/// A session ends this long after it was opened, whatever happens.
pub const SESSION_ABSOLUTE_MS: i64 = 8 * 3_600_000;
/// A second authentication counts as fresh this long (level-3 items, consents, delegations).
pub const FRESH_FACTOR_MS: i64 = yibao_privacy::limits::FACTOR_AGE_MAX_MS;
/// Uses listed in one safe-box page (each with its receipt): the newest ones.
pub const USES_PAGE_MAX: i64 = 200;
/// Delegations a person may have in force at once (the family-account cap of §2.3).
pub const DELEGATIONS_IN_FORCE_MAX: i64 = yibao_privacy::limits::FAMILY_MEMBERS_MAX as i64;
/// Delegations and proxy actions listed for one person.
pub const FAMILY_ROWS_MAX: i64 = 500;
/// Characters of an e-voucher token presented (the national `ecToken` is 40).
pub const EC_TOKEN_CHARS_MAX: usize = 64;

/// The purpose code of the person's own safe-box actions in the log.
pub const PURPOSE_SELF: &str = "self_service";
/// The purpose code of a proxy's actions in the log.
pub const PURPOSE_PROXY: &str = "proxy";

/// A safe-box session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeboxSession {
    /// The person signed in.
    pub psn_no: String,
    /// When it was opened (UTC ms).
    pub started_at_ms: i64,
    /// The last request (UTC ms).
    pub last_seen_ms: i64,
    /// The last fresh authentication (UTC ms).
    pub factor_at_ms: i64,
    /// The factor's evidence: HMAC of the credential presented.
    pub factor_ref: String,
}

impl SafeboxSession {
    /// Whether the last authentication is fresh enough for level-3 items and consents at `now`.
    pub fn has_fresh_factor(&self, now_ms: i64) -> bool {
        (0..=FRESH_FACTOR_MS).contains(&(now_ms - self.factor_at_ms))
    }

    /// When the session ends unless used again (UTC ms).
    pub fn expires_at_ms(&self) -> i64 {
        (self.last_seen_ms + SESSION_IDLE_MS).min(self.started_at_ms + SESSION_ABSOLUTE_MS)
    }
}

/// The outcome of a sign-in with an e-voucher token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// A session: its token is shown here once.
    Opened {
        /// The session token (256 random bits, hex).
        token: String,
        /// The session.
        session: SafeboxSession,
        /// The log leaf of the sign-in.
        leaf_idx: i64,
    },
    /// Refused; the reason never says whether a person exists.
    Denied {
        /// The log leaf of the refusal.
        leaf_idx: i64,
    },
}

/// Who acts in the safe box: the person for themself, or a proxy for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeboxActor {
    /// The person signed in.
    pub actor: String,
    /// Whose data.
    pub subject: String,
}

impl SafeboxActor {
    /// The person acting for themself.
    pub fn own(psn_no: &str) -> Self {
        Self {
            actor: psn_no.to_owned(),
            subject: psn_no.to_owned(),
        }
    }

    /// Whether a proxy acts.
    pub fn is_proxy(&self) -> bool {
        self.actor != self.subject
    }
}

/// One safe-box event to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeboxEvent {
    /// When (UTC ms).
    pub ts_ms: i64,
    /// Who acted, for whom.
    pub who: SafeboxActor,
    /// The relation when a proxy acts (`guardian`, `delegate` …), empty otherwise.
    pub relation: String,
    /// The event (`safebox.view`, `delegation.created` …).
    pub event: String,
    /// The endpoint (`GET /self/v1/data`).
    pub action: String,
    /// Permitted or refused.
    pub decision: Decision,
    /// More, as a code or short text (`items=ID02,IN03`).
    pub detail: String,
}

/// One table the platform holds rows of for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableHeld {
    /// The table.
    pub table: &'static str,
    /// Rows about the person.
    pub rows: i64,
    /// The latest date in them (`YYYY-MM-DD…`), when the table has one.
    pub latest: Option<String>,
}

/// What the platform holds about a person, read after its log leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdings {
    /// The leaf that logged the view.
    pub leaf_idx: i64,
    /// Tables with rows about the person (and those without, with 0 rows).
    pub tables: Vec<TableHeld>,
    /// Cheap values by `table.column` (identity, insurance, identity categories, the last
    /// year's settlements summed); several rows are listed in order.
    pub values: Vec<(String, Vec<String>)>,
    /// The person's age in whole years on the day of the view.
    pub age_years: Option<u32>,
}

/// One use of a person's data, from the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonUse {
    /// The leaf.
    pub row: crate::AccessLogRow,
    /// The staff member's account, when staff acted.
    pub staff: Option<crate::StaffAccount>,
    /// When a proxy acted: (proxy, subject, relation).
    pub proxy: Option<(String, String, String)>,
}

/// A receipt for one use (§9.6): the leaf, its proof to the newest signed checkpoint and that
/// checkpoint's witness cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The leaf's index.
    pub idx: i64,
    /// The canonical leaf bytes (the details stay behind their commitment).
    pub leaf: Vec<u8>,
    /// The proof and the checkpoint, once a signed checkpoint covers the leaf.
    pub proof: Option<crate::LeafProof>,
    /// The witnesses' cosignature lines of that checkpoint.
    pub cosignatures: Vec<String>,
}

impl Receipt {
    /// The receipt as the safe box and the data service give it: the leaf and, once a signed
    /// checkpoint covers it, the inclusion proof, the checkpoint note with the witnesses'
    /// cosignatures, and whether the proof checks (`verified`).
    pub fn to_json(&self) -> serde_json::Value {
        let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
        let Some(proof) = &self.proof else {
            return serde_json::json!({
                "leaf_index": self.idx,
                "leaf_hex": hex(&self.leaf),
                "pending": "no signed checkpoint covers this use yet; ask again after the next one",
            });
        };
        let verified = yibao_translog::tree::verify_inclusion(
            &self.leaf,
            self.idx as u64,
            proof.size as u64,
            &proof.root,
            &proof.proof,
        )
        .is_ok();
        let note = proof
            .checkpoint
            .as_ref()
            .map(|c| yibao_translog::checkpoint::add_cosignatures(&c.note, &self.cosignatures));
        serde_json::json!({
            "leaf_index": self.idx,
            "leaf_hex": hex(&self.leaf),
            "tree_size": proof.size,
            "root_hex": hex(&proof.root),
            "proof": proof.proof.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
            "checkpoint_note": note,
            "log_public_key": proof.checkpoint.as_ref().map(|c| c.public_key.clone()),
            "cosignatures": self.cosignatures,
            "verified": verified,
        })
    }
}

/// A delegation to give (P06).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelegation {
    /// The store's id.
    pub delegation_id: String,
    /// Who delegates.
    pub subject: String,
    /// Who may act.
    pub proxy: String,
    /// The items.
    pub items: ItemSet,
    /// Whether the subject ticked level-3 items.
    pub level3_ticked: bool,
    /// Start (UTC ms).
    pub not_before_ms: i64,
    /// End (exclusive, UTC ms).
    pub not_after_ms: i64,
    /// The subject's fresh authentication (UTC ms) behind it.
    pub factor_at_ms: i64,
    /// When (UTC ms).
    pub now_ms: i64,
}

/// A delegation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationRecord {
    /// The id.
    pub delegation_id: String,
    /// Who delegated.
    pub subject: String,
    /// Who may act.
    pub proxy: String,
    /// The items.
    pub items: ItemSet,
    /// Level-3 items ticked.
    pub level3_ticked: bool,
    /// Start (UTC ms).
    pub not_before_ms: i64,
    /// End (exclusive, UTC ms).
    pub not_after_ms: i64,
    /// The leaf of its creation.
    pub created_leaf: i64,
    /// When it was ended, by whom, and its leaf.
    pub ended: Option<(i64, String, i64)>,
}

impl DelegationRecord {
    /// Whether it is in force at `now`.
    pub fn in_force(&self, now_ms: i64) -> bool {
        self.ended.is_none() && self.not_before_ms <= now_ms && now_ms < self.not_after_ms
    }

    /// The engine's view of it.
    pub fn engine(&self) -> Delegation {
        Delegation {
            items: self.items.clone(),
            not_after: Millis(self.not_after_ms),
            level3_ticked: self.level3_ticked,
            revoked: self.ended.is_some(),
        }
    }
}

/// A guardianship staff checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGuardianship {
    /// The minor or the adult under guardianship.
    pub subject: String,
    /// The guardian.
    pub guardian: String,
    /// True for a court-appointed guardian of an adult; false for a guardian of a minor.
    pub court: bool,
    /// The document checked (household register, birth certificate, court order number).
    pub document_no: String,
    /// The staff member who checked it.
    pub verified_by: i64,
}

/// What a proxy did, as the family page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyActionRow {
    /// The log leaf.
    pub leaf_idx: i64,
    /// The proxy.
    pub proxy: String,
    /// The subject.
    pub subject: String,
    /// The relation (`guardian`, `delegate` …).
    pub relation: String,
    /// The event or endpoint.
    pub action: String,
    /// When (UTC ms).
    pub at_ms: i64,
}

/// A person's proxies, the people they act for, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Family {
    /// Delegations given or received, newest first.
    pub delegations: Vec<DelegationRecord>,
    /// Guardianships (subject, guardian, court) where the person is either.
    pub guardianships: Vec<(String, String, bool)>,
    /// Family-account bindings (psn_no, family_psn_no) in force where the person is either.
    pub family_accounts: Vec<(String, String)>,
    /// Proxy actions where the person is the proxy or the subject, newest first.
    pub actions: Vec<ProxyActionRow>,
}

/// The code of a relation in the log and the family page.
pub fn relation_code(relation: Relation) -> &'static str {
    match relation {
        Relation::Guardian => "guardian",
        Relation::CourtGuardian => "court_guardian",
        Relation::FamilyAccount => "family_account",
        Relation::Delegate => "delegate",
        Relation::RelativeOfDeceased => "relative_of_deceased",
    }
}

/// The stored form of a safe-box session token.
pub(crate) fn session_mac(key: &TokenKey, token: &str) -> String {
    key.token_mac(&format!("safebox-session\0{token}"))
}

/// The stored evidence of an e-voucher presented: never the token itself.
pub(crate) fn factor_ref(key: &TokenKey, ec_token: &str) -> String {
    key.token_mac(&format!("e-voucher\0{ec_token}"))
}

fn check_token(field: &str, token: &str) -> Result<(), StoreError> {
    if token.is_empty()
        || token.chars().count() > EC_TOKEN_CHARS_MAX
        || !token.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(StoreError::bad(
            field,
            format!("must be 1 to {EC_TOKEN_CHARS_MAX} letters or digits"),
        ));
    }
    Ok(())
}

fn check_psn(field: &str, psn_no: &str) -> Result<(), StoreError> {
    if psn_no.is_empty() || psn_no.chars().count() > crate::limits::ID_CHARS_MAX {
        return Err(StoreError::bad(field, "must be 1 to 30 characters"));
    }
    Ok(())
}

impl Store {
    /// The person an e-voucher token names on the day of `now_ms`, through the registry's own
    /// lookup (the one 1101 uses); None when it names nobody or is not in force.
    async fn person_of_ec_token(
        &self,
        ec_token: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let key = PersonKey::EcToken(ec_token.to_owned());
        match self
            .person_info_by(&key, crate::grants::day_of(now_ms))
            .await
        {
            Ok(info) => Ok(Some(info.base.psn_no)),
            Err(StoreError::NotFound { .. } | StoreError::Refused { .. }) => Ok(None),
            Err(StoreError::BadInput { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Opens a safe-box session with the person's e-voucher token (§6.4 e-voucher factor): the
    /// token must name a person and be in force; the session's token is returned once and only
    /// its HMAC under `key` stored. The sign-in counts as a fresh factor. A refusal is logged
    /// too, without a subject.
    pub async fn safebox_sign_in(
        &self,
        ec_token: &str,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<SignIn, StoreError> {
        check_token("ec_token", ec_token)?;
        let person = self.person_of_ec_token(ec_token, now_ms).await?;
        let token = yibao_gm::random_token()
            .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
        let mac = session_mac(key, &token);
        let evidence = factor_ref(key, ec_token);
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_sign_in($p, person.as_deref(), &mac, &evidence, now_ms).await
            };
        }
        let opened = on_backend_writing!(self, (Option<SafeboxSession>, i64), run)?;
        Ok(match opened {
            (Some(session), leaf_idx) => SignIn::Opened {
                token,
                session,
                leaf_idx,
            },
            (None, leaf_idx) => SignIn::Denied { leaf_idx },
        })
    }

    /// The session a token opens at `now_ms`, touched (its idle clock restarts); None when
    /// unknown, signed out, idle for [`SESSION_IDLE_MS`] or older than [`SESSION_ABSOLUTE_MS`].
    pub async fn safebox_session(
        &self,
        token: &str,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<Option<SafeboxSession>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let mac = session_mac(key, token);
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_session_touch($p, &mac, now_ms).await
            };
        }
        on_backend_writing!(self, Option<SafeboxSession>, run)
    }

    /// A second, fresh authentication in an open session: the e-voucher token presented again
    /// must name the session's person; it is recorded as the session's factor (and logged).
    pub async fn safebox_confirm_factor(
        &self,
        session: &SafeboxSession,
        token: &str,
        ec_token: &str,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<SafeboxSession, StoreError> {
        check_token("ec_token", ec_token)?;
        let person = self.person_of_ec_token(ec_token, now_ms).await?;
        let matches = person.as_deref() == Some(session.psn_no.as_str());
        let mac = session_mac(key, token);
        let evidence = factor_ref(key, ec_token);
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_factor($p, &mac, &session.psn_no, matches, &evidence, now_ms).await
            };
        }
        let updated = on_backend_writing!(self, Option<SafeboxSession>, run)?;
        updated.ok_or_else(|| {
            StoreError::refused(
                "ec_token",
                "does not confirm the person signed in (unknown, not in force or another person's)",
            )
        })
    }

    /// Signs a session out (logged); false when it was not open.
    pub async fn safebox_sign_out(
        &self,
        token: &str,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mac = session_mac(key, token);
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_sign_out($p, &mac, now_ms).await
            };
        }
        on_backend_writing!(self, bool, run)
    }

    /// Appends one safe-box event (and, for a proxy, its `proxy_action` row) in one
    /// transaction; returns the leaf.
    pub async fn safebox_log(&self, event: &SafeboxEvent) -> Result<i64, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_log_alone($p, event).await
            };
        }
        on_backend_writing!(self, i64, run)
    }

    /// What the platform holds about the subject: rows and latest dates per table, and the
    /// cheap values. The view's leaf (`event`) is appended in the transaction that reads.
    pub async fn safebox_holdings(&self, event: &SafeboxEvent) -> Result<Holdings, StoreError> {
        check_psn("psn_no", &event.who.subject)?;
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_holdings($p, event).await
            };
        }
        on_backend_writing!(self, Holdings, run)
    }

    /// The uses of a person's data (newest first, at most [`USES_PAGE_MAX`]): the leaves of the
    /// person index, and the proxy actions the person took for others, each with the staff
    /// account behind a staff leaf and the proxy behind a proxy leaf. `trace` is logged first.
    pub async fn safebox_uses(
        &self,
        psn_no: &str,
        trace: &SafeboxEvent,
    ) -> Result<Vec<PersonUse>, StoreError> {
        check_psn("psn_no", psn_no)?;
        self.safebox_log(trace).await?;
        let key = crate::access_log::person_index_key(psn_no)?;
        let idxs = on_backend!(self, read, |m, pool| {
            m::sb_person_leaves_newest(pool, &key[..], psn_no, USES_PAGE_MAX).await
        })?;
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_uses_read($p, &idxs).await
            };
        }
        let mut uses = on_backend_writing!(self, Vec<PersonUse>, run)?;
        let mut accounts: std::collections::HashMap<i64, crate::StaffAccount> =
            std::collections::HashMap::new();
        for one in &mut uses {
            let Some(staff_id) = one.row.entry.staff_id else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = accounts.entry(staff_id) {
                match self.staff_account(staff_id).await {
                    Ok(account) => {
                        slot.insert(account);
                    }
                    Err(StoreError::NotFound { .. }) => continue,
                    Err(other) => return Err(other),
                }
            }
            one.staff = accounts.get(&staff_id).cloned();
        }
        Ok(uses)
    }

    /// Whether leaf `idx` is about `psn_no` or was a proxy action of theirs (what a receipt may
    /// be asked for).
    pub async fn safebox_leaf_is_theirs(&self, psn_no: &str, idx: i64) -> Result<bool, StoreError> {
        let key = crate::access_log::person_index_key(psn_no)?;
        on_backend!(self, read, |m, pool| m::sb_leaf_is_theirs(
            pool,
            &key[..],
            psn_no,
            idx
        )
        .await)
    }

    /// The receipt of leaf `idx` (§9.6): its bytes, and, once a signed checkpoint covers it,
    /// its inclusion proof to the newest checkpoint with that checkpoint's cosignatures.
    pub async fn receipt(&self, idx: i64) -> Result<Receipt, StoreError> {
        let checkpoints = self.log_checkpoints().await?;
        let newest = checkpoints.last().filter(|c| c.size > idx);
        let (proof, leaf) = match newest {
            Some(checkpoint) => {
                let proof = self.inclusion_proof(idx, checkpoint.size).await?;
                let leaf = proof.leaf.clone();
                (Some(proof), leaf)
            }
            None => {
                macro_rules! run {
                    ($b:ident, $p:expr) => {
                        $b::sb_leaf_bytes($p, idx).await
                    };
                }
                (None, on_backend_writing!(self, Vec<u8>, run)?)
            }
        };
        let size = proof.as_ref().map_or(0, |p| p.size);
        macro_rules! cosigned {
            ($b:ident, $p:expr) => {
                $b::sb_cosignatures($p, size).await
            };
        }
        let cosignatures = if size > 0 {
            on_backend_writing!(self, Vec<String>, cosigned)?
        } else {
            Vec::new()
        };
        Ok(Receipt {
            idx,
            leaf,
            proof,
            cosignatures,
        })
    }

    /// Records a guardianship staff checked (logged about the subject).
    pub async fn record_guardianship(
        &self,
        new: &NewGuardianship,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        check_psn("subject", &new.subject)?;
        check_psn("guardian", &new.guardian)?;
        if new.subject == new.guardian {
            return Err(StoreError::bad("guardian", "is the subject"));
        }
        if new.document_no.trim().is_empty() || new.document_no.chars().count() > 100 {
            return Err(StoreError::bad(
                "document_no",
                "must be 1 to 100 characters",
            ));
        }
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_guardianship_insert($p, new, now_ms).await
            };
        }
        on_backend_writing!(self, (), run)
    }

    /// The stored facts about `proxy` acting for `subject` at `now_ms` (T7): a guardianship
    /// (the subject's age from the registry), a delegation in force, or a family-account
    /// binding, in that order; None when the store knows no relation. The per-action facts
    /// (`minor_confirmed`, `proxy_face_checked`) are false: the caller sets them from evidence.
    pub async fn proxy_facts(
        &self,
        proxy: &str,
        subject: &str,
        now_ms: i64,
    ) -> Result<Option<ProxyFacts>, StoreError> {
        check_psn("proxy", proxy)?;
        check_psn("subject", subject)?;
        macro_rules! run {
            ($b:ident, $p:expr) => {{
                let mut conn = $p.acquire().await?;
                $b::sb_proxy_facts(&mut conn, proxy, subject, now_ms).await
            }};
        }
        on_backend_writing!(self, Option<ProxyFacts>, run)
    }

    /// Gives a P06 delegation the subject confirmed (logged about the subject and shown in both
    /// safe boxes). Refused: a proxy who is not a registered person, the subject themself, no
    /// fresh factor, a validity beyond P06's cap, more than [`DELEGATIONS_IN_FORCE_MAX`] in force.
    pub async fn delegate(&self, new: &NewDelegation) -> Result<DelegationRecord, StoreError> {
        check_psn("proxy", &new.proxy)?;
        let id = &new.delegation_id;
        if id.is_empty() || id.chars().count() > crate::limits::ID_CHARS_MAX {
            return Err(StoreError::bad(
                "delegation_id",
                "must be 1 to 30 characters",
            ));
        }
        if new.proxy == new.subject {
            return Err(StoreError::bad("proxy", "is yourself"));
        }
        if new.items.is_empty() {
            return Err(StoreError::bad("items", "names no item"));
        }
        let catalogue = yibao_privacy::builtin();
        for code in new.items.iter() {
            catalogue
                .require(code)
                .map_err(|e| StoreError::bad("items", e.to_string()))?;
        }
        let allowed = yibao_privacy::Purpose::P06.rule().max_items.clone();
        let outside = new.items.difference(&allowed);
        if !outside.is_empty() {
            return Err(StoreError::bad(
                "items",
                format!("P06 does not cover {outside}"),
            ));
        }
        if !(0..=FRESH_FACTOR_MS).contains(&(new.now_ms - new.factor_at_ms)) {
            return Err(StoreError::refused(
                "factor",
                "a delegation needs a fresh authentication (present your e-voucher again)",
            ));
        }
        if new.not_after_ms <= new.not_before_ms || new.not_before_ms < new.now_ms - 60_000 {
            return Err(StoreError::bad(
                "not_after_ms",
                "the validity must start now or later and end after it starts",
            ));
        }
        if let yibao_privacy::purpose::ValidityCap::Fixed(max_ms) =
            yibao_privacy::Purpose::P06.rule().validity
        {
            if new.not_after_ms - new.not_before_ms > max_ms {
                return Err(StoreError::bad(
                    "not_after_ms",
                    format!(
                        "a P06 delegation lasts at most {} days",
                        max_ms / 86_400_000
                    ),
                ));
            }
        }
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_delegation_insert($p, new).await
            };
        }
        on_backend_writing!(self, DelegationRecord, run)
    }

    /// Ends a delegation, by its subject or its proxy (logged, shown in both safe boxes). Someone
    /// else's delegation is "not found".
    pub async fn end_delegation(
        &self,
        delegation_id: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<DelegationRecord, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_delegation_end($p, delegation_id, by, now_ms).await
            };
        }
        on_backend_writing!(self, DelegationRecord, run)
    }

    /// A person's family page: delegations, guardianships, family-account bindings in force on
    /// the day of `now_ms`, and proxy actions, as subject and as proxy.
    pub async fn family_of(&self, psn_no: &str, now_ms: i64) -> Result<Family, StoreError> {
        check_psn("psn_no", psn_no)?;
        let day = crate::grants::day_of(now_ms).to_string();
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_family($p, psn_no, &day).await
            };
        }
        on_backend_writing!(self, Family, run)
    }

    /// Pauses (true) or resumes (false) all third-party sharing of `event.who.subject`'s data:
    /// while paused every grant call is refused `GRANT_INVALID`; grants stay as they are. Logged;
    /// returns whether sharing is paused afterwards. Pausing twice or resuming unpaused sharing
    /// changes nothing but is still logged.
    pub async fn set_sharing_paused(
        &self,
        event: &SafeboxEvent,
        paused: bool,
    ) -> Result<bool, StoreError> {
        macro_rules! run {
            ($b:ident, $p:expr) => {
                $b::sb_sharing_set($p, event, paused).await
            };
        }
        on_backend_writing!(self, bool, run)
    }

    /// Whether the person paused third-party sharing.
    pub async fn sharing_paused(&self, psn_no: &str) -> Result<bool, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::sb_sharing_paused(p, psn_no).await,
            Pool::Sq { pool, .. } => crate::sq::sb_sharing_paused(pool, psn_no).await,
        }
    }

    /// Gives a grant a proxy made for the subject (§5.7): the store replaces the claimed facts by
    /// the stored ones ([`Store::proxy_facts`]; the caller's `minor_confirmed` is kept, the face
    /// check comes from the draft's factors), [`yibao_privacy::create_grant`] runs
    /// [`yibao_privacy::proxy::may_act`] on them, and the grant, its leaf (`actor=proxy`) and the
    /// proxy action are stored in one transaction.
    pub(crate) async fn give_grant_by_proxy(
        &self,
        mut draft: yibao_privacy::GrantDraft,
        key: &TokenKey,
    ) -> Result<crate::grants::GivenGrant, StoreError> {
        let yibao_privacy::grant::Grantor::Proxy(claimed) = &draft.grantor else {
            return Err(StoreError::Invariant("not a proxy grant".into()));
        };
        let claimed = claimed.clone();
        check_psn("proxy", &claimed.proxy)?;
        check_psn("subject", &draft.subject)?;
        if draft.grant_id.is_empty() || draft.grant_id.chars().count() > crate::limits::ID_CHARS_MAX
        {
            return Err(StoreError::bad("grant_id", "must be 1 to 30 characters"));
        }
        let token = yibao_gm::random_token()
            .map_err(|e| StoreError::Invariant(format!("the OS random generator failed: {e}")))?;
        let token_mac = key.token_mac(&token);
        let face = draft
            .factors
            .iter()
            .any(|f| f.kind == yibao_privacy::grant::FactorKind::Face);
        macro_rules! run {
            ($b:ident, $p:expr) => {{
                let mut tx = $p.begin().await?;
                let Some(mut facts) = $b::sb_proxy_facts(
                    &mut tx,
                    &claimed.proxy,
                    &draft.subject,
                    draft.consented_at.0,
                )
                .await?
                else {
                    return Err(StoreError::refused(
                        "grantor",
                        "you may not act for this person: no guardianship, delegation or family binding is recorded",
                    ));
                };
                facts.minor_confirmed = claimed.minor_confirmed;
                facts.proxy_face_checked = face;
                draft.subject_age_years = Some(facts.subject_age_years);
                let relation = relation_code(facts.relation);
                draft.grantor = yibao_privacy::grant::Grantor::Proxy(facts.clone());
                let grant = yibao_privacy::create_grant(draft.clone()).map_err(|e| match e {
                    yibao_privacy::PrivacyError::ProxyDenied { .. } => {
                        StoreError::refused("grantor", e.to_string())
                    }
                    other => StoreError::bad("grant", other.to_string()),
                })?;
                let note = format!(" actor=proxy relation={relation}");
                let record = $b::grant_insert_in(&mut tx, &grant, &token_mac, key, &note).await?;
                $b::sb_proxy_action_insert(
                    &mut tx,
                    record.created_leaf,
                    &facts.proxy,
                    &draft.subject,
                    relation,
                    "grant.created",
                    draft.consented_at.0,
                )
                .await?;
                tx.commit().await?;
                Ok(record)
            }};
        }
        let record = on_backend_writing!(self, crate::grants::GrantRecord, run)?;
        Ok(crate::grants::GivenGrant { token, record })
    }

    /// Revocation by the subject or by a proxy in scope (§5.7 `Revoke`): a proxy's right is
    /// checked on the stored facts, and the revocation's leaf is tied to the proxy.
    pub async fn revoke_grant_as(
        &self,
        grant_id: &str,
        who: &SafeboxActor,
        key: &TokenKey,
        now_ms: i64,
    ) -> Result<crate::grants::GrantRecord, StoreError> {
        if !who.is_proxy() {
            return self.revoke_grant(grant_id, &who.subject, key, now_ms).await;
        }
        let facts = self
            .proxy_facts(&who.actor, &who.subject, now_ms)
            .await?
            .ok_or_else(|| StoreError::not_found("grant_id", grant_id))?;
        yibao_privacy::proxy::may_act(
            &facts,
            &yibao_privacy::proxy::ProxyAction::Revoke,
            Millis(now_ms),
        )
        .map_err(|e| StoreError::refused("grantor", e.to_string()))?;
        let record = self
            .revoke_grant(grant_id, &who.subject, key, now_ms)
            .await?;
        if let Some(leaf) = record.ended_leaf {
            let relation = relation_code(facts.relation);
            macro_rules! run {
                ($b:ident, $p:expr) => {{
                    let mut tx = $p.begin().await?;
                    $b::sb_proxy_action_insert(
                        &mut tx,
                        leaf,
                        &who.actor,
                        &who.subject,
                        relation,
                        "grant.revoked",
                        now_ms,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }};
            }
            on_backend_writing!(self, (), run)?;
        }
        Ok(record)
    }
}
