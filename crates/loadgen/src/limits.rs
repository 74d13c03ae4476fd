//! Every limit of the simulator in one place, each with its reason.

use std::time::Duration;

/// Workers at most.
pub const CONCURRENCY_MAX: usize = 1_024;

/// Fee lines per 2301 upload (a HIS uploads a long stay in batches).
pub const INPATIENT_LINES_PER_UPLOAD: usize = 50;

/// Longest run a command accepts.
pub const DURATION_MAX: Duration = Duration::from_secs(24 * 3600);

/// Longest generated stay, days.
pub const STAY_DAYS_MAX: u32 = 60;

/// Units on one line at most.
pub const COUNT_MAX: i64 = 200;

/// Patients kept in memory at most, whatever the city's size (a stride sample of the city).
pub const PATIENTS_MAX: usize = 200_000;

/// Catalogue items kept at most.
pub const ITEMS_MAX: usize = 100_000;

/// Violation texts kept for the report at most (the count is exact).
pub const VIOLATION_SAMPLES_MAX: usize = 20;

/// Distinct error kinds kept at most (further kinds are counted under "other").
pub const ERROR_KINDS_MAX: usize = 100;

/// A request that takes longer than this counts as a transport failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers larger than this are not read (the server's own output limit is far below).
pub const RESPONSE_BYTES_MAX: usize = 4 << 20;

/// Latencies above this are counted as this (a minute, in microseconds).
pub const LATENCY_MAX_MICROS: u64 = 60_000_000;

/// Chains in flight at most in an open-loop run: a stalled server meets this many open
/// connections, no more.
pub const IN_FLIGHT_MAX: usize = 4_096;

/// Highest open-loop arrival rate, chains per second: far above what one load generator can
/// send, so a slip of the finger is refused rather than scheduling a billion chains.
pub const RATE_MAX: u32 = 100_000;

/// A chain that starts later than its intended start by more than this is counted late: tokio's
/// timer has a resolution of a millisecond, so a smaller delay is the timer, not the scheduler.
pub const START_LATE_SLACK: Duration = Duration::from_millis(2);

/// Planting candidates kept per rule kind: the shipped knowledge has a few dozen entries; a
/// larger table would only make the manifest's choice slower to draw, not the test better.
pub const PLANT_CANDIDATES_MAX: usize = 1_000;

/// Persons tried when looking for one a planted violation needs (a man, a child …) before the
/// visit is sent unplanted.
pub const PLANT_PERSON_TRIES_MAX: usize = 200;

/// Orders in one 3102 encounter the simulator sends at most: the server takes up to 1,000 lines
/// per upload; a check of more than 500 orders is no outpatient visit.
pub const AUDIT_LINES_MAX: usize = 500;
