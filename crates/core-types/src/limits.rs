//! Limits on every exact quantity, in one place, each with the reason for its size.

/// Largest absolute amount in fen (10^15 fen = 10 trillion yuan): far above any bill or annual
/// fund total, and small enough that a product with a ratio in parts per million fits an `i128`
/// with room, and a sum of `lines_max` such amounts fits an `i64`.
pub const FEN_ABS_MAX: i64 = 1_000_000_000_000_000;

/// Largest unit price in micro-yuan (10^15 micro-yuan = 1 billion yuan per unit).
pub const PRICE_MAX_MICRO: i64 = 1_000_000_000_000_000;

/// Largest absolute count in ten-thousandths (10^10 = one million units on one line).
pub const QUANTITY_ABS_MAX: i64 = 10_000_000_000;

/// Largest absolute ratio in parts per million (±100.0): ratios are shares in `[0, 1]`, but a
/// policy adjustment or repeat factor may be stated outside it, and parsing must not overflow.
pub const RATIO_ABS_MAX_PPM: i64 = 100_000_000;

/// Longest decimal text accepted, in bytes: a longer number is not a real amount.
pub const DECIMAL_TEXT_MAX: usize = 40;
