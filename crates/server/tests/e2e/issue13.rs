//! Issue 13's end-to-end scenario: a person the police file adds and the civil-affairs list
//! gives 低保 (2303) is answered by 1101 with `idetinfo` carrying the list's code and start.
//! Run by `main.rs`'s `on_both_databases!` like every other scenario.

use super::*;

/// A valid citizen ID (GB 11643 check character) for a region, birth date and sequence.
fn citizen_id(area: &str, brdy: &str, seq: u32) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{area}{}{seq:03}", brdy.replace('-', ""));
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap(),
    };
    format!("{body}{check}")
}

fn feed(kind: yibao_store::FeedKind, today: &str) -> yibao_store::FeedImport {
    let today = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
    yibao_store::FeedImport {
        kind,
        file_name: "issue13.csv".into(),
        source_dept: kind.default_dept().into(),
        actor: "e2e".into(),
        today,
        recorded_at: today.and_hms_opt(8, 0, 0).unwrap(),
    }
}

/// Issue 13: 1101 answers a category from the civil-affairs list as `idetinfo` with
/// `psn_idet_type` the list's code and `begntime` its `begn_date`.
pub(super) async fn issue13_1101_answers_the_civil_affairs_identity(app: &TestApp) {
    let inst = hospital(app, 7);
    let certno = citizen_id("140502", "1958-08-08", 41);
    let police = format!(
        "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n{certno},吴低保,1,1958-08-08,140500,HH13,02\n"
    );
    let report = app
        .store
        .import_feed(
            &feed(yibao_store::FeedKind::Police, "2026-01-05"),
            police.as_bytes(),
            &|_| {},
        )
        .await
        .expect("police file");
    assert_eq!(report.persons_created, 1, "{report:?}");
    let list =
        format!("certno,psn_name,idet_type,begn_date,end_date\n{certno},吴低保,2303,2026-01-01,\n");
    let report = app
        .store
        .import_feed(
            &feed(yibao_store::FeedKind::Identity, "2026-01-06"),
            list.as_bytes(),
            &|_| {},
        )
        .await
        .expect("identity list");
    assert_eq!(
        (report.rows_taken, report.rows_matched),
        (1, 1),
        "{report:?}"
    );
    let found = app
        .ok(
            inst,
            "1101",
            &msgid(inst, 1301),
            json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01",
                "certno": certno, "psn_name": "", "begntime": ""}}),
        )
        .await;
    assert_eq!(found["baseinfo"]["certno"], json!(certno), "{found}");
    let idetinfo = found["idetinfo"].as_array().expect("idetinfo");
    assert_eq!(idetinfo.len(), 1, "{found}");
    assert_eq!(idetinfo[0]["psn_idet_type"], json!("2303"), "{found}");
    let begntime = idetinfo[0]["begntime"].as_str().expect("begntime");
    assert!(begntime.starts_with("2026-01-01"), "{found}");
}
