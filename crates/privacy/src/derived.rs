//! Answers instead of data (§8, R9 数据可用不可见): turn a value into the yes/no, band or year a
//! grant permits, so a derived-output grant never carries the value itself.

use chrono::{Datelike, NaiveDate};

use crate::classification::{Classification, Condition, ItemCode};
use crate::decision::Permit;
use crate::error::PrivacyError;
use crate::limits::BANDS_MAX;

/// A registered question about one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Is the value this text (name match, ID-number digest match)?
    Equals(String),
    /// Is any of the record's codes on this list (P02 health declaration)?
    AnyOf(Vec<String>),
    /// Is the amount at least this (fen, days, years …)?
    AtLeast(i64),
    /// Which band holds the amount: bounds strictly increasing; band 0 is below the first.
    Band(Vec<i64>),
    /// Only the year of a date (insured since …).
    YearOf,
}

/// A value the question is asked of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A list of codes.
    Codes(Vec<String>),
    /// An integer amount.
    Amount(i64),
    /// A date.
    Date(NaiveDate),
}

/// The answer that leaves instead of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// The band `index` covering `[from, to)`; open ends are None.
    Band {
        /// 0 for the lowest band.
        index: usize,
        /// Inclusive lower bound.
        from: Option<i64>,
        /// Exclusive upper bound.
        to: Option<i64>,
    },
    /// A year.
    Year(i32),
}

fn yes_no(flag: bool) -> Answer {
    if flag {
        Answer::Yes
    } else {
        Answer::No
    }
}

/// Answers a question about a value; a question that does not fit the value, or bands that are
/// not increasing or too many, are refused.
pub fn derive(question: &Question, value: &Value) -> Result<Answer, PrivacyError> {
    match (question, value) {
        (Question::Equals(expected), Value::Text(text)) => Ok(yes_no(expected == text)),
        (Question::AnyOf(list), Value::Codes(codes)) => Ok(yes_no(
            codes
                .iter()
                .any(|code| list.iter().any(|listed| listed == code)),
        )),
        (Question::AtLeast(threshold), Value::Amount(amount)) => Ok(yes_no(amount >= threshold)),
        (Question::Band(bounds), Value::Amount(amount)) => {
            if bounds.is_empty() || bounds.len() > BANDS_MAX {
                return Err(PrivacyError::BadQuestion(
                    "a band question needs 1 to 10 bounds",
                ));
            }
            if bounds.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(PrivacyError::BadQuestion(
                    "band bounds must increase strictly",
                ));
            }
            let index = bounds.iter().take_while(|bound| *bound <= amount).count();
            Ok(Answer::Band {
                index,
                from: index.checked_sub(1).map(|idx| bounds[idx]),
                to: bounds.get(index).copied(),
            })
        }
        (Question::YearOf, Value::Date(date)) => Ok(Answer::Year(date.year())),
        _ => Err(PrivacyError::BadQuestion(
            "the question does not fit the value",
        )),
    }
}

/// Answers a question under a permit: the item must be released; any permit
/// can always be answered with less than its form (a lower rung of the ladder, R9).
pub fn answer_under(
    permit: &Permit,
    item: ItemCode,
    question: &Question,
    value: &Value,
) -> Result<Answer, PrivacyError> {
    if !permit.items.contains(item) {
        return Err(PrivacyError::NotReleased(item));
    }
    derive(question, value)
}

/// Registers a P02 disclosure question: its codes may not be on a special list, because a yes
/// or no about such a disease is itself level 3 (§5.2).
pub fn register_health_question(
    classification: &Classification,
    codes: &[String],
) -> Result<Question, PrivacyError> {
    if codes.is_empty() {
        return Err(PrivacyError::BadQuestion(
            "a health question names at least one code",
        ));
    }
    for code in codes {
        if classification.is_special(Condition::Diagnosis, code) {
            return Err(PrivacyError::QuestionNamesSpecialCode(code.clone()));
        }
    }
    Ok(Question::AnyOf(codes.to_vec()))
}
