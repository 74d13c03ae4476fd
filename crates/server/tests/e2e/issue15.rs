//! Issue 15, on both databases: every call on a person's data — 1101, each step of a settlement,
//! 5203 and 5206 — is logged before its answer leaves, as an access-log leaf of the calling
//! institution; a refused call logs nothing.

use serde_json::json;

use crate::common::{msgid, TestApp};
use crate::{employee, hospital, settle_visit};

/// The transaction of each of the person's leaves after index `after`.
async fn person_calls(app: &TestApp, psn_no: &str, after: i64) -> Vec<String> {
    let mut out = Vec::new();
    for idx in app.store.person_leaves(psn_no).await.unwrap() {
        if idx <= after {
            continue;
        }
        let row = app.store.access_log(idx - 1, 1).await.unwrap();
        assert_eq!(row[0].idx, idx);
        out.push(row[0].entry.action.clone());
    }
    out
}

pub(crate) async fn issue15_interface_calls_are_logged_before_they_answer(app: &TestApp) {
    let inst = hospital(app, 0);
    let person = employee(app, 1);
    app.store.drain_outbox().await.unwrap();
    let last = app
        .store
        .verify_log()
        .await
        .unwrap()
        .entries
        .saturating_sub(1);

    // 1101: its record is committed when the answer arrives.
    let pending = app.store.outbox_pending().await.unwrap();
    let info = app
        .ok(
            inst,
            "1101",
            &msgid(inst, 501),
            json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "psn_cert_type": "01", "certno": person.certno, "psn_name": ""}}),
        )
        .await;
    assert_eq!(info["baseinfo"]["psn_no"], json!(person.psn_no));
    assert_eq!(app.store.outbox_pending().await.unwrap(), pending + 1);

    // A refused 1101 (nobody holds this number) logs nothing.
    app.refused(
        inst,
        "1101",
        &msgid(inst, 502),
        json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "140502190001010000", "psn_cert_type": "01", "certno": "140502190001010000", "psn_name": ""}}),
    )
    .await;
    assert_eq!(app.store.outbox_pending().await.unwrap(), pending + 1);

    // A settlement chain, then 5203 and 5206.
    let (_, settled, mdtrt_id) = settle_visit(app, inst, person, 510).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
    app.ok(
        inst,
        "5203",
        &msgid(inst, 520),
        json!({"data": {"psn_no": person.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}),
    )
    .await;
    app.ok(
        inst,
        "5206",
        &msgid(inst, 521),
        json!({"data": {"psn_no": person.psn_no}}),
    )
    .await;

    app.store.drain_outbox().await.unwrap();
    assert_eq!(app.store.outbox_pending().await.unwrap(), 0);
    let calls = person_calls(app, &person.psn_no, last).await;
    let infnos: Vec<&str> = calls
        .iter()
        .map(|action| action.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        infnos,
        ["1101", "2201", "2204", "2206A", "2207A", "5203", "5206"],
        "{calls:?}"
    );
    assert!(calls
        .iter()
        .all(|action| action.ends_with(&format!(" {}", inst.fixmedins_code))));
    let report = app.store.verify_log().await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problem);
}
