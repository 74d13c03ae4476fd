//! How a grantee signs a request (spec data-authorization.md §6.1), and how the service checks
//! it. Four headers carry it:
//!
//! | header | value |
//! |---|---|
//! | `X-Grantee` | the grantee's registration id (`insurer-a`) |
//! | `X-Timestamp` | UTC milliseconds since the Unix epoch when the request was made |
//! | `X-Nonce` | 1–64 characters, never used before by this grantee |
//! | `X-Signature` | SM2 signature (`r ‖ s`, 128 hex digits) over [`signing_message`] |
//!
//! The signed message is the text
//! `YIBAO-OPEN-V1\n{METHOD}\n{PATH}\n{TIMESTAMP}\n{NONCE}\n{hex SM3(body)}\n{GRANTEE}`, signed
//! with SM2 over SM3 and the default distinguishing ID (GM/T 0009). A timestamp more than 300 s
//! from the server's clock, or a nonce seen in the last 600 s, is refused (`REPLAY`).
//!
//! Answers are signed by the bureau when it is configured with a key: `X-Bureau-Signature` over
//! the same kind of message with `YIBAO-OPEN-V1-ANSWER`, the request's path, its grantee and
//! nonce, and the answer body's SM3, so a grantee can prove what it received.

use axum::http::HeaderMap;

/// The grantee header.
pub const GRANTEE_HEADER: &str = "x-grantee";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-timestamp";
/// The nonce header.
pub const NONCE_HEADER: &str = "x-nonce";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// The bureau's signature on an answer.
pub const BUREAU_SIGNATURE_HEADER: &str = "x-bureau-signature";

/// The bytes a grantee signs for a request.
pub fn signing_message(
    method: &str,
    path: &str,
    timestamp_ms: i64,
    nonce: &str,
    body: &[u8],
    grantee_id: &str,
) -> Vec<u8> {
    format!(
        "YIBAO-OPEN-V1\n{method}\n{path}\n{timestamp_ms}\n{nonce}\n{}\n{grantee_id}",
        hex(&yibao_gm::hash(body))
    )
    .into_bytes()
}

/// The bytes the bureau signs for an answer to a request.
pub fn answer_message(path: &str, grantee_id: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "YIBAO-OPEN-V1-ANSWER\n{path}\n{grantee_id}\n{nonce}\n{}",
        hex(&yibao_gm::hash(body))
    )
    .into_bytes()
}

/// The four signature headers of a request, read but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Grantee`.
    pub grantee_id: String,
    /// `X-Timestamp`.
    pub timestamp_ms: i64,
    /// `X-Nonce`.
    pub nonce: String,
    /// `X-Signature`, decoded; None when it is not 64 bytes of hex (it then verifies nothing).
    pub signature: Option<yibao_gm::Signature>,
}

/// Reads the headers; a missing or malformed one is named in the error.
pub fn read_headers(headers: &HeaderMap) -> Result<SignedHeaders, (&'static str, &'static str)> {
    let text = |name: &'static str| -> Result<&str, (&'static str, &'static str)> {
        headers
            .get(name)
            .ok_or((name, "is missing"))?
            .to_str()
            .map_err(|_| (name, "is not visible ASCII"))
    };
    let grantee_id = text(GRANTEE_HEADER)?.to_owned();
    let timestamp_ms = text(TIMESTAMP_HEADER)?
        .parse()
        .map_err(|_| (TIMESTAMP_HEADER, "is not UTC milliseconds"))?;
    let nonce = text(NONCE_HEADER)?.to_owned();
    let signature = unhex(text(SIGNATURE_HEADER)?)
        .and_then(|bytes| yibao_gm::Signature::from_bytes(&bytes).ok());
    Ok(SignedHeaders {
        grantee_id,
        timestamp_ms,
        nonce,
        signature,
    })
}

/// Whether the signature verifies under `key` for this request.
pub fn verifies(
    key: &yibao_gm::VerifyingKey,
    signed: &SignedHeaders,
    method: &str,
    path: &str,
    body: &[u8],
) -> bool {
    let Some(signature) = &signed.signature else {
        return false;
    };
    let message = signing_message(
        method,
        path,
        signed.timestamp_ms,
        &signed.nonce,
        body,
        &signed.grantee_id,
    );
    yibao_gm::verify(key, &message, signature).is_ok()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex; None when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
