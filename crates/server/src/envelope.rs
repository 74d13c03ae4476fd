//! The request and response envelopes of spec §2–§3, with the tolerances of §3A.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::AppError;
use crate::infno::Infno;
use crate::limits::{INFNO_CHARS_MAX, MSGID_CHARS_MAX, SIGN_NO_CHARS_MAX, TEXT_CHARS_MAX};
use crate::wire::scalar::{truncate, DateTime, Opt, Text};

/// The envelope as sent: every field lenient, `input` kept as its raw JSON.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEnvelope<'a> {
    infno: Opt<Text>,
    msgid: Opt<Text>,
    mdtrtarea_admvs: Opt<Text>,
    insuplc_admdvs: Opt<Text>,
    recer_sys_code: Opt<Text>,
    infver: Opt<Text>,
    opter_type: Opt<Text>,
    opter: Opt<Text>,
    opter_name: Opt<Text>,
    inf_time: Opt<DateTime>,
    fixmedins_code: Opt<Text>,
    fixmedins_name: Opt<Text>,
    sign_no: Opt<Text>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

/// A parsed request envelope.
#[derive(Debug, Clone)]
pub struct RequestEnvelope<'a> {
    /// The transaction.
    pub infno: Infno,
    /// The sender's message id: the idempotency key per institution.
    pub msgid: String,
    /// Where care happens (就医地医保区划), when sent.
    pub mdtrtarea_admvs: Option<String>,
    /// Where the person is insured (参保地医保区划), when sent.
    pub insuplc_admdvs: Option<String>,
    /// The operator (经办人) code, when sent.
    pub opter: Option<String>,
    /// The operator's name, when sent.
    pub opter_name: Option<String>,
    /// The client's transaction time, when sent.
    pub inf_time: Option<chrono::NaiveDateTime>,
    /// The institution the message claims to come from.
    pub fixmedins_code: String,
    /// The institution's name as sent.
    pub fixmedins_name: Option<String>,
    /// The sign-in number (签到流水号), when sent (`""` and `"null"` are not sent).
    pub sign_no: Option<String>,
    /// The JSON text of `input` (decoded when it was sent as a JSON string).
    pub input: Cow<'a, str>,
}

impl RequestEnvelope<'_> {
    /// Parses `input` into the transaction's wire type; a failure names the field's path.
    pub fn parse_input<'s, T: Deserialize<'s>>(&'s self) -> Result<T, AppError> {
        parse_json_named(&self.input, "input")
    }
}

/// Parses JSON text into `T`, naming the failing field as `prefix.path` in the error.
pub fn parse_json_named<'s, T: Deserialize<'s>>(
    text: &'s str,
    prefix: &str,
) -> Result<T, AppError> {
    // The fast path: most messages are well formed. Only a failure is parsed again with path
    // tracking (which allocates for every key) to name the field.
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(fast_err) => Err(name_the_failure::<T>(text, prefix)
            .unwrap_or_else(|| AppError::field(prefix, strip_position(&fast_err.to_string())))),
    }
}

/// Parses `text` again with path tracking and returns the error naming the failing field
/// (`None` if the second parse, unexpectedly, succeeds).
fn name_the_failure<'s, T: Deserialize<'s>>(text: &'s str, prefix: &str) -> Option<AppError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    match result {
        Err(err) => {
            // Unknown segments (`?`: the error came before a key was read) say nothing.
            let path = err.path().to_string();
            let known: Vec<&str> = path
                .split('.')
                .filter(|segment| !segment.is_empty() && *segment != "?")
                .collect();
            let field = if known.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", known.join("."))
            };
            Some(AppError::field(
                field,
                strip_position(&err.into_inner().to_string()),
            ))
        }
        Ok(_) => deserializer
            .end()
            .err()
            .map(|err| AppError::field(prefix, strip_position(&err.to_string()))),
    }
}

/// serde_json appends " at line L column C" to its messages; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(idx) => message[..idx].to_owned(),
        None => message.to_owned(),
    }
}

fn text_max(value: Opt<Text>, field: &str, chars_max: usize) -> Result<Option<String>, AppError> {
    match value.0 {
        Some(Text(text)) if text.chars().count() > chars_max => Err(AppError::field(
            field,
            format!("longer than {chars_max} characters"),
        )),
        Some(Text(text)) => Ok(Some(text)),
        None => Ok(None),
    }
}

fn region(value: Opt<Text>, field: &str) -> Result<Option<String>, AppError> {
    match text_max(value, field, 6)? {
        Some(code) if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(code)),
        Some(code) => Err(AppError::field(
            field,
            format!("`{}` is not a 6-digit region code", truncate(&code, 20)),
        )),
        None => Ok(None),
    }
}

/// Parses a request body into its envelope. The order of checks is the order of error
/// precedence: readable JSON, `infno` present and served, `msgid`, `fixmedins_code`, `input`.
pub fn parse_request(body: &[u8]) -> Result<RequestEnvelope<'_>, AppError> {
    let text =
        std::str::from_utf8(body).map_err(|_| AppError::field("body", "is not UTF-8 text"))?;
    let text = text.trim_start_matches('\u{feff}');
    if !text.trim_start().starts_with('{') {
        return Err(AppError::field("body", "is not a JSON object"));
    }
    let raw: RawEnvelope<'_> = parse_json_named(text, "body").map_err(|err| match err {
        // Name envelope fields without the `body.` prefix.
        AppError::User { field, reason } => AppError::User {
            field: field
                .strip_prefix("body.")
                .map(str::to_owned)
                .unwrap_or(field),
            reason,
        },
        other => other,
    })?;
    let infno_text =
        text_max(raw.infno, "infno", TEXT_CHARS_MAX)?.ok_or_else(|| AppError::required("infno"))?;
    if infno_text.chars().count() > INFNO_CHARS_MAX {
        return Err(AppError::UnknownInfno(truncate(&infno_text, 20).to_owned()));
    }
    let infno = Infno::parse(&infno_text).ok_or(AppError::UnknownInfno(infno_text))?;
    let msgid = text_max(raw.msgid, "msgid", MSGID_CHARS_MAX)?
        .ok_or_else(|| AppError::required("msgid"))?;
    let fixmedins_code = text_max(raw.fixmedins_code, "fixmedins_code", 30)?
        .ok_or_else(|| AppError::required("fixmedins_code"))?;
    let mdtrtarea_admvs = region(raw.mdtrtarea_admvs, "mdtrtarea_admvs")?;
    let insuplc_admdvs = region(raw.insuplc_admdvs, "insuplc_admdvs")?;
    let opter = text_max(raw.opter, "opter", 30)?;
    let opter_name = text_max(raw.opter_name, "opter_name", 50)?;
    let fixmedins_name = text_max(raw.fixmedins_name, "fixmedins_name", 200)?;
    let sign_no = text_max(raw.sign_no, "sign_no", SIGN_NO_CHARS_MAX)?;
    // Read for their length limits only; the server does not route on them.
    text_max(raw.recer_sys_code, "recer_sys_code", 10)?;
    text_max(raw.infver, "infver", 6)?;
    text_max(raw.opter_type, "opter_type", 3)?;
    let raw_input = raw.input.ok_or_else(|| AppError::required("input"))?;
    let input: Cow<'_, str> = match raw_input.get().as_bytes().first() {
        Some(b'{') => Cow::Borrowed(raw_input.get()),
        Some(b'"') => {
            // §2/§3A: some clients send `input` as a JSON-encoded string.
            let decoded: String = serde_json::from_str(raw_input.get())
                .map_err(|err| AppError::field("input", strip_position(&err.to_string())))?;
            if !decoded.trim_start().starts_with('{') {
                return Err(AppError::field(
                    "input",
                    "is a string that does not hold a JSON object",
                ));
            }
            Cow::Owned(decoded)
        }
        Some(b'n') => return Err(AppError::required("input")),
        _ => return Err(AppError::field("input", "is not a JSON object")),
    };
    Ok(RequestEnvelope {
        infno,
        msgid,
        mdtrtarea_admvs,
        insuplc_admdvs,
        opter,
        opter_name,
        inf_time: raw.inf_time.0.map(|at| at.0),
        fixmedins_code,
        fixmedins_name,
        sign_no,
        input,
    })
}

/// The response envelope of §3. `output` is `null` for transactions without output.
#[derive(Serialize)]
pub struct ResponseEnvelope<'a, O: Serialize> {
    /// `0` success, `-1` failure, as a JSON number.
    pub infcode: i32,
    /// The receiver's message id (`null` on failures).
    pub inf_refmsgid: Option<&'a str>,
    /// When the request was received, `yyyyMMddHHmmssSSS`.
    pub refmsg_time: &'a str,
    /// When the response was produced, `yyyyMMddHHmmssSSS`.
    pub respond_time: &'a str,
    /// The failure text, `null` on success.
    pub err_msg: Option<&'a str>,
    /// Warnings (always `null` here).
    pub warn_msg: Option<&'a str>,
    /// Echoed signature info (always `null` here).
    pub cainfo: Option<&'a str>,
    /// Echoed signature type (always `null` here).
    pub signtype: Option<&'a str>,
    /// The transaction's output nodes.
    pub output: Option<O>,
}

/// The reduced error shape of §3 for an unknown transaction or an unreadable message.
#[derive(Serialize)]
pub struct ReducedError<'a> {
    /// Always `"error"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Always `-1`.
    pub infcode: i32,
    /// The failure text.
    pub err_msg: &'a str,
}

/// The gateway's own 401 body (§1.2).
#[derive(Serialize)]
pub struct GatewayError<'a> {
    /// Always 401.
    pub code: u16,
    /// The gateway's message.
    pub message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        match parse_request(body.as_bytes()) {
            Err(err) => err.to_string(),
            Ok(envelope) => panic!("accepted: {envelope:?}"),
        }
    }

    const V1: &str = r#"{"infno":"9001","msgid":"H33018300564202201211447429999","mdtrtarea_admvs":"330100","insuplc_admdvs":"","recer_sys_code":"FSI_LOCAL","dev_no":"1","dev_safe_info":"1","cainfo":"1","signtype":"1","infver":"1.0","opter_type":"1","opter":"123","opter_name":"测试","inf_time":"2022-01-21 14:47:42","fixmedins_code":"H33018300564","fixmedins_name":"杭州市第二测试医院","sign_no":"","input":{"signIn":{"opter_no":"123","mac":"1","ip":"1"}}}"#;

    #[test]
    fn spec_v1_envelope_is_read() {
        let envelope = parse_request(V1.as_bytes()).unwrap();
        assert_eq!(envelope.infno, Infno::SignIn9001);
        assert_eq!(envelope.msgid, "H33018300564202201211447429999");
        assert_eq!(envelope.insuplc_admdvs, None);
        assert_eq!(envelope.sign_no, None);
        assert_eq!(envelope.fixmedins_code, "H33018300564");
        assert_eq!(
            envelope.input,
            r#"{"signIn":{"opter_no":"123","mac":"1","ip":"1"}}"#
        );
    }

    #[test]
    fn input_as_a_json_string_is_the_same_message() {
        let as_string = V1.replace(
            r#""input":{"signIn":{"opter_no":"123","mac":"1","ip":"1"}}"#,
            r#""input":"{\"signIn\":{\"opter_no\":\"123\",\"mac\":\"1\",\"ip\":\"1\"}}""#,
        );
        let a = parse_request(V1.as_bytes()).unwrap();
        let b = parse_request(as_string.as_bytes()).unwrap();
        assert_eq!(a.input, b.input);
    }

    #[test]
    fn envelope_errors_in_order_of_precedence() {
        assert_eq!(err("not json"), "body: is not a JSON object");
        assert_eq!(err("[1]"), "body: is not a JSON object");
        assert_eq!(err("{\"infno\":"), "infno: EOF while parsing a value");
        assert_eq!(err(r#"{"msgid":"m"}"#), "infno: is required");
        assert!(err(r#"{"infno":"4242"}"#).contains("未知交易编号"));
        assert_eq!(err(r#"{"infno":"1101"}"#), "msgid: is required");
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"null"}"#),
            "msgid: is required"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"0123456789012345678901234567890"}"#),
            "msgid: longer than 30 characters"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m"}"#),
            "fixmedins_code: is required"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m","fixmedins_code":"H1","mdtrtarea_admvs":"33010"}"#),
            "mdtrtarea_admvs: `33010` is not a 6-digit region code"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m","fixmedins_code":"H1"}"#),
            "input: is required"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m","fixmedins_code":"H1","input":[1]}"#),
            "input: is not a JSON object"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m","fixmedins_code":"H1","input":"abc"}"#),
            "input: is a string that does not hold a JSON object"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":{"a":1},"fixmedins_code":"H1","input":{}}"#),
            "msgid: expected a string, found an object"
        );
        assert_eq!(
            err(r#"{"infno":"1101","msgid":"m","fixmedins_code":"H1","input":{}} x"#),
            "body: trailing characters"
        );
    }
}
