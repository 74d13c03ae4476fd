//! Settlement lists on the store (issue 14, item 3): every 4101A version keeps its quality
//! checks; 4102 submits and withdraws the institution's own latest version, only a passing one
//! is submitted, a replay answers the first change; the bureau reviews a submitted list; a
//! correction or a change after day 10 of the month after the settlement's is refused.

use super::common::*;
use yibao_store::setl_list_status::{
    ListStatus, QcQuery, SetlListDeadline, StaffListQuery, StatusChangeRequest,
};
use yibao_store::*;

/// An envelope of `inst` at `now`.
fn env_at(inst: &str, msgid: &str, infno: &str, now: chrono::NaiveDateTime) -> Envelope {
    Envelope {
        now,
        ..env(inst, msgid, infno, msgid)
    }
}

/// A grouped reference case of the carried CHS-DRG 1.1 tables, an adult with a procedure.
fn reference_case() -> (Vec<String>, Vec<String>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/chs-drg-1.1/testcases.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let case = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|case| {
            case["expected"]["status"] == "分组成功"
                && case["age_years"].as_i64().is_some_and(|age| age >= 18)
                && case["procedures"].as_array().is_some_and(|p| !p.is_empty())
        })
        .unwrap();
    let codes = |key: &str| -> Vec<String> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    };
    (codes("diagnoses"), codes("procedures"))
}

/// A list for the settlement, with the reference case's codes (principal first) and an
/// attending physician when `chfpdr` is true.
fn list(mdtrt_id: &str, setl_id: &str, chfpdr: bool) -> SetlListUpload {
    let (diagnoses, procedures) = reference_case();
    SetlListUpload {
        psn_no: "P003".into(),
        mdtrt_id: mdtrt_id.into(),
        setl_id: setl_id.into(),
        medcasno: "BA-1".into(),
        dscg_way: "1".into(),
        chfpdr_code: if chfpdr { "D001".into() } else { String::new() },
        gend: Some("1".into()),
        age_years: Some(40),
        setl_begn_date: date("2025-05-10"),
        setl_end_date: date("2025-05-10"),
        diagnoses: diagnoses
            .iter()
            .enumerate()
            .map(|(idx, code)| SetlListDiagnosis {
                diag_type: "1".into(),
                diag_code: code.clone(),
                diag_name: "诊断".into(),
                maindiag_flag: idx == 0,
                ..Default::default()
            })
            .collect(),
        operations: procedures
            .iter()
            .enumerate()
            .map(|(idx, code)| SetlListOperation {
                oprn_oprt_code: code.clone(),
                oprn_oprt_name: "手术".into(),
                oprn_oprt_date: Some(date("2025-05-10")),
                main_oprn_flag: idx == 0,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

async fn upload(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    now: chrono::NaiveDateTime,
    list: SetlListUpload,
) -> Result<SetlListStored, StoreError> {
    let reply = db
        .store
        .execute(
            &env_at(inst, msgid, "4101A", now),
            Command::UploadSetlList(Box::new(list)),
            &render,
        )
        .await?;
    match fresh(reply) {
        Outcome::SetlListStored(stored) => Ok(*stored),
        other => panic!("4101A gave {other:?}"),
    }
}

/// [`counts`] and the rows of this tables (quality checks and status changes).
async fn all_counts(db: &TestDb) -> (Vec<(&'static str, i64)>, Vec<i64>) {
    use sqlx::Connection as _;
    let tables = ["setl_list_qc", "setl_list_qc_problem", "setl_list_status"];
    let mut mine = Vec::new();
    for table in tables {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = if db.url.starts_with("sqlite") {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap()
        };
        mine.push(n);
    }
    (counts(db).await, mine)
}

fn change(setl_id: &str, stas_type: &str) -> StatusChangeRequest {
    StatusChangeRequest {
        setl_list_id: None,
        setl_id: Some(setl_id.into()),
        stas_type: stas_type.into(),
        deadline: SetlListDeadline::default(),
    }
}

fn qc_query(setl_id: &str) -> QcQuery {
    QcQuery {
        setl_id: Some(setl_id.into()),
        page_num: 1,
        page_size: 10,
        ..QcQuery::default()
    }
}

#[tokio::test]
async fn lists_are_checked_submitted_reviewed_and_closed_at_the_deadline() {
    on_both(|db| async move {
        imported(&db).await;
        let (mdtrt_id, _) = spec_visit(&db, "SL").await;
        let settled = settled(fresh(
            exec(
                &db,
                CLINIC,
                "SL-2207",
                "2207",
                settle_cmd(false, &mdtrt_id, "P003", "390", 410_000, "0"),
            )
            .await
            .expect("2207"),
        ));
        let setl_id = settled.setl_id.clone();
        let may = at("2025-05-10", "12:00:00");
        let june_1 = at("2025-06-01", "09:00:00");
        let june_10 = at("2025-06-10", "23:59:59");
        let june_11 = at("2025-06-11", "00:00:00");

        // Version 1 lacks the attending physician: stored, with a blocking problem.
        let v1 = upload(&db, CLINIC, "SL-L1", may, list(&mdtrt_id, &setl_id, false))
            .await
            .unwrap();
        assert!(!v1.qc.passed, "{:?}", v1.qc);
        assert!(
            v1.qc
                .problems
                .iter()
                .any(|p| p.code == "QC09" && p.field == "setlinfo.chfpdr_code"),
            "{:?}",
            v1.qc
        );
        let seen = db
            .store
            .setl_list_qc(CLINIC, &qc_query(&setl_id))
            .await
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].setl_list_id, v1.setl_list_id);
        assert_eq!(seen[0].status, ListStatus::Unsubmitted);
        assert!(!seen[0].passed);
        assert_eq!(seen[0].problems, v1.qc.problems);

        // It cannot be submitted; the refusal names the problem and writes nothing.
        let counts_before = all_counts(&db).await;
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S1", &change(&setl_id, "1"), may)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.stas_type") && err.contains("QC09"),
            "{err}"
        );
        assert_eq!(all_counts(&db).await, counts_before);

        // A hospital may not set 2 or 3, nor touch another institution's list.
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S2", &change(&setl_id, "2"), may)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::BadInput { ref field, .. } if field == "data.stas_type"),
            "{err}"
        );
        let err = db
            .store
            .change_setl_list_status(
                HOSPITAL,
                "SL-S3",
                &StatusChangeRequest {
                    setl_list_id: Some(v1.setl_list_id.clone()),
                    setl_id: None,
                    ..change(&setl_id, "1")
                },
                may,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden { .. }), "{err}");
        let err = db
            .store
            .change_setl_list_status(HOSPITAL, "SL-S4", &change(&setl_id, "1"), may)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

        // Version 2 corrects it (before the deadline), passes, and is submitted.
        let v2 = upload(
            &db,
            CLINIC,
            "SL-L2",
            june_1,
            list(&mdtrt_id, &setl_id, true),
        )
        .await
        .unwrap();
        assert_eq!(v2.version, 2);
        assert!(v2.qc.passed, "{:?}", v2.qc);
        let submitted = db
            .store
            .change_setl_list_status(CLINIC, "SL-S5", &change(&setl_id, "1"), june_1)
            .await
            .unwrap();
        assert_eq!(
            (
                submitted.setl_list_id.as_str(),
                submitted.from,
                submitted.to
            ),
            (
                v2.setl_list_id.as_str(),
                ListStatus::Unsubmitted,
                ListStatus::Submitted
            )
        );
        // A replay answers the first change and writes nothing; the msgid for another change is
        // refused; an older version is not the list any more.
        let counts_before = all_counts(&db).await;
        let replay = db
            .store
            .change_setl_list_status(CLINIC, "SL-S5", &change(&setl_id, "1"), june_10)
            .await
            .unwrap();
        assert_eq!(replay, submitted);
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S5", &change(&setl_id, "0"), june_1)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::MsgidConflict { .. }), "{err}");
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-2207", &change(&setl_id, "0"), june_1)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::MsgidConflict { ref infno, .. } if infno == "2207"),
            "{err}"
        );
        let err = db
            .store
            .change_setl_list_status(
                CLINIC,
                "SL-S6",
                &StatusChangeRequest {
                    setl_list_id: Some(v1.setl_list_id.clone()),
                    setl_id: None,
                    ..change(&setl_id, "0")
                },
                june_1,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not the latest version"), "{err}");
        // A submitted list takes no correction.
        let err = upload(
            &db,
            CLINIC,
            "SL-L3",
            june_1,
            list(&mdtrt_id, &setl_id, true),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("withdraw it"), "{err}");
        assert_eq!(all_counts(&db).await, counts_before);

        // The bureau rejects it; the hospital corrects it on the deadline day, submits it, and
        // the bureau approves it.
        let rejected = db
            .store
            .review_setl_list(&v2.setl_list_id, false, 7, "主要诊断与病历不符", june_1)
            .await
            .unwrap();
        assert_eq!(rejected.to, ListStatus::Rejected);
        let err = db
            .store
            .review_setl_list(&v2.setl_list_id, true, 7, "x", june_1)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("only a submitted (1) list"),
            "{err}"
        );
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S7", &change(&setl_id, "1"), june_1)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("corrected version"), "{err}");
        let v3 = upload(
            &db,
            CLINIC,
            "SL-L4",
            june_10,
            list(&mdtrt_id, &setl_id, true),
        )
        .await
        .unwrap();
        assert_eq!(v3.version, 3);
        db.store
            .change_setl_list_status(CLINIC, "SL-S8", &change(&setl_id, "1"), june_10)
            .await
            .unwrap();
        let approved = db
            .store
            .review_setl_list(&v3.setl_list_id, true, 7, "核实无误", june_10)
            .await
            .unwrap();
        assert_eq!(
            (approved.from, approved.to),
            (ListStatus::Submitted, ListStatus::Approved)
        );

        // After day 10 of June nothing of May's lists changes; the error names the deadline.
        let counts_before = all_counts(&db).await;
        let err = upload(
            &db,
            CLINIC,
            "SL-L5",
            june_11,
            list(&mdtrt_id, &setl_id, true),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("2025-06-10") && err.contains("2025-05"),
            "{err}"
        );
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S9", &change(&setl_id, "0"), june_11)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("until 2025-06-10"), "{err}");
        // A region with a later deadline day still takes it (and then refuses: approved).
        let late = StatusChangeRequest {
            deadline: SetlListDeadline::new(15).unwrap(),
            ..change(&setl_id, "0")
        };
        let err = db
            .store
            .change_setl_list_status(CLINIC, "SL-S10", &late, june_11)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("approved"), "{err}");
        assert_eq!(all_counts(&db).await, counts_before);

        // The institution sees the latest version with its status; another sees nothing; each
        // version keeps its own checks.
        let seen = db
            .store
            .setl_list_qc(CLINIC, &qc_query(&setl_id))
            .await
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].version, seen[0].status, seen[0].passed),
            (3, ListStatus::Approved, true)
        );
        let first = db
            .store
            .setl_list_qc(
                CLINIC,
                &QcQuery {
                    setl_list_id: Some(v1.setl_list_id.clone()),
                    ..qc_query(&setl_id)
                },
            )
            .await
            .unwrap();
        assert_eq!((first[0].version, first[0].passed), (1, false));
        assert!(db
            .store
            .setl_list_qc(HOSPITAL, &qc_query(&setl_id))
            .await
            .unwrap()
            .is_empty());
        let by_date = |begin: &str, end: &str| QcQuery {
            begin_date: Some(date(begin)),
            end_date: Some(date(end)),
            page_num: 1,
            page_size: 10,
            ..QcQuery::default()
        };
        assert_eq!(
            db.store
                .setl_list_qc(CLINIC, &by_date("2025-06-10", "2025-06-10"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(db
            .store
            .setl_list_qc(CLINIC, &by_date("2025-05-01", "2025-05-31"))
            .await
            .unwrap()
            .is_empty());
        assert!(db
            .store
            .setl_list_qc(
                CLINIC,
                &QcQuery {
                    page_num: 0,
                    ..qc_query(&setl_id)
                }
            )
            .await
            .is_err());

        // Staff: by month and status.
        let staff = |status: Option<ListStatus>, month: (i32, u32)| StaffListQuery {
            fixmedins_code: None,
            status,
            month: Some(month),
            limit: 100,
        };
        let found = db
            .store
            .setl_lists_for_staff(&staff(Some(ListStatus::Approved), (2025, 5)))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].fixmedins_code, CLINIC);
        assert!(db
            .store
            .setl_lists_for_staff(&staff(Some(ListStatus::Submitted), (2025, 5)))
            .await
            .unwrap()
            .is_empty());
        assert!(db
            .store
            .setl_lists_for_staff(&staff(None, (2025, 4)))
            .await
            .unwrap()
            .is_empty());
        // The checks and the status rows are append-only in the database itself.
        for sql in [
            "UPDATE setl_list_qc SET passed = 1",
            "DELETE FROM setl_list_qc_problem",
            "UPDATE setl_list_status SET to_stas = '0'",
            "DELETE FROM setl_list_status",
        ] {
            use sqlx::Connection as _;
            let refused = if db.url.starts_with("sqlite") {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.is_err()
            } else {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.is_err()
            };
            assert!(refused, "[{}] {sql} was allowed", db.label);
        }
        assert_balanced(&db).await;
        db
    })
    .await;
}
