//! Keyed pseudonyms of personal identifiers: HMAC-SM3 under a key kept in its own file, outside
//! the export, so the same identifier gets the same pseudonym in every run and table, and
//! nobody holding only the export can recompute or reverse it.

use std::io::Write;
use std::path::Path;

use crate::error::BatchError;

/// Bytes of a pseudonym key.
pub const KEY_LEN: usize = 32;

/// Bytes of HMAC-SM3 kept in a pseudonym (128 bits, written as 32 hex digits).
pub const PSEUDONYM_LEN: usize = 16;

/// A pseudonym key.
#[derive(Clone)]
pub struct PseudonymKey {
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PseudonymKey({})", self.key_id())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl PseudonymKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        PseudonymKey { bytes }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, BatchError> {
        let bytes = yibao_gm::random_bytes::<KEY_LEN>()
            .map_err(|e| BatchError::bad("pseudonym-key", e.to_string()))?;
        Ok(PseudonymKey { bytes })
    }

    /// Reads the key file at `path` (64 hex digits), creating it with a fresh key, readable by
    /// its owner only, when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, BatchError> {
        if !path.exists() {
            let key = PseudonymKey::generate()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(path).map_err(BatchError::io(path))?;
            file.write_all(format!("{}\n", hex(&key.bytes)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(BatchError::io(path))?;
            return Ok(key);
        }
        let text = std::fs::read_to_string(path).map_err(BatchError::io(path))?;
        let text = text.trim();
        let well_formed = text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(BatchError::file(
                path,
                format!("a pseudonym key is {} hex digits", 2 * KEY_LEN),
            ));
        }
        let mut bytes = [0u8; KEY_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| BatchError::file(path, "not hex"))?;
        }
        Ok(PseudonymKey { bytes })
    }

    /// The pseudonym of `value`, an identifier of kind `domain` (`psn_no`, `medcasno`): hex of
    /// the first [`PSEUDONYM_LEN`] bytes of HMAC-SM3(key, domain ‖ 0 ‖ value).
    pub fn pseudonym(&self, domain: &str, value: &str) -> String {
        let mut message = Vec::with_capacity(domain.len() + 1 + value.len());
        message.extend_from_slice(domain.as_bytes());
        message.push(0);
        message.extend_from_slice(value.as_bytes());
        hex(&yibao_gm::hmac_sm3(&self.bytes, &message)[..PSEUDONYM_LEN])
    }

    /// A public name of the key (recorded in the manifest so an export is never continued under
    /// another key); it reveals nothing of the key.
    pub fn key_id(&self) -> String {
        hex(&yibao_gm::hmac_sm3(&self.bytes, b"yibao export pseudonym key id")[..8])
    }
}

/// Refuses a key file inside the output directory `out` (which must exist): the key must never
/// travel with the export it pseudonymises.
pub fn check_key_outside(key: &Path, out: &Path) -> Result<(), BatchError> {
    let out_real = out.canonicalize().map_err(BatchError::io(out))?;
    let key_dir = match key.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let key_dir_real = key_dir.canonicalize().map_err(BatchError::io(key_dir))?;
    if key_dir_real.starts_with(&out_real) {
        return Err(BatchError::bad(
            "pseudonym-key",
            format!(
                "{} is inside the output directory {}; keep the key outside the export",
                key.display(),
                out.display()
            ),
        ));
    }
    Ok(())
}
