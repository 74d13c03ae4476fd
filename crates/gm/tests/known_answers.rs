//! Known-answer tests kept in CI (spec data-authorization.md §10.2): SM3("abc"), the GB/T 32907
//! SM4 example, the RFC 8998 SM4-GCM vector, and SM2 signatures cross-checked both ways with
//! `libsm`, an independent implementation.

use sm4::cipher::{BlockCipherEncrypt, KeyInit};
use yibao_gm::{
    hash, hash_parts, hmac_sm3, open, seal, sign, verify, SealKey, SealNonce, Signature,
    SigningKey, VerifyingKey,
};

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn sm3_abc() {
    assert_eq!(
        hash(b"abc").to_vec(),
        hex("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0")
    );
    assert_eq!(hash_parts(&[b"a", b"", b"bc"]), hash(b"abc"));
}

#[test]
fn sm3_agrees_with_libsm() {
    let message = b"yibao access log leaf".repeat(7);
    let mut other = libsm::sm3::hash::Sm3Hash::new(&message);
    assert_eq!(hash(&message), other.get_hash());
}

#[test]
fn sm4_gbt_32907_example() {
    let key = hex("0123456789abcdeffedcba9876543210");
    let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
    let mut block = sm4::cipher::Block::<sm4::Sm4>::try_from(&key[..]).unwrap();
    cipher.encrypt_block(&mut block);
    assert_eq!(block.to_vec(), hex("681edf34d206965e86b3e94f536e4246"));
}

#[test]
fn sm4_gcm_rfc_8998_vector() {
    let key = SealKey::from_bytes(hex("0123456789ABCDEFFEDCBA9876543210").try_into().unwrap());
    let nonce = SealNonce(hex("00001234567800000000ABCD").try_into().unwrap());
    let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
    let plaintext = hex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
         EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
    );
    let expected = hex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735
         D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D
         83DE3541E4C2B58177E065A9BF7B62EC",
    );
    let sealed = seal(&key, &nonce, &aad, &plaintext).unwrap();
    assert_eq!(sealed, expected);
    assert_eq!(open(&key, &nonce, &aad, &sealed).unwrap(), plaintext);
}

/// HMAC-SM3 against RFC 2104 written out over our SM3, independent of the `hmac` crate.
#[test]
fn hmac_sm3_follows_rfc_2104() {
    fn by_hand(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&hash(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = hash_parts(&[&inner_pad, message]);
        hash_parts(&[&outer_pad, &inner])
    }
    for key_len in [0usize, 1, 16, 32, 63, 64, 65, 200] {
        let key: Vec<u8> = (0..key_len).map(|i| i as u8 ^ 0xa5).collect();
        assert_eq!(
            hmac_sm3(&key, b"psn_no|nonce"),
            by_hand(&key, b"psn_no|nonce")
        );
    }
}

fn libsm_signature(signature: &Signature) -> libsm::sm2::signature::Signature {
    let bytes = signature.to_bytes();
    libsm::sm2::signature::Signature::new(&bytes[..32], &bytes[32..])
}

#[test]
fn sm2_signatures_cross_check_with_libsm() {
    let context = libsm::sm2::signature::SigCtx::new();
    let message = b"yibao.example.gov.cn/access-log/v1\n42\n";
    for _ in 0..4 {
        let key = SigningKey::generate().unwrap();
        let public = key.verifying_key();
        let their_public = context.load_pubkey(&public.to_bytes()).unwrap();
        let their_secret = context.load_seckey(&key.to_bytes()).unwrap();
        // Both derive the same public key from the private scalar.
        let derived = context.pk_from_sk(&their_secret).unwrap();
        assert_eq!(
            context.serialize_pubkey(&derived, false).unwrap(),
            public.to_bytes().to_vec()
        );

        // Ours → libsm.
        let ours = sign(&key, message);
        assert!(context
            .verify(message, &their_public, &libsm_signature(&ours))
            .unwrap());
        assert!(!context
            .verify(b"another message", &their_public, &libsm_signature(&ours))
            .unwrap());

        // libsm → ours.
        let theirs = context.sign(message, &their_secret, &their_public).unwrap();
        let mut bytes = [0u8; 64];
        let r = theirs.get_r().to_bytes_be();
        let s = theirs.get_s().to_bytes_be();
        bytes[32 - r.len()..32].copy_from_slice(&r);
        bytes[64 - s.len()..].copy_from_slice(&s);
        let theirs = Signature::from_bytes(&bytes).unwrap();
        verify(&public, message, &theirs).unwrap();
        assert!(verify(&public, b"another message", &theirs).is_err());
        let other = SigningKey::generate().unwrap().verifying_key();
        assert!(verify(&other, message, &theirs).is_err());
        assert_eq!(
            VerifyingKey::from_bytes(&public.to_bytes()).unwrap(),
            public
        );
    }
}
