//! The worked examples of spec enrollment.md §14, every printed figure asserted: amounts to the
//! fen, dates to the day.

use chrono::NaiveDate;
use yibao_core_types::Fen;
use yibao_enrollment::auto::{
    on_category_start, on_retirement, AutoResult, CategoryStart, PSN_TYPE_RETIRED,
};
use yibao_enrollment::builtin::{builtin_calendar, builtin_params, PARAM_FILES};
use yibao_enrollment::calendar::{receiving_deadline, sending_deadline, CalendarError};
use yibao_enrollment::contribution::{
    assess_resident, employee_monthly, refund_resident, retiree_monthly_credit, BaseClamp,
    CategorySpan, PayerLine, RefundFacts, ResidentAssessment, ResidentInput, ResidentKind,
};
use yibao_enrollment::duplicate::{resolve_duplicate, DuplicateRelation, Scheme};
use yibao_enrollment::params::{load, DuplicateRule, Params, Payer};
use yibao_enrollment::retirement::{retirement_check, Sex, YearsLedger};
use yibao_enrollment::waiting::{
    employee_gap, lapsed_years, resident_benefit, EmployeeGap, PaymentTiming, ResidentPayment,
    YearMonth,
};
use yibao_enrollment::{Category, HolidayCalendar};

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn yuan(text: &str) -> Fen {
    Fen::parse(text).unwrap()
}

fn params(admdvs: &str, year: i32) -> Params {
    builtin_params().unwrap().get(admdvs, year).unwrap().clone()
}

fn reference_text() -> &'static str {
    PARAM_FILES
        .iter()
        .find(|(name, _)| name.ends_with("140500-2025.toml"))
        .unwrap()
        .1
}

/// The reference set with one edit, loaded under another name.
fn reference_edited(from: &str, to: &str) -> Params {
    let text = reference_text();
    assert!(text.contains(from));
    load(&text.replacen(from, to, 1), "edited.toml").unwrap()
}

fn span(category: Category) -> CategorySpan {
    CategorySpan {
        category,
        valid_from: d("2015-01-01"),
        valid_to: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Example 1 — employees

#[test]
fn example_1_monthly_contributions_and_account_credits() {
    let params = params("140500", 2025);
    let employee = params.employee.as_ref().unwrap();
    assert_eq!(employee.base_floor_amount(), yuan("4200.00"));
    assert_eq!(employee.base_ceiling_amount(), yuan("21000.00"));

    let a = employee_monthly(&params, yuan("3800.00")).unwrap();
    assert_eq!(
        (
            a.base,
            a.clamp,
            a.employer,
            a.employee,
            a.to_account,
            a.to_pooled_fund
        ),
        (
            yuan("4200.00"),
            BaseClamp::Floor,
            yuan("336.00"),
            yuan("84.00"),
            yuan("84.00"),
            yuan("336.00")
        )
    );
    assert_eq!(a.maternity_share, yuan("21.00"));
    assert_eq!(Fen(a.to_account.0 * 12), yuan("1008.00"));

    let b = employee_monthly(&params, yuan("26000.00")).unwrap();
    assert_eq!(
        (
            b.base,
            b.clamp,
            b.employer,
            b.employee,
            b.to_account,
            b.to_pooled_fund
        ),
        (
            yuan("21000.00"),
            BaseClamp::Ceiling,
            yuan("1680.00"),
            yuan("420.00"),
            yuan("420.00"),
            yuan("1680.00")
        )
    );
}

#[test]
fn example_1_retirement_short_of_years() {
    let params = params("140500", 2025);
    // C: 240 months actual (144 local) + 36 deemed = 276 months.
    let before = YearsLedger {
        months_actual: 240,
        months_local_actual: 144,
        months_deemed: 36,
    };
    let check = retirement_check(&params, before, Sex::Male).unwrap();
    assert_eq!(check.cumulative_months, 276);
    assert_eq!(check.required_months, 300);
    assert_eq!(
        check.local_short, 0,
        "12 local years meet the 10-year minimum"
    );
    assert_eq!(check.cumulative_short, 24);
    assert_eq!(check.shortfall_months, 24);
    assert!(!check.met);
    assert_eq!(check.backpay, yuan("16800.00"));

    // Approved in June 2025: the registry notifies C of the back-payment.
    let notice = on_retirement(&params, before, Sex::Male, 60, d("2025-06-15")).unwrap();
    assert_eq!(
        notice.result,
        AutoResult::BackPayNotice {
            shortfall_months: 24,
            amount: yuan("16800.00")
        }
    );

    // C pays the lump sum on 2025-07-10: 300 months, retiree from July at 60.00 a month.
    let after = YearsLedger {
        months_actual: 264,
        months_local_actual: 168,
        months_deemed: 36,
    };
    assert_eq!(after.cumulative_months(), 300);
    let decision = on_retirement(&params, after, Sex::Male, 60, d("2025-07-10")).unwrap();
    assert_eq!(
        decision.result,
        AutoResult::Retiree {
            psn_type: PSN_TYPE_RETIRED,
            monthly_credit: yuan("60.00"),
            from: d("2025-07-01"),
        }
    );
    let monthly = retiree_monthly_credit(&params, 60).unwrap();
    assert_eq!(Fen(monthly.0 * 12), yuan("720.00"));
}

// ---------------------------------------------------------------------------------------------
// Example 2 — a resident household with identity subsidies

fn assess(
    params: &Params,
    kind: ResidentKind,
    tier: Option<&str>,
    categories: &[CategorySpan],
    benefit_year: i32,
) -> ResidentAssessment {
    assess_resident(
        params,
        ResidentInput {
            benefit_year,
            kind,
            chosen_tier: tier,
            categories,
            assessed_on: NaiveDate::from_ymd_opt(benefit_year - 1, 10, 1).unwrap(),
        },
    )
    .unwrap()
}

#[test]
fn example_2_qingdao_2019_household() {
    let params = params("370200", 2019);
    assert_eq!(params.year, 2019);
    let father = assess(&params, ResidentKind::Adult, Some("1"), &[], 2019);
    let mother = assess(
        &params,
        ResidentKind::Adult,
        Some("1"),
        &[span(Category::FormerlyPoor)],
        2019,
    );
    let son = assess(&params, ResidentKind::Child, None, &[], 2019);
    let grandmother = assess(&params, ResidentKind::Adult, Some("2"), &[], 2019);

    // (member, tier, total, finance, individual standard, subsidy, household pays)
    let rows = [
        (
            &father, "1", "1160.00", "730.00", "430.00", "0.00", "430.00",
        ),
        (
            &mother, "1", "1160.00", "730.00", "430.00", "430.00", "0.00",
        ),
        (&son, "2", "1005.00", "650.00", "355.00", "0.00", "355.00"),
        (
            &grandmother,
            "2",
            "1005.00",
            "650.00",
            "355.00",
            "0.00",
            "355.00",
        ),
    ];
    for (assessment, tier, total, finance, individual, subsidy, pays) in rows {
        assert_eq!(assessment.tier.id, tier);
        assert_eq!(assessment.tier.total, yuan(total));
        assert_eq!(assessment.tier.finance, yuan(finance));
        assert_eq!(assessment.tier.individual, yuan(individual));
        assert_eq!(
            assessment.subsidy.map_or(Fen::ZERO, |s| s.amount),
            yuan(subsidy)
        );
        assert_eq!(assessment.individual_due(), yuan(pays));
        assert_eq!(assessment.fund_income(), yuan(total));
    }
    let all = [&father, &mother, &son, &grandmother];
    let sum = |f: &dyn Fn(&ResidentAssessment) -> Fen| all.iter().map(|a| f(a)).sum::<Fen>();
    assert_eq!(sum(&|a| a.tier.total), yuan("4330.00"));
    assert_eq!(sum(&|a| a.tier.finance), yuan("2760.00"));
    assert_eq!(sum(&|a| a.tier.individual), yuan("1570.00"));
    assert_eq!(
        sum(&|a| a.subsidy.map_or(Fen::ZERO, |s| s.amount)),
        yuan("430.00")
    );
    assert_eq!(sum(&|a| a.individual_due()), yuan("1140.00"));
    // Check: 1,140.00 + 2,760.00 + 430.00 = 4,330.00 = fund income.
    assert_eq!(
        yuan("1140.00") + yuan("2760.00") + yuan("430.00"),
        sum(&|a| a.fund_income())
    );
    // The mother is enrolled without applying: fully subsidised, nothing sent for collection.
    let decisions = on_category_start(
        &params,
        CategoryStart {
            started: span(Category::FormerlyPoor),
            all_categories: &[],
            kind: ResidentKind::Adult,
            chosen_tier: Some("1"),
            benefit_year: 2019,
            has_paid_relation: false,
            as_of: d("2018-10-01"),
        },
    )
    .unwrap();
    assert_eq!(
        decisions.last().unwrap().result,
        AutoResult::Enroll {
            benefit_year: 2019,
            fully_subsidised: true,
            individual_due: Fen::ZERO
        }
    );
    // The mother's payer lines.
    assert_eq!(
        mother.lines,
        vec![
            PayerLine {
                payer: Payer::FinanceBase,
                amount: yuan("730.00")
            },
            PayerLine {
                payer: Payer::FinanceSpecial,
                amount: yuan("430.00")
            },
        ]
    );
}

/// Linyi 2023 as the spec's second table describes it: standard 350; 特困 paid in full by the
/// assistance fund; 低保, 返贫致贫, 低保边缘 and 监测对象 150 from the assistance fund and the
/// rest from the county budget. The finance part (640.00, the national 2023 minimum) is
/// illustrative; the table prints only individual parts.
const LINYI_2023: &str = r#"
admdvs = "371300"
year = 2023
title = "Linyi 2023 (subsidies as reported; finance illustrative)"

[resident]
children_tier = "1"
collection_start = "09-01"
collection_end = "12-31"
late_waiting_months = 3
payment_month_counts = true
waiting_exemptions = []
subsidy_reference = "assessment_date"
refund_after_year_start = false

[resident.newborn]
window_days = 90

[[resident.tier]]
id = "1"
total = "990.00"
finance = "640.00"
individual = "350.00"

[[resident.subsidy]]
categories = ["extremely_poor"]
kind = "full"
payer = "assistance_fund"

[[resident.subsidy]]
categories = ["dibao", "returned_to_poverty", "near_dibao", "monitored"]
kind = "full"
first_payer = "assistance_fund"
first_amount = "150.00"
payer = "finance_special"
"#;

fn individual_part(assessment: &ResidentAssessment) -> Vec<(Payer, Fen)> {
    assessment
        .lines
        .iter()
        .filter(|line| line.payer != Payer::FinanceBase)
        .map(|line| (line.payer, line.amount))
        .collect()
}

#[test]
fn example_2_linyi_2023_column() {
    let params = load(LINYI_2023, "371300-2023.toml").unwrap();
    let row = |categories: &[Category]| {
        let spans: Vec<CategorySpan> = categories.iter().map(|c| span(*c)).collect();
        assess(&params, ResidentKind::Adult, None, &spans, 2023)
    };
    let extremely_poor = row(&[Category::ExtremelyPoor]);
    assert_eq!(extremely_poor.individual_due(), Fen::ZERO);
    assert_eq!(
        individual_part(&extremely_poor),
        vec![(Payer::AssistanceFund, yuan("350.00"))]
    );
    for category in [Category::Dibao, Category::Monitored] {
        let assessment = row(&[category]);
        assert_eq!(assessment.individual_due(), Fen::ZERO);
        assert_eq!(
            individual_part(&assessment),
            vec![
                (Payer::AssistanceFund, yuan("150.00")),
                (Payer::FinanceSpecial, yuan("200.00"))
            ]
        );
    }
    let none = row(&[]);
    assert_eq!(
        individual_part(&none),
        vec![(Payer::Individual, yuan("350.00"))]
    );
    // The fund's income from the individual part is 350.00 in every row; only the payers change.
    for assessment in [&extremely_poor, &row(&[Category::Dibao]), &none] {
        let individual: Fen = individual_part(assessment).iter().map(|(_, a)| *a).sum();
        assert_eq!(individual, yuan("350.00"));
    }
}

#[test]
fn example_2_reference_column() {
    let params = params("140500", 2025);
    let row = |categories: &[Category]| {
        let spans: Vec<CategorySpan> = categories.iter().map(|c| span(*c)).collect();
        assess(&params, ResidentKind::Adult, None, &spans, 2025).individual_due()
    };
    assert_eq!(row(&[Category::ExtremelyPoor]), yuan("0.00"));
    assert_eq!(row(&[Category::Dibao]), yuan("200.00"));
    assert_eq!(row(&[Category::Monitored]), yuan("300.00"));
    // 低保 and 重度残疾, fixed 200 each: the most favourable single category, not 400.
    assert_eq!(
        row(&[Category::Dibao, Category::SevereDisability]),
        yuan("200.00")
    );
    assert_eq!(row(&[]), yuan("400.00"));
}

// ---------------------------------------------------------------------------------------------
// Example 3 — waiting periods, a duplicate and a transfer

fn collection_payment(lapsed: u32, repaired: u32) -> ResidentPayment {
    ResidentPayment {
        benefit_year: 2027,
        paid_on: d("2026-10-15"),
        lapsed_years: lapsed,
        repaired_years: repaired,
        exemption: None,
    }
}

#[test]
fn example_3a_lapse_and_repair() {
    let params = params("370200", 2027);
    assert_eq!(params.year, 2025, "the 2025 Qingdao rules stay in force");
    // Paid 2024, nothing for 2025 and 2026: two lapsed years.
    let lapsed = lapsed_years(&params, &[2023, 2024], 2027);
    assert_eq!(lapsed, 2);

    let period = resident_benefit(&params, collection_payment(lapsed, 0)).unwrap();
    assert_eq!(period.timing, PaymentTiming::CollectionPeriod);
    assert_eq!((period.fixed_months, period.variable_months), (3, 1));
    assert_eq!(period.waiting_months, 4);
    assert_eq!(
        (period.start, period.end),
        (d("2027-05-01"), d("2027-12-31"))
    );
    assert_eq!(period.repair_years_useful, 1);

    // Repairing one missed year removes the variable month.
    let repaired = resident_benefit(&params, collection_payment(lapsed, 1)).unwrap();
    assert_eq!(repaired.waiting_months, 3);
    assert_eq!(repaired.start, d("2027-04-01"));

    // Six lapsed years: 3 + 5 = 8 months.
    let long = resident_benefit(&params, collection_payment(6, 0)).unwrap();
    assert_eq!(long.waiting_months, 8);
    assert_eq!(long.start, d("2027-09-01"));
    assert_eq!(
        long.repair_years_useful, 2,
        "the registry offers at most two repair years"
    );
    let two = resident_benefit(&params, collection_payment(6, 2)).unwrap();
    assert_eq!(two.waiting_months, 6);
    assert_eq!(two.start, d("2027-07-01"));
    // Repairing more cannot go below the 6-month floor.
    let three = resident_benefit(&params, collection_payment(6, 3)).unwrap();
    assert_eq!(three.waiting_months, 6);
    assert_eq!(three.start, d("2027-07-01"));
    assert_eq!(three.repair_years_useful, 0);
}

#[test]
fn example_3b_late_payer_without_lapse() {
    let params = params("140500", 2027);
    let lapsed = lapsed_years(&params, &[2025, 2026], 2027);
    assert_eq!(lapsed, 0);
    let period = resident_benefit(
        &params,
        ResidentPayment {
            benefit_year: 2027,
            paid_on: d("2027-03-15"),
            lapsed_years: lapsed,
            repaired_years: 0,
            exemption: None,
        },
    )
    .unwrap();
    assert_eq!(period.timing, PaymentTiming::Late);
    assert_eq!(period.waiting_months, 3, "March, April, May");
    assert_eq!(period.start, d("2027-06-01"));

    // Fujian: 1 January – end of February extends the collection period, benefits that day.
    let fujian = reference_edited(
        "collection_end = \"12-31\"",
        "collection_end = \"12-31\"\nextension_end = \"02-29\"\nextension_waiting = false",
    );
    let period = resident_benefit(
        &fujian,
        ResidentPayment {
            benefit_year: 2027,
            paid_on: d("2027-02-15"),
            lapsed_years: 0,
            repaired_years: 0,
            exemption: None,
        },
    )
    .unwrap();
    assert_eq!(period.timing, PaymentTiming::Extension);
    assert_eq!(period.start, d("2027-02-15"));
}

fn example_3c_relations(params: &Params) -> (ResidentAssessment, ResidentAssessment) {
    let county = assess(params, ResidentKind::Adult, None, &[], 2027);
    let city = assess(params, ResidentKind::Adult, None, &[], 2027);
    assert_eq!(county.individual_due(), yuan("400.00"));
    (county, city)
}

#[test]
fn example_3c_duplicate_residents() {
    let params = params("140500", 2027);
    let (county_assessment, city_assessment) = example_3c_relations(&params);
    let not_started = RefundFacts {
        benefits_used: false,
        benefit_year_started: false,
    };
    let county = DuplicateRelation {
        relation_id: "county-390",
        scheme: Scheme::Resident,
        admdvs: "140525",
        continuous_employee_months: 0,
        is_place_of_employment: false,
        is_place_of_study: false,
        is_habitual_residence: false,
        paid_on: d("2026-10-10"),
        chosen_by_person: false,
        assessment: Some(&county_assessment),
        refund_facts: not_started,
    };
    let city = DuplicateRelation {
        relation_id: "city-390",
        admdvs: "140502",
        is_habitual_residence: true,
        paid_on: d("2026-11-20"),
        assessment: Some(&city_assessment),
        ..county.clone()
    };
    let decision = resolve_duplicate(&params, [&county, &city], false).unwrap();
    assert_eq!(decision.rule, DuplicateRule::HabitualResidence);
    assert_eq!(decision.keep, "city-390");
    assert_eq!(decision.terminate, "county-390");
    let refund = decision.refund.unwrap();
    assert_eq!(refund.to_person, yuan("400.00"));
    assert_eq!(
        refund.reversals,
        vec![PayerLine {
            payer: Payer::FinanceBase,
            amount: yuan("700.00")
        }],
        "the county's finance subsidy is reversed between funds, not paid out"
    );

    // A region applying "first paid" keeps the home county.
    let first_paid = reference_edited(
        "order = [\"employee_continuous\", \"place_of_employment\", \"place_of_study\", \"habitual_residence\", \"first_paid\"]",
        "order = [\"first_paid\"]",
    );
    let decision = resolve_duplicate(&first_paid, [&county, &city], false).unwrap();
    assert_eq!(decision.rule, DuplicateRule::FirstPaid);
    assert_eq!(decision.keep, "county-390");
    assert_eq!(decision.refund.unwrap().to_person, yuan("400.00"));

    // Once the benefit year has started, the reference region refunds nothing.
    let started = DuplicateRelation {
        refund_facts: RefundFacts {
            benefits_used: false,
            benefit_year_started: true,
        },
        ..county.clone()
    };
    let decision = resolve_duplicate(&params, [&started, &city], false).unwrap();
    assert!(decision.refund.is_none());
    assert!(decision.refund_refused.is_some());
    assert!(refund_resident(&params, &county_assessment, started.refund_facts).is_err());
}

#[test]
fn example_3d_transfer() {
    // The spec says there are no public holidays in the span; the shipped calendar has no
    // notice for 2027 yet and refuses, so the test states the span's calendar itself.
    assert_eq!(
        sending_deadline(
            d("2027-03-08"),
            params("140500", 2027).transfer.as_ref().unwrap(),
            &builtin_calendar().unwrap()
        ),
        Err(CalendarError::YearNotCovered(2027))
    );
    let mut calendar = HolidayCalendar::default();
    calendar.add_year(2027, &[], &[]).unwrap();

    let xiangtan_transfer = params("140500", 2027).transfer.clone().unwrap();
    let sending = sending_deadline(d("2027-03-08"), &xiangtan_transfer, &calendar).unwrap();
    assert_eq!(sending.working_days, 10);
    assert_eq!(sending.due, d("2027-03-22"));
    let qingdao = params("370200", 2027);
    let receiving = receiving_deadline(
        d("2027-03-22"),
        qingdao.transfer.as_ref().unwrap(),
        &calendar,
    )
    .unwrap();
    assert_eq!(receiving.working_days, 5);
    assert_eq!(receiving.due, d("2027-03-29"));

    // Had both cities been in Shandong: 9 working days, by Friday 2027-03-19.
    let mut shandong = xiangtan_transfer.clone();
    shandong.sending_working_days = 9;
    assert_eq!(
        sending_deadline(d("2027-03-08"), &shandong, &calendar)
            .unwrap()
            .due,
        d("2027-03-19")
    );

    // The gap (February) is under 3 months: back-paid, covered retroactively. The gap rule is
    // the national one (医保办发〔2021〕43号), stated in the reference set.
    let gap = employee_gap(
        &params("140500", 2027),
        YearMonth::new(2027, 1).unwrap(),
        YearMonth::new(2027, 3).unwrap(),
    )
    .unwrap();
    assert_eq!(
        gap,
        EmployeeGap::BackPay {
            months: vec![YearMonth::new(2027, 2).unwrap()]
        }
    );

    // His years ledger: 96 months from Xiangtan plus Qingdao's from March (here through
    // December 2027, with February back-paid).
    let qingdao_months = 10 + 1;
    let ledger = YearsLedger {
        months_actual: 96 + qingdao_months,
        months_local_actual: qingdao_months,
        months_deemed: 0,
    };
    assert_eq!(ledger.cumulative_months(), 107);
}
