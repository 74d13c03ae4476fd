//! The one facade over the Chinese national (商用密码) algorithms (spec data-authorization.md
//! §10.3): SM3 hashing, HMAC-SM3, SM4-GCM sealing, SM2 signatures with the GM/T default
//! distinguishing ID, and randomness from the operating system.
//!
//! Business crates call only this crate, never `sm2`, `sm3`, `sm4` or `aes-gcm` directly, so that a
//! later switch to a certified cryptographic module (§10.4) changes one place. The software
//! implementations here are the RustCrypto crates; none is certified, and the SM2 one has never
//! been independently audited, which is why production signing keys belong in the 密码机.

mod hash;
mod keyring;
mod random;
mod seal;
mod sign;

pub use hash::{hash, hash_parts, hmac_sm3, hmac_sm3_verify, Hash, Sm3Digest, HASH_LEN};
pub use keyring::{
    check_family, sealed_version, FieldPlace, Keyring, FAMILIES_MAX, FAMILY_CHARS_MAX,
    INDEX_KEY_LEN, KEY_FILE_LINES_MAX, KEY_VERSIONS_MAX,
};
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
    /// A sealed field whose key version the keyring holds but which does not authenticate.
    #[error(
        "sealed data: does not open under version {version} of {family} (altered, moved from \
         another row or column, or sealed under another key file)"
    )]
    OpenFailedUnder {
        /// The key family.
        family: String,
        /// The key version the value names.
        version: u32,
    },
    /// Text that is not a sealed field (`v<version>:<hex>`).
    #[error("sealed data: {reason}")]
    MalformedSealed {
        /// Why the text was refused.
        reason: &'static str,
    },
    /// A sealed field under a key version the keyring does not hold.
    #[error(
        "sealed data: key version {version} of {family} is not in the key file (retired, or \
         another key file)"
    )]
    KeyVersionMissing {
        /// The key family.
        family: String,
        /// The missing version.
        version: u32,
    },
    /// A family with no key to seal under.
    #[error("keys: no key for {family} in the key file (yibao keys rotate --family {family})")]
    NoActiveKey {
        /// The key family.
        family: String,
    },
    /// An attempt to retire the version new values are sealed under.
    #[error("keys: version {version} is the active key of {family}; rotate first")]
    RetireActive {
        /// The key family.
        family: String,
        /// The active version.
        version: u32,
    },
    /// A family name outside `a-z0-9_.` or too long.
    #[error("keys: family `{family}` must be 1 to 64 characters of a-z, 0-9, `_` and `.`")]
    BadFamily {
        /// The name given (cut to 64 characters).
        family: String,
    },
    /// A keyring past one of its limits.
    #[error("keys: {family}: {reason}")]
    TooManyKeys {
        /// The key family.
        family: String,
        /// Which limit.
        reason: &'static str,
    },
    /// A key file that cannot be read as a keyring (line 0: the file as a whole).
    #[error("key file line {line}: {reason}")]
    KeyFile {
        /// The line (1-based; 0 for the whole file).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}
