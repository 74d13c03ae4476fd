//! Small cases for the rules the worked examples do not reach: maternity allowance, newborn
//! windows, employee gaps, local-years shortfalls, 免申即享 decisions and duplicate rule order.

use chrono::NaiveDate;
use yibao_core_types::Fen;
use yibao_enrollment::auto::{
    on_birth, on_category_start, on_discharge, AutoResult, CategoryStart, ChronicDisease,
    RULE_CATEGORY_ASSISTANCE, RULE_CATEGORY_ENROLL, RULE_CATEGORY_SUBSIDY, RULE_CHRONIC_PROPOSAL,
};
use yibao_enrollment::builtin::builtin_params;
use yibao_enrollment::contribution::{CategorySpan, PayerLine, RefundFacts, ResidentKind};
use yibao_enrollment::duplicate::{resolve_duplicate, DuplicateRelation, Scheme};
use yibao_enrollment::maternity::{maternity_allowance, MaternityCase};
use yibao_enrollment::params::{DeliveryType, DuplicateRule, Params, Payer};
use yibao_enrollment::retirement::{retirement_check, Sex, YearsLedger};
use yibao_enrollment::waiting::{
    employee_gap, newborn_benefit, EmployeeGap, NewbornStart, YearMonth,
};
use yibao_enrollment::{Category, EngineError};

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn yuan(text: &str) -> Fen {
    Fen::parse(text).unwrap()
}

fn reference() -> Params {
    builtin_params()
        .unwrap()
        .get("140500", 2025)
        .unwrap()
        .clone()
}

fn qingdao() -> Params {
    builtin_params()
        .unwrap()
        .get("370200", 2026)
        .unwrap()
        .clone()
}

#[test]
fn maternity_allowance_by_delivery_type() {
    let params = reference();
    let case = |wage: &str, delivery, babies, months| MaternityCase {
        employer_average_wage: yuan(wage),
        delivery,
        babies,
        continuous_months: months,
    };
    // (case, leave days, amount)
    let cases = [
        (case("9000.00", DeliveryType::Normal, 1, 12), 98, "29400.00"),
        (
            case("9000.00", DeliveryType::Difficult, 2, 12),
            128,
            "38400.00",
        ),
        // 7,000.01 ÷ 30 × 15 = 3,500.005: half-up to 3,500.01.
        (
            case("7000.01", DeliveryType::MiscarriageUnder4Months, 0, 6),
            15,
            "3500.01",
        ),
        (
            case("6000.00", DeliveryType::MiscarriageFrom4Months, 0, 6),
            42,
            "8400.00",
        ),
    ];
    for (case, days, amount) in cases {
        let allowance = maternity_allowance(&params, case).unwrap();
        assert_eq!(
            (allowance.leave_days, allowance.amount),
            (days, yuan(amount))
        );
    }
    assert_eq!(
        maternity_allowance(&params, case("9000.00", DeliveryType::Normal, 1, 5)),
        Err(EngineError::NotQualified(
            "5 continuous contribution months, 6 required".into()
        ))
    );
    assert!(matches!(
        maternity_allowance(&qingdao(), case("9000.00", DeliveryType::Normal, 1, 12)),
        Err(EngineError::MissingSection {
            section: "maternity",
            ..
        })
    ));
}

#[test]
fn newborn_windows() {
    // Reference: 90 days; the window crosses the year end, so both years are paid.
    let inside = newborn_benefit(&reference(), d("2026-11-20"), d("2027-01-10")).unwrap();
    assert_eq!(inside.rule, NewbornStart::FromBirth);
    assert_eq!(inside.window_ends, d("2027-02-18"));
    assert_eq!(
        (inside.period.start, inside.period.end),
        (d("2026-11-20"), d("2027-12-31"))
    );
    assert_eq!(inside.years_to_pay, vec![2026, 2027]);
    // After the window, an ordinary late payer: March counts, benefits from June.
    let late = newborn_benefit(&reference(), d("2026-11-20"), d("2027-03-01")).unwrap();
    assert_eq!(late.rule, NewbornStart::OrdinaryLate);
    assert_eq!(late.period.start, d("2027-06-01"));

    // Qingdao: 6 months from birth; 6–12 months, from the month after payment.
    let second = newborn_benefit(&qingdao(), d("2026-01-15"), d("2026-09-10")).unwrap();
    assert_eq!(second.rule, NewbornStart::MonthAfterPayment);
    assert_eq!(second.period.start, d("2026-10-01"));
    let after = newborn_benefit(&qingdao(), d("2026-01-15"), d("2027-02-01")).unwrap();
    assert_eq!(after.rule, NewbornStart::OrdinaryLate);
    assert_eq!(after.period.start, d("2027-05-01"));
    assert!(matches!(
        newborn_benefit(&qingdao(), d("2026-01-15"), d("2026-01-14")),
        Err(EngineError::DateOrder { .. })
    ));
}

#[test]
fn employee_gaps() {
    let params = reference();
    let ym = |year, month| YearMonth::new(year, month).unwrap();
    assert_eq!(
        employee_gap(&params, ym(2026, 1), ym(2026, 2)),
        Ok(EmployeeGap::None)
    );
    assert_eq!(
        employee_gap(&params, ym(2025, 11), ym(2026, 3)),
        Ok(EmployeeGap::BackPay {
            months: vec![ym(2025, 12), ym(2026, 1), ym(2026, 2)]
        })
    );
    assert_eq!(
        employee_gap(&params, ym(2026, 1), ym(2026, 6)),
        Ok(EmployeeGap::Waiting {
            gap_months: 4,
            waiting_months_max: 6
        })
    );
    assert!(employee_gap(&params, ym(2026, 3), ym(2026, 3)).is_err());
    assert!(YearMonth::new(2026, 13).is_err());
}

#[test]
fn local_years_shortfall_is_back_paid_too() {
    let params = reference();
    let check = retirement_check(
        &params,
        YearsLedger {
            months_actual: 300,
            months_local_actual: 100,
            months_deemed: 0,
        },
        Sex::Male,
    )
    .unwrap();
    assert_eq!((check.cumulative_short, check.local_short), (0, 20));
    assert_eq!(check.shortfall_months, 20);
    assert_eq!(check.backpay, yuan("14000.00"));
    let woman = retirement_check(
        &params,
        YearsLedger {
            months_actual: 200,
            months_local_actual: 200,
            months_deemed: 40,
        },
        Sex::Female,
    )
    .unwrap();
    assert!(woman.met);
    assert_eq!(woman.backpay, Fen::ZERO);
}

fn start(category: Category, paid: bool) -> Vec<(&'static str, AutoResult)> {
    let started = CategorySpan {
        category,
        valid_from: d("2025-03-01"),
        valid_to: None,
    };
    on_category_start(
        &reference(),
        CategoryStart {
            started,
            all_categories: &[],
            kind: ResidentKind::Adult,
            chosen_tier: None,
            benefit_year: 2025,
            has_paid_relation: paid,
            as_of: d("2025-03-10"),
        },
    )
    .unwrap()
    .into_iter()
    .map(|decision| (decision.rule_id, decision.result))
    .collect()
}

#[test]
fn category_start_decisions() {
    let line = |payer, amount| PayerLine {
        payer,
        amount: yuan(amount),
    };
    assert_eq!(
        start(Category::Dibao, false),
        vec![
            (
                RULE_CATEGORY_SUBSIDY,
                AutoResult::Subsidy {
                    benefit_year: 2025,
                    category: Category::Dibao,
                    amount: yuan("200.00"),
                    lines: vec![
                        line(Payer::Individual, "200.00"),
                        line(Payer::FinanceBase, "700.00"),
                        line(Payer::AssistanceFund, "200.00"),
                    ],
                    individual_due: yuan("200.00"),
                }
            ),
            (
                RULE_CATEGORY_ASSISTANCE,
                AutoResult::Assistance {
                    category: Category::Dibao,
                    class: 2,
                    from: d("2025-03-01"),
                    until: None
                }
            ),
            (
                RULE_CATEGORY_ENROLL,
                AutoResult::Enroll {
                    benefit_year: 2025,
                    fully_subsidised: false,
                    individual_due: yuan("200.00")
                }
            ),
        ]
    );
    let extremely_poor = start(Category::ExtremelyPoor, false);
    assert_eq!(
        extremely_poor.last().unwrap().1,
        AutoResult::Enroll {
            benefit_year: 2025,
            fully_subsidised: true,
            individual_due: Fen::ZERO
        }
    );
    // Severe disability has no assistance class here; already paid: no enrollment.
    let rules: Vec<&str> = start(Category::SevereDisability, true)
        .into_iter()
        .map(|(rule, _)| rule)
        .collect();
    assert_eq!(rules, vec![RULE_CATEGORY_SUBSIDY]);
    // A category with no subsidy and no class gives nothing once enrolled.
    assert!(start(Category::MedicalCare, true).is_empty());
}

#[test]
fn chronic_disease_proposals_and_newborns() {
    let list = [
        ChronicDisease {
            disease_code: "M00100".into(),
            disease_name: "高血压".into(),
            diagnosis_prefixes: vec!["I10".into()],
        },
        ChronicDisease {
            disease_code: "M00200".into(),
            disease_name: "糖尿病".into(),
            diagnosis_prefixes: vec!["E10".into(), "E11".into()],
        },
    ];
    let proposals = on_discharge(&["J18.900", "i10.x00"], &list).unwrap();
    assert_eq!(proposals.len(), 1);
    assert_eq!(proposals[0].rule_id, RULE_CHRONIC_PROPOSAL);
    assert_eq!(
        proposals[0].result,
        AutoResult::ChronicProposal {
            disease_code: "M00100".into(),
            disease_name: "高血压".into(),
            diagnosis: "I10.X00".into()
        }
    );
    assert!(on_discharge(&["J18.900"], &list).unwrap().is_empty());

    let birth = on_birth(&reference(), d("2026-11-20"), &[]).unwrap();
    assert_eq!(
        birth.result,
        AutoResult::NewbornPreRegistration {
            birth: d("2026-11-20"),
            pay_by: d("2027-02-18"),
            amount_due: yuan("400.00"),
            years_to_pay: vec![2026, 2027],
        }
    );
}

fn relation(
    id: &'static str,
    scheme: Scheme,
    months: u32,
    paid_on: &str,
) -> DuplicateRelation<'static> {
    DuplicateRelation {
        relation_id: id,
        scheme,
        admdvs: "140500",
        continuous_employee_months: months,
        is_place_of_employment: false,
        is_place_of_study: false,
        is_habitual_residence: false,
        paid_on: d(paid_on),
        chosen_by_person: false,
        assessment: None,
        refund_facts: RefundFacts {
            benefits_used: false,
            benefit_year_started: false,
        },
    }
}

#[test]
fn duplicate_rule_order() {
    let params = reference();
    let employee = relation("e", Scheme::Employee, 12, "2026-12-01");
    let resident = relation("r", Scheme::Resident, 0, "2026-10-01");
    let decision = resolve_duplicate(&params, [&resident, &employee], false).unwrap();
    assert_eq!(
        (decision.rule, decision.keep.as_str()),
        (DuplicateRule::EmployeeContinuous, "e")
    );
    // Eleven months: rule 1 does not decide; the resident was paid first.
    let short = relation("e", Scheme::Employee, 11, "2026-12-01");
    let decision = resolve_duplicate(&params, [&resident, &short], false).unwrap();
    assert_eq!(
        (decision.rule, decision.keep.as_str()),
        (DuplicateRule::FirstPaid, "r")
    );
    // Two employee relations: the place of employment.
    let here = DuplicateRelation {
        is_place_of_employment: true,
        ..relation("here", Scheme::Employee, 30, "2026-12-01")
    };
    let there = relation("there", Scheme::Employee, 30, "2026-01-01");
    let decision = resolve_duplicate(&params, [&there, &here], false).unwrap();
    assert_eq!(
        (decision.rule, decision.keep.as_str()),
        (DuplicateRule::PlaceOfEmployment, "here")
    );
    // A student: the place of study, before habitual residence.
    let school = DuplicateRelation {
        is_place_of_study: true,
        ..relation("school", Scheme::Resident, 0, "2026-12-01")
    };
    let home = DuplicateRelation {
        is_habitual_residence: true,
        ..relation("home", Scheme::Resident, 0, "2026-09-01")
    };
    let decision = resolve_duplicate(&params, [&home, &school], true).unwrap();
    assert_eq!(
        (decision.rule, decision.keep.as_str()),
        (DuplicateRule::PlaceOfStudy, "school")
    );
    // Nothing decides: paid the same day, no other fact.
    let a = relation("a", Scheme::Resident, 0, "2026-10-01");
    let b = relation("b", Scheme::Resident, 0, "2026-10-01");
    assert_eq!(
        resolve_duplicate(&params, [&a, &b], false),
        Err(EngineError::DuplicateUndecided("a".into(), "b".into()))
    );
}

#[test]
fn the_subsidy_reference_date_is_a_parameter() {
    use yibao_enrollment::contribution::{assess_resident, ResidentInput};
    // 低保 ended on 2025-11-30; the 2026 assessment is made on 2025-12-15.
    let ended = [CategorySpan {
        category: Category::Dibao,
        valid_from: d("2024-01-01"),
        valid_to: Some(d("2025-11-30")),
    }];
    let input = ResidentInput {
        benefit_year: 2026,
        kind: ResidentKind::Adult,
        chosen_tier: None,
        categories: &ended,
        assessed_on: d("2025-12-15"),
    };
    let on_date = assess_resident(&reference(), input).unwrap();
    assert_eq!(on_date.individual_due(), yuan("400.00"));
    let text = yibao_enrollment::builtin::PARAM_FILES[0].1;
    let period = yibao_enrollment::load(
        &text.replace(
            "subsidy_reference = \"assessment_date\"",
            "subsidy_reference = \"collection_period\"",
        ),
        "140500-2025.toml",
    )
    .unwrap();
    let in_window = assess_resident(&period, input).unwrap();
    assert_eq!(in_window.individual_due(), yuan("200.00"));
}
