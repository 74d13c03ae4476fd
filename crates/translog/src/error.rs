//! The crate's one error type: malformed leaves, proofs that cannot be built or do not verify,
//! checkpoints that do not parse or verify, and a witness's refusals.

use crate::tree::SubtreeId;

/// Everything that can go wrong in this crate, in the log's own terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The leaf bytes end inside a field.
    #[error("leaf: truncated in field `{field}`")]
    LeafTruncated {
        /// The field being read.
        field: &'static str,
    },
    /// The leaf's first byte names a format version this code does not know.
    #[error("leaf: version {version} is not supported (expected {expected})")]
    LeafVersion {
        /// The version byte found.
        version: u8,
        /// The version this code writes and reads.
        expected: u8,
    },
    /// A field's length is not allowed.
    #[error("leaf: field `{field}` has length {len}: {reason}")]
    LeafFieldLength {
        /// The field.
        field: &'static str,
        /// Its length (bytes, or entries for a list).
        len: usize,
        /// What is allowed.
        reason: &'static str,
    },
    /// A text field is not printable ASCII.
    #[error("leaf: field `{field}` must be printable ASCII (codes, not free text)")]
    LeafText {
        /// The field.
        field: &'static str,
    },
    /// Bytes follow the last field.
    #[error("leaf: {extra} bytes after the last field")]
    LeafTrailing {
        /// How many.
        extra: usize,
    },
    /// The leaf is longer than any leaf this format can produce.
    #[error("leaf: {len} bytes, more than the {max} a leaf can have")]
    LeafTooLong {
        /// The length given.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A proof was asked for a leaf or tree size the tree does not have.
    #[error("proof: {reason} (index {idx}, tree size {size})")]
    ProofRange {
        /// The leaf index or old tree size asked for.
        idx: u64,
        /// The tree size asked for.
        size: u64,
        /// Why it cannot be proved.
        reason: &'static str,
    },
    /// The hash store lacks a subtree hash a proof needs.
    #[error("hash store: no hash for the subtree at level {}, index {}", .0.level, .0.index)]
    MissingHash(SubtreeId),
    /// The proof's bytes are not a whole number of 32-byte hashes.
    #[error("proof: {len} bytes is not a whole number of 32-byte hashes")]
    ProofLength {
        /// The length given.
        len: usize,
    },
    /// An inclusion proof does not lead from the leaf to the root.
    #[error("inclusion proof: does not verify ({reason})")]
    InclusionFailed {
        /// What the verifier found.
        reason: &'static str,
    },
    /// A consistency proof does not show the old tree is a prefix of the new one.
    #[error("consistency proof: does not verify ({reason})")]
    ConsistencyFailed {
        /// What the verifier found.
        reason: &'static str,
    },
    /// A signed note or checkpoint does not parse.
    #[error("checkpoint: {reason}")]
    CheckpointFormat {
        /// What is wrong, naming the line.
        reason: String,
    },
    /// A checkpoint is for another log.
    #[error("checkpoint: origin `{found}` is not this log's `{expected}`")]
    CheckpointOrigin {
        /// The origin line found.
        found: String,
        /// The log's origin.
        expected: String,
    },
    /// The note carries no signature by a required key.
    #[error("checkpoint: no signature by key `{name}`")]
    SignatureMissing {
        /// The key's name.
        name: String,
    },
    /// A signature line by a required key does not verify.
    #[error("checkpoint: the signature by key `{name}` does not verify")]
    SignatureInvalid {
        /// The key's name.
        name: String,
    },
    /// Fewer witnesses cosigned than the policy requires.
    #[error("checkpoint: {found} valid witness cosignatures, {required} required")]
    QuorumNotMet {
        /// Valid cosignatures by known witnesses.
        found: usize,
        /// The quorum.
        required: usize,
    },
    /// A checkpoint smaller than one already seen (a rollback).
    #[error("checkpoint: size {size} is smaller than the size {seen} already seen (rollback)")]
    Rollback {
        /// The new checkpoint's size.
        size: u64,
        /// The size already seen.
        seen: u64,
    },
    /// Two different roots for one log (a fork): same size, or no consistency between them.
    #[error("checkpoint: size {size} is not an extension of the checkpoint of size {seen} already seen (fork): {reason}")]
    Fork {
        /// The new checkpoint's size.
        size: u64,
        /// The size already seen.
        seen: u64,
        /// Why.
        reason: String,
    },
    /// A key name that cannot appear in a signed note.
    #[error("key name `{name}`: must be non-empty, without spaces, newlines or '+'")]
    KeyName {
        /// The name.
        name: String,
    },
}
