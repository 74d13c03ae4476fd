//! Lenient wire scalars: the tolerances of spec §3A in one place.
//!
//! Every input field is an [`Opt`] of a [`Scalar`]: JSON `null`, a missing key, `""` and the
//! string `"null"` all mean absent; numbers may come as JSON numbers or as strings; codes may
//! come as JSON numbers. Decimals are read from the literal text of the message (never through
//! a float) into scaled integers.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A value type that can be read from the text of one JSON scalar.
pub trait Scalar: Sized {
    /// What the field should hold, for error messages ("an amount", "a date").
    const EXPECTED: &'static str;
    /// Parses the (unquoted, trimmed, non-empty) text.
    fn from_text(text: &str) -> Result<Self, String>;
    /// Whether a bare JSON number is acceptable for this type (true for numbers and codes).
    const ACCEPTS_NUMBER: bool = true;
}

/// An optional input field: absent, `null`, `""` and `"null"` are all `None` (§3A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt<T>(pub Option<T>);

impl<T> Default for Opt<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Opt<T> {
    /// The value, if present.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// Whether a quoted value means "absent" (§3A: `""` and `"null"`; real clients also send `NULL`).
fn means_absent(text: &str) -> bool {
    text.is_empty() || text.eq_ignore_ascii_case("null")
}

impl<'de, T: Scalar> Deserialize<'de> for Opt<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = <&RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'n') => Ok(Self(None)),
            Some(b'"') => {
                let decoded: Cow<'de, str> = match serde_json::from_str::<&'de str>(text) {
                    Ok(borrowed) => Cow::Borrowed(borrowed),
                    // Escapes inside the string: decode into an owned string.
                    Err(_) => {
                        Cow::Owned(serde_json::from_str::<String>(text).map_err(de::Error::custom)?)
                    }
                };
                let trimmed = decoded.trim();
                if means_absent(trimmed) {
                    Ok(Self(None))
                } else {
                    T::from_text(trimmed)
                        .map(|value| Self(Some(value)))
                        .map_err(de::Error::custom)
                }
            }
            Some(b'-' | b'0'..=b'9') if T::ACCEPTS_NUMBER => T::from_text(text)
                .map(|value| Self(Some(value)))
                .map_err(de::Error::custom),
            _ => Err(de::Error::custom(format!(
                "expected {}, found {}",
                T::EXPECTED,
                describe(text)
            ))),
        }
    }
}

/// A short description of an unexpected JSON value for an error message.
fn describe(text: &str) -> String {
    match text.as_bytes().first() {
        Some(b'{') => "an object".to_owned(),
        Some(b'[') => "an array".to_owned(),
        Some(b't' | b'f') => "a boolean".to_owned(),
        _ => format!("`{}`", truncate(text, 40)),
    }
}

/// At most `chars_max` characters of `text` (for echoing input in error messages).
pub fn truncate(text: &str, chars_max: usize) -> &str {
    match text.char_indices().nth(chars_max) {
        Some((idx, _)) => &text[..idx],
        None => text,
    }
}

/// A text or code field. A JSON number is accepted as its literal text (codes such as
/// `"med_type": 11` are sent as numbers by some clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl Scalar for Text {
    const EXPECTED: &'static str = "a string";
    fn from_text(text: &str) -> Result<Self, String> {
        Ok(Self(text.to_owned()))
    }
}

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An exact decimal with `SCALE` decimal places, held as an integer count of 10^-SCALE units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal<const SCALE: u32>(pub i64);

/// An amount of money (N 16,2) in fen.
pub type Amount = Decimal<2>;
/// A quantity (`cnt`, N 16,4) in ten-thousandths.
pub type Quantity = Decimal<4>;
/// A unit price (`pric`, N 16,6) in millionths of a yuan.
pub type Price = Decimal<6>;
/// A ratio (`selfpay_prop`, N 5,4) in ten-thousandths (basis points).
pub type Ratio = Decimal<4>;

impl<const SCALE: u32> Scalar for Decimal<SCALE> {
    const EXPECTED: &'static str = "a decimal number";
    fn from_text(text: &str) -> Result<Self, String> {
        parse_decimal(text, SCALE).map(Self)
    }
}

/// Parses a plain decimal (`-12.50`, `+3`, `.5`, `7.`) into units of 10^-scale, exactly.
/// Extra decimal places are accepted only when they are zeros (`4.520000` for an amount).
pub fn parse_decimal(text: &str, scale: u32) -> Result<i64, String> {
    let bad = || format!("`{}` is not a decimal number", truncate(text, 40));
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let scale_len = scale as usize;
    let (kept, dropped) = fraction.split_at(fraction.len().min(scale_len));
    if dropped.bytes().any(|b| b != b'0') {
        return Err(format!(
            "`{}` has more than {scale} decimal places",
            truncate(text, 40)
        ));
    }
    let too_large = || format!("`{}` is too large", truncate(text, 40));
    let mut units: i64 = 0;
    for digit in whole
        .bytes()
        .chain(kept.bytes())
        .chain(std::iter::repeat_n(b'0', scale_len - kept.len()))
    {
        units = units
            .checked_mul(10)
            .and_then(|units| units.checked_add(i64::from(digit - b'0')))
            .ok_or_else(too_large)?;
    }
    Ok(if negative { -units } else { units })
}

/// Writes `units` of 10^-scale as a plain decimal with exactly `scale` places (`-0.05`).
pub fn format_decimal(units: i64, scale: u32) -> String {
    let divisor = 10_i64.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let divisor = divisor as u64;
    format!(
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = scale as usize
    )
}

/// A date (`yyyy-MM-dd`); a date-time is accepted and its date kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

impl Scalar for Date {
    const EXPECTED: &'static str = "a date yyyy-MM-dd";
    const ACCEPTS_NUMBER: bool = false;
    fn from_text(text: &str) -> Result<Self, String> {
        let date_part = text.get(..10).unwrap_or(text);
        chrono::NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| format!("`{}` is not a date yyyy-MM-dd", truncate(text, 40)))
    }
}

/// A date-time (`yyyy-MM-dd HH:mm:ss`); a bare date means its midnight (§3A, W 2203A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::NaiveDateTime);

impl Scalar for DateTime {
    const EXPECTED: &'static str = "a date-time yyyy-MM-dd HH:mm:ss";
    const ACCEPTS_NUMBER: bool = false;
    fn from_text(text: &str) -> Result<Self, String> {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
            return Ok(Self(at));
        }
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|date| Self(date.and_time(chrono::NaiveTime::MIN)))
            .map_err(|_| {
                format!(
                    "`{}` is not a date-time yyyy-MM-dd HH:mm:ss",
                    truncate(text, 40)
                )
            })
    }
}

/// A multi-row node (§3A): an array, or a single object where an array is specified; `null`
/// and a missing node are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T>(pub Vec<T>);

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Rows<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowsVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for RowsVisitor<T> {
            type Value = Rows<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("an array of objects or one object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Rows(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Rows(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(row) = seq.next_element()? {
                    rows.push(row);
                }
                Ok(Rows(rows))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|row| Rows(vec![row]))
            }
        }
        deserializer.deserialize_any(RowsVisitor(std::marker::PhantomData))
    }
}

/// A single-row node that may be `null` or missing (then every field is absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node<T>(pub T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Node<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|node| Self(node.unwrap_or_default()))
    }
}

/// An amount written as a JSON number with exactly two decimals (`1200.00`, `-4.52`), from fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuan(pub i64);

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_raw_number(&format_decimal(self.0, 2), serializer)
    }
}

/// A ratio written as a JSON number with four decimals (`0.0500`), from ten-thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prop(pub i64);

impl Serialize for Prop {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_raw_number(&format_decimal(self.0, 4), serializer)
    }
}

/// Millionths to ten-thousandths, rounded half away from zero (the interface's ratios have four
/// decimals; the store keeps six).
pub fn ppm_to_e4(ppm: i64) -> i64 {
    let quotient = ppm / 100;
    let remainder = ppm % 100;
    if 2 * remainder.abs() >= 100 {
        quotient + ppm.signum()
    } else {
        quotient
    }
}

/// A decimal with a fixed number of places written as a JSON number (quantities, prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed<const SCALE: u32>(pub i64);

impl<const SCALE: u32> Serialize for Fixed<SCALE> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_raw_number(&format_decimal(self.0, SCALE), serializer)
    }
}

/// Emits `text` (a valid JSON number we formatted) verbatim, keeping its trailing zeros.
fn write_raw_number<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text.to_owned()).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(ppm_to_e4(50_000), 500);
        assert_eq!(ppm_to_e4(123_450), 1235);
        assert_eq!(ppm_to_e4(123_449), 1234);
        assert_eq!(ppm_to_e4(-123_450), -1235);
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Line {
        code: Opt<Text>,
        amount: Opt<Amount>,
        at: Opt<DateTime>,
    }

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Input {
        lines: Rows<Line>,
        data: Node<Line>,
    }

    fn parse(text: &str) -> Result<Input, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| format!("{}: {}", err.path(), err.inner()))
    }

    #[test]
    fn decimals_parse_exactly() {
        let cases = [
            ("1200", 2, Ok(120_000)),
            ("4.52", 2, Ok(452)),
            ("-0.05", 2, Ok(-5)),
            ("+3", 2, Ok(300)),
            (".5", 2, Ok(50)),
            ("7.", 2, Ok(700)),
            ("4.520000", 2, Ok(452)),
            ("120", 6, Ok(120_000_000)),
            ("0.0500", 4, Ok(500)),
        ];
        for (text, scale, expected) in cases {
            assert_eq!(parse_decimal(text, scale), expected, "{text}");
        }
        for bad in [
            "",
            "-",
            ".",
            "1e3",
            "1,000",
            "4.521",
            "12a",
            "--1",
            "99999999999999999999",
        ] {
            assert!(parse_decimal(bad, 2).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn decimals_format_with_fixed_places() {
        assert_eq!(format_decimal(120_000, 2), "1200.00");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(0, 2), "0.00");
        assert_eq!(format_decimal(500, 4), "0.0500");
        assert_eq!(serde_json::to_string(&Yuan(-120_000)).unwrap(), "-1200.00");
        assert_eq!(
            serde_json::to_string(&[Yuan(452), Yuan(0)]).unwrap(),
            "[4.52,0.00]"
        );
    }

    #[test]
    fn absent_values_and_numbers_as_strings() {
        let input = parse(
            r#"{"lines":{"code":11,"amount":"4.52","at":"2022-01-21"},
                "data":{"code":"null","amount":"","at":null,"unknown":[1,{"x":2}]}}"#,
        )
        .unwrap();
        assert_eq!(input.lines.0.len(), 1);
        let line = &input.lines.0[0];
        assert_eq!(line.code.get().map(Text::as_str), Some("11"));
        assert_eq!(line.amount.get(), Some(&Decimal(452)));
        assert_eq!(line.at.get().unwrap().0.to_string(), "2022-01-21 00:00:00");
        assert_eq!(input.data.0.code, Opt(None));
        assert_eq!(input.data.0.amount, Opt(None));
        assert_eq!(input.data.0.at, Opt(None));
        let escaped = parse(r#"{"data":{"code":"a\"b\u4e2d"}}"#).unwrap();
        assert_eq!(escaped.data.0.code.get().map(Text::as_str), Some("a\"b中"));
    }

    #[test]
    fn errors_name_the_field_path() {
        let err = parse(r#"{"lines":[{"amount":"1"},{"amount":"4.521"}]}"#).unwrap_err();
        assert!(
            err.starts_with("lines[1].amount: `4.521` has more than 2 decimal places"),
            "{err}"
        );
        let err = parse(r#"{"data":{"code":{"a":1}}}"#).unwrap_err();
        assert!(
            err.starts_with("data.code: expected a string, found an object"),
            "{err}"
        );
        let err = parse(r#"{"data":{"at":20220101}}"#).unwrap_err();
        assert!(err.starts_with("data.at: expected a date-time"), "{err}");
        let err = parse(r#"{"lines":"x"}"#).unwrap_err();
        assert!(err.starts_with("lines: invalid type"), "{err}");
    }

    proptest! {
        #[test]
        fn decimal_format_then_parse_round_trips(units in -1_000_000_000_000_i64..1_000_000_000_000, scale in 0u32..7) {
            prop_assert_eq!(parse_decimal(&format_decimal(units, scale), scale), Ok(units));
        }

        #[test]
        fn decimal_parse_never_panics(text in "\\PC{0,24}", scale in 0u32..7) {
            let _ = parse_decimal(&text, scale);
        }
    }
}
