//! The 18-character resident identity number (居民身份证号, GB 11643): 6-digit birthplace code,
//! 8-digit birth date, 3-digit sequence (odd for men, even for women) and the ISO 7064 MOD 11-2
//! check character.

use chrono::{Datelike, NaiveDate};

/// Weights of the first 17 digits in the check sum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `sum mod 11`.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits, or `None` when they are not 17 ASCII digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Builds a certificate number. `sequence` is 0..=999; its parity must match the sex (odd male).
pub fn build(birthplace: &str, birth: NaiveDate, sequence: u16) -> String {
    let first17 = format!(
        "{birthplace}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        sequence % 1000
    );
    let check = check_char(&first17).expect("birthplace is 6 digits and the rest is formatted");
    format!("{first17}{check}")
}

/// True when `certno` is 18 characters whose check character matches.
pub fn is_valid(certno: &str) -> bool {
    certno.len() == 18 && certno.is_char_boundary(17) && {
        let (first17, last) = certno.split_at(17);
        check_char(first17).is_some_and(|c| last.starts_with(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_published_example_checks() {
        // The worked example of GB 11643-1999 (Beijing, 1949-12-31, sequence 001): check 'X'.
        assert_eq!(check_char("11010519491231002"), Some('X'));
        assert!(is_valid("11010519491231002X"));
        assert!(!is_valid("110105194912310021"));
        assert!(!is_valid("11010519491231002"));
    }

    proptest! {
        #[test]
        fn built_numbers_are_valid(seq in 0u16..1000, days in 0i64..40_000) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(days as u64);
            let certno = build("140502", birth, seq);
            prop_assert_eq!(certno.len(), 18);
            prop_assert!(is_valid(&certno));
        }

        #[test]
        fn one_changed_digit_is_caught(pos in 0usize..17, delta in 1u8..10) {
            let certno = build("140525", NaiveDate::from_ymd_opt(1980, 5, 17).unwrap(), 123);
            let mut bytes = certno.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(!is_valid(&String::from_utf8(bytes).unwrap()));
        }
    }
}
