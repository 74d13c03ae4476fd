//! Instants as UTC milliseconds since the Unix epoch, the store's unit; the caller reads the
//! clock once per request and passes it in.

/// An instant: UTC milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

/// Milliseconds in a second.
pub const SECOND_MS: i64 = 1_000;
/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * HOUR_MS;

impl Millis {
    /// This instant moved by `ms` (saturating, so a far-off cap never overflows).
    pub fn plus(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to this instant (negative when `earlier` is later).
    pub fn since(self, earlier: Millis) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The instant 00:00 UTC of a calendar date.
    pub fn at_date(date: chrono::NaiveDate) -> Millis {
        let midnight = date.and_hms_opt(0, 0, 0).expect("00:00:00 is a valid time");
        Millis(midnight.and_utc().timestamp_millis())
    }
}

/// A duration in milliseconds, displayed in the largest whole unit (`30 min`, `545 d`), for
/// messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub i64);

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = [
            (DAY_MS, "d"),
            (HOUR_MS, "h"),
            (MINUTE_MS, "min"),
            (SECOND_MS, "s"),
        ];
        for (unit_ms, name) in units {
            if self.0 != 0 && self.0 % unit_ms == 0 {
                return write!(f, "{} {name}", self.0 / unit_ms);
            }
        }
        write!(f, "{} ms", self.0)
    }
}
