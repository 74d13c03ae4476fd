//! Randomness from the operating system's CSPRNG (tokens, nonces, salts, keys).

use crate::GmError;

/// Fills `dest` with random bytes from the operating system.
pub fn fill_random(dest: &mut [u8]) -> Result<(), GmError> {
    getrandom::fill(dest).map_err(|error| GmError::Random(error.to_string()))
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], GmError> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(bytes)
}

/// A fresh secret token: 32 random bytes (256 bits) as 64 lower-case hex digits.
pub fn random_token() -> Result<String, GmError> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(crate::sign::to_hex(&bytes))
}
