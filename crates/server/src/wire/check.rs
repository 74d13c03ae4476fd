//! Field checks shared by every transaction: required, length, ranges. Errors name the field as
//! `input.<node>.<field>`.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::AppError;
use crate::limits::AMOUNT_FEN_MAX;
use crate::wire::scalar::{Date, DateTime, Decimal, Opt, Text};

fn name(node: &str, field: &str) -> String {
    format!("input.{node}.{field}")
}

/// A required text of at most `chars_max` characters.
pub fn text(
    value: &Opt<Text>,
    node: &str,
    field: &str,
    chars_max: usize,
) -> Result<String, AppError> {
    opt_text(value, node, field, chars_max)?.ok_or_else(|| AppError::required(name(node, field)))
}

/// An optional text of at most `chars_max` characters.
pub fn opt_text(
    value: &Opt<Text>,
    node: &str,
    field: &str,
    chars_max: usize,
) -> Result<Option<String>, AppError> {
    match value.get() {
        Some(Text(text)) if text.chars().count() > chars_max => Err(AppError::field(
            name(node, field),
            format!("longer than {chars_max} characters"),
        )),
        Some(Text(text)) => Ok(Some(text.clone())),
        None => Ok(None),
    }
}

/// A required code from a closed list (a dictionary flag such as `0`/`1`).
pub fn one_of(
    value: &Opt<Text>,
    node: &str,
    field: &str,
    allowed: &[&str],
) -> Result<String, AppError> {
    let code = text(value, node, field, 6)?;
    if allowed.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(AppError::field(
            name(node, field),
            format!("`{code}` is not one of {}", allowed.join(", ")),
        ))
    }
}

/// An optional one-digit dictionary code from `allowed` (`hosp_appr_flag` `0`/`1`/`2`);
/// zero-padded forms (`"01"`) are read as the digit, as for [`opt_flag`].
pub fn opt_digit_code(
    value: &Opt<Text>,
    node: &str,
    field: &str,
    allowed: &[&str],
) -> Result<Option<String>, AppError> {
    let Some(sent) = opt_text(value, node, field, 3)? else {
        return Ok(None);
    };
    let digits = sent.trim_start_matches('0');
    let code = if digits.is_empty() && !sent.is_empty() {
        "0"
    } else {
        digits
    };
    match allowed.iter().find(|allowed| **allowed == code) {
        Some(code) => Ok(Some((*code).to_owned())),
        None => Err(AppError::field(
            name(node, field),
            format!("`{sent}` is not one of {}", allowed.join(", ")),
        )),
    }
}

/// An optional `0`/`1` flag; zero-padded forms (`"01"`, W 2203A `vali_flag`) are accepted.
pub fn opt_flag(value: &Opt<Text>, node: &str, field: &str) -> Result<Option<bool>, AppError> {
    match opt_text(value, node, field, 3)?
        .as_deref()
        .map(|text| text.trim_start_matches('0'))
    {
        None => Ok(None),
        Some("") => Ok(Some(false)),
        Some("1") => Ok(Some(true)),
        Some(_) => Err(AppError::field(name(node, field), "is not 0 or 1")),
    }
}

/// A required date-time.
pub fn date_time(
    value: &Opt<DateTime>,
    node: &str,
    field: &str,
) -> Result<NaiveDateTime, AppError> {
    value
        .get()
        .map(|at| at.0)
        .ok_or_else(|| AppError::required(name(node, field)))
}

/// An optional date-time.
pub fn opt_date_time(value: &Opt<DateTime>) -> Option<NaiveDateTime> {
    value.get().map(|at| at.0)
}

/// A required date.
pub fn date(value: &Opt<Date>, node: &str, field: &str) -> Result<NaiveDate, AppError> {
    value
        .get()
        .map(|day| day.0)
        .ok_or_else(|| AppError::required(name(node, field)))
}

/// An optional date.
pub fn opt_date(value: &Opt<Date>) -> Option<NaiveDate> {
    value.get().map(|day| day.0)
}

/// A required amount in fen, not negative unless `negative_allowed`, within [`AMOUNT_FEN_MAX`].
pub fn amount(
    value: &Opt<Decimal<2>>,
    node: &str,
    field: &str,
    negative_allowed: bool,
) -> Result<i64, AppError> {
    let fen = value
        .get()
        .map(|amount| amount.0)
        .ok_or_else(|| AppError::required(name(node, field)))?;
    decimal_in_range(fen, AMOUNT_FEN_MAX, node, field, negative_allowed)
}

/// An optional amount in fen (same ranges as [`amount`]).
pub fn opt_amount(
    value: &Opt<Decimal<2>>,
    node: &str,
    field: &str,
) -> Result<Option<i64>, AppError> {
    match value.get() {
        None => Ok(None),
        Some(amount) => decimal_in_range(amount.0, AMOUNT_FEN_MAX, node, field, false).map(Some),
    }
}

/// A required scaled decimal within `[-max, max]` (or `[0, max]`).
pub fn decimal<const SCALE: u32>(
    value: &Opt<Decimal<SCALE>>,
    max: i64,
    node: &str,
    field: &str,
    negative_allowed: bool,
) -> Result<i64, AppError> {
    let units = value
        .get()
        .map(|d| d.0)
        .ok_or_else(|| AppError::required(name(node, field)))?;
    decimal_in_range(units, max, node, field, negative_allowed)
}

fn decimal_in_range(
    units: i64,
    max: i64,
    node: &str,
    field: &str,
    negative_allowed: bool,
) -> Result<i64, AppError> {
    if units < 0 && !negative_allowed {
        return Err(AppError::field(name(node, field), "must not be negative"));
    }
    if units.abs() > max {
        return Err(AppError::field(name(node, field), "is out of range"));
    }
    Ok(units)
}

/// A count of rows within `max` (`n` rows were sent).
pub fn rows_max(n: usize, max: usize, node: &str) -> Result<(), AppError> {
    if n > max {
        return Err(AppError::field(
            format!("input.{node}"),
            format!("has {n} rows, more than {max}"),
        ));
    }
    Ok(())
}
