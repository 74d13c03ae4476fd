//! Issue 13 items 1, 2 and 4: the tax bureau's payments (缴费到账, spec enrollment.md §4.3, §5.5)
//! matched to the residents' assessments, the benefit periods they buy (§5.3: in the collection
//! window, late, after a lapse, exempt, fully subsidised, a newborn, paid in two parts, Qingdao's
//! January payer), the
//! refusals of a bad file and its replay, and settlement honouring the benefit period (§4.2:
//! `未缴费`, `待遇等待期至`) on 2201 and on 2206/2207 — on both databases.

// Amounts are written as yuan_fen (`400_00` is 400.00 yuan), as the spec prints them.
#![allow(clippy::inconsistent_digit_grouping)]

use chrono::NaiveDateTime;
use yibao_core_types::Fen;
use yibao_enrollment::builtin_params;
use yibao_store::contributions::RunOptions;
use yibao_store::tax::{TaxImport, TaxReport};
use yibao_store::*;

use crate::common::*;

/// The residents of the benefit-period fixtures: (psn_no, birth date, sequence, relation start,
/// `sp_psn_type` of a category held since 2020 or '').
const RESIDENTS: [(&str, &str, u32, &str, &str); 9] = [
    ("T01", "1980-01-01", 101, "2015-01-01", ""),
    ("T02", "1981-01-01", 102, "2015-01-01", ""),
    ("T03", "1982-01-01", 103, "2026-01-01", ""),
    ("T04", "1983-01-01", 104, "2027-01-01", ""),
    ("T05", "1984-01-01", 105, "2015-01-01", "2"),
    ("T06", "1985-01-01", 106, "2015-01-01", "1"),
    ("T07", "2026-02-10", 107, "2026-02-10", ""),
    ("T08", "1987-01-01", 108, "2015-01-01", ""),
    ("T09", "1988-01-01", 109, "2015-01-01", ""),
];

/// A Qingdao child (children pay tier 2 there), for the Qingdao rule of 2023: a payment after 1
/// January waits three months, the payment month counting (§5.3, §7.2).
const QINGDAO_CHILD: (&str, &str, u32) = ("Q01", "2015-06-01", 201);

fn certno(psn_no: &str) -> String {
    if psn_no == QINGDAO_CHILD.0 {
        return cid("370202", QINGDAO_CHILD.1, QINGDAO_CHILD.2);
    }
    let (_, brdy, seq, _, _) = RESIDENTS
        .iter()
        .find(|r| r.0 == psn_no)
        .expect("a fixture resident");
    cid("140502", brdy, *seq)
}

fn append(dir: &std::path::Path, file: &str, rows: &str) {
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path).expect("fixture file");
    text.push_str(rows);
    std::fs::write(path, text).expect("write fixture file");
}

/// The fixture registry plus [`RESIDENTS`] and [`QINGDAO_CHILD`], assessed for 2024 (on
/// 2023-10-01: only Qingdao has parameters that year), 2026 (on 2025-10-01) and 2027 (on
/// 2026-10-01); Jincheng's residents under the reference set `140500-2025`.
async fn resident_registry(db: &TestDb) {
    let dir = registry_dir();
    let (mut persons, mut insurance, mut identities) =
        (String::new(), String::new(), String::new());
    for (psn_no, brdy, seq, begndate, sp_psn_type) in RESIDENTS {
        persons.push_str(&format!(
            "{psn_no},{},居民{seq},1,{brdy},01,\n",
            cid("140502", brdy, seq)
        ));
        insurance.push_str(&format!("{psn_no},390,1501,140500,,{begndate},,1\n"));
        if !sp_psn_type.is_empty() {
            identities.push_str(&format!("{psn_no},{sp_psn_type},2020-01-01,,民政\n"));
        }
    }
    let (psn_no, brdy, seq) = QINGDAO_CHILD;
    persons.push_str(&format!(
        "{psn_no},{},青岛{seq},2,{brdy},01,\n",
        cid("370202", brdy, seq)
    ));
    insurance.push_str(&format!("{psn_no},390,1401,370200,,{brdy},,1\n"));
    append(dir.path(), "persons.csv", &persons);
    append(dir.path(), "insurance.csv", &insurance);
    append(dir.path(), "identities.csv", &identities);
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the registry");
    let params = builtin_params().expect("parameters");
    for (year, on) in [
        (2024, "2023-10-01"),
        (2026, "2025-10-01"),
        (2027, "2026-10-01"),
    ] {
        db.store
            .run_resident_year(
                year,
                date(on),
                &params,
                &RunOptions::default(),
                at(on, "09:00:00"),
                &|_, _| {},
            )
            .await
            .expect("the residents' run");
    }
}

async fn import(db: &TestDb, file: &str, today: &str) -> TaxReport {
    let imp = TaxImport {
        file_name: "tax.csv".into(),
        actor: "test".into(),
        today: date(today),
        recorded_at: at(today, "12:00:00"),
    };
    let params = builtin_params().expect("parameters");
    db.store
        .import_tax(&imp, file.as_bytes(), &params, &|_| {})
        .await
        .expect("the tax file")
}

/// A 2201 of `psn_no` on `day` (the message's time and the visit's), its outcome or refusal.
async fn register_on(
    db: &TestDb,
    psn_no: &str,
    insutype: &str,
    day: &str,
    msgid: &str,
) -> Result<Reply, StoreError> {
    let mut cmd = registration_cmd(psn_no, insutype, msgid);
    let when: NaiveDateTime = at(day, "10:00:00");
    if let Command::RegisterOutpatient(r) = &mut cmd {
        r.begntime = when;
    }
    let mut envelope = env(CLINIC, msgid, "2201", &format!("{cmd:?}"));
    envelope.now = when;
    db.store.execute(&envelope, cmd, &render).await
}

/// What the payments and benefit periods of the fixtures are now.
async fn snapshot(db: &TestDb) -> String {
    let mut out = format!(
        "{:?}",
        db.store.collection_list("2026").await.expect("list")
    );
    for (psn_no, ..) in RESIDENTS {
        out.push_str(&format!(
            "{:?}",
            db.store.benefit_periods(psn_no).await.expect("periods")
        ));
    }
    out
}

fn refusal_text(result: Result<Reply, StoreError>) -> String {
    match result {
        Err(StoreError::Refused { field, reason }) => format!("{field}: {reason}"),
        Ok(_) => "accepted".into(),
        Err(other) => panic!("expected a refusal, got {other}"),
    }
}

/// The payments of the fixtures (the tax file for 2026 and T04's for 2027) and the benefit
/// periods they give, with the arithmetic: in the window → 1 January; late → 3 months from the
/// payment month (§14 example 3b); a lapse of 2025 → 3 months from January; two lapsed years →
/// 3 + 1 (example 3a); 低保 (assistance class 2) exempt; 特困 fully subsidised, paid when assessed;
/// a newborn paid inside 90 days, from birth; two part payments, paid when the second arrived.
#[tokio::test]
async fn payments_buy_benefit_periods() {
    on_both(|db| async move {
        resident_registry(&db).await;
        let file = format!(
            "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n\
             {},390,2026,400.00,R01,2025-10-10\n\
             {},390,2026,400.00,R02,2026-03-15\n\
             {},390,2026,400,R03,2025-11-01\n\
             {},390,2027,400.00,R04,2026-10-15\n\
             {},390,2026,200.00,R05,2026-03-15\n\
             {},390,2026,400.00,R07,2026-03-01\n\
             {},390,2026,150.00,R09A,2025-10-01\n\
             {},390,2026,250.00,R09B,2026-02-03\n\
             {},390,2024,395.00,Q01,2024-01-20\n",
            certno("T01"),
            certno("T02"),
            certno("T03"),
            certno("T04"),
            certno("T05"),
            certno("T07"),
            certno("T09"),
            certno("T09"),
            certno("Q01"),
        );
        let r = import(&db, &file, "2026-12-31").await;
        assert_eq!(
            (r.rows_read, r.rows_taken, r.rows_matched, r.rows_refused),
            (9, 9, 9, 0),
            "{}: {r:?}",
            db.label
        );
        assert_eq!((r.payments, r.amount), (9, Fen(2_995_00)));
        // T01 T02 T03 T05 T07 T09 for 2026, T04 for 2027, Q01 for 2024, and the subsidised T06
        // and the fixture's P004 (特困) for 2026 and 2027.
        assert_eq!(r.benefit_periods, 12, "{r:?}");
        assert!(r.undecided.is_empty(), "{:?}", r.undecided);
        let mut got = String::new();
        for psn_no in RESIDENTS.iter().map(|r| r.0).chain([QINGDAO_CHILD.0]) {
            for p in db.store.benefit_periods(psn_no).await.expect("periods") {
                got.push_str(&format!(
                    "{psn_no} {} {}..{} wait {}: {}\n",
                    p.year, p.start, p.end, p.waiting_months, p.trace
                ));
            }
        }
        let expected = "\
T01 2026 2026-01-01..2026-12-31 wait 0: paid 2025-10-10 (in the collection window 2025-09-01..2025-12-31); lapsed years 0; no wait; from 2026-01-01 to 2026-12-31
T02 2026 2026-06-01..2026-12-31 wait 3: paid 2026-03-15 (late, after the collection window 2025-09-01..2025-12-31); lapsed years 0; wait fixed 3 + variable 0 - repaired 0 + floor 0 = 3 months counted from the payment month (it counts); from 2026-06-01 to 2026-12-31
T03 2026 2026-04-01..2026-12-31 wait 3: paid 2025-11-01 (in the collection window 2025-09-01..2025-12-31); lapsed years 1; wait fixed 3 + variable 0 - repaired 0 + floor 0 = 3 months from 1 January; from 2026-04-01 to 2026-12-31
T04 2027 2027-05-01..2027-12-31 wait 4: paid 2026-10-15 (in the collection window 2026-09-01..2026-12-31); lapsed years 2; wait fixed 3 + variable 1 - repaired 0 + floor 0 = 4 months from 1 January; from 2027-05-01 to 2027-12-31
T05 2026 2026-03-15..2026-12-31 wait 0: paid 2026-03-15 (late, after the collection window 2025-09-01..2025-12-31); lapsed years 0; exempt (assistance_class_2): no wait; from 2026-03-15 to 2026-12-31
T06 2026 2026-01-01..2026-12-31 wait 0: paid 2025-10-01 (in the collection window 2025-09-01..2025-12-31); lapsed years 0; exempt (assistance_class_1): no wait; from 2026-01-01 to 2026-12-31
T06 2027 2027-01-01..2027-12-31 wait 0: paid 2026-10-01 (in the collection window 2026-09-01..2026-12-31); lapsed years 0; exempt (assistance_class_1): no wait; from 2027-01-01 to 2027-12-31
T07 2026 2026-02-10..2026-12-31 wait 0: newborn born 2026-02-10, paid 2026-03-01 (inside the newborn window: covered from birth; the window ends 2026-05-11): no wait, from 2026-02-10 to 2026-12-31
T09 2026 2026-05-01..2026-12-31 wait 3: paid 2026-02-03 (late, after the collection window 2025-09-01..2025-12-31); lapsed years 0; wait fixed 3 + variable 0 - repaired 0 + floor 0 = 3 months counted from the payment month (it counts); from 2026-05-01 to 2026-12-31
Q01 2024 2024-04-01..2024-12-31 wait 3: paid 2024-01-20 (late, after the collection window 2023-09-01..2023-12-31); lapsed years 0; wait fixed 3 + variable 0 - repaired 0 + floor 0 = 3 months counted from the payment month (it counts); from 2024-04-01 to 2024-12-31
";
        assert_eq!(got, expected, "{}", db.label);
        // A year's sweep finds nothing left to decide; T08 never paid and has no period.
        let sweep = db
            .store
            .decide_benefit_periods(2026, &builtin_params().unwrap(), at("2026-12-31", "13:00:00"))
            .await
            .expect("the sweep");
        assert_eq!(sweep.decided, 0, "{sweep:?}");
        assert!(db.store.benefit_periods("T08").await.unwrap().is_empty());
        let list = db.store.collection_list("2026").await.expect("the list");
        let t08 = list.iter().find(|i| i.psn_no == "T08").expect("T08 is due");
        assert_eq!((t08.due, t08.paid), (Fen(400_00), Fen::ZERO));
        assert!(list.iter().all(|i| i.psn_no != "T06"), "nothing to collect");

        // Settlement honours the periods (2201 on 10 April 2026, then on 1 June).
        let on_april = [
            ("T01", "accepted".to_owned()),
            (
                "T02",
                "insutype: 待遇等待期至 2026-05-31: T02's 2026 resident benefits start on 2026-06-01"
                    .to_owned(),
            ),
            (
                "T08",
                "insutype: 未缴费: T08 has not paid the 2026 resident contribution (paid 0.00 of 400.00)"
                    .to_owned(),
            ),
            ("T05", "accepted".to_owned()),
            ("T06", "accepted".to_owned()),
            ("T07", "accepted".to_owned()),
            ("P001", "accepted".to_owned()),
        ];
        for (psn_no, expected) in on_april {
            let insutype = if psn_no == "P001" { "310" } else { "390" };
            let got = refusal_text(
                register_on(&db, psn_no, insutype, "2026-04-10", &format!("A-{psn_no}")).await,
            );
            assert_eq!(got, expected, "{}: {psn_no}", db.label);
        }
        let june = register_on(&db, "T02", "390", "2026-06-01", "J-T02").await;
        assert_eq!(refusal_text(june), "accepted", "{}", db.label);
        db
    })
    .await;
}

/// Every kind of bad row is refused with its line and reason, the good rows land; a second file
/// repeating a receipt with another amount is refused, with the same amount taken and not
/// written again; the same file again writes nothing and reports the first import.
#[tokio::test]
async fn bad_rows_refused_and_a_replay_writes_nothing() {
    on_both(|db| async move {
        resident_registry(&db).await;
        let unknown = cid("140502", "1979-01-01", 199);
        let file = format!(
            "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n\
             140502198001011011,390,2026,400.00,X1,2025-10-10\n\
             {unknown},390,2026,400.00,X2,2025-10-10\n\
             {},390,2025,400.00,X3,2025-10-10\n\
             {},390,2026,500.00,X4,2025-10-10\n\
             {},390,2027,400.00,X5,2027-01-05\n\
             {},390,2026,400.00,R01,2025-10-10\n\
             {},310,2026-01,100.00,X7,2026-01-20\n\
             {},390,2026,12.345,X8,2025-10-10\n",
            certno("T01"),
            certno("T08"),
            certno("T01"),
            certno("T01"),
            certno("T02"),
            certno("T02"),
        );
        let r = import(&db, &file, "2026-12-31").await;
        let lines: Vec<String> = r
            .refusals
            .iter()
            .map(|x| format!("line {}: {}", x.line, x.reason))
            .collect();
        let t01 = certno("T01");
        let expected = [
            "line 2: certno `140502198001011011`: bad_check_digit".to_owned(),
            format!("line 3: no person with certno {unknown}"),
            "line 4: no 390 assessment of T01 for 2025".to_owned(),
            "line 5: amount 500.00 is more than the 400.00 outstanding on 390:2026:T08:normal"
                .to_owned(),
            "line 6: clct_date 2027-01-05 is in the future".to_owned(),
            "line 8: no 310 assessment of T02 for 2026-01".to_owned(),
            "line 9: amount `12.345` has more than two decimals".to_owned(),
        ];
        assert_eq!(lines.len(), expected.len(), "{}: {lines:#?}", db.label);
        for (got, want) in lines.iter().zip(&expected) {
            assert!(
                got.starts_with(want.as_str()),
                "{}: {got} / {want}",
                db.label
            );
        }
        assert_eq!(
            (
                r.rows_read,
                r.rows_taken,
                r.rows_matched,
                r.rows_refused,
                r.payments
            ),
            (8, 1, 4, 7, 1),
            "{}: {r:?} {t01}",
            db.label
        );
        let counts = snapshot(&db).await;
        let again = import(&db, &file, "2026-12-31").await;
        assert!(again.replayed);
        assert_eq!(again.refusals, r.refusals);
        assert_eq!(
            (again.rows_taken, again.rows_refused, again.payments),
            (1, 7, 1)
        );
        assert_eq!(snapshot(&db).await, counts);
        // Other files: the receipt R01 again with the same amount (taken, nothing new), then
        // with another amount (refused).
        let again = |amount: &str| {
            format!(
                "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n\
                 {t01},390,2026,{amount},R01,2025-10-10\n"
            )
        };
        let r = import(&db, &again("400.00"), "2026-12-31").await;
        assert_eq!(
            (r.rows_taken, r.rows_refused, r.payments),
            (1, 0, 0),
            "{r:?}"
        );
        let r = import(&db, &again("300.00"), "2026-12-31").await;
        assert_eq!(
            (r.rows_taken, r.rows_refused, r.payments),
            (0, 1, 0),
            "{r:?}"
        );
        assert_eq!(
            r.refusals[0].reason,
            "receipt R01 is already recorded for this assessment with amount 400.00"
        );
        assert_eq!(snapshot(&db).await, counts);
        db
    })
    .await;
}

/// The settlement path (§4.2) reads the year's payment and benefit period with the person: a
/// visit registered before the residents' run settles only once the year is paid and the
/// waiting period is over — 未缴费, then 待遇等待期至 2025-05-31 after a late payment on
/// 2025-03-15 — on 2206 and 2207; the fully subsidised P004 (特困) is covered from 1 January.
#[tokio::test]
async fn settlement_refuses_unpaid_and_waiting_residents() {
    on_both(|db| async move {
        imported(&db).await;
        let (mdtrt_id, _) = spec_visit(&db, "TAX").await;
        let params = builtin_params().expect("parameters");
        db.store
            .run_resident_year(
                2025,
                date("2024-10-01"),
                &params,
                &RunOptions::default(),
                at("2024-10-01", "09:00:00"),
                &|_, _| {},
            )
            .await
            .expect("the residents' run");
        let settle = |pre: bool, msgid: &'static str| {
            let db = &db;
            let mdtrt_id = mdtrt_id.clone();
            async move {
                exec(
                    db,
                    CLINIC,
                    msgid,
                    if pre { "2206" } else { "2207" },
                    settle_cmd(pre, &mdtrt_id, "P003", "390", 410_000, "0"),
                )
                .await
            }
        };
        for (pre, msgid) in [(true, "TAX-2206-1"), (false, "TAX-2207-1")] {
            let got = refusal_text(settle(pre, msgid).await);
            assert!(
                got.starts_with("insutype: 未缴费: P003 has not paid the 2025 resident contribution"),
                "{}: {got}",
                db.label
            );
        }
        // The fixture's P003 carries an identity number that fails the check character, so no
        // tax file can name it: its late payment is written as the import would write it, and
        // the year's sweep decides the benefit periods (P003's, and the subsidised P004's).
        sql(
            &db,
            "INSERT INTO contribution_payment (payment_id, assessment_id, amount_fen, elec_taxrpt_no, clct_time, recorded_at) \
             VALUES ($1, $2, CAST($3 AS BIGINT), $4, $5, $6)",
            &["Q1", "390:2025:P003:normal", "40000", "Q1", "2025-03-15", "2025-05-10 12:00:00"],
        )
        .await;
        let sweep = db
            .store
            .decide_benefit_periods(2025, &params, at("2025-05-10", "12:00:00"))
            .await
            .expect("the sweep");
        assert_eq!((sweep.decided, sweep.waiting), (2, 1), "{sweep:?}");
        for (pre, msgid) in [(true, "TAX-2206-2"), (false, "TAX-2207-2")] {
            let got = refusal_text(settle(pre, msgid).await);
            assert_eq!(
                got,
                "insutype: 待遇等待期至 2025-05-31: P003's 2025 resident benefits start on 2025-06-01",
                "{}",
                db.label
            );
        }
        let p004 = db.store.benefit_periods("P004").await.expect("P004");
        assert_eq!(p004.len(), 1);
        assert_eq!(p004[0].start, date("2025-01-01"));
        assert_balanced(&db).await;
        db
    })
    .await;
}
