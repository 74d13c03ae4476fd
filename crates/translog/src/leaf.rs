//! The canonical leaf encoding (spec data-authorization.md §9.2): one byte string per logged
//! event, with a fixed field order and big-endian lengths, so that any verifier can re-encode a
//! leaf and there is exactly one encoding of each leaf. The byte layout is documented in the crate
//! root.

use yibao_gm::{Hash, HASH_LEN};

use crate::LogError;

/// The leaf format this code writes and reads.
pub const LEAF_VERSION: u8 = 1;
/// Longest text field (codes such as `GRANT_USE`, `P04`, `PERMIT`), in bytes.
pub const LEAF_TEXT_BYTES_MAX: usize = 64;
/// Most item codes in one leaf (the §4.2 table has 74 items; twice that leaves room).
pub const LEAF_ITEM_CODES_MAX: usize = 150;
/// Length of the per-leaf random nonce.
pub const LEAF_NONCE_LEN: usize = 16;
/// Longest possible encoded leaf, in bytes.
pub const LEAF_BYTES_MAX: usize = 1
    + 8
    + 8
    + LEAF_NONCE_LEN
    + 4 * (2 + LEAF_TEXT_BYTES_MAX)
    + 2
    + LEAF_ITEM_CODES_MAX * (2 + LEAF_TEXT_BYTES_MAX)
    + 6 * (2 + HASH_LEN);

/// One logged event, decoded. It holds no names, identity numbers or clinical values: people
/// appear only as keyed pseudonyms (`actor_ref`, `subject_ref`) that never repeat across leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The leaf's own position in the log; a leaf moved to another index no longer matches it.
    pub leaf_idx: u64,
    /// When the event happened, UTC milliseconds since the Unix epoch.
    pub ts_ms: u64,
    /// 16 random bytes that make every pseudonym in this leaf unique to it.
    pub leaf_nonce: [u8; LEAF_NONCE_LEN],
    /// What happened (`GRANT_CREATED`, `DATA_CALL`, `STAFF_VIEW`, …).
    pub event_type: String,
    /// HMAC-SM3 pseudonym of who acted, keyed per leaf by the nonce.
    pub actor_ref: Option<Hash>,
    /// HMAC-SM3 pseudonym of whose data it was, if a person's.
    pub subject_ref: Option<Hash>,
    /// Reference to the grant used, if any.
    pub grant_ref: Option<Hash>,
    /// The purpose code (`P01` … ), empty if none applies.
    pub purpose: String,
    /// The data item codes touched, in the order the call listed them.
    pub item_codes: Vec<String>,
    /// The decision (`PERMIT`, `DENY`, …), empty if none applies.
    pub decision: String,
    /// Why, as a code (`GRANT_EXHAUSTED`, …), empty if none applies.
    pub reason_code: String,
    /// SM3 of the request, if there was one.
    pub request_digest: Option<Hash>,
    /// SM3 of the response, if there was one.
    pub response_digest: Option<Hash>,
    /// SM3(salt ‖ details) of the encrypted side record, if there is one.
    pub detail_commitment: Option<Hash>,
}

/// The canonical bytes of `leaf`; refuses fields the format cannot hold.
pub fn encode_leaf(leaf: &Leaf) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::with_capacity(256);
    out.push(LEAF_VERSION);
    out.extend_from_slice(&leaf.leaf_idx.to_be_bytes());
    out.extend_from_slice(&leaf.ts_ms.to_be_bytes());
    out.extend_from_slice(&leaf.leaf_nonce);
    put_text(&mut out, "event_type", &leaf.event_type)?;
    put_hash(&mut out, &leaf.actor_ref);
    put_hash(&mut out, &leaf.subject_ref);
    put_hash(&mut out, &leaf.grant_ref);
    put_text(&mut out, "purpose", &leaf.purpose)?;
    if leaf.item_codes.len() > LEAF_ITEM_CODES_MAX {
        return Err(LogError::LeafFieldLength {
            field: "item_codes",
            len: leaf.item_codes.len(),
            reason: "more entries than allowed",
        });
    }
    out.extend_from_slice(&(leaf.item_codes.len() as u16).to_be_bytes());
    for code in &leaf.item_codes {
        put_text(&mut out, "item_codes", code)?;
    }
    put_text(&mut out, "decision", &leaf.decision)?;
    put_text(&mut out, "reason_code", &leaf.reason_code)?;
    put_hash(&mut out, &leaf.request_digest);
    put_hash(&mut out, &leaf.response_digest);
    put_hash(&mut out, &leaf.detail_commitment);
    debug_assert!(out.len() <= LEAF_BYTES_MAX);
    Ok(out)
}

/// The leaf these canonical bytes encode; refuses anything [`encode_leaf`] would not produce.
pub fn decode_leaf(bytes: &[u8]) -> Result<Leaf, LogError> {
    if bytes.len() > LEAF_BYTES_MAX {
        return Err(LogError::LeafTooLong {
            len: bytes.len(),
            max: LEAF_BYTES_MAX,
        });
    }
    let mut reader = Reader { bytes };
    let version = reader.take("version", 1)?[0];
    if version != LEAF_VERSION {
        return Err(LogError::LeafVersion {
            version,
            expected: LEAF_VERSION,
        });
    }
    let leaf_idx = reader.u64("leaf_idx")?;
    let ts_ms = reader.u64("ts_ms")?;
    let leaf_nonce = reader
        .take("leaf_nonce", LEAF_NONCE_LEN)?
        .try_into()
        .expect("took exactly the nonce length");
    let event_type = reader.text("event_type")?;
    let actor_ref = reader.hash("actor_ref")?;
    let subject_ref = reader.hash("subject_ref")?;
    let grant_ref = reader.hash("grant_ref")?;
    let purpose = reader.text("purpose")?;
    let n_item_codes = usize::from(reader.u16("item_codes")?);
    if n_item_codes > LEAF_ITEM_CODES_MAX {
        return Err(LogError::LeafFieldLength {
            field: "item_codes",
            len: n_item_codes,
            reason: "more entries than allowed",
        });
    }
    let item_codes = (0..n_item_codes)
        .map(|_| reader.text("item_codes"))
        .collect::<Result<Vec<_>, _>>()?;
    let decision = reader.text("decision")?;
    let reason_code = reader.text("reason_code")?;
    let request_digest = reader.hash("request_digest")?;
    let response_digest = reader.hash("response_digest")?;
    let detail_commitment = reader.hash("detail_commitment")?;
    if !reader.bytes.is_empty() {
        return Err(LogError::LeafTrailing {
            extra: reader.bytes.len(),
        });
    }
    Ok(Leaf {
        leaf_idx,
        ts_ms,
        leaf_nonce,
        event_type,
        actor_ref,
        subject_ref,
        grant_ref,
        purpose,
        item_codes,
        decision,
        reason_code,
        request_digest,
        response_digest,
        detail_commitment,
    })
}

fn check_text(field: &'static str, text: &[u8]) -> Result<(), LogError> {
    if text.len() > LEAF_TEXT_BYTES_MAX {
        return Err(LogError::LeafFieldLength {
            field,
            len: text.len(),
            reason: "longer than 64 bytes",
        });
    }
    // Codes only: printable ASCII keeps one encoding per value (no Unicode normalisation
    // question) and keeps free text, which could be personal, out of the leaf.
    if !text.iter().all(|byte| (0x20..0x7f).contains(byte)) {
        return Err(LogError::LeafText { field });
    }
    Ok(())
}

fn put_text(out: &mut Vec<u8>, field: &'static str, text: &str) -> Result<(), LogError> {
    check_text(field, text.as_bytes())?;
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn put_hash(out: &mut Vec<u8>, hash: &Option<Hash>) {
    match hash {
        Some(hash) => {
            out.extend_from_slice(&(HASH_LEN as u16).to_be_bytes());
            out.extend_from_slice(hash);
        }
        None => out.extend_from_slice(&0u16.to_be_bytes()),
    }
}

/// Reads fields off the front of the leaf bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8], LogError> {
        if self.bytes.len() < len {
            return Err(LogError::LeafTruncated { field });
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, LogError> {
        let bytes = self.take(field, 2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, LogError> {
        let bytes = self.take(field, 8)?;
        Ok(u64::from_be_bytes(bytes.try_into().expect("took 8 bytes")))
    }

    fn text(&mut self, field: &'static str) -> Result<String, LogError> {
        let len = usize::from(self.u16(field)?);
        let bytes = self.take(field, len)?;
        check_text(field, bytes)?;
        Ok(String::from_utf8(bytes.to_vec()).expect("printable ASCII is UTF-8"))
    }

    fn hash(&mut self, field: &'static str) -> Result<Option<Hash>, LogError> {
        match usize::from(self.u16(field)?) {
            0 => Ok(None),
            HASH_LEN => Ok(Some(
                self.take(field, HASH_LEN)?
                    .try_into()
                    .expect("took one hash"),
            )),
            len => Err(LogError::LeafFieldLength {
                field,
                len,
                reason: "a hash field is empty or 32 bytes",
            }),
        }
    }
}
