//! Exact parsing of decimal text (`"12.5"`, `"-3"`, `"0.000001"`) into scaled integers.
//!
//! This is the only place where decimal text becomes a number. Exponents, `NaN`, infinities,
//! spaces and more decimals than the target type carries are refused, never rounded.

use crate::limits::DECIMAL_TEXT_MAX;

/// Why a decimal text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text was empty.
    #[error("empty number")]
    Empty,
    /// The text was not a plain decimal number.
    #[error("not a plain decimal number (digits with an optional sign and point)")]
    Malformed,
    /// The text had more fractional digits than the type carries.
    #[error("more than {max} decimal places")]
    TooManyDecimals {
        /// The number of decimals the type carries.
        max: u32,
    },
    /// The value is outside the type's range.
    #[error("out of range (largest magnitude {max})")]
    OutOfRange {
        /// The largest magnitude allowed, as decimal text.
        max: String,
    },
    /// The value was negative where only non-negative values are allowed.
    #[error("must not be negative")]
    Negative,
}

/// Parses `text` as a decimal with at most `scale` fractional digits and returns the value times
/// `10^scale`, refusing magnitudes above `abs_max` (already scaled).
pub fn parse_scaled(text: &str, scale: u32, abs_max: i128) -> Result<i128, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Empty);
    }
    if text.len() > DECIMAL_TEXT_MAX {
        return Err(DecimalError::OutOfRange {
            max: render_scaled(abs_max, scale),
        });
    }
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (int_part, frac_part) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if int_part.is_empty() && frac_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
        || int_part.is_empty()
    {
        return Err(DecimalError::Malformed);
    }
    // Trailing zeros beyond the scale carry no value ("1.500" for a 2-decimal type is fine).
    let significant_frac =
        frac_part.len() - frac_part.iter().rev().take_while(|&&b| b == b'0').count();
    if significant_frac > scale as usize {
        return Err(DecimalError::TooManyDecimals { max: scale });
    }
    let mut value: i128 = 0;
    let too_big = || DecimalError::OutOfRange {
        max: render_scaled(abs_max, scale),
    };
    for &b in int_part {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(too_big)?;
        if value > abs_max {
            return Err(too_big());
        }
    }
    for position in 0..scale as usize {
        let digit = frac_part.get(position).map_or(0, |&b| i128::from(b - b'0'));
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(too_big)?;
    }
    if value > abs_max {
        return Err(too_big());
    }
    Ok(if negative { -value } else { value })
}

/// Renders a scaled integer as decimal text with exactly `scale` fractional digits.
pub fn render_scaled(value: i128, scale: u32) -> String {
    let unit = 10_i128.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let unit = unit as u128;
    if scale == 0 {
        return format!("{sign}{magnitude}");
    }
    format!(
        "{sign}{}.{:0width$}",
        magnitude / unit,
        magnitude % unit,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let max = 1_000_000_i128;
        let cases: &[(&str, Result<i128, DecimalError>)] = &[
            ("12.5", Ok(1250)),
            ("-3", Ok(-300)),
            ("+0.01", Ok(1)),
            ("7.", Ok(700)),
            ("1.500", Ok(150)),
            ("", Err(DecimalError::Empty)),
            (".5", Err(DecimalError::Malformed)),
            ("1e3", Err(DecimalError::Malformed)),
            ("NaN", Err(DecimalError::Malformed)),
            ("inf", Err(DecimalError::Malformed)),
            (" 1", Err(DecimalError::Malformed)),
            ("1.2.3", Err(DecimalError::Malformed)),
            ("-", Err(DecimalError::Malformed)),
            ("0.001", Err(DecimalError::TooManyDecimals { max: 2 })),
            (
                "10000.01",
                Err(DecimalError::OutOfRange {
                    max: "10000.00".into(),
                }),
            ),
            (
                "99999999999999999999999999999999999999",
                Err(DecimalError::OutOfRange {
                    max: "10000.00".into(),
                }),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_scaled(text, 2, max), expected, "text {text:?}");
        }
    }

    #[test]
    fn renders() {
        assert_eq!(render_scaled(-1, 2), "-0.01");
        assert_eq!(render_scaled(123_456, 4), "12.3456");
        assert_eq!(render_scaled(5, 0), "5");
    }
}
