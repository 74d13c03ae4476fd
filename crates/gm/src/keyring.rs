//! Field sealing with versioned keys (spec data-authorization.md §10.1): a [`Keyring`] holds SM4
//! data keys per purpose (a "family", named after the column it protects, e.g.
//! `visit.mdtrt_cert_no`), each in numbered versions of which the highest is the active one, and
//! one HMAC-SM3 key for blind indexes. A sealed field is text, `v<version>:<hex>` of nonce ‖
//! ciphertext ‖ tag, so a value sealed before a rotation still names the key that opens it; the
//! associated data binds it to its table, column and row ([`FieldPlace`]), so a ciphertext copied
//! to another row or column does not open.
//!
//! Pure: the caller reads and writes the key file ([`Keyring::from_text`], [`Keyring::to_text`]).

use std::collections::BTreeMap;

use crate::seal::{open, seal, SealKey, SealNonce, SEAL_KEY_LEN, SEAL_NONCE_LEN, SEAL_TAG_LEN};
use crate::sign::{from_hex, to_hex};
use crate::GmError;

/// Length of the blind-index key in bytes.
pub const INDEX_KEY_LEN: usize = 32;
/// Key versions one family may hold at once: rotations are yearly, and old versions are retired
/// once rewrapped, so more than this means retiring was forgotten.
pub const KEY_VERSIONS_MAX: usize = 64;
/// Families in one key file: one per sealed column, a handful.
pub const FAMILIES_MAX: usize = 64;
/// Characters in a family name.
pub const FAMILY_CHARS_MAX: usize = 64;
/// Lines in a key file (comments included): families × versions, with room for comments.
pub const KEY_FILE_LINES_MAX: usize = 8192;

/// Domain tag at the start of every field's associated data.
const AAD_DOMAIN: &[u8] = b"yibao-field/v1";

/// Where a sealed value lives: its table, column and row key. The associated data is the three,
/// each length-prefixed, so no two places share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPlace<'a> {
    /// The table (`visit`).
    pub table: &'a str,
    /// The column (`mdtrt_cert_no`).
    pub column: &'a str,
    /// The row's key (`mdtrt_id`).
    pub row_key: &'a str,
}

impl FieldPlace<'_> {
    /// The associated data: a domain tag, then table, column and row key, each as a 4-byte
    /// big-endian length and its UTF-8 bytes.
    pub fn aad(&self) -> Vec<u8> {
        let mut aad = AAD_DOMAIN.to_vec();
        for part in [self.table, self.column, self.row_key] {
            let len = u32::try_from(part.len()).expect("a table, column or row key under 4 GiB");
            aad.extend_from_slice(&len.to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// Versioned SM4 data keys per family and the blind-index key; never stored in the database.
#[derive(Clone)]
pub struct Keyring {
    families: BTreeMap<String, BTreeMap<u32, SealKey>>,
    index_key: [u8; INDEX_KEY_LEN],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let versions: BTreeMap<&str, Vec<u32>> = self
            .families
            .iter()
            .map(|(family, keys)| (family.as_str(), keys.keys().copied().collect()))
            .collect();
        write!(f, "Keyring({versions:?})")
    }
}

fn key_file_error(line: usize, reason: impl Into<String>) -> GmError {
    GmError::KeyFile {
        line,
        reason: reason.into(),
    }
}

/// Checks a family name: 1 to [`FAMILY_CHARS_MAX`] characters of `a-z`, `0-9`, `_` and `.`.
pub fn check_family(family: &str) -> Result<(), GmError> {
    let ok = !family.is_empty()
        && family.len() <= FAMILY_CHARS_MAX
        && family
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(GmError::BadFamily {
            family: family.chars().take(FAMILY_CHARS_MAX).collect(),
        })
    }
}

/// The key version a sealed field names, or `None` when the text is not a sealed field (a clear
/// value written before sealing began).
pub fn sealed_version(text: &str) -> Option<u32> {
    parse_sealed(text).ok().map(|(version, _)| version)
}

/// Splits `v<version>:<hex>` into the version and the bytes (nonce ‖ ciphertext ‖ tag).
fn parse_sealed(text: &str) -> Result<(u32, Vec<u8>), GmError> {
    let malformed = |reason| GmError::MalformedSealed { reason };
    let rest = text
        .strip_prefix('v')
        .ok_or(malformed("does not start with `v<version>:`"))?;
    let (version, body) = rest
        .split_once(':')
        .ok_or(malformed("does not start with `v<version>:`"))?;
    if version.is_empty()
        || version.starts_with('0')
        || !version.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed("the version is not a positive decimal number"));
    }
    let version: u32 = version
        .parse()
        .map_err(|_| malformed("the version is not a positive decimal number"))?;
    let bytes = from_hex(body).ok_or(malformed("the body is not hexadecimal"))?;
    if bytes.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
        return Err(malformed("shorter than a nonce and a tag"));
    }
    Ok((version, bytes))
}

impl Keyring {
    /// A new keyring with version 1 of each family and a fresh index key.
    pub fn generate(families: &[&str]) -> Result<Self, GmError> {
        let mut keyring = Self {
            families: BTreeMap::new(),
            index_key: crate::random_bytes()?,
        };
        for family in families {
            keyring.rotate(family)?;
        }
        Ok(keyring)
    }

    /// The keyring in a key file's text (as written by [`Keyring::to_text`]): lines
    /// `index-key HEX` (once) and `data-key FAMILY VERSION HEX`; `#` comments and blank lines
    /// are skipped.
    pub fn from_text(text: &str) -> Result<Self, GmError> {
        let mut families: BTreeMap<String, BTreeMap<u32, SealKey>> = BTreeMap::new();
        let mut index_key = None;
        for (idx, line) in text.lines().enumerate() {
            let n = idx + 1;
            if n > KEY_FILE_LINES_MAX {
                return Err(key_file_error(
                    n,
                    format!("more than {KEY_FILE_LINES_MAX} lines"),
                ));
            }
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["index-key", hex] => {
                    let bytes = from_hex(hex)
                        .and_then(|b| <[u8; INDEX_KEY_LEN]>::try_from(b).ok())
                        .ok_or_else(|| {
                            key_file_error(
                                n,
                                format!("`index-key` must be {} hex digits", 2 * INDEX_KEY_LEN),
                            )
                        })?;
                    if index_key.replace(bytes).is_some() {
                        return Err(key_file_error(n, "`index-key` given twice"));
                    }
                }
                ["data-key", family, version, hex] => {
                    check_family(family).map_err(|e| key_file_error(n, e.to_string()))?;
                    let version: u32 = version
                        .parse()
                        .ok()
                        .filter(|v| *v > 0 && !version.starts_with('0'))
                        .ok_or_else(|| {
                            key_file_error(n, "the version must be a positive decimal number")
                        })?;
                    let bytes = from_hex(hex)
                        .and_then(|b| <[u8; SEAL_KEY_LEN]>::try_from(b).ok())
                        .ok_or_else(|| {
                            key_file_error(
                                n,
                                format!("a data key must be {} hex digits", 2 * SEAL_KEY_LEN),
                            )
                        })?;
                    if !families.contains_key(*family) && families.len() >= FAMILIES_MAX {
                        return Err(key_file_error(
                            n,
                            format!("more than {FAMILIES_MAX} families"),
                        ));
                    }
                    let keys = families.entry((*family).to_owned()).or_default();
                    if keys.len() >= KEY_VERSIONS_MAX {
                        return Err(key_file_error(
                            n,
                            format!("more than {KEY_VERSIONS_MAX} versions of {family}: retire old ones"),
                        ));
                    }
                    if keys.insert(version, SealKey::from_bytes(bytes)).is_some() {
                        return Err(key_file_error(
                            n,
                            format!("version {version} of {family} given twice"),
                        ));
                    }
                }
                [name, ..] if *name == "index-key" || *name == "data-key" => {
                    return Err(key_file_error(
                        n,
                        format!("`{name}` has the wrong number of fields"),
                    ));
                }
                [name, ..] => {
                    return Err(key_file_error(n, format!("unknown field `{name}`")));
                }
                [] => unreachable!("blank lines are skipped"),
            }
        }
        let index_key = index_key.ok_or_else(|| key_file_error(0, "`index-key` is missing"))?;
        Ok(Self {
            families,
            index_key,
        })
    }

    /// The key file's text: secret, to be written with mode 0600 outside the database.
    pub fn to_text(&self) -> String {
        let mut text = String::from(
            "# yibao data keys (docs/PRIVACY.md, \"Encryption at rest\"). Secret: keep this file\n\
             # outside the database and its backups, readable only by the server's user.\n\
             # data-key FAMILY VERSION KEY: the highest version of a family seals new values.\n",
        );
        text.push_str(&format!("index-key {}\n", to_hex(&self.index_key)));
        for (family, keys) in &self.families {
            for (version, key) in keys {
                text.push_str(&format!(
                    "data-key {family} {version} {}\n",
                    to_hex(&key.to_bytes())
                ));
            }
        }
        text
    }

    /// The families, in name order.
    pub fn families(&self) -> Vec<&str> {
        self.families.keys().map(String::as_str).collect()
    }

    /// The versions of `family` held, ascending (empty for an unknown family).
    pub fn versions(&self, family: &str) -> Vec<u32> {
        self.families
            .get(family)
            .map(|keys| keys.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The version new values of `family` are sealed under: its highest.
    pub fn active_version(&self, family: &str) -> Option<u32> {
        self.families
            .get(family)
            .and_then(|keys| keys.keys().next_back().copied())
    }

    /// Adds a fresh key to `family` as its new active version (1 for a new family) and returns
    /// the version. Older versions stay, so values sealed under them still open.
    pub fn rotate(&mut self, family: &str) -> Result<u32, GmError> {
        check_family(family)?;
        if !self.families.contains_key(family) && self.families.len() >= FAMILIES_MAX {
            return Err(GmError::TooManyKeys {
                family: family.to_owned(),
                reason: "the key file already holds the most families",
            });
        }
        let next = self
            .active_version(family)
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(GmError::TooManyKeys {
                family: family.to_owned(),
                reason: "the version number would overflow",
            })?;
        let keys = self.families.entry(family.to_owned()).or_default();
        if keys.len() >= KEY_VERSIONS_MAX {
            return Err(GmError::TooManyKeys {
                family: family.to_owned(),
                reason: "too many versions: retire old ones first",
            });
        }
        keys.insert(next, SealKey::random()?);
        Ok(next)
    }

    /// Removes version `version` of `family`; values still sealed under it no longer open (the
    /// caller checks none remain). The active version cannot be retired.
    pub fn retire(&mut self, family: &str, version: u32) -> Result<(), GmError> {
        let active = self.active_version(family);
        let keys = self
            .families
            .get_mut(family)
            .filter(|keys| keys.contains_key(&version))
            .ok_or_else(|| GmError::KeyVersionMissing {
                family: family.to_owned(),
                version,
            })?;
        if active == Some(version) {
            return Err(GmError::RetireActive {
                family: family.to_owned(),
                version,
            });
        }
        keys.remove(&version);
        Ok(())
    }

    /// Seals `plaintext` for `place` under the active key of `family`, with a random nonce.
    pub fn seal(
        &self,
        family: &str,
        place: &FieldPlace<'_>,
        plaintext: &[u8],
    ) -> Result<String, GmError> {
        self.seal_with_nonce(family, place, plaintext, &SealNonce::random()?)
    }

    /// [`Keyring::seal`] with a given nonce (tests; a nonce must never repeat under a key).
    pub fn seal_with_nonce(
        &self,
        family: &str,
        place: &FieldPlace<'_>,
        plaintext: &[u8],
        nonce: &SealNonce,
    ) -> Result<String, GmError> {
        let (version, key) = self
            .families
            .get(family)
            .and_then(|keys| keys.iter().next_back())
            .ok_or_else(|| GmError::NoActiveKey {
                family: family.to_owned(),
            })?;
        let sealed = seal(key, nonce, &place.aad(), plaintext)?;
        let mut bytes = nonce.0.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("v{version}:{}", to_hex(&bytes)))
    }

    /// Opens a sealed field of `family` at `place`: refused when the text is malformed, when its
    /// key version is not held (retired, or another key file), or when it fails to authenticate
    /// (altered, or moved from another place).
    pub fn open(
        &self,
        family: &str,
        place: &FieldPlace<'_>,
        sealed: &str,
    ) -> Result<Vec<u8>, GmError> {
        let (version, bytes) = parse_sealed(sealed)?;
        let key = self
            .families
            .get(family)
            .and_then(|keys| keys.get(&version))
            .ok_or_else(|| GmError::KeyVersionMissing {
                family: family.to_owned(),
                version,
            })?;
        let (nonce, body) = bytes.split_at(SEAL_NONCE_LEN);
        let nonce = SealNonce(nonce.try_into().expect("split at the nonce length"));
        open(key, &nonce, &place.aad(), body).map_err(|_| GmError::OpenFailedUnder {
            family: family.to_owned(),
            version,
        })
    }

    /// The blind index of `value` for `purpose` (e.g. `ec_token`): hex of HMAC-SM3 under the
    /// index key over the purpose, a zero byte and the value. Equal values give equal indexes,
    /// so a column of indexes can be searched by equality without holding the values.
    pub fn blind_index(&self, purpose: &str, value: &[u8]) -> String {
        let mut message = purpose.as_bytes().to_vec();
        message.push(0);
        message.extend_from_slice(value);
        to_hex(&crate::hmac_sm3(&self.index_key, &message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: FieldPlace<'static> = FieldPlace {
        table: "visit",
        column: "mdtrt_cert_no",
        row_key: "M1",
    };

    #[test]
    fn the_place_is_length_prefixed_so_parts_cannot_slide() {
        let a = FieldPlace {
            table: "ab",
            column: "c",
            row_key: "d",
        };
        let b = FieldPlace {
            table: "a",
            column: "bc",
            row_key: "d",
        };
        assert_ne!(a.aad(), b.aad());
    }

    #[test]
    fn a_known_nonce_gives_the_documented_shape() {
        let keyring = Keyring::generate(&["visit.mdtrt_cert_no"]).unwrap();
        let sealed = keyring
            .seal_with_nonce(
                "visit.mdtrt_cert_no",
                &PLACE,
                b"abc",
                &SealNonce([7; SEAL_NONCE_LEN]),
            )
            .unwrap();
        assert!(sealed.starts_with("v1:070707070707070707070707"));
        assert_eq!(sealed.len(), 3 + 2 * (SEAL_NONCE_LEN + 3 + SEAL_TAG_LEN));
        assert_eq!(sealed_version(&sealed), Some(1));
    }

    #[test]
    fn malformed_sealed_texts_are_named() {
        for (text, reason) in [
            ("abc", "does not start with `v<version>:`"),
            ("v1abc", "does not start with `v<version>:`"),
            ("v:00", "the version is not a positive decimal number"),
            ("v01:00", "the version is not a positive decimal number"),
            ("v-1:00", "the version is not a positive decimal number"),
            ("v1:0g", "the body is not hexadecimal"),
            ("v1:00", "shorter than a nonce and a tag"),
        ] {
            assert_eq!(
                parse_sealed(text).unwrap_err(),
                GmError::MalformedSealed { reason },
                "{text}"
            );
            assert_eq!(sealed_version(text), None);
        }
    }
}
