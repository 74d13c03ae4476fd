//! Property tests: LIMITED(n) gives exactly n uses whatever the call sequence, a revoked grant
//! never answers, no permit releases an item outside the grant, no grant exceeds its purpose,
//! masking never shows more characters than its rule, and decisions are deterministic.

mod support;

use proptest::prelude::*;
use support::{at, context, p01_draft, p05_draft, request_like};
use yibao_privacy::classification::ItemCode;
use yibao_privacy::grant::Mode;
use yibao_privacy::staff::{apply_mask, mask_rule, MaskRule, View, HIDDEN, RESTRICTED};
use yibao_privacy::time::{DAY_MS, MINUTE_MS};
use yibao_privacy::{builtin, create_grant, decide, Decision, ItemSet, Level, Purpose};

fn all_codes() -> Vec<ItemCode> {
    builtin().all_items().iter().collect()
}

fn item_subset(max: usize) -> impl Strategy<Value = ItemSet> {
    prop::sample::subsequence(all_codes(), 0..=max).prop_map(|codes| codes.into_iter().collect())
}

/// A non-empty subset of the items purpose P05 may ask for.
fn p05_subset() -> impl Strategy<Value = ItemSet> {
    let allowed: Vec<ItemCode> = Purpose::P05.rule().max_items.iter().collect();
    let n = allowed.len();
    prop::sample::subsequence(allowed, 1..=n.min(8)).prop_map(|codes| codes.into_iter().collect())
}

/// A call in a sequence: at a minute offset, possibly by a foreign grantee or out of scope.
#[derive(Debug, Clone)]
struct Attempt {
    minute: i64,
    foreign: bool,
    out_of_scope: bool,
}

fn attempts() -> impl Strategy<Value = Vec<Attempt>> {
    prop::collection::vec(
        (
            0i64..(30 * 24 * 60),
            any::<bool>(),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(minute, foreign, out_of_scope)| Attempt {
                minute,
                foreign: foreign && minute % 3 == 0,
                out_of_scope,
            }),
        0..24,
    )
}

proptest! {
    #[test]
    fn limited_n_permits_exactly_n(n in 1u32..=3, mut sequence in attempts()) {
        let now = at("2026-03-02 10:00:00");
        let mut draft = p05_draft(now);
        draft.mode = if n == 1 { Mode::Once } else { Mode::Limited(n) };
        let mut grant = create_grant(draft.clone()).unwrap();
        sequence.sort_by_key(|attempt| attempt.minute);
        let mut permits = 0u32;
        let mut valid_calls = 0u32;
        for (idx, attempt) in sequence.iter().enumerate() {
            let at_call = now.plus(attempt.minute * MINUTE_MS);
            let mut request = request_like(&draft, &format!("r-{idx}"), at_call);
            if attempt.foreign {
                request.grantee = "insurer-x".into();
            }
            if attempt.out_of_scope {
                request.items = request.items.union(&support::items("VS04"));
            }
            if !attempt.foreign && !attempt.out_of_scope {
                valid_calls += 1;
            }
            if let Decision::Permit(_) = decide(&request, Some(&grant), &context(at_call)) {
                prop_assert!(!attempt.foreign && !attempt.out_of_scope);
                grant = grant.consume(at_call).unwrap();
                permits += 1;
            }
            prop_assert_eq!(grant.uses_left(), Some(n - permits));
        }
        prop_assert_eq!(permits, n.min(valid_calls));
        prop_assert_eq!(grant.status().code() == "EXHAUSTED", permits == n);
    }

    #[test]
    fn a_revoked_grant_never_answers(minute in 0i64..(30 * 24 * 60), request_items in item_subset(6), suspend_first in any::<bool>()) {
        let now = at("2026-03-02 10:00:00");
        let draft = p05_draft(now);
        let mut grant = create_grant(draft.clone()).unwrap();
        if suspend_first {
            grant = grant.suspend().unwrap();
        }
        let revoked = grant.revoke().unwrap();
        let at_call = now.plus(minute * MINUTE_MS);
        let mut request = request_like(&draft, "r", at_call);
        if !request_items.is_empty() {
            request.items = request_items;
        }
        match decide(&request, Some(&revoked), &context(at_call)) {
            Decision::Permit(_) => prop_assert!(false, "a revoked grant answered"),
            Decision::Deny(reason) => prop_assert_eq!(reason.code().as_str(), "GRANT_INVALID"),
        }
        prop_assert!(revoked.consume(at_call).is_err());
    }

    #[test]
    fn permits_never_leave_the_grant(grant_items in p05_subset(), request_items in item_subset(8), day in 0i64..30) {
        let now = at("2026-03-02 10:00:00");
        let mut draft = p05_draft(now);
        draft.items = grant_items;
        draft.confirmed_items = draft.items.clone();
        let grant = create_grant(draft.clone()).unwrap();
        let at_call = now.plus(day * DAY_MS);
        let mut request = request_like(&draft, "r", at_call);
        request.items = request_items.clone();
        let decision = decide(&request, Some(&grant), &context(at_call));
        if let Decision::Permit(permit) = &decision {
            prop_assert!(permit.items.is_subset(grant.items()));
            prop_assert_eq!(&permit.items, &request_items);
        } else {
            prop_assert!(!request_items.is_subset(grant.items()));
        }
        prop_assert_eq!(decide(&request, Some(&grant), &context(at_call)), decision);
    }

    #[test]
    fn grants_stay_inside_their_purpose(purpose_idx in 0usize..7, grant_items in item_subset(10)) {
        let now = at("2026-03-02 10:00:00");
        let mut draft = p01_draft(now);
        draft.purpose = Purpose::ALL[purpose_idx];
        draft.confirmed_items = grant_items.clone();
        draft.items = grant_items;
        if let Ok(grant) = create_grant(draft) {
            prop_assert!(grant.items().is_subset(&grant.purpose().rule().max_items));
        }
    }

    #[test]
    fn masks_show_no_more_than_their_rule(
        code_idx in 0usize..74,
        level in prop::sample::select(vec![Level::L1, Level::L2, Level::L3]),
        view in prop::sample::select(vec![View::List, View::Case, View::Revealed]),
        clinical in any::<bool>(),
        value in "[0-9A-Za-z张王李区县市路镇]{0,24}",
    ) {
        let code = all_codes()[code_idx];
        let rule = mask_rule(code, level, view, clinical);
        let masked = apply_mask(rule, &value);
        let input: Vec<char> = value.chars().collect();
        // Decided by the rule, not by the output: a short value under LastN(4) is all stars,
        // which reads the same as HIDDEN.
        match rule {
            MaskRule::Hidden => prop_assert_eq!(masked.as_str(), HIDDEN),
            MaskRule::Restricted => prop_assert_eq!(masked.as_str(), RESTRICTED),
            MaskRule::District | MaskRule::DistrictStreet if masked == HIDDEN => {}
            _ => {
                let shown: Vec<(usize, char)> = masked.chars().enumerate().filter(|(_, c)| *c != '*').collect();
                prop_assert!(shown.len() <= rule.visible_max(input.len()), "{rule:?} showed {masked} of {value}");
                for (idx, c) in shown {
                    prop_assert_eq!(Some(&c), input.get(idx), "{:?} moved characters", rule);
                }
            }
        }
        if level == Level::L3 && view != View::Revealed {
            prop_assert_eq!(masked, RESTRICTED);
        }
    }
}
