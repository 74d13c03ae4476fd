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

/// Issue 13 (§4.2): a resident whose year is assessed and not paid gets a real 2206A answered
/// `infcode -1` with `未缴费` and the year; after the tax bureau's late payment of today, with
/// `待遇等待期至` and the last waiting day (three months, the payment month counting).
pub(super) async fn issue13_2206_refuses_an_unpaid_then_waiting_resident(app: &TestApp) {
    let inst = hospital(app, 6);
    let today = now_text()[..10].to_owned();
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
    let year = chrono::Datelike::year(&day);
    // A few residents' visits, opened before the residents' run (nothing assessed yet: covered
    // as the registry says).
    let mut visits = Vec::new();
    for (idx, person) in app
        .persons
        .iter()
        .filter(|p| p.insutype == "390")
        .enumerate()
    {
        if visits.len() == 4 || idx > 40 {
            break;
        }
        let seq = 1400 + 10 * idx as u32;
        let input = vector_input(
            "request-2201",
            "data",
            &[
                ("psn_no", json!(person.psn_no)),
                ("insutype", json!(person.insutype)),
                ("begntime", json!(now_text())),
                ("mdtrt_cert_no", json!(person.certno)),
                ("ipt_otp_no", json!(format!("OP{seq}"))),
            ],
        );
        let answer = app.call(inst, "2201", &msgid(inst, seq), input).await;
        if answer["infcode"] != json!(0) {
            continue; // a paused or ended relation
        }
        let mdtrt_id = answer["output"]["data"]["mdtrt_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", seq + 1).await;
        visits.push((person, mdtrt_id, total, seq));
    }
    assert!(!visits.is_empty(), "no active resident in the city");
    let params = yibao_enrollment::builtin_params().unwrap();
    app.store
        .run_resident_year(
            year,
            chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
            &params,
            &yibao_store::contributions::RunOptions::default(),
            day.and_hms_opt(8, 0, 0).unwrap(),
            &|_, _| {},
        )
        .await
        .expect("the residents' run");
    // The first visitor with something to pay and no subsidy (so no identity category that
    // could exempt them from waiting).
    let mut chosen = None;
    for visit in &visits {
        let assessed = app.store.assessments(&visit.0.psn_no).await.unwrap();
        if assessed.iter().any(|a| {
            a.individual.0 > 0
                && a.payer_lines
                    .iter()
                    .all(|(payer, _)| payer == "individual" || payer == "finance_base")
        }) {
            chosen = Some(visit);
            break;
        }
    }
    let (person, mdtrt_id, total, seq) = chosen.expect("a resident with something to pay");
    let err = app
        .refused(
            inst,
            "2206A",
            &msgid(inst, seq + 2),
            settle_input("request-2206A", person, mdtrt_id, "B1", *total),
        )
        .await;
    assert!(
        err.contains("未缴费") && err.contains(&format!("{year} resident contribution")),
        "{err}"
    );
    let due = app
        .store
        .collection_list(&format!("{year:04}"))
        .await
        .unwrap()
        .into_iter()
        .find(|item| item.psn_no == person.psn_no)
        .expect("on the collection list");
    let file = format!(
        "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n{},390,{year},{},E2E{seq},{today}\n",
        person.certno, due.due
    );
    let imp = yibao_store::tax::TaxImport {
        file_name: "tax.csv".into(),
        actor: "e2e".into(),
        today: day,
        recorded_at: day.and_hms_opt(9, 0, 0).unwrap(),
    };
    let report = app
        .store
        .import_tax(&imp, file.as_bytes(), &params, &|_| {})
        .await
        .expect("the tax file");
    assert_eq!((report.payments, report.rows_refused), (1, 0), "{report:?}");
    let start = yibao_enrollment::waiting::first_of_month_after(day, 3);
    let last = start.pred_opt().unwrap();
    let err = app
        .refused(
            inst,
            "2206A",
            &msgid(inst, seq + 3),
            settle_input("request-2206A", person, mdtrt_id, "B1", *total),
        )
        .await;
    assert!(err.contains(&format!("待遇等待期至 {last}")), "{err}");
}
