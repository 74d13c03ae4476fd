//! The canonical leaf encoding: a fixture of the documented bytes, malformed inputs in order of
//! precedence, and properties (round trip, one encoding per leaf, no panic on any input).

use expect_test::{expect, Expect};
use proptest::prelude::*;
use yibao_translog::leaf::{LEAF_BYTES_MAX, LEAF_ITEM_CODES_MAX};
use yibao_translog::{decode_leaf, encode_leaf, Leaf};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let text: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn small_leaf() -> Leaf {
    Leaf {
        leaf_idx: 5,
        ts_ms: 1,
        leaf_nonce: [0xaa; 16],
        event_type: "X".into(),
        actor_ref: None,
        subject_ref: None,
        grant_ref: None,
        purpose: "P04".into(),
        item_codes: vec!["C3".into()],
        decision: String::new(),
        reason_code: String::new(),
        request_digest: None,
        response_digest: None,
        detail_commitment: None,
    }
}

/// The example in the crate documentation, byte for byte.
#[test]
fn documented_example_bytes() {
    let bytes = encode_leaf(&small_leaf()).unwrap();
    let documented = unhex(
        "01 0000000000000005 0000000000000001 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0001 58 0000 0000
         0000 0003 503034 0001 0002 4333 0000 0000 0000 0000 0000",
    );
    assert_eq!(hex(&bytes), hex(&documented));
    assert_eq!(decode_leaf(&bytes).unwrap(), small_leaf());
}

#[test]
fn full_leaf_fixture() {
    let leaf = Leaf {
        leaf_idx: 1_210_455,
        ts_ms: 1_788_228_000_000,
        leaf_nonce: *b"0123456789abcdef",
        event_type: "BREAK_GLASS".into(),
        actor_ref: Some([1; 32]),
        subject_ref: Some([2; 32]),
        grant_ref: None,
        purpose: "P09".into(),
        item_codes: vec!["C1".into(), "C7".into()],
        decision: "PERMIT".into(),
        reason_code: "BREAK_GLASS".into(),
        request_digest: Some([3; 32]),
        response_digest: None,
        detail_commitment: Some([4; 32]),
    };
    let bytes = encode_leaf(&leaf).unwrap();
    expect![[r#"
        01 0000000000127857 000001a05ab1d900 30313233343536373839616263646566 000b 425245414b5f474c415353
        0020 0101010101010101010101010101010101010101010101010101010101010101
        0020 0202020202020202020202020202020202020202020202020202020202020202
        0000 0003 503039 0002 0002 4331 0002 4337 0006 5045524d4954 000b 425245414b5f474c415353
        0020 0303030303030303030303030303030303030303030303030303030303030303
        0000
        0020 0404040404040404040404040404040404040404040404040404040404040404
        leaf hash e5326e2639474b40787e506da7373c1b6279cf8dc6f7f4c70508a283751888e9"#]]
    .assert_eq(&format!(
        "{}\nleaf hash {}",
        group(&bytes),
        hex(&yibao_translog::leaf_hash(&bytes))
    ));
    assert_eq!(decode_leaf(&bytes).unwrap(), leaf);
}

/// Splits the bytes of the full fixture at its field boundaries, for reading.
fn group(bytes: &[u8]) -> String {
    let widths = [
        1, 8, 8, 16, 2, 11, 2, 32, 2, 32, 2, 2, 3, 2, 2, 2, 2, 2, 2, 6, 2, 11, 2, 32, 2, 2, 32,
    ];
    let breaks_after = [5, 7, 9, 21, 23, 24, 26];
    let mut out = String::new();
    let mut at = 0;
    for (i, width) in widths.iter().enumerate() {
        out.push_str(&hex(&bytes[at..at + width]));
        at += width;
        out.push(if breaks_after.contains(&i) { '\n' } else { ' ' });
    }
    assert_eq!(at, bytes.len());
    out.trim_end().to_string()
}

fn check(bytes: &[u8], expect: Expect) {
    let text = match decode_leaf(bytes) {
        Ok(leaf) => format!("ok {leaf:?}"),
        Err(error) => error.to_string(),
    };
    expect.assert_eq(&text);
}

/// Malformed leaves in order of precedence: length, version, each field as read, trailing bytes.
#[test]
fn malformed_leaves() {
    let good = encode_leaf(&small_leaf()).unwrap();
    check(&[], expect!["leaf: truncated in field `version`"]);
    check(
        &vec![1u8; LEAF_BYTES_MAX + 1],
        expect!["leaf: 10404 bytes, more than the 10403 a leaf can have"],
    );
    check(
        &[2],
        expect!["leaf: version 2 is not supported (expected 1)"],
    );
    check(&good[..5], expect!["leaf: truncated in field `leaf_idx`"]);
    check(
        &good[..20],
        expect!["leaf: truncated in field `leaf_nonce`"],
    );
    check(
        &good[..34],
        expect!["leaf: truncated in field `event_type`"],
    );

    let mut bad_text = good.clone();
    bad_text[35] = b'\n';
    check(
        &bad_text,
        expect!["leaf: field `event_type` must be printable ASCII (codes, not free text)"],
    );
    let mut long_text = good[..33].to_vec();
    long_text.extend_from_slice(&65u16.to_be_bytes());
    long_text.extend_from_slice(&[b'A'; 65]);
    check(
        &long_text,
        expect!["leaf: field `event_type` has length 65: longer than 64 bytes"],
    );
    let mut bad_hash = good[..36].to_vec();
    bad_hash.extend_from_slice(&[0, 31]);
    bad_hash.extend_from_slice(&[0; 31]);
    check(
        &bad_hash,
        expect!["leaf: field `actor_ref` has length 31: a hash field is empty or 32 bytes"],
    );
    let mut many_codes = good[..47].to_vec();
    many_codes.extend_from_slice(&((LEAF_ITEM_CODES_MAX + 1) as u16).to_be_bytes());
    check(
        &many_codes,
        expect!["leaf: field `item_codes` has length 151: more entries than allowed"],
    );
    check(
        &good[..good.len() - 1],
        expect!["leaf: truncated in field `detail_commitment`"],
    );
    let mut trailing = good.clone();
    trailing.push(0);
    check(&trailing, expect!["leaf: 1 bytes after the last field"]);

    let mut leaf = small_leaf();
    leaf.purpose = "用途".into();
    assert_eq!(
        encode_leaf(&leaf).unwrap_err().to_string(),
        "leaf: field `purpose` must be printable ASCII (codes, not free text)"
    );
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,64}"
}

fn hash() -> impl Strategy<Value = Option<[u8; 32]>> {
    proptest::option::of(any::<[u8; 32]>())
}

fn leaf() -> impl Strategy<Value = Leaf> {
    (
        (any::<u64>(), any::<u64>(), any::<[u8; 16]>(), text()),
        (hash(), hash(), hash(), text()),
        (
            proptest::collection::vec(text(), 0..6),
            text(),
            text(),
            hash(),
            hash(),
            hash(),
        ),
    )
        .prop_map(
            |(
                (leaf_idx, ts_ms, leaf_nonce, event_type),
                (actor_ref, subject_ref, grant_ref, purpose),
                (
                    item_codes,
                    decision,
                    reason_code,
                    request_digest,
                    response_digest,
                    detail_commitment,
                ),
            )| Leaf {
                leaf_idx,
                ts_ms,
                leaf_nonce,
                event_type,
                actor_ref,
                subject_ref,
                grant_ref,
                purpose,
                item_codes,
                decision,
                reason_code,
                request_digest,
                response_digest,
                detail_commitment,
            },
        )
}

proptest! {
    #[test]
    fn leaves_round_trip(leaf in leaf()) {
        let bytes = encode_leaf(&leaf).unwrap();
        prop_assert!(bytes.len() <= LEAF_BYTES_MAX);
        prop_assert_eq!(decode_leaf(&bytes).unwrap(), leaf);
    }

    /// Any change of one byte either makes the leaf unreadable or makes it another leaf.
    #[test]
    fn one_changed_byte_is_another_leaf_or_none(
        leaf in leaf(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let mut bytes = encode_leaf(&leaf).unwrap();
        let at = at.index(bytes.len());
        bytes[at] ^= xor;
        if let Ok(other) = decode_leaf(&bytes) {
            prop_assert_ne!(other, leaf);
        }
    }

    /// Decoding arbitrary bytes never panics, and whatever decodes re-encodes to the same bytes
    /// (one encoding per leaf).
    #[test]
    fn decoding_any_bytes_is_safe_and_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        if let Ok(leaf) = decode_leaf(&bytes) {
            prop_assert_eq!(encode_leaf(&leaf).unwrap(), bytes);
        }
    }

    /// The same, from valid leaves with their tail cut or extended, which reach deeper fields.
    #[test]
    fn decoding_near_valid_bytes_is_safe_and_canonical(
        leaf in leaf(),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut bytes = encode_leaf(&leaf).unwrap();
        bytes.truncate(cut.index(bytes.len() + 1));
        bytes.extend_from_slice(&tail);
        if let Ok(leaf) = decode_leaf(&bytes) {
            prop_assert_eq!(encode_leaf(&leaf).unwrap(), bytes);
        }
    }
}
