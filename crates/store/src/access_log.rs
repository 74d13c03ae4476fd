//! The tamper-evident access log (spec data-authorization.md §9): every access event is a leaf
//! of an RFC 6962 Merkle tree over SM3, checkpoints are signed with SM2, witnesses cosign them,
//! and anybody with the database can check it all (`yibao log verify`). The mathematics are
//! `yibao-translog`'s; this module holds the keys, turns an [`AccessEntry`] into a leaf, and the
//! [`Store`] methods (the SQL is `access_log_tx.rs`, compiled once per backend).
//!
//! Keys live outside the database ([`LogKeys`], a key file): the SM2 key that signs checkpoints
//! and two HMAC-SM3 keys, `k_subject` for the pseudonyms in leaves (`subject_ref` and
//! `actor_ref` = HMAC-SM3(k_subject, who ‖ leaf_nonce), so no value repeats across leaves) and
//! `k_idx` for the person index (HMAC-SM3(k_idx, person) → leaf indexes). A process has one set
//! of log keys ([`Store::with_log_keys`]); a store opened without them appends under random keys
//! made for the process (fine for tests, useless for finding a person's leaves after a restart),
//! which is why `yibao serve` and `yibao demo` always give a key file.
//!
//! "No log, no data": a read of a person's data appends its leaf (and commits it) before the data
//! is returned; a crash between the two leaves a leaf and no answer, never an answer without a
//! leaf.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use yibao_gm::{hash_parts, hmac_sm3, Hash, SigningKey, VerifyingKey, HASH_LEN};
use yibao_translog::checkpoint::NoteSigner;
use yibao_translog::tree::{node_hash, SubtreeId};
use yibao_translog::{
    decode_leaf, encode_leaf, CheckpointKeys, ConsistencyProof, Fault, HashStore, InclusionProof,
    Leaf, LeafRow, NoteVerifier,
};

use crate::error::StoreError;
use crate::staff::{AccessEntry, Decision};
use crate::{limits, Pool, Store};

/// The origin (log name) a key file gets when none is given.
pub const LOG_ORIGIN_DEFAULT: &str = "yibao.local/access-log/v1";
/// Length of an HMAC key in a key file.
pub const HMAC_KEY_LEN: usize = 32;
/// Length of a leaf's detail salt.
pub const DETAIL_SALT_LEN: usize = 16;
/// The subject designation prefix of a person (see [`crate::staff::subject_ref_psn`]).
pub const PERSON_PREFIX: &str = "psn:";

/// The access log's secret keys: the SM2 checkpoint signing key with the log's origin, and the
/// two HMAC-SM3 keys. Read from a key file ([`LogKeys::from_text`]); never stored in the
/// database.
#[derive(Clone)]
pub struct LogKeys {
    origin: String,
    signing: SigningKey,
    k_subject: [u8; HMAC_KEY_LEN],
    k_idx: [u8; HMAC_KEY_LEN],
}

impl std::fmt::Debug for LogKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LogKeys(origin {}, public {})",
            self.origin,
            self.signing.verifying_key().to_hex()
        )
    }
}

fn random_key() -> Result<[u8; HMAC_KEY_LEN], StoreError> {
    yibao_gm::random_bytes().map_err(|e| StoreError::Invariant(format!("log keys: {e}")))
}

fn key_file_error(reason: impl Into<String>) -> StoreError {
    StoreError::bad("log_key", reason)
}

/// Parses `name value` lines (comments `#` and blank lines skipped) of a key file.
fn key_file_fields(text: &str, names: &[&str]) -> Result<HashMap<String, String>, StoreError> {
    let mut fields = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(' ') else {
            return Err(key_file_error(format!(
                "line {}: expected `name value`",
                n + 1
            )));
        };
        if !names.contains(&name) {
            return Err(key_file_error(format!(
                "line {}: unknown field `{name}`",
                n + 1
            )));
        }
        if fields
            .insert(name.to_owned(), value.trim().to_owned())
            .is_some()
        {
            return Err(key_file_error(format!(
                "line {}: `{name}` given twice",
                n + 1
            )));
        }
    }
    for name in names {
        if !fields.contains_key(*name) {
            return Err(key_file_error(format!("`{name}` is missing")));
        }
    }
    Ok(fields)
}

fn hex32(field: &str, text: &str) -> Result<[u8; 32], StoreError> {
    unhex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| key_file_error(format!("`{field}` must be 64 hex digits")))
}

fn signing_key_of(text: &str) -> Result<SigningKey, StoreError> {
    SigningKey::from_bytes(&hex32("sm2-signing-key", text)?)
        .map_err(|e| key_file_error(format!("`sm2-signing-key`: {e}")))
}

impl LogKeys {
    /// New random keys for the log named `origin` (e.g. `yibao.example.gov.cn/access-log/v1`).
    pub fn generate(origin: &str) -> Result<Self, StoreError> {
        let keys = Self {
            origin: origin.to_owned(),
            signing: SigningKey::generate()
                .map_err(|e| StoreError::Invariant(format!("log keys: {e}")))?,
            k_subject: random_key()?,
            k_idx: random_key()?,
        };
        keys.signer()?;
        Ok(keys)
    }

    /// The keys in a key file's text (as written by [`LogKeys::to_text`]).
    pub fn from_text(text: &str) -> Result<Self, StoreError> {
        let fields = key_file_fields(text, &["origin", "sm2-signing-key", "k-subject", "k-idx"])?;
        let keys = Self {
            origin: fields["origin"].clone(),
            signing: signing_key_of(&fields["sm2-signing-key"])?,
            k_subject: hex32("k-subject", &fields["k-subject"])?,
            k_idx: hex32("k-idx", &fields["k-idx"])?,
        };
        keys.signer()?;
        Ok(keys)
    }

    /// The key file's text: secret, to be written with mode 0600 outside the database.
    pub fn to_text(&self) -> String {
        format!(
            "# yibao access-log keys (docs/PRIVACY.md, \"The access log\"). Secret: keep this file\n\
             # outside the database, readable only by the server's user.\n\
             origin {}\nsm2-signing-key {}\nk-subject {}\nk-idx {}\n",
            self.origin,
            hex(&self.signing.to_bytes()),
            hex(&self.k_subject),
            hex(&self.k_idx)
        )
    }

    /// The log's origin (the checkpoints' first line and the signing key's name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public key of the checkpoint signing key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    fn signer(&self) -> Result<NoteSigner, StoreError> {
        NoteSigner::log(&self.origin, self.signing.clone())
            .map_err(|e| key_file_error(format!("origin: {e}")))
    }

    /// The person-index key of a subject designation.
    fn person_key(&self, designation: &str) -> Hash {
        hmac_sm3(&self.k_idx, designation.as_bytes())
    }

    /// A pseudonym for `who` in the leaf with `nonce`.
    fn pseudonym(&self, who: &str, nonce: &[u8]) -> Hash {
        let mut message = who.as_bytes().to_vec();
        message.extend_from_slice(nonce);
        hmac_sm3(&self.k_subject, &message)
    }
}

/// A witness's key (spec §9.5): its name in signed notes and its SM2 signing key. Kept by the
/// witness, never by the bureau.
#[derive(Clone)]
pub struct WitnessKey {
    name: String,
    signing: SigningKey,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessKey({})", self.name)
    }
}

impl WitnessKey {
    /// A new random key for the witness `name` (no spaces, e.g. `audit-office.example`).
    pub fn generate(name: &str) -> Result<Self, StoreError> {
        let key = Self {
            name: name.to_owned(),
            signing: SigningKey::generate()
                .map_err(|e| StoreError::Invariant(format!("witness key: {e}")))?,
        };
        key.signer()?;
        Ok(key)
    }

    /// The key in a witness key file's text.
    pub fn from_text(text: &str) -> Result<Self, StoreError> {
        let fields = key_file_fields(text, &["witness", "sm2-signing-key"])?;
        let key = Self {
            name: fields["witness"].clone(),
            signing: signing_key_of(&fields["sm2-signing-key"])?,
        };
        key.signer()?;
        Ok(key)
    }

    /// The witness key file's text (secret).
    pub fn to_text(&self) -> String {
        format!(
            "# yibao log witness key. Secret: kept by the witness, never by the bureau.\n\
             witness {}\nsm2-signing-key {}\n",
            self.name,
            hex(&self.signing.to_bytes())
        )
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The witness's public key, hex.
    pub fn public_hex(&self) -> String {
        self.signing.verifying_key().to_hex()
    }

    /// The witness's key id: hex of the first 8 bytes of SM3 over its public key.
    pub fn key_id(&self) -> String {
        self.signing.verifying_key().key_id().to_string()
    }

    fn signer(&self) -> Result<NoteSigner, StoreError> {
        NoteSigner::witness(&self.name, self.signing.clone())
            .map_err(|e| StoreError::bad("witness_key", format!("name: {e}")))
    }
}

/// The process's log keys (see the module docs).
static PROCESS_KEYS: RwLock<Option<Arc<LogKeys>>> = RwLock::new(None);

/// The log keys this process appends under; random ones are made on first use if none were
/// given.
pub(crate) fn process_keys() -> Result<Arc<LogKeys>, StoreError> {
    if let Some(keys) = PROCESS_KEYS.read().expect("log keys lock").as_ref() {
        return Ok(keys.clone());
    }
    let mut slot = PROCESS_KEYS.write().expect("log keys lock");
    if slot.is_none() {
        *slot = Some(Arc::new(LogKeys::generate(LOG_ORIGIN_DEFAULT)?));
    }
    Ok(slot.clone().expect("just set"))
}

/// The person-index key of `psn_no` under this process's keys (what `log_person` rows are
/// keyed by), for readers that page the index themselves (the safe box).
pub(crate) fn person_index_key(psn_no: &str) -> Result<Hash, StoreError> {
    Ok(process_keys()?.person_key(&crate::staff::subject_ref_psn(psn_no)))
}

/// What a leaf may carry beyond an [`AccessEntry`] (spec §9.2): the grant used, the data items,
/// and the digests of the request and the response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeafExtras {
    /// A reference to the grant used (an HMAC of its handle), if any.
    pub grant_ref: Option<Hash>,
    /// The data item codes touched (`C3`, …), as the call listed them.
    pub item_codes: Vec<String>,
    /// SM3 of the request.
    pub request_digest: Option<Hash>,
    /// SM3 of the response.
    pub response_digest: Option<Hash>,
    /// Who acted when it is not a staff account (`inst:H14050200001` for a hospital's call):
    /// the leaf's `actor_ref` is its per-leaf pseudonym.
    pub actor: Option<String>,
}

/// A leaf ready to insert.
pub(crate) struct BuiltLeaf {
    pub(crate) leaf: Vec<u8>,
    pub(crate) leaf_hash: Hash,
    pub(crate) person_key: Option<Hash>,
    pub(crate) subject_label: String,
    pub(crate) reason_text: String,
    pub(crate) detail_salt: [u8; DETAIL_SALT_LEN],
}

/// The canonical details a leaf commits to: the staff account (decimal or empty), the endpoint,
/// the subject label and the reason's text (empty when the leaf carries the reason as a code),
/// each as a 4-byte big-endian length and its UTF-8 bytes.
pub fn detail_bytes(
    staff_id: Option<i64>,
    action: &str,
    subject_label: &str,
    reason_text: &str,
) -> Vec<u8> {
    let staff = staff_id.map(|id| id.to_string()).unwrap_or_default();
    let mut out = Vec::new();
    for field in [staff.as_str(), action, subject_label, reason_text] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// SM3(salt ‖ details): the leaf's `detail_commitment`.
pub fn detail_commitment(salt: &[u8], details: &[u8]) -> Hash {
    hash_parts(&[salt, details])
}

/// The leaf's reason code when the reason is free text kept in the details.
pub const REASON_TEXT_CODE: &str = "text";

/// Whether `reason` fits the leaf as a code: at most 64 printable ASCII characters.
fn is_code(reason: &str) -> bool {
    reason.len() <= 64 && reason.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Builds leaf `idx` of `entry`; `nonce` and `salt` are fresh random bytes.
pub(crate) fn build_leaf(
    keys: &LogKeys,
    idx: u64,
    entry: &AccessEntry,
    extras: &LeafExtras,
    nonce: [u8; 16],
    salt: [u8; DETAIL_SALT_LEN],
) -> Result<BuiltLeaf, StoreError> {
    let ts_ms = u64::try_from(entry.ts_ms).map_err(|_| StoreError::bad("ts_ms", "is negative"))?;
    let (subject_ref, person_key, subject_label) = if entry.subject_ref.is_empty() {
        (None, None, String::new())
    } else if entry.subject_ref.starts_with(PERSON_PREFIX) {
        (
            Some(keys.pseudonym(&entry.subject_ref, &nonce)),
            Some(keys.person_key(&entry.subject_ref)),
            "psn".to_owned(),
        )
    } else {
        (
            Some(keys.pseudonym(&entry.subject_ref, &nonce)),
            None,
            entry.subject_ref.clone(),
        )
    };
    let actor_ref = match (entry.staff_id, &extras.actor) {
        (Some(id), _) => Some(keys.pseudonym(&format!("staff:{id}"), &nonce)),
        (None, Some(actor)) => Some(keys.pseudonym(actor, &nonce)),
        (None, None) => None,
    };
    // A reason that the leaf cannot carry as a code goes to the details as text.
    let (reason_code, reason_text) = if is_code(&entry.reason) {
        (entry.reason.clone(), String::new())
    } else {
        (REASON_TEXT_CODE.to_owned(), entry.reason.clone())
    };
    let details = detail_bytes(entry.staff_id, &entry.action, &subject_label, &reason_text);
    let leaf = Leaf {
        leaf_idx: idx,
        ts_ms,
        leaf_nonce: nonce,
        event_type: entry.event.clone(),
        actor_ref,
        subject_ref,
        grant_ref: extras.grant_ref,
        purpose: entry.purpose.clone(),
        item_codes: extras.item_codes.clone(),
        decision: entry.decision.code().to_owned(),
        reason_code,
        request_digest: extras.request_digest,
        response_digest: extras.response_digest,
        detail_commitment: Some(detail_commitment(&salt, &details)),
    };
    let bytes = encode_leaf(&leaf).map_err(|e| StoreError::bad("entry", e.to_string()))?;
    Ok(BuiltLeaf {
        leaf_hash: yibao_translog::leaf_hash(&bytes),
        leaf: bytes,
        person_key,
        subject_label,
        reason_text,
        detail_salt: salt,
    })
}

/// The log's right edge: the roots of its complete subtrees, largest (leftmost) first, as the
/// head row keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Edge {
    pub(crate) peaks: Vec<(u8, Hash)>,
}

impl Edge {
    pub(crate) fn from_bytes(bytes: &[u8], size: u64) -> Result<Self, StoreError> {
        let bad = || StoreError::Invariant("the access log head's edge does not read".into());
        if bytes.len() % (1 + HASH_LEN) != 0 {
            return Err(bad());
        }
        let peaks: Vec<(u8, Hash)> = bytes
            .chunks_exact(1 + HASH_LEN)
            .map(|chunk| (chunk[0], chunk[1..].try_into().expect("one hash")))
            .collect();
        let covered: u64 = peaks.iter().map(|(level, _)| 1u64 << level).sum();
        if covered != size {
            return Err(StoreError::Invariant(format!(
                "the access log head's edge covers {covered} leaves, its size is {size}"
            )));
        }
        Ok(Self { peaks })
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.peaks.len() * (1 + HASH_LEN));
        for (level, hash) in &self.peaks {
            out.push(*level);
            out.extend_from_slice(hash);
        }
        out
    }

    /// Appends leaf `idx` (the log's size before it); returns every subtree it completes, the
    /// leaf itself (level 0) first.
    pub(crate) fn push(&mut self, idx: u64, leaf_hash: Hash) -> Vec<(SubtreeId, Hash)> {
        let size = idx + 1;
        let mut completed = vec![(
            SubtreeId {
                level: 0,
                index: idx,
            },
            leaf_hash,
        )];
        let mut carry = (0u8, leaf_hash);
        while let Some(&(level, left)) = self.peaks.last() {
            if level != carry.0 {
                break;
            }
            self.peaks.pop();
            let level = level + 1;
            carry = (level, node_hash(&left, &carry.1));
            completed.push((
                SubtreeId {
                    level,
                    index: (size >> level) - 1,
                },
                carry.1,
            ));
        }
        self.peaks.push(carry);
        completed
    }

    /// The root of the leaves so far (SM3 of the empty string for none).
    pub(crate) fn root(&self) -> Hash {
        let mut hashes = self.peaks.iter().rev().map(|(_, hash)| *hash);
        let Some(mut acc) = hashes.next() else {
            return yibao_gm::hash(b"");
        };
        for left in hashes {
            acc = node_hash(&left, &acc);
        }
        acc
    }
}

/// The complete subtrees whose fold is the root of the first `size` leaves, largest first.
pub(crate) fn root_subtrees(size: u64) -> Vec<SubtreeId> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        if size & (1u64 << level) != 0 {
            out.push(SubtreeId {
                level: level as u8,
                index: start >> level,
            });
            start += 1u64 << level;
        }
    }
    out
}

/// Stored subtree hashes read for one proof.
#[derive(Debug, Default)]
pub(crate) struct SubtreeMap(pub(crate) HashMap<SubtreeId, Hash>);

impl HashStore for SubtreeMap {
    fn subtree_hash(&self, id: SubtreeId) -> Option<Hash> {
        self.0.get(&id).copied()
    }
}

/// One stored leaf, as the auditor lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogRow {
    /// Position in the log, from 0, without gaps.
    pub idx: i64,
    /// The event; its `subject_ref` is `psn:` and the hex of the leaf's keyed pseudonym for a
    /// person, the record (`case:12`) otherwise.
    pub entry: AccessEntry,
    /// SM3(0x00 ‖ leaf), hex.
    pub leaf_hash: String,
    /// The canonical leaf bytes, hex.
    pub leaf: String,
}

/// A stored row read back into an [`AccessLogRow`].
pub(crate) fn log_row_of(
    idx: i64,
    leaf: &[u8],
    leaf_hash: &[u8],
    staff_id: Option<i64>,
    action: String,
    subject_label: String,
    reason_text: String,
) -> Result<AccessLogRow, StoreError> {
    let decoded = decode_leaf(leaf).map_err(|e| {
        StoreError::Invariant(format!("access log leaf {idx} does not decode: {e}"))
    })?;
    let decision = match decoded.decision.as_str() {
        "permit" => Decision::Permit,
        "deny" => Decision::Deny,
        other => {
            return Err(StoreError::Invariant(format!(
                "access log leaf {idx} has the unknown decision {other:?}"
            )))
        }
    };
    let subject_ref = match (subject_label.as_str(), decoded.subject_ref) {
        ("psn", Some(pseudonym)) => format!("{PERSON_PREFIX}{}", hex(&pseudonym)),
        _ => subject_label,
    };
    Ok(AccessLogRow {
        idx,
        entry: AccessEntry {
            ts_ms: i64::try_from(decoded.ts_ms).unwrap_or(i64::MAX),
            event: decoded.event_type,
            staff_id,
            action,
            subject_ref,
            purpose: decoded.purpose,
            decision,
            reason: if decoded.reason_code == REASON_TEXT_CODE {
                reason_text
            } else {
                decoded.reason_code
            },
        },
        leaf_hash: hex(leaf_hash),
        leaf: hex(leaf),
    })
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Leaves covered.
    pub size: i64,
    /// The root of those leaves, hex.
    pub root: String,
    /// The signed note's text (C2SP signed note).
    pub note: String,
    /// The log's origin.
    pub origin: String,
    /// The signer's SM2 public key, hex.
    pub public_key: String,
}

/// An inclusion proof with what a person or auditor needs to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafProof {
    /// The leaf's index.
    pub idx: i64,
    /// The tree size the proof is for.
    pub size: i64,
    /// The canonical leaf bytes.
    pub leaf: Vec<u8>,
    /// The proof.
    pub proof: InclusionProof,
    /// The root of the tree of `size` leaves.
    pub root: Hash,
    /// The signed checkpoint of that size, if one was signed.
    pub checkpoint: Option<StoredCheckpoint>,
}

/// A witness's cosignature, as made by [`Store::witness_cosign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The size cosigned.
    pub size: i64,
    /// The size the witness had cosigned before (0 for its first).
    pub previous_size: i64,
    /// The cosignature line to append to the note.
    pub line: String,
}

/// The result of checking the whole access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogVerifyReport {
    /// Rows read.
    pub entries: i64,
    /// The size the head records (what the last append wrote).
    pub head_size: i64,
    /// The largest checkpoint size whose root the leaves reproduce.
    pub verified_size: i64,
    /// Signed checkpoints found.
    pub checkpoints: usize,
    /// The first leaf found bad, if the fault names one.
    pub leaf_idx: Option<i64>,
    /// The first problem (`leaf 3: altered: …`), if any.
    pub problem: Option<String>,
}

impl LogVerifyReport {
    /// True when nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// One row as read for verification.
pub(crate) struct VerifyRow {
    pub(crate) idx: i64,
    pub(crate) leaf: Vec<u8>,
    pub(crate) leaf_hash: Vec<u8>,
    pub(crate) staff_id: Option<i64>,
    pub(crate) action: String,
    pub(crate) subject_label: String,
    pub(crate) reason_text: String,
    pub(crate) detail_salt: Vec<u8>,
}

/// Everything verification reads, in one snapshot.
pub(crate) struct VerifyInput {
    pub(crate) rows: Vec<VerifyRow>,
    pub(crate) head_size: i64,
    pub(crate) checkpoints: Vec<StoredCheckpoint>,
    pub(crate) subtrees: SubtreeMap,
}

fn leaf_fault(report: &mut LogVerifyReport, idx: i64, reason: impl std::fmt::Display) {
    report.leaf_idx = Some(idx);
    report.problem = Some(format!("leaf {idx}: {reason}"));
}

/// Checks a log read in one snapshot: translog's walk of every leaf against every signed
/// checkpoint (each under the public key recorded with it, the stored subtree hashes as the
/// reference copy that pins a consistently altered leaf), then what translog does not know of:
/// the head's size, each leaf's level-0 hash and its details' commitment.
pub(crate) fn verify_input(input: &VerifyInput) -> LogVerifyReport {
    let mut report = LogVerifyReport {
        entries: input.rows.len() as i64,
        head_size: input.head_size,
        verified_size: 0,
        checkpoints: input.checkpoints.len(),
        leaf_idx: None,
        problem: None,
    };
    let leaf_rows = || {
        input.rows.iter().map(|row| LeafRow {
            idx: row.idx as u64,
            leaf: &row.leaf,
            leaf_hash: row.leaf_hash.as_slice().try_into().ok(),
        })
    };
    // Checkpoints grouped by the key that signed them (more than one after a key rotation).
    let mut by_key: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for checkpoint in &input.checkpoints {
        by_key
            .entry((checkpoint.origin.clone(), checkpoint.public_key.clone()))
            .or_default()
            .push(&checkpoint.note);
    }
    let mut walks = Vec::new();
    for ((origin, public_key), notes) in &by_key {
        let verifier = VerifyingKey::from_hex(public_key)
            .map_err(|e| e.to_string())
            .and_then(|key| NoteVerifier::log(origin, key).map_err(|e| e.to_string()));
        match verifier {
            Ok(verifier) => walks.push((notes.clone(), CheckpointKeys::Log(verifier))),
            Err(e) => {
                report.problem = Some(format!("checkpoint key {public_key:?}: {e}"));
                return report;
            }
        }
    }
    if walks.is_empty() {
        // No checkpoint: the leaves are still walked (indexes, encodings, stored hashes).
        let verifier = match process_keys().and_then(|keys| {
            NoteVerifier::log(&keys.origin, keys.verifying_key())
                .map_err(|e| StoreError::Invariant(e.to_string()))
        }) {
            Ok(verifier) => verifier,
            Err(e) => {
                report.problem = Some(e.to_string());
                return report;
            }
        };
        walks.push((Vec::new(), CheckpointKeys::Log(verifier)));
    }
    for (notes, keys) in &walks {
        match yibao_translog::verify_log_with_reference(leaf_rows(), notes, keys, &input.subtrees) {
            Ok(done) => report.verified_size = report.verified_size.max(done.verified_size as i64),
            Err(Fault::Leaf { leaf_idx, reason }) => {
                leaf_fault(&mut report, leaf_idx as i64, reason);
                return report;
            }
            Err(Fault::Fork { size }) => {
                // Two signed roots for one size: one of them disagrees with the leaves; name
                // the leaf where the walk against each alone fails.
                for note in notes {
                    if let Err(Fault::Leaf { leaf_idx, reason }) =
                        yibao_translog::verify_log(leaf_rows(), &[note], keys)
                    {
                        leaf_fault(&mut report, leaf_idx as i64, format!("forked: {reason}"));
                        return report;
                    }
                }
                report.problem = Some(format!(
                    "checkpoints of size {size} show two different roots: the log forked"
                ));
                return report;
            }
            Err(Fault::Reference { size }) => {
                // The stored subtrees disagree with a signed root: either they were altered or
                // the checkpoint is for other leaves. The walk without them says which leaf.
                if let Err(Fault::Leaf { leaf_idx, reason }) =
                    yibao_translog::verify_log(leaf_rows(), notes, keys)
                {
                    leaf_fault(&mut report, leaf_idx as i64, reason);
                } else {
                    report.problem = Some(format!(
                        "the stored subtree hashes do not give the signed root of the checkpoint \
                         of size {size} (log_subtree altered)"
                    ));
                }
                return report;
            }
            Err(other) => {
                report.problem = Some(other.to_string());
                return report;
            }
        }
    }
    // Roots of checkpoints signed by different keys must agree too.
    let mut roots: BTreeMap<i64, &str> = BTreeMap::new();
    for checkpoint in &input.checkpoints {
        if let Some(root) = roots.insert(checkpoint.size, &checkpoint.root) {
            if root != checkpoint.root {
                report.problem = Some(format!(
                    "checkpoints of size {} show two different roots: the log forked",
                    checkpoint.size
                ));
                return report;
            }
        }
    }
    for row in &input.rows {
        let level0 = input.subtrees.subtree_hash(SubtreeId {
            level: 0,
            index: row.idx as u64,
        });
        if level0.as_ref().map(|h| h.as_slice()) != Some(row.leaf_hash.as_slice()) {
            leaf_fault(
                &mut report,
                row.idx,
                "inserted or altered: no stored subtree hash of level 0 matches it",
            );
            return report;
        }
        let details = detail_bytes(
            row.staff_id,
            &row.action,
            &row.subject_label,
            &row.reason_text,
        );
        let committed = decode_leaf(&row.leaf)
            .ok()
            .and_then(|leaf| leaf.detail_commitment);
        if committed != Some(detail_commitment(&row.detail_salt, &details)) {
            leaf_fault(
                &mut report,
                row.idx,
                "altered: its details do not match the leaf's commitment",
            );
            return report;
        }
    }
    let n = input.rows.len() as i64;
    if input.head_size > n {
        leaf_fault(
            &mut report,
            n,
            format!(
                "missing (deleted): the log ends here, but the head records {} leaves",
                input.head_size
            ),
        );
    } else if input.head_size < n {
        leaf_fault(
            &mut report,
            input.head_size,
            format!(
                "inserted: the head records {} leaves, the table holds {n}",
                input.head_size
            ),
        );
    }
    report
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of lower- or upper-case hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Store {
    /// Makes `keys` the log keys of this process (see the module docs) and returns the store.
    pub fn with_log_keys(self, keys: LogKeys) -> Store {
        *PROCESS_KEYS.write().expect("log keys lock") = Some(Arc::new(keys));
        self
    }

    /// Appends one event with the §9.2 extras (grant, items, digests) in its own transaction.
    pub async fn log_access_with(
        &self,
        entry: &AccessEntry,
        extras: &LeafExtras,
    ) -> Result<i64, StoreError> {
        crate::staff::check_entry(entry)?;
        on_backend!(self, write, |m, pool| {
            let mut tx = pool.begin().await?;
            let idx = m::access_append_with(&mut tx, entry, extras).await?;
            tx.commit().await?;
            Ok(idx)
        })
    }

    /// Signs a checkpoint covering every leaf so far with `keys` and stores it; when one of this
    /// size was already signed, returns that one.
    pub async fn sign_checkpoint(&self, keys: &LogKeys) -> Result<StoredCheckpoint, StoreError> {
        let signer = keys.signer()?;
        // Interface calls still in the outbox become leaves first: a checkpoint covers every
        // call answered before it.
        self.drain_outbox().await?;
        on_backend!(self, write, |m, pool| {
            m::log_checkpoint_sign(pool, keys, &signer).await
        })
    }

    /// Every signed checkpoint, by size.
    pub async fn log_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        on_backend!(self, read, |m, pool| m::log_checkpoints_read(pool).await)
    }

    /// The inclusion proof of leaf `idx` in the tree of the first `size` leaves, read from the
    /// stored subtree hashes in one query.
    pub async fn inclusion_proof(&self, idx: i64, size: i64) -> Result<LeafProof, StoreError> {
        if idx < 0 || size <= idx {
            return Err(StoreError::bad("idx", "must be at least 0 and below size"));
        }
        on_backend!(self, read, |m, pool| m::log_inclusion(pool, idx, size)
            .await)
    }

    /// The consistency proof from the tree of `from` leaves to the tree of `to` leaves.
    pub async fn consistency_proof(
        &self,
        from: i64,
        to: i64,
    ) -> Result<ConsistencyProof, StoreError> {
        if from <= 0 || to < from {
            return Err(StoreError::bad(
                "from",
                "must be at least 1 and at most `to`",
            ));
        }
        on_backend!(self, read, |m, pool| m::log_consistency(pool, from, to)
            .await)
    }

    /// Checks the whole access log (see [`LogVerifyReport`]): every leaf against its stored
    /// hash, its index, its details and the stored subtree hashes, every signed checkpoint
    /// against the leaves under the public key stored with it, and the head.
    pub async fn verify_log(&self) -> Result<LogVerifyReport, StoreError> {
        let input = on_backend!(self, read, |m, pool| m::log_verify_read(pool).await)?;
        Ok(verify_input(&input))
    }

    /// [`Store::verify_log`] (the name the staff API and older tests use).
    pub async fn verify_access_log(&self) -> Result<LogVerifyReport, StoreError> {
        self.verify_log().await
    }

    /// Runs a witness (§9.5): checks that the newest checkpoint extends the one this witness
    /// last cosigned (by a consistency proof from the stored hashes, and under the same log
    /// key), cosigns it at `now_s` (seconds since the Unix epoch) and stores the cosignature.
    /// A fork, a rollback or a changed log key is [`StoreError::Refused`].
    pub async fn witness_cosign(
        &self,
        witness: &WitnessKey,
        now_s: u64,
    ) -> Result<Cosigned, StoreError> {
        let signer = witness.signer()?;
        on_backend!(self, write, |m, pool| {
            m::log_witness_cosign(pool, witness, signer, now_s).await
        })
    }

    /// The leaves about the person `psn_no`, found through the person index (needs this
    /// process's `k_idx`), at most `limits::ACCESS_LOG_PAGE_MAX`.
    pub async fn person_leaves(&self, psn_no: &str) -> Result<Vec<i64>, StoreError> {
        let keys = process_keys()?;
        let key = keys.person_key(&crate::staff::subject_ref_psn(psn_no));
        let limit = limits::ACCESS_LOG_PAGE_MAX;
        on_backend!(self, read, |m, pool| m::log_person_leaves(
            pool, &key, limit
        )
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yibao_translog::MemoryTree;

    #[test]
    fn the_edge_agrees_with_the_memory_tree() {
        let mut edge = Edge::default();
        let mut tree = MemoryTree::new();
        let mut stored = SubtreeMap::default();
        for idx in 0..70u64 {
            let hash = yibao_translog::leaf_hash(&idx.to_be_bytes());
            for (id, hash) in edge.push(idx, hash) {
                assert_eq!(tree.subtree_hash(id), None);
                stored.0.insert(id, hash);
            }
            tree.push_leaf_hash(hash);
            assert_eq!(edge.root(), tree.root(idx + 1).unwrap(), "size {}", idx + 1);
            let folded = yibao_translog::root(&stored, idx + 1).unwrap();
            assert_eq!(folded, edge.root());
            assert_eq!(
                Edge::from_bytes(&edge.to_bytes(), idx + 1).unwrap(),
                edge.clone()
            );
        }
        for (id, hash) in &stored.0 {
            assert_eq!(tree.subtree_hash(*id), Some(*hash), "{id:?}");
        }
        assert_eq!(root_subtrees(13).len(), 3);
    }

    #[test]
    fn key_files_round_trip_and_refuse_bad_text() {
        let keys = LogKeys::generate("yibao.test/access-log/v1").unwrap();
        let again = LogKeys::from_text(&keys.to_text()).unwrap();
        assert_eq!(again.verifying_key(), keys.verifying_key());
        assert_eq!(again.k_idx, keys.k_idx);
        assert!(LogKeys::from_text("origin x\n").is_err());
        let doubled = format!("{}origin y\n", keys.to_text());
        assert!(LogKeys::from_text(&doubled).is_err());
        let witness = WitnessKey::generate("audit-office").unwrap();
        assert_eq!(
            WitnessKey::from_text(&witness.to_text()).unwrap().key_id(),
            witness.key_id()
        );
    }

    #[test]
    fn pseudonyms_never_repeat_and_name_nobody() {
        let keys = LogKeys::generate(LOG_ORIGIN_DEFAULT).unwrap();
        let entry = AccessEntry {
            ts_ms: 1,
            event: "data.read".into(),
            staff_id: Some(3),
            action: "GET /api/v1/persons/{psn_no}".into(),
            subject_ref: crate::staff::subject_ref_psn("P001"),
            purpose: "case_review".into(),
            decision: Decision::Permit,
            reason: String::new(),
        };
        let extras = LeafExtras::default();
        let a = build_leaf(&keys, 0, &entry, &extras, [1; 16], [2; 16]).unwrap();
        let b = build_leaf(&keys, 1, &entry, &extras, [3; 16], [2; 16]).unwrap();
        let (la, lb) = (decode_leaf(&a.leaf).unwrap(), decode_leaf(&b.leaf).unwrap());
        assert_ne!(la.subject_ref, lb.subject_ref);
        assert_ne!(la.actor_ref, lb.actor_ref);
        assert_eq!(a.person_key, b.person_key);
        assert_eq!(a.subject_label, "psn");
        assert!(!hex(&a.leaf).contains(&hex(b"P001")));
    }
}
