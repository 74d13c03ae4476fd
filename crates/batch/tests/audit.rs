//! The batch rules on DataFusion against a real export of a store on SQLite and PostgreSQL: every
//! planted case found (recall 100 %) and nothing else — the near-misses just outside each
//! threshold, the same institution, a reversed settlement — with the measures, dates and fund
//! amounts (exact decimals) of the hits; parameters move the thresholds; a parameter out of
//! range, an unknown rule, a year without data and a missing partition are errors naming them.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod plant;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use plant::*;
use yibao_batch::audit::{rules, BatchOptions};
use yibao_batch::{
    export_parquet, run_batch, BatchError, BatchReport, ExportOptions, PseudonymKey,
};
use yibao_store::SettlementView;

/// The planted claims of every rule, with their near-misses; the settlements that must be hit,
/// as (rule, setl_id).
async fn plant_all(db: &TestDb) -> (BTreeSet<(String, String)>, Planted) {
    let mut hits = BTreeSet::new();
    // BHV-08 (P001): stay B at the clinic begins two days before stay A at the hospital ends.
    // Stay C begins on B's discharge day: no overlap. B and C are at one institution but with
    // unrelated diagnoses: no split stay either.
    let a = stay(
        db,
        HOSPITAL,
        "A",
        "P001",
        ("2025-03-01", "2025-03-10"),
        "I10.x00",
    )
    .await;
    let b = stay(
        db,
        CLINIC,
        "B",
        "P001",
        ("2025-03-08", "2025-03-12"),
        "J18.900",
    )
    .await;
    stay(
        db,
        CLINIC,
        "C",
        "P001",
        ("2025-03-12", "2025-03-15"),
        "K29.700",
    )
    .await;
    hits.insert(("BHV-08".to_owned(), b.setl_id.clone()));

    // BHV-07 (P002): in hospital from 1 to 10 April; a clinic visit on the 5th and a pharmacy
    // sale on the 6th are hits. Not hits: visits on the admission and the discharge day, a
    // visit at the hospital itself, and a clinic visit reversed.
    let s = stay(
        db,
        HOSPITAL,
        "S",
        "P002",
        ("2025-04-01", "2025-04-10"),
        "I63.900",
    )
    .await;
    let inside = visit(db, CLINIC, "V1", "P002", "2025-04-05", "11").await;
    let sale = visit(db, PHARMACY, "V2", "P002", "2025-04-06", "41").await;
    visit(db, CLINIC, "V3", "P002", "2025-04-01", "11").await;
    visit(db, CLINIC, "V4", "P002", "2025-04-10", "11").await;
    visit(db, HOSPITAL, "V5", "P002", "2025-04-07", "11").await;
    let reversed = visit(db, CLINIC, "V6", "P002", "2025-04-08", "11").await;
    reverse(db, CLINIC, &reversed, "P002", "2025-04-08").await;
    hits.insert(("BHV-07".to_owned(), inside.setl_id.clone()));
    hits.insert(("BHV-07".to_owned(), sale.setl_id.clone()));

    // BHV-01 (P004, all at the hospital): readmitted 15 days after a discharge with the same
    // category I10 (hit); 16 days after the next discharge (not a hit by default); a planned
    // cycle Z51 seven days after another (excluded).
    stay(
        db,
        HOSPITAL,
        "D1",
        "P004",
        ("2025-06-01", "2025-06-05"),
        "I10.x00",
    )
    .await;
    let split = stay(
        db,
        HOSPITAL,
        "D2",
        "P004",
        ("2025-06-20", "2025-06-25"),
        "I10.x05",
    )
    .await;
    let late = stay(
        db,
        HOSPITAL,
        "D3",
        "P004",
        ("2025-07-11", "2025-07-15"),
        "I10.x00",
    )
    .await;
    stay(
        db,
        HOSPITAL,
        "D4",
        "P004",
        ("2025-08-01", "2025-08-03"),
        "Z51.100",
    )
    .await;
    let cycle = stay(
        db,
        HOSPITAL,
        "D5",
        "P004",
        ("2025-08-10", "2025-08-12"),
        "Z51.102",
    )
    .await;
    hits.insert(("BHV-01".to_owned(), split.setl_id.clone()));

    // BHV-02: P005 nine times at the clinic within 30 days (1 to 30 September: the ninth is a
    // hit) and eight times at the hospital (never more than eight); P003 nine times at the
    // clinic over 31 days (the window ending on the ninth holds eight).
    let mut ninth = None;
    for (idx, day) in [1, 4, 7, 10, 13, 16, 19, 22, 30].into_iter().enumerate() {
        let v = visit(
            db,
            CLINIC,
            &format!("F{idx}"),
            "P005",
            &format!("2025-09-{day:02}"),
            "11",
        )
        .await;
        ninth = Some(v);
    }
    for (idx, day) in [2, 5, 8, 11, 14, 17, 20, 23].into_iter().enumerate() {
        visit(
            db,
            HOSPITAL,
            &format!("G{idx}"),
            "P005",
            &format!("2025-09-{day:02}"),
            "11",
        )
        .await;
    }
    for (idx, day) in [1, 4, 7, 10, 13, 16, 19, 22, 31].into_iter().enumerate() {
        visit(
            db,
            CLINIC,
            &format!("H{idx}"),
            "P003",
            &format!("2025-10-{day:02}"),
            "11",
        )
        .await;
    }
    let ninth = ninth.expect("nine visits");
    hits.insert(("BHV-02".to_owned(), ninth.setl_id.clone()));
    let planted = Planted {
        overlap_earlier: a,
        overlap_later: b,
        stay: s,
        inside,
        split,
        late,
        cycle,
        ninth,
    };
    (hits, planted)
}

/// The settlements the assertions look at beyond the hit set.
struct Planted {
    overlap_earlier: SettlementView,
    overlap_later: SettlementView,
    stay: SettlementView,
    inside: SettlementView,
    split: SettlementView,
    late: SettlementView,
    cycle: SettlementView,
    ninth: SettlementView,
}

fn options(year: i32, rules: &[&str], params: &[(&str, &str)]) -> BatchOptions {
    BatchOptions {
        year,
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

async fn run(dir: &Path, options: &BatchOptions) -> Result<BatchReport, BatchError> {
    run_batch(dir, options, &mut |_| {}).await
}

/// The behaviour rules' hits (the models, run beside them, have their own tests in
/// `models.rs` and `pharmacy.rs`).
fn hit_set(report: &BatchReport) -> BTreeSet<(String, String)> {
    report
        .rules
        .iter()
        .filter(|r| ["BHV-01", "BHV-02", "BHV-07", "BHV-08"].contains(&r.rule.rule_id))
        .flat_map(|r| {
            r.findings
                .iter()
                .map(|f| (f.rule_id.clone(), f.setl_id.clone()))
        })
        .collect()
}

#[tokio::test]
async fn planted_cases_are_found_exactly() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        let (expected, p) = plant_all(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let key = PseudonymKey::load_or_create(&dir.path().join("key")).unwrap();
        let export = ExportOptions {
            out: &out,
            key: &key,
            admdvs: None,
            month: None,
        };
        export_parquet(&db.store, &export, &mut |_| {})
            .await
            .unwrap();

        let mut steps = Vec::new();
        let report = run_batch(&out, &options(2025, &[], &[]), &mut |s: &str| {
            steps.push(s.to_owned())
        })
        .await
        .unwrap_or_else(|e| panic!("[{}] batch: {e}", db.label));
        assert_eq!(report.rules.len(), rules().count());
        assert_eq!(
            hit_set(&report),
            expected,
            "[{}] {:#?}",
            db.label,
            report.rules
        );
        assert!(steps.iter().any(|s| s.contains("BHV-08")), "{steps:?}");

        let find = |rule: &str| {
            let r = report
                .rules
                .iter()
                .find(|r| r.rule.rule_id == rule)
                .unwrap();
            r.findings.clone()
        };
        let overlaps = find("BHV-08");
        let overlap = &overlaps[0];
        assert_eq!(overlap.psn_pseudonym, key.pseudonym("psn_no", "P001"));
        assert_eq!(overlap.fixmedins_code, CLINIC);
        assert_eq!(
            (overlap.begin_date.as_str(), overlap.end_date.as_deref()),
            ("2025-03-08", Some("2025-03-12"))
        );
        assert_eq!(
            overlap.other_setl_id.as_deref(),
            Some(p.overlap_earlier.setl_id.as_str())
        );
        assert_eq!(overlap.other_fixmedins_code.as_deref(), Some(HOSPITAL));
        assert_eq!(overlap.measure, 2, "overlap 8 to 10 March");
        assert_eq!(
            overlap.fund_pay_sumamt,
            yuan(p.overlap_later.amounts.fund_pay_sumamt.0),
            "the stay's fund payment, exact"
        );
        assert!(
            overlap.vola_cont.contains("重叠2天"),
            "{}",
            overlap.vola_cont
        );

        let ghost = find("BHV-07");
        assert_eq!(ghost.len(), 2);
        assert_eq!(ghost[0].setl_id, p.inside.setl_id);
        assert_eq!(ghost[0].measure, 4, "the 4th day after admission");
        assert_eq!(
            ghost[0].other_setl_id.as_deref(),
            Some(p.stay.setl_id.as_str())
        );
        assert_eq!(
            ghost[0].fund_pay_sumamt,
            yuan(p.inside.amounts.fund_pay_sumamt.0)
        );
        assert_eq!(ghost[1].fixmedins_code, PHARMACY);
        assert!(
            ghost[1].vola_cont.contains("购药"),
            "{}",
            ghost[1].vola_cont
        );

        let splits = find("BHV-01");
        let split = &splits[0];
        assert_eq!(split.setl_id, p.split.setl_id);
        assert_eq!(split.measure, 15);
        assert_eq!(split.other_end_date.as_deref(), Some("2025-06-05"));
        assert_eq!(split.code.as_deref(), Some("I10.x05"));

        let frequents = find("BHV-02");
        let frequent = &frequents[0];
        assert_eq!(frequent.setl_id, p.ninth.setl_id);
        assert_eq!(frequent.measure, 9);
        assert_eq!(frequent.other_begin_date.as_deref(), Some("2025-09-01"));

        // Parameters move the thresholds: 16 days catches the later readmission, no excluded
        // prefix catches the planned cycle; nine visits allowed clears P005.
        let wider = run(
            &out,
            &options(
                2025,
                &["BHV-01", "BHV-02"],
                &[
                    ("BHV-01.interval_days", "16"),
                    ("BHV-01.excluded_dx", ""),
                    ("BHV-02.max_visits", "9"),
                ],
            ),
        )
        .await
        .unwrap();
        assert_eq!(wider.rules.len(), 2);
        let got = hit_set(&wider);
        let want: BTreeSet<(String, String)> = [&p.split, &p.late, &p.cycle]
            .iter()
            .map(|s| ("BHV-01".to_owned(), s.setl_id.clone()))
            .collect();
        assert_eq!(got, want, "[{}]", db.label);

        // A year without settlements is an error naming the year, before any rule runs.
        let err = run(&out, &options(2024, &[], &[])).await.unwrap_err();
        assert!(
            matches!(&err, BatchError::BadInput { field, .. } if field == "year"),
            "{err}"
        );
        assert!(err.to_string().contains("2024"), "{err}");

        // A missing partition is named.
        let gone = out.join("diagnoses/admdvs=140500/month=2025-04/part-0.parquet");
        std::fs::remove_file(&gone).unwrap();
        let err = run(&out, &options(2025, &[], &[])).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("diagnoses/admdvs=140500/month=2025-04/part-0.parquet"),
            "{err}"
        );
        db
    })
    .await;
}

#[tokio::test]
async fn bad_rules_and_parameters_are_refused_by_name_before_reading() {
    // No export at all: the options are checked first.
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-export");
    for (params, field, reason) in [
        (
            vec![("BHV-01.interval_days", "60")],
            "BHV-01.interval_days",
            "outside the allowed range 7–31",
        ),
        (
            vec![("BHV-01.interval_days", "6")],
            "BHV-01.interval_days",
            "outside",
        ),
        (
            vec![("BHV-02.max_visits", "many")],
            "BHV-02.max_visits",
            "not a whole number",
        ),
        (
            vec![("BHV-02.nope", "1")],
            "BHV-02.nope",
            "no parameter nope",
        ),
        (vec![("BHV-99.days", "1")], "BHV-99.days", "no batch rule"),
        (
            vec![("BHV-01.excluded_dx", "Z51|'; DROP")],
            "BHV-01.excluded_dx",
            "not a code prefix",
        ),
    ] {
        let err = run(&nowhere, &options(2025, &[], &params))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BatchError::BadInput { field: f, .. } if f == field),
            "{err}"
        );
        assert!(err.to_string().contains(reason), "{err}");
    }
    let err = run(&nowhere, &options(2025, &["BHV-99"], &[]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("rule: no batch rule BHV-99"),
        "{err}"
    );
    let err = run(&nowhere, &options(12025, &[], &[])).await.unwrap_err();
    assert!(err.to_string().starts_with("year"), "{err}");
    // Good options on a directory that is no export: the manifest is named.
    let err = run(&nowhere, &options(2025, &[], &[])).await.unwrap_err();
    assert!(err.to_string().contains("_manifest.json"), "{err}");
    // Every rule documents its method, its hit and each parameter's range.
    for rule in rules() {
        assert!(
            !rule.method.is_empty() && !rule.hit.is_empty(),
            "{}",
            rule.rule_id
        );
        assert!(!rule.params.is_empty(), "{}", rule.rule_id);
    }
}
