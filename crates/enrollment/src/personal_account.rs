//! Personal-account payouts (spec enrollment.md §3.8, §6): when the balance of an employee's
//! personal account (个人账户) may leave it other than by paying medical bills — a withdrawal
//! (支取) by a person settling abroad, the estate's payout after a confirmed death, and
//! inheritance (继承) by heirs by share — decided from the region's
//! [`PersonalAccountParams`] and the facts the caller read. Every decision names the rule it
//! used; a refusal names the rule that refused. Family mutual aid (家庭共济) is not a payout and
//! is not decided here.

use chrono::NaiveDate;
use yibao_core_types::Fen;

use crate::error::EngineError;
use crate::params::{Params, PersonalAccountParams};

/// Largest share one heir may be given (shares are whole parts of the sum of shares).
pub const HEIR_SHARE_MAX: u32 = 1_000_000;

/// Why an account is paid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutReason {
    /// The person settles abroad (出国/出境定居).
    Abroad,
    /// The person died: the balance goes to the estate (or, by [`decide_inheritance`], to heirs).
    Death,
    /// The person moves to a region the account cannot be transferred to.
    MovedWithoutTransfer,
}

/// Every payout reason.
pub const PAYOUT_REASONS: [PayoutReason; 3] = [
    PayoutReason::Abroad,
    PayoutReason::Death,
    PayoutReason::MovedWithoutTransfer,
];

impl PayoutReason {
    /// The stable name used in requests and stored rows.
    pub fn key(self) -> &'static str {
        match self {
            PayoutReason::Abroad => "abroad",
            PayoutReason::Death => "death",
            PayoutReason::MovedWithoutTransfer => "moved_without_transfer",
        }
    }

    /// The reason named `key`.
    pub fn from_key(key: &str) -> Option<PayoutReason> {
        PAYOUT_REASONS.into_iter().find(|r| r.key() == key)
    }
}

/// What the caller knows about the account and its holder on the day decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountFacts {
    /// The account's balance.
    pub balance: Fen,
    /// The confirmed death date, if any (deaths, spec §8.3).
    pub death_date: Option<NaiveDate>,
    /// The person holds an employee (`310`) relation in force on the day.
    pub employee_relation_active: bool,
}

/// A payout the rules allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAllowed {
    /// The amount paid out.
    pub amount: Fen,
    /// The parameter that allowed it (`personal_account.withdraw_on_abroad` …).
    pub rule: &'static str,
}

/// One heir named for an inheritance: the heir's person number and share (whole parts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeirClaim {
    /// The heir.
    pub psn_no: String,
    /// The heir's share, in parts of the sum of every heir's parts.
    pub share: u32,
}

/// One heir's part of an inheritance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeirPart {
    /// The heir.
    pub psn_no: String,
    /// The heir's share, as claimed.
    pub share: u32,
    /// The amount, exact to the fen.
    pub amount: Fen,
}

fn refused(rule: &'static str, reason: impl Into<String>) -> EngineError {
    EngineError::PayoutRefused {
        rule,
        reason: reason.into(),
    }
}

/// Decides a withdrawal (支取) for `reason`: the whole balance when `amount` is `None`, else
/// `amount` (which must be positive, at most the balance, and less than it only where the region
/// allows partial withdrawals). Refusals, in order: nothing to withdraw, the reason's own rule
/// (a dead person's account is not withdrawn as abroad or moved; a living person's is not paid
/// to an estate; the region does not allow the reason; the employee relation has not ended),
/// then the amount.
pub fn decide_withdrawal(
    params: &Params,
    reason: PayoutReason,
    facts: &AccountFacts,
    amount: Option<Fen>,
) -> Result<PayoutAllowed, EngineError> {
    let rules: &PersonalAccountParams = &params.personal_account;
    if facts.balance.0 < 0 {
        return Err(EngineError::Negative {
            what: "the account balance",
        });
    }
    if facts.balance.0 == 0 {
        return Err(refused(
            "personal_account.balance",
            "the account holds nothing to withdraw",
        ));
    }
    let rule = match reason {
        PayoutReason::Death => {
            let Some(date) = facts.death_date else {
                return Err(refused(
                    "personal_account.withdraw_on_death",
                    "no death is confirmed for the person",
                ));
            };
            if !rules.withdraw_on_death {
                return Err(refused(
                    "personal_account.withdraw_on_death",
                    format!(
                        "{} does not pay a dead person's account to the estate (died {date}); \
                         heirs inherit it by share",
                        params.id()
                    ),
                ));
            }
            "personal_account.withdraw_on_death"
        }
        PayoutReason::Abroad | PayoutReason::MovedWithoutTransfer => {
            let (rule, allowed, what) = if reason == PayoutReason::Abroad {
                (
                    "personal_account.withdraw_on_abroad",
                    rules.withdraw_on_abroad,
                    "settling abroad",
                )
            } else {
                (
                    "personal_account.withdraw_on_move_without_transfer",
                    rules.withdraw_on_move_without_transfer,
                    "a move without transfer (the balance moves with the relation)",
                )
            };
            if let Some(date) = facts.death_date {
                return Err(refused(
                    "personal_account.inherit_on_death",
                    format!("the person died on {date}: the account goes to the estate or heirs"),
                ));
            }
            if !allowed {
                return Err(refused(
                    rule,
                    format!("{} does not release the account for {what}", params.id()),
                ));
            }
            if reason == PayoutReason::Abroad
                && rules.abroad_requires_relation_ended
                && facts.employee_relation_active
            {
                return Err(refused(
                    "personal_account.abroad_requires_relation_ended",
                    "the employee relation is still in force: end it (settled abroad) first",
                ));
            }
            if reason == PayoutReason::MovedWithoutTransfer && facts.employee_relation_active {
                return Err(refused(
                    rule,
                    "the employee relation is still in force here",
                ));
            }
            rule
        }
    };
    let amount = match amount {
        None => facts.balance,
        Some(a) if a.0 <= 0 => {
            return Err(refused(
                "personal_account.balance",
                format!("the amount withdrawn {a} must be positive"),
            ))
        }
        Some(a) if a > facts.balance => {
            return Err(refused(
                "personal_account.balance",
                format!("{a} is more than the balance {}", facts.balance),
            ))
        }
        Some(a) if a < facts.balance && !rules.partial_withdrawal => {
            return Err(refused(
                "personal_account.partial_withdrawal",
                format!(
                    "{} pays out the whole balance {} only, not {a}",
                    params.id(),
                    facts.balance
                ),
            ))
        }
        Some(a) => a,
    };
    Ok(PayoutAllowed { amount, rule })
}

/// Decides an inheritance (继承) of the whole balance after a confirmed death, split among
/// `heirs` by share with [`split_by_shares`]. Refusals, in order: no confirmed death, the region
/// does not allow inheritance, nothing to inherit, then the heirs (none, more than the region's
/// `heirs_max`, a zero or too large share, a heir named twice).
pub fn decide_inheritance(
    params: &Params,
    facts: &AccountFacts,
    heirs: &[HeirClaim],
) -> Result<Vec<HeirPart>, EngineError> {
    let rules = &params.personal_account;
    let rule = "personal_account.inherit_on_death";
    if facts.death_date.is_none() {
        return Err(refused(rule, "no death is confirmed for the person"));
    }
    if !rules.inherit_on_death {
        return Err(refused(
            rule,
            format!("{} does not pay the account to heirs", params.id()),
        ));
    }
    if facts.balance.0 < 0 {
        return Err(EngineError::Negative {
            what: "the account balance",
        });
    }
    if facts.balance.0 == 0 {
        return Err(refused(
            "personal_account.balance",
            "the account holds nothing to inherit",
        ));
    }
    if heirs.is_empty() {
        return Err(refused(rule, "no heir is named"));
    }
    if heirs.len() > rules.heirs_max as usize {
        return Err(refused(
            "personal_account.heirs_max",
            format!("{} heirs, at most {}", heirs.len(), rules.heirs_max),
        ));
    }
    for (idx, heir) in heirs.iter().enumerate() {
        if heir.share == 0 || heir.share > HEIR_SHARE_MAX {
            return Err(refused(
                rule,
                format!(
                    "heir {}'s share {} must be from 1 to {HEIR_SHARE_MAX}",
                    heir.psn_no, heir.share
                ),
            ));
        }
        if heirs[..idx].iter().any(|h| h.psn_no == heir.psn_no) {
            return Err(refused(
                rule,
                format!("heir {} is named twice", heir.psn_no),
            ));
        }
    }
    let shares: Vec<u32> = heirs.iter().map(|h| h.share).collect();
    let amounts = split_by_shares(facts.balance, &shares);
    Ok(heirs
        .iter()
        .zip(amounts)
        .map(|(heir, amount)| HeirPart {
            psn_no: heir.psn_no.clone(),
            share: heir.share,
            amount,
        })
        .collect())
}

/// Splits `total` (≥ 0) by `shares` exactly to the fen: each part is the floor of its exact
/// share, and the fen left over go one each to the parts with the largest remainders, ties to
/// the earlier part. The parts add up to `total`. An empty or all-zero `shares` gives all zeros.
pub fn split_by_shares(total: Fen, shares: &[u32]) -> Vec<Fen> {
    let sum: i128 = shares.iter().map(|s| i128::from(*s)).sum();
    if sum == 0 || total.0 <= 0 {
        return vec![Fen::ZERO; shares.len()];
    }
    let total_i = i128::from(total.0);
    let mut parts: Vec<i128> = shares
        .iter()
        .map(|s| total_i * i128::from(*s) / sum)
        .collect();
    let left = total_i - parts.iter().sum::<i128>();
    // Remainders `total × share mod sum`, largest first; a stable sort keeps ties in order.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(total_i * i128::from(shares[i]) % sum));
    for &i in order.iter().take(left as usize) {
        parts[i] += 1;
    }
    let out: Vec<Fen> = parts
        .into_iter()
        .map(|p| Fen(i64::try_from(p).expect("a part is at most the total")))
        .collect();
    assert_eq!(
        out.iter().map(|f| f.0).sum::<i64>(),
        total.0,
        "the parts add up to the total"
    );
    out
}

#[cfg(test)]
// Amounts are written as yuan_fen (`123_45` is 123.45 yuan).
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use crate::builtin::builtin_params;

    fn params() -> Params {
        builtin_params()
            .unwrap()
            .get("140500", 2025)
            .unwrap()
            .clone()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(balance: i64, dead: Option<&str>, active: bool) -> AccountFacts {
        AccountFacts {
            balance: Fen(balance),
            death_date: dead.map(day),
            employee_relation_active: active,
        }
    }

    /// The decision or the refusal, as one line.
    fn withdraw(p: &Params, reason: &str, f: AccountFacts, amount: Option<i64>) -> String {
        let reason = PayoutReason::from_key(reason).unwrap();
        match decide_withdrawal(p, reason, &f, amount.map(Fen)) {
            Ok(allowed) => format!("allowed {} by {}", allowed.amount, allowed.rule),
            Err(EngineError::PayoutRefused { rule, reason }) => {
                format!("refused by {rule}: {reason}")
            }
            Err(other) => format!("error: {other}"),
        }
    }

    #[test]
    fn the_shipped_sets_carry_the_policy() {
        for set in builtin_params().unwrap().sets() {
            assert_eq!(
                set.personal_account,
                PersonalAccountParams::default(),
                "{}",
                set.id()
            );
        }
    }

    #[test]
    fn a_missing_section_takes_the_defaults_and_a_bad_value_is_refused() {
        let text = crate::builtin::PARAM_FILES
            .iter()
            .find(|(name, _)| name.ends_with("370200-2019.toml"))
            .unwrap()
            .1;
        let cut = text.find("[personal_account]").unwrap();
        let without = crate::params::load(&text[..cut], "370200-2019.toml").unwrap();
        assert_eq!(without.personal_account, PersonalAccountParams::default());
        let err = crate::params::load(
            &text.replace("heirs_max = 10", "heirs_max = 0"),
            "370200-2019.toml",
        )
        .unwrap_err();
        assert_eq!(err.key, "personal_account.heirs_max");
        let err = crate::params::load(
            &text.replace("heirs_max = 10", "heirs_max = 10\nwithdraw_anytime = true"),
            "370200-2019.toml",
        )
        .unwrap_err();
        assert!(err.reason.contains("unknown field"), "{err}");
    }

    #[test]
    fn withdrawals_follow_the_rules_in_order() {
        let p = params();
        let cases = [
            // (reason, balance, death, relation active, amount, expected)
            ("abroad", 0, None, false, None, "refused by personal_account.balance: the account holds nothing to withdraw"),
            ("abroad", 123_45, None, false, None, "allowed 123.45 by personal_account.withdraw_on_abroad"),
            ("abroad", 123_45, None, true, None, "refused by personal_account.abroad_requires_relation_ended: the employee relation is still in force: end it (settled abroad) first"),
            ("abroad", 123_45, Some("2025-03-01"), false, None, "refused by personal_account.inherit_on_death: the person died on 2025-03-01: the account goes to the estate or heirs"),
            ("death", 123_45, None, true, None, "refused by personal_account.withdraw_on_death: no death is confirmed for the person"),
            ("death", 123_45, Some("2025-03-01"), false, None, "allowed 123.45 by personal_account.withdraw_on_death"),
            ("moved_without_transfer", 123_45, None, false, None, "refused by personal_account.withdraw_on_move_without_transfer: 140500-2025 does not release the account for a move without transfer (the balance moves with the relation)"),
            ("abroad", 123_45, None, false, Some(100_00), "refused by personal_account.partial_withdrawal: 140500-2025 pays out the whole balance 123.45 only, not 100.00"),
            ("abroad", 123_45, None, false, Some(200_00), "refused by personal_account.balance: 200.00 is more than the balance 123.45"),
            ("abroad", 123_45, None, false, Some(0), "refused by personal_account.balance: the amount withdrawn 0.00 must be positive"),
            ("abroad", 123_45, None, false, Some(123_45), "allowed 123.45 by personal_account.withdraw_on_abroad"),
        ];
        for (reason, balance, dead, active, amount, expected) in cases {
            assert_eq!(
                withdraw(&p, reason, facts(balance, dead, active), amount),
                expected,
                "{reason} {balance} {dead:?} {active} {amount:?}"
            );
        }
    }

    #[test]
    fn a_region_may_allow_partial_and_moved_withdrawals_or_forbid_abroad() {
        let mut p = params();
        p.personal_account.partial_withdrawal = true;
        p.personal_account.withdraw_on_move_without_transfer = true;
        assert_eq!(
            withdraw(&p, "abroad", facts(123_45, None, false), Some(100_00)),
            "allowed 100.00 by personal_account.withdraw_on_abroad"
        );
        assert_eq!(
            withdraw(
                &p,
                "moved_without_transfer",
                facts(123_45, None, false),
                None
            ),
            "allowed 123.45 by personal_account.withdraw_on_move_without_transfer"
        );
        assert_eq!(
            withdraw(&p, "moved_without_transfer", facts(123_45, None, true), None),
            "refused by personal_account.withdraw_on_move_without_transfer: the employee relation is still in force here"
        );
        p.personal_account.withdraw_on_abroad = false;
        p.personal_account.withdraw_on_death = false;
        assert_eq!(
            withdraw(&p, "abroad", facts(123_45, None, false), None),
            "refused by personal_account.withdraw_on_abroad: 140500-2025 does not release the account for settling abroad"
        );
        assert!(
            withdraw(&p, "death", facts(1, Some("2025-01-01"), false), None).starts_with(
                "refused by personal_account.withdraw_on_death: 140500-2025 does not pay"
            )
        );
    }

    fn heirs(list: &[(&str, u32)]) -> Vec<HeirClaim> {
        list.iter()
            .map(|(psn_no, share)| HeirClaim {
                psn_no: (*psn_no).to_owned(),
                share: *share,
            })
            .collect()
    }

    fn inherit(p: &Params, f: AccountFacts, list: &[(&str, u32)]) -> String {
        match decide_inheritance(p, &f, &heirs(list)) {
            Ok(parts) => parts
                .iter()
                .map(|h| format!("{}:{}={}", h.psn_no, h.share, h.amount))
                .collect::<Vec<_>>()
                .join(" "),
            Err(EngineError::PayoutRefused { rule, reason }) => {
                format!("refused by {rule}: {reason}")
            }
            Err(other) => format!("error: {other}"),
        }
    }

    #[test]
    fn inheritances_split_exactly_and_refuse_in_order() {
        let p = params();
        let dead = Some("2025-03-01");
        type Case<'a> = (AccountFacts, &'a [(&'a str, u32)], &'a str);
        let cases: [Case; 9] = [
            (facts(100_00, None, false), &[("H1", 1)], "refused by personal_account.inherit_on_death: no death is confirmed for the person"),
            (facts(0, dead, false), &[("H1", 1)], "refused by personal_account.balance: the account holds nothing to inherit"),
            (facts(100_00, dead, false), &[], "refused by personal_account.inherit_on_death: no heir is named"),
            (facts(100_00, dead, false), &[("H1", 0)], "refused by personal_account.inherit_on_death: heir H1's share 0 must be from 1 to 1000000"),
            (facts(100_00, dead, false), &[("H1", 1), ("H1", 2)], "refused by personal_account.inherit_on_death: heir H1 is named twice"),
            (facts(100_00, dead, false), &[("H1", 1)], "H1:1=100.00"),
            // 1.00 in thirds: 0.33 each and the fen left to the first (ties keep the order).
            (facts(1_00, dead, false), &[("H1", 1), ("H2", 1), ("H3", 1)], "H1:1=0.34 H2:1=0.33 H3:1=0.33"),
            // 1.01 as 1:2: 33 fen remainder 2/3 and 67 fen remainder 1/3; the fen left goes to H1.
            (facts(1_01, dead, false), &[("H1", 1), ("H2", 2)], "H1:1=0.34 H2:2=0.67"),
            // A fen among three: only the first gets it.
            (facts(1, dead, false), &[("H1", 1), ("H2", 1), ("H3", 1)], "H1:1=0.01 H2:1=0.00 H3:1=0.00"),
        ];
        for (f, list, expected) in cases {
            assert_eq!(inherit(&p, f, list), expected, "{f:?} {list:?}");
        }
        let many: Vec<(String, u32)> = (0..11).map(|i| (format!("H{i}"), 1)).collect();
        let many: Vec<(&str, u32)> = many.iter().map(|(h, s)| (h.as_str(), *s)).collect();
        assert_eq!(
            inherit(&p, facts(100_00, dead, false), &many),
            "refused by personal_account.heirs_max: 11 heirs, at most 10"
        );
    }

    #[test]
    fn splits_conserve_the_total() {
        for total in [0_i64, 1, 2, 7, 99, 100, 12_345, 987_654_321] {
            for shares in [
                vec![1],
                vec![1, 1],
                vec![1, 2, 3],
                vec![7, 0, 5],
                vec![1_000_000, 1, 999_999],
            ] {
                let parts = split_by_shares(Fen(total), &shares);
                assert_eq!(parts.iter().map(|f| f.0).sum::<i64>(), total);
                for (part, share) in parts.iter().zip(&shares) {
                    if *share == 0 {
                        assert_eq!(part.0, 0);
                    }
                    // |part − total × share / sum| < 1, in integers.
                    let sum = i128::from(shares.iter().sum::<u32>());
                    let gap = i128::from(part.0) * sum - i128::from(total) * i128::from(*share);
                    assert!(gap.abs() < sum, "{total} {shares:?}");
                }
            }
        }
    }
}
