//! Exact arithmetic: the one rounding rule and the one sharing rule of the payment engine.
//!
//! Every derived quantity (a weight in ppm, points in 1/10000, a band amount in fen) is an exact
//! rational first and is rounded once, by [`div_round_half_up`]. Every fixed total that is shared
//! out (a budget over hospitals, an annual budget over months) is shared by
//! [`share_largest_remainder`], which conserves the total to the unit.

/// Parts per million: the scale of weights, coefficients and ratios (1.0 = 1,000,000).
pub const PPM: i128 = 1_000_000;

/// Points are counted in 1/10000 of a point (`points_e4`); 1 point = 10,000.
pub const POINT_E4: i128 = 10_000;

/// THE rounding rule: `num / den` rounded half up (half away from zero for positive values,
/// half toward positive infinity in general), for `den > 0`.
///
/// Used for every rounding in this crate, so that one rule decides every last unit.
pub fn div_round_half_up(num: i128, den: i128) -> i128 {
    assert!(den > 0, "rounding with a non-positive denominator {den}");
    // floor((2 num + den) / (2 den)) is num/den + 1/2 rounded down: half up.
    (2 * num + den).div_euclid(2 * den)
}

/// THE sharing rule (largest remainder, Hamilton's method): shares `total` (≥ 0) in proportion
/// to `weights` (each ≥ 0, sum > 0 when `total > 0`).
///
/// Each share is first the floor of its exact quota `total × weight / Σ weight`; the units left
/// over go one each to the entries with the largest fractional remainders, ties to the lower
/// index. The shares add up to `total` exactly and none differs from its quota by a unit or more.
/// Callers pass entries in a canonical order (hospital index, month), so the result does not
/// depend on the order of the cases behind the weights.
pub fn share_largest_remainder(total: i64, weights: &[i128]) -> Vec<i64> {
    assert!(total >= 0, "sharing a negative total {total}");
    assert!(
        weights.iter().all(|w| *w >= 0),
        "sharing by a negative weight"
    );
    let weight_sum: i128 = weights.iter().sum();
    if total == 0 || weight_sum == 0 {
        assert!(total == 0, "sharing {total} by weights that sum to zero");
        return vec![0; weights.len()];
    }
    let total_wide = i128::from(total);
    let mut shares: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (idx, weight) in weights.iter().enumerate() {
        let exact = total_wide * weight;
        let floor = exact / weight_sum;
        given += floor;
        shares.push(i64::try_from(floor).expect("a share never exceeds the total"));
        remainders.push((exact % weight_sum, idx));
    }
    let left = usize::try_from(total_wide - given).expect("left-over units are few");
    assert!(left <= weights.len(), "largest remainder left {left} units");
    // Largest remainder first, ties to the lower index.
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, idx) in remainders.iter().take(left) {
        shares[*idx] += 1;
    }
    debug_assert_eq!(
        shares.iter().map(|s| i128::from(*s)).sum::<i128>(),
        total_wide
    );
    shares
}

/// Narrows an exact value known to fit, naming what it is if it does not (a bug, not bad input:
/// the limits in [`crate::limits`] keep every value far inside `i64`).
pub(crate) fn to_i64(value: i128, what: &str) -> i64 {
    i64::try_from(value).unwrap_or_else(|_| panic!("{what} {value} does not fit in i64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_rounds_halves_up_and_the_rest_to_nearest() {
        let cases = [
            (5, 2, 3),
            (7, 2, 4),
            (1, 3, 0),
            (2, 3, 1),
            (-5, 2, -2),
            (-7, 2, -3),
            (0, 7, 0),
        ];
        for (num, den, want) in cases {
            assert_eq!(div_round_half_up(num, den), want, "{num}/{den}");
        }
    }

    #[test]
    fn largest_remainder_gives_left_over_units_to_largest_fractions() {
        // Quotas 100 × (1, 1, 1) / 3 = 33.33 each: the one left-over unit goes to index 0.
        assert_eq!(share_largest_remainder(100, &[1, 1, 1]), vec![34, 33, 33]);
        // Quotas 10 × (5, 3, 2) / 10 = 5, 3, 2 exactly.
        assert_eq!(share_largest_remainder(10, &[5, 3, 2]), vec![5, 3, 2]);
        // Quotas 7 × (1, 2, 4) / 7 ... exact; 8 × (1, 2, 4)/7 = 1.14, 2.29, 4.57 → 1, 2, 5.
        assert_eq!(share_largest_remainder(8, &[1, 2, 4]), vec![1, 2, 5]);
        assert_eq!(share_largest_remainder(0, &[0, 0]), vec![0, 0]);
    }
}
