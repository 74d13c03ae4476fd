//! Every bound of the engine in one place, each with the reason for its value (spec §5, §6, §11).

use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};

/// Highest n of LIMITED(n) any purpose may allow (§5.4 proposal: 12).
pub const LIMITED_USES_MAX: u32 = 12;
/// Lowest n of LIMITED(n); LIMITED(1) is ONCE (§5.4).
pub const LIMITED_USES_MIN: u32 = 2;
/// Request timestamps further than this from the server's clock are refused (§6.1: 300 s).
pub const REQUEST_SKEW_MAX_MS: i64 = 300 * SECOND_MS;
/// A factor verified longer ago than this cannot back a grant: the person confirms on the
/// consent screen right after authenticating (the SMS code itself lives 5 min, §6.4).
pub const FACTOR_AGE_MAX_MS: i64 = 5 * MINUTE_MS;
/// Items a request or a grant may name (there are 74).
pub const ITEMS_MAX: usize = 74;
/// Uses of one MULTI grant per day (§5.4 "daily rate cap"; proposal).
pub const MULTI_USES_PER_DAY_MAX: u32 = 50;
/// Calls of one grantee per second across its grants (§6.2 step 5; proposal).
pub const GRANTEE_CALLS_PER_SECOND_MAX: u32 = 200;
/// Uses of one subject's data per day across grantees (§6.2 step 5; proposal).
pub const SUBJECT_USES_PER_DAY_MAX: u32 = 100;
/// A counter service session opened by scanning the person's credential lasts 30 min (§11.2).
pub const SERVICE_SESSION_MS: i64 = 30 * MINUTE_MS;
/// Break-glass read access lasts 2 hours (§11.5).
pub const BREAK_GLASS_MS: i64 = 2 * HOUR_MS;
/// Full reveals of an ID number per staff member per day (§11.4 "daily cap"; proposal).
pub const REVEALS_PER_DAY_MAX: u32 = 20;
/// Family-account members one person may bind (§2.3: up to 5).
pub const FAMILY_MEMBERS_MAX: usize = 5;
/// A P06 delegation and the institution grant P07 last at most a year (§5.2).
pub const YEAR_MS: i64 = 365 * DAY_MS;
/// Direct-claim grants (P03, P04) may outlive the policy period by 180 days (§5.2).
pub const CLAIM_TAIL_MS: i64 = 180 * DAY_MS;
/// The look-back of the health check P02 (§5.2: ≤ 5 years).
pub const HEALTH_CHECK_LOOKBACK_DAYS: i64 = 5 * 366;
/// Characters of a free-text reason (break-glass, reveal) kept in the log.
pub const REASON_CHARS_MAX: usize = 200;
/// Bands a derived answer may have (a band question with more is too close to the value).
pub const BANDS_MAX: usize = 10;
