//! SM3 (GM/T 0004-2012) and HMAC-SM3.

use hmac_gm::{Hmac, KeyInit, Mac};
use sm3::{Digest, Sm3};

/// Length of an SM3 digest and of an HMAC-SM3 tag, in bytes.
pub const HASH_LEN: usize = 32;

/// An SM3 digest or HMAC-SM3 tag.
pub type Hash = [u8; HASH_LEN];

/// The SM3 hasher as a `digest::Digest`, for generic code such as RFC 6962 proof libraries.
///
/// Prefer [`hash`] and [`hash_parts`]; this exists so that code written against the `digest`
/// traits (for example `ct-merkle`) can be given SM3 without depending on the `sm3` crate.
pub type Sm3Digest = Sm3;

/// The SM3 digest of `data`.
pub fn hash(data: &[u8]) -> Hash {
    Sm3::digest(data).into()
}

/// The SM3 digest of the concatenation of `parts`, without building the concatenation.
pub fn hash_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// HMAC-SM3 of `message` under `key` (RFC 2104 over SM3; any key length).
pub fn hmac_sm3(key: &[u8], message: &[u8]) -> Hash {
    let mut mac = new_mac(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC-SM3 of `message` under `key`, compared in constant time.
pub fn hmac_sm3_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let mut mac = new_mac(key);
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

fn new_mac(key: &[u8]) -> Hmac<Sm3> {
    // HMAC takes keys of any length (longer ones are hashed first), so this cannot fail.
    <Hmac<Sm3> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}
