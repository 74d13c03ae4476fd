//! Issue 12: the review of findings (初审 → 申诉 → 复审 → 终审) on both databases.

use yibao_audit::review::{Step, Verdict};
use yibao_core_types::Fen;
use yibao_store::review::{CaseFilter, Decision, ReviewSettings};

use crate::common::*;

/// A female-only item of the shipped knowledge.
fn female_only_code() -> String {
    let base = yibao_audit::builtin().expect("shipped rules");
    base.knowledge
        .sex_limit
        .iter()
        .find(|e| e.gend == yibao_audit::Gend::Female && e.scope.admdvs.is_none())
        .expect("a female-only item")
        .med_list_codg
        .clone()
}

fn decision(step: Step, verdict: Verdict) -> Decision {
    Decision {
        step,
        verdict,
        reason: format!("{} 审核意见", step.zh()),
    }
}

/// A man (P001) settles a female-only item: the settlement records a finding; a case is
/// opened once; three different reviewers decide in turn after the institution's appeal; the
/// confirmation posts a receivable and the ledger stays balanced. Out-of-order decisions, a
/// repeated reviewer and a late appeal are refused and write nothing.
#[tokio::test]
async fn a_finding_goes_through_review_to_a_receivable() {
    on_both(|db| async move {
        imported(&db).await;
        let settings = ReviewSettings { appeal_days: 10 };
        let code = female_only_code();
        settle_one(
            &db,
            HOSPITAL,
            "rv1",
            ("P001", "310"),
            ("11", "J06.900"),
            (&code, 88),
        )
        .await
        .expect("a warning region settles");
        let t0 = now();
        assert_eq!(
            db.store.open_cases("admin", t0).await.unwrap(),
            1,
            "[{}]",
            db.label
        );
        assert_eq!(db.store.open_cases("admin", t0).await.unwrap(), 0);
        let cases = db
            .store
            .cases(
                &CaseFilter {
                    limit: 10,
                    ..CaseFilter::default()
                },
                t0,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(cases.len(), 1);
        let case = &cases[0];
        assert_eq!(case.state.code(), "awaiting_first");
        assert_eq!(case.patn_id, "P001");
        assert_eq!(case.flagged, Fen(8_800));
        let id = case.case_id.clone();
        // Another institution does not see it.
        assert!(db
            .store
            .case(&id, Some(CLINIC), t0, settings)
            .await
            .is_err());

        let before = counts(&db).await;
        for (step, actor) in [(Step::Second, "r2"), (Step::Final, "r3")] {
            let err = db
                .store
                .decide(&id, actor, &decision(step, Verdict::Dismiss), t0, settings)
                .await
                .unwrap_err();
            assert!(err.to_string().contains("not the next step"), "{err}");
        }
        let too_much = decision(Step::First, Verdict::Uphold(Fen(8_801)));
        assert!(db
            .store
            .decide(&id, "r1", &too_much, t0, settings)
            .await
            .is_err());
        let no_reason = Decision {
            reason: " ".into(),
            ..decision(Step::First, Verdict::Dismiss)
        };
        assert!(db
            .store
            .decide(&id, "r1", &no_reason, t0, settings)
            .await
            .is_err());
        assert_eq!(counts(&db).await, before);

        let view = db
            .store
            .decide(
                &id,
                "r1",
                &decision(Step::First, Verdict::Uphold(Fen(8_000))),
                t0,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(view.summary.state.code(), "appeal_window");
        assert_eq!(view.lines.len(), 1);
        // 复审 waits for the appeal; the institution appeals within the deadline.
        let t1 = t0 + chrono::Duration::days(3);
        assert!(db
            .store
            .decide(
                &id,
                "r2",
                &decision(Step::Second, Verdict::Dismiss),
                t1,
                settings
            )
            .await
            .is_err());
        assert!(db
            .store
            .appeal(&id, CLINIC, "clinic-user", "不是本院的病例", t1, settings)
            .await
            .is_err());
        let view = db
            .store
            .appeal(
                &id,
                HOSPITAL,
                "hospital-user",
                "临床确需，附病历",
                t1,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(view.summary.state.code(), "awaiting_second");
        assert!(db
            .store
            .appeal(&id, HOSPITAL, "hospital-user", "再次申诉", t1, settings)
            .await
            .is_err());
        // The first reviewer may not decide again.
        let err = db
            .store
            .decide(
                &id,
                "r1",
                &decision(Step::Second, Verdict::Uphold(Fen(1))),
                t1,
                settings,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("already decided"), "{err}");
        db.store
            .decide(
                &id,
                "r2",
                &decision(Step::Second, Verdict::Uphold(Fen(6_000))),
                t1,
                settings,
            )
            .await
            .unwrap();
        let view = db
            .store
            .decide(
                &id,
                "r3",
                &decision(Step::Final, Verdict::Uphold(Fen(6_000))),
                t1,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(view.summary.state.code(), "confirmed");
        assert_eq!(view.events.len(), 4);
        let (amount, penalty) = view.receivable.expect("a receivable");
        assert_eq!(amount, Fen(6_000));
        let multiple = yibao_audit::review::load_penalties(
            yibao_audit::review::PENALTIES_FILE.0,
            yibao_audit::review::PENALTIES_FILE.1,
            &[case.rule_id.as_str()],
        )
        .ok()
        .and_then(|p| p.first().map(|p| p.multiple))
        .unwrap_or_default();
        assert_eq!(penalty, Fen(6_000).mul_ratio(multiple));
        assert_eq!(
            db.store
                .account_balance(&yibao_store::ledger::receivable_account(HOSPITAL))
                .await
                .unwrap(),
            Some(-(amount.0 + penalty.0))
        );
        assert_balanced(&db).await;

        let (funnel, precision) = db.store.review_report(t1, settings).await.unwrap();
        assert_eq!(funnel.findings, 1);
        assert_eq!(funnel.cases, 1);
        assert_eq!(
            (
                funnel.first_upheld,
                funnel.second_upheld,
                funnel.confirmed,
                funnel.appealed
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(funnel.confirmed_persons, 1);
        assert_eq!(funnel.confirmed_amount, Fen(6_000));
        assert_eq!(precision.len(), 1);
        assert_eq!(precision[0].precision_ppm(), Some(1_000_000));
        db
    })
    .await;
}

/// A case whose appeal window passed without an appeal goes on to 复审; a late appeal is refused.
#[tokio::test]
async fn the_appeal_deadline_is_the_regions() {
    on_both(|db| async move {
        imported(&db).await;
        let settings = ReviewSettings { appeal_days: 5 };
        let code = female_only_code();
        settle_one(
            &db,
            HOSPITAL,
            "rv2",
            ("P003", "390"),
            ("11", "J06.900"),
            (&code, 50),
        )
        .await
        .expect("settles");
        let t0 = now();
        db.store.open_cases("admin", t0).await.unwrap();
        let cases = db
            .store
            .cases(
                &CaseFilter {
                    limit: 10,
                    ..CaseFilter::default()
                },
                t0,
                settings,
            )
            .await
            .unwrap();
        let id = cases[0].case_id.clone();
        db.store
            .decide(
                &id,
                "r1",
                &decision(Step::First, Verdict::Uphold(Fen(5_000))),
                t0,
                settings,
            )
            .await
            .unwrap();
        let late = t0 + chrono::Duration::days(6);
        let err = db
            .store
            .appeal(&id, HOSPITAL, "hospital-user", "逾期申诉", late, settings)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("deadline"), "{err}");
        let listed = db
            .store
            .cases(
                &CaseFilter {
                    limit: 10,
                    state: Some("awaiting_second".into()),
                    ..CaseFilter::default()
                },
                late,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        let view = db
            .store
            .decide(
                &id,
                "r2",
                &decision(Step::Second, Verdict::Dismiss),
                late,
                settings,
            )
            .await
            .unwrap();
        assert_eq!(view.summary.state.code(), "dismissed");
        assert!(view.receivable.is_none());
        let (_, precision) = db.store.review_report(late, settings).await.unwrap();
        assert_eq!(precision[0].precision_ppm(), Some(0));
        db
    })
    .await;
}
