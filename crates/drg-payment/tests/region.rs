//! The regional configuration file: the demo region parses to the documented values, and bad
//! files are refused with the field and the reason.

use std::path::Path;

use yibao_drg_payment::region::{parse_ppm, parse_region};

fn demo_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../regions/demo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn demo_region_parses_to_exact_ppm_values() {
    let region = parse_region(&demo_text()).unwrap();
    assert_eq!(region.name, "demo");
    assert_eq!(
        (region.weights.trim_ppm, region.weights.min_cases),
        (25_000, 5)
    );
    assert_eq!(
        region.drg.level_coefficient_ppm,
        [750_000, 950_000, 1_100_000]
    );
    let tiers: Vec<(Option<i64>, i64)> = region
        .drg
        .high_tiers
        .iter()
        .map(|t| (t.base_points_upto_e4, t.multiple_ppm))
        .collect();
    assert_eq!(
        tiers,
        vec![
            (Some(1_000_000), 3_000_000),
            (Some(3_000_000), 2_000_000),
            (None, 1_500_000)
        ]
    );
    assert_eq!(region.drg.low_ratio_ppm, 400_000);
    assert_eq!(region.drg.ungrouped_factor_ppm, 900_000);
    assert_eq!(region.drg.special_review.cases_cap_ppm, 50_000);
    assert_eq!(region.dip.core_min_cases, 15);
    assert!(region.dip.grassroots_categories.contains("J18"));
    assert_eq!(region.settlement.overspend_bands[0].share_ppm, 700_000);
    assert_eq!(region.budget_growth_ppm, 30_000);
    assert_eq!(region.drg_history_blend_ppm, Some(500_000));
    let without = parse_region(&demo_text().replace("history_blend = \"0.5\"\n", "")).unwrap();
    assert_eq!(without.drg_history_blend_ppm, None);
}

#[test]
fn decimals_parse_exactly_or_name_the_field() {
    assert_eq!(parse_ppm("x", "1.05"), Ok(1_050_000));
    assert_eq!(parse_ppm("x", "0.000001"), Ok(1));
    assert_eq!(parse_ppm("x", "-0.5"), Ok(-500_000));
    assert_eq!(parse_ppm("x", "3"), Ok(3_000_000));
    for (text, reason) in [
        ("1.0000001", "`1.0000001` has more than 6 decimals"),
        ("1.", "`1.` is not a decimal number"),
        (".5", "`.5` is not a decimal number"),
        ("1e3", "`1e3` is not a decimal number"),
        ("", "`` is not a decimal number"),
    ] {
        assert_eq!(
            parse_ppm("drg.low_ratio", text).unwrap_err().to_string(),
            format!("configuration field `drg.low_ratio` {reason}")
        );
    }
}

#[test]
fn bad_region_files_are_refused_with_field_and_reason() {
    let demo = demo_text();
    let cases = [
        (demo.replace("low_ratio = \"0.4\"", "low_ratio = \"0.4x\""), "configuration field `drg.low_ratio` `0.4x` is not a decimal number"),
        (
            demo.replace("base_points_upto = \"300\"", "base_points_upto = \"50\""),
            "configuration field `drg.high_tiers[1]` tier ends must be positive and ascending",
        ),
        (
            demo.replace("level3 = \"1.1\"", "level3 = \"0\""),
            "configuration field `drg.level_coefficients.level3` 0 ppm is not 1 to 100000000",
        ),
        (demo.replace("core_min_cases = 15", "core_min_cases = 0"), "configuration field `dip.core_min_cases` must be at least 1"),
        (
            demo.replace("upto = \"0.15\"\nshare = \"0.5\"", "share = \"0.5\""),
            "configuration field `settlement.surplus_bands[1]` only the last band may be open-ended",
        ),
        (
            demo.replace("history_blend = \"0.5\"", "history_blend = \"1.5\""),
            "configuration field `drg.history_blend` is not 0 to 1",
        ),
        (demo.replace("growth = \"0.03\"", "growth = \"2\""), "configuration field `budget.growth` is not -1 to 1"),
    ];
    for (text, want) in cases {
        assert_eq!(parse_region(&text).unwrap_err().to_string(), want);
    }
    let unknown = demo.replace("[budget]", "[budget]\nsurprise = 1");
    let err = parse_region(&unknown).unwrap_err().to_string();
    assert!(
        err.starts_with("configuration field `(region file)` unknown field `surprise`"),
        "{err}"
    );
}
