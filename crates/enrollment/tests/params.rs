//! Parameter files: the shipped sets load, and malformed files are refused naming the file, the
//! key and the reason.

use yibao_core_types::{Fen, Ratio};
use yibao_enrollment::builtin::PARAM_FILES;
use yibao_enrollment::params::{load, NewbornWindow, ParamsError, SubsidyKind};

fn reference_text() -> &'static str {
    PARAM_FILES
        .iter()
        .find(|(name, _)| name.ends_with("140500-2025.toml"))
        .unwrap()
        .1
}

#[test]
fn the_reference_set_reads_as_the_spec_states() {
    let params = load(reference_text(), "140500-2025.toml").unwrap();
    let employee = params.employee.as_ref().unwrap();
    assert_eq!(employee.base_floor_amount(), Fen::yuan(4_200));
    assert_eq!(employee.base_ceiling_amount(), Fen::yuan(21_000));
    assert_eq!(employee.employer_rate, Ratio::percent(8));
    let resident = params.resident.as_ref().unwrap();
    assert_eq!(resident.tiers[0].individual, Fen::yuan(400));
    assert_eq!(resident.newborn.window, NewbornWindow::Days(90));
    assert_eq!(
        resident.subsidies[1].kind,
        SubsidyKind::Fixed(Fen::yuan(200))
    );
    let retirement = params.retirement.as_ref().unwrap();
    assert_eq!(retirement.min_months_men, 300);
}

/// Replaces `from` (which must occur) in the reference text.
fn edited(from: &str, to: &str) -> String {
    let text = reference_text();
    assert!(text.contains(from), "the reference file has no {from:?}");
    text.replacen(from, to, 1)
}

fn refused(text: &str) -> ParamsError {
    load(text, "140500-2025.toml").expect_err("the file must be refused")
}

/// Malformed files, each refused with its key and reason.
#[test]
fn malformed_files_are_refused_with_file_key_and_reason() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            edited("title =", "colour = \"red\"\ntitle ="),
            "colour",
            "unknown field `colour`",
        ),
        (
            edited("employee_rate = \"0.02\"\n", ""),
            "employee",
            "missing field `employee_rate`",
        ),
        (
            edited("finance = \"700.00\"", "finance = \"-700.00\""),
            "resident.tier[0].finance",
            "must not be negative",
        ),
        (
            edited("finance = \"700.00\"", "finance = \"710.00\""),
            "resident.tier[0].total",
            "finance 710.00 + individual 400.00 is not the total 1100.00",
        ),
        (
            edited("amount = \"200.00\"", "amount = \"200.001\""),
            "resident.subsidy[1].amount",
            "more than 2 decimal places",
        ),
        (
            edited("categories = [\"dibao\"", "categories = [\"dibaoo\""),
            "resident.subsidy[1].categories[0]",
            "unknown category \"dibaoo\"",
        ),
        (
            edited("payer = \"finance_special\"", "payer = \"individual\""),
            "resident.subsidy[3].payer",
            "individual cannot carry a subsidy",
        ),
        (
            edited("kind = \"full\"", "kind = \"all\""),
            "resident.subsidy[0].kind",
            "\"all\" is not known",
        ),
        (
            edited("children_tier = \"1\"", "children_tier = \"2\""),
            "resident.children_tier",
            "no tier has id \"2\"",
        ),
        (
            edited("maternity_rate = \"0.005\"", "maternity_rate = \"0.09\""),
            "employee.maternity_rate",
            "cannot exceed it",
        ),
        (
            edited("base_floor = \"0.6\"", "base_floor = \"4\""),
            "employee.base_floor",
            "is above base_ceiling",
        ),
        (
            edited("collection_end = \"12-31\"", "collection_end = \"13-01\""),
            "resident.collection_end",
            "must be a month and day MM-DD",
        ),
        (
            edited("window_days = 90", "window_days = 90\nwindow_months = 6"),
            "resident.newborn",
            "exactly one of window_days and window_months",
        ),
        (
            edited("\"first_paid\"]", "\"first_paid\", \"first_paid\"]"),
            "duplicate.order[5]",
            "first_paid appears twice",
        ),
        (
            edited(
                "\"habitual_residence\", \"first_paid\"]",
                "\"habitual_residence\"]",
            ),
            "duplicate.order",
            "must end with first_paid or persons_choice",
        ),
        (
            edited("\"newborn\", \"assistance", "\"newbornx\", \"assistance"),
            "resident.waiting_exemptions[0]",
            "unknown exemption \"newbornx\"",
        ),
        (
            edited("year = 2025", "year = 2026"),
            "admdvs",
            "the file is named 140500-2025 but holds 140500-2026",
        ),
        (
            edited("late_waiting_months = 3", "late_waiting_months = -3"),
            "resident.late_waiting_months",
            "invalid value",
        ),
        (
            edited("from_age = 0", "from_age = 60"),
            "employee.retiree_credit[0].from_age",
            "the first band starts at 0",
        ),
        (
            "admdvs = ".to_owned(),
            "line 1",
            "string values must be quoted",
        ),
        (edited("[transfer]", "[transfer\n"), "line 92", ""),
    ];
    let mut wrong = Vec::new();
    for (text, key, reason) in cases {
        let error = refused(&text);
        assert_eq!(error.file, "140500-2025.toml");
        if error.key != key || !error.reason.contains(reason) {
            wrong.push(format!("expected {key}: {reason:?}, got {error}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn two_sets_for_one_region_and_year_are_refused() {
    let text = reference_text();
    let error = yibao_enrollment::ParamSet::load(&[
        ("a/140500-2025.toml", text),
        ("b/140500-2025.toml", text),
    ])
    .unwrap_err();
    assert_eq!(error.file, "b/140500-2025.toml");
    assert_eq!(error.reason, "140500-2025 is loaded twice");
}

#[test]
fn a_county_reads_its_prefectures_set_and_an_unknown_province_none() {
    let params = yibao_enrollment::builtin_params().unwrap();
    let county = params
        .get_pooled("140525", 2026)
        .expect("Jincheng's set for a county");
    assert_eq!(county.admdvs, "140500");
    assert!(params.get("140525", 2026).is_none());
    assert!(params.get_pooled("110101", 2026).is_none());
    assert!(params.get_pooled("14", 2026).is_none());
}
