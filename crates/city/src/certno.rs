//! The 18-character resident identity numbers the synthetic city gives its persons (居民身份证号,
//! GB 11643): 6-digit birthplace code, 8-digit birth date, 3-digit sequence (odd for men, even
//! for women) and the check character — computed and checked by the enrollment engine's rules
//! (`yibao_enrollment::id`), the same the registry applies to department feeds.

use chrono::{Datelike, NaiveDate};
use yibao_enrollment::id::{check_char, CitizenId};

/// Builds a certificate number. `sequence` is 0..=999; its parity must match the sex (odd male).
pub fn build(birthplace: &str, birth: NaiveDate, sequence: u16) -> String {
    let first17 = format!(
        "{birthplace}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        sequence % 1000
    );
    let mut digits = [0u8; 17];
    for (digit, byte) in digits.iter_mut().zip(first17.bytes()) {
        assert!(byte.is_ascii_digit(), "birthplace is 6 digits: {first17}");
        *digit = byte - b'0';
    }
    format!("{first17}{}", check_char(&digits))
}

/// True when `certno` is a valid citizen ID already in canonical form.
pub fn is_valid(certno: &str) -> bool {
    CitizenId::parse(certno, NaiveDate::MAX).is_ok_and(|id| id.as_str() == certno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_published_example_checks() {
        // The worked example of GB 11643-1999 (Beijing, 1949-12-31, sequence 002): check 'X'.
        assert_eq!(
            build("110105", NaiveDate::from_ymd_opt(1949, 12, 31).unwrap(), 2),
            "11010519491231002X"
        );
        assert!(is_valid("11010519491231002X"));
        assert!(!is_valid("110105194912310021"));
        assert!(!is_valid("11010519491231002"));
        assert!(!is_valid("11010519491231002x"));
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
