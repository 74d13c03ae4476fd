//! Limits of the settlement engine, each with its reason.

/// Most fee lines on one bill: a long inpatient stay has a few thousand; more is a broken feed.
pub const LINES_MAX: usize = 10_000;

/// Most family accounts bound for mutual aid (共济): a household, not a village.
pub const FAMILY_ACCOUNTS_MAX: usize = 16;

/// Most identity categories on one person.
pub const SP_PSN_TYPES_MAX: usize = 16;

/// Most entries in a year-to-date map (chronic diseases, policy-named accumulators).
pub const YTD_MAP_ENTRIES_MAX: usize = 256;

/// Longest code or disease text, in bytes.
pub const CODE_TEXT_MAX: usize = 64;
