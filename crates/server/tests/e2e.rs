//! End-to-end: a real server on port 0 over a fresh database (SQLite and PostgreSQL), driven
//! with signed HTTP messages in the shapes of the spec's test vectors V1, V2 and V4.

mod common;

use std::collections::BTreeSet;

use common::{msgid, now_text, spawn_app, spawn_app_with, Db, Person, TestApp};
use serde_json::{json, Value};
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

/// The person query of V6 (§6) for `person`.
fn person_query(person: &Person) -> Value {
    json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "psn_cert_type": "01",
        "certno": person.certno, "psn_name": "", "begntime": ""}})
}

/// Signs `inst` in (9001) and returns the sign_no.
async fn sign_in(app: &TestApp, inst: &Institution, seq: u32) -> String {
    let input = json!({"signIn": {"opter_no": "123", "mac": "1", "ip": "1"}});
    let output = app.ok(inst, "9001", &msgid(inst, seq), input).await;
    output["signinoutb"]["sign_no"].as_str().unwrap().to_owned()
}

async fn sign_in_required(app: &TestApp) {
    let inst = hospital(app, 1);
    let person = employee(app, 2);
    let counts = app.row_counts().await;
    // V6's sign_no: 32 characters, longer than the spec's C 30, from another platform.
    for sign_no in ["null", "", "79faf82271944fe38c4f1d99be71bc9c"] {
        let value = app
            .call_signed(
                inst,
                "1101",
                &msgid(inst, 90),
                sign_no,
                person_query(person),
            )
            .await;
        assert_eq!(value["infcode"], json!(-1), "{value}");
        let msg = value["err_msg"].as_str().unwrap();
        assert!(msg.starts_with("sign_no: "), "{msg}");
        if sign_no.len() == 32 {
            assert!(
                msg.contains(sign_no) && msg.contains("not an open sign-in"),
                "{msg}"
            );
        }
        let value = app
            .call_signed(
                inst,
                "2201",
                &msgid(inst, 91),
                sign_no,
                json!({"data": {"psn_no": person.psn_no}}),
            )
            .await;
        assert_eq!(value["infcode"], json!(-1), "{value}");
        assert!(value["err_msg"].as_str().unwrap().starts_with("sign_no: "));
    }
    assert_eq!(app.row_counts().await, counts);
    // Signed in: served. Another institution's sign_no is not this one's.
    let sign_no = sign_in(app, inst, 92).await;
    let value = app
        .call_signed(
            inst,
            "1101",
            &msgid(inst, 93),
            &sign_no,
            person_query(person),
        )
        .await;
    assert_eq!(value["infcode"], json!(0), "{value}");
    let other = hospital(app, 2);
    let value = app
        .call_signed(
            other,
            "1101",
            &msgid(other, 94),
            &sign_no,
            person_query(person),
        )
        .await;
    assert_eq!(value["infcode"], json!(-1), "{value}");
    // Signed out: refused again.
    app.call_signed(
        inst,
        "9002",
        &msgid(inst, 95),
        "null",
        json!({"signOut": {"sign_no": sign_no, "opter_no": "123"}}),
    )
    .await;
    let value = app
        .call_signed(
            inst,
            "1101",
            &msgid(inst, 96),
            &sign_no,
            person_query(person),
        )
        .await;
    assert_eq!(value["infcode"], json!(-1), "{value}");
    assert_eq!(app.unsigned_calls(&inst.fixmedins_code), 0);
}

/// Issue 10: under the default `SignInRule::Count` a message without a valid sign-in is served
/// and counted per institution; one with the day's sign_no is not counted.
async fn issue10_calls_without_a_sign_in_are_counted(app: &TestApp) {
    let inst = hospital(app, 3);
    let person = employee(app, 4);
    let before = app.unsigned_calls(&inst.fixmedins_code);
    for (seq, sign_no) in [
        (100, "null"),
        (101, ""),
        (102, "79faf82271944fe38c4f1d99be71bc9c"),
    ] {
        let value = app
            .call_signed(
                inst,
                "1101",
                &msgid(inst, seq),
                sign_no,
                person_query(person),
            )
            .await;
        assert_eq!(value["infcode"], json!(0), "{sign_no}: {value}");
    }
    assert_eq!(app.unsigned_calls(&inst.fixmedins_code), before + 3);
    let sign_no = sign_in(app, inst, 103).await;
    let value = app
        .call_signed(
            inst,
            "1101",
            &msgid(inst, 104),
            &sign_no,
            person_query(person),
        )
        .await;
    assert_eq!(value["infcode"], json!(0), "{value}");
    assert_eq!(app.unsigned_calls(&inst.fixmedins_code), before + 3);
}

/// Issue 10: 1101 finds a person of the demo city by the e-voucher token (mdtrt_cert_type 01)
/// and the social security card (03) the city issued; an unknown token is refused naming
/// `mdtrt_cert_no`, a wrong `card_sn` naming `card_sn`.
async fn issue10_1101_by_e_voucher_token_and_social_security_card(app: &TestApp) {
    let inst = hospital(app, 6);
    let person = employee(app, 6);
    let index: u64 = person.psn_no[6..].parse::<u64>().unwrap() - 1;
    let issued = yibao_city::credentials(common::SEED, index);
    let query = |cert_type: &str, cert_no: &str, card_sn: &str| {
        json!({"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no, "card_sn": card_sn,
            "psn_cert_type": "", "certno": "", "psn_name": "", "begntime": ""}})
    };
    let found = app
        .ok(
            inst,
            "1101",
            &msgid(inst, 110),
            query("01", &issued.ec_token, "NULL"),
        )
        .await;
    assert_eq!(found["baseinfo"]["psn_no"], json!(person.psn_no), "{found}");
    assert_eq!(found["baseinfo"]["certno"], json!(person.certno));
    let found = app
        .ok(
            inst,
            "1101",
            &msgid(inst, 111),
            query("03", &issued.card_no, &issued.card_sn),
        )
        .await;
    assert_eq!(found["baseinfo"]["psn_no"], json!(person.psn_no), "{found}");
    let found = app
        .ok(
            inst,
            "1101",
            &msgid(inst, 112),
            query("03", &issued.card_no, ""),
        )
        .await;
    assert_eq!(found["baseinfo"]["psn_no"], json!(person.psn_no), "{found}");

    let msg = app
        .refused(
            inst,
            "1101",
            &msgid(inst, 113),
            query("01", "0123456789abcdef0123456789abcdef", ""),
        )
        .await;
    assert_eq!(
        msg,
        "input.data.mdtrt_cert_no: e-voucher token 0123456789abcdef0123456789abcdef does not exist"
    );
    let msg = app
        .refused(
            inst,
            "1101",
            &msgid(inst, 114),
            query("03", &issued.card_no, "00000000000000000000000000000000"),
        )
        .await;
    assert!(msg.starts_with("input.data.card_sn: "), "{msg}");
    // The resident id is not a card number.
    let msg = app
        .refused(
            inst,
            "1101",
            &msgid(inst, 115),
            query("03", &person.certno, ""),
        )
        .await;
    assert!(msg.starts_with("input.data.mdtrt_cert_no: "), "{msg}");
}

/// Issue 10: 5301 人员慢特病备案查询 answers the person's recognitions in force in the spec's
/// `feedetail` rows (`opsp_dise_code`, `opsp_dise_name`, `begndate`, `enddate`).
async fn issue10_5301_lists_the_chronic_disease_recognitions(app: &TestApp) {
    let inst = hospital(app, 7);
    let person = app
        .persons
        .iter()
        .find(|p| app.chronic.contains_key(&p.psn_no))
        .expect("the city has chronic patients");
    let (code, begndate) = &app.chronic[&person.psn_no];
    let input = json!({"data": {"psn_no": person.psn_no}});
    let body = app
        .envelope(inst, "5301", &msgid(inst, 120), input)
        .to_string();
    let (status, value) = app
        .post_raw(
            "/fsi/api/fsiIntegratedQueryService/queryPsnOpspReg",
            Some((inst, "5301")),
            body,
        )
        .await;
    assert_eq!((status, &value["infcode"]), (200, &json!(0)), "{value}");
    let rows = value["output"]["feedetail"]
        .as_array()
        .expect("feedetail rows");
    assert_eq!(rows.len(), 1, "{value}");
    assert_eq!(
        keys(&rows[0]),
        ["begndate", "enddate", "opsp_dise_code", "opsp_dise_name"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
    assert_eq!(rows[0]["opsp_dise_code"], json!(code));
    assert!(rows[0]["opsp_dise_name"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert_eq!(rows[0]["begndate"], json!(begndate));
    assert_eq!(rows[0]["enddate"], Value::Null);

    let healthy = app
        .persons
        .iter()
        .find(|p| !app.chronic.contains_key(&p.psn_no))
        .unwrap();
    let output = app
        .ok(
            inst,
            "5301",
            &msgid(inst, 121),
            json!({"data": {"psn_no": healthy.psn_no}}),
        )
        .await;
    assert_eq!(output, json!({"feedetail": []}));
    let msg = app
        .refused(
            inst,
            "5301",
            &msgid(inst, 122),
            json!({"data": {"psn_no": "X0000"}}),
        )
        .await;
    assert_eq!(msg, "input.data.psn_no: X0000 does not exist");
    let msg = app
        .refused(inst, "5301", &msgid(inst, 123), json!({"data": {}}))
        .await;
    assert!(msg.starts_with("input.data.psn_no"), "{msg}");
}

/// Issue 10: a 2601 for a message that never arrived bars it; a second 2601 for the same message
/// is refused like the second 2601 of a real settlement, and does not change who barred it.
async fn issue10_a_second_revoke_of_a_lost_message_is_refused(app: &TestApp) {
    let inst = hospital(app, 2);
    let person = employee(app, 5);
    let lost = msgid(inst, 80);
    let revoke = json!({"data": {"psn_no": person.psn_no, "omsgid": lost, "oinfno": "2207"}});
    let first = msgid(inst, 81);
    assert_eq!(
        app.ok(inst, "2601", &first, revoke.clone()).await,
        Value::Null
    );
    let counts = app.row_counts().await;
    let msg = app.refused(inst, "2601", &msgid(inst, 82), revoke).await;
    assert!(
        msg.contains("omsgid") && msg.contains(&lost) && msg.contains(&first),
        "{msg}"
    );
    assert_eq!(app.row_counts().await, counts);
    // The late original is refused, naming the first 2601 as the one that barred it.
    let msg = app
        .refused(
            inst,
            "2207",
            &lost,
            settle_input("request-2207A", person, "M0", "B1", 100),
        )
        .await;
    assert!(msg.contains(&first), "{msg}");
    assert_eq!(app.row_counts().await, counts);
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
    let answers = futures_join_all(
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

/// Runs futures concurrently on the test runtime and collects their outputs in order.
async fn futures_join_all<F: std::future::Future<Output = Value>>(
    futures: impl Iterator<Item = F>,
) -> Vec<Value> {
    let mut set = Vec::new();
    for future in futures {
        set.push(future);
    }
    let mut pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<Value>> = vec![None; pinned.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (idx, future) in pinned.iter_mut().enumerate() {
            if outputs[idx].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => outputs[idx] = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// 2401 → 2403 → 2301 → 2402 → 2303 → 2304 → 3201 → 5206 → 2305 → 2405 → 2302 → 2404, each in
/// the §4 node shapes.
async fn inpatient_chain_with_reconciliation(app: &TestApp) {
    let inst = hospital(app, 5);
    let person = app
        .persons
        .iter()
        .find(|p| p.insutype == "390")
        .expect("a resident");
    let today = &now_text()[..10];
    let admitted_at = format!("{today} 00:00:01");
    let diagnosis = |main: &str| {
        json!({"psn_no": person.psn_no, "diag_type": "1", "maindiag_flag": main, "diag_srt_no": "1",
               "diag_code": "I10.x00", "diag_name": "高血压", "diag_dept": "内科", "dise_dor_no": "D1",
               "dise_dor_name": "医生", "diag_time": admitted_at})
    };
    let admission = json!({
        "psn_no": person.psn_no, "insutype": person.insutype, "begntime": admitted_at,
        "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "certno": person.certno, "med_type": "21",
        "ipt_no": "IPT-1", "atddr_no": "D1", "chfpdr_name": "主治", "adm_diag_dscr": "高血压",
        "adm_dept_codg": "A03", "adm_dept_name": "内科", "adm_bed": "12", "dscg_maindiag_code": "I10.x00",
        "dscg_maindiag_name": "高血压", "insuplc_admdvs": app.region, "mdtrtarea_admvs": inst.admdvs
    });
    let output = app
        .ok(
            inst,
            "2401",
            &msgid(inst, 200),
            json!({"mdtrtinfo": admission, "diseinfo": diagnosis("1")}),
        )
        .await;
    let mdtrt_id = output["result"]["mdtrt_id"]
        .as_str()
        .expect("2401 result.mdtrt_id")
        .to_owned();
    // 2403 changes the admission (adminfo names the visit).
    let mut change = admission.clone();
    change["mdtrt_id"] = json!(mdtrt_id);
    change["ipt_otp_no"] = json!("IPT-1");
    change["adm_bed"] = json!("14");
    assert_eq!(
        app.ok(
            inst,
            "2403",
            &msgid(inst, 201),
            json!({"adminfo": change, "diseinfo": [diagnosis("1")]})
        )
        .await,
        Value::Null
    );
    // 2301: five lines.
    let lines: Vec<Value> = (0..5)
        .map(|idx| {
            let item = &app.items[(idx * 11 + 3) % app.items.len()];
            let mut line = fee_line(person, &mdtrt_id, "", 10 + idx, item, 2);
            line["med_type"] = json!("21");
            line.as_object_mut().unwrap().remove("chrg_bchno");
            line
        })
        .collect();
    let total: i64 = lines
        .iter()
        .map(|line| {
            fen(&line["det_item_fee_sumamt"]
                .as_str()
                .unwrap()
                .parse::<Value>()
                .unwrap())
        })
        .sum();
    let output = app
        .ok(inst, "2301", &msgid(inst, 202), json!({"feedetail": lines}))
        .await;
    assert_eq!(output["result"].as_array().map(Vec::len), Some(5));
    // 2402 discharge.
    let discharge = json!({
        "mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "insutype": person.insutype, "endtime": now_text(),
        "dscg_dept_codg": "A03", "dscg_dept_name": "内科", "dscg_way": "1"
    });
    assert_eq!(
        app.ok(
            inst,
            "2402",
            &msgid(inst, 203),
            json!({"dscginfo": discharge, "diseinfo": diagnosis("1")})
        )
        .await,
        Value::Null
    );
    // 2303 / 2304.
    let settle = json!({"data": {
        "psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
        "medfee_sumamt": yibao_server::wire::scalar::format_decimal(total, 2), "psn_setlway": "01",
        "mdtrt_id": mdtrt_id, "insutype": person.insutype, "acct_used_flag": "0", "mid_setl_flag": "0",
        "insuplc_admdvs": app.region, "mdtrtarea_admvs": inst.admdvs, "dscgTime": today
    }});
    let pre = app
        .ok(inst, "2303", &msgid(inst, 204), settle.clone())
        .await;
    assert_identities(&pre["setlinfo"], &pre["setldetail"]);
    let settled = app.ok(inst, "2304", &msgid(inst, 205), settle).await;
    let setlinfo = &settled["setlinfo"];
    assert_identities(setlinfo, &settled["setldetail"]);
    assert_eq!(fen(&setlinfo["medfee_sumamt"]), total);
    assert_eq!(setlinfo["clr_type"], json!("21"));
    for field in ["medfee_sumamt", "fund_pay_sumamt", "psn_part_amt"] {
        assert_eq!(
            fen(&pre["setlinfo"][field]),
            fen(&setlinfo[field]),
            "{field}"
        );
    }
    let setl_id = setlinfo["setl_id"].as_str().unwrap().to_owned();

    // 3201: the hospital's own totals agree with the platform's; a wrong count does not.
    let reconcile = |count: i64| {
        json!({"data": {
            "insutype": person.insutype, "clr_type": "21", "setl_optins": app.region,
            "stmt_begndate": today, "stmt_enddate": today,
            "medfee_sumamt": setlinfo["medfee_sumamt"], "fund_pay_sumamt": setlinfo["fund_pay_sumamt"],
            "acct_pay": setlinfo["acct_pay"], "fixmedins_setl_cnt": count, "fixmedins_refd_setl_flag": "0"
        }})
    };
    let balanced = app.ok(inst, "3201", &msgid(inst, 206), reconcile(1)).await;
    assert_eq!(balanced["stmtinfo"]["stmt_rslt"], json!("0"), "{balanced}");
    let unbalanced = app.ok(inst, "3201", &msgid(inst, 207), reconcile(2)).await;
    assert_eq!(
        unbalanced["stmtinfo"]["stmt_rslt"],
        json!("1"),
        "{unbalanced}"
    );
    assert!(!unbalanced["stmtinfo"]["stmt_rslt_dscr"]
        .as_str()
        .unwrap()
        .is_empty());

    // 5206: the year-to-date figures moved.
    let cumulative = app
        .ok(
            inst,
            "5206",
            &msgid(inst, 208),
            json!({"data": {"psn_no": person.psn_no}}),
        )
        .await;
    let rows = cumulative["cuminfo"].as_array().unwrap();
    assert!(rows.iter().any(|row| fen(&row["cum"]) != 0), "{cumulative}");

    // Undo everything in order: 2305, 2405, 2302 (all lines), 2404.
    let visit =
        json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "setl_id": setl_id}});
    let reversed = app.ok(inst, "2305", &msgid(inst, 209), visit.clone()).await;
    assert_eq!(fen(&reversed["setlinfo"]["medfee_sumamt"]), -total);
    assert_eq!(
        app.ok(inst, "2405", &msgid(inst, 210), visit.clone()).await,
        Value::Null
    );
    let withdraw =
        json!({"data": [{"feedetl_sn": "0000", "mdtrt_id": mdtrt_id, "psn_no": person.psn_no}]});
    assert_eq!(
        app.ok(inst, "2302", &msgid(inst, 211), withdraw).await,
        Value::Null
    );
    assert_eq!(
        app.ok(inst, "2404", &msgid(inst, 212), visit).await,
        Value::Null
    );
    let cumulative = app
        .ok(
            inst,
            "5206",
            &msgid(inst, 213),
            json!({"data": {"psn_no": person.psn_no}}),
        )
        .await;
    assert!(
        cumulative["cuminfo"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| fen(&row["cum"]) == 0),
        "{cumulative}"
    );
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
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

/// A reference case of the shipped CHS-DRG 1.1 scheme (`testcases.jsonl`) with its expected
/// group: the `n`-th grouped case that has a procedure and whose DRG differs from `other`.
fn reference_case(n: usize, other: Option<&str>) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/chs-drg-1.1/testcases.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|case| {
            case["expected"]["status"] == json!("分组成功")
                && case["procedures"].as_array().is_some_and(|p| !p.is_empty())
                && case["age_years"].is_u64()
                && other.is_none_or(|drg| case["expected"]["drg"] != json!(drg))
        })
        .nth(n)
        .expect("enough reference cases")
}

/// A 4101A `input` for a settlement, carrying a reference case's codes: the principal diagnosis
/// is sent last with `maindiag_flag` 1, the main procedure first with `main_oprn_flag` 1.
fn setl_list_input(person: &Person, mdtrt_id: &str, setl_id: &str, case: &Value) -> Value {
    let today = &now_text()[..10];
    let codes = |key: &str| -> Vec<String> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap().to_owned())
            .collect()
    };
    let diagnoses = codes("diagnoses");
    let mut diseinfo: Vec<Value> = diagnoses[1..]
        .iter()
        .map(|code| json!({"diag_type": "1", "diag_code": code, "diag_name": "诊断", "adm_cond_type": "1", "maindiag_flag": "0"}))
        .collect();
    diseinfo.push(json!({"diag_type": "1", "diag_code": diagnoses[0], "diag_name": "主要诊断", "adm_cond_type": "1", "maindiag_flag": "1"}));
    let oprninfo: Vec<Value> = codes("procedures")
        .iter()
        .enumerate()
        .map(|(idx, code)| json!({"oprn_oprt_type": if idx == 0 { "1" } else { "2" }, "oprn_oprt_code": code,
                                  "oprn_oprt_name": "手术", "oprn_oprt_date": today, "anst_way": "1",
                                  "oper_dr_code": "D1", "anst_dr_code": "D2", "main_oprn_flag": if idx == 0 { "1" } else { "0" }}))
        .collect();
    json!({
        "setlinfo": {
            "psn_no": person.psn_no, "mdtrt_id": mdtrt_id, "setl_id": setl_id, "medcasno": "BA-1",
            "gend": case["sex"].to_string(), "age": case["age_years"].to_string(), "ntly": "CHN",
            "prfs": "90", "adm_way": "1", "trt_type": "1", "adm_caty": "A03", "dscg_caty": "A03",
            "dscg_way": case["discharge_way"], "act_ipt_days": case["los_days"].to_string(),
            "setl_begn_date": today, "setl_end_date": today, "hi_paymtd": "1", "bill_code": "B",
            "bill_no": "1", "biz_sn": "1", "chfpdr_code": "D1", "medins_fill_dept": "病案科",
            "medins_fill_psn": "编码员", "some_provincial_key": "ignored"
        },
        "payinfo": [{"fund_pay_type": "390100", "fund_payamt": "12.34"}],
        "diseinfo": diseinfo,
        "oprninfo": oprninfo,
        "icuinfo": [{"scs_cutd_ward_type": "1", "scs_cutd_inpool_time": format!("{today} 01:00:00"),
                     "scs_cutd_exit_time": format!("{today} 02:00:00"), "scs_cutd_sum_dura": "0/1/0"}],
        "bldinfo": {"bld_cat": "1", "bld_amt": "2", "bld_unt": "U"},
    })
}

/// 2401 → 2301 → 2304 for `person` at `inst`; returns (`mdtrt_id`, `setl_id`).
async fn settle_inpatient(
    app: &TestApp,
    inst: &Institution,
    person: &Person,
    seq: u32,
) -> (String, String) {
    let admitted_at = format!("{} 00:00:01", &now_text()[..10]);
    let admission = json!({
        "psn_no": person.psn_no, "insutype": person.insutype, "begntime": admitted_at,
        "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "certno": person.certno, "med_type": "21",
        "ipt_no": format!("IPT-{seq}"), "atddr_no": "D1", "chfpdr_name": "主治", "adm_diag_dscr": "骨折",
        "adm_dept_codg": "A03", "adm_dept_name": "外科", "adm_bed": "12", "dscg_maindiag_code": "S62.410",
        "dscg_maindiag_name": "骨折", "insuplc_admdvs": app.region, "mdtrtarea_admvs": inst.admdvs
    });
    let diagnosis = json!({"psn_no": person.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1",
        "diag_code": "S62.410", "diag_name": "骨折", "diag_dept": "外科", "dise_dor_no": "D1",
        "dise_dor_name": "医生", "diag_time": admitted_at});
    let output = app
        .ok(
            inst,
            "2401",
            &msgid(inst, seq),
            json!({"mdtrtinfo": admission, "diseinfo": diagnosis}),
        )
        .await;
    let mdtrt_id = output["result"]["mdtrt_id"].as_str().unwrap().to_owned();
    let item = &app.items[3];
    let mut line = fee_line(person, &mdtrt_id, "", 1, item, 2);
    line["med_type"] = json!("21");
    line.as_object_mut().unwrap().remove("chrg_bchno");
    let total = fen(&line["det_item_fee_sumamt"]
        .as_str()
        .unwrap()
        .parse::<Value>()
        .unwrap());
    app.ok(
        inst,
        "2301",
        &msgid(inst, seq + 1),
        json!({"feedetail": [line]}),
    )
    .await;
    let settled = app
        .ok(
            inst,
            "2304",
            &msgid(inst, seq + 2),
            json!({"data": {
                "psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                "medfee_sumamt": yibao_server::wire::scalar::format_decimal(total, 2), "psn_setlway": "01",
                "mdtrt_id": mdtrt_id, "insutype": person.insutype, "acct_used_flag": "0", "mid_setl_flag": "0",
                "insuplc_admdvs": app.region, "mdtrtarea_admvs": inst.admdvs
            }}),
        )
        .await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
    (mdtrt_id, setl_id)
}

/// 4101A: a settlement list is validated, grouped with CHS-DRG 1.1 as the reference grouper
/// groups its codes, stored as a new version on every upload, replayed on a retry, and seen
/// (4103) only by its own hospital; refused lists write nothing.
async fn settlement_lists_are_grouped_versioned_and_private(app: &TestApp) {
    let inst = hospital(app, 7);
    let stranger = hospital(app, 8);
    let person = app
        .persons
        .iter()
        .filter(|p| p.insutype == "390")
        .nth(3)
        .expect("a resident");
    let (mdtrt_id, setl_id) = settle_inpatient(app, inst, person, 400).await;
    let first = reference_case(0, None);
    let second = reference_case(0, first["expected"]["drg"].as_str());

    // Refused lists write nothing, each naming its field.
    let counts = app.row_counts().await;
    let mut no_principal = setl_list_input(person, &mdtrt_id, &setl_id, &first);
    for row in no_principal["diseinfo"].as_array_mut().unwrap() {
        row["maindiag_flag"] = json!("0");
    }
    let msg = app
        .refused(inst, "4101A", &msgid(inst, 410), no_principal)
        .await;
    assert!(msg.contains("input.diseinfo.maindiag_flag"), "{msg}");
    let mut unknown = setl_list_input(person, &mdtrt_id, &setl_id, &first);
    unknown["setlinfo"]["setl_id"] = json!("NO-SUCH-SETTLEMENT");
    let msg = app.refused(inst, "4101A", &msgid(inst, 411), unknown).await;
    assert!(msg.contains("input.setlinfo.setl_id"), "{msg}");
    let mut other_visit = setl_list_input(person, &mdtrt_id, &setl_id, &first);
    other_visit["setlinfo"]["mdtrt_id"] = json!("M-OTHER");
    let msg = app
        .refused(inst, "4101A", &msgid(inst, 412), other_visit)
        .await;
    assert!(msg.contains("input.setlinfo.mdtrt_id"), "{msg}");
    let mut no_procedure_code = setl_list_input(person, &mdtrt_id, &setl_id, &first);
    no_procedure_code["oprninfo"][0]["oprn_oprt_code"] = json!("");
    let msg = app
        .refused(inst, "4101A", &msgid(inst, 413), no_procedure_code)
        .await;
    assert!(msg.contains("input.oprninfo[0].oprn_oprt_code"), "{msg}");
    // Another hospital cannot file a list for this settlement (nor learn that it exists).
    let msg = app
        .refused(
            stranger,
            "4101A",
            &msgid(stranger, 414),
            setl_list_input(person, &mdtrt_id, &setl_id, &first),
        )
        .await;
    assert!(msg.contains("does not exist"), "{msg}");
    assert_eq!(app.row_counts().await, counts);

    // Version 1, through the per-service path of §1.1.
    let input = setl_list_input(person, &mdtrt_id, &setl_id, &first);
    let body = app
        .envelope(inst, "4101A", &msgid(inst, 415), input.clone())
        .to_string();
    let (status, response) = app
        .post_raw(
            "/fsi/api/medinfoupload/setllistinfoupldA",
            Some((inst, "4101A")),
            body,
        )
        .await;
    assert_eq!(
        (status, &response["infcode"]),
        (200, &json!(0)),
        "{response}"
    );
    let data = &response["output"]["data"];
    assert!(data["setl_list_id"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert_eq!(data["list_vers"], json!(1));
    for (ours, theirs) in [
        ("grp_stas", "status"),
        ("mdc_code", "mdc"),
        ("adrg_code", "adrg"),
        ("drg_code", "drg"),
    ] {
        assert_eq!(data[ours], first["expected"][theirs], "{ours}: {data}");
    }
    let explained = data["grp_proc_info"].as_str().unwrap();
    assert!(
        explained.contains(&format!(
            "ADRG {} by ",
            first["expected"]["adrg"].as_str().unwrap()
        )),
        "{explained}"
    );
    // A retry answers the same and writes nothing.
    let counts = app.row_counts().await;
    let replay = app.ok(inst, "4101A", &msgid(inst, 415), input).await;
    assert_eq!(&replay["data"], data);
    assert_eq!(app.row_counts().await, counts);

    // Version 2 (the old 4101 code serves the same list): a recoded case, grouped anew.
    let output = app
        .ok(
            inst,
            "4101",
            &msgid(inst, 416),
            setl_list_input(person, &mdtrt_id, &setl_id, &second),
        )
        .await;
    assert_eq!(output["data"]["list_vers"], json!(2));
    assert_eq!(output["data"]["drg_code"], second["expected"]["drg"]);

    // 4103: the hospital sees the latest version only; another hospital sees nothing.
    let lists = app
        .ok(
            inst,
            "4103",
            &msgid(inst, 417),
            json!({"data": {"setl_id": setl_id}}),
        )
        .await;
    let rows = lists["setllistinfo"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{lists}");
    assert_eq!(rows[0]["list_vers"], json!(2));
    assert_eq!(rows[0]["drg_code"], second["expected"]["drg"]);
    assert_eq!(rows[0]["mdtrt_id"], json!(mdtrt_id));
    assert_eq!(rows[0]["maindiag_code"], second["diagnoses"][0]);
    assert_eq!(rows[0]["main_oprn_code"], second["procedures"][0]);
    assert_eq!(rows[0]["ipt_days"], second["los_days"]);
    let theirs = app
        .ok(
            stranger,
            "4103",
            &msgid(stranger, 418),
            json!({"data": {"psn_no": person.psn_no}}),
        )
        .await;
    assert_eq!(theirs["setllistinfo"], json!([]), "{theirs}");
    let msg = app
        .refused(
            inst,
            "4103",
            &msgid(inst, 419),
            json!({"data": {"page_size": "100000"}}),
        )
        .await;
    assert!(msg.contains("input.data.page_size"), "{msg}");

    // A reversed settlement takes no new list.
    let visit =
        json!({"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "setl_id": setl_id}});
    app.ok(inst, "2305", &msgid(inst, 420), visit).await;
    let counts = app.row_counts().await;
    let msg = app
        .refused(
            inst,
            "4101A",
            &msgid(inst, 421),
            setl_list_input(person, &mdtrt_id, &setl_id, &first),
        )
        .await;
    assert!(msg.contains("was reversed"), "{msg}");
    assert_eq!(app.row_counts().await, counts);
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}

/// 2401 for `person` at `inst` (med_type 21); returns `mdtrt_id`.
async fn admit(app: &TestApp, inst: &Institution, person: &Person, seq: u32) -> String {
    let admitted_at = format!("{} 00:00:01", &now_text()[..10]);
    let admission = json!({
        "psn_no": person.psn_no, "insutype": person.insutype, "begntime": admitted_at,
        "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "med_type": "21",
        "ipt_no": format!("IPT-{seq}"), "adm_dept_codg": "A03", "adm_dept_name": "内科",
        "dscg_maindiag_code": "I10.x00", "dscg_maindiag_name": "高血压"
    });
    let diagnosis = json!({"diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1",
        "diag_code": "I10.x00", "diag_name": "高血压", "diag_dept": "内科", "dise_dor_no": "D1",
        "dise_dor_name": "医生", "diag_time": admitted_at, "vali_flag": "1"});
    let output = app
        .ok(
            inst,
            "2401",
            &msgid(inst, seq),
            json!({"mdtrtinfo": admission, "diseinfo": diagnosis}),
        )
        .await;
    output["result"]["mdtrt_id"].as_str().unwrap().to_owned()
}

/// A restricted-use (限制使用) catalogue item.
fn restricted_item(app: &TestApp) -> &common::Item {
    app.items
        .iter()
        .find(|item| item.lmt_used_flag)
        .expect("the demo catalogue has restricted items")
}

/// Issue 10: 2204 requires `hosp_appr_flag` on every line (a line without it is refused, naming
/// it); a 2301 line without it is not approved, so a restricted item is fully self-paid.
async fn issue10_hosp_appr_flag_is_never_assumed(app: &TestApp) {
    let inst = hospital(app, 6);
    let person = employee(app, 6);
    let mdtrt_id = register(app, inst, person, 300).await;
    let restricted = restricted_item(app);
    let counts = app.row_counts().await;
    for absent in [None, Some(json!("")), Some(json!(null))] {
        let mut lines: Vec<Value> = (0..4)
            .map(|idx| fee_line(person, &mdtrt_id, "B1", 1 + idx, restricted, 1))
            .collect();
        match &absent {
            None => {
                lines[3].as_object_mut().unwrap().remove("hosp_appr_flag");
            }
            Some(value) => lines[3]["hosp_appr_flag"] = value.clone(),
        }
        let msg = app
            .refused(inst, "2204", &msgid(inst, 301), json!({"feedetail": lines}))
            .await;
        assert_eq!(msg, "input.feedetail[3].hosp_appr_flag: is required");
    }
    let mut line = fee_line(person, &mdtrt_id, "B1", 1, restricted, 1);
    line["hosp_appr_flag"] = json!("7");
    let msg = app
        .refused(
            inst,
            "2204",
            &msgid(inst, 302),
            json!({"feedetail": [line]}),
        )
        .await;
    assert_eq!(
        msg,
        "input.feedetail[0].hosp_appr_flag: `7` is not one of 0, 1, 2"
    );
    assert_eq!(app.row_counts().await, counts);
    // Sent: 0 (no approval) makes the restricted item self-paid, 1 (approved) reimbursable.
    let mut lines = vec![
        fee_line(person, &mdtrt_id, "B1", 1, restricted, 1),
        fee_line(person, &mdtrt_id, "B1", 2, restricted, 1),
    ];
    lines[0]["hosp_appr_flag"] = json!("0");
    let output = app
        .ok(inst, "2204", &msgid(inst, 303), json!({"feedetail": lines}))
        .await;
    let result = &output["result"];
    assert_eq!(
        result[0]["fulamt_ownpay_amt"],
        result[0]["det_item_fee_sumamt"]
    );
    assert_eq!(fen(&result[1]["fulamt_ownpay_amt"]), 0, "{result}");

    // 2301 does not require the flag; a line without it is not approved.
    let resident = app
        .persons
        .iter()
        .filter(|p| p.insutype == "390")
        .nth(6)
        .expect("residents");
    let mdtrt_id = admit(app, inst, resident, 304).await;
    let mut line = fee_line(resident, &mdtrt_id, "", 1, restricted, 1);
    line["med_type"] = json!("21");
    line.as_object_mut().unwrap().remove("hosp_appr_flag");
    let output = app
        .ok(
            inst,
            "2301",
            &msgid(inst, 305),
            json!({"feedetail": [line]}),
        )
        .await;
    let result = &output["result"][0];
    assert_eq!(result["fulamt_ownpay_amt"], result["det_item_fee_sumamt"]);
    assert_eq!(fen(&result["inscp_scp_amt"]), 0, "{result}");
}

/// JSON text of `value` as another client would build it: keys in reverse order, spaces and
/// newlines between tokens, and every number sent as a string (or every numeric string as a
/// number when `numbers` is true).
fn rebuilt(value: &Value, numbers: bool) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .rev()
                .map(|(key, value)| format!("\n  {} : {}", json!(key), rebuilt(value, numbers)))
                .collect();
            format!("{{ {} \n}}", fields.join(" ,"))
        }
        Value::Array(rows) => {
            let rows: Vec<String> = rows.iter().map(|row| rebuilt(row, numbers)).collect();
            format!("[ {} ]", rows.join(" , "))
        }
        Value::Number(number) if !numbers => json!(number.to_string()).to_string(),
        Value::String(text)
            if numbers
                && !text.is_empty()
                && text.parse::<f64>().is_ok()
                && !text.starts_with('0') =>
        {
            text.clone()
        }
        other => other.to_string(),
    }
}

/// Issue 10: the idempotency fingerprint is over the parsed input. A client that rebuilds its
/// message on retry (other key order, whitespace, amounts as numbers instead of strings) gets
/// the stored answer and writes nothing; a retry with a different value is still refused.
async fn issue10_a_rebuilt_retry_gets_the_stored_answer(app: &TestApp) {
    let inst = hospital(app, 7);
    let person = employee(app, 7);
    let path = yibao_server::infno::CALL_SERVICE_PATH;
    let mdtrt_id = register(app, inst, person, 310).await;
    let lines: Vec<Value> = (0..3)
        .map(|idx| fee_line(person, &mdtrt_id, "B1", 1 + idx, &app.items[idx * 5], 2))
        .collect();
    let total: i64 = lines
        .iter()
        .map(|line| {
            yibao_server::wire::scalar::parse_decimal(
                line["det_item_fee_sumamt"].as_str().unwrap(),
                2,
            )
            .unwrap()
        })
        .sum();
    let upload_msgid = msgid(inst, 311);
    let envelope = app.envelope(inst, "2204", &upload_msgid, json!({"feedetail": lines}));
    let (_, first) = app
        .post_raw(path, Some((inst, "2204")), envelope.to_string())
        .await;
    assert_eq!(first["infcode"], json!(0), "{first}");
    let counts = app.row_counts().await;
    let (_, again) = app
        .post_raw(path, Some((inst, "2204")), rebuilt(&envelope, true))
        .await;
    assert_eq!(again["infcode"], json!(0), "{again}");
    assert_eq!(again["output"], first["output"]);
    assert_eq!(app.row_counts().await, counts);

    let mut input = settle_input("request-2207A", person, &mdtrt_id, "B1", total);
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"].as_object_mut().unwrap().remove(field);
    }
    // The first send has the amount as a JSON number, the retry as a string (`2505.45`).
    let total_text = yibao_server::wire::scalar::format_decimal(total, 2);
    input["data"]["medfee_sumamt"] = total_text.parse::<Value>().unwrap();
    let settle_msgid = msgid(inst, 312);
    let envelope = app.envelope(inst, "2207", &settle_msgid, input.clone());
    let (_, first) = app
        .post_raw(path, Some((inst, "2207")), envelope.to_string())
        .await;
    assert_eq!(first["infcode"], json!(0), "{first}");
    let counts = app.row_counts().await;
    let retry = rebuilt(&envelope, false);
    assert!(
        retry.contains(&format!("\"medfee_sumamt\" : \"{total_text}\"")),
        "{retry}"
    );
    let (_, again) = app.post_raw(path, Some((inst, "2207")), retry).await;
    assert_eq!(again["infcode"], json!(0), "{again}");
    assert_eq!(again["output"], first["output"]);
    assert_eq!(app.row_counts().await, counts);
    // Different values under the same msgid: refused, naming msgid, nothing written.
    for (field, value) in [
        (
            "medfee_sumamt",
            json!(yibao_server::wire::scalar::format_decimal(total + 1, 2)),
        ),
        ("chrg_bchno", json!("B2")),
        ("acct_used_flag", json!("0")),
    ] {
        let mut changed = envelope.clone();
        changed["input"]["data"][field] = value;
        let (_, conflict) = app
            .post_raw(path, Some((inst, "2207")), rebuilt(&changed, false))
            .await;
        assert_eq!(conflict["infcode"], json!(-1), "{conflict}");
        let msg = conflict["err_msg"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!(
                "msgid: {settle_msgid} exists with different content"
            )),
            "{field}: {msg}"
        );
    }
    assert_eq!(app.row_counts().await, counts);
}

/// A spec §6 request replayed from `inst`: the vector's envelope and input as captured, with only
/// what names our world replaced (the institution and its region, the message id, and the
/// `input.<node>.<field>` values in `replace`: the person, the visit, the times). Returns the
/// whole answer.
async fn replay(
    app: &TestApp,
    inst: &Institution,
    name: &str,
    msgid: &str,
    node: &str,
    replace: &[(&str, Value)],
) -> Value {
    let mut input = vector(name)["input"].clone();
    for (key, value) in replace {
        input[node][*key] = value.clone();
    }
    replay_input(app, inst, name, msgid, input).await
}

/// Like [`replay`], with the whole `input` given.
async fn replay_input(
    app: &TestApp,
    inst: &Institution,
    name: &str,
    msgid: &str,
    input: Value,
) -> Value {
    let mut request = vector(name);
    request["input"] = input;
    request["msgid"] = json!(msgid);
    request["fixmedins_code"] = json!(inst.fixmedins_code);
    request["fixmedins_name"] = json!(inst.fixmedins_name);
    request["mdtrtarea_admvs"] = json!(inst.admdvs);
    request["insuplc_admdvs"] = json!(app.region);
    let infno = request["infno"].as_str().unwrap().to_owned();
    let (status, answer) = app
        .post_raw(
            yibao_server::infno::CALL_SERVICE_PATH,
            Some((inst, &infno)),
            request.to_string(),
        )
        .await;
    assert_eq!(status, 200, "{name}: {answer}");
    answer
}

/// V2's 2201 and 2203A, then V3's 2204, for `person` today; returns the visit and the 2204
/// output.
async fn open_vector_visit(
    app: &TestApp,
    inst: &Institution,
    person: &Person,
    seq: u32,
) -> (String, Value) {
    let today = &now_text()[..10];
    let registered = replay(
        app,
        inst,
        "request-2201",
        &msgid(inst, seq),
        "data",
        &[
            ("psn_no", json!(person.psn_no)),
            ("insutype", json!(person.insutype)),
            ("mdtrt_cert_no", json!(person.certno)),
            ("begntime", json!(format!("{today} 10:00:00"))),
        ],
    )
    .await;
    let registered = accepted("V2 2201", &registered);
    let mdtrt_id = registered["data"]["mdtrt_id"].as_str().unwrap().to_owned();
    let mut visit = vector("request-2203A")["input"].clone();
    visit["mdtrtinfo"]["mdtrt_id"] = json!(mdtrt_id);
    visit["mdtrtinfo"]["psn_no"] = json!(person.psn_no);
    visit["mdtrtinfo"]["begntime"] = json!(today);
    visit["diseinfo"]["diag_time"] = json!(today);
    let answer = replay_input(app, inst, "request-2203A", &msgid(inst, seq + 1), visit).await;
    assert_eq!(accepted("V2 2203A", &answer), Value::Null);
    let uploaded = replay(
        app,
        inst,
        "request-2204",
        &msgid(inst, seq + 2),
        "feedetail",
        &[
            ("mdtrt_id", json!(mdtrt_id)),
            ("psn_no", json!(person.psn_no)),
            ("fee_ocur_time", json!(format!("{today} 10:00:00"))),
        ],
    )
    .await;
    (mdtrt_id, accepted("V3 2204", &uploaded))
}

fn accepted(name: &str, answer: &Value) -> Value {
    assert_eq!(answer["infcode"], json!(0), "{name}: {answer}");
    answer["output"].clone()
}

/// Issue 10: every request of spec §6 that applies to this server, replayed with its envelope
/// and input as captured, is accepted where the real platform accepted it (and refused where
/// it refused): the 32-character `sign_no` of V6, V6's 1101 without `mdtrt_cert_type`, V2's
/// 2203A with its date-only times and zero-padded flags, V3's 2204 of an item outside our
/// catalogue (answered as fully self-paid, `selfpay_prop 1`, as the Zhejiang platform did), and
/// V3's 2207A whose declared split differs from ours (settled by our classification, the
/// difference in `warn_msg`); V3's 2601 of a settlement already reversed is refused.
async fn issue10_spec_vectors_are_answered_as_the_real_platform_did(app: &TestApp) {
    let inst = hospital(app, 8);
    let person = employee(app, 8);
    let sign_in = accepted(
        "V1 9001",
        &replay(app, inst, "request-9001", &msgid(inst, 320), "signIn", &[]).await,
    );
    assert!(sign_in["signinoutb"]["sign_no"].is_string(), "{sign_in}");

    // V6: identified by certno alone, with a 32-character sign_no.
    let info = accepted(
        "V6 1101",
        &replay(
            app,
            inst,
            "request-1101",
            &msgid(inst, 321),
            "data",
            &[("certno", json!(person.certno))],
        )
        .await,
    );
    assert_eq!(info["baseinfo"]["psn_no"], json!(person.psn_no));

    // V2: 2201 → 2203A; V3: 2204 → 2206A → 2207A; 2208; V3's 2601 (refused).
    let (mdtrt_id, uploaded) = open_vector_visit(app, inst, person, 330).await;
    // The Zhejiang platform's answer for this line: fully self-paid.
    let line = &uploaded["result"][0];
    assert_eq!(fen(&line["fulamt_ownpay_amt"]), 120_000, "{line}");
    assert_eq!(fen(&line["inscp_scp_amt"]), 0, "{line}");
    assert_eq!(ratio_e4(&line["selfpay_prop"]), 10_000, "{line}");
    let visit = [
        ("psn_no", json!(person.psn_no)),
        ("mdtrt_cert_no", json!(person.certno)),
        ("mdtrt_id", json!(mdtrt_id)),
        ("insutype", json!(person.insutype)),
    ];
    let pre = accepted(
        "V3 2206A",
        &replay(
            app,
            inst,
            "request-2206A",
            &msgid(inst, 333),
            "data",
            &visit,
        )
        .await,
    );
    assert_eq!(fen(&pre["setlinfo"]["medfee_sumamt"]), 120_000);
    let settle_msgid = msgid(inst, 334);
    let answer = replay(app, inst, "request-2207A", &settle_msgid, "data", &visit).await;
    let settled = accepted("V3 2207A", &answer);
    let setlinfo = &settled["setlinfo"];
    assert_identities(setlinfo, &settled["setldetail"]);
    assert_eq!(fen(&setlinfo["fulamt_ownpay_amt"]), 120_000, "{setlinfo}");
    assert_eq!(fen(&setlinfo["inscp_scp_amt"]), 0, "{setlinfo}");
    assert_eq!(
        answer["warn_msg"],
        json!(
            "the declared split differs from the platform's classification, which was settled: \
               input.data.fulamt_ownpay_amt: declared 0.00, settled 1200.00; \
               input.data.inscp_scp_amt: declared 1200.00, settled 0.00"
        ),
    );
    // The retry of the same message gets the same answer, warning included.
    let again = replay(app, inst, "request-2207A", &settle_msgid, "data", &visit).await;
    assert_eq!(again["warn_msg"], answer["warn_msg"]);
    assert_eq!(again["output"], answer["output"]);
    let setl_id = setlinfo["setl_id"].as_str().unwrap().to_owned();
    let reverse =
        json!({"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": person.psn_no}});
    app.ok(inst, "2208", &msgid(inst, 335), reverse).await;
    let answer = replay(
        app,
        inst,
        "request-2601",
        &msgid(inst, 336),
        "data",
        &[
            ("psn_no", json!(person.psn_no)),
            ("omsgid", json!(settle_msgid)),
        ],
    )
    .await;
    assert_eq!(
        answer["infcode"],
        json!(-1),
        "V3 2601 was refused: {answer}"
    );

    // V2: 2205 of every unsettled line ("0000"), then 2202.
    let (mdtrt_id, _) = open_vector_visit(app, inst, person, 340).await;
    let answer = replay(
        app,
        inst,
        "request-2205",
        &msgid(inst, 343),
        "data",
        &[
            ("mdtrt_id", json!(mdtrt_id)),
            ("psn_no", json!(person.psn_no)),
        ],
    )
    .await;
    assert_eq!(accepted("V2 2205", &answer), Value::Null);
    let answer = replay(
        app,
        inst,
        "request-2202",
        &msgid(inst, 344),
        "data",
        &[
            ("mdtrt_id", json!(mdtrt_id)),
            ("psn_no", json!(person.psn_no)),
        ],
    )
    .await;
    assert_eq!(accepted("V2 2202", &answer), Value::Null);
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}

/// A ratio (`selfpay_prop`) in ten-thousandths; it must be a JSON number with at most 4 decimals.
fn ratio_e4(value: &Value) -> i64 {
    let text = value
        .as_number()
        .unwrap_or_else(|| panic!("not a number: {value}"))
        .to_string();
    yibao_server::wire::scalar::parse_decimal(&text, 4).unwrap()
}

/// Issue 10: in the 2204/2301 answer, `selfpay_prop` is 1 on a 丙类 line and on a line whose item
/// is not in the catalogue (spec §3A: 丙类 → `selfpay_prop 1`; §6 V3's answer for an item the
/// platform priced as fully self-paid); 乙类 keeps its catalogue ratio and 甲类 is 0.
async fn issue10_selfpay_prop_is_1_on_class_c_and_uncatalogued_lines(app: &TestApp) {
    let inst = hospital(app, 9);
    let person = employee(app, 9);
    let mdtrt_id = register(app, inst, person, 350).await;
    let item = |lv: &str| {
        app.items
            .iter()
            .find(|item| item.chrgitm_lv == lv && !item.lmt_used_flag)
            .unwrap_or_else(|| panic!("a {lv} item"))
    };
    let uncatalogued = common::Item {
        med_list_codg: "XJ01CAA040A001010102699".to_owned(),
        pric_micro: 120_000_000,
        chrgitm_lv: String::new(),
        lmt_used_flag: false,
    };
    let lines = vec![
        fee_line(person, &mdtrt_id, "B1", 1, item("01"), 1),
        fee_line(person, &mdtrt_id, "B1", 2, item("02"), 1),
        fee_line(person, &mdtrt_id, "B1", 3, item("03"), 1),
        fee_line(person, &mdtrt_id, "B1", 4, &uncatalogued, 1),
    ];
    let output = app
        .ok(inst, "2204", &msgid(inst, 351), json!({"feedetail": lines}))
        .await;
    let result = output["result"].as_array().unwrap();
    assert_eq!(ratio_e4(&result[0]["selfpay_prop"]), 0, "{output}");
    let class_b = ratio_e4(&result[1]["selfpay_prop"]);
    assert!(class_b > 0 && class_b < 10_000, "{output}");
    for line in &result[2..] {
        assert_eq!(line["chrgitm_lv"], json!("03"), "{line}");
        assert_eq!(ratio_e4(&line["selfpay_prop"]), 10_000, "{line}");
        assert_eq!(
            line["fulamt_ownpay_amt"], line["det_item_fee_sumamt"],
            "{line}"
        );
    }
}

/// Issue 10: `mdtrtarea_admvs` is the calling institution's region: another region is refused
/// (nothing is stored as sent), an absent one is taken from the institution; `inf_refmsgid` is
/// that region, the receive time to the second and a 10-digit serial, 30 characters (§3).
async fn issue10_the_visit_region_is_the_institutions(app: &TestApp) {
    let inst = hospital(app, 10);
    let person = employee(app, 10);
    let other_region = if inst.admdvs == "110100" {
        "120100"
    } else {
        "110100"
    };
    let counts = app.row_counts().await;
    let input = vector_input(
        "request-2201",
        "data",
        &[
            ("psn_no", json!(person.psn_no)),
            ("insutype", json!(person.insutype)),
            ("begntime", json!(now_text())),
            ("mdtrt_cert_no", json!(person.certno)),
        ],
    );
    let path = yibao_server::infno::CALL_SERVICE_PATH;
    for (infno, input) in [
        ("2201", input.clone()),
        ("1101", json!({"data": {"certno": person.certno}})),
    ] {
        let mut envelope = app.envelope(inst, infno, &msgid(inst, 360), input);
        envelope["mdtrtarea_admvs"] = json!(other_region);
        let (_, answer) = app
            .post_raw(path, Some((inst, infno)), envelope.to_string())
            .await;
        assert_eq!(answer["infcode"], json!(-1), "{answer}");
        assert_eq!(
            answer["err_msg"],
            json!(format!(
                "mdtrtarea_admvs: `{other_region}` is not the region of institution {} ({})",
                inst.fixmedins_code, inst.admdvs
            ))
        );
    }
    assert_eq!(app.row_counts().await, counts);
    for (seq, sent) in [
        (361, Value::Null),
        (362, json!("")),
        (363, json!(inst.admdvs)),
    ] {
        let mut envelope = app.envelope(inst, "2201", &msgid(inst, seq), input.clone());
        envelope["mdtrtarea_admvs"] = sent;
        envelope["input"]["data"]["ipt_otp_no"] = json!(format!("OP{seq}"));
        let (_, answer) = app
            .post_raw(path, Some((inst, "2201")), envelope.to_string())
            .await;
        assert_eq!(answer["infcode"], json!(0), "{answer}");
        let refmsgid = answer["inf_refmsgid"].as_str().unwrap();
        let refmsg_time = answer["refmsg_time"].as_str().unwrap();
        assert_eq!(refmsgid.len(), 30, "{refmsgid}");
        assert_eq!(&refmsgid[..6], inst.admdvs, "{refmsgid}");
        assert_eq!(&refmsgid[6..20], &refmsg_time[..14], "{refmsgid}");
        assert!(refmsgid.bytes().all(|b| b.is_ascii_digit()), "{refmsgid}");
    }
}

/// Issue 10: 5206 answers `cum_type_code` in the national shape (`F0000_BIZ11` the medical
/// expenses of 普通门诊 visits, `C0000_BIZ11` their number, `D310101_BIZ11` the employees' pooling
/// fund, `D310201` the personal account, …) and `cum_ym` chooses a month: each row is one
/// month's accumulation, labelled with that month.
async fn issue10_5206_answers_national_codes_by_month(app: &TestApp) {
    let inst = hospital(app, 11);
    let person = employee(app, 11);
    let (_, settled, _) = settle_visit(app, inst, person, 370).await;
    let setlinfo = &settled["setlinfo"];
    let this_month = now_text()[..7].replace('-', "");
    let query = |seq: u32, cum_ym: Value| async move {
        app.ok(
            inst,
            "5206",
            &msgid(inst, seq),
            json!({"data": {"psn_no": person.psn_no, "cum_ym": cum_ym}}),
        )
        .await["cuminfo"]
            .as_array()
            .unwrap()
            .clone()
    };
    let by_code = |rows: &[Value]| -> std::collections::BTreeMap<String, i64> {
        rows.iter()
            .map(|row| {
                assert_eq!(row["insutype"], json!("310"), "{row}");
                assert_eq!(row["year"], json!(&this_month[..4]), "{row}");
                assert_eq!(row["cum_ym"], json!(this_month), "{row}");
                (
                    row["cum_type_code"].as_str().unwrap().to_owned(),
                    fen(&row["cum"]),
                )
            })
            .collect()
    };
    for (seq, cum_ym) in [(380, Value::Null), (381, json!(this_month))] {
        let rows = by_code(&query(seq, cum_ym).await);
        assert_eq!(
            rows["F0000_BIZ11"],
            fen(&setlinfo["medfee_sumamt"]),
            "{rows:?}"
        );
        assert_eq!(rows["C0000_BIZ11"], 100, "{rows:?}");
        let expected = [
            ("D310101_BIZ11", "hifp_pay"),
            ("Q0000_BIZ11", "act_pay_dedc"),
            ("D310201", "acct_pay"),
        ];
        for (code, field) in expected {
            let amount = fen(&setlinfo[field]);
            assert_eq!(
                rows.get(code).copied().unwrap_or(0),
                amount,
                "{code}: {rows:?}"
            );
        }
        assert!(rows.values().all(|cum| *cum != 0), "{rows:?}");
    }
    // A month without settlements has nothing to report.
    let year: i32 = this_month[..4].parse().unwrap();
    let month: u32 = this_month[4..].parse().unwrap();
    let other_month = if month == 1 {
        format!("{}12", year - 1)
    } else {
        format!("{year}{:02}", month - 1)
    };
    assert_eq!(query(382, json!(other_month)).await, Vec::<Value>::new());
    let msg = app
        .refused(
            inst,
            "5206",
            &msgid(inst, 383),
            json!({"data": {"psn_no": person.psn_no, "cum_ym": "202613"}}),
        )
        .await;
    assert_eq!(msg, "input.data.cum_ym: `202613` is not yyyyMM");
}

/// Issue 10: 2203A's maternity fields (生育类别, 计划生育手术类别 and date, 孕周数, 胎次, 胎儿数,
/// 早产 / 晚育 / 并发症 flags, 计划生育服务证号) are checked field by field and kept with the visit,
/// where the settlement can read them; a resend replaces them.
async fn issue10_2203a_maternity_fields_are_kept_with_the_visit(app: &TestApp) {
    let inst = hospital(app, 12);
    let person = employee(app, 12);
    let mdtrt_id = register(app, inst, person, 390).await;
    let today = &now_text()[..10];
    let visit = |fields: &[(&str, Value)]| {
        let mut input = vector("request-2203A")["input"].clone();
        input["mdtrtinfo"]["mdtrt_id"] = json!(mdtrt_id);
        input["mdtrtinfo"]["psn_no"] = json!(person.psn_no);
        input["mdtrtinfo"]["begntime"] = json!(today);
        input["mdtrtinfo"]["med_type"] = json!("51");
        input["diseinfo"]["diag_time"] = json!(today);
        for (key, value) in fields {
            input["mdtrtinfo"][*key] = value.clone();
        }
        input
    };
    let counts = app.row_counts().await;
    let refusals = [
        (
            "matn_type",
            json!("8"),
            "`8` is not one of 1, 2, 3, 4, 5, 6, 7, 9",
        ),
        (
            "birctrl_type",
            json!("0"),
            "`0` is not one of 1, 2, 3, 4, 5, 6, 7, 8, 9",
        ),
        ("geso_val", json!("100"), "is out of range"),
        ("fetts", json!("0"), "must be at least 1"),
        ("fetus_cnt", json!("-1"), "must not be negative"),
        ("pret_flag", json!("3"), "is not 0 or 1"),
        (
            "birctrl_matn_date",
            json!("2022-13-01"),
            "`2022-13-01` is not a date yyyy-MM-dd",
        ),
    ];
    for (seq, (field, value, reason)) in (391..).zip(refusals) {
        let msg = app
            .refused(inst, "2203A", &msgid(inst, seq), visit(&[(field, value)]))
            .await;
        assert_eq!(msg, format!("input.mdtrtinfo.{field}: {reason}"));
    }
    assert_eq!(app.row_counts().await, counts);
    assert_eq!(app.store.visit_maternity(&mdtrt_id).await.unwrap(), None);

    let sent = visit(&[
        ("matn_type", json!("3")),
        ("geso_val", json!("39")),
        ("fetts", json!(2)),
        ("fetus_cnt", json!("1")),
        ("pret_flag", json!("0")),
        ("latechb_flag", json!("1")),
        ("cop_flag", json!("0")),
        ("birctrl_type", json!("")),
        ("birctrl_matn_date", json!(today)),
        ("fpsc_no", json!("FP-2026-0001")),
    ]);
    assert_eq!(
        app.ok(inst, "2203A", &msgid(inst, 400), sent).await,
        Value::Null
    );
    let kept = app
        .store
        .visit_maternity(&mdtrt_id)
        .await
        .unwrap()
        .expect("the maternity facts are kept");
    assert_eq!(
        kept,
        yibao_store::Maternity {
            matn_type: Some("3".to_owned()),
            birctrl_type: None,
            birctrl_matn_date: Some(today.parse().unwrap()),
            geso_val: Some(39),
            fetts: Some(2),
            fetus_cnt: Some(1),
            pret_flag: Some(false),
            latechb_flag: Some(true),
            cop_flag: Some(false),
            fpsc_no: Some("FP-2026-0001".to_owned()),
        }
    );
    // A resend replaces them; one without any leaves the visit without maternity facts.
    let resent = visit(&[("birctrl_type", json!("3")), ("geso_val", json!(""))]);
    app.ok(inst, "2203A", &msgid(inst, 401), resent).await;
    let kept = app.store.visit_maternity(&mdtrt_id).await.unwrap().unwrap();
    assert_eq!(kept.birctrl_type.as_deref(), Some("3"));
    assert_eq!((kept.matn_type, kept.geso_val), (None, None));
    let mut plain = visit(&[("geso_val", json!(""))]);
    plain["mdtrtinfo"]["med_type"] = json!("11");
    app.ok(inst, "2203A", &msgid(inst, 402), plain).await;
    assert_eq!(app.store.visit_maternity(&mdtrt_id).await.unwrap(), None);
}
