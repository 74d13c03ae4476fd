//! Property tests of the conservation and ordering rules: payer lines add up to the tier total,
//! the subsidy is the best single category and never above the standard, the base stays in the
//! band, benefits never start before the payment rules allow, and status 4 is final.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use yibao_core_types::{Fen, Ratio};
use yibao_enrollment::builtin::builtin_params;
use yibao_enrollment::contribution::{
    assess_resident, employee_monthly, CategorySpan, ResidentInput, ResidentKind,
};
use yibao_enrollment::params::{
    Exemption, Params, Payer, ResidentParams, SubsidyKind, SubsidyRule, Tier,
};
use yibao_enrollment::status::{transition, Status, StatusEvent, STATUSES, STATUS_EVENTS};
use yibao_enrollment::waiting::{resident_benefit, PaymentTiming, ResidentPayment};
use yibao_enrollment::CATEGORIES;

fn reference() -> Params {
    builtin_params()
        .unwrap()
        .get("140500", 2025)
        .unwrap()
        .clone()
}

const SUBSIDY_PAYERS: [Payer; 3] = [
    Payer::AssistanceFund,
    Payer::FinanceSpecial,
    Payer::UnemploymentFund,
];

fn subsidy_kind() -> impl Strategy<Value = SubsidyKind> {
    prop_oneof![
        Just(SubsidyKind::Full),
        (0_i64..100_000).prop_map(|fen| SubsidyKind::Fixed(Fen(fen))),
        (0_i64..=1_000_000).prop_map(|ppm| SubsidyKind::Percent(Ratio(ppm))),
    ]
}

fn subsidy_rule() -> impl Strategy<Value = SubsidyRule> {
    (
        proptest::sample::subsequence(CATEGORIES.to_vec(), 1..4),
        subsidy_kind(),
        0_usize..3,
        proptest::option::of((0_usize..3, 0_i64..50_000)),
    )
        .prop_map(|(categories, kind, payer, first)| SubsidyRule {
            categories,
            kind,
            payer: SUBSIDY_PAYERS[payer],
            first: first
                .filter(|(idx, _)| *idx != payer)
                .map(|(idx, fen)| (SUBSIDY_PAYERS[idx], Fen(fen))),
        })
}

/// A reference set with a random tier and random subsidy rules.
fn random_resident() -> impl Strategy<Value = Params> {
    (
        0_i64..200_000,
        0_i64..100_000,
        proptest::collection::vec(subsidy_rule(), 0..6),
    )
        .prop_map(|(finance, individual, subsidies)| {
            let mut params = reference();
            let resident: &mut ResidentParams = params.resident.as_mut().unwrap();
            resident.tiers = vec![Tier {
                id: "1".into(),
                total: Fen(finance + individual),
                finance: Fen(finance),
                individual: Fen(individual),
            }];
            resident.subsidies = subsidies;
            params
        })
}

fn spans(categories: &[yibao_enrollment::Category]) -> Vec<CategorySpan> {
    categories
        .iter()
        .map(|category| CategorySpan {
            category: *category,
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            valid_to: None,
        })
        .collect()
}

fn input(categories: &[CategorySpan]) -> ResidentInput<'_> {
    ResidentInput {
        benefit_year: 2026,
        kind: ResidentKind::Adult,
        chosen_tier: None,
        categories,
        assessed_on: NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(),
    }
}

proptest! {
    #[test]
    fn payer_lines_add_up_and_the_subsidy_is_the_best_single_category(
        params in random_resident(),
        held in proptest::sample::subsequence(CATEGORIES.to_vec(), 0..5),
    ) {
        let categories = spans(&held);
        let assessment = assess_resident(&params, input(&categories)).unwrap();
        prop_assert_eq!(assessment.fund_income(), assessment.tier.total);
        prop_assert!(assessment.lines.iter().all(|line| line.amount.0 > 0));
        let subsidy = assessment.subsidy.map_or(Fen::ZERO, |s| s.amount);
        prop_assert!(subsidy <= assessment.tier.individual);
        prop_assert_eq!(assessment.individual_due(), assessment.tier.individual - subsidy);
        // The most favourable single category: the largest of the one-category assessments.
        let best_single = held
            .iter()
            .map(|category| {
                let one = spans(&[*category]);
                assess_resident(&params, input(&one))
                    .unwrap()
                    .subsidy
                    .map_or(Fen::ZERO, |s| s.amount)
            })
            .max()
            .unwrap_or(Fen::ZERO);
        prop_assert_eq!(subsidy, best_single);
    }

    #[test]
    fn the_base_stays_in_the_band(
        wage in 0_i64..10_000_000,
        average in 1_i64..3_000_000,
        floor_ppm in 0_i64..=1_000_000,
        extra_ppm in 0_i64..=4_000_000,
    ) {
        let mut params = reference();
        let employee = params.employee.as_mut().unwrap();
        employee.average_wage = Fen(average);
        employee.base_floor = Ratio(floor_ppm);
        employee.base_ceiling = Ratio(floor_ppm + extra_ppm);
        let floor = employee.base_floor_amount();
        let ceiling = employee.base_ceiling_amount();
        let assessment = employee_monthly(&params, Fen(wage)).unwrap();
        prop_assert!(floor <= assessment.base && assessment.base <= ceiling);
        prop_assert_eq!(
            assessment.to_account + assessment.to_pooled_fund,
            assessment.employer + assessment.employee
        );
        if (floor..=ceiling).contains(&Fen(wage)) {
            prop_assert_eq!(assessment.base, Fen(wage));
        }
    }

    #[test]
    fn benefits_never_start_before_the_rules_allow(
        day in 0_u64..730,
        lapsed in 0_u32..10,
        repaired in 0_u32..10,
        exempt in proptest::option::of(prop_oneof![
            Just(Exemption::AssistanceClass(1)),
            Just(Exemption::AssistanceClass(4)),
            Just(Exemption::Student),
        ]),
        qingdao in any::<bool>(),
    ) {
        let params = if qingdao {
            builtin_params().unwrap().get("370200", 2026).unwrap().clone()
        } else {
            reference()
        };
        let paid_on = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(day);
        let payment = ResidentPayment {
            benefit_year: 2026,
            paid_on,
            lapsed_years: lapsed,
            repaired_years: repaired,
            exemption: exempt,
        };
        let period = resident_benefit(&params, payment).unwrap();
        let year_start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        prop_assert!(period.start >= year_start);
        prop_assert!(period.start >= paid_on);
        let resident = params.resident.as_ref().unwrap();
        let listed = exempt.is_some_and(|e| resident.waiting_exemptions.contains(&e));
        if listed {
            prop_assert_eq!(period.waiting_months, 0);
            prop_assert_eq!(period.start, paid_on.max(year_start));
        } else if period.timing == PaymentTiming::CollectionPeriod && lapsed == 0 {
            prop_assert_eq!(period.start, year_start);
        } else {
            // Never less than the fixed wait, counted from the payment month or from January.
            prop_assert!(period.waiting_months >= resident.late_waiting_months);
            let from = if period.timing == PaymentTiming::CollectionPeriod { year_start } else { paid_on };
            let months = (period.start.year() - from.year()) * 12
                + period.start.month() as i32 - from.month() as i32;
            prop_assert_eq!(months, period.waiting_months as i32);
            if let Some(lapse) = &resident.lapse {
                if lapsed >= lapse.floor_after_lapsed_years {
                    prop_assert!(period.waiting_months >= lapse.floor_months);
                }
            }
        }
    }

    #[test]
    fn status_4_is_never_left(
        events in proptest::collection::vec(0_usize..5, 0..30),
        start in 0_usize..5,
    ) {
        let mut status = STATUSES[start];
        let mut was_terminated = status == Status::Terminated;
        for idx in events {
            let event: StatusEvent = STATUS_EVENTS[idx];
            match transition(status, event) {
                Ok(next) => {
                    prop_assert!(!status.is_final(), "{status:?} is final but {event:?} left it");
                    prop_assert_eq!(next, event.target());
                    status = next;
                }
                Err(refused) => {
                    prop_assert_eq!(refused.from, status);
                    prop_assert_eq!(refused.event, event);
                }
            }
            if was_terminated {
                prop_assert_eq!(status, Status::Terminated);
            }
            was_terminated |= status == Status::Terminated;
        }
    }
}

/// A candidate pool for the fallback: numbers of women and men born on one of two days, some
/// sharing a person number (the same person found twice).
fn fallback_candidate() -> impl Strategy<Value = yibao_enrollment::fallback::Candidate> {
    (0u8..4, prop::bool::ANY, 0u8..10).prop_map(|(psn, day, seq)| {
        let brdy = if day { "19491231" } else { "19500101" };
        yibao_enrollment::fallback::Candidate {
            psn_no: format!("P{psn}"),
            certno: format!("110105{brdy}00{seq}X"),
        }
    })
}

proptest! {
    /// The fallback decides the same whatever the order of the candidates, proposes only a
    /// candidate it was given whose number does not contradict the record, proposes only when
    /// that candidate is the one person who fits, and is never as sure as an ID match.
    #[test]
    fn fallback_is_order_free_and_unique(
        candidates in prop::collection::vec(fallback_candidate(), 0..6),
        gend in prop::sample::select(vec!["1", "2", "9"]),
        rotate in 0usize..6,
    ) {
        use yibao_enrollment::fallback::{contradicts, decide_fallback, FallbackDecision, FallbackRecord, UnmatchedReason};
        let record = FallbackRecord {
            sent_certno: String::new(),
            brdy: NaiveDate::from_ymd_opt(1949, 12, 31).unwrap(),
            gend: gend.to_owned(),
        };
        let decision = decide_fallback(&record, UnmatchedReason::NoId, &candidates);
        let mut rotated = candidates.clone();
        if !rotated.is_empty() {
            let k = rotate % rotated.len();
            rotated.rotate_left(k);
        }
        let mut reversed = candidates.clone();
        reversed.reverse();
        prop_assert_eq!(&decision, &decide_fallback(&record, UnmatchedReason::NoId, &rotated));
        prop_assert_eq!(&decision, &decide_fallback(&record, UnmatchedReason::NoId, &reversed));
        let fitting: std::collections::BTreeSet<&str> = candidates
            .iter()
            .filter(|c| !contradicts(&record, &c.certno))
            .map(|c| c.psn_no.as_str())
            .collect();
        match decision {
            FallbackDecision::Proposed { psn_no, confidence_permille } => {
                prop_assert!(confidence_permille < 1000);
                prop_assert_eq!(fitting.len(), 1);
                prop_assert!(fitting.contains(psn_no.as_str()));
            }
            FallbackDecision::Unmatched(reason) => match reason {
                UnmatchedReason::NoId => prop_assert!(candidates.is_empty()),
                UnmatchedReason::ConflictingId => {
                    prop_assert!(!candidates.is_empty() && fitting.is_empty())
                }
                UnmatchedReason::Ambiguous => prop_assert!(fitting.len() > 1),
                UnmatchedReason::BadCheckDigit => prop_assert!(false, "not the base given"),
            },
        }
    }
}
