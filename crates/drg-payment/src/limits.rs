//! Limits on everything the payment engine accepts, each with the reason for its size.

/// Cases in one computation: a large province's inpatient year is about 10 million stays.
pub const CASES_MAX: usize = 20_000_000;
/// Hospitals in one region: Xiangtan has 135 inpatient institutions, a province a few thousand.
pub const HOSPITALS_MAX: usize = 100_000;
/// One stay's cost: 100 million yuan is far above any real inpatient bill.
pub const CASE_COST_FEN_MAX: i64 = 10_000_000_000;
/// One stay's length: ten years covers the longest psychiatric or rehabilitation stays.
pub const STAY_DAYS_MAX: u32 = 3_650;
/// A regional budget: 10 trillion yuan, far above any pooling region's fund.
pub const BUDGET_FEN_MAX: i64 = 1_000_000_000_000_000;
/// A coefficient or multiplier in ppm: 100× is far above any real hospital coefficient.
pub const COEFFICIENT_PPM_MAX: i64 = 100_000_000;
/// Tiers of the high-outlier multiplier: regions publish three or four.
pub const OUTLIER_TIERS_MAX: usize = 16;
/// Bands of the surplus or overspend rule: regions publish two to five.
pub const BANDS_MAX: usize = 16;
/// Procedures on one case as the DIP key sees them (a settlement list carries at most a few dozen).
pub const PROCEDURES_PER_CASE_MAX: usize = 64;
/// Months of a settlement year.
pub const MONTHS_PER_YEAR: u8 = 12;
/// Points of one year in 1/10000 point: 10^18 keeps every sum inside `i64` (a real region-year
/// of ten million cases at a few hundred points each is about 10^13).
pub const TOTAL_POINTS_E4_MAX: i64 = 1_000_000_000_000_000_000;
