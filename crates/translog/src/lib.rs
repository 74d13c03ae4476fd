//! The tamper-evident access log's mathematics (spec data-authorization.md §9): the canonical
//! leaf encoding, RFC 6962 Merkle hashing over SM3 with inclusion and consistency proofs,
//! C2SP-style signed checkpoints with SM2, witness cosigning, and the whole-log verifier.
//!
//! Pure: no I/O, no clock, no randomness. The store keeps leaves, subtree hashes (tiles) and
//! checkpoints in tables and calls in here; times and nonces are inputs.
//!
//! # Leaf format, version 1
//!
//! A leaf is a byte string; its leaf hash is SM3(0x00 ‖ leaf). All integers are big-endian.
//! Fields come in this order, with no padding and nothing after the last one:
//!
//! | bytes | field | encoding |
//! |---|---|---|
//! | 1 | `version` | `0x01` |
//! | 8 | `leaf_idx` | u64: the leaf's own index in the log, so a moved leaf no longer fits its place |
//! | 8 | `ts_ms` | u64: UTC milliseconds since 1970-01-01T00:00:00Z |
//! | 16 | `leaf_nonce` | 16 random bytes |
//! | 2 + n | `event_type` | text |
//! | 2 + n | `actor_ref` | hash |
//! | 2 + n | `subject_ref` | hash |
//! | 2 + n | `grant_ref` | hash |
//! | 2 + n | `purpose` | text |
//! | 2 + Σ | `item_codes` | u16 count, then that many texts |
//! | 2 + n | `decision` | text |
//! | 2 + n | `reason_code` | text |
//! | 2 + n | `request_digest` | hash |
//! | 2 + n | `response_digest` | hash |
//! | 2 + n | `detail_commitment` | hash |
//!
//! A *text* is a u16 length `n` (0 ≤ n ≤ 64) then `n` bytes of printable ASCII (0x20–0x7E): codes,
//! never free text. A *hash* is a u16 length that is 0 (absent) or 32, then that many bytes.
//! At most 150 item codes. A decoder refuses any other version, length or trailing byte, so each
//! leaf has exactly one encoding and `encode(decode(bytes)) == bytes` for every accepted input.
//!
//! For example, the leaf `{leaf_idx: 5, ts_ms: 1, leaf_nonce: 16 × 0xAA, event_type: "X",
//! purpose: "P04", item_codes: ["C3"], everything else empty}` is, in hex:
//! `01 0000000000000005 0000000000000001 AA…AA (16) 0001 58 0000 0000 0000 0003 503034 0001
//! 0002 4333 0000 0000 0000 0000 0000`.
//!
//! # Tree, checkpoints, proofs
//!
//! [`tree`]: RFC 6962 hashing (interior node SM3(0x01 ‖ left ‖ right)), proofs from a
//! [`tree::HashStore`] of complete-subtree hashes. [`checkpoint`]: the signed-note text format.
//! [`witness`]: the rule a witness or client applies before accepting a newer checkpoint.
//! [`verify`]: the auditor's whole-log check.

mod error;

pub mod checkpoint;
pub mod leaf;
pub mod tree;
pub mod verify;
pub mod witness;

pub use checkpoint::{
    open_checkpoint, open_witnessed, sign_checkpoint, Checkpoint, NoteSigner, NoteVerifier,
    TrustPolicy,
};
pub use error::LogError;
pub use leaf::{decode_leaf, encode_leaf, Leaf};
pub use tree::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    ConsistencyProof, HashStore, InclusionProof, MemoryTree, SubtreeId,
};
pub use verify::{
    verify_log, verify_log_with_reference, verify_receipt, CheckpointKeys, Fault, LeafFault,
    LeafRow, LogReport,
};
pub use witness::{check_extends, Witness};
