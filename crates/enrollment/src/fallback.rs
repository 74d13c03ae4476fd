//! Fallback matching (spec enrollment.md §8.2 rules 3–5): a department record without a usable
//! identity number is matched on its normalised name, birth date and sex within the feed's
//! region. The store finds the candidates; this module decides between them. A fallback match
//! is only a proposal: it never creates a category, merges persons or ends a relation, because a
//! wrong category moves money to the wrong person. The caller opens a review case naming the
//! candidate.

use chrono::NaiveDate;

use crate::id::{normalise, CitizenId, IdError};

/// Confidence of a fallback match when the record carried a number whose first 17 digits agree
/// with the candidate's (only the check character is wrong), in permille. Ours, illustrative.
pub const CONFIDENCE_BODY_AGREES_PERMILLE: u16 = 950;

/// Confidence of a fallback match on name, birth date and sex alone (the record carried no
/// number), in permille. Ours, illustrative: below the number-backed match, far below 1000.
pub const CONFIDENCE_NAME_BIRTH_SEX_PERMILLE: u16 = 800;

/// Why a record is not matched (§8.2 rule 4), as stored with the source record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmatchedReason {
    /// The record carries no identity number, and no person fits its name, birth date and sex.
    NoId,
    /// The number fails the check character, and no person fits its name, birth date and sex.
    BadCheckDigit,
    /// More than one person fits.
    Ambiguous,
    /// Every person who fits holds an identity number the record contradicts.
    ConflictingId,
}

impl UnmatchedReason {
    /// The stored reason code (`no_id`, `bad_check_digit`, `ambiguous`, `conflicting_id`).
    pub fn code(self) -> &'static str {
        match self {
            UnmatchedReason::NoId => "no_id",
            UnmatchedReason::BadCheckDigit => "bad_check_digit",
            UnmatchedReason::Ambiguous => "ambiguous",
            UnmatchedReason::ConflictingId => "conflicting_id",
        }
    }
}

/// What a record's identity number allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdUse {
    /// A valid citizen ID: match on it (§8.2 rule 1).
    Usable(CitizenId),
    /// No usable number, but the record may be matched by the fallback: `NoId` (empty) or
    /// `BadCheckDigit` (well formed but for the check character).
    Fallback(UnmatchedReason),
    /// A number that is wrong in another way (length, characters, birth date, region): the
    /// record is refused.
    Invalid(IdError),
}

/// Classifies a record's identity number as received.
pub fn classify_certno(raw: &str, today: NaiveDate) -> IdUse {
    match CitizenId::parse(raw, today) {
        Ok(id) => IdUse::Usable(id),
        Err(IdError::Empty) => IdUse::Fallback(UnmatchedReason::NoId),
        Err(IdError::BadCheckDigit { .. }) => IdUse::Fallback(UnmatchedReason::BadCheckDigit),
        Err(e) => IdUse::Invalid(e),
    }
}

/// The facts of a record the fallback compares (the name is compared by the store, normalised
/// on both sides, before candidates reach [`decide_fallback`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackRecord {
    /// The number as sent, normalised (`''` when none).
    pub sent_certno: String,
    /// The birth date the record gives.
    pub brdy: NaiveDate,
    /// The sex code the record gives (`1` male, `2` female, `0`/`9` unknown).
    pub gend: String,
}

/// A person of the region with the record's normalised name, birth date and sex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The person number.
    pub psn_no: String,
    /// The person's stored identity number.
    pub certno: String,
}

/// The fallback's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackDecision {
    /// One candidate fits: a proposal for a clerk, never applied automatically.
    Proposed {
        /// The candidate.
        psn_no: String,
        /// How sure the match is, in permille (always below 1000).
        confidence_permille: u16,
    },
    /// Nobody, or more than one person, fits.
    Unmatched(UnmatchedReason),
}

/// Whether a stored identity number contradicts the record: it encodes another birth date or
/// (for a record of known sex) another sex, or the record carried a number whose first 17
/// characters differ from the stored one's.
pub fn contradicts(record: &FallbackRecord, stored_certno: &str) -> bool {
    let stored = normalise(stored_certno);
    let sent = normalise(&record.sent_certno);
    if !sent.is_empty() {
        let body = |s: &str| s.chars().take(17).collect::<String>();
        if sent.chars().count() != 18
            || stored.chars().count() != 18
            || body(&sent) != body(&stored)
        {
            return true;
        }
    }
    let bytes = stored.as_bytes();
    // Only a citizen ID's shape encodes a birth date and a sex; other certificate types
    // contradict nothing here.
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if stored[6..14] != record.brdy.format("%Y%m%d").to_string() {
        return true;
    }
    let male = (bytes[16] - b'0') % 2 == 1;
    match record.gend.as_str() {
        "1" => !male,
        "2" => male,
        _ => false,
    }
}

/// Decides a fallback (§8.2 rule 3): `base` is why the record had no usable number (`NoId` or
/// `BadCheckDigit`), `candidates` the persons of the region with its normalised name, birth date
/// and sex. Only a unique candidate whose stored number does not contradict the record is
/// proposed.
pub fn decide_fallback(
    record: &FallbackRecord,
    base: UnmatchedReason,
    candidates: &[Candidate],
) -> FallbackDecision {
    debug_assert!(matches!(
        base,
        UnmatchedReason::NoId | UnmatchedReason::BadCheckDigit
    ));
    if candidates.is_empty() {
        return FallbackDecision::Unmatched(base);
    }
    let mut fitting = candidates
        .iter()
        .filter(|c| !contradicts(record, &c.certno));
    let Some(first) = fitting.next() else {
        return FallbackDecision::Unmatched(UnmatchedReason::ConflictingId);
    };
    if fitting.any(|c| c.psn_no != first.psn_no) {
        return FallbackDecision::Unmatched(UnmatchedReason::Ambiguous);
    }
    let confidence_permille = if record.sent_certno.is_empty() {
        CONFIDENCE_NAME_BIRTH_SEX_PERMILLE
    } else {
        CONFIDENCE_BODY_AGREES_PERMILLE
    };
    debug_assert!(confidence_permille < 1000);
    FallbackDecision::Proposed {
        psn_no: first.psn_no.clone(),
        confidence_permille,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn record(sent: &str, brdy: &str, gend: &str) -> FallbackRecord {
        FallbackRecord {
            sent_certno: sent.into(),
            brdy: date(brdy),
            gend: gend.into(),
        }
    }

    fn cand(psn_no: &str, certno: &str) -> Candidate {
        Candidate {
            psn_no: psn_no.into(),
            certno: certno.into(),
        }
    }

    // 11010519491231002X is a valid ID of a woman born 1949-12-31; 110105194912310037 a man.
    const WOMAN: &str = "11010519491231002X";
    const MAN: &str = "110105194912310037";

    #[test]
    fn classify() {
        let today = date("2026-06-01");
        assert!(matches!(classify_certno(WOMAN, today), IdUse::Usable(_)));
        assert_eq!(
            classify_certno("  ", today),
            IdUse::Fallback(UnmatchedReason::NoId)
        );
        assert_eq!(
            classify_certno("110105194912310021", today),
            IdUse::Fallback(UnmatchedReason::BadCheckDigit)
        );
        assert!(matches!(
            classify_certno("1101051949", today),
            IdUse::Invalid(IdError::BadLength(10))
        ));
    }

    #[test]
    fn decisions_in_order() {
        let woman = record("", "1949-12-31", "2");
        let cases: Vec<(&str, FallbackRecord, Vec<Candidate>, FallbackDecision)> = vec![
            (
                "nobody",
                woman.clone(),
                vec![],
                FallbackDecision::Unmatched(UnmatchedReason::NoId),
            ),
            (
                "one",
                woman.clone(),
                vec![cand("P1", WOMAN)],
                FallbackDecision::Proposed {
                    psn_no: "P1".into(),
                    confidence_permille: CONFIDENCE_NAME_BIRTH_SEX_PERMILLE,
                },
            ),
            (
                "two",
                woman.clone(),
                vec![cand("P1", WOMAN), cand("P2", "110105194912310045")],
                FallbackDecision::Unmatched(UnmatchedReason::Ambiguous),
            ),
            (
                "stored number of a man",
                woman.clone(),
                vec![cand("P1", MAN)],
                FallbackDecision::Unmatched(UnmatchedReason::ConflictingId),
            ),
            (
                "stored number of another birth date",
                woman.clone(),
                vec![cand("P1", "110105195001010028")],
                FallbackDecision::Unmatched(UnmatchedReason::ConflictingId),
            ),
            (
                "one of two contradicts",
                woman.clone(),
                vec![cand("P1", WOMAN), cand("P2", MAN)],
                FallbackDecision::Proposed {
                    psn_no: "P1".into(),
                    confidence_permille: CONFIDENCE_NAME_BIRTH_SEX_PERMILLE,
                },
            ),
            (
                "bad check character, body agrees",
                record("110105194912310021", "1949-12-31", "2"),
                vec![cand("P1", WOMAN)],
                FallbackDecision::Proposed {
                    psn_no: "P1".into(),
                    confidence_permille: CONFIDENCE_BODY_AGREES_PERMILLE,
                },
            ),
            (
                "bad check character, another body",
                record("110105194912310048", "1949-12-31", "2"),
                vec![cand("P1", WOMAN)],
                FallbackDecision::Unmatched(UnmatchedReason::ConflictingId),
            ),
            (
                "other certificate type contradicts nothing",
                woman.clone(),
                vec![cand("P1", "H0123456")],
                FallbackDecision::Proposed {
                    psn_no: "P1".into(),
                    confidence_permille: CONFIDENCE_NAME_BIRTH_SEX_PERMILLE,
                },
            ),
        ];
        for (what, rec, candidates, expected) in cases {
            let base = if rec.sent_certno.is_empty() {
                UnmatchedReason::NoId
            } else {
                UnmatchedReason::BadCheckDigit
            };
            assert_eq!(decide_fallback(&rec, base, &candidates), expected, "{what}");
        }
    }

    #[test]
    fn reason_codes() {
        let codes: Vec<&str> = [
            UnmatchedReason::NoId,
            UnmatchedReason::BadCheckDigit,
            UnmatchedReason::Ambiguous,
            UnmatchedReason::ConflictingId,
        ]
        .map(UnmatchedReason::code)
        .to_vec();
        assert_eq!(
            codes,
            ["no_id", "bad_check_digit", "ambiguous", "conflicting_id"]
        );
    }
}
