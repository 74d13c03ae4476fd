//! Issue 16 item 5: `yibao audit batch --db` with the real binary: the run's findings enter the
//! review workflow as cases (the person read from the store's settlement), a second run creates
//! nothing new, a run without `--db` writes nothing, and a store that does not hold the flagged
//! settlement refuses the run by naming it (exit 2) and keeps nothing.

#[path = "../../store/tests/common/mod.rs"]
mod common;
#[path = "../../batch/tests/plant/mod.rs"]
mod plant;

use std::process::{Command as Process, Output};

use common::*;
use plant::*;
use yibao_store::review::{CaseFilter, ReviewSettings};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn yibao(args: &[&str]) -> Output {
    Process::new(BIN).args(args).output().expect("run yibao")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn cases(db: &TestDb) -> Vec<yibao_store::review::CaseSummary> {
    let filter = CaseFilter {
        limit: 100,
        ..CaseFilter::default()
    };
    db.store
        .cases(&filter, now(), ReviewSettings::default())
        .await
        .expect("cases")
}

#[tokio::test]
async fn audit_batch_with_db_opens_cases_once() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        // The later-admitted stay is settled first: the real-time check at the earlier stay's
        // settlement flags that one (the settlement in hand), so the batch's hit on the
        // later-admitted stay is new (one case per settlement and rule).
        let later = stay(
            &db,
            CLINIC,
            "B",
            "P001",
            ("2025-03-08", "2025-03-12"),
            "J18.900",
        )
        .await;
        stay(
            &db,
            HOSPITAL,
            "A",
            "P001",
            ("2025-03-01", "2025-03-10"),
            "I10.x00",
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("claims");
        let out_arg = out.to_str().unwrap();
        let export = yibao(&["export", "parquet", "--db", &db.url, "--out", out_arg]);
        assert!(export.status.success(), "{}", text(&export));
        let batch = ["audit", "batch", "--parquet", out_arg, "--year", "2025"];

        let dry = yibao(&batch);
        assert!(dry.status.success(), "{}", text(&dry));
        assert!(
            cases(&db).await.is_empty(),
            "without --db nothing is written"
        );

        let mut with_db = batch.to_vec();
        with_db.extend(["--db", db.url.as_str(), "--opened-by", "auditor1"]);
        let run = yibao(&with_db);
        assert!(run.status.success(), "{}", text(&run));
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            stdout.contains("findings 1 (1 new, 0 reversed since the export), cases opened 1"),
            "{stdout}"
        );
        let opened = cases(&db).await;
        assert_eq!(opened.len(), 1, "[{}] {opened:?}", db.label);
        let case = &opened[0];
        assert_eq!(case.rule_id, "BHV-08");
        assert_eq!(case.setl_id, later.setl_id);
        assert_eq!(
            case.patn_id, "P001",
            "the person is the store's, not a pseudonym"
        );
        assert_eq!(case.fixmedins_code, CLINIC);
        assert_eq!(case.sev_deg, 1);
        assert_eq!(
            case.flagged, later.amounts.fund_pay_sumamt,
            "BHV-08 flags the later stay's fund payment"
        );
        let view = db
            .store
            .case(&case.case_id, None, now(), ReviewSettings::default())
            .await
            .unwrap();
        assert_eq!(view.mdtrt_id, later.mdtrt_id);
        assert!(
            view.evidence.contains("\"input_hash\""),
            "{}",
            view.evidence
        );

        let again = yibao(&with_db);
        assert!(again.status.success(), "{}", text(&again));
        let stdout = String::from_utf8_lossy(&again.stdout).into_owned();
        assert!(
            stdout.contains("(recorded before)") && stdout.contains("(0 new,"),
            "{stdout}"
        );
        assert!(stdout.contains("cases opened 0"), "{stdout}");
        assert_eq!(cases(&db).await, opened, "nothing new");

        // A store that never held these settlements refuses the run by naming the settlement.
        let other = sqlite_db().await;
        imported_fixture(&other).await;
        let mut elsewhere = batch.to_vec();
        elsewhere.extend(["--db", other.url.as_str()]);
        let refused = yibao(&elsewhere);
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
        assert!(
            stderr.contains(&later.setl_id) && stderr.contains("setl_id"),
            "{stderr}"
        );
        assert!(cases(&other).await.is_empty());
        other.drop_database().await;
        db
    })
    .await;
}
