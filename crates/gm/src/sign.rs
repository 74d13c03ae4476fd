//! SM2 digital signatures (GM/T 0003, GB/T 32918.2) over SM3 with the distinguishing ID
//! `1234567812345678`, the GM/T 0009 default every interoperating implementation assumes.
//!
//! Encodings: a private key is the 32-byte big-endian scalar; a public key is the 65-byte
//! uncompressed SEC1 point (`04 ‖ x ‖ y`), in hex when written as text; a signature is
//! `r ‖ s`, 64 bytes. A key id is the first [`KEY_ID_LEN`] bytes of SM3 over the public key's
//! 65-byte encoding: short enough to print, long enough that two keys of one bureau never share
//! one by accident (it is a label, not a security boundary: verification always uses the key).

use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::sec1::ToSec1Point;

use crate::GmError;

/// The distinguishing ID hashed into every signature (GM/T 0009 default).
pub const DIST_ID: &str = "1234567812345678";
/// Length of a private key in bytes.
pub const SIGNING_KEY_LEN: usize = 32;
/// Length of a public key's uncompressed SEC1 encoding in bytes.
pub const VERIFYING_KEY_LEN: usize = 65;
/// Length of a signature (`r ‖ s`) in bytes.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a [`KeyId`] in bytes.
pub const KEY_ID_LEN: usize = 8;

/// Attempts at drawing a private key before giving up: a random 256-bit string is out of range
/// with probability about 2^-32, so a second failure means the random source is broken.
const KEY_DRAWS_MAX: usize = 4;

/// An SM2 private key with the default distinguishing ID.
#[derive(Clone)]
pub struct SigningKey(sm2::dsa::SigningKey);

/// An SM2 public key with the default distinguishing ID.
#[derive(Clone, Debug)]
pub struct VerifyingKey(sm2::dsa::VerifyingKey);

/// An SM2 signature, `r ‖ s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature([u8; SIGNATURE_LEN]);

/// A short label for a public key: the first [`KEY_ID_LEN`] bytes of SM3 over its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl SigningKey {
    /// A fresh private key from the operating system's random source.
    pub fn generate() -> Result<Self, GmError> {
        for _ in 0..KEY_DRAWS_MAX {
            let bytes: [u8; SIGNING_KEY_LEN] = crate::random_bytes()?;
            if let Ok(key) = Self::from_bytes(&bytes) {
                return Ok(key);
            }
        }
        Err(GmError::Random(
            "no valid SM2 private key in several draws".to_string(),
        ))
    }

    /// The private key with this 32-byte big-endian scalar (refused if zero or ≥ the group order).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GmError> {
        if bytes.len() != SIGNING_KEY_LEN {
            return Err(GmError::InvalidSigningKey {
                reason: "must be 32 bytes",
            });
        }
        sm2::dsa::SigningKey::from_slice(DIST_ID, bytes)
            .map(Self)
            .map_err(|_| GmError::InvalidSigningKey {
                reason: "scalar is zero or not below the group order",
            })
    }

    /// The 32-byte big-endian scalar (secret: store it only wrapped or in the 密码机).
    pub fn to_bytes(&self) -> [u8; SIGNING_KEY_LEN] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key().clone())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.verifying_key().to_hex())
    }
}

impl VerifyingKey {
    /// The public key from its 65-byte uncompressed SEC1 encoding (33-byte compressed also accepted).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GmError> {
        if bytes.len() != VERIFYING_KEY_LEN && bytes.len() != 33 {
            return Err(GmError::InvalidVerifyingKey {
                reason: "must be a 65-byte uncompressed or 33-byte compressed SEC1 point",
            });
        }
        sm2::dsa::VerifyingKey::from_sec1_bytes(DIST_ID, bytes)
            .map(Self)
            .map_err(|_| GmError::InvalidVerifyingKey {
                reason: "not a point on the SM2 curve",
            })
    }

    /// The public key from the hex of its SEC1 encoding.
    pub fn from_hex(text: &str) -> Result<Self, GmError> {
        let bytes = from_hex(text).ok_or(GmError::InvalidVerifyingKey {
            reason: "not hexadecimal",
        })?;
        Self::from_bytes(&bytes)
    }

    /// The 65-byte uncompressed SEC1 encoding, `04 ‖ x ‖ y`.
    pub fn to_bytes(&self) -> [u8; VERIFYING_KEY_LEN] {
        let encoded = self.0.to_sec1_point(false);
        let mut bytes = [0u8; VERIFYING_KEY_LEN];
        bytes.copy_from_slice(encoded.as_bytes());
        bytes
    }

    /// The encoding as 130 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        to_hex(&self.to_bytes())
    }

    /// The key's short label, the first 8 bytes of SM3 over [`VerifyingKey::to_bytes`].
    pub fn key_id(&self) -> KeyId {
        let digest = crate::hash(&self.to_bytes());
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for VerifyingKey {}

impl Signature {
    /// The signature from its 64 bytes `r ‖ s`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GmError> {
        let array: [u8; SIGNATURE_LEN] =
            bytes.try_into().map_err(|_| GmError::MalformedSignature {
                reason: "must be 64 bytes (r ‖ s)",
            })?;
        // Refuse zero or out-of-range scalars here, so a malformed signature is told apart from
        // one that simply does not verify.
        sm2::dsa::Signature::from_slice(&array).map_err(|_| GmError::MalformedSignature {
            reason: "r or s is zero or not below the group order",
        })?;
        Ok(Self(array))
    }

    /// The 64 bytes `r ‖ s`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

/// Signs `message` (SM3 with the signer's `Z` value, then SM2; the nonce is derived
/// deterministically from the key and message, so no randomness is needed).
pub fn sign(key: &SigningKey, message: &[u8]) -> Signature {
    let signature: sm2::dsa::Signature = key.0.sign(message);
    let mut bytes = [0u8; SIGNATURE_LEN];
    bytes.copy_from_slice(&signature.to_bytes());
    Signature(bytes)
}

/// Checks that `signature` was made over `message` by the private key of `key`.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> Result<(), GmError> {
    let signature =
        sm2::dsa::Signature::from_slice(&signature.0).map_err(|_| GmError::MalformedSignature {
            reason: "r or s is zero or not below the group order",
        })?;
    key.0
        .verify(message, &signature)
        .map_err(|_| GmError::BadSignature)
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// The bytes of hex text (either case), or `None` if it is not an even number of hex digits.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = (pair[0] as char).to_digit(16)?;
            let low = (pair[1] as char).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}
