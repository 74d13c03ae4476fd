//! Exact money (`Fen`), ratios (`Ratio`, parts per million), interface prices (`Price`,
//! micro-yuan) and counts (`Quantity`, ten-thousandths), and the one rounding rule.
//!
//! Every product of an amount and a ratio goes through [`round_half_up`], so the rounding rule
//! of the settlement spec lives in exactly one function.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use crate::decimal::{parse_scaled, render_scaled, DecimalError};
use crate::limits::{FEN_ABS_MAX, PRICE_MAX_MICRO, QUANTITY_ABS_MAX, RATIO_ABS_MAX_PPM};

/// Divides `numerator` by `denominator` (> 0) and rounds half away from zero.
///
/// This is the spec's "round half up to the fen": `2.345 → 2.35`, `-2.345 → -2.35`, so that a
/// refund line rounds to the exact negation of the matching charge.
pub fn round_half_up(numerator: i128, denominator: i128) -> i128 {
    assert!(
        denominator > 0,
        "round_half_up: denominator must be positive"
    );
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if 2 * remainder.abs() >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// Converts an `i128` known to be within the fen range into `Fen`, saturating at the `i64`
/// bounds (values there are refused by every caller's own range check).
fn fen_from_i128(value: i128) -> Fen {
    Fen(value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// An amount of money in fen (0.01 yuan). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// Whole yuan as fen.
    pub const fn yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Parses yuan text with at most two decimals (`"1234.5"`, `"-0.01"`).
    pub fn parse(text: &str) -> Result<Fen, DecimalError> {
        parse_scaled(text, 2, i128::from(FEN_ABS_MAX)).map(|value| Fen(value as i64))
    }

    /// Parses yuan text that must not be negative.
    pub fn parse_non_negative(text: &str) -> Result<Fen, DecimalError> {
        let fen = Fen::parse(text)?;
        if fen.0 < 0 {
            return Err(DecimalError::Negative);
        }
        Ok(fen)
    }

    /// `round_half_up(self × ratio)`.
    pub fn mul_ratio(self, ratio: Ratio) -> Fen {
        fen_from_i128(round_half_up(
            i128::from(self.0) * i128::from(ratio.0),
            Ratio::ONE_PPM,
        ))
    }

    /// `round_half_up(self / ratio)`; `ratio` must be positive.
    pub fn div_ratio(self, ratio: Ratio) -> Fen {
        assert!(ratio.0 > 0, "div_ratio: ratio must be positive");
        fen_from_i128(round_half_up(
            i128::from(self.0) * Ratio::ONE_PPM,
            i128::from(ratio.0),
        ))
    }

    /// The larger of `self` and zero.
    pub fn at_least_zero(self) -> Fen {
        Fen(self.0.max(0))
    }

    /// True when the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// True when the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Fen {
    /// Yuan with exactly two decimals: `1380.00`, `-0.01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_scaled(i128::from(self.0), 2))
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0 - rhs.0)
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, rhs: Fen) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Fen {
    fn sub_assign(&mut self, rhs: Fen) {
        self.0 -= rhs.0;
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, Add::add)
    }
}

/// An exact ratio in parts per million (`0.92` is `Ratio(920_000)`).
///
/// Six decimals represent every ratio a policy states (percentages, `0.5` repeat factors,
/// `1/10000`-precision interface proportions) exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ratio(pub i64);

impl Ratio {
    /// One (100%) in parts per million.
    pub const ONE_PPM: i128 = 1_000_000;
    /// 0%.
    pub const ZERO: Ratio = Ratio(0);
    /// 100%.
    pub const ONE: Ratio = Ratio(1_000_000);

    /// Parses decimal text with at most six decimals (`"0.92"`, `"-0.2"`).
    pub fn parse(text: &str) -> Result<Ratio, DecimalError> {
        parse_scaled(text, 6, i128::from(RATIO_ABS_MAX_PPM)).map(|value| Ratio(value as i64))
    }

    /// Parses a share that must lie in `[0, 1]`.
    pub fn parse_unit(text: &str) -> Result<Ratio, DecimalError> {
        let ratio = parse_scaled(text, 6, Ratio::ONE_PPM)?;
        if ratio < 0 {
            return Err(DecimalError::Negative);
        }
        Ok(Ratio(ratio as i64))
    }

    /// A whole number of percentage points.
    pub const fn percent(points: i64) -> Ratio {
        Ratio(points * 10_000)
    }

    /// The ratio clamped to `[0, 1]`.
    pub fn clamp_unit(self) -> Ratio {
        Ratio(self.0.clamp(0, 1_000_000))
    }

    /// `1 − self`.
    pub fn complement(self) -> Ratio {
        Ratio(1_000_000 - self.0)
    }

    /// True when the ratio lies in `[0, 1]`.
    pub fn is_unit(self) -> bool {
        (0..=1_000_000).contains(&self.0)
    }

    /// Text with `places` decimals (at most 6), rounded half up: `0.4000` for 4 places.
    pub fn render(self, places: u32) -> String {
        let places = places.min(6);
        let divisor = 10_i128.pow(6 - places);
        render_scaled(round_half_up(i128::from(self.0), divisor), places)
    }
}

impl fmt::Display for Ratio {
    /// The shortest exact decimal text: `0.92`, `1`, `-0.2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = render_scaled(i128::from(self.0), 6);
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        f.write_str(trimmed)
    }
}

impl Add for Ratio {
    type Output = Ratio;
    fn add(self, rhs: Ratio) -> Ratio {
        Ratio(self.0 + rhs.0)
    }
}

/// An interface unit price in micro-yuan (six decimals), never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(pub i64);

impl Price {
    /// Parses yuan text with at most six decimals; negative prices are refused (a refund keeps
    /// its price positive and makes the count negative).
    pub fn parse(text: &str) -> Result<Price, DecimalError> {
        let micro = parse_scaled(text, 6, i128::from(PRICE_MAX_MICRO))?;
        if micro < 0 {
            return Err(DecimalError::Negative);
        }
        Ok(Price(micro as i64))
    }
}

impl fmt::Display for Price {
    /// Shortest exact yuan text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = render_scaled(i128::from(self.0), 6);
        f.write_str(text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// An interface count in ten-thousandths (four decimals); negative on refund lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(pub i64);

impl Quantity {
    /// Parses a count with at most four decimals.
    pub fn parse(text: &str) -> Result<Quantity, DecimalError> {
        parse_scaled(text, 4, i128::from(QUANTITY_ABS_MAX)).map(|value| Quantity(value as i64))
    }

    /// A whole number of units.
    pub const fn units(units: i64) -> Quantity {
        Quantity(units * 10_000)
    }
}

impl fmt::Display for Quantity {
    /// Shortest exact text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = render_scaled(i128::from(self.0), 4);
        f.write_str(text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// `round_half_up(price × count)` in fen: a fee line's `det_item_fee_sumamt`.
///
/// Micro-yuan × ten-thousandths is 10^-10 yuan; a fen is 10^-2 yuan, hence the 10^8 divisor.
pub fn line_amount(price: Price, count: Quantity) -> Fen {
    fen_from_i128(round_half_up(
        i128::from(price.0) * i128::from(count.0),
        100_000_000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_half_away_from_zero() {
        let cases = [
            (5, 10, 1),
            (4, 10, 0),
            (-5, 10, -1),
            (-4, 10, 0),
            (15, 10, 2),
            (-15, 10, -2),
            (0, 7, 0),
        ];
        for (numerator, denominator, expected) in cases {
            assert_eq!(
                round_half_up(numerator, denominator),
                expected,
                "{numerator}/{denominator}"
            );
        }
    }

    #[test]
    fn line_amounts() {
        let price = Price::parse("12.345678").unwrap();
        assert_eq!(line_amount(price, Quantity::parse("1").unwrap()), Fen(1235));
        assert_eq!(
            line_amount(price, Quantity::parse("-1").unwrap()),
            Fen(-1235)
        );
        assert_eq!(
            line_amount(
                Price::parse("0.333333").unwrap(),
                Quantity::parse("3").unwrap()
            ),
            Fen(100)
        );
        assert_eq!(
            line_amount(
                Price::parse("100").unwrap(),
                Quantity::parse("0.0001").unwrap()
            ),
            Fen(1)
        );
        assert_eq!(
            line_amount(Price::parse("0.005").unwrap(), Quantity::units(1)),
            Fen(1)
        );
        assert_eq!(
            line_amount(Price::parse("0.004999").unwrap(), Quantity::units(1)),
            Fen(0)
        );
    }

    #[test]
    fn ratios_and_display() {
        assert_eq!(Ratio::parse("0.92").unwrap(), Ratio::percent(92));
        assert_eq!(Ratio::parse("-0.2").unwrap().to_string(), "-0.2");
        assert_eq!(Ratio::percent(60).complement().render(4), "0.4000");
        assert_eq!(
            Ratio::parse_unit("1.01"),
            Err(DecimalError::OutOfRange {
                max: "1.000000".into()
            })
        );
        assert_eq!(Ratio::parse_unit("-0.1"), Err(DecimalError::Negative));
        assert_eq!(Fen::parse("-0.5").unwrap().to_string(), "-0.50");
        assert_eq!(Fen(230_000).mul_ratio(Ratio::percent(60)), Fen(138_000));
        assert_eq!(Fen(138_000).div_ratio(Ratio::percent(60)), Fen(230_000));
        assert_eq!(Price::parse("-1"), Err(DecimalError::Negative));
    }

    proptest! {
        #[test]
        fn negation_commutes_with_rounding(amount in -FEN_ABS_MAX..FEN_ABS_MAX, ppm in 0_i64..=1_000_000) {
            prop_assert_eq!(Fen(-amount).mul_ratio(Ratio(ppm)), -Fen(amount).mul_ratio(Ratio(ppm)));
        }

        #[test]
        fn fen_text_round_trips(amount in -FEN_ABS_MAX..=FEN_ABS_MAX) {
            prop_assert_eq!(Fen::parse(&Fen(amount).to_string()), Ok(Fen(amount)));
        }

        #[test]
        fn rounding_error_is_at_most_half(numerator in any::<i64>(), denominator in 1_i64..1_000_000_000) {
            let rounded = round_half_up(i128::from(numerator), i128::from(denominator));
            let error = (rounded * i128::from(denominator) - i128::from(numerator)).abs();
            prop_assert!(2 * error <= i128::from(denominator));
        }
    }
}
