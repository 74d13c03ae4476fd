//! The national service gateway ("CSB") authentication of spec §1.2.
//!
//! A client sends `_api_name`, `_api_version`, `_api_timestamp` (13-digit milliseconds),
//! `_api_access_key` and `_api_signature`; the signature is the Base64 of HMAC-SHA1, keyed with
//! the institution's secret key, over the four other headers sorted by name and joined as
//! `k=v` with `&`. Failures are answered by the gateway, not by the interface: HTTP 401 with
//! `{"code":401,"message":…}` (see [`AuthError`]).

use std::collections::HashMap;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::limits::SIGNATURE_WINDOW_MS;

type HmacSha1 = Hmac<Sha1>;

/// Header carrying the interface name (`1101` or `api_1101`).
pub const HEADER_API_NAME: &str = "_api_name";
/// Header carrying the interface version.
pub const HEADER_API_VERSION: &str = "_api_version";
/// Header carrying the signing time in milliseconds since the Unix epoch.
pub const HEADER_API_TIMESTAMP: &str = "_api_timestamp";
/// Header carrying the institution's access key (AK).
pub const HEADER_API_ACCESS_KEY: &str = "_api_access_key";
/// Header carrying the Base64 HMAC-SHA1 signature.
pub const HEADER_API_SIGNATURE: &str = "_api_signature";

/// The text that is signed: the four `_api_*` headers sorted by name, `k=v` joined with `&`.
fn string_to_sign(
    access_key: &str,
    api_name: &str,
    timestamp_ms: i64,
    api_version: &str,
) -> String {
    // Sorted by key: _api_access_key < _api_name < _api_timestamp < _api_version.
    format!(
        "{HEADER_API_ACCESS_KEY}={access_key}&{HEADER_API_NAME}={api_name}&\
         {HEADER_API_TIMESTAMP}={timestamp_ms}&{HEADER_API_VERSION}={api_version}"
    )
}

fn mac_for(
    secret_key: &str,
    access_key: &str,
    api_name: &str,
    timestamp_ms: i64,
    api_version: &str,
) -> HmacSha1 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign(access_key, api_name, timestamp_ms, api_version).as_bytes());
    mac
}

/// The CSB signature of spec §1.2 for one request, as a client puts it in `_api_signature`.
pub fn sign(
    secret_key: &str,
    access_key: &str,
    api_name: &str,
    timestamp_ms: i64,
    api_version: &str,
) -> String {
    let mac = mac_for(secret_key, access_key, api_name, timestamp_ms, api_version);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Why the gateway refused a request; each maps to the gateway's own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A `_api_*` header is missing or not readable.
    #[error("缺少服务网关的请求头!")]
    MissingHeader,
    /// `_api_timestamp` is outside the 30-minute window around the server's clock.
    #[error("签名时间戳超时!")]
    TimestampOutsideWindow,
    /// The access key belongs to no active institution.
    #[error("非法用户!")]
    UnknownAccessKey,
    /// The signature does not match.
    #[error("签名不一致!")]
    SignatureMismatch,
}

/// One institution's gateway credentials.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The institution these keys belong to (定点医药机构编号).
    pub fixmedins_code: String,
    /// The secret key (SK) used to sign.
    pub secret_key: String,
}

/// The credentials of every active institution, by access key. Loaded once at startup so the
/// gateway check never queries the database.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    by_access_key: HashMap<String, Credential>,
}

impl KeyRing {
    /// Adds (or replaces) the credentials for one access key.
    pub fn insert(&mut self, access_key: String, credential: Credential) {
        self.by_access_key.insert(access_key, credential);
    }

    /// Number of access keys known.
    pub fn len(&self) -> usize {
        self.by_access_key.len()
    }

    /// Whether no access key is known.
    pub fn is_empty(&self) -> bool {
        self.by_access_key.is_empty()
    }
}

/// The `_api_*` headers of one request, as sent.
#[derive(Debug, Clone, Copy)]
pub struct GatewayHeaders<'a> {
    /// `_api_name`.
    pub api_name: &'a str,
    /// `_api_version`.
    pub api_version: &'a str,
    /// `_api_timestamp` as sent (digits).
    pub timestamp: &'a str,
    /// `_api_access_key`.
    pub access_key: &'a str,
    /// `_api_signature`.
    pub signature: &'a str,
}

impl<'a> GatewayHeaders<'a> {
    /// Reads the five headers; any missing or non-UTF-8 one is [`AuthError::MissingHeader`].
    pub fn from_headers(headers: &'a axum::http::HeaderMap) -> Result<Self, AuthError> {
        let get = |name: &str| -> Result<&'a str, AuthError> {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .ok_or(AuthError::MissingHeader)
        };
        Ok(Self {
            api_name: get(HEADER_API_NAME)?,
            api_version: get(HEADER_API_VERSION)?,
            timestamp: get(HEADER_API_TIMESTAMP)?,
            access_key: get(HEADER_API_ACCESS_KEY)?,
            signature: get(HEADER_API_SIGNATURE)?,
        })
    }
}

/// Checks one request's gateway headers at `now_ms` (the request's clock reading) and returns
/// the authenticated institution's code.
pub fn verify<'k>(
    keys: &'k KeyRing,
    headers: &GatewayHeaders<'_>,
    now_ms: i64,
) -> Result<&'k str, AuthError> {
    // A timestamp that is not a number cannot be inside the window.
    let timestamp_ms: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| AuthError::TimestampOutsideWindow)?;
    if (now_ms - timestamp_ms).abs() > SIGNATURE_WINDOW_MS {
        return Err(AuthError::TimestampOutsideWindow);
    }
    let credential = keys
        .by_access_key
        .get(headers.access_key)
        .ok_or(AuthError::UnknownAccessKey)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(headers.signature)
        .map_err(|_| AuthError::SignatureMismatch)?;
    let mac = mac_for(
        &credential.secret_key,
        headers.access_key,
        headers.api_name,
        timestamp_ms,
        headers.api_version,
    );
    // `verify_slice` compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| AuthError::SignatureMismatch)?;
    Ok(&credential.fixmedins_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        let mut keys = KeyRing::default();
        keys.insert(
            "ak-h1".to_owned(),
            Credential {
                fixmedins_code: "H33018300564".to_owned(),
                secret_key: "sk-h1".to_owned(),
            },
        );
        keys
    }

    fn headers<'a>(signature: &'a str, timestamp: &'a str) -> GatewayHeaders<'a> {
        GatewayHeaders {
            api_name: "1101",
            api_version: "1.0.0",
            timestamp,
            access_key: "ak-h1",
            signature,
        }
    }

    #[test]
    fn string_to_sign_sorts_headers_by_name() {
        assert_eq!(
            string_to_sign("AK", "1101", 1_700_000_000_000, "1.0.0"),
            "_api_access_key=AK&_api_name=1101&_api_timestamp=1700000000000&_api_version=1.0.0"
        );
    }

    #[test]
    fn signature_matches_an_independent_hmac_sha1() {
        // RFC 2202 test case 2: HMAC-SHA1(key "Jefe", "what do ya want for nothing?").
        let mut mac = HmacSha1::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // And our signature is the Base64 of that construction over the sorted headers.
        let signed = sign("Jefe", "AK", "1101", 1, "v");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&signed)
            .unwrap();
        assert_eq!(decoded.len(), 20);
    }

    #[test]
    fn verify_accepts_a_good_signature_and_names_the_institution() {
        let keys = ring();
        let now = 1_700_000_000_000;
        let signature = sign("sk-h1", "ak-h1", "1101", now - 1000, "1.0.0");
        let timestamp = (now - 1000).to_string();
        assert_eq!(
            verify(&keys, &headers(&signature, &timestamp), now),
            Ok("H33018300564")
        );
    }

    #[test]
    fn verify_refuses_in_order_of_precedence() {
        let keys = ring();
        let now = 1_700_000_000_000;
        let old = now - SIGNATURE_WINDOW_MS - 1;
        let old_signature = sign("sk-h1", "ak-h1", "1101", old, "1.0.0");
        assert_eq!(
            verify(&keys, &headers(&old_signature, &old.to_string()), now),
            Err(AuthError::TimestampOutsideWindow)
        );
        assert_eq!(
            verify(&keys, &headers("x", "not-a-number"), now),
            Err(AuthError::TimestampOutsideWindow)
        );
        let mut unknown = headers("x", "1700000000000");
        unknown.access_key = "nobody";
        assert_eq!(
            verify(&keys, &unknown, now),
            Err(AuthError::UnknownAccessKey)
        );
        let wrong_key = sign("other-secret", "ak-h1", "1101", now, "1.0.0");
        assert_eq!(
            verify(&keys, &headers(&wrong_key, &now.to_string()), now),
            Err(AuthError::SignatureMismatch)
        );
        assert_eq!(
            verify(&keys, &headers("%%%", &now.to_string()), now),
            Err(AuthError::SignatureMismatch)
        );
        // The signature covers the interface name: replaying it for another name fails.
        let signature = sign("sk-h1", "ak-h1", "1101", now, "1.0.0");
        let mut other_name = headers(&signature, "0");
        let timestamp = now.to_string();
        other_name.timestamp = &timestamp;
        other_name.api_name = "2207";
        assert_eq!(
            verify(&keys, &other_name, now),
            Err(AuthError::SignatureMismatch)
        );
    }
}
