//! Department rosters (issue 13, docs/FEEDS.md): the education roster and the disability
//! certificates into the registry, and the §8.2 fallback match on name, birth date and sex, on
//! SQLite and PostgreSQL: ID matches recorded as dated segments and categories, fallback
//! matches only proposed to a clerk with their method and confidence, unmatched rows as cases
//! with their reason, refusals by line, hostile files, and replays that write nothing.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use yibao_enrollment::fallback::{FallbackDecision, UnmatchedReason};
use yibao_store::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn feed(kind: FeedKind, today: &str) -> FeedImport {
    FeedImport {
        kind,
        file_name: "roster.csv".into(),
        source_dept: kind.default_dept().into(),
        actor: "tester".into(),
        today: day(today),
        recorded_at: at(today, "09:00:00"),
    }
}

fn roster(kind: FeedKind, today: &str, region: &str) -> RosterImport {
    RosterImport {
        feed: feed(kind, today),
        region: region.into(),
    }
}

fn no_progress(_: FeedProgress) {}

async fn import(db: &TestDb, kind: FeedKind, today: &str, file: &[u8]) -> FeedReport {
    db.store
        .import_roster(&roster(kind, today, "1405"), file, &no_progress)
        .await
        .expect("import")
}

async fn all_counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut all = db.store.row_counts().await.unwrap();
    all.extend(db.store.feed_row_counts().await.unwrap());
    all
}

const POLICE: &str = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n";
const EDUCATION: &str =
    "certno,psn_name,gend,brdy,school_code,school_admdvs,stu_type,entry_date,grad_date\n";
const DISABILITY: &str = "certno,psn_name,gend,brdy,dsab_type,dsab_lv,begn_date,end_date\n";

async fn psn_no_of(db: &TestDb, certno: &str) -> String {
    db.store
        .person_info(certno)
        .await
        .expect("person")
        .base
        .psn_no
}

/// The persons the tests use, registered by a police file: households in 140502 (the demo
/// city's region 1405xx) but for one in 150102.
struct People {
    a: String,
    b: String,
    pupil: String,
    twin: String,
    elsewhere: String,
}

async fn people(db: &TestDb) -> People {
    let p = People {
        a: cid("140502", "2005-03-04", 12),         // female
        b: cid("140502", "2008-06-07", 13),         // male
        pupil: cid("140502", "2012-05-01", 22),     // female, 阿依古丽·买买提
        twin: cid("140502", "2011-01-01", 31),      // male, one of two 王明
        elsewhere: cid("150102", "2009-09-09", 42), // female, 李娜 outside the region
    };
    let twin2 = cid("140502", "2011-01-01", 33);
    let file = format!(
        "{POLICE}\
         {},张丽,2,2005-03-04,140502,H1,02\n\
         {},陈刚,1,2008-06-07,140502,H2,02\n\
         {},阿依古丽·买买提,2,2012-05-01,140502,H3,30\n\
         {},王明,1,2011-01-01,140502,H4,20\n\
         {twin2},王 明,1,2011-01-01,140502,H4,20\n\
         {},李娜,2,2009-09-09,150102,H5,02\n",
        p.a, p.b, p.pupil, p.twin, p.elsewhere
    );
    let report = db
        .store
        .import_feed(
            &feed(FeedKind::Police, "2026-01-05"),
            file.as_bytes(),
            &no_progress,
        )
        .await
        .expect("police");
    assert_eq!(report.persons_created, 6, "{report:?}");
    p
}

/// A number whose only fault is its check character.
fn bad_check(certno: &str) -> String {
    let mut n = certno.to_owned();
    let last = if n.ends_with('1') { "2" } else { "1" };
    n.replace_range(17.., last);
    n
}

#[tokio::test]
async fn education_roster_records_students_and_proposes_fallback_matches() {
    on_both(|db| async move {
        let p = people(&db).await;
        let stranger = cid("140502", "2010-10-10", 51);
        let long_school = "S".repeat(101);
        let file = format!(
            "{EDUCATION}\
             {},张丽,2,2005-03-04,U1,140100,1404,2024-09-01,\n\
             {},陈刚,1,2008-06-07,M7,140502,1403,2020-09-01,2025-07-01\n\
             ,阿依古丽•买买提 ,2,2012-05-01,P3,140502,1403,2018-09-01,\n\
             {},阿依古丽·买买提,2,2012-05-01,P5,140502,1403,2018-09-01,\n\
             ,王明,1,2011-01-01,P3,140502,1403,2017-09-01,\n\
             ,李娜,2,2009-09-09,P4,140502,1403,2015-09-01,\n\
             {stranger},无名,1,2010-10-10,P3,140502,1403,2016-09-01,\n\
             1405021999,短号,1,1999-01-01,P3,140502,1403,2016-09-01,\n\
             {},陈刚,1,2008-06-07,M8,140502,1403,2027-09-01,\n\
             {},陈刚,1,2008-06-07,M9,140502,1405,2020-09-01,\n\
             {},陈刚,1,2008-06-07,{long_school},140502,1403,2020-09-01,\n\
             {},陈刚,1,2008-06-07,M7\n\
             {},陈刚,2,2008-06-07,M7,140502,1403,2020-09-01,\n",
            p.a,
            p.b,
            bad_check(&p.pupil),
            p.b,
            p.b,
            p.b,
            p.b,
            p.b
        );
        let before = all_counts(&db).await;
        let report = import(&db, FeedKind::Education, "2026-02-01", file.as_bytes()).await;
        assert!(!report.replayed);
        assert_eq!(report.rows_read, 13, "{report:?}");
        let refused: Vec<(u64, &str)> = report
            .refusals
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            refused.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![9, 10, 11, 12, 13, 14],
            "{refused:?}"
        );
        assert!(refused[0].1.contains("bad_length"), "{}", refused[0].1);
        assert!(refused[1]
            .1
            .contains("entry_date 2027-09-01 is in the future"));
        assert!(refused[2].1.contains("stu_type `1405`"));
        assert!(refused[3].1.contains("longer than 100"));
        assert!(refused[4].1.contains("expected 9 fields, found 5"));
        assert!(refused[5].1.contains("gend 2 disagrees"));
        assert_eq!(
            (report.rows_taken, report.rows_matched, report.rows_refused),
            (7, 2, 6),
            "{report:?}"
        );
        let cases: Vec<(u64, &str, &str)> = report
            .cases
            .iter()
            .map(|c| (c.line, c.kind.as_str(), c.psn_no.as_str()))
            .collect();
        let pupil = psn_no_of(&db, &p.pupil).await;
        assert_eq!(
            cases,
            vec![
                (4, "fallback_match", pupil.as_str()),
                (5, "fallback_match", pupil.as_str()),
                (6, "unmatched", ""),
                (7, "unmatched", ""),
                (8, "unmatched", ""),
            ],
            "{:?}",
            report.cases
        );
        assert!(
            report.cases[0].reason.starts_with("no_id: "),
            "{:?}",
            report.cases[0]
        );
        assert!(report.cases[1].reason.starts_with("bad_check_digit: "));
        assert!(
            report.cases[2].reason.starts_with("ambiguous: 2 persons"),
            "{:?}",
            report.cases[2]
        );
        assert!(report.cases[3]
            .reason
            .starts_with("no_id: nobody in region 1405"));
        assert_eq!(
            report.cases[4].reason,
            "no person with this certno in the registry"
        );
        // The method and confidence stay with the source record (§3.10, §8.2 rule 6).
        let m = |line| db.store.source_record_match(&report.batch_id, line);
        assert_eq!(
            m(4).await.unwrap(),
            Some((pupil.clone(), "name_birth_sex".into(), Some(800)))
        );
        assert_eq!(
            m(5).await.unwrap(),
            Some((pupil.clone(), "name_birth_sex".into(), Some(950)))
        );
        assert_eq!(
            m(6).await.unwrap(),
            Some((String::new(), String::new(), None))
        );
        let a = psn_no_of(&db, &p.a).await;
        assert_eq!(m(2).await.unwrap(), Some((a.clone(), "id".into(), None)));
        // A fallback match applies nothing: the pupil has no student segment.
        assert!(db
            .store
            .students_as_of(&pupil, day("2020-01-01"))
            .await
            .unwrap()
            .is_empty());
        // "As of" reads: from entry, and to the end of the graduation year.
        let b = psn_no_of(&db, &p.b).await;
        let held = |psn: String, d: &'static str| {
            let store = db.store.clone();
            async move {
                store
                    .students_as_of(&psn, day(d))
                    .await
                    .unwrap()
                    .iter()
                    .map(|s| format!("{} {} {}", s.psn_type, s.school_code, s.valid_to))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(held(a.clone(), "2024-08-31").await, Vec::<String>::new());
        assert_eq!(held(a.clone(), "2024-09-01").await, vec!["1404 U1 "]);
        assert_eq!(
            held(b.clone(), "2025-12-31").await,
            vec!["1403 M7 2025-12-31"]
        );
        assert_eq!(held(b.clone(), "2026-01-01").await, Vec::<String>::new());
        // Written: 2 segments, 2 events, 5 cases, 13 source records, 1 batch.
        let after = all_counts(&db).await;
        let grew: Vec<(&str, i64)> = before
            .iter()
            .zip(&after)
            .filter(|(x, y)| x.1 != y.1)
            .map(|(x, y)| (x.0, y.1 - x.1))
            .collect();
        assert_eq!(
            grew,
            vec![
                ("registry_batch", 1),
                ("registry_event", 2),
                ("registry_case", 5),
                ("registry_source_record", 13),
            ],
            "[{}]",
            db.label
        );
        // A replay writes nothing and reports the first import.
        let again = import(&db, FeedKind::Education, "2026-02-02", file.as_bytes()).await;
        assert!(again.replayed);
        assert_eq!(again.refusals, report.refusals);
        assert_eq!(again.cases, report.cases);
        assert_eq!(all_counts(&db).await, after);
        // Next term: a's segment unchanged, b's graduation moved (a new row, the old kept).
        let next = format!(
            "{EDUCATION}\
             {},张丽,2,2005-03-04,U1,140100,1404,2024-09-01,\n\
             {},陈刚,1,2008-06-07,M7,140502,1403,2020-09-01,2026-01-15\n",
            p.a, p.b
        );
        let r = import(&db, FeedKind::Education, "2026-03-01", next.as_bytes()).await;
        assert_eq!((r.rows_taken, r.rows_matched, r.cases_opened), (2, 2, 0));
        assert_eq!(
            held(b.clone(), "2026-06-01").await,
            vec!["1403 M7 2026-12-31"]
        );
        db
    })
    .await;
}

#[tokio::test]
async fn disability_levels_one_and_two_give_the_category_from_the_federation() {
    on_both(|db| async move {
        let p = people(&db).await;
        let file = format!(
            "{DISABILITY}\
             {},张丽,2,2005-03-04,4,1,2025-03-01,2035-02-28\n\
             {},陈刚,1,2008-06-07,2,3,2025-04-01,\n\
             ,阿依古丽·买买提,2,2012-05-01,5,2,2025-05-01,\n\
             {},陈刚,1,2008-06-07,2,5,2025-04-01,\n\
             {},陈刚,1,2008-06-07,8,3,2025-04-01,\n\
             {},陈刚,1,2008-06-07,2,3,2026-04-01,\n\
             {},陈刚,1,2008-06-07,2,3,2025-04-01,2024-01-01\n\
             {},陈刚,1,2008-06-07,3,3,2025-04-01,\n\
             {},陈刚,1,2008-06-07,3,4,2025-04-01,\n",
            p.a, p.b, p.b, p.b, p.b, p.b, p.b, p.b
        );
        let report = import(&db, FeedKind::Disability, "2026-02-01", file.as_bytes()).await;
        let refused: Vec<u64> = report.refusals.iter().map(|r| r.line).collect();
        assert_eq!(refused, vec![5, 6, 7, 8, 9, 10], "{:?}", report.refusals);
        let reasons: Vec<&str> = report.refusals.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("dsab_lv `5`"));
        assert!(reasons[1].contains("dsab_type `8`"));
        assert!(reasons[2].contains("in the future"));
        assert!(reasons[3].contains("before begn_date"));
        assert!(reasons[4].contains("contradicting rows"), "{}", reasons[4]);
        assert_eq!(
            (report.rows_taken, report.rows_matched),
            (3, 2),
            "{report:?}"
        );
        let kinds: Vec<&str> = report.cases.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["data_quality", "fallback_match"],
            "{:?}",
            report.cases
        );
        let a = psn_no_of(&db, &p.a).await;
        let b = psn_no_of(&db, &p.b).await;
        let pupil = psn_no_of(&db, &p.pupil).await;
        // Level 1: the 重度残疾 category (2308) from the disabled persons' federation.
        let ids = db
            .store
            .identities_as_of(&a, day("2026-01-01"))
            .await
            .unwrap();
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(
            (
                ids[0].idet_type.as_str(),
                ids[0].category.as_str(),
                ids[0].sp_psn_type.as_str()
            ),
            ("2308", "severe_disability", "4")
        );
        assert_eq!(ids[0].source_dept, "disabled_federation");
        assert_eq!(ids[0].end_date, "2035-02-28");
        // Level 3: recorded, no category; the fallback match: nothing at all.
        assert!(db
            .store
            .identities_as_of(&b, day("2026-01-01"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            db.store
                .disabilities_as_of(&b, day("2026-01-01"))
                .await
                .unwrap(),
            vec![DisabilityHeld {
                dsab_type: "2".into(),
                dsab_lv: "3".into(),
                begn_date: "2025-04-01".into(),
                end_date: String::new(),
            }]
        );
        assert!(db
            .store
            .identities_as_of(&pupil, day("2026-01-01"))
            .await
            .unwrap()
            .is_empty());
        assert!(db
            .store
            .disabilities_as_of(&pupil, day("2026-01-01"))
            .await
            .unwrap()
            .is_empty());
        // The 免申即享 decisions read the category exactly as an identity list's.
        let params = yibao_enrollment::builtin_params().unwrap();
        let auto = db
            .store
            .decide_on_batch(
                &report.batch_id,
                &params,
                day("2026-02-01"),
                at("2026-02-01", "09:00:00"),
            )
            .await
            .unwrap();
        assert_eq!(auto.records, 1, "{auto:?}");
        // A replay writes nothing.
        let after = all_counts(&db).await;
        let again = import(&db, FeedKind::Disability, "2026-02-03", file.as_bytes()).await;
        assert!(again.replayed);
        assert_eq!(all_counts(&db).await, after);
        // The level lowered to 3: recorded, the category stays, a clerk decides.
        let lowered = format!(
            "{DISABILITY}{},张丽,2,2005-03-04,4,3,2025-03-01,2035-02-28\n",
            p.a
        );
        let r = import(&db, FeedKind::Disability, "2026-03-01", lowered.as_bytes()).await;
        assert_eq!(r.cases.len(), 1, "{r:?}");
        assert_eq!(r.cases[0].kind, "data_quality");
        assert!(r.cases[0].reason.contains("stays until a clerk ends it"));
        assert_eq!(
            db.store
                .identities_as_of(&a, day("2026-04-01"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            db.store
                .disabilities_as_of(&a, day("2026-04-01"))
                .await
                .unwrap()[0]
                .dsab_lv,
            "3"
        );
        db
    })
    .await;
}

#[tokio::test]
async fn fallback_match_is_unique_within_the_region_and_never_for_a_valid_id() {
    on_both(|db| async move {
        let p = people(&db).await;
        let pupil = psn_no_of(&db, &p.pupil).await;
        let query =
            |certno: &str, name: &str, brdy: &str, gend: &str, region: &str| FallbackQuery {
                certno: certno.into(),
                psn_name: name.into(),
                brdy: day(brdy),
                gend: gend.into(),
                region: region.into(),
                today: day("2026-02-01"),
            };
        let decide = |q: FallbackQuery| {
            let store = db.store.clone();
            async move { store.fallback_match(&q).await.unwrap().decision }
        };
        assert_eq!(
            decide(query("", "阿依古丽.买买提", "2012-05-01", "2", "14")).await,
            FallbackDecision::Proposed {
                psn_no: pupil.clone(),
                confidence_permille: 800
            }
        );
        assert_eq!(
            decide(query("", "阿依古丽·买买提", "2012-05-01", "2", "15")).await,
            FallbackDecision::Unmatched(UnmatchedReason::NoId)
        );
        assert_eq!(
            decide(query("", "阿依古丽·买买提", "2012-05-01", "1", "14")).await,
            FallbackDecision::Unmatched(UnmatchedReason::NoId)
        );
        assert_eq!(
            decide(query("", "王明", "2011-01-01", "1", "140502")).await,
            FallbackDecision::Unmatched(UnmatchedReason::Ambiguous)
        );
        // A number that differs from the only candidate's in more than its check character.
        let other = bad_check(&cid("140502", "2012-05-01", 24));
        assert_eq!(
            decide(query(&other, "阿依古丽·买买提", "2012-05-01", "2", "14")).await,
            FallbackDecision::Unmatched(UnmatchedReason::ConflictingId)
        );
        assert_eq!(
            decide(query("", "李娜", "2009-09-09", "2", "15")).await,
            FallbackDecision::Proposed {
                psn_no: psn_no_of(&db, &p.elsewhere).await,
                confidence_permille: 800
            }
        );
        let valid = db
            .store
            .fallback_match(&query(&p.a, "张丽", "2005-03-04", "2", "14"))
            .await;
        assert!(valid.unwrap_err().to_string().contains("valid ID"));
        let no_region = db
            .store
            .fallback_match(&query("", "张丽", "2005-03-04", "2", ""))
            .await;
        assert!(no_region.is_err());
        // Without a region the import tries no fallback.
        let file = format!("{EDUCATION},张丽,2,2005-03-04,U1,140100,1404,2024-09-01,\n");
        let r = db
            .store
            .import_roster(
                &roster(FeedKind::Education, "2026-02-01", ""),
                file.as_bytes(),
                &no_progress,
            )
            .await
            .unwrap();
        assert_eq!(r.cases.len(), 1);
        assert!(r.cases[0].reason.contains("no region"), "{:?}", r.cases[0]);
        let _ = p.twin;
        // A reviewer confirms a fallback match by naming the person (as for an unmatched
        // record); the proposal alone applied nothing.
        let file = format!("{EDUCATION},阿依古丽·买买提,2,2012-05-01,P3,140502,1403,2018-09-01,\n");
        let r = import(&db, FeedKind::Education, "2026-02-02", file.as_bytes()).await;
        assert_eq!(r.cases[0].kind, "fallback_match");
        let reviewer = db
            .store
            .staff_create(
                &NewStaff {
                    username: "reviewer1".into(),
                    password: "reviewer1-long-password".into(),
                    display_name: "Reviewer".into(),
                    roles: vec![Role::Reviewer],
                    fixmedins_code: None,
                    admdvs: "140500".into(),
                },
                None,
                0,
            )
            .await
            .unwrap();
        db.store
            .registry_case_step(
                r.cases[0].case_id,
                reviewer.staff_id,
                &yibao_store::casework::CaseAction::Resolve {
                    outcome: yibao_store::casework::CaseOutcome::Matched,
                    psn_no: Some(pupil.clone()),
                },
                "the school confirmed the pupil",
                at("2026-02-03", "10:00:00"),
            )
            .await
            .unwrap();
        let case = db
            .store
            .registry_case_file(r.cases[0].case_id)
            .await
            .unwrap();
        assert_eq!(case.case.status, "closed", "{case:?}");
        db
    })
    .await;
}

#[tokio::test]
async fn hostile_roster_files_are_refused_whole_or_by_line() {
    on_both(|db| async move {
        people(&db).await;
        let before = all_counts(&db).await;
        for (what, file) in [
            ("wrong header", b"certno,psn_name,gend,brdy\n".to_vec()),
            ("identity header", b"certno,psn_name,idet_type,begn_date,end_date\n".to_vec()),
            ("empty", Vec::new()),
            ("header in another order", b"psn_name,certno,gend,brdy,school_code,school_admdvs,stu_type,entry_date,grad_date\n".to_vec()),
        ] {
            let e = db
                .store
                .import_roster(&roster(FeedKind::Education, "2026-02-01", "14"), &file, &no_progress)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("header"), "{what}: {e}");
        }
        assert_eq!(all_counts(&db).await, before);
        // Bad bytes, quotes, and huge fields: refused by line, the good row imported.
        let a = cid("140502", "2005-03-04", 12);
        let mut file = DISABILITY.as_bytes().to_vec();
        file.extend_from_slice(b"\xff\xfe,\xe5\xbc\xa0,2,2005-03-04,4,1,2025-03-01,\n");
        file.extend_from_slice(format!("{a},\"张丽\",2,2005-03-04,4,1,2025-03-01,\n").as_bytes());
        file.extend_from_slice(format!("{a},{},2,2005-03-04,4,1,2025-03-01,\n", "丽".repeat(5000)).as_bytes());
        file.extend_from_slice(b"\"unterminated,1,2\n");
        let r = db
            .store
            .import_roster(&roster(FeedKind::Disability, "2026-02-01", "14"), &file, &no_progress)
            .await
            .unwrap();
        assert_eq!(r.rows_taken, 1, "{r:?}");
        assert_eq!(r.rows_matched, 1);
        let lines: Vec<u64> = r.refusals.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![2, 4, 5], "{:?}", r.refusals);
        assert!(r.refusals[0].reason.contains("not valid UTF-8"));
        assert!(r.refusals[1].reason.contains("longer than"));
        // A bad region or an empty department refuses the import before reading.
        let mut bad = roster(FeedKind::Disability, "2026-02-01", "1");
        assert!(db.store.import_roster(&bad, &file, &no_progress).await.is_err());
        bad.region = "14".into();
        bad.feed.source_dept = " ".into();
        assert!(db.store.import_roster(&bad, &file, &no_progress).await.is_err());
        // A roster is not a feed of the other kinds, nor the other way round.
        let police_kind = roster(FeedKind::Police, "2026-02-01", "14");
        assert!(db.store.import_roster(&police_kind, &file, &no_progress).await.is_err());
        assert!(db
            .store
            .import_feed(&feed(FeedKind::Education, "2026-02-01"), EDUCATION.as_bytes(), &no_progress)
            .await
            .is_err());
        assert!(db.store.check_feed_references().await.unwrap().is_empty());
        db
    })
    .await;
}

/// Migration 19 rebuilds four registry tables on SQLite (a CHECK cannot be altered there):
/// a registry migrated to 17 with a batch, an event, a category and a case with a step keeps
/// every row and every reference, and the new kinds are accepted afterwards.
#[tokio::test]
async fn migration_19_keeps_the_registry_rows_on_sqlite() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut migrator = sqlx::migrate::Migrator::new(source).await.unwrap();
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version < 19)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    migrator.run_direct(&mut conn).await.unwrap();
    for statement in [
        "PRAGMA foreign_keys = ON",
        "INSERT INTO person VALUES ('P1', '11010519491231002X', '张三', '2', '1949-12-31', '', '')",
        "INSERT INTO registry_batch VALUES ('B1', 'identity', 'civil_affairs', 'f.csv', 'cli', \
         '2026-01-01 00:00:00', 1, 1, 1, 0, 0, 1)",
        "INSERT INTO registry_source_record VALUES ('B1', 2, 'civil_affairs', 'k', 'p', 'P1', 'id', \
         'assigned', '')",
        "INSERT INTO registry_event VALUES (1, 'P1', 'identity_begin', '2026-01-01', \
         '2026-01-01 00:00:00', 'civil_affairs', 'B1', 2, 'cli', 'p')",
        "INSERT INTO identity_assignment VALUES (1, 'P1', '2303', 'dibao', '2', '2026-01-01', '', \
         'civil_affairs', 'B1', 2, '2026-01-01 00:00:00', 1)",
        "INSERT INTO registry_case VALUES (1, 'data_quality', 'P1', '11010519491231002X', 'why', \
         'civil_affairs', 'B1', 2, 'open', '2026-01-01 00:00:00')",
        "INSERT INTO staff_account (staff_id, username, display_name, password_hash, admdvs, \
         fixmedins_code, active, failed_logins, locked_until_ms, created_at_ms) \
         VALUES (1, 'r1', 'R', 'x', '140500', NULL, 1, 0, 0, 0)",
        "INSERT INTO registry_case_step VALUES (1, 1, 1, 'note', '', '', 'a note', '2026-01-02')",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    conn.close().await.unwrap();
    let store = Store::connect(&url)
        .await
        .expect("migration 19 on a filled registry");
    let counts: Vec<(&str, i64)> = store.feed_row_counts().await.unwrap();
    for (table, n) in [
        ("registry_batch", 1),
        ("registry_event", 1),
        ("identity_assignment", 1),
        ("registry_case", 1),
        ("registry_source_record", 1),
    ] {
        assert!(counts.contains(&(table, n)), "{table}: {counts:?}");
    }
    assert_eq!(
        store
            .identities_as_of("P1", day("2026-06-01"))
            .await
            .unwrap()[0]
            .idet_type,
        "2303"
    );
    assert_eq!(
        store.source_record_match("B1", 2).await.unwrap(),
        Some(("P1".into(), "id".into(), None))
    );
    let file = store.registry_case_file(1).await.unwrap();
    assert_eq!(file.steps.len(), 1);
    store.close().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let broken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(broken, 0);
    for statement in [
        "PRAGMA foreign_keys = ON",
        "INSERT INTO registry_batch VALUES ('B2', 'education', 'education', 'f.csv', 'cli', \
         '2026-02-01 00:00:00', 1, 1, 0, 0, 0, 1)",
        "INSERT INTO registry_case VALUES (2, 'fallback_match', 'P1', '', 'why', 'education', \
         'B2', 2, 'open', '2026-02-01 00:00:00')",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // Still append-only, and references still enforced.
    assert!(
        sqlx::query("DELETE FROM registry_batch WHERE batch_id = 'B2'")
            .execute(&mut conn)
            .await
            .is_err()
    );
    assert!(sqlx::query(
        "INSERT INTO registry_case VALUES (3, 'unmatched', '', '', 'why', 'x', 'NO-BATCH', 2, \
         'open', '2026-02-01 00:00:00')"
    )
    .execute(&mut conn)
    .await
    .is_err());
}
