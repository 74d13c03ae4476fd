//! Issue 16 item 5: a batch run's findings enter the review workflow as cases, on both
//! databases: the person resolved from the settlement, one transaction, idempotent, a
//! settlement unknown here refused by name with nothing written, institution-level hits kept as
//! leads, the parameters and the export digest kept as evidence.

use yibao_audit::{MoneyKind, SevDeg};
use yibao_core_types::Fen;
use yibao_store::batch_findings::{
    input_hash, run_id, BatchHit, BatchRun, BatchRunRule, LeadFilter, BATCH_ORIGIN,
};
use yibao_store::review::{CaseFilter, ReviewSettings};

use crate::common::*;

fn rule(rule_id: &str, params: &[(&str, &str)]) -> BatchRunRule {
    BatchRunRule {
        rule_id: rule_id.into(),
        rule_version: 1,
        params: params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn hit(rule_id: &str, inst: &str, setl_id: Option<&str>, fund_pay: Fen) -> BatchHit {
    BatchHit {
        rule_id: rule_id.into(),
        fixmedins_code: inst.into(),
        setl_id: setl_id.map(str::to_owned),
        other_setl_id: None,
        begin_date: "2026-03-02".into(),
        end_date: None,
        code: None,
        measure: 2,
        fund_pay,
        sev_deg: SevDeg::new(2).unwrap(),
        money_kind: MoneyKind::Encounter,
        category: "BHV".into(),
        vola_cont: format!("{rule_id} 命中"),
        evidence: None,
    }
}

fn run(rules: Vec<BatchRunRule>, hits: Vec<BatchHit>) -> BatchRun {
    BatchRun {
        year: 2026,
        input_hash: input_hash(b"{\"format\":\"yibao-claims-parquet\"}\n"),
        engine: "datafusion".into(),
        rules,
        hits,
    }
}

fn all_cases() -> CaseFilter {
    CaseFilter {
        limit: 100,
        ..CaseFilter::default()
    }
}

#[tokio::test]
async fn batch_hits_open_cases_once_and_institution_hits_stay_leads() {
    on_both(|db| async move {
        imported(&db).await;
        let settings = ReviewSettings::default();
        let a = settle_one(
            &db,
            HOSPITAL,
            "bf1",
            ("P001", "310"),
            ("11", "J06.900"),
            ("X-DRUG-A", 120),
        )
        .await
        .expect("settles");
        let b = settle_one(
            &db,
            HOSPITAL,
            "bf2",
            ("P002", "310"),
            ("11", "J06.900"),
            ("X-DRUG-A", 80),
        )
        .await
        .expect("settles");
        let c = settle_one(
            &db,
            CLINIC,
            "bf3",
            ("P003", "390"),
            ("11", "J06.900"),
            ("X-DRUG-A", 50),
        )
        .await
        .expect("settles");
        let t0 = now();
        let before = db
            .store
            .cases(&all_cases(), t0, settings)
            .await
            .unwrap()
            .len();

        let mut overlap = hit("BHV-08", HOSPITAL, Some(&a.setl_id), Fen(9_999));
        overlap.sev_deg = SevDeg::new(1).unwrap();
        overlap.other_setl_id = Some(b.setl_id.clone());
        let mut frequent = hit("BHV-02", HOSPITAL, Some(&b.setl_id), Fen(7_000));
        frequent.sev_deg = SevDeg::new(3).unwrap();
        frequent.money_kind = MoneyKind::Zero;
        let mut growth = hit("S-01", HOSPITAL, None, Fen(0));
        growth.sev_deg = SevDeg::new(3).unwrap();
        growth.money_kind = MoneyKind::Zero;
        growth.code = Some("03".into());
        growth.category = "STA".into();
        growth.evidence = Some("peers=4;median_growth_pct=3".into());
        let first = run(
            vec![
                rule("BHV-08", &[("min_overlap_days", "1")]),
                rule("BHV-02", &[("visits", "3"), ("window_days", "30")]),
                rule("S-01", &[("min_growth_pct", "50")]),
                rule("BHV-01", &[("interval_days", "15")]),
            ],
            vec![overlap.clone(), frequent.clone(), growth.clone()],
        );
        let done = db
            .store
            .record_batch_findings(&first, "admin", t0)
            .await
            .unwrap_or_else(|e| panic!("[{}] {e}", db.label));
        assert_eq!(
            (done.findings, done.new_findings, done.cases_opened),
            (2, 2, 2),
            "[{}] {done:?}",
            db.label
        );
        assert_eq!((done.leads, done.new_leads, done.new_run), (1, 1, true));

        let cases = db.store.cases(&all_cases(), t0, settings).await.unwrap();
        assert_eq!(cases.len(), before + 2);
        let case_of = |rule_id: &str| {
            cases
                .iter()
                .find(|c| c.rule_id == rule_id)
                .unwrap_or_else(|| panic!("a {rule_id} case in {cases:?}"))
                .clone()
        };
        let c8 = case_of("BHV-08");
        assert_eq!(c8.patn_id, "P001", "the person is the settlement's");
        assert_eq!(c8.setl_id, a.setl_id);
        assert_eq!(
            (c8.sev_deg, c8.flagged),
            (1, Fen(9_999)),
            "E flags the fund pay"
        );
        assert_eq!(c8.state.code(), "awaiting_first");
        let c2 = case_of("BHV-02");
        assert_eq!(
            (c2.patn_id.as_str(), c2.sev_deg, c2.flagged),
            ("P002", 3, Fen(0))
        );

        let view = db
            .store
            .case(&c8.case_id, None, t0, settings)
            .await
            .unwrap();
        assert_eq!(view.mdtrt_id, a.mdtrt_id, "the visit is the settlement's");
        let evidence: serde_json::Value = serde_json::from_str(&view.evidence).unwrap();
        assert_eq!(evidence["origin"], BATCH_ORIGIN);
        assert_eq!(evidence["input_hash"], first.input_hash.as_str());
        assert_eq!(evidence["params"]["min_overlap_days"], "1");
        assert_eq!(evidence["other_setl_id"], b.setl_id.as_str());
        assert_eq!(evidence["run_id"], run_id(&first).as_str());
        let stored = db
            .store
            .batch_run(&run_id(&first))
            .await
            .unwrap()
            .expect("the run");
        assert_eq!(stored.input_hash, first.input_hash);
        assert_eq!(stored.counts, [2, 2, 2, 1, 1]);
        assert!(stored.rules.contains("interval_days"), "{}", stored.rules);

        let leads = db
            .store
            .batch_leads(&LeadFilter {
                limit: 10,
                ..LeadFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(leads.len(), 1);
        assert_eq!(
            (leads[0].rule_id.as_str(), leads[0].fixmedins_code.as_str()),
            ("S-01", HOSPITAL)
        );
        assert!(
            leads[0].evidence.contains("median_growth_pct=3"),
            "{}",
            leads[0].evidence
        );

        // The same run again: nothing new.
        let again = db
            .store
            .record_batch_findings(&first, "admin", t0)
            .await
            .unwrap();
        assert_eq!(
            (
                again.findings,
                again.new_findings,
                again.cases_opened,
                again.new_leads,
                again.new_run
            ),
            (2, 0, 0, 0, false)
        );
        // Other parameters flag the same settlement under the same rule: still one case.
        let other = run(
            vec![rule("BHV-08", &[("min_overlap_days", "2")])],
            vec![overlap.clone()],
        );
        let done = db
            .store
            .record_batch_findings(&other, "admin", t0)
            .await
            .unwrap();
        assert_eq!(
            (done.findings, done.new_findings, done.new_run),
            (1, 0, true)
        );
        assert_eq!(
            db.store
                .cases(&all_cases(), t0, settings)
                .await
                .unwrap()
                .len(),
            before + 2
        );

        // A settlement unknown here refuses the run by name; a new hit beside it is not kept.
        let counts_before = counts(&db).await;
        let fresh = hit("BHV-08", CLINIC, Some(&c.setl_id), Fen(100));
        let unknown = hit("BHV-08", HOSPITAL, Some("S-NOT-HERE"), Fen(100));
        let refused = run(
            vec![rule("BHV-08", &[("min_overlap_days", "3")])],
            vec![fresh.clone(), unknown],
        );
        let err = db
            .store
            .record_batch_findings(&refused, "admin", t0)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("findings[1].setl_id") && err.contains("S-NOT-HERE"),
            "{err}"
        );
        // The hit's institution must be the settlement's.
        let mut moved = fresh.clone();
        moved.fixmedins_code = HOSPITAL.into();
        let wrong = run(vec![rule("BHV-08", &[])], vec![moved]);
        let err = db
            .store
            .record_batch_findings(&wrong, "admin", t0)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("findings[0].setl_id") && err.contains(CLINIC),
            "{err}"
        );
        // So must a lead's.
        let mut nowhere = growth.clone();
        nowhere.fixmedins_code = "H99999999999".into();
        let err = db
            .store
            .record_batch_findings(&run(vec![rule("S-01", &[])], vec![nowhere]), "admin", t0)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("findings[0].fixmedins_code") && err.contains("H99999999999"),
            "{err}"
        );
        assert_eq!(counts(&db).await, counts_before);
        assert!(db
            .store
            .batch_run(&run_id(&refused))
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            db.store
                .cases(&all_cases(), t0, settings)
                .await
                .unwrap()
                .len(),
            before + 2
        );

        // A settlement reversed since the export is skipped.
        exec(
            &db,
            CLINIC,
            "bf3-2208",
            "2208",
            yibao_store::Command::ReverseSettlement(yibao_store::ReverseSettlement {
                kind: yibao_store::VisitKind::Outpatient,
                visit: yibao_store::VisitRef {
                    psn_no: "P003".into(),
                    mdtrt_id: c.mdtrt_id.clone(),
                    ipt_otp_no: None,
                },
                setl_id: c.setl_id.clone(),
            }),
        )
        .await
        .expect("2208");
        let late = run(
            vec![rule("BHV-08", &[("min_overlap_days", "3")])],
            vec![fresh],
        );
        let done = db
            .store
            .record_batch_findings(&late, "admin", t0)
            .await
            .unwrap();
        assert_eq!((done.findings, done.new_findings, done.reversed), (1, 0, 1));
        db
    })
    .await;
}

/// Bad input is refused before anything is read, naming the field.
#[tokio::test]
async fn a_bad_batch_run_is_refused_by_field() {
    on_both(|db| async move {
        imported(&db).await;
        let t0 = now();
        let mut bad_hash = run(vec![], vec![]);
        bad_hash.input_hash = "abc".into();
        let mut lead_with_money = hit("S-01", HOSPITAL, None, Fen(1));
        lead_with_money.money_kind = MoneyKind::Encounter;
        for (bad, field) in [
            (bad_hash, "input_hash"),
            (
                run(vec![], vec![hit("BHV-08", HOSPITAL, Some("S1"), Fen(1))]),
                "findings[0].rule_id",
            ),
            (
                run(vec![rule("S-01", &[])], vec![lead_with_money]),
                "findings[0].money_kind",
            ),
        ] {
            let err = db
                .store
                .record_batch_findings(&bad, "admin", t0)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        db
    })
    .await;
}
