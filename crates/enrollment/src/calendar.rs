//! Working days over a holiday calendar given as data (public holidays and adjusted working
//! weekends), and the transfer deadlines that count them (spec enrollment.md §12).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::params::TransferParams;

/// Most working days any deadline counts (a quarter of a year).
pub const WORKING_DAYS_MAX: u32 = 60;
/// Most holiday ranges or working weekends one year may list.
pub const CALENDAR_ENTRIES_MAX: usize = 64;

/// A calendar file refused at load, or a date the calendar does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The file is malformed.
    #[error("{file}: {key}: {reason}")]
    Invalid {
        /// The file name given by the caller.
        file: String,
        /// The key (`year[0].holidays[2]`).
        key: String,
        /// Why.
        reason: String,
    },
    /// A date in a year the calendar has no notice for.
    #[error("the holiday calendar does not cover {0} (no notice loaded for that year)")]
    YearNotCovered(i32),
    /// A deadline longer than [`WORKING_DAYS_MAX`].
    #[error("{0} working days is more than {WORKING_DAYS_MAX}")]
    TooManyDays(u32),
}

/// The holidays and adjusted working weekends of the years it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeMap<i32, YearDays>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct YearDays {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

impl HolidayCalendar {
    /// Adds a year from lists of holidays and adjusted working weekends (for tests and for
    /// loaders). A holiday must be in `year`, a working weekend a Saturday or Sunday of `year`,
    /// and no date both.
    pub fn add_year(
        &mut self,
        year: i32,
        holidays: &[NaiveDate],
        working_weekends: &[NaiveDate],
    ) -> Result<(), String> {
        if self.years.contains_key(&year) {
            return Err(format!("year {year} is listed twice"));
        }
        let mut days = YearDays::default();
        for &date in holidays {
            if date.year() != year {
                return Err(format!("holiday {date} is not in {year}"));
            }
            days.holidays.insert(date);
        }
        for &date in working_weekends {
            if date.year() != year {
                return Err(format!("working weekend {date} is not in {year}"));
            }
            if !is_weekend(date) {
                return Err(format!(
                    "working weekend {date} is not a Saturday or Sunday"
                ));
            }
            if days.holidays.contains(&date) {
                return Err(format!("{date} is both a holiday and a working day"));
            }
            days.working_weekends.insert(date);
        }
        self.years.insert(year, days);
        Ok(())
    }

    /// The years covered, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `date` is a working day; refused for a year the calendar does not cover.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let days = self
            .years
            .get(&date.year())
            .ok_or(CalendarError::YearNotCovered(date.year()))?;
        if days.holidays.contains(&date) {
            return Ok(false);
        }
        Ok(!is_weekend(date) || days.working_weekends.contains(&date))
    }

    /// The date `n` working days after `start` (the start day itself does not count): a task
    /// accepted on `start` "within n working days" is due at the end of that date.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        if n > WORKING_DAYS_MAX {
            return Err(CalendarError::TooManyDays(n));
        }
        let mut date = start;
        let mut counted = 0;
        // Each step moves one calendar day; at most n working days plus the longest run of
        // non-working days (a few weeks) are visited, and the loop is bounded by the year check.
        while counted < n {
            date = date
                .succ_opt()
                .ok_or(CalendarError::YearNotCovered(start.year()))?;
            if self.is_working_day(date)? {
                counted += 1;
            }
        }
        Ok(date)
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    year: Vec<YearFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    holidays: Vec<String>,
    working_weekends: Vec<String>,
}

/// Parses and validates a holiday calendar file (format in `docs/ENROLLMENT.md`).
pub fn load_calendar(text: &str, file_name: &str) -> Result<HolidayCalendar, CalendarError> {
    let fail = |key: String, reason: String| CalendarError::Invalid {
        file: file_name.to_owned(),
        key,
        reason,
    };
    let raw: CalendarFile =
        toml::from_str(text).map_err(|err| fail("file".into(), err.message().to_owned()))?;
    let mut calendar = HolidayCalendar::default();
    for (year_idx, year) in raw.year.iter().enumerate() {
        let key = format!("year[{year_idx}]");
        if year.source.trim().is_empty() {
            return Err(fail(
                format!("{key}.source"),
                "name the notice the dates come from".into(),
            ));
        }
        if year.holidays.len() > CALENDAR_ENTRIES_MAX
            || year.working_weekends.len() > CALENDAR_ENTRIES_MAX
        {
            return Err(fail(
                key,
                format!("more than {CALENDAR_ENTRIES_MAX} entries"),
            ));
        }
        let date = |key: String, text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| fail(key, format!("{text:?} is not a date yyyy-MM-dd")))
        };
        let mut holidays = Vec::new();
        for (idx, entry) in year.holidays.iter().enumerate() {
            let entry_key = format!("{key}.holidays[{idx}]");
            let (first, last) = match entry.split_once('/') {
                Some((first, last)) => (
                    date(entry_key.clone(), first)?,
                    date(entry_key.clone(), last)?,
                ),
                None => {
                    let day = date(entry_key.clone(), entry)?;
                    (day, day)
                }
            };
            if last < first || (last - first).num_days() > 14 {
                return Err(fail(
                    entry_key,
                    format!("{entry:?} is not a range of at most 15 days"),
                ));
            }
            let mut day = first;
            while day <= last {
                holidays.push(day);
                day = day.succ_opt().expect("a date inside a checked range");
            }
        }
        let mut working = Vec::new();
        for (idx, entry) in year.working_weekends.iter().enumerate() {
            working.push(date(format!("{key}.working_weekends[{idx}]"), entry)?);
        }
        calendar
            .add_year(year.year, &holidays, &working)
            .map_err(|reason| fail(key, reason))?;
    }
    Ok(calendar)
}

/// The two deadlines of a transfer (§12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferDeadline {
    /// The day the deadline counts from.
    pub from: NaiveDate,
    /// Working days allowed.
    pub working_days: u32,
    /// The last day.
    pub due: NaiveDate,
}

/// The sending region's deadline: `sending_working_days` after the application was accepted.
pub fn sending_deadline(
    accepted_on: NaiveDate,
    params: &TransferParams,
    calendar: &HolidayCalendar,
) -> Result<TransferDeadline, CalendarError> {
    Ok(TransferDeadline {
        from: accepted_on,
        working_days: params.sending_working_days,
        due: calendar.add_working_days(accepted_on, params.sending_working_days)?,
    })
}

/// The receiving region's deadline: `receiving_working_days` after the info sheet arrived.
pub fn receiving_deadline(
    sheet_received_on: NaiveDate,
    params: &TransferParams,
    calendar: &HolidayCalendar,
) -> Result<TransferDeadline, CalendarError> {
    Ok(TransferDeadline {
        from: sheet_received_on,
        working_days: params.receiving_working_days,
        due: calendar.add_working_days(sheet_received_on, params.receiving_working_days)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_calendar;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_working_weekends() {
        let calendar = builtin_calendar().unwrap();
        assert_eq!(calendar.is_working_day(d("2025-01-28")), Ok(false));
        assert_eq!(calendar.is_working_day(d("2025-01-26")), Ok(true)); // a Sunday worked
        assert_eq!(calendar.is_working_day(d("2025-01-25")), Ok(false)); // an ordinary Saturday
        assert_eq!(calendar.is_working_day(d("2026-02-27")), Ok(true));
        assert_eq!(
            calendar.is_working_day(d("2027-03-08")),
            Err(CalendarError::YearNotCovered(2027))
        );
        // Accepted Friday 2025-09-26: Sun 28 Sep is worked, 1–8 Oct are off, Sat 11 Oct is worked.
        // Working days: 28, 29, 30 Sep, 9, 10, 11, 13, 14, 15, 16 Oct.
        assert_eq!(
            calendar.add_working_days(d("2025-09-26"), 10),
            Ok(d("2025-10-16"))
        );
        // Accepted Thursday 2026-02-12, across the Spring Festival: Sat 14 Feb and Sat 28 Feb are
        // worked, 15–23 Feb are off. Working days: 13, 14, 24, 25, 26, 27, 28 Feb, 2, 3, 4 Mar.
        assert_eq!(
            calendar.add_working_days(d("2026-02-12"), 10),
            Ok(d("2026-03-04"))
        );
        // Running off the end of the covered years is refused, not guessed.
        assert_eq!(
            calendar.add_working_days(d("2026-12-28"), 10),
            Err(CalendarError::YearNotCovered(2027))
        );
    }

    #[test]
    fn malformed_calendars_are_refused() {
        let cases = [
            (
                "[[year]]\nyear = 2025\nsource = \"x\"\nholidays = [\"2024-12-31\"]\nworking_weekends = []\n",
                "year[0]",
                "holiday 2024-12-31 is not in 2025",
            ),
            (
                "[[year]]\nyear = 2025\nsource = \"x\"\nholidays = []\nworking_weekends = [\"2025-01-27\"]\n",
                "year[0]",
                "working weekend 2025-01-27 is not a Saturday or Sunday",
            ),
            (
                "[[year]]\nyear = 2025\nsource = \" \"\nholidays = []\nworking_weekends = []\n",
                "year[0].source",
                "name the notice the dates come from",
            ),
            (
                "[[year]]\nyear = 2025\nsource = \"x\"\nholidays = [\"2025-02-30\"]\nworking_weekends = []\n",
                "year[0].holidays[0]",
                "\"2025-02-30\" is not a date yyyy-MM-dd",
            ),
        ];
        for (text, key, reason) in cases {
            assert_eq!(
                load_calendar(text, "h.toml"),
                Err(CalendarError::Invalid {
                    file: "h.toml".into(),
                    key: key.into(),
                    reason: reason.into()
                }),
                "{text}"
            );
        }
    }
}
