//! The one facade over the Chinese national (商用密码) algorithms (spec data-authorization.md
//! §10.3): SM3 hashing, HMAC-SM3, SM4-GCM sealing, SM2 signatures with the GM/T default
//! distinguishing ID, and randomness from the operating system.
//!
//! Business crates call only this crate, never `sm2`, `sm3`, `sm4` or `aes-gcm` directly, so that a
//! later switch to a certified cryptographic module (§10.4) changes one place. The software
//! implementations here are the RustCrypto crates; none is certified, and the SM2 one has never
//! been independently audited, which is why production signing keys belong in the 密码机.

mod hash;
mod random;
mod seal;
mod sign;

pub use hash::{hash, hash_parts, hmac_sm3, hmac_sm3_verify, Hash, Sm3Digest, HASH_LEN};
pub use random::{fill_random, random_bytes, random_token};
pub use seal::{open, seal, SealKey, SealNonce, SEAL_KEY_LEN, SEAL_NONCE_LEN, SEAL_TAG_LEN};
pub use sign::{
    sign, verify, KeyId, Signature, SigningKey, VerifyingKey, DIST_ID, KEY_ID_LEN, SIGNATURE_LEN,
    SIGNING_KEY_LEN, VERIFYING_KEY_LEN,
};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GmError {
    /// The operating system's random source failed.
    #[error("random source: the operating system refused to give random bytes ({0})")]
    Random(String),
    /// Bytes that are not a valid SM2 private key.
    #[error("signing key: {reason}")]
    InvalidSigningKey {
        /// Why the bytes were refused.
        reason: &'static str,
    },
    /// Bytes or text that are not a valid SM2 public key.
    #[error("verifying key: {reason}")]
    InvalidVerifyingKey {
        /// Why the bytes were refused.
        reason: &'static str,
    },
    /// Bytes that are not an SM2 signature (wrong length or a zero or out-of-range scalar).
    #[error("signature: {reason}")]
    MalformedSignature {
        /// Why the bytes were refused.
        reason: &'static str,
    },
    /// A well-formed signature that does not verify under the key for the message.
    #[error("signature: does not verify for this message and key")]
    BadSignature,
    /// SM4-GCM could not authenticate the ciphertext (wrong key, nonce, AAD, or altered bytes).
    #[error(
        "sealed data: authentication failed (wrong key, nonce or associated data, or altered)"
    )]
    OpenFailed,
    /// SM4-GCM refused to seal (the message or associated data is too long for GCM).
    #[error("sealed data: message or associated data too long for SM4-GCM")]
    SealFailed,
}
