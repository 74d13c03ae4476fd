//! The parameter sets and holiday calendar shipped in `data/enrollment/`, compiled in so the
//! server, the CLI and the tests read the same files.

use crate::calendar::{load_calendar, CalendarError, HolidayCalendar};
use crate::params::{ParamSet, ParamsError};

/// The shipped parameter files: (name, text).
pub const PARAM_FILES: &[(&str, &str)] = &[
    (
        "data/enrollment/140500-2025.toml",
        include_str!("../../../data/enrollment/140500-2025.toml"),
    ),
    (
        "data/enrollment/370200-2019.toml",
        include_str!("../../../data/enrollment/370200-2019.toml"),
    ),
    (
        "data/enrollment/370200-2023.toml",
        include_str!("../../../data/enrollment/370200-2023.toml"),
    ),
    (
        "data/enrollment/370200-2025.toml",
        include_str!("../../../data/enrollment/370200-2025.toml"),
    ),
];

/// The shipped holiday calendar: (name, text).
pub const HOLIDAYS_FILE: (&str, &str) = (
    "data/enrollment/holidays.toml",
    include_str!("../../../data/enrollment/holidays.toml"),
);

/// The shipped parameter sets, validated.
pub fn builtin_params() -> Result<ParamSet, ParamsError> {
    ParamSet::load(PARAM_FILES)
}

/// The shipped holiday calendar, validated.
pub fn builtin_calendar() -> Result<HolidayCalendar, CalendarError> {
    load_calendar(HOLIDAYS_FILE.1, HOLIDAYS_FILE.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_load() {
        let set = builtin_params().unwrap();
        assert_eq!(set.sets().len(), PARAM_FILES.len());
        assert_eq!(set.get("370200", 2027).unwrap().year, 2025);
        assert_eq!(set.get("370200", 2024).unwrap().year, 2023);
        assert!(set.get("370200", 2018).is_none());
        let calendar = builtin_calendar().unwrap();
        assert_eq!(calendar.years(), vec![2025, 2026]);
    }
}
