//! [`JsonBody`]: the staff API's JSON body extractor. It refuses, naming the field, a body that
//! is not JSON, larger than [`BODY_BYTES_MAX`](crate::limits::BODY_BYTES_MAX), with an unknown
//! field (request types deny unknown fields) or a value of the wrong type, before the handler
//! runs, so a bad request writes nothing.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::limits::BODY_BYTES_MAX;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !content_type
            .split(';')
            .next()
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type",
                "must be application/json",
            ));
        }
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                format!("is larger than {BODY_BYTES_MAX} bytes"),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_BYTES_MAX as u64) {
            return Err(too_large());
        }
        let bytes = match http_body_util::Limited::new(req.into_body(), BODY_BYTES_MAX)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
            Err(err) => return Err(ApiError::bad("body", format!("could not be read: {err}"))),
        };
        parse(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as a `T`, naming the field of the first error (`roles[1]`, `username`, or
/// `body` for the document as a whole).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        // A missing field is reported at its parent's path, named only in the message.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match missing {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." || inner.is_syntax() || inner.is_eof() => "body".to_owned(),
            None => path,
        };
        ApiError::bad(field, message)
    })?;
    de.end()
        .map_err(|err| ApiError::bad("body", err.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        tags: Vec<u8>,
    }

    fn field_of(text: &str) -> String {
        parse::<Login>(text.as_bytes()).unwrap_err().field
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("{"), "body");
        assert_eq!(field_of("[]"), "body");
        assert_eq!(field_of(r#"{"username": 1, "tags": []}"#), "username");
        assert_eq!(
            field_of(r#"{"username": "a", "tags": [1, "x"]}"#),
            "tags[1]"
        );
        assert_eq!(
            field_of(r#"{"username": "a", "tags": [], "admin": true}"#),
            "admin"
        );
        assert_eq!(field_of(r#"{"tags": []}"#), "username");
        assert_eq!(field_of(r#"{"username": "a", "tags": []} x"#), "body");
    }
}
