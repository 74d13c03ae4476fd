//! Issue 10's end-to-end scenarios: sign-ins (9001), 1101 by token and card, 5301, a revoke of a
//! lost message, `hosp_appr_flag`, rebuilt retries, the spec's §6 vectors, `selfpay_prop`, the
//! visit's region, 5206 by month and the 2203A maternity fields. Run by `main.rs`'s
//! `on_both_databases!` like every other scenario.

use super::*;

/// The person query of V6 (§6) for `person`.
pub(super) fn person_query(person: &Person) -> Value {
    json!({"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno, "psn_cert_type": "01",
        "certno": person.certno, "psn_name": "", "begntime": ""}})
}

/// Signs `inst` in (9001) and returns the sign_no.
pub(super) async fn sign_in(app: &TestApp, inst: &Institution, seq: u32) -> String {
    let input = json!({"signIn": {"opter_no": "123", "mac": "1", "ip": "1"}});
    let output = app.ok(inst, "9001", &msgid(inst, seq), input).await;
    output["signinoutb"]["sign_no"].as_str().unwrap().to_owned()
}

pub(super) async fn sign_in_required(app: &TestApp) {
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
pub(super) async fn issue10_calls_without_a_sign_in_are_counted(app: &TestApp) {
    let inst = hospital(app, 3);
    let person = employee(app, 4);
    let before = app.unsigned_calls(&inst.fixmedins_code);
    let timed_before = app.timed("1101");
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
    // The server timed each 1101 (and the sign-in under 9001).
    assert_eq!(app.timed("1101"), timed_before + 4);
    assert!(app.timed("9001") >= 1);
}

/// Issue 10: 1101 finds a person of the demo city by the e-voucher token (mdtrt_cert_type 01)
/// and the social security card (03) the city issued; an unknown token is refused naming
/// `mdtrt_cert_no`, a wrong `card_sn` naming `card_sn`.
pub(super) async fn issue10_1101_by_e_voucher_token_and_social_security_card(app: &TestApp) {
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
    // The token is a credential: the refusal names it by kind, never by value.
    assert_eq!(
        msg,
        "input.data.mdtrt_cert_no: the e-voucher token sent does not exist"
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
pub(super) async fn issue10_5301_lists_the_chronic_disease_recognitions(app: &TestApp) {
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
pub(super) async fn issue10_a_second_revoke_of_a_lost_message_is_refused(app: &TestApp) {
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

/// 2401 for `person` at `inst` (med_type 21); returns `mdtrt_id`.
pub(super) async fn admit(app: &TestApp, inst: &Institution, person: &Person, seq: u32) -> String {
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
pub(super) fn restricted_item(app: &TestApp) -> &common::Item {
    app.items
        .iter()
        .find(|item| item.lmt_used_flag)
        .expect("the demo catalogue has restricted items")
}

/// Issue 10: 2204 requires `hosp_appr_flag` on every line (a line without it is refused, naming
/// it); a 2301 line without it is not approved, so a restricted item is fully self-paid.
pub(super) async fn issue10_hosp_appr_flag_is_never_assumed(app: &TestApp) {
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
pub(super) fn rebuilt(value: &Value, numbers: bool) -> String {
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
pub(super) async fn issue10_a_rebuilt_retry_gets_the_stored_answer(app: &TestApp) {
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
pub(super) async fn replay(
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
pub(super) async fn replay_input(
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
pub(super) async fn open_vector_visit(
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

pub(super) fn accepted(name: &str, answer: &Value) -> Value {
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
pub(super) async fn issue10_spec_vectors_are_answered_as_the_real_platform_did(app: &TestApp) {
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
pub(super) fn ratio_e4(value: &Value) -> i64 {
    let text = value
        .as_number()
        .unwrap_or_else(|| panic!("not a number: {value}"))
        .to_string();
    yibao_server::wire::scalar::parse_decimal(&text, 4).unwrap()
}

/// Issue 10: in the 2204/2301 answer, `selfpay_prop` is 1 on a 丙类 line and on a line whose item
/// is not in the catalogue (spec §3A: 丙类 → `selfpay_prop 1`; §6 V3's answer for an item the
/// platform priced as fully self-paid); 乙类 keeps its catalogue ratio and 甲类 is 0.
pub(super) async fn issue10_selfpay_prop_is_1_on_class_c_and_uncatalogued_lines(app: &TestApp) {
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
pub(super) async fn issue10_the_visit_region_is_the_institutions(app: &TestApp) {
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
pub(super) async fn issue10_5206_answers_national_codes_by_month(app: &TestApp) {
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
pub(super) async fn issue10_2203a_maternity_fields_are_kept_with_the_visit(app: &TestApp) {
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
