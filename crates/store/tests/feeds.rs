//! Department feeds (issue 13, docs/FEEDS.md): the police population file and the
//! civil-affairs identity list into the registry, on SQLite and PostgreSQL: matching, moves,
//! conflicts, cases, refusals by line, replays that write nothing, "as of" reads, the registry
//! check, and what 1101 and settlement read.

#[path = "common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use sqlx::Connection;
use yibao_store::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn imp(kind: FeedKind, today: &str) -> FeedImport {
    FeedImport {
        kind,
        file_name: "test.csv".into(),
        source_dept: kind.default_dept().into(),
        actor: "tester".into(),
        today: day(today),
        recorded_at: at(today, "09:00:00"),
    }
}

fn no_progress(_: FeedProgress) {}

async fn import(db: &TestDb, kind: FeedKind, today: &str, file: &str) -> FeedReport {
    db.store
        .import_feed(&imp(kind, today), file.as_bytes(), &no_progress)
        .await
        .expect("import")
}

async fn counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut all = db.store.row_counts().await.unwrap();
    all.extend(db.store.feed_row_counts().await.unwrap());
    all
}

const POLICE: &str = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n";
const IDENTITY: &str = "certno,psn_name,idet_type,begn_date,end_date\n";

async fn psn_no_of(db: &TestDb, certno: &str) -> String {
    db.store
        .person_info(certno)
        .await
        .expect("person")
        .base
        .psn_no
}

#[tokio::test]
async fn police_file_adds_persons_refuses_bad_rows_and_replays_nothing() {
    on_both(|db| async move {
        imported(&db).await;
        let a = cid("140502", "1980-01-01", 11);
        let b = cid("140502", "1982-02-02", 12); // even sequence: female
        let c = cid("140502", "1990-05-05", 15);
        let mut bad_check = cid("140502", "1970-01-01", 17);
        bad_check.replace_range(17.., if bad_check.ends_with('1') { "2" } else { "1" });
        let future = cid("140502", "2099-01-01", 1);
        let file = format!(
            "{POLICE}\
             {a},张一,1,1980-01-01,140500,H1,02\n\
             {b},李二,1,1982-02-02,140500,H1,10\n\
             {bad_check},王三,1,1970-01-01,140500,H2,02\n\
             {future},未来,1,2099-01-01,140500,H2,02\n\
             {c},赵四,1,1990-05-05,140500,H3,05\n\
             {c},赵四,1,1990-05-05,140500,H3,02\n\
             {c},赵四,1,1990-05-05,140500,H4,02\n\
             {a},张一,1,1980-01-01,1405,H1,02\n"
        );
        let before = counts(&db).await;
        let report = import(&db, FeedKind::Police, "2026-03-01", &file).await;
        assert!(!report.replayed);
        assert_eq!(report.rows_read, 8, "{report:?}");
        assert_eq!(
            (report.rows_taken, report.rows_matched, report.rows_refused),
            (2, 0, 6),
            "{report:?}"
        );
        assert_eq!(report.persons_created, 2);
        let lines: Vec<u64> = report.refusals.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7, 8, 9], "{report:?}");
        let reason = |line: u64| {
            report
                .refusals
                .iter()
                .find(|r| r.line == line)
                .unwrap()
                .reason
                .clone()
        };
        assert!(reason(4).contains("bad_check_digit"), "{}", reason(4));
        assert!(reason(5).contains("future"), "{}", reason(5));
        assert!(reason(6).contains("hh_rel"), "{}", reason(6));
        assert!(reason(7).contains("two households"), "{}", reason(7));
        assert!(reason(8).contains("two households"), "{}", reason(8));
        assert!(reason(9).contains("admdvs"), "{}", reason(9));
        let kinds: Vec<(&str, u64)> = report
            .cases
            .iter()
            .map(|c| (c.kind.as_str(), c.line))
            .collect();
        assert_eq!(
            kinds,
            vec![("household_conflict", 7), ("data_quality", 3)],
            "{report:?}"
        );
        // The department's sex is kept, never fixed.
        let person_b = db.store.person_info(&b).await.unwrap();
        assert_eq!(person_b.base.gend, "1");
        assert_eq!(person_b.base.psn_no.len(), 20);
        assert!(person_b.base.psn_no.starts_with("140500"));
        let psn_a = psn_no_of(&db, &a).await;
        let hh = db
            .store
            .household_as_of(&psn_a, day("2026-03-01"))
            .await
            .unwrap()
            .expect("a household");
        assert_eq!((hh.hh_id.as_str(), hh.hh_rel.as_str()), ("H1", "02"));
        assert!(db
            .store
            .household_as_of(&psn_a, day("2026-02-28"))
            .await
            .unwrap()
            .is_none());

        // The same file again: the same report, nothing written.
        let after = counts(&db).await;
        assert_ne!(before, after);
        let again = import(&db, FeedKind::Police, "2026-03-02", &file).await;
        assert!(again.replayed);
        assert_eq!(again.refusals, report.refusals);
        assert_eq!(again.cases, report.cases);
        assert_eq!(
            (again.rows_taken, again.rows_matched, again.rows_refused),
            (2, 0, 6)
        );
        assert_eq!(counts(&db).await, after);

        // A later file: A moves to H9 (matched by the 15-digit legacy number), B unchanged.
        let legacy_a = format!("{}{}", &a[..6], &a[8..17]);
        let file2 = format!(
            "{POLICE}{legacy_a},张一,1,1980-01-01,140500,H9,02\n{b},李二,1,1982-02-02,140500,H1,10\n"
        );
        let moved = import(&db, FeedKind::Police, "2026-04-01", &file2).await;
        assert_eq!(
            (moved.rows_taken, moved.rows_matched, moved.persons_created),
            (2, 2, 0),
            "{moved:?}"
        );
        let then = db
            .store
            .household_as_of(&psn_a, day("2026-03-15"))
            .await
            .unwrap()
            .unwrap();
        let now = db
            .store
            .household_as_of(&psn_a, day("2026-04-01"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((then.hh_id.as_str(), now.hh_id.as_str()), ("H1", "H9"));
        assert_eq!(db.store.check_feed_references().await.unwrap(), Vec::<String>::new());

        // History is never overwritten: the event log refuses an update.
        let result = if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE registry_event SET kind = 'register'")
                .execute(&mut conn)
                .await
                .map(|_| ())
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE registry_event SET kind = 'register'")
                .execute(&mut conn)
                .await
                .map(|_| ())
        };
        assert!(result.is_err(), "the event log took an update");
        db
    })
    .await;
}

#[tokio::test]
async fn identity_list_assigns_categories_and_1101_answers_them() {
    on_both(|db| async move {
        imported(&db).await;
        let a = cid("140502", "1960-06-06", 21);
        let b = cid("140502", "1961-06-06", 22);
        let stranger = cid("140502", "1962-06-06", 23);
        import(
            &db,
            FeedKind::Police,
            "2026-01-10",
            &format!(
                "{POLICE}{a},孙甲,1,1960-06-06,140500,H7,02\n{b},孙乙,2,1961-06-06,140500,H7,10\n"
            ),
        )
        .await;
        let file = format!(
            "{IDENTITY}\
             {a},孙甲,2303,2026-01-01,\n\
             {stranger},路人,2303,2026-01-01,\n\
             {b},别人,2304,2026-01-01,\n\
             {a},孙甲,9999,2026-01-01,\n\
             {a},孙甲,2302,2099-01-01,\n\
             {a},孙甲,2302,2025-01-01,2024-12-31\n\
             {a},孙甲,2308,2025-01-01,2025-12-31\n"
        );
        let report = import(&db, FeedKind::Identity, "2026-02-01", &file).await;
        assert_eq!(
            (
                report.rows_read,
                report.rows_taken,
                report.rows_matched,
                report.rows_refused
            ),
            (7, 4, 3, 3),
            "{report:?}"
        );
        let lines: Vec<u64> = report.refusals.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![5, 6, 7]);
        assert!(report.refusals[0].reason.contains("idet_type"));
        assert!(report.refusals[1].reason.contains("future"));
        assert!(report.refusals[2].reason.contains("before begn_date"));
        let cases: Vec<(&str, u64)> = report
            .cases
            .iter()
            .map(|c| (c.kind.as_str(), c.line))
            .collect();
        assert_eq!(cases, vec![("unmatched", 3), ("data_quality", 4)]);

        let psn_a = psn_no_of(&db, &a).await;
        let held = db
            .store
            .identities_as_of(&psn_a, day("2026-02-01"))
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            (
                held[0].idet_type.as_str(),
                held[0].category.as_str(),
                held[0].sp_psn_type.as_str()
            ),
            ("2303", "dibao", "2")
        );
        let in_2025 = db
            .store
            .identities_as_of(&psn_a, day("2025-06-01"))
            .await
            .unwrap();
        assert_eq!(in_2025.len(), 1);
        assert_eq!(in_2025[0].idet_type, "2308");
        // 1101 lists the department's code with its start.
        let info = db.store.person_info(&a).await.unwrap();
        let dibao = info
            .identities
            .iter()
            .find(|i| i.sp_psn_type == "2303")
            .expect("2303 in idetinfo");
        assert_eq!(dibao.begndate, "2026-01-01");
        assert_eq!(dibao.enddate, "");
        // The other person's category was not applied (the name disagreed).
        let psn_b = psn_no_of(&db, &b).await;
        assert!(db
            .store
            .identities_as_of(&psn_b, day("2026-02-01"))
            .await
            .unwrap()
            .is_empty());

        // Replay: nothing written. A later list ending the category: a new record, the old
        // one kept.
        let before = counts(&db).await;
        let again = import(&db, FeedKind::Identity, "2026-02-02", &file).await;
        assert!(again.replayed);
        assert_eq!(again.refusals, report.refusals);
        assert_eq!(counts(&db).await, before);
        let ended = import(
            &db,
            FeedKind::Identity,
            "2026-06-01",
            &format!("{IDENTITY}{a},孙甲,2303,2026-01-01,2026-05-31\n"),
        )
        .await;
        assert_eq!((ended.rows_taken, ended.rows_matched), (1, 1));
        assert!(db
            .store
            .identities_as_of(&psn_a, day("2026-06-01"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            db.store
                .identities_as_of(&psn_a, day("2026-05-31"))
                .await
                .unwrap()
                .len(),
            1
        );
        // The same rows in another file change nothing but the record of having seen them.
        let n = |all: &[(&str, i64)], t: &str| all.iter().find(|(n, _)| *n == t).unwrap().1;
        let before = counts(&db).await;
        let seen = import(
            &db,
            FeedKind::Identity,
            "2026-06-02",
            &format!("{IDENTITY}{a},孙甲,2303,2026-01-01,2026-05-31\n\n"),
        )
        .await;
        assert!(!seen.replayed);
        let after = counts(&db).await;
        for table in [
            "identity_assignment",
            "registry_event",
            "person",
            "identity",
        ] {
            assert_eq!(n(&before, table), n(&after, table), "{table}");
        }
        assert_eq!(
            n(&after, "registry_batch"),
            n(&before, "registry_batch") + 1
        );
        db
    })
    .await;
}

#[tokio::test]
async fn an_identity_list_without_a_source_is_refused() {
    on_both(|db| async move {
        let mut no_source = imp(FeedKind::Identity, "2026-01-01");
        no_source.source_dept = " ".into();
        let before = counts(&db).await;
        let err = db
            .store
            .import_feed(&no_source, IDENTITY.as_bytes(), &no_progress)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("without a source"), "{err}");
        let err = db
            .store
            .import_feed(
                &imp(FeedKind::Identity, "2026-01-01"),
                POLICE.as_bytes(),
                &no_progress,
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("the header of the identity file is"),
            "{err}"
        );
        assert_eq!(counts(&db).await, before);
        db
    })
    .await;
}

#[tokio::test]
async fn registry_check_finds_the_uninsured_and_the_duplicates() {
    on_both(|db| async move {
        imported(&db).await;
        let a = cid("140502", "1975-07-07", 31);
        let b = cid("140502", "1976-07-07", 32);
        import(
            &db,
            FeedKind::Police,
            "2026-01-10",
            &format!(
                "{POLICE}{a},周甲,1,1975-07-07,140500,H8,02\n{b},周乙,2,1976-07-07,140500,H8,10\n"
            ),
        )
        .await;
        let psn_b = psn_no_of(&db, &b).await;
        // B holds a resident relation and an employee relation at once.
        let insert = "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                      begndate, enddate, psn_insu_stas) VALUES ($1, $2, '1101', '140500', '', $3, $4, '1')";
        let rows = [("390", "2026-01-01", "2026-12-31"), ("310", "2026-06-01", "")];
        if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            for (t, b, e) in rows {
                sqlx::query(insert)
                    .bind(&psn_b)
                    .bind(t)
                    .bind(b)
                    .bind(e)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            for (t, b, e) in rows {
                sqlx::query(insert)
                    .bind(&psn_b)
                    .bind(t)
                    .bind(b)
                    .bind(e)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        let params = yibao_enrollment::builtin_params().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let check = db.store.registry_check(2026, today, &params).await.unwrap();
        let ours = |check: &yibao_store::coverage::RegistryCheck| -> Vec<(String, &'static str, &'static str)> {
            check
                .findings
                .iter()
                .map(|f| (f.certno.clone(), f.finding, f.reason))
                .collect()
        };
        assert_eq!(
            ours(&check),
            vec![
                (a.clone(), "uninsured", "never_insured"),
                (b.clone(), "duplicate", "two_schemes")
            ]
        );
        // In 2025 B's relations did not exist yet: both are uninsured then.
        let check = db.store.registry_check(2025, today, &params).await.unwrap();
        assert_eq!(
            ours(&check),
            vec![
                (a.clone(), "uninsured", "never_insured"),
                (b.clone(), "uninsured", "never_insured")
            ]
        );
        db
    })
    .await;
}

/// A department's identity record shadows the registry's imported row of the same category and
/// start in what 1101 answers: one row per category, in the department's code.
#[tokio::test]
async fn a_feed_record_shadows_the_imported_row_of_the_same_category() {
    on_both(|db| async move {
        imported(&db).await;
        let a = cid("140502", "1977-07-07", 51);
        import(
            &db,
            FeedKind::Police,
            "2026-02-01",
            &format!("{POLICE}{a},郑甲,1,1977-07-07,140500,H51,02\n"),
        )
        .await;
        let psn = psn_no_of(&db, &a).await;
        let insert = "INSERT INTO identity (psn_no, sp_psn_type, begndate, enddate, source_dept) \
                      VALUES ($1, '2', '2026-01-01', '', '民政')";
        if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(insert)
                .bind(&psn)
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(insert)
                .bind(&psn)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let codes = |info: PersonInfo| -> Vec<String> {
            info.identities.into_iter().map(|i| i.sp_psn_type).collect()
        };
        assert_eq!(codes(db.store.person_info(&psn).await.unwrap()), ["2"]);
        import(
            &db,
            FeedKind::Identity,
            "2026-02-01",
            &format!("{IDENTITY}{a},郑甲,2303,2026-01-01,\n"),
        )
        .await;
        assert_eq!(codes(db.store.person_info(&psn).await.unwrap()), ["2303"]);
        db
    })
    .await;
}

/// A feed naming most of the registry is matched by one scan of each table instead of index
/// probes (`limits::FEED_SCAN_KEYS_MIN`): the same answers as the probes give.
#[tokio::test]
async fn a_large_feed_is_matched_by_scanning() {
    on_both(|db| async move {
        let n = 26_000u32;
        let row = |i: u32, hh: u32| {
            let brdy = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
                + chrono::Days::new(u64::from(i % 20_000));
            let seq = 1 + 2 * (i / 20_000);
            let certno = cid("140502", &brdy.to_string(), seq);
            format!("{certno},名{i},1,{brdy},140500,H{hh},02\n")
        };
        let first: String = std::iter::once(POLICE.to_string())
            .chain((0..n).map(|i| row(i, i)))
            .collect();
        let report = import(&db, FeedKind::Police, "2026-03-01", &first).await;
        assert_eq!(
            (
                report.rows_taken,
                report.persons_created,
                report.rows_refused
            ),
            (u64::from(n), u64::from(n), 0),
            "{:?}",
            &report.refusals[..report.refusals.len().min(3)]
        );
        // The next day: every hundredth person moved.
        let second: String = std::iter::once(POLICE.to_string())
            .chain((0..n).map(|i| row(i, if i % 100 == 0 { i + 1_000_000 } else { i })))
            .collect();
        let before = counts(&db).await;
        let report = import(&db, FeedKind::Police, "2026-03-02", &second).await;
        assert_eq!(
            (report.rows_matched, report.persons_created),
            (u64::from(n), 0)
        );
        let after = counts(&db).await;
        let n_of = |all: &[(&str, i64)], t: &str| all.iter().find(|(x, _)| *x == t).unwrap().1;
        assert_eq!(
            n_of(&after, "household_member") - n_of(&before, "household_member"),
            i64::from(n / 100)
        );
        assert_eq!(
            db.store.check_feed_references().await.unwrap(),
            Vec::<String>::new()
        );
        db
    })
    .await;
}

/// Settlement reads the categories a feed gave: a resident's inpatient bill gets the
/// assistance fund (医疗救助, `sp_psn_type` 2 for 低保) once the civil-affairs list names her.
#[tokio::test]
async fn settlement_reads_a_category_from_the_identity_list() {
    on_both(|db| async move {
        // The fixture's P003 (王五) with a valid citizen ID, so a department row can match her.
        let dir = registry_dir();
        let persons = dir.path().join("persons.csv");
        let text = std::fs::read_to_string(&persons).unwrap();
        std::fs::write(
            &persons,
            text.replace("140502199003031236", "140502199003031235"),
        )
        .unwrap();
        db.store.import_registry(dir.path()).await.expect("import");
        let admit = Command::Admit(Admit {
            adm_bed: None,
            psn_no: "P003".into(),
            insutype: "390".into(),
            begntime: at("2025-05-01", "08:00:00"),
            mdtrt_cert_type: "02".into(),
            mdtrt_cert_no: "140502199003031235".into(),
            med_type: "21".into(),
            ipt_no: "IPT-13".into(),
            atddr_no: "D002".into(),
            chfpdr_name: "主治".into(),
            adm_dept_codg: "A03".into(),
            adm_dept_name: "内科".into(),
            dscg_maindiag_code: "I10.x00".into(),
            dscg_maindiag_name: "高血压".into(),
            main_cond_dscr: String::new(),
            diagnoses: vec![],
            transfer_in: false,
        });
        let mdtrt_id = match fresh(exec(&db, HOSPITAL, "F-2401", "2401", admit).await.unwrap()) {
            Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
            other => panic!("2401 gave {other:?}"),
        };
        fresh(
            exec(
                &db,
                HOSPITAL,
                "F-2301",
                "2301",
                Command::UploadFees(UploadFees {
                    kind: VisitKind::Inpatient,
                    lines: spec_lines(&mdtrt_id, "P003"),
                }),
            )
            .await
            .unwrap(),
        );
        let pre = |msgid: &'static str| {
            let cmd = settle_kind_cmd(
                VisitKind::Inpatient,
                true,
                &mdtrt_id,
                "P003",
                "390",
                410_000,
                "0",
            );
            let db = &db;
            async move { settled(fresh(exec(db, HOSPITAL, msgid, "2303", cmd).await.unwrap())) }
        };
        assert_eq!(pre("F-2303a").await.amounts.maf_pay.0, 0);
        let report = import(
            &db,
            FeedKind::Identity,
            "2025-06-01",
            &format!("{IDENTITY}140502199003031235,王五,2303,2025-01-01,\n"),
        )
        .await;
        assert_eq!(
            (report.rows_matched, report.rows_refused),
            (1, 0),
            "{report:?}"
        );
        assert!(pre("F-2303b").await.amounts.maf_pay.0 > 0);
        db
    })
    .await;
}

/// §9.2: every uninsured person of the base population gets the most specific reason the
/// registry's evidence supports; a confirmed death leaves the base; a resident year assessed
/// and not paid is not insurance; the county report adds it up.
#[tokio::test]
async fn the_check_gives_each_uninsured_person_a_reason_and_counts_them_by_county() {
    on_both(|db| async move {
        imported(&db).await;
        let lapsed = cid("140581", "1980-01-01", 61);
        let paid = cid("140581", "1980-01-02", 62);
        let dead = cid("140581", "1940-01-03", 63);
        let reported = cid("140581", "1941-01-04", 64);
        let dibao = cid("140581", "1982-01-05", 65);
        let baby = cid("140581", "2026-11-20", 66);
        let mut file = String::from(POLICE);
        for (certno, name, brdy, rel) in [
            (&lapsed, "高甲", "1980-01-01", "02"),
            (&paid, "高乙", "1980-01-02", "10"),
            (&dead, "高丙", "1940-01-03", "50"),
            (&reported, "高丁", "1941-01-04", "50"),
            (&dibao, "高戊", "1982-01-05", "30"),
            (&baby, "高己", "2026-11-20", "20"),
        ] {
            file.push_str(&format!("{certno},{name},1,{brdy},140581,H581,{rel}\n"));
        }
        import(&db, FeedKind::Police, "2026-11-30", &file).await;
        import(
            &db,
            FeedKind::Identity,
            "2026-11-30",
            &format!("{IDENTITY}{dibao},高戊,2303,2026-01-01,\n"),
        )
        .await;
        let relation = "INSERT INTO insurance (psn_no, insutype, psn_type, insuplc_admdvs, emp_name, \
                        begndate, enddate, psn_insu_stas) VALUES ($1, '390', '1401', '140581', '', $2, $3, '1')";
        let assessment = "INSERT INTO contribution_assessment (assessment_id, psn_no, insutype, \
             insu_admdvs, period, clct_type, psn_type, base_fen, emp_clct_fen, psn_clct_fen, \
             oth_clct_fen, into_acct_fen, into_pool_fen, clct_sum_fen, sign, params_id, \
             assessed_at) VALUES ($1, $2, '390', '140581', '2026', 'normal', '1401', 0, 0, 40000, \
             70000, 0, 110000, 110000, 1, '140500-2025', '2025-09-01 00:00:00')";
        let psn = |c: &str| {
            let c = c.to_owned();
            let db = &db;
            async move { psn_no_of(db, &c).await }
        };
        let (p_lapsed, p_paid) = (psn(&lapsed).await, psn(&paid).await);
        for (p, b, e) in [
            (&p_lapsed, "2025-01-01", "2025-12-31"),
            (&p_lapsed, "2026-01-01", "2026-12-31"),
            (&p_paid, "2026-01-01", "2026-12-31"),
        ] {
            sql(&db, relation, &[p, b, e]).await;
        }
        sql(&db, assessment, &["R2026-L", &p_lapsed]).await;
        sql(&db, assessment, &["R2026-P", &p_paid]).await;
        // The tax bureau's payment covers one of the two in two parts.
        let payment = "INSERT INTO contribution_payment (payment_id, assessment_id, amount_fen, \
             elec_taxrpt_no, clct_time, recorded_at) VALUES ($1, 'R2026-P', 20000, $2, \
             '2025-10-01', '2025-10-02 00:00:00')";
        sql(&db, payment, &["T1", "TAX-1"]).await;
        sql(&db, payment, &["T2", "TAX-2"]).await;
        // One death confirmed in March, one only reported by the hospital.
        let (p_dead, p_reported) = (psn(&dead).await, psn(&reported).await);
        sql(
            &db,
            "INSERT INTO death_confirmed (psn_no, death_date, basis, confirmed_at) \
             VALUES ($1, '2026-03-01', 'police', '2026-03-02 00:00:00')",
            &[&p_dead],
        )
        .await;
        sql(
            &db,
            "INSERT INTO death_report (psn_no, source_dept, death_date, source_ref, line, \
             recorded_at) VALUES ($1, 'health', '2026-10-01', 'f', 2, '2026-10-02 00:00:00')",
            &[&p_reported],
        )
        .await;

        let params = yibao_enrollment::builtin_params().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let check = db.store.registry_check(2026, today, &params).await.unwrap();
        let mut ours: Vec<(String, &str, &str)> = check
            .findings
            .iter()
            .filter(|f| f.admdvs == "140581")
            .map(|f| (f.certno.clone(), f.finding, f.reason))
            .collect();
        ours.sort();
        let mut want = vec![
            (lapsed.clone(), "uninsured", "lapsed"),
            (reported.clone(), "uninsured", "possibly_dead"),
            (dibao.clone(), "uninsured", "category_not_enrolled"),
            (baby.clone(), "uninsured", "newborn_pending"),
        ];
        want.sort();
        assert_eq!(ours, want);
        let county = check
            .counties
            .iter()
            .find(|c| c.admdvs == "140581")
            .expect("the county's line");
        assert_eq!(county.base, 5, "the dead person left the base");
        assert_eq!((county.insured_employee, county.insured_resident), (0, 1));
        assert_eq!(county.uninsured_total(), 4);
        assert_eq!((county.category_persons, county.category_insured), (1, 0));
        assert_eq!(county.coverage_bp(), Some(2_000));
        let total = check.total();
        assert_eq!(total.base, check.counties.iter().map(|c| c.base).sum::<u64>());
        assert_eq!(
            total.insured() + total.uninsured_total(),
            total.base,
            "every person of the base is either insured or has a reason"
        );
        // Once the second half is paid... the assessment of the lapsed one is still open: a
        // payment for the other leaves it alone. Pay the lapsed one in full: insured.
        sql(
            &db,
            "INSERT INTO contribution_payment (payment_id, assessment_id, amount_fen, \
             elec_taxrpt_no, clct_time, recorded_at) VALUES ('T3', $1, 40000, 'TAX-3', \
             '2026-02-01', '2026-02-02 00:00:00')",
            &["R2026-L"],
        )
        .await;
        let check = db.store.registry_check(2026, today, &params).await.unwrap();
        assert!(!check.findings.iter().any(|f| f.certno == lapsed));

        // §9.2 step 5: a follow-up per uninsured person and year, once; closed once, with an
        // outcome (and a note for `other`).
        let now = at("2026-12-05", "10:00:00");
        let uninsured = check
            .findings
            .iter()
            .filter(|f| f.finding == "uninsured")
            .count() as u64;
        assert_eq!(db.store.open_followups(&check, now).await.unwrap(), uninsured);
        assert_eq!(db.store.open_followups(&check, now).await.unwrap(), 0);
        let query = |open| yibao_store::coverage::FollowupQuery {
            year: 2026,
            admdvs: Some("140581".into()),
            open,
            limit: 100,
        };
        let ours = db.store.followups(&query(Some(true))).await.unwrap();
        let mut reasons: Vec<(&str, &str)> = ours
            .iter()
            .map(|f| (f.certno.as_str(), f.reason.as_str()))
            .collect();
        reasons.sort();
        let mut want: Vec<(&str, &str)> = vec![
            (reported.as_str(), "possibly_dead"),
            (dibao.as_str(), "category_not_enrolled"),
            (baby.as_str(), "newborn_pending"),
        ];
        want.sort();
        assert_eq!(reasons, want);
        let id = ours[0].followup_id;
        for (outcome, note, field) in [("lost", "", "outcome"), ("other", " ", "note")] {
            let err = db
                .store
                .close_followup(id, outcome, note, 7, now)
                .await
                .unwrap_err();
            assert!(matches!(&err, StoreError::BadInput { field: f, .. } if f == field), "{err}");
        }
        let closed = db.store.close_followup(id, "moved", "迁往太原", 7, now).await.unwrap();
        let outcome = closed.outcome.expect("closed");
        assert_eq!((outcome.outcome.as_str(), outcome.staff_id), ("moved", 7));
        let err = db
            .store
            .close_followup(id, "enrolled", "", 7, now)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("closed before"), "{err}");
        assert_eq!(db.store.followups(&query(Some(true))).await.unwrap().len(), 2);
        assert_eq!(db.store.followups(&query(Some(false))).await.unwrap().len(), 1);
        assert!(matches!(
            db.store.followup(999_999).await,
            Err(StoreError::NotFound { .. })
        ));
        db
    })
    .await;
}
