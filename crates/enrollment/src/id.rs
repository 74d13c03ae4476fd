//! Identity numbers (spec enrollment.md §2): the 18-character citizen ID of GB 11643-1999 with
//! its ISO 7064 MOD 11-2 check character, the 15-digit legacy number and its upgrade, the other
//! certificate types, and the normalisation every incoming `certno` gets before matching.

use chrono::{Datelike, NaiveDate};
use unicode_normalization::UnicodeNormalization;

/// The longest `certno` the interface carries (C 50).
pub const CERTNO_MAX: usize = 50;

/// The earliest birth year a citizen ID may carry (the standard's own example is an 1880 birth).
pub const BIRTH_YEAR_MIN: i32 = 1880;

/// `psn_cert_type` 01: resident identity card (居民身份证, 户口簿).
pub const CERT_RESIDENT: &str = "01";
/// `psn_cert_type` 07: foreign permanent residence ID (外国人永久居留证).
pub const CERT_FOREIGN_PERMANENT: &str = "07";
/// `psn_cert_type` 17: residence permit of Hong Kong, Macao and Taiwan residents (港澳台居民居住证).
pub const CERT_HMT_RESIDENCE: &str = "17";
/// `psn_cert_type` 990201: medical birth certificate (医学出生证明), used until the police
/// number exists.
pub const CERT_BIRTH: &str = "990201";

/// The weights `2^(18−i) mod 11` of the first 17 characters.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Why an identity number was refused. [`IdError::reason`] is the stable code a queue or a
/// report shows (`bad_check_digit` …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Nothing left after normalisation.
    #[error("the number is empty")]
    Empty,
    /// Longer than the interface's 50 characters.
    #[error("the number has {0} characters, at most {CERTNO_MAX} are allowed")]
    TooLong(usize),
    /// Not 18 characters (nor 15 where a legacy number is allowed).
    #[error("the number has {0} characters, a citizen ID has 18 (or 15 in the legacy form)")]
    BadLength(usize),
    /// A character that may not stand at its position (1-based).
    #[error("character {0} is not a digit")]
    NotDigit(usize),
    /// The check character does not match the first 17 digits.
    #[error("the check character is {found}, the first 17 digits give {expected}")]
    BadCheckDigit {
        /// What the digits give.
        expected: char,
        /// What the number carries.
        found: char,
    },
    /// Positions 7–14 are not a calendar date.
    #[error("the birth date {0} is not a calendar date")]
    BadBirthDate(String),
    /// The birth date is after the reference date.
    #[error("the birth date {0} is in the future")]
    FutureBirthDate(NaiveDate),
    /// The birth date is before 1880.
    #[error("the birth date {0} is before {BIRTH_YEAR_MIN}")]
    AncientBirthDate(NaiveDate),
    /// The first digits name no province (or the prefix the certificate type requires).
    #[error("the region prefix {0} is not valid for this certificate type")]
    BadPrefix(String),
    /// The certificate type is not in the national dictionary.
    #[error("unknown psn_cert_type {0}")]
    UnknownCertType(String),
    /// A shape check of a non-citizen certificate failed.
    #[error("the number does not have the shape of its certificate type: {0}")]
    BadShape(&'static str),
}

impl IdError {
    /// The stable reason code (`bad_check_digit`, `bad_length` …).
    pub fn reason(&self) -> &'static str {
        match self {
            IdError::Empty => "empty",
            IdError::TooLong(_) => "too_long",
            IdError::BadLength(_) => "bad_length",
            IdError::NotDigit(_) => "not_digit",
            IdError::BadCheckDigit { .. } => "bad_check_digit",
            IdError::BadBirthDate(_) => "bad_birth_date",
            IdError::FutureBirthDate(_) => "future_birth_date",
            IdError::AncientBirthDate(_) => "ancient_birth_date",
            IdError::BadPrefix(_) => "bad_prefix",
            IdError::UnknownCertType(_) => "unknown_cert_type",
            IdError::BadShape(_) => "bad_shape",
        }
    }
}

/// Normalises an incoming number (§2.5): NFKC (full-width digits and `Ｘ` become ASCII), trim,
/// drop spaces and hyphens, uppercase. Checks nothing.
pub fn normalise(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{2010}' && *c != '\u{2212}')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The check character of 17 digits (ISO 7064 MOD 11-2), `X` for ten.
pub fn check_char(first17: &[u8; 17]) -> char {
    let s: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match (12 - s % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).expect("a digit below ten"),
    }
}

/// A valid 18-character citizen ID in canonical form (uppercase `X`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitizenId(String);

impl CitizenId {
    /// Parses a citizen ID (type `01` or `17`): normalises it, upgrades a 15-digit legacy number,
    /// and checks the digits, the check character, the birth date (a calendar date from 1880 up
    /// to `today`) and the province.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<CitizenId, IdError> {
        let n = normalise(raw);
        let canonical = match n.chars().count() {
            0 => return Err(IdError::Empty),
            15 => upgrade_legacy(&n)?,
            18 => n,
            len if len > CERTNO_MAX => return Err(IdError::TooLong(len)),
            len => return Err(IdError::BadLength(len)),
        };
        let bytes = canonical.as_bytes();
        let mut digits = [0u8; 17];
        for (i, d) in digits.iter_mut().enumerate() {
            let b = bytes[i];
            if !b.is_ascii_digit() {
                return Err(IdError::NotDigit(i + 1));
            }
            *d = b - b'0';
        }
        let found = char::from(bytes[17]);
        if !(found.is_ascii_digit() || found == 'X') {
            return Err(IdError::NotDigit(18));
        }
        let expected = check_char(&digits);
        if found != expected {
            return Err(IdError::BadCheckDigit { expected, found });
        }
        let id = CitizenId(canonical);
        if !valid_province(&id.0[..2]) {
            return Err(IdError::BadPrefix(id.0[..2].to_owned()));
        }
        let brdy = id.birth_date()?;
        if brdy.year() < BIRTH_YEAR_MIN {
            return Err(IdError::AncientBirthDate(brdy));
        }
        if brdy > today {
            return Err(IdError::FutureBirthDate(brdy));
        }
        Ok(id)
    }

    /// The canonical 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address code (positions 1–6): the county where the number was issued.
    pub fn address_code(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date (positions 7–14).
    pub fn birth_date(&self) -> Result<NaiveDate, IdError> {
        let s = &self.0[6..14];
        NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| IdError::BadBirthDate(s.to_owned()))
    }

    /// `gend` from the sequence code: odd `1` (男), even `2` (女).
    pub fn gend(&self) -> &'static str {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            "1"
        } else {
            "2"
        }
    }

    /// The 15-digit legacy form, when the person could have had one (born 1900–1999, or an
    /// 1800s birth with a centenarian sequence 996–999).
    pub fn legacy(&self) -> Option<String> {
        let century = &self.0[6..8];
        let seq = &self.0[14..17];
        let centenarian = matches!(seq, "996" | "997" | "998" | "999");
        match (century, centenarian) {
            ("19", false) | ("18", true) => {
                Some(format!("{}{}{}", &self.0[..6], &self.0[8..14], seq))
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for CitizenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Upgrades a normalised 15-digit legacy number to 18 characters (§2.4): `19` (or `18` for the
/// centenarian sequences 996–999) inserted after position 6, then the check character.
pub fn upgrade_legacy(n: &str) -> Result<String, IdError> {
    let bytes = n.as_bytes();
    if bytes.len() != 15 {
        return Err(IdError::BadLength(n.chars().count()));
    }
    if let Some(i) = bytes.iter().position(|b| !b.is_ascii_digit()) {
        return Err(IdError::NotDigit(i + 1));
    }
    let century = if matches!(&n[12..15], "996" | "997" | "998" | "999") {
        "18"
    } else {
        "19"
    };
    let body = format!("{}{}{}", &n[..6], century, &n[6..15]);
    let mut digits = [0u8; 17];
    for (d, b) in digits.iter_mut().zip(body.bytes()) {
        *d = b - b'0';
    }
    Ok(format!("{body}{}", check_char(&digits)))
}

/// Whether two leading digits name a province in a citizen ID (§2.3): mainland codes, `71`
/// Taiwan in legacy data, `81`–`83` for the Hong Kong, Macao and Taiwan residence permits.
fn valid_province(p: &str) -> bool {
    matches!(
        p,
        "11" | "12"
            | "13"
            | "14"
            | "15"
            | "21"
            | "22"
            | "23"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "37"
            | "41"
            | "42"
            | "43"
            | "44"
            | "45"
            | "46"
            | "50"
            | "51"
            | "52"
            | "53"
            | "54"
            | "61"
            | "62"
            | "63"
            | "64"
            | "65"
            | "71"
            | "81"
            | "82"
            | "83"
    )
}

/// Whether `code` is a `psn_cert_type` of the national dictionary.
pub fn known_cert_type(code: &str) -> bool {
    matches!(
        code,
        "01" | "02"
            | "03"
            | "04"
            | "05"
            | "06"
            | "07"
            | "08"
            | "09"
            | "10"
            | "11"
            | "12"
            | "13"
            | "14"
            | "15"
            | "16"
            | "17"
            | "90"
            | "99"
            | "990102"
            | "990201"
    )
}

/// Validates a number of any certificate type and returns its canonical form (§2.5): a citizen
/// ID (`01`) or a residence permit (`17`, prefix 81/82/83 0000) by [`CitizenId::parse`]; a
/// foreign permanent residence ID (`07`) by its old (3 letters + 12 digits) or new (18
/// characters, first `9`, MOD 11-2) shape; any other type as free text of at most 50 characters.
pub fn canonical_certno(cert_type: &str, raw: &str, today: NaiveDate) -> Result<String, IdError> {
    if !known_cert_type(cert_type) {
        return Err(IdError::UnknownCertType(cert_type.to_owned()));
    }
    let n = normalise(raw);
    let len = n.chars().count();
    if len == 0 {
        return Err(IdError::Empty);
    }
    if len > CERTNO_MAX {
        return Err(IdError::TooLong(len));
    }
    match cert_type {
        CERT_RESIDENT => Ok(CitizenId::parse(&n, today)?.0),
        CERT_HMT_RESIDENCE => {
            let id = CitizenId::parse(&n, today)?;
            match &id.0[..6] {
                "810000" | "820000" | "830000" => Ok(id.0),
                other => Err(IdError::BadPrefix(other.to_owned())),
            }
        }
        CERT_FOREIGN_PERMANENT => foreign_permanent(&n),
        _ => Ok(n),
    }
}

/// The two shapes of the foreign permanent residence ID.
fn foreign_permanent(n: &str) -> Result<String, IdError> {
    let b = n.as_bytes();
    if b.len() == 15 {
        let ok = b[..3].iter().all(u8::is_ascii_uppercase) && b[3..].iter().all(u8::is_ascii_digit);
        return if ok {
            Ok(n.to_owned())
        } else {
            Err(IdError::BadShape("3 letters and 12 digits"))
        };
    }
    if b.len() != 18 {
        return Err(IdError::BadLength(n.chars().count()));
    }
    if b[0] != b'9' {
        return Err(IdError::BadPrefix(n[..1].to_owned()));
    }
    let mut digits = [0u8; 17];
    for (i, d) in digits.iter_mut().enumerate() {
        if !b[i].is_ascii_digit() {
            return Err(IdError::NotDigit(i + 1));
        }
        *d = b[i] - b'0';
    }
    let found = char::from(b[17]);
    let expected = check_char(&digits);
    if found != expected {
        return Err(IdError::BadCheckDigit { expected, found });
    }
    Ok(n.to_owned())
}

/// Normalises a name for matching (§8.2): NFKC, no whitespace, the middle-dot variants of
/// minority names unified to `·`. Rare characters stay as received.
pub fn normalise_name(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '•' | '．' | '.' | '・' | '‧' | '∙' | '⋅' => '·',
            c => c,
        })
        .collect()
}

/// Completed years at `date` (§2.3): a birthday not yet reached this year counts one less; a
/// 29 February birthday is reached on 1 March in other years.
pub fn age_at(brdy: NaiveDate, date: NaiveDate) -> i32 {
    let mut years = date.year() - brdy.year();
    if (date.month(), date.day()) < (brdy.month(), brdy.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-12-05";

    #[test]
    fn the_standards_vectors_pass() {
        for n in [
            "11010519491231002X",
            "440524188001010014",
            "34052419800101001X",
        ] {
            let id = CitizenId::parse(n, d(TODAY)).unwrap();
            assert_eq!(id.as_str(), n);
        }
        let id = CitizenId::parse("11010519491231002X", d(TODAY)).unwrap();
        assert_eq!(id.birth_date().unwrap(), d("1949-12-31"));
        assert_eq!(id.gend(), "2");
        assert_eq!(id.address_code(), "110105");
        assert_eq!(id.legacy().as_deref(), Some("110105491231002"));
        assert_eq!(
            CitizenId::parse("440524188001010014", d(TODAY))
                .unwrap()
                .gend(),
            "1"
        );
    }

    #[test]
    fn a_legacy_number_upgrades() {
        assert_eq!(
            CitizenId::parse("110105491231002", d(TODAY))
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        // Sequence 996–999 marked an 1800s birth in the 1989 standard.
        let old = upgrade_legacy("110105801231996").unwrap();
        assert!(old.starts_with("11010518801231996"), "{old}");
        assert!(CitizenId::parse(&old, d(TODAY)).is_ok());
    }

    #[test]
    fn full_width_and_lowercase_normalise() {
        let id = CitizenId::parse(" １１０１０５１９４９１２３１００２ｘ ", d(TODAY)).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            normalise("1101-0519 4912"),
            "1101051949 12".replace(' ', "")
        );
    }

    #[test]
    fn refusals_name_their_reason() {
        let t = d(TODAY);
        let e = CitizenId::parse("110105194912310021", t).unwrap_err();
        assert_eq!(e.reason(), "bad_check_digit");
        assert_eq!(
            e,
            IdError::BadCheckDigit {
                expected: 'X',
                found: '1'
            }
        );
        assert_eq!(CitizenId::parse("", t).unwrap_err(), IdError::Empty);
        assert_eq!(
            CitizenId::parse("1234", t).unwrap_err().reason(),
            "bad_length"
        );
        assert_eq!(
            CitizenId::parse("11010A19491231002X", t).unwrap_err(),
            IdError::NotDigit(6)
        );
        // 1949-02-30 does not exist; the check character is recomputed so only the date fails.
        let body = "11010519490230002";
        let mut digits = [0u8; 17];
        for (x, b) in digits.iter_mut().zip(body.bytes()) {
            *x = b - b'0';
        }
        let n = format!("{body}{}", check_char(&digits));
        assert_eq!(
            CitizenId::parse(&n, t).unwrap_err().reason(),
            "bad_birth_date"
        );
        // Born after the reference date.
        let body = "11010520270101002";
        for (x, b) in digits.iter_mut().zip(body.bytes()) {
            *x = b - b'0';
        }
        let n = format!("{body}{}", check_char(&digits));
        assert_eq!(
            CitizenId::parse(&n, t).unwrap_err().reason(),
            "future_birth_date"
        );
        // No province 99.
        let body = "99010519491231002";
        for (x, b) in digits.iter_mut().zip(body.bytes()) {
            *x = b - b'0';
        }
        let n = format!("{body}{}", check_char(&digits));
        assert_eq!(CitizenId::parse(&n, t).unwrap_err().reason(), "bad_prefix");
    }

    #[test]
    fn other_certificate_types() {
        let t = d(TODAY);
        assert_eq!(
            canonical_certno("08", " e1234 5678 ", t).unwrap(),
            "E12345678"
        );
        assert_eq!(
            canonical_certno("07", "USA123456789012", t).unwrap(),
            "USA123456789012"
        );
        assert_eq!(
            canonical_certno("07", "US1123456789012", t)
                .unwrap_err()
                .reason(),
            "bad_shape"
        );
        assert_eq!(
            canonical_certno("55", "1", t).unwrap_err().reason(),
            "unknown_cert_type"
        );
        assert_eq!(
            canonical_certno("17", "11010519491231002X", t)
                .unwrap_err()
                .reason(),
            "bad_prefix"
        );
        assert_eq!(
            canonical_certno("99", &"9".repeat(51), t)
                .unwrap_err()
                .reason(),
            "too_long"
        );
    }

    #[test]
    fn names_and_ages() {
        assert_eq!(normalise_name(" 阿依古丽•买买提 "), "阿依古丽·买买提");
        assert_eq!(normalise_name("张　三"), "张三");
        assert_eq!(age_at(d("2000-02-29"), d("2025-02-28")), 24);
        assert_eq!(age_at(d("2000-02-29"), d("2025-03-01")), 25);
        assert_eq!(age_at(d("2000-06-15"), d("2026-06-15")), 26);
        assert_eq!(age_at(d("2000-06-15"), d("2026-06-14")), 25);
    }

    proptest::proptest! {
        #[test]
        fn every_computed_check_character_validates(
            seq in 0u32..1000, days in 0i64..40_000,
        ) {
            let brdy = d("1900-01-01") + chrono::Duration::days(days);
            let body = format!("110105{}{seq:03}", brdy.format("%Y%m%d"));
            let mut digits = [0u8; 17];
            for (x, b) in digits.iter_mut().zip(body.bytes()) {
                *x = b - b'0';
            }
            let n = format!("{body}{}", check_char(&digits));
            let id = CitizenId::parse(&n, d("2100-01-01")).unwrap();
            proptest::prop_assert_eq!(id.birth_date().unwrap(), brdy);
            // The sum over all 18 with X = 10 is 1 mod 11 (§2.2's equivalent form).
            let total: u32 = n.bytes().enumerate().map(|(i, b)| {
                let v = if b == b'X' { 10 } else { u32::from(b - b'0') };
                v * (1u32 << (17 - i)) % 11
            }).sum();
            proptest::prop_assert_eq!(total % 11, 1);
            // Changing any one digit breaks it.
            for i in 0..17 {
                let mut m = n.clone().into_bytes();
                m[i] = b'0' + (m[i] - b'0' + 1) % 10;
                let m = String::from_utf8(m).unwrap();
                proptest::prop_assert!(CitizenId::parse(&m, d("2100-01-01")).is_err());
            }
            if let Some(l) = id.legacy() {
                proptest::prop_assert_eq!(CitizenId::parse(&l, d("2100-01-01")).unwrap(), id);
            }
        }

        #[test]
        fn any_text_is_refused_or_canonical(raw in "\\PC{0,60}") {
            if let Ok(id) = CitizenId::parse(&raw, d(TODAY)) {
                proptest::prop_assert_eq!(id.as_str().len(), 18);
            }
            let _ = canonical_certno("99", &raw, d(TODAY));
        }
    }
}
