//! Field sealing with versioned keys: a sealed value opens only at its place under the key
//! version it names, survives rotation and the key file's round trip, and any change to its
//! bytes, its place or the keys is refused with an error that names the version.

use expect_test::{expect, Expect};
use proptest::prelude::*;
use yibao_gm::{sealed_version, FieldPlace, GmError, Keyring};

const FAMILY: &str = "visit.mdtrt_cert_no";

fn place(row_key: &str) -> FieldPlace<'_> {
    FieldPlace {
        table: "visit",
        column: "mdtrt_cert_no",
        row_key,
    }
}

fn check(result: Result<impl std::fmt::Debug, GmError>, expect: Expect) {
    let text = match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&text);
}

#[test]
fn rotation_keeps_old_values_open_and_retiring_names_the_version() {
    let mut keyring = Keyring::generate(&[FAMILY]).unwrap();
    let old = keyring.seal(FAMILY, &place("M1"), b"token-1").unwrap();
    assert_eq!(sealed_version(&old), Some(1));
    assert_eq!(keyring.rotate(FAMILY).unwrap(), 2);
    let new = keyring.seal(FAMILY, &place("M2"), b"token-2").unwrap();
    assert_eq!(sealed_version(&new), Some(2));
    assert_eq!(
        keyring.open(FAMILY, &place("M1"), &old).unwrap(),
        b"token-1"
    );
    check(
        keyring.retire(FAMILY, 2),
        expect!["error: keys: version 2 is the active key of visit.mdtrt_cert_no; rotate first"],
    );
    keyring.retire(FAMILY, 1).unwrap();
    assert_eq!(keyring.versions(FAMILY), vec![2]);
    check(
        keyring.open(FAMILY, &place("M1"), &old),
        expect!["error: sealed data: key version 1 of visit.mdtrt_cert_no is not in the key file (retired, or another key file)"],
    );
    assert_eq!(
        keyring.open(FAMILY, &place("M2"), &new).unwrap(),
        b"token-2"
    );
    check(
        keyring.retire(FAMILY, 7),
        expect!["error: sealed data: key version 7 of visit.mdtrt_cert_no is not in the key file (retired, or another key file)"],
    );
}

#[test]
fn a_moved_or_altered_value_does_not_open() {
    let keyring = Keyring::generate(&[FAMILY, "other.column"]).unwrap();
    let sealed = keyring.seal(FAMILY, &place("M1"), b"token").unwrap();
    check(
        keyring.open(FAMILY, &place("M2"), &sealed),
        expect!["error: sealed data: does not open under version 1 of visit.mdtrt_cert_no (altered, moved from another row or column, or sealed under another key file)"],
    );
    let other_column = FieldPlace {
        column: "dept_name",
        ..place("M1")
    };
    assert!(keyring.open(FAMILY, &other_column, &sealed).is_err());
    assert!(keyring.open("other.column", &place("M1"), &sealed).is_err());
    let another_file = Keyring::generate(&[FAMILY]).unwrap();
    check(
        another_file.open(FAMILY, &place("M1"), &sealed),
        expect!["error: sealed data: does not open under version 1 of visit.mdtrt_cert_no (altered, moved from another row or column, or sealed under another key file)"],
    );
    check(
        keyring.seal("absent", &place("M1"), b"x"),
        expect![
            "error: keys: no key for absent in the key file (yibao keys rotate --family absent)"
        ],
    );
}

#[test]
fn key_files_round_trip_and_bad_ones_name_the_line() {
    let mut keyring = Keyring::generate(&[FAMILY, "ec_token.token"]).unwrap();
    keyring.rotate(FAMILY).unwrap();
    let text = keyring.to_text();
    let again = Keyring::from_text(&text).unwrap();
    assert_eq!(again.to_text(), text);
    assert_eq!(again.versions(FAMILY), vec![1, 2]);
    assert_eq!(again.active_version(FAMILY), Some(2));
    assert_eq!(again.families(), vec!["ec_token.token", FAMILY]);
    assert_eq!(
        again.blind_index("ec_token", b"t"),
        keyring.blind_index("ec_token", b"t")
    );
    let sealed = keyring.seal(FAMILY, &place("M1"), b"x").unwrap();
    assert_eq!(again.open(FAMILY, &place("M1"), &sealed).unwrap(), b"x");
    assert!(!format!("{keyring:?}").contains(&text[text.find("index-key").unwrap() + 10..][..16]));

    let index = format!("index-key {}\n", "ab".repeat(32));
    let key = "00".repeat(16);
    for (text, expect) in [
        (String::new(), expect!["error: key file line 0: `index-key` is missing"]),
        (
            format!("{index}{index}"),
            expect!["error: key file line 2: `index-key` given twice"],
        ),
        (
            "index-key abc\n".to_string(),
            expect!["error: key file line 1: `index-key` must be 64 hex digits"],
        ),
        (
            format!("{index}data-key {FAMILY} 1 {key}\ndata-key {FAMILY} 1 {key}\n"),
            expect!["error: key file line 3: version 1 of visit.mdtrt_cert_no given twice"],
        ),
        (
            format!("{index}data-key {FAMILY} 0 {key}\n"),
            expect!["error: key file line 2: the version must be a positive decimal number"],
        ),
        (
            format!("{index}data-key Visit 1 {key}\n"),
            expect!["error: key file line 2: keys: family `Visit` must be 1 to 64 characters of a-z, 0-9, `_` and `.`"],
        ),
        (
            format!("{index}data-key {FAMILY} 1 abcd\n"),
            expect!["error: key file line 2: a data key must be 32 hex digits"],
        ),
        (
            format!("{index}data-key {FAMILY} 1\n"),
            expect!["error: key file line 2: `data-key` has the wrong number of fields"],
        ),
        (
            format!("# keys\n\n{index}origin x\n"),
            expect!["error: key file line 4: unknown field `origin`"],
        ),
    ] {
        check(Keyring::from_text(&text), expect);
    }
}

#[test]
fn blind_indexes_are_stable_keyed_and_separated_by_purpose() {
    let keyring = Keyring::generate(&[]).unwrap();
    let a = keyring.blind_index("ec_token", b"token");
    assert_eq!(a, keyring.blind_index("ec_token", b"token"));
    assert_eq!(a.len(), 64);
    assert_ne!(a, keyring.blind_index("ec_token", b"token2"));
    assert_ne!(a, keyring.blind_index("ss_card", b"token"));
    assert_ne!(
        a,
        Keyring::generate(&[])
            .unwrap()
            .blind_index("ec_token", b"token")
    );
    assert!(
        !a.contains("746f6b656e"),
        "the value's hex is not in its index"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_value_round_trips_and_any_flipped_byte_is_refused(
        value in proptest::collection::vec(any::<u8>(), 0..80),
        row in "[A-Z0-9]{1,12}",
        flip_at in any::<prop::sample::Index>(),
        flip_bit in 0u8..8,
        rotations in 0usize..3,
    ) {
        let mut keyring = Keyring::generate(&[FAMILY]).unwrap();
        for _ in 0..rotations {
            keyring.rotate(FAMILY).unwrap();
        }
        let sealed = keyring.seal(FAMILY, &place(&row), &value).unwrap();
        prop_assert_eq!(sealed_version(&sealed), Some(rotations as u32 + 1));
        prop_assert_eq!(keyring.open(FAMILY, &place(&row), &sealed).unwrap(), value.clone());
        // A rotation later, the value still opens under the version it names.
        keyring.rotate(FAMILY).unwrap();
        prop_assert_eq!(keyring.open(FAMILY, &place(&row), &sealed).unwrap(), value.clone());

        // Flip one bit of the bytes after `v<n>:` (nonce, ciphertext or tag).
        let (prefix, body) = sealed.split_once(':').unwrap();
        let mut bytes: Vec<u8> = (0..body.len()).step_by(2)
            .map(|i| u8::from_str_radix(&body[i..i + 2], 16).unwrap())
            .collect();
        let at = flip_at.index(bytes.len());
        bytes[at] ^= 1 << flip_bit;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let altered = format!("{prefix}:{hex}");
        prop_assert!(keyring.open(FAMILY, &place(&row), &altered).is_err());

        // Any other row refuses it.
        let other = format!("{row}X");
        prop_assert!(keyring.open(FAMILY, &place(&other), &sealed).is_err());

        // Two seals of the same value differ (fresh nonces), so equal values do not show.
        let again = keyring.seal(FAMILY, &place(&row), &value).unwrap();
        prop_assert_ne!(again, sealed);
    }
}
