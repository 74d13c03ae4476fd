//! End-to-end: a real server on port 0 over a fresh database (SQLite and PostgreSQL), driven
//! with signed HTTP messages in the shapes of the spec's test vectors V1, V2 and V4.

mod audit;
mod clearing;
#[path = "../common/mod.rs"]
mod common;
mod inpatient;
mod inventory;
mod issue10;
mod issue13;
mod issue15;
mod setl_list_status;

use std::collections::BTreeSet;

use audit::*;
use clearing::*;
use common::{msgid, now_text, spawn_app, spawn_app_with, Db, Person, TestApp};
use inpatient::*;
use inventory::*;
use issue10::*;
use issue13::*;
use issue15::*;
use serde_json::{json, Value};
use setl_list_status::*;
use yibao_store::Institution;

/// Runs a scenario on SQLite and on PostgreSQL (skipped with a notice when unreachable).
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = super::spawn_app(super::Db::Sqlite).await.expect("SQLite always runs");
                super::$scenario(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = super::spawn_app(super::Db::Postgres).await {
                    super::$scenario(&app).await;
                    app.stop().await;
                }
            }
        }
    )*};
}

on_both_databases!(
    spec_v1_sign_in_and_out,
    outpatient_chain_in_spec_shapes,
    retries_replay_or_refuse,
    hostile_requests_write_nothing,
    revoke_2601_undoes_a_settlement,
    concurrent_settlements_never_overdraw_an_account,
    inpatient_chain_with_reconciliation,
    family_accounts_pay_with_acct_used_flag_2,
    settlement_lists_are_grouped_versioned_and_private,
    issue10_a_second_revoke_of_a_lost_message_is_refused,
    issue10_calls_without_a_sign_in_are_counted,
    issue10_1101_by_e_voucher_token_and_social_security_card,
    issue10_5301_lists_the_chronic_disease_recognitions,
    issue10_hosp_appr_flag_is_never_assumed,
    issue10_a_rebuilt_retry_gets_the_stored_answer,
    issue10_spec_vectors_are_answered_as_the_real_platform_did,
    issue10_selfpay_prop_is_1_on_class_c_and_uncatalogued_lines,
    issue10_the_visit_region_is_the_institutions,
    issue10_5206_answers_national_codes_by_month,
    issue10_2203a_maternity_fields_are_kept_with_the_visit,
    issue12_3101_flags_a_planted_order_and_3103_answers_it,
    issue12_3102_pairs_with_lines_we_hold,
    issue12_malformed_checks_are_refused_by_field,
    issue12_a_warning_region_settles_and_records_the_findings,
    issue13_1101_answers_the_civil_affairs_identity,
    issue13_2206_refuses_an_unpaid_then_waiting_resident,
    issue14_clearing_3203_3204_and_the_detail_file_exchange,
    issue14_settlement_list_status_and_quality_checks,
    issue15_interface_calls_are_logged_before_they_answer,
    issue16_pharmacy_inventory_3503_to_3507,
    issue16_malformed_inventory_is_refused_by_field,
);

/// Issue 10, on both databases: under `SignInRule::Require` a message needs an open sign-in
/// (9001) of the institution made today; `"null"`, an unknown `sign_no` (32 characters, as real
/// platforms hand out) and a signed-out one are refused naming `sign_no`, and write nothing.
mod issue10_sign_in_required {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::spawn_app_with(super::Db::Sqlite, yibao_server::SignInRule::Require)
            .await
            .expect("SQLite always runs");
        super::sign_in_required(&app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) =
            super::spawn_app_with(super::Db::Postgres, yibao_server::SignInRule::Require).await
        {
            super::sign_in_required(&app).await;
            app.stop().await;
        }
    }
}

/// Issue 12, on both databases: a region that refuses severity-1 findings at settlement.
mod issue12_audit_gate_refuse {
    fn config() -> yibao_server::ServerConfig {
        yibao_server::ServerConfig {
            auth: true,
            audit_gate: yibao_store::audit::AuditGate::Refuse,
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = super::common::spawn_app_config(super::Db::Sqlite, config())
            .await
            .expect("SQLite always runs");
        super::audit::settlement_with_a_planted_line(&app, true).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = super::common::spawn_app_config(super::Db::Postgres, config()).await {
            super::audit::settlement_with_a_planted_line(&app, true).await;
            app.stop().await;
        }
    }
}

/// A spec vector file (a copy of spec §6, kept with the tests).
fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The vector's `input`, with fields replaced.
fn vector_input(name: &str, node: &str, replace: &[(&str, Value)]) -> Value {
    let mut input = vector(name)["input"].clone();
    for (key, value) in replace {
        input[node][*key] = value.clone();
    }
    input
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default()
}

/// Every key of the spec's real response node is present in ours.
fn assert_has_fields(ours: &Value, spec: &Value, what: &str) {
    let missing: Vec<_> = keys(spec).difference(&keys(ours)).cloned().collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?} in {ours}");
}

/// An amount as integer fen; every amount must be a JSON number with at most two decimals.
fn fen(value: &Value) -> i64 {
    let text = value
        .as_number()
        .unwrap_or_else(|| panic!("not a number: {value}"))
        .to_string();
    yibao_server::wire::scalar::parse_decimal(&text, 2).unwrap()
}

/// The amount identities of §3A on one `setlinfo`, and `setldetail` summing to it.
fn assert_identities(setlinfo: &Value, setldetail: &Value) {
    let a = |field: &str| fen(&setlinfo[field]);
    assert_eq!(
        a("medfee_sumamt"),
        a("fund_pay_sumamt") + a("psn_part_amt") + a("hosp_part_amt"),
        "{setlinfo}"
    );
    assert_eq!(
        a("psn_part_amt"),
        a("acct_pay") + a("psn_cash_pay"),
        "{setlinfo}"
    );
    assert_eq!(
        a("fund_pay_sumamt"),
        a("hifp_pay")
            + a("cvlserv_pay")
            + a("hifes_pay")
            + a("hifmi_pay")
            + a("hifob_pay")
            + a("maf_pay")
            + a("oth_pay"),
        "{setlinfo}"
    );
    assert_eq!(
        a("medfee_sumamt"),
        a("inscp_scp_amt") + a("preselfpay_amt") + a("overlmt_selfpay") + a("fulamt_ownpay_amt"),
        "{setlinfo}"
    );
    let detail_sum: i64 = setldetail
        .as_array()
        .unwrap()
        .iter()
        .map(|row| fen(&row["fund_payamt"]))
        .sum();
    assert_eq!(
        detail_sum,
        a("fund_pay_sumamt") + a("acct_pay") + a("hosp_part_amt"),
        "{setldetail}"
    );
}

fn hospital(app: &TestApp, idx: usize) -> &Institution {
    app.institutions
        .iter()
        .filter(|inst| inst.fixmedins_type == "1")
        .nth(idx)
        .expect("enough hospitals")
}

/// An employee with a personal account (so the account pays part of the bill).
fn employee(app: &TestApp, idx: usize) -> &Person {
    app.persons
        .iter()
        .filter(|p| p.insutype == "310" && p.balance_fen.is_some_and(|b| b > 10_000))
        .nth(idx)
        .expect("enough employees")
}

async fn spec_v1_sign_in_and_out(app: &TestApp) {
    let inst = hospital(app, 0);
    let mut request = vector("request-9001");
    request["msgid"] = json!(msgid(inst, 1));
    request["fixmedins_code"] = json!(inst.fixmedins_code);
    request["fixmedins_name"] = json!(inst.fixmedins_name);
    request["mdtrtarea_admvs"] = json!(inst.admdvs);
    request["insuplc_admdvs"] = json!(app.region);
    // V1 was posted to the per-service path.
    let (status, response) = app
        .post_raw(
            "/fsi/api/signInSignOutService/signIn",
            Some((inst, "9001")),
            request.to_string(),
        )
        .await;
    assert_eq!(status, 200);
    let spec = vector("response-9001");
    assert_has_fields(&response, &spec, "9001 envelope");
    assert_eq!(response["infcode"], json!(0));
    assert_has_fields(
        &response["output"]["signinoutb"],
        &spec["output"]["signinoutb"],
        "signinoutb",
    );
    let sign_no = response["output"]["signinoutb"]["sign_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!sign_no.is_empty());
    let output = app
        .ok(
            inst,
            "9002",
            &msgid(inst, 2),
            json!({"signOut": {"sign_no": sign_no, "opter_no": "123"}}),
        )
        .await;
    assert!(
        output["signoutoutb"]["sign_time"]
            .as_str()
            .is_some_and(|t| t.len() == 19),
        "{output}"
    );
}

/// One fee line in the V2 (Zhejiang) 2204 shape.
fn fee_line(
    person: &Person,
    mdtrt_id: &str,
    batch: &str,
    sn: usize,
    item: &common::Item,
    cnt: i64,
) -> Value {
    let mut line = vector("request-2204")["input"]["feedetail"].clone();
    let sumamt_fen = (i128::from(item.pric_micro) * i128::from(cnt) + 5_000) / 10_000;
    line["feedetl_sn"] = json!(format!("{sn}"));
    line["mdtrt_id"] = json!(mdtrt_id);
    line["psn_no"] = json!(person.psn_no);
    line["chrg_bchno"] = json!(batch);
    line["fee_ocur_time"] = json!(now_text());
    line["med_list_codg"] = json!(item.med_list_codg);
    line["medins_list_codg"] = json!(item.med_list_codg);
    line["det_item_fee_sumamt"] = json!(yibao_server::wire::scalar::format_decimal(
        sumamt_fen as i64,
        2
    ));
    line["cnt"] = json!(cnt.to_string());
    line["pric"] = json!(yibao_server::wire::scalar::format_decimal(
        item.pric_micro,
        6
    ));
    line
}

/// 2201 in the V2 shape; returns `mdtrt_id`.
async fn register(app: &TestApp, inst: &Institution, person: &Person, seq: u32) -> String {
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
    let output = app.ok(inst, "2201", &msgid(inst, seq), input).await;
    assert_has_fields(
        &output["data"],
        &vector("response-2201")["output"]["data"],
        "2201 data",
    );
    assert_eq!(output["data"]["psn_no"], json!(person.psn_no));
    output["data"]["mdtrt_id"].as_str().unwrap().to_owned()
}

/// 2204 of ten lines in batch `batch`; returns the total in fen.
async fn upload_ten_lines(
    app: &TestApp,
    inst: &Institution,
    person: &Person,
    mdtrt_id: &str,
    batch: &str,
    seq: u32,
) -> i64 {
    let lines: Vec<Value> = (0..10)
        .map(|idx| {
            fee_line(
                person,
                mdtrt_id,
                batch,
                100 + idx,
                &app.items[idx * 7 % app.items.len()],
                1 + idx as i64 % 3,
            )
        })
        .collect();
    let total: i64 = lines
        .iter()
        .map(|line| {
            fen(&json!(line["det_item_fee_sumamt"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap()))
        })
        .sum::<i64>();
    let output = app
        .ok(inst, "2204", &msgid(inst, seq), json!({"feedetail": lines}))
        .await;
    let results = output["result"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    for result in results {
        assert_has_fields(
            result,
            &vector("response-2204")["output"]["result"][0],
            "2204 result",
        );
        let parts = fen(&result["fulamt_ownpay_amt"])
            + fen(&result["overlmt_amt"])
            + fen(&result["preselfpay_amt"])
            + fen(&result["inscp_scp_amt"]);
        assert_eq!(parts, fen(&result["det_item_fee_sumamt"]), "{result}");
    }
    total
}

/// The 2206A/2207A `data` in the V2 shape.
fn settle_input(name: &str, person: &Person, mdtrt_id: &str, batch: &str, total_fen: i64) -> Value {
    vector_input(
        name,
        "data",
        &[
            ("psn_no", json!(person.psn_no)),
            ("mdtrt_cert_no", json!(person.certno)),
            (
                "medfee_sumamt",
                json!(yibao_server::wire::scalar::format_decimal(total_fen, 2)),
            ),
            ("mdtrt_id", json!(mdtrt_id)),
            ("chrg_bchno", json!(batch)),
            ("insutype", json!(person.insutype)),
        ],
    )
}

/// Registers, uploads ten lines and settles (2201 → 2204 → 2206A → 2207A); returns the 2207A
/// request `msgid`, its output and the visit.
async fn settle_visit(
    app: &TestApp,
    inst: &Institution,
    person: &Person,
    seq: u32,
) -> (String, Value, String) {
    let mdtrt_id = register(app, inst, person, seq).await;
    let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", seq + 1).await;
    let pre = app
        .ok(
            inst,
            "2206A",
            &msgid(inst, seq + 2),
            settle_input("request-2206A", person, &mdtrt_id, "B1", total),
        )
        .await;
    assert_eq!(fen(&pre["setlinfo"]["medfee_sumamt"]), total);
    let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"][field] = pre["setlinfo"][field].clone();
    }
    let settle_msgid = msgid(inst, seq + 3);
    let output = app.ok(inst, "2207A", &settle_msgid, input).await;
    (settle_msgid, output, mdtrt_id)
}

async fn outpatient_chain_in_spec_shapes(app: &TestApp) {
    let inst = hospital(app, 0);
    let person = employee(app, 0);
    // 1101 by identity card.
    let info = app
        .ok(inst, "1101", &msgid(inst, 10), json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "psn_cert_type": "01", "certno": person.certno, "psn_name": ""}}))
        .await;
    assert_eq!(info["baseinfo"]["psn_no"], json!(person.psn_no));
    assert!(
        info["insuinfo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["insutype"] == json!(person.insutype)),
        "{info}"
    );

    // 2201 → 2203A → 2204 (one object, V2) → 2205 → 2204 (ten lines) → 2206A → 2207A.
    let mdtrt_id = register(app, inst, person, 20).await;
    let mut visit = vector("request-2203A")["input"].clone();
    visit["mdtrtinfo"]["mdtrt_id"] = json!(mdtrt_id);
    visit["mdtrtinfo"]["psn_no"] = json!(person.psn_no);
    visit["mdtrtinfo"]["begntime"] = json!(&now_text()[..10]);
    visit["diseinfo"]["diag_time"] = json!(&now_text()[..10]);
    assert_eq!(
        app.ok(inst, "2203A", &msgid(inst, 21), visit).await,
        Value::Null
    );
    let single = fee_line(person, &mdtrt_id, "B0", 1, &app.items[0], 2);
    let output = app
        .ok(inst, "2204", &msgid(inst, 22), json!({"feedetail": single}))
        .await;
    assert_eq!(
        output["result"].as_array().map(Vec::len),
        Some(1),
        "{output}"
    );
    let cancel = vector_input(
        "request-2205",
        "data",
        &[
            ("mdtrt_id", json!(mdtrt_id)),
            ("psn_no", json!(person.psn_no)),
            ("chrg_bchno", json!("B0")),
        ],
    );
    assert_eq!(
        app.ok(inst, "2205", &msgid(inst, 23), cancel).await,
        Value::Null
    );
    let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", 24).await;
    let pre = app
        .ok(
            inst,
            "2206A",
            &msgid(inst, 25),
            settle_input("request-2206A", person, &mdtrt_id, "B1", total),
        )
        .await;
    assert_identities(&pre["setlinfo"], &pre["setldetail"]);
    let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"][field] = pre["setlinfo"][field].clone();
    }
    let settle_msgid = msgid(inst, 26);
    let answer = app.call(inst, "2207A", &settle_msgid, input).await;
    assert_eq!(answer["infcode"], json!(0), "{answer}");
    // The declared split is the platform's own: no warning.
    assert_eq!(answer["warn_msg"], Value::Null, "{answer}");
    let settled = answer["output"].clone();
    let spec = vector("response-2207");
    assert_has_fields(
        &settled,
        &json!({"setlinfo": 0, "setldetail": 0}),
        "2207 output",
    );
    assert_has_fields(
        &settled["setlinfo"],
        &spec["output"]["setlinfo"],
        "2207 setlinfo",
    );
    for row in settled["setldetail"].as_array().unwrap() {
        assert_has_fields(row, &spec["output"]["setldetail"][0], "2207 setldetail");
    }
    assert_identities(&settled["setlinfo"], &settled["setldetail"]);
    assert_eq!(fen(&settled["setlinfo"]["medfee_sumamt"]), total);
    assert_eq!(settled["setlinfo"]["medins_setl_id"], json!(settle_msgid));
    // Pre-settlement and settlement agree to the fen.
    for field in [
        "medfee_sumamt",
        "fund_pay_sumamt",
        "acct_pay",
        "psn_cash_pay",
    ] {
        assert_eq!(
            fen(&pre["setlinfo"][field]),
            fen(&settled["setlinfo"][field]),
            "{field}"
        );
    }
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned();

    // 5203 returns the same settlement.
    let query =
        json!({"data": {"psn_no": person.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}});
    let found = app.ok(inst, "5203", &msgid(inst, 27), query.clone()).await;
    assert_eq!(fen(&found["setlinfo"]["medfee_sumamt"]), total);
    assert_eq!(found["setlinfo"]["refd_setl_flag"], json!("0"));

    // 2208 negates every amount under a new setl_id; the original is then marked reversed.
    let reverse =
        json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": person.psn_no}});
    let reverse_msgid = msgid(inst, 28);
    let reversed = app.ok(inst, "2208", &reverse_msgid, reverse.clone()).await;
    assert_ne!(reversed["setlinfo"]["setl_id"], json!(setl_id));
    assert_eq!(reversed["setlinfo"]["medins_setl_id"], json!(reverse_msgid));
    for field in [
        "medfee_sumamt",
        "fund_pay_sumamt",
        "acct_pay",
        "psn_cash_pay",
        "hifp_pay",
        "inscp_scp_amt",
    ] {
        assert_eq!(
            fen(&reversed["setlinfo"][field]),
            -fen(&settled["setlinfo"][field]),
            "{field}"
        );
    }
    assert_identities(&reversed["setlinfo"], &reversed["setldetail"]);
    let found = app.ok(inst, "5203", &msgid(inst, 29), query).await;
    assert_eq!(found["setlinfo"]["refd_setl_flag"], json!("1"));
    let msg = app.refused(inst, "2208", &msgid(inst, 30), reverse).await;
    assert!(msg.contains("setl_id"), "{msg}");

    let report = app.store.check_ledger().await.unwrap();
    assert!(report.is_balanced(), "{report:?}");
}

async fn retries_replay_or_refuse(app: &TestApp) {
    let inst = hospital(app, 1);
    let person = employee(app, 1);
    let mdtrt_id = register(app, inst, person, 40).await;
    let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", 41).await;
    let settle_msgid = msgid(inst, 42);
    let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
    // No declared split: the platform's own classification stands.
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"][field] = json!("");
    }
    let body = app.envelope(inst, "2207", &settle_msgid, input).to_string();
    let path = yibao_server::infno::CALL_SERVICE_PATH;
    let (_, first) = app.post_raw(path, Some((inst, "2207")), body.clone()).await;
    assert_eq!(first["infcode"], json!(0), "{first}");
    let counts = app.row_counts().await;
    // The identical body again (a client retry after a timeout): the same answer, nothing new.
    let (_, again) = app.post_raw(path, Some((inst, "2207")), body.clone()).await;
    assert_eq!(again["output"], first["output"]);
    assert_eq!(app.row_counts().await, counts);
    // The same msgid with other content is refused, naming msgid, and writes nothing.
    let other = body.replace("\"chrg_bchno\":\"B1\"", "\"chrg_bchno\":\"B2\"");
    assert_ne!(other, body);
    let (_, conflict) = app.post_raw(path, Some((inst, "2207")), other).await;
    assert_eq!(conflict["infcode"], json!(-1));
    assert!(
        conflict["err_msg"].as_str().unwrap().starts_with("msgid: "),
        "{conflict}"
    );
    assert_eq!(app.row_counts().await, counts);
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}

async fn hostile_requests_write_nothing(app: &TestApp) {
    let owner = hospital(app, 2);
    let intruder = hospital(app, 3);
    let person = employee(app, 2);
    let mdtrt_id = register(app, owner, person, 50).await;
    let counts = app.row_counts().await;
    let path = yibao_server::infno::CALL_SERVICE_PATH;

    // Another institution's visit: refused naming the visit, as if it did not exist.
    let line = fee_line(person, &mdtrt_id, "B1", 1, &app.items[3], 1);
    let msg = app
        .refused(
            intruder,
            "2204",
            &msgid(intruder, 51),
            json!({"feedetail": [line]}),
        )
        .await;
    assert!(msg.contains("mdtrt_id"), "{msg}");
    let cancel =
        json!({"data": {"psn_no": person.psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": "OP50"}});
    let msg = app
        .refused(intruder, "2202", &msgid(intruder, 52), cancel)
        .await;
    assert!(msg.contains("mdtrt_id"), "{msg}");

    // Signed by one institution, claiming to be another.
    let mut envelope = app.envelope(intruder, "2202", &msgid(intruder, 53), json!({}));
    envelope["fixmedins_code"] = json!(owner.fixmedins_code);
    let (status, value) = app
        .post_raw(path, Some((intruder, "2202")), envelope.to_string())
        .await;
    assert_eq!(status, 200);
    assert!(
        value["err_msg"]
            .as_str()
            .unwrap()
            .starts_with("fixmedins_code: "),
        "{value}"
    );

    // Malformed, wrong types, missing fields, a header naming another transaction.
    let hostile = [
        ("2204", "{\"infno\":\"2204\",".to_owned()),
        (
            "2204",
            app.envelope(
                owner,
                "2204",
                &msgid(owner, 54),
                json!({"feedetail": [{"cnt": [1]}]}),
            )
            .to_string(),
        ),
        (
            "2207",
            app.envelope(
                owner,
                "2207",
                &msgid(owner, 55),
                json!({"data": {"psn_no": person.psn_no}}),
            )
            .to_string(),
        ),
        (
            "2207",
            app.envelope(
                owner,
                "2207",
                &msgid(owner, 56),
                json!({"data": {"medfee_sumamt": "12.345"}}),
            )
            .to_string(),
        ),
        (
            "2204",
            app.envelope(
                owner,
                "2202",
                &msgid(owner, 58),
                json!({"data": {"psn_no": person.psn_no, "mdtrt_id": mdtrt_id, "ipt_otp_no": "OP50"}}),
            )
            .to_string(),
        ),
    ];
    for (api_name, body) in hostile {
        let (status, value) = app.post_raw(path, Some((owner, api_name)), body).await;
        assert_eq!(status, 200);
        assert_eq!(value["infcode"], json!(-1), "{value}");
        assert!(value["err_msg"].as_str().unwrap().contains(':'), "{value}");
    }

    // Oversized: refused from the declared length, before the body is even read.
    let (status, value) = app.post_declared_oversized(owner).await;
    assert_eq!(status, 200);
    assert_eq!(
        value["err_msg"],
        json!(format!(
            "body: larger than {} bytes",
            yibao_server::limits::BODY_BYTES_MAX
        ))
    );

    // A bad signature never reaches the interface.
    let mut impostor = (*owner).clone();
    impostor.secret_key = "not-the-secret".to_owned();
    let body = app
        .envelope(owner, "2202", &msgid(owner, 57), json!({}))
        .to_string();
    let (status, value) = app.post_raw(path, Some((&impostor, "2202")), body).await;
    assert_eq!(status, 401);
    assert_eq!(value, json!({"code": 401, "message": "签名不一致!"}));

    assert_eq!(app.row_counts().await, counts);
}

async fn revoke_2601_undoes_a_settlement(app: &TestApp) {
    let inst = hospital(app, 4);
    let person = employee(app, 3);
    let (settle_msgid, settled, mdtrt_id) = settle_visit(app, inst, person, 60).await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
    // Another institution can neither read nor reverse it, nor revoke the message.
    let intruder = hospital(app, 5);
    let counts = app.row_counts().await;
    let visit =
        json!({"data": {"psn_no": person.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}});
    let msg = app
        .refused(intruder, "5203", &msgid(intruder, 61), visit.clone())
        .await;
    assert!(msg.contains("setl_id") || msg.contains("mdtrt_id"), "{msg}");
    let msg = app
        .refused(intruder, "2208", &msgid(intruder, 62), visit)
        .await;
    assert!(msg.contains("setl_id") || msg.contains("mdtrt_id"), "{msg}");
    assert_eq!(app.row_counts().await, counts);
    // V3 shape: the hospital did not receive the 2207A answer and revokes it by its msgid.
    let revoke = vector_input(
        "request-2601",
        "data",
        &[
            ("psn_no", json!(person.psn_no)),
            ("omsgid", json!(settle_msgid)),
            ("oinfno", json!("2207A")),
        ],
    );
    assert_eq!(
        app.ok(inst, "2601", &msgid(inst, 70), revoke).await,
        Value::Null
    );
    let found = app
        .ok(
            inst,
            "5203",
            &msgid(inst, 71),
            json!({"data": {"psn_no": person.psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}),
        )
        .await;
    assert_eq!(found["setlinfo"]["refd_setl_flag"], json!("1"));
    // A revoke of a message that never arrived bars it: the late original is refused.
    let lost = msgid(inst, 72);
    let revoke = json!({"data": {"psn_no": person.psn_no, "omsgid": lost, "oinfno": "2207"}});
    assert_eq!(
        app.ok(inst, "2601", &msgid(inst, 73), revoke).await,
        Value::Null
    );
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}

/// Settlements for one person sent all at once, together worth more than the personal account
/// holds: they serialise, the account never goes below zero, and the books balance.
async fn concurrent_settlements_never_overdraw_an_account(app: &TestApp) {
    const N_VISITS: u32 = 12;
    // The employee with the smallest account (over 100 yuan), so that the bills exceed it.
    let person = app
        .persons
        .iter()
        .filter(|p| p.insutype == "310" && p.balance_fen.is_some_and(|b| b > 10_000))
        .min_by_key(|p| p.balance_fen)
        .unwrap();
    let balance_before = person.balance_fen.unwrap();
    let mut requests = Vec::new();
    for visit_idx in 0..N_VISITS {
        let inst = hospital(app, visit_idx as usize % 4);
        let seq = 100 + visit_idx * 10;
        let mdtrt_id = register(app, inst, person, seq).await;
        let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", seq + 1).await;
        let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
        for field in [
            "fulamt_ownpay_amt",
            "overlmt_selfpay",
            "preselfpay_amt",
            "inscp_scp_amt",
        ] {
            input["data"][field] = json!("");
        }
        requests.push((inst, msgid(inst, seq + 2), input, total));
    }
    let total_billed: i64 = requests.iter().map(|(_, _, _, total)| total).sum();
    let answers = futures_util::future::join_all(
        requests
            .iter()
            .map(|(inst, id, input, _)| app.call(inst, "2207", id, input.clone())),
    )
    .await;
    let mut acct_paid = 0;
    for answer in &answers {
        assert_eq!(answer["infcode"], json!(0), "{answer}");
        assert_identities(
            &answer["output"]["setlinfo"],
            &answer["output"]["setldetail"],
        );
        acct_paid += fen(&answer["output"]["setlinfo"]["acct_pay"]);
    }
    assert!(
        acct_paid <= balance_before,
        "paid {acct_paid} from a balance of {balance_before}"
    );
    let account = yibao_store::ledger::personal_account(&person.psn_no);
    let balance_after = app
        .store
        .account_balance(&account)
        .await
        .unwrap()
        .unwrap_or(0);
    assert!(balance_after >= 0, "{balance_after}");
    assert!(
        total_billed > balance_before,
        "the bills ({total_billed}) must exceed the balance ({balance_before})"
    );
    assert!(
        answers
            .iter()
            .any(|a| fen(&a["output"]["setlinfo"]["psn_cash_pay"]) > 0),
        "someone paid cash"
    );
    let report = app.store.check_ledger().await.unwrap();
    assert!(report.is_balanced(), "{report:?}");
}

/// `acct_used_flag 2` (共济): the bill of a person bound to family accounts settles, the mutual-aid
/// part is inside `acct_pay`, and the books balance.
async fn family_accounts_pay_with_acct_used_flag_2(app: &TestApp) {
    let inst = hospital(app, 6);
    let person = app
        .persons
        .iter()
        .find(|p| app.family_bound.contains(&p.psn_no))
        .expect("a person with a family binding");
    let mdtrt_id = register(app, inst, person, 300).await;
    let total = upload_ten_lines(app, inst, person, &mdtrt_id, "B1", 301).await;
    let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
    input["data"]["acct_used_flag"] = json!("2");
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"][field] = json!("");
    }
    let settled = app.ok(inst, "2207", &msgid(inst, 302), input).await;
    let setlinfo = &settled["setlinfo"];
    assert_identities(setlinfo, &settled["setldetail"]);
    assert!(
        fen(&setlinfo["acct_mulaid_pay"]) <= fen(&setlinfo["acct_pay"]),
        "{setlinfo}"
    );
    assert!(fen(&setlinfo["acct_mulaid_pay"]) >= 0, "{setlinfo}");
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}
