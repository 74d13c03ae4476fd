//! Property tests: for random bills, policies and accumulators the identities of spec section 6
//! hold, the order of lines changes nothing, no fund pays more than its cap room, and a
//! reversal is the exact negation.

use proptest::prelude::*;
use yibao_core_types::{
    AcctUsedFlag, Admdvs, ChrgitmLv, Fen, FundPayType, HiSetlLv, HospApprFlag, Insutype, MedType,
    NaiveDate, Price, PsnType, Quantity, Ratio, SpPsnType,
};
use yibao_policy::{
    builtin_policy, Band, CatalogueEntry, Conditions, DeductibleWaiver, ExtraBase, ExtraLayer,
    FilingKind, Policy, Segment,
};
use yibao_settlement::{
    classify_line, settle, FeeLine, Person, SettleError, SettleInput, Settlement, Visit, Ytd,
};

fn base_policy() -> Policy {
    builtin_policy("140500-2025")
        .expect("shipped")
        .expect("valid")
}

/// A policy with the reference shape but random numbers, and optionally a commercial layer.
fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        prop::collection::vec(0_i64..=1_000_000, 12),
        prop::collection::vec(0_i64..=50_000_000, 8),
        any::<bool>(),
        0_i64..=1_000_000,
    )
        .prop_map(|(ratios, amounts, with_extra, extra_ratio)| {
            let mut policy = base_policy();
            for (scheme_idx, scheme) in policy.schemes.iter_mut().enumerate() {
                let offset = scheme_idx * 6;
                if let Some(inpatient) = scheme.inpatient.as_mut() {
                    inpatient.ratios.rows[0].by_level[2] = Some(Ratio(ratios[offset]));
                    inpatient.ratios.rows[1].by_level[0] = Some(Ratio(ratios[offset + 1]));
                    inpatient.annual_cap = Fen(amounts[scheme_idx * 4]);
                    inpatient.deductible_per_admission[1] =
                        Fen(amounts[scheme_idx * 4 + 1] % 500_000);
                    inpatient.admission_factors = vec![Ratio::ONE, Ratio(ratios[offset + 2])];
                    // Cost segments and an identity waiver exercise the newer rules too.
                    inpatient.segments = vec![
                        Segment {
                            above: Fen(amounts[scheme_idx * 4 + 1] % 2_000_000),
                            points: Ratio(-(ratios[offset] % 200_000)),
                        },
                        Segment {
                            above: Fen(2_000_000 + amounts[scheme_idx * 4] % 5_000_000),
                            points: Ratio(ratios[offset + 1] % 100_000),
                        },
                    ];
                    inpatient.deductible_waivers = vec![DeductibleWaiver {
                        when: Conditions {
                            sp_psn_types: vec![SpPsnType::parse("1").expect("code")],
                            ..Conditions::default()
                        },
                        factor: Ratio(ratios[offset + 3]),
                    }];
                }
                if let Some(outpatient) = scheme.outpatient.first_mut() {
                    outpatient.annual_cap = Fen(amounts[scheme_idx * 4 + 2] % 1_000_000);
                    outpatient.period_caps.per_visit =
                        Some(Fen(amounts[scheme_idx * 4 + 3] % 50_000));
                    outpatient.period_caps.daily = Some(Fen(amounts[scheme_idx * 4] % 80_000));
                    outpatient.ratios.rows.last_mut().expect("row").by_level[0] =
                        Some(Ratio(ratios[offset + 3]));
                }
                if let Some(large_amount) = scheme.large_amount.as_mut() {
                    large_amount.ratio = Ratio(ratios[offset + 4]);
                    large_amount.annual_cap = Fen(amounts[scheme_idx * 4 + 3]);
                }
                if let Some(serious_illness) = scheme.serious_illness.as_mut() {
                    serious_illness.rules[1].threshold =
                        Fen(amounts[scheme_idx * 4 + 3] % 3_000_000);
                    serious_illness.rules[1].bands[0].ratio = Ratio(ratios[offset + 5]);
                }
                if with_extra {
                    scheme.extra_layers.push(ExtraLayer {
                        fund: FundPayType::parse("390300").expect("code"),
                        name: "惠民保".into(),
                        med_types: ["11", "13", "14", "21", "22", "24", "41"]
                            .iter()
                            .map(|code| MedType::parse(code).expect("code"))
                            .collect(),
                        when: Conditions::default(),
                        base: if amounts[2] % 2 == 0 {
                            ExtraBase::WithSelfpay
                        } else {
                            ExtraBase::All
                        },
                        annual_deductible: Fen(amounts[0] % 2_000_000),
                        ratio: Ratio(extra_ratio),
                        bands: Vec::new(),
                        annual_cap: Some(Fen(amounts[1])),
                    });
                    scheme.extra_layers.push(ExtraLayer {
                        fund: FundPayType::CIVIL_SERVANT,
                        name: "公务员医疗补助".into(),
                        med_types: vec![MedType::INPATIENT],
                        when: Conditions {
                            psn_types: vec!["11".into()],
                            ..Conditions::default()
                        },
                        base: ExtraBase::PolicyRange,
                        annual_deductible: Fen(amounts[3] % 3_000_000),
                        ratio: Ratio::ZERO,
                        bands: vec![
                            Band {
                                width: Some(Fen(1 + amounts[2] % 5_000_000)),
                                ratio: Ratio(ratios[0]),
                            },
                            Band {
                                width: None,
                                ratio: Ratio(ratios[1]),
                            },
                        ],
                        annual_cap: None,
                    });
                }
            }
            policy
        })
}

fn arb_line() -> impl Strategy<Value = (Option<CatalogueEntry>, FeeLine)> {
    (
        0_u8..4,
        0_i64..=300_000,
        1_i64..=500_000_000,
        1_i64..=200_000,
        prop::option::of(1_i64..=500_000_000),
        any::<bool>(),
        0_u8..3,
        0_u8..10,
    )
        .prop_map(
            |(class, prop_ppm, price_micro, count, cap, restricted, approval, refund)| {
                let entry = (class < 3).then(|| CatalogueEntry {
                    med_list_codg: "ITEM".into(),
                    name: String::new(),
                    list_type: None,
                    chrgitm_lv: [ChrgitmLv::ClassA, ChrgitmLv::ClassB, ChrgitmLv::ClassC]
                        [usize::from(class)],
                    selfpay_prop: if class == 1 {
                        Ratio(prop_ppm)
                    } else {
                        Ratio::ZERO
                    },
                    pric_uplmt_amt: cap.map(Price),
                    lmt_used_flag: restricted,
                    negotiated: false,
                    begndate: None,
                    enddate: None,
                });
                let count = if refund == 0 { -count } else { count };
                let approval = [
                    HospApprFlag::NotRequired,
                    HospApprFlag::Approved,
                    HospApprFlag::Refused,
                ][usize::from(approval)];
                let line = FeeLine::new(
                    format!("ITEM-{class}"),
                    Price(price_micro),
                    Quantity(count),
                    None,
                    approval,
                )
                .expect("valid line");
                (entry, line)
            },
        )
}

fn arb_ytd() -> impl Strategy<Value = Ytd> {
    (
        0_i64..4,
        prop::collection::vec(0_i64..=60_000_000, 9),
        prop::collection::vec(0_i64..=8_000_000, 3),
    )
        .prop_map(|(admissions, amounts, chronic)| Ytd {
            inpatient_admissions: admissions,
            hifp_inpatient: Fen(amounts[0] / 3),
            hifp_outpatient: Fen(amounts[1] % 400_000),
            outpatient_deductible: Fen(amounts[2] % 30_000),
            hifob: Fen(amounts[3]),
            hifmi_base: Fen(amounts[4]),
            hifmi: Fen(amounts[5]),
            maf: Fen(amounts[6] / 4),
            maf_deductible: Fen(amounts[7] % 200_000),
            chronic: [
                ("I10", chronic[0]),
                ("E11", chronic[1]),
                ("N18", chronic[2]),
            ]
            .into_iter()
            .map(|(key, amount)| (key.to_owned(), Fen(amount)))
            .collect(),
            other: [("390300".to_owned(), Fen(amounts[8]))]
                .into_iter()
                .collect(),
        })
}

fn arb_input() -> impl Strategy<Value = SettleInput> {
    (
        (
            any::<bool>(),
            0_usize..4,
            prop::collection::vec(0_usize..3, 0..3),
            arb_ytd(),
            0_i64..=500_000,
            prop::collection::vec(0_i64..=300_000, 0..3),
        ),
        (
            0_usize..7,
            0_usize..3,
            0_usize..3,
            any::<bool>(),
            any::<bool>(),
            0_usize..4,
            0_usize..3,
        ),
        prop::collection::vec(arb_line(), 1..25),
    )
        .prop_map(|(person, visit, lines)| {
            let (employee, psn_idx, categories, ytd, balance, family) = person;
            let (med_idx, level_idx, area_idx, filed, emergency, disease_idx, acct_idx) = visit;
            let psn_type = if employee {
                ["1101", "1201", "1101", "1201"][psn_idx]
            } else {
                ["1401", "1501", "1501", "1402"][psn_idx]
            };
            let mut sp_psn_types: Vec<SpPsnType> = categories
                .iter()
                .map(|idx| SpPsnType::parse(["1", "2", "3"][*idx]).expect("code"))
                .collect();
            sp_psn_types.dedup();
            SettleInput {
                person: Person {
                    psn_no: "P".into(),
                    insutype: if employee {
                        Insutype::EMPLOYEE
                    } else {
                        Insutype::RESIDENT
                    },
                    psn_type: PsnType::parse(psn_type).expect("code"),
                    age: 40,
                    sp_psn_types,
                    insuplc_admdvs: Admdvs::parse("140500").expect("code"),
                    acct_balance: Fen(balance),
                    mulaid_balances: family.into_iter().map(Fen).collect(),
                    ytd,
                    tier: None,
                    chronic_recognitions: Vec::new(),
                },
                visit: Visit {
                    med_type: MedType::parse(["11", "13", "14", "21", "22", "24", "41"][med_idx])
                        .expect("code"),
                    hi_setl_lv: [HiSetlLv::Level1, HiSetlLv::Level2, HiSetlLv::Level3][level_idx],
                    mdtrtarea_admvs: Admdvs::parse(["140500", "140502", "370200"][area_idx])
                        .expect("code"),
                    filing: filed.then_some(FilingKind::Unspecified),
                    emergency,
                    dise_codg: ["I10.x00", "E11.9", "N18.5", "J45"][disease_idx].into(),
                    acct_used_flag: [
                        AcctUsedFlag::NotUsed,
                        AcctUsedFlag::Own,
                        AcctUsedFlag::OwnThenFamily,
                    ][acct_idx],
                    fixmedins_code: String::new(),
                    institution_kinds: Vec::new(),
                    referral: false,
                    transfer_in: false,
                    begin_date: None,
                    matn_type: None,
                },
                lines: lines
                    .iter()
                    .map(|(entry, line)| classify_line(entry.as_ref(), line))
                    .collect(),
                settle_date: NaiveDate::from_ymd_opt(2025, 6, 1).expect("date"),
            }
        })
}

/// The amounts of a settlement without the trace, for comparisons.
fn amounts(settlement: &Settlement) -> Vec<Fen> {
    let mut out = vec![
        settlement.amounts.medfee_sumamt,
        settlement.amounts.fulamt_ownpay_amt,
        settlement.amounts.overlmt_selfpay,
        settlement.amounts.preselfpay_amt,
        settlement.amounts.inscp_scp_amt,
        settlement.amounts.act_pay_dedc,
        settlement.amounts.hifp_pay,
        settlement.amounts.cvlserv_pay,
        settlement.amounts.hifes_pay,
        settlement.amounts.hifmi_pay,
        settlement.amounts.hifob_pay,
        settlement.amounts.maf_pay,
        settlement.amounts.oth_pay,
        settlement.amounts.fund_pay_sumamt,
        settlement.amounts.psn_part_amt,
        settlement.amounts.acct_pay,
        settlement.amounts.acct_mulaid_pay,
        settlement.amounts.psn_cash_pay,
        settlement.amounts.hosp_part_amt,
        settlement.amounts.balc,
    ];
    out.extend(settlement.setldetail.iter().map(|(_, amount)| *amount));
    out
}

/// A year-to-date state with zero map entries dropped (a zero entry and a missing one mean the
/// same; `Ytd::add` drops entries that reach zero).
fn without_zero_entries(mut ytd: Ytd) -> Ytd {
    ytd.chronic.retain(|_, amount| !amount.is_zero());
    ytd.other.retain(|_, amount| !amount.is_zero());
    ytd
}

/// Settles, treating a bill whose refunds exceed its charges as out of scope.
fn settle_ok(policy: &Policy, input: &SettleInput) -> Option<Settlement> {
    match settle(policy, input) {
        Ok(settlement) => Some(settlement),
        Err(SettleError::NegativeTotal { .. }) => None,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn identities_hold(policy in arb_policy(), input in arb_input()) {
        let Some(s) = settle_ok(&policy, &input) else { return Ok(()) };
        prop_assert_eq!(s.amounts.medfee_sumamt, s.amounts.fulamt_ownpay_amt + s.amounts.overlmt_selfpay + s.amounts.preselfpay_amt + s.amounts.inscp_scp_amt);
        prop_assert_eq!(s.amounts.medfee_sumamt, s.amounts.fund_pay_sumamt + s.amounts.psn_part_amt + s.amounts.hosp_part_amt);
        prop_assert_eq!(s.amounts.fund_pay_sumamt, s.amounts.hifp_pay + s.amounts.cvlserv_pay + s.amounts.hifes_pay + s.amounts.hifmi_pay + s.amounts.hifob_pay + s.amounts.maf_pay + s.amounts.oth_pay);
        prop_assert_eq!(s.amounts.psn_part_amt, s.amounts.acct_pay + s.amounts.psn_cash_pay);
        prop_assert!(s.amounts.acct_mulaid_pay <= s.amounts.acct_pay);
        prop_assert!(s.amounts.hifp_pay + s.amounts.hifob_pay + s.amounts.hifmi_pay + s.amounts.maf_pay <= s.amounts.inscp_scp_amt);
        prop_assert!(amounts(&s).iter().all(|amount| !amount.is_negative()));
        let detail: Fen = s.setldetail.iter().map(|(_, amount)| *amount).sum();
        prop_assert_eq!(detail, s.amounts.fund_pay_sumamt + s.amounts.acct_pay);
        prop_assert!(s.account_draws.own <= input.person.acct_balance);
        for (draw, balance) in s.account_draws.family.iter().zip(&input.person.mulaid_balances) {
            prop_assert!(draw <= balance);
        }
    }

    #[test]
    fn line_order_changes_nothing(policy in arb_policy(), input in arb_input(), seed in any::<u64>()) {
        let Some(forward) = settle_ok(&policy, &input) else { return Ok(()) };
        let mut shuffled = input.clone();
        shuffled.lines.reverse();
        let len = shuffled.lines.len();
        shuffled.lines.rotate_left((seed as usize) % len);
        let other = settle_ok(&policy, &shuffled).expect("same totals");
        prop_assert_eq!(amounts(&forward), amounts(&other));
        prop_assert_eq!(&forward.ytd_delta, &other.ytd_delta);
        prop_assert_eq!(&forward.account_draws, &other.account_draws);
    }

    #[test]
    fn no_fund_pays_more_than_its_cap_room(policy in arb_policy(), input in arb_input()) {
        let Some(s) = settle_ok(&policy, &input) else { return Ok(()) };
        let scheme = policy.scheme(input.person.insutype).expect("scheme");
        let before = &input.person.ytd;
        let mut after = before.clone();
        after.add(&s.ytd_delta);
        // Each accumulator ends at most at its cap, unless it was already above it (then it
        // does not grow).
        let within = |before: Fen, after: Fen, cap: Fen| after <= cap.max(before) && (before < cap || after == before);
        if let Some(inpatient) = &scheme.inpatient {
            prop_assert!(within(before.hifp_inpatient, after.hifp_inpatient, inpatient.annual_cap));
        }
        if let Some(outpatient) = scheme.outpatient.first() {
            prop_assert!(within(before.hifp_outpatient, after.hifp_outpatient, outpatient.annual_cap));
            prop_assert!(within(before.outpatient_deductible, after.outpatient_deductible, outpatient.annual_deductible));
        }
        if let Some(large_amount) = &scheme.large_amount {
            prop_assert!(within(before.hifob, after.hifob, large_amount.annual_cap));
        }
        if let Some(chronic) = &scheme.chronic {
            for disease in &chronic.diseases {
                prop_assert!(within(before.chronic_used(&disease.key), after.chronic_used(&disease.key), disease.quota));
            }
        }
        for layer in &s.trace.layers {
            if let Some(room) = layer.cap_room_before {
                prop_assert!(layer.amount <= room, "{:?} paid {} with room {}", layer.kind, layer.amount, room);
            }
        }
    }

    #[test]
    fn reversal_is_exact_negation(policy in arb_policy(), input in arb_input()) {
        let Some(s) = settle_ok(&policy, &input) else { return Ok(()) };
        let reversal = s.negated();
        prop_assert_eq!(amounts(&reversal)[..19].iter().map(|amount| -*amount).collect::<Vec<_>>(), amounts(&s)[..19].to_vec());
        let mut ytd = input.person.ytd.clone();
        ytd.add(&s.ytd_delta);
        ytd.add(&reversal.ytd_delta);
        prop_assert_eq!(without_zero_entries(ytd), without_zero_entries(input.person.ytd.clone()));
        prop_assert_eq!(reversal.negated().setldetail, s.setldetail.clone());
    }

    #[test]
    fn same_input_same_answer(policy in arb_policy(), input in arb_input()) {
        let first = settle(&policy, &input);
        let second = settle(&policy, &input);
        prop_assert_eq!(first, second);
    }
}
