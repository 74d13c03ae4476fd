//! `yibao drg simulate-year`: generate a region's synthetic inpatient history and the following
//! year, group both with the CHS-DRG 1.1 grouper, learn DRG weights and a DIP catalogue from the
//! history, and pay the year's hospitals by DRG points and DIP scores under a budget.
//!
//! Everything is deterministic in `--seed`. The payment engine is `yibao-drg-payment`; this
//! module only reads files, runs the steps and prints (a table by default, JSON with `--json`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use yibao_drg::{group, CaseRecord, GroupConfig, GroupStatus, Scheme, Sex};

use crate::drg_group::{find_data_dir, scheme_for};
use yibao_drg_payment::dip::{
    build_dip_catalogue, dip_case_scores, DipCaseKind, DipGroupKind, ProcedureClassifier,
};
use yibao_drg_payment::drg::{
    coefficients_from_history, drg_case_points, hospital_coefficient_ppm, hospital_indices,
    DrgCaseKind, HospitalIndices,
};
use yibao_drg_payment::exact::{div_round_half_up, PPM};
use yibao_drg_payment::model::validate_cases;
use yibao_drg_payment::region::{parse_region, parse_scaled, RegionConfig};
use yibao_drg_payment::settle::{settle_year, YearSettlement};
use yibao_drg_payment::synth::{
    synth_region, synth_year, AdrgCodes, SchemeCodes, Section, SexRule, SynthCase,
};
use yibao_drg_payment::weights::build_weights;
use yibao_drg_payment::{DrgCode, Hospital, InpatientCase};

/// Cases per simulated year: five million is a province; more would only fill memory.
const CASES_MAX: usize = 5_000_000;
/// Hospitals in a simulated region.
const HOSPITALS_MAX: usize = 10_000;
/// Targets from `spec/demo-city.md`: cost per inpatient stay.
const TARGET_MEDIAN_COST_FEN: i64 = 600_000;
const TARGET_MEAN_COST_FEN: i64 = 1_000_000;

/// Which payment methods to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// DRG points only.
    Drg,
    /// DIP scores only.
    Dip,
    /// Both.
    Both,
}

/// Arguments of `yibao drg simulate-year`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Inpatient stays per year (the history year and the paid year each have this many).
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Inpatient hospitals in the region.
    #[arg(long, default_value_t = 135)]
    pub hospitals: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Payment method(s) to compute.
    #[arg(long, value_enum, default_value_t = Method::Both)]
    pub method: Method,
    /// The year's fund budget for inpatient payment in yuan (e.g. `512345678.90`) [default: last
    /// year's fund spending × (1 + the region's growth)].
    #[arg(long)]
    pub budget: Option<String>,
    /// Regional payment configuration [default: the checkout's `regions/demo.toml`].
    #[arg(long)]
    pub region: Option<PathBuf>,
    /// Directory with the CHS-DRG 1.1 tables [default: the checkout's `data/chs-drg-1.1`, else the
    /// copy compiled into the binary].
    #[arg(long)]
    pub scheme_dir: Option<PathBuf>,
    /// Directory with the code lists [default: the checkout's `data/codes`].
    #[arg(long)]
    pub codes_dir: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn checkout_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.cases == 0 || args.cases > CASES_MAX {
        bail!("--cases: {} is not 1 to {CASES_MAX}", args.cases);
    }
    if args.hospitals == 0 || args.hospitals > HOSPITALS_MAX {
        bail!(
            "--hospitals: {} is not 1 to {HOSPITALS_MAX}",
            args.hospitals
        );
    }
    let budget_fen = match &args.budget {
        None => None,
        Some(text) => {
            let fen = parse_scaled("--budget", text, 2)?;
            if fen < 0 {
                bail!("--budget: `{text}` is negative");
            }
            Some(fen)
        }
    };
    let region_path = args
        .region
        .clone()
        .unwrap_or_else(|| checkout_path("regions/demo.toml"));
    let region = parse_region(&read(&region_path)?)
        .with_context(|| format!("region file {}", region_path.display()))?;
    let codes_dir = args
        .codes_dir
        .clone()
        .or_else(|| find_data_dir("codes"))
        .unwrap_or_else(|| checkout_path("data/codes"));
    let scheme = scheme_for(args.scheme_dir.as_deref())?;
    let diagnoses = read_code_column(&codes_dir.join("icd10_yb2.0_diagnoses.csv"))?;
    let procedures = read_code_column(&codes_dir.join("icd9cm3_yb2.0_procedures.csv"))?;
    let codes = scheme_codes(&scheme, &diagnoses, &procedures);

    let synth = synth_region(&codes, args.hospitals, args.seed)?;
    let history_synth = synth_year(&synth, &codes, 0, args.cases, 1)?;
    let year_synth = synth_year(&synth, &codes, 1, args.cases, args.cases as u64 + 1)?;
    let (history, history_grouping) = group_year(&scheme, &codes, &history_synth)?;
    let (year, year_grouping) = group_year(&scheme, &codes, &year_synth)?;
    validate_cases(&history, &synth.hospitals)?;
    validate_cases(&year, &synth.hospitals)?;

    let history_fund_fen: i64 = history
        .iter()
        .map(|c| c.cost_fen - c.insured_share_fen)
        .sum();
    let budget_fen = match budget_fen {
        Some(b) => b,
        None => yibao_funds::pricing::grown_budget(history_fund_fen, region.budget_growth_ppm)?,
    };

    let mut report = json!({
        "region": region.name,
        "seed": args.seed,
        "cases_per_year": args.cases,
        "hospitals": args.hospitals,
        "budget_fen": budget_fen,
        "calibration": calibration(&year),
        "grouping": { "history": history_grouping, "year": year_grouping },
    });
    if matches!(args.method, Method::Drg | Method::Both) {
        report["drg"] = drg_report(&region, &synth.hospitals, &history, &year, budget_fen)?;
    }
    if matches!(args.method, Method::Dip | Method::Both) {
        report["dip"] = dip_report(
            &region,
            &scheme,
            &synth.hospitals,
            &history,
            &year,
            budget_fen,
        )?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_tables(&report, &synth.hospitals));
    }
    Ok(ExitCode::SUCCESS)
}

/// The first column (`code`) of a code list CSV with a header line.
fn read_code_column(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = read(path)?;
    let mut lines = text.lines();
    match lines.next() {
        Some(header) if header.starts_with("code,") => {}
        _ => bail!(
            "{}: the first line is not a `code,…` header",
            path.display()
        ),
    }
    Ok(lines
        .filter_map(|line| line.split(',').next())
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_string)
        .collect())
}

/// Common ordinary secondary diagnoses (hypertension, diabetes, lipids, fatty liver …): the
/// categories the generator draws plain secondaries from.
const PLAIN_SECONDARY_CATEGORIES: [&str; 12] = [
    "I10", "E11", "E78", "K76", "I25", "E03", "K21", "M81", "J45", "E66", "K80", "H52",
];

/// The code lists the generator draws from, taken from the loaded scheme: per ADRG its reachable
/// principal diagnoses and its procedure lists. MDCP (newborns: age and weight tests), MDCZ
/// (multiple trauma: body-region counts) and ADRGs with procedure classes, OR-list tests or
/// exclusions are left out, so every generated case is meant for one ADRG.
fn scheme_codes(scheme: &Scheme, diagnoses: &[String], procedures: &[String]) -> SchemeCodes {
    let mut all_principal: BTreeSet<&str> = BTreeSet::new();
    let mut general_principal: Vec<String> = Vec::new();
    for mdc in scheme.mdcs() {
        all_principal.extend(mdc.principal_diagnoses.iter().map(String::as_str));
        if !matches!(
            mdc.code.as_str(),
            "MDCP" | "MDCY" | "MDCZ" | "MDCM" | "MDCN" | "MDCO"
        ) {
            general_principal.extend(mdc.principal_diagnoses.iter().cloned());
        }
    }
    let mut adrg_procedures: HashSet<&str> = HashSet::new();
    let mut adrgs = Vec::new();
    for (idx, adrg) in scheme.adrgs().iter().enumerate() {
        let lists = &adrg.lists;
        adrg_procedures.extend(lists.procedures.iter().map(String::as_str));
        adrg_procedures.extend(lists.procedures2.iter().map(String::as_str));
        for (_, class) in &lists.procedure_classes {
            adrg_procedures.extend(class.iter().map(String::as_str));
        }
        let mdc = scheme.mdc(adrg.mdc);
        let skipped_mdc = matches!(mdc.code.as_str(), "MDCP" | "MDCZ");
        let special = !lists.procedure_classes.is_empty()
            || matches!(adrg.code.as_str(), "YC1" | "ZZ1")
            || (adrg.section != yibao_drg::Section::Medical && lists.procedures.is_empty());
        if skipped_mdc || special {
            continue;
        }
        let reachable = scheme.reachable_principal_diagnoses(adrg_idx(scheme, idx));
        let principal_dx: Vec<String> = if !lists.diagnoses.is_empty() {
            reachable.into_iter().map(str::to_string).collect()
        } else if mdc.principal_diagnoses.is_empty() {
            general_principal.clone()
        } else {
            mdc.principal_diagnoses.clone()
        };
        if principal_dx.is_empty() {
            continue;
        }
        let section = match adrg.section {
            yibao_drg::Section::Surgical => Section::Surgical,
            yibao_drg::Section::NonOrProcedure => Section::NonOrProcedure,
            yibao_drg::Section::Medical => Section::Medical,
        };
        let sex = match mdc.code.as_str() {
            "MDCM" => SexRule::Male,
            "MDCN" | "MDCO" => SexRule::Female,
            _ => SexRule::Any,
        };
        // Transplants, ECMO and long ventilation (MDCA) cost many times a typical operation.
        let cost_factor_ppm = if mdc.code == "MDCA" {
            8_000_000
        } else {
            1_000_000
        };
        adrgs.push(AdrgCodes {
            adrg: adrg.code.clone(),
            section,
            sex,
            principal_dx,
            main_procedures: lists.procedures.clone(),
            second_procedures: lists.procedures2.clone(),
            cost_factor_ppm,
        });
    }
    let category = |code: &str| code.get(..3).unwrap_or(code).to_string();
    let plain_secondary: Vec<String> = diagnoses
        .iter()
        .filter(|code| PLAIN_SECONDARY_CATEGORIES.contains(&category(code).as_str()))
        .filter(|code| scheme.cc_level_of(code) == yibao_drg::CcLevel::None)
        .cloned()
        .collect();
    let ungroupable_dx: Vec<String> = diagnoses
        .iter()
        .filter(|code| !all_principal.contains(code.as_str()) && scheme.knows_diagnosis(code))
        .cloned()
        .collect();
    // Imaging and tests (ICD-9-CM-3 87–89) that no ADRG reads and that are not OR procedures.
    let extra_procedures: Vec<String> = procedures
        .iter()
        .filter(|code| matches!(code.get(..2), Some("87" | "88" | "89")))
        .filter(|code| !adrg_procedures.contains(code.as_str()) && !scheme.is_or_procedure(code))
        .cloned()
        .collect();
    SchemeCodes {
        adrgs,
        mcc: scheme.mcc_codes().to_vec(),
        cc: scheme.cc_codes().to_vec(),
        plain_secondary,
        ungroupable_dx,
        extra_procedures,
    }
}

fn adrg_idx(scheme: &Scheme, idx: usize) -> yibao_drg::AdrgIdx {
    scheme
        .find_adrg(&scheme.adrgs()[idx].code)
        .expect("the scheme's own ADRG")
}

/// Groups a generated year and turns it into payment cases; returns grouping counts.
fn group_year(
    scheme: &Scheme,
    codes: &SchemeCodes,
    cases: &[SynthCase],
) -> anyhow::Result<(Vec<InpatientCase>, Value)> {
    let config = GroupConfig::default();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut as_intended = 0_u64;
    let mut intended_total = 0_u64;
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let record = CaseRecord {
            diagnoses: case.diagnoses.clone(),
            procedures: case.procedures.clone(),
            sex: Some(if case.sex == 1 {
                Sex::Male
            } else {
                Sex::Female
            }),
            age_years: Some(i64::from(case.age_years)),
            age_days: Some(i64::from(case.age_days)),
            birth_weight_g: None,
        };
        let result = group(&record, scheme, &config);
        let status = match result.status {
            GroupStatus::Grouped => "grouped",
            GroupStatus::Ungroupable => "ungroupable",
            GroupStatus::Ambiguous => "ambiguous",
            GroupStatus::Invalid(_) => "invalid",
        };
        *counts.entry(status).or_default() += 1;
        if let Some(target) = case.target_adrg {
            intended_total += 1;
            if result.adrg_code(scheme) == codes.adrgs[target].adrg {
                as_intended += 1;
            }
        }
        let drg = match result.status {
            GroupStatus::Grouped => Some(
                DrgCode::parse(result.drg_code(scheme))
                    .map_err(|reason| anyhow::anyhow!("grouper result: {reason}"))?,
            ),
            _ => None,
        };
        out.push(case.to_inpatient(drg));
    }
    let summary = json!({
        "cases": cases.len(),
        "grouped": counts.get("grouped").copied().unwrap_or(0),
        "ungroupable": counts.get("ungroupable").copied().unwrap_or(0),
        "ambiguous": counts.get("ambiguous").copied().unwrap_or(0),
        "invalid": counts.get("invalid").copied().unwrap_or(0),
        "drawn_for_an_adrg": intended_total,
        "grouped_to_that_adrg": as_intended,
    });
    Ok((out, summary))
}

/// The year's cost and stay figures beside the targets of `spec/demo-city.md`.
fn calibration(cases: &[InpatientCase]) -> Value {
    let mut costs: Vec<i64> = cases.iter().map(|c| c.cost_fen).collect();
    costs.sort_unstable();
    let n = costs.len() as i128;
    let total: i64 = costs.iter().sum();
    let insured: i64 = cases.iter().map(|c| c.insured_share_fen).sum();
    let days: i64 = cases.iter().map(|c| i64::from(c.stay_days)).sum();
    json!({
        "median_cost_fen": costs[costs.len() / 2],
        "mean_cost_fen": round(i128::from(total), n),
        "target_median_cost_fen": TARGET_MEDIAN_COST_FEN,
        "target_mean_cost_fen": TARGET_MEAN_COST_FEN,
        "p90_cost_fen": costs[costs.len() * 9 / 10],
        "mean_stay_days_e2": round(i128::from(days) * 100, n),
        "fund_share_ppm": round(i128::from(total - insured) * PPM, i128::from(total.max(1))),
        "target_fund_share": "550000-650000 ppm of total medical cost (all care; inpatient runs higher)",
    })
}

fn round(num: i128, den: i128) -> i64 {
    i64::try_from(div_round_half_up(num, den.max(1))).expect("fits")
}

fn kind_counts<K: Copy + Ord>(
    kinds: impl Iterator<Item = K>,
    label: fn(K) -> &'static str,
) -> Value {
    let mut counts: BTreeMap<K, u64> = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    Value::Object(
        counts
            .into_iter()
            .map(|(k, n)| (label(k).to_string(), json!(n)))
            .collect(),
    )
}

fn settlement_json(
    year: &YearSettlement,
    hospitals: &[Hospital],
    indices: Option<&[HospitalIndices]>,
) -> Value {
    let months: Vec<Value> = year
        .months
        .iter()
        .map(|m| {
            json!({
                "month": m.month,
                "budget_fen": m.budget_fen,
                "pool_fen": m.point_value.map(|v| v.pool_fen),
                "total_points_e4": m.point_value.map(|v| v.total_points_e4),
                "fen_per_point_e4": m.point_value.map(|v| v.fen_per_point_e4()),
            })
        })
        .collect();
    let rows: Vec<Value> = year
        .hospitals
        .iter()
        .zip(hospitals)
        .enumerate()
        .map(|(idx, (h, info))| {
            let mut row = json!({
                "code": info.code,
                "level": info.level.number(),
                "cases": h.n_cases,
                "points_e4": h.points_e4,
                "cost_fen": h.cost_fen,
                "insured_share_fen": h.insured_share_fen,
                "settlement_fen": h.settlement_fen,
                "retained_surplus_fen": h.retained_surplus_fen,
                "recovered_surplus_fen": h.recovered_surplus_fen,
                "shared_overspend_fen": h.shared_overspend_fen,
                "absorbed_overspend_fen": h.absorbed_overspend_fen,
                "fund_payment_fen": h.fund_payment_fen,
                "provisional_fund_fen": h.provisional_fund_fen,
                "true_up_fen": h.true_up_fen,
            });
            if let Some(indices) = indices {
                row["cmi_ppm"] = json!(indices[idx].cmi_ppm);
                row["cost_index_ppm"] = json!(indices[idx].cost_index_ppm);
                row["time_index_ppm"] = json!(indices[idx].time_index_ppm);
            }
            row
        })
        .collect();
    json!({
        "budget_fen": year.budget_fen,
        "insured_share_fen": year.insured_share_fen,
        "point_value": {
            "pool_fen": year.point_value.pool_fen,
            "total_points_e4": year.point_value.total_points_e4,
            "fen_per_point_e4": year.point_value.fen_per_point_e4(),
        },
        "reserve_net_fen": year.reserve_net_fen(),
        "fund_payment_fen": year.hospitals.iter().map(|h| h.fund_payment_fen).sum::<i64>(),
        "months": months,
        "hospitals": rows,
    })
}

fn drg_report(
    region: &RegionConfig,
    hospitals: &[Hospital],
    history: &[InpatientCase],
    year: &[InpatientCase],
    budget_fen: i64,
) -> anyhow::Result<Value> {
    let table = build_weights(history, &region.weights)?;
    // 差异系数: the level's, or each hospital's historical cost index moved toward 1.
    let mut hospitals = hospitals.to_vec();
    if let Some(blend_ppm) = region.drg_history_blend_ppm {
        let history_indices = hospital_indices(history, hospitals.len(), &table);
        let coefficients = coefficients_from_history(&history_indices, blend_ppm);
        for (hospital, coefficient) in hospitals.iter_mut().zip(coefficients) {
            hospital.coefficient_ppm = coefficient;
        }
    }
    let hospitals = &hospitals[..];
    let points = drg_case_points(year, hospitals, &table, &region.drg)?;
    let indices = hospital_indices(year, hospitals.len(), &table);
    let points_e4: Vec<i64> = points.iter().map(|p| p.points_e4).collect();
    let settlement = settle_year(
        year,
        &points_e4,
        hospitals.len(),
        budget_fen,
        &region.settlement,
    )?;
    let mut report = settlement_json(&settlement, hospitals, Some(&indices));
    for (row, hospital) in report["hospitals"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .zip(hospitals)
    {
        row["coefficient_ppm"] = json!(hospital_coefficient_ppm(
            hospital,
            &region.drg.level_coefficient_ppm
        ));
    }
    report["weights"] = json!({
        "history_cases": table.n_history_cases,
        "trimmed_cases": table.n_trimmed,
        "stable_drgs": table.drgs.len(),
        "unstable_drgs": table.unstable.len(),
        "overall_mean_cost_fen": table.overall_mean_cost.rounded(),
    });
    report["case_kinds"] = kind_counts(points.iter().map(|p| p.kind), DrgCaseKind::label);
    Ok(report)
}

fn dip_report(
    region: &RegionConfig,
    scheme: &Scheme,
    hospitals: &[Hospital],
    history: &[InpatientCase],
    year: &[InpatientCase],
    budget_fen: i64,
) -> anyhow::Result<Value> {
    let classifier = ProcedureClassifier {
        or_procedures: scheme
            .or_procedures()
            .iter()
            .map(|p| p.code.clone())
            .collect(),
    };
    let catalogue = build_dip_catalogue(history, hospitals, &classifier, &region.dip)?;
    let scores = dip_case_scores(year, hospitals, &catalogue, &classifier, &region.dip)?;
    let points_e4: Vec<i64> = scores.iter().map(|s| s.points_e4).collect();
    let settlement = settle_year(
        year,
        &points_e4,
        hospitals.len(),
        budget_fen,
        &region.settlement,
    )?;
    let mut report = settlement_json(&settlement, hospitals, None);
    let core_cases: u64 = catalogue
        .groups
        .iter()
        .filter(|g| g.kind == DipGroupKind::Core)
        .map(|g| g.n_cases)
        .sum();
    report["catalogue"] = json!({
        "core_groups": catalogue.n_core(),
        "comprehensive_groups": catalogue.groups.len() - catalogue.n_core(),
        "grassroots_groups": catalogue.groups.iter().filter(|g| g.grassroots).count(),
        "history_cases_in_core_groups": core_cases,
        "overall_mean_cost_fen": catalogue.overall_mean_cost.rounded(),
    });
    report["case_kinds"] = kind_counts(scores.iter().map(|s| s.kind), DipCaseKind::label);
    Ok(report)
}

/// Fen as yuan with two decimals.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        fen.unsigned_abs() / 100,
        fen.unsigned_abs() % 100
    )
}

/// A ppm value as a decimal with four places (rounded half up).
fn ratio(ppm: i64) -> String {
    let e4 = round(i128::from(ppm), 100);
    format!("{}.{:04}", e4 / 10_000, e4 % 10_000)
}

/// Fen per point (1/10000 fen) as yuan per point with four places.
fn point_value(fen_per_point_e4: i64) -> String {
    let yuan_e4 = round(i128::from(fen_per_point_e4), 100);
    format!("{}.{:04}", yuan_e4 / 10_000, yuan_e4 % 10_000)
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

fn render_tables(report: &Value, hospitals: &[Hospital]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let calibration = &report["calibration"];
    let _ = writeln!(
        out,
        "region {}  seed {}  {} stays a year  {} hospitals  budget {} yuan",
        report["region"].as_str().unwrap_or(""),
        report["seed"],
        report["cases_per_year"],
        report["hospitals"],
        yuan(int(&report["budget_fen"])),
    );
    let _ = writeln!(
        out,
        "cost per stay: median {} (target {}), mean {} (target {}), p90 {} yuan; mean stay {} days; fund share {}",
        yuan(int(&calibration["median_cost_fen"])),
        yuan(int(&calibration["target_median_cost_fen"])),
        yuan(int(&calibration["mean_cost_fen"])),
        yuan(int(&calibration["target_mean_cost_fen"])),
        yuan(int(&calibration["p90_cost_fen"])),
        yuan(int(&calibration["mean_stay_days_e2"])),
        ratio(int(&calibration["fund_share_ppm"])),
    );
    for (label, grouping) in [
        ("history", &report["grouping"]["history"]),
        ("year", &report["grouping"]["year"]),
    ] {
        let _ = writeln!(
            out,
            "grouping ({label}): {} grouped, {} ungroupable, {} ambiguous, {} invalid; {} of {} drawn for an ADRG grouped to it",
            grouping["grouped"], grouping["ungroupable"], grouping["ambiguous"], grouping["invalid"],
            grouping["grouped_to_that_adrg"], grouping["drawn_for_an_adrg"],
        );
    }
    for method in ["drg", "dip"] {
        let section = &report[method];
        if section.is_null() {
            continue;
        }
        let _ = writeln!(out);
        if method == "drg" {
            let w = &section["weights"];
            let _ = writeln!(
                out,
                "DRG points: {} stable DRGs, {} unstable, {} history cases trimmed, overall mean {} yuan",
                w["stable_drgs"], w["unstable_drgs"], w["trimmed_cases"], yuan(int(&w["overall_mean_cost_fen"])),
            );
        } else {
            let c = &section["catalogue"];
            let _ = writeln!(
                out,
                "DIP scores: {} core groups ({} history cases), {} comprehensive, {} grassroots, overall mean {} yuan",
                c["core_groups"], c["history_cases_in_core_groups"], c["comprehensive_groups"],
                c["grassroots_groups"], yuan(int(&c["overall_mean_cost_fen"])),
            );
        }
        let _ = writeln!(out, "case kinds: {}", section["case_kinds"]);
        let value = &section["point_value"];
        let _ = writeln!(
            out,
            "annual point value {} yuan/point = pool {} yuan / {} points; reserve net {} yuan; fund pays {} yuan",
            point_value(int(&value["fen_per_point_e4"])),
            yuan(int(&value["pool_fen"])),
            ratio(int(&value["total_points_e4"]) * 100),
            yuan(int(&section["reserve_net_fen"])),
            yuan(int(&section["fund_payment_fen"])),
        );
        let months: Vec<String> = section["months"]
            .as_array()
            .map(|months| {
                months
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}",
                            m["month"],
                            point_value(int(&m["fen_per_point_e4"]))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "monthly provisional point values: {}",
            months.join(" ")
        );
        let _ = writeln!(
            out,
            "{:<6} {:>2} {:>7} {:>7} {:>7} {:>8} {:>8} {:>16} {:>16} {:>14} {:>14} {:>16} {:>15}",
            "code",
            "lv",
            "cases",
            "coef",
            "CMI",
            "cost-ix",
            "time-ix",
            "cost",
            "settlement",
            "retained",
            "shared",
            "fund payment",
            "true-up",
        );
        for (row, _) in section["hospitals"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(hospitals)
        {
            let index = |key: &str| row.get(key).map_or("-".to_string(), |v| ratio(int(v)));
            let _ = writeln!(
                out,
                "{:<6} {:>2} {:>7} {:>7} {:>7} {:>8} {:>8} {:>16} {:>16} {:>14} {:>14} {:>16} {:>15}",
                row["code"].as_str().unwrap_or(""),
                int(&row["level"]),
                int(&row["cases"]),
                index("coefficient_ppm"),
                index("cmi_ppm"),
                index("cost_index_ppm"),
                index("time_index_ppm"),
                yuan(int(&row["cost_fen"])),
                yuan(int(&row["settlement_fen"])),
                yuan(int(&row["retained_surplus_fen"])),
                yuan(int(&row["shared_overspend_fen"])),
                yuan(int(&row["fund_payment_fen"])),
                yuan(int(&row["true_up_fen"])),
            );
        }
    }
    out
}
