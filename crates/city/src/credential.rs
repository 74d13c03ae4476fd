//! The credentials the city issues to each person (就诊凭证): an e-voucher token (医保电子凭证,
//! `mdtrt_cert_type` 01) and a social security card (社会保障卡, 03). They are derived from the
//! seed and the person's number alone, with no draw from the household streams, so adding them
//! leaves every other generated value unchanged.

use crate::mix_seed;

/// Stream numbers of the credential hashes, apart from the household (small) and institution
/// (`1 << 62`) streams.
const TOKEN_STREAM: u64 = 3 << 61;
const CARD_STREAM: u64 = 5 << 60;

/// A person's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The e-voucher token: 32 lowercase hex characters, the first ten the person number (so
    /// tokens are unique), the rest from the seed.
    pub ec_token: String,
    /// The card number: a letter and eight digits, unique per person number below 2.6 billion.
    pub card_no: String,
    /// The card's chip identification code (卡识别码): 32 uppercase hex characters.
    pub card_sn: String,
}

/// The credentials of person number `index` (0-based) of the city with `seed`.
pub fn credentials(seed: u64, index: u64) -> Credentials {
    let token_hash = mix_seed(seed, TOKEN_STREAM ^ index);
    let token_tail = mix_seed(token_hash, TOKEN_STREAM);
    let letter = char::from(b'A' + u8::try_from((index / 100_000_000) % 26).expect("below 26"));
    let sn_high = mix_seed(seed, CARD_STREAM ^ index);
    let sn_low = mix_seed(sn_high, CARD_STREAM);
    Credentials {
        ec_token: format!(
            "{:010x}{:016x}{:06x}",
            index & 0xff_ffff_ffff,
            token_hash,
            token_tail & 0xff_ffff
        ),
        card_no: format!("{letter}{:08}", index % 100_000_000),
        card_sn: format!("{sn_high:016X}{sn_low:016X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_deterministic_distinct_and_fit_the_interface() {
        let a = credentials(7, 0);
        assert_eq!(a, credentials(7, 0));
        assert_ne!(a.ec_token, credentials(8, 0).ec_token);
        let b = credentials(7, 1);
        assert_ne!(a.ec_token, b.ec_token);
        assert_ne!(a.card_no, b.card_no);
        assert_eq!(a.card_no, "A00000000");
        assert_eq!(credentials(7, 123_456_789).card_no, "B23456789");
        for c in [&a, &b] {
            assert_eq!(c.ec_token.len(), 32);
            assert_eq!(c.card_sn.len(), 32);
            assert!(c.ec_token.bytes().all(|x| x.is_ascii_hexdigit()));
        }
    }
}
