//! The facade's encodings, errors and properties: keys round-trip through bytes and hex, sealed
//! data and signatures fail on any change, and malformed input gets a typed error.

use expect_test::{expect, Expect};
use proptest::prelude::*;
use yibao_gm::{
    hmac_sm3, hmac_sm3_verify, open, random_bytes, random_token, seal, sign, verify, GmError,
    SealKey, SealNonce, Signature, SigningKey, VerifyingKey,
};

fn check(result: Result<impl std::fmt::Debug, GmError>, expect: Expect) {
    let text = match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&text);
}

fn fixed_key() -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[31] = 7;
    bytes[0] = 0x3c;
    SigningKey::from_bytes(&bytes).unwrap()
}

#[test]
fn malformed_inputs_get_typed_errors() {
    check(
        SigningKey::from_bytes(&[0u8; 31]),
        expect!["error: signing key: must be 32 bytes"],
    );
    check(
        SigningKey::from_bytes(&[0u8; 32]),
        expect!["error: signing key: scalar is zero or not below the group order"],
    );
    check(
        SigningKey::from_bytes(&[0xff; 32]),
        expect!["error: signing key: scalar is zero or not below the group order"],
    );
    check(
        VerifyingKey::from_bytes(&[4u8; 64]),
        expect![
            "error: verifying key: must be a 65-byte uncompressed or 33-byte compressed SEC1 point"
        ],
    );
    check(
        VerifyingKey::from_bytes(&[4u8; 65]),
        expect!["error: verifying key: not a point on the SM2 curve"],
    );
    check(
        VerifyingKey::from_hex("04zz"),
        expect!["error: verifying key: not hexadecimal"],
    );
    check(
        VerifyingKey::from_hex("040"),
        expect!["error: verifying key: not hexadecimal"],
    );
    check(
        Signature::from_bytes(&[1u8; 63]),
        expect!["error: signature: must be 64 bytes (r ‖ s)"],
    );
    check(
        Signature::from_bytes(&[0u8; 64]),
        expect!["error: signature: r or s is zero or not below the group order"],
    );
    let key = SealKey::from_bytes([9; 16]);
    check(
        open(&key, &SealNonce([0; 12]), b"", &[0u8; 15]),
        expect!["error: sealed data: authentication failed (wrong key, nonce or associated data, or altered)"],
    );
}

#[test]
fn fixed_key_encodings() {
    let key = fixed_key();
    let public = key.verifying_key();
    assert_eq!(public.to_hex().len(), 130);
    assert!(public.to_hex().starts_with("04"));
    assert_eq!(VerifyingKey::from_hex(&public.to_hex()).unwrap(), public);
    assert_eq!(
        VerifyingKey::from_hex(&public.to_hex().to_uppercase()).unwrap(),
        public
    );
    assert_eq!(
        SigningKey::from_bytes(&key.to_bytes()).unwrap().to_bytes(),
        key.to_bytes()
    );
    // The key id is the first 8 bytes of SM3 over the 65-byte encoding.
    assert_eq!(public.key_id().0, yibao_gm::hash(&public.to_bytes())[..8]);
    assert_eq!(public.key_id().to_string().len(), 16);
    // Signing is deterministic for a key and message.
    assert_eq!(sign(&key, b"m"), sign(&key, b"m"));
    assert_ne!(sign(&key, b"m"), sign(&key, b"n"));
}

#[test]
fn randomness_is_fresh() {
    let a: [u8; 32] = random_bytes().unwrap();
    let b: [u8; 32] = random_bytes().unwrap();
    assert_ne!(a, b);
    let token = random_token().unwrap();
    assert_eq!(token.len(), 64);
    assert!(token
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(token, random_token().unwrap());
    assert_ne!(SealNonce::random().unwrap(), SealNonce::random().unwrap());
    assert_ne!(
        SealKey::random().unwrap().to_bytes(),
        SealKey::random().unwrap().to_bytes()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sealed_data_opens_only_unchanged(
        key in any::<[u8; 16]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        plaintext in proptest::collection::vec(any::<u8>(), 0..100),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = SealKey::from_bytes(key);
        let nonce = SealNonce(nonce);
        let sealed = seal(&key, &nonce, &aad, &plaintext).unwrap();
        prop_assert_eq!(sealed.len(), plaintext.len() + 16);
        prop_assert_eq!(open(&key, &nonce, &aad, &sealed).unwrap(), plaintext.clone());

        let mut altered = sealed.clone();
        let at = flip.index(altered.len());
        altered[at] ^= 1 << bit;
        prop_assert_eq!(open(&key, &nonce, &aad, &altered), Err(GmError::OpenFailed));

        let mut other_aad = aad.clone();
        other_aad.push(0);
        prop_assert_eq!(open(&key, &nonce, &other_aad, &sealed), Err(GmError::OpenFailed));
        let mut other_nonce = nonce;
        other_nonce.0[0] ^= 1;
        prop_assert_eq!(open(&key, &other_nonce, &aad, &sealed), Err(GmError::OpenFailed));
    }

    #[test]
    fn signatures_fail_on_any_change(
        message in proptest::collection::vec(any::<u8>(), 0..80),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = fixed_key();
        let public = key.verifying_key();
        let signature = sign(&key, &message);
        prop_assert!(verify(&public, &message, &signature).is_ok());

        let mut bytes = signature.to_bytes();
        bytes[flip.index(64)] ^= 1 << bit;
        if let Ok(altered) = Signature::from_bytes(&bytes) {
            prop_assert!(verify(&public, &message, &altered).is_err());
        }
        if !message.is_empty() {
            let mut altered = message.clone();
            altered[flip.index(message.len())] ^= 1 << bit;
            prop_assert_eq!(verify(&public, &altered, &signature), Err(GmError::BadSignature));
        }
    }

    #[test]
    fn hmac_tags_verify_only_for_their_key_and_message(
        key in proptest::collection::vec(any::<u8>(), 0..80),
        message in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let tag = hmac_sm3(&key, &message);
        prop_assert!(hmac_sm3_verify(&key, &message, &tag));
        let mut other_key = key.clone();
        other_key.push(1);
        prop_assert!(!hmac_sm3_verify(&other_key, &message, &tag));
        prop_assert!(!hmac_sm3_verify(&key, &message, &tag[..31]));
    }
}
