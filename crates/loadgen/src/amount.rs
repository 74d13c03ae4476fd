//! Exact decimal amounts on the wire: answers are read as raw JSON number text and parsed into
//! integer fen, and requests write integer fen, micro-yuan prices and counts back as exact
//! decimal text. No float ever touches money here.

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// Why an amount in an answer is unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain decimal number (or a string holding one).
    #[error("{0:?} is not a decimal amount")]
    NotDecimal(String),
    /// More than two decimals that are not zero: not a whole number of fen.
    #[error("{0:?} is not a whole number of fen")]
    FractionOfFen(String),
    /// Too large for the platform's `N(16,2)`.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// The largest amount an `N(16,2)` field can hold, in fen.
const AMOUNT_MAX_FEN: i128 = 10_i128.pow(16);

/// Parses amount text (`"4.52"`, `4.52`, `-1200.00`, `0`, `1.0`, `"12"`) into fen. A JSON
/// string holding the number is accepted too, as some platforms send one.
pub fn parse_fen(raw: &str) -> Result<i64, AmountError> {
    let text = raw.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let bad = || AmountError::NotDecimal(raw.to_owned());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if digits.contains('.') && fraction.is_empty() {
        return Err(bad());
    }
    let (kept, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return Err(AmountError::FractionOfFen(raw.to_owned()));
    }
    if whole.len() > 17 {
        return Err(AmountError::TooLarge(raw.to_owned()));
    }
    let whole: i128 = whole.parse().map_err(|_| bad())?;
    let cents: i128 = format!("{kept:0<2}").parse().map_err(|_| bad())?;
    let fen = whole * 100 + cents;
    if fen > AMOUNT_MAX_FEN {
        return Err(AmountError::TooLarge(raw.to_owned()));
    }
    let fen = i64::try_from(fen).map_err(|_| AmountError::TooLarge(raw.to_owned()))?;
    Ok(if negative { -fen } else { fen })
}

/// Fen as yuan text with two decimals.
pub fn fen_text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A scaled integer as decimal text without trailing zeros (`12_500_000` at scale 6 → `12.5`).
pub fn scaled_text(value: i64, decimals: u32) -> String {
    let unit = 10_u64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let fraction = format!("{:0width$}", abs % unit, width = decimals as usize);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{}", abs / unit)
    } else {
        format!("{sign}{}.{fraction}", abs / unit)
    }
}

/// `round_half_up(price × count)` in fen, with the price in micro-yuan (6 decimals) and the
/// count in ten-thousandths (4 decimals): the interface's line-amount rule.
pub fn line_amount_fen(price_micro: i64, count_e4: i64) -> i64 {
    // micro-yuan × 1e-4 = 1e-10 yuan; a fen is 1e-2 yuan: divide by 1e8, half away from zero.
    let product = i128::from(price_micro) * i128::from(count_e4);
    let divisor = 100_000_000_i128;
    let half = divisor / 2;
    let rounded = if product >= 0 {
        (product + half) / divisor
    } else {
        (product - half) / divisor
    };
    i64::try_from(rounded).expect("line amounts are bounded by the price and count limits")
}

/// A number written into a request exactly as given (yuan, a price or a count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Num(pub String);

impl Num {
    /// An amount in fen.
    pub fn fen(fen: i64) -> Num {
        Num(fen_text(fen))
    }

    /// A price in micro-yuan.
    pub fn price(micro: i64) -> Num {
        Num(scaled_text(micro, 6))
    }

    /// A count in ten-thousandths.
    pub fn count(count_e4: i64) -> Num {
        Num(scaled_text(count_e4, 4))
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A raw value is written verbatim by serde_json: a JSON number with exactly these digits.
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_shapes_platforms_send() {
        for (text, fen) in [
            ("4.52", 452),
            ("0", 0),
            ("0.0", 0),
            ("1.0", 100),
            ("999999", 99_999_900),
            ("-1200.00", -120_000),
            ("\"12.30\"", 1_230),
            ("18785.39", 1_878_539),
            ("0.230", 23),
        ] {
            assert_eq!(parse_fen(text), Ok(fen), "{text}");
        }
        for text in ["", "null", "1e3", "1.", ".5", "--1", "12a", "\"\""] {
            assert!(
                matches!(parse_fen(text), Err(AmountError::NotDecimal(_))),
                "{text}"
            );
        }
        assert!(matches!(
            parse_fen("0.005"),
            Err(AmountError::FractionOfFen(_))
        ));
        assert!(matches!(
            parse_fen("99999999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn line_amounts_round_half_up() {
        assert_eq!(line_amount_fen(4_520_000, 10_000), 452);
        assert_eq!(line_amount_fen(1_005_000, 5_000), 50); // 0.5025 → 0.50
        assert_eq!(line_amount_fen(1_010_000, 5_000), 51); // 0.505 → 0.51
        assert_eq!(line_amount_fen(1_010_000, -5_000), -51);
        assert_eq!(line_amount_fen(333_333, 30_000), 100); // 0.999999 → 1.00
    }

    #[test]
    fn numbers_serialize_verbatim() {
        let body =
            serde_json::to_string(&(Num::fen(452), Num::price(12_500_000), Num::count(15_000)))
                .unwrap();
        assert_eq!(body, "[4.52,12.5,1.5]");
    }

    proptest! {
        #[test]
        fn fen_text_round_trips(fen in -10_i64.pow(15)..10_i64.pow(15)) {
            prop_assert_eq!(parse_fen(&fen_text(fen)), Ok(fen));
        }

        #[test]
        fn scaled_text_is_exact(value in -10_i64.pow(12)..10_i64.pow(12)) {
            let text = scaled_text(value, 6);
            let (whole, fraction) = text.trim_start_matches('-').split_once('.').unwrap_or((text.trim_start_matches('-'), ""));
            let back = whole.parse::<i64>().unwrap() * 1_000_000 + format!("{fraction:0<6}").parse::<i64>().unwrap();
            prop_assert_eq!(if value < 0 { -back } else { back }, value);
        }
    }
}
