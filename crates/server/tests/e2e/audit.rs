//! Issue 12: 3101/3102 checks and 3103 dispositions over HTTP, with knowledge entries taken
//! from the shipped knowledge base (not written out here), on a real server.

use serde_json::{json, Value};

use crate::common::{msgid, now_text, Person, TestApp};
use crate::{fee_line, fen, hospital, register, settle_input};

/// The registry's sex of a person (`1` or `2`).
async fn registry_gend(app: &TestApp, person: &Person) -> String {
    app.store
        .person_info(&person.psn_no)
        .await
        .expect("person")
        .base
        .gend
}

/// A person of the sample whose registry sex is `gend`.
async fn person_of_sex<'a>(app: &'a TestApp, gend: &str, skip: usize) -> &'a Person {
    let mut found = 0;
    for person in &app.persons {
        if registry_gend(app, person).await == gend {
            if found == skip {
                return person;
            }
            found += 1;
        }
    }
    panic!("no person of sex {gend}")
}

fn today() -> String {
    now_text()[..10].to_owned()
}

/// One order of `fsi_order_dtos`.
fn order(rx_id: &str, code: &str, cnt: &str, sumamt: &str) -> Value {
    json!({
        "rx_id": rx_id, "rxno": rx_id, "long_drord_flag": "0", "hilist_type": "101",
        "chrg_type": "09", "drord_bhvr": "0", "hilist_code": code, "hilist_name": code,
        "hilist_lv": "01", "hilist_pric": sumamt, "hosplist_code": code, "hosplist_name": code,
        "cnt": cnt, "pric": sumamt, "sumamt": sumamt, "ownpay_amt": "0", "selfpay_amt": "0",
        "spec": "", "spec_unt": "盒", "drord_begn_date": format!("{} 09:00:00", today()),
        "drord_dept_codg": "A01", "drord_dept_name": "内科", "drord_dr_codg": "D001",
        "drord_dr_name": "医生", "drord_dr_profttl": "1", "curr_drord_flag": "1"
    })
}

/// A 3101/3102 `input` for one patient and one encounter at `medins_id` with `orders`.
fn check_input(
    person: &Person,
    gend: &str,
    mdtrt_id: &str,
    medins_id: &str,
    orders: Vec<Value>,
) -> Value {
    let day = today();
    let encounter = json!({
        "mdtrt_id": mdtrt_id, "medins_id": medins_id, "medins_name": "医院",
        "medins_admdvs": "140500", "medins_type": "1", "medins_lv": "3",
        "adm_date": format!("{day} 08:00:00"), "dscg_date": format!("{day} 18:00:00"),
        "dscg_main_dise_codg": "J06.900", "dscg_main_dise_name": "上呼吸道感染",
        "dr_codg": "D001", "adm_dept_codg": "A01", "adm_dept_name": "内科",
        "dscg_dept_codg": "A01", "dscg_dept_name": "内科", "med_mdtrt_type": "1",
        "med_type": "11", "matn_stas": "0", "medfee_sumamt": "0", "ownpay_amt": "0",
        "selfpay_amt": "0", "setl_totlnum": "0", "insutype": person.insutype,
        "reim_flag": "0", "out_setl_flag": "0",
        "fsi_order_dtos": orders
    });
    let mut encounter = encounter;
    encounter["fsi_diagnose_dtos"] = json!([{
        "dise_id": "1", "inout_dise_type": "1", "maindise_flag": "1", "dias_srt_no": "1",
        "dise_codg": "J06.900", "dise_name": "上呼吸道感染", "dise_date": format!("{day} 08:00:00")
    }]);
    let patient = json!({
        "patn_id": person.psn_no, "patn_name": "患者", "gend": gend, "brdy": "1980-01-01",
        "poolarea": "140500", "curr_mdtrt_id": mdtrt_id, "fsi_encounter_dtos": [encounter]
    });
    json!({"data": {
        "syscode": "HIS", "task_id": format!("T-{mdtrt_id}"), "trig_scen": "2",
        "patient_dtos": [patient]
    }})
}

fn count(counts: &[(&'static str, i64)], table: &str) -> i64 {
    counts
        .iter()
        .find(|(name, _)| *name == table)
        .map(|(_, n)| *n)
        .unwrap_or_else(|| panic!("no table {table}"))
}

/// 3101: a female-only item ordered for a man (the registry's sex counts, not the request's)
/// is flagged on its line with the rule's severity; the same item for a woman and another item
/// for the man are silent; a retry answers the same `jr_id`; 3103 records the answer once.
pub async fn issue12_3101_flags_a_planted_order_and_3103_answers_it(app: &TestApp) {
    let base = yibao_audit::builtin().expect("shipped rules");
    let female_only = base
        .knowledge
        .sex_limit
        .iter()
        .find(|entry| entry.gend == yibao_audit::Gend::Female && entry.scope.admdvs.is_none())
        .expect("a female-only item");
    let code = female_only.med_list_codg.as_str();
    let inst = hospital(app, 0);
    let man = person_of_sex(app, "1", 0).await;
    let woman = person_of_sex(app, "2", 0).await;

    // The request claims the man is a woman: the registry wins.
    let input = check_input(
        man,
        "2",
        "E-1",
        &inst.fixmedins_code,
        vec![order("RX-1", code, "1", "35.00")],
    );
    let before = app.row_counts().await;
    let first_msgid = msgid(inst, 3001);
    let output = app.ok(inst, "3101", &first_msgid, input.clone()).await;
    let results = output["result"].as_array().expect("result[]");
    let hit = results
        .iter()
        .find(|r| {
            base.rules.rules.iter().any(|rule| {
                rule.rule_id == r["rule_id"]
                    && rule.knowledge.iter().any(|t| t.name() == "sex_limit")
            })
        })
        .unwrap_or_else(|| panic!("no sex-limit finding in {output}"));
    assert_eq!(hit["patn_id"], json!(man.psn_no));
    assert_eq!(hit["mdtrt_id"], json!("E-1"));
    assert_eq!(hit["sev_deg"], json!("1"));
    assert_eq!(hit["vola_amt"], json!(35.0));
    assert_eq!(hit["task_id"], json!("T-E-1"));
    assert!(hit["vola_cont"].as_str().unwrap().contains('【'), "{hit}");
    let details = hit["judge_result_detail_dtos"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{hit}");
    assert_eq!(details[0]["rx_id"], json!("RX-1"));
    assert_eq!(details[0]["vola_item_type"], json!("1"));
    let after = app.row_counts().await;
    assert_eq!(
        count(&after, "audit_finding"),
        count(&before, "audit_finding") + results.len() as i64
    );

    // A retry of the same message answers the same findings and records nothing more.
    let again = app.ok(inst, "3101", &first_msgid, input).await;
    assert_eq!(again, output);
    assert_eq!(app.row_counts().await, after);

    // Clean: the same item for a woman; another item (not sex-limited) for the man.
    let clean_woman = check_input(
        woman,
        "2",
        "E-2",
        &inst.fixmedins_code,
        vec![order("RX-2", code, "1", "35.00")],
    );
    let output = app.ok(inst, "3101", &msgid(inst, 3002), clean_woman).await;
    assert!(
        !output["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule_id"] == hit["rule_id"]),
        "{output}"
    );

    // 3103: continuing needs a reason; a refusal writes nothing.
    let jr_id = hit["jr_id"].as_str().unwrap();
    let no_reason = json!({"data": {"warn_type": "1", "warns": [
        {"warn_rslt_id": jr_id, "dspo_way": "1"}
    ]}});
    let counts = app.row_counts().await;
    let err = app
        .refused(inst, "3103", &msgid(inst, 3003), no_reason)
        .await;
    assert!(err.contains("input.data.warns[0].dspo_way_rea"), "{err}");
    // The wrong type, an unknown id and another institution's warning are refused too.
    let wrong_type = json!({"data": {"warn_type": "2", "warns": [
        {"warn_rslt_id": jr_id, "dspo_way": "2"}
    ]}});
    let err = app
        .refused(inst, "3103", &msgid(inst, 3004), wrong_type)
        .await;
    assert!(err.contains("warn_type"), "{err}");
    let unknown = json!({"data": {"warn_type": "1", "warns": [
        {"warn_rslt_id": "J-NOT-OURS", "dspo_way": "2"}
    ]}});
    let err = app.refused(inst, "3103", &msgid(inst, 3005), unknown).await;
    assert!(err.contains("warns[0].warn_rslt_id"), "{err}");
    let other = hospital(app, 1);
    let theirs = json!({"data": {"warn_type": "1", "warns": [
        {"warn_rslt_id": jr_id, "dspo_way": "2"}
    ]}});
    let err = app
        .refused(other, "3103", &msgid(other, 3006), theirs)
        .await;
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(app.row_counts().await, counts);

    let answer = json!({"data": {"warn_type": "1", "warns": [
        {"warn_rslt_id": jr_id, "dspo_way": "1", "dspo_way_rea": "患者确有临床需要，已告知"}
    ]}});
    let output = app
        .ok(inst, "3103", &msgid(inst, 3007), answer.clone())
        .await;
    assert_eq!(output, Value::Null);
    assert_eq!(
        count(&app.row_counts().await, "audit_disposition"),
        count(&counts, "audit_disposition") + 1
    );
    // Answered once: a second answer under a new message is refused.
    let err = app.refused(inst, "3103", &msgid(inst, 3008), answer).await;
    assert!(err.contains("already answered"), "{err}");
}

/// 3102 reads the history we hold: an item uploaded by 2204 today and its excluded partner
/// ordered today in another encounter make one pair finding naming both lines, the request's
/// line as the violating one.
pub async fn issue12_3102_pairs_with_lines_we_hold(app: &TestApp) {
    let base = yibao_audit::builtin().expect("shipped rules");
    let pair = base
        .knowledge
        .exclusive_pair
        .iter()
        .find(|entry| {
            entry.within == yibao_audit::Window::Day
                && entry.scope.admdvs.is_none()
                && app
                    .items
                    .iter()
                    .any(|i| i.med_list_codg == entry.med_list_codg_a)
        })
        .expect("a same-day pair whose first item the catalogue prices");
    let item_a = app
        .items
        .iter()
        .find(|i| i.med_list_codg == pair.med_list_codg_a)
        .unwrap();
    let inst = hospital(app, 0);
    let person = person_of_sex(app, "1", 1).await;
    let mdtrt_id = register(app, inst, person, 3100).await;
    let line = fee_line(person, &mdtrt_id, "B1", 1, item_a, 1);
    app.ok(
        inst,
        "2204",
        &msgid(inst, 3101),
        json!({"feedetail": [line]}),
    )
    .await;

    let mut input = check_input(
        person,
        "1",
        "E-PAIR",
        &inst.fixmedins_code,
        vec![order("RX-B", &pair.med_list_codg_b, "1", "20.00")],
    );
    input["data"]["trig_scen"] = json!("7");
    let output = app.ok(inst, "3102", &msgid(inst, 3102), input).await;
    let hit = output["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["judge_result_detail_dtos"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["mdtrt_id"] == json!(mdtrt_id))
        })
        .unwrap_or_else(|| panic!("no finding naming the held line: {output}"));
    let details = hit["judge_result_detail_dtos"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{hit}");
    let held = details
        .iter()
        .find(|d| d["mdtrt_id"] == json!(mdtrt_id))
        .unwrap();
    assert_eq!(held["feedetl_sn"], json!("1"), "{hit}");
    let ours = details
        .iter()
        .find(|d| d["mdtrt_id"] == json!("E-PAIR"))
        .unwrap();
    assert_eq!(ours["rx_id"], json!("RX-B"));
    assert_ne!(held["vola_item_type"], ours["vola_item_type"], "{hit}");
}

/// A change to a request.
type Edit = Box<dyn Fn(&mut Value)>;

/// Malformed checks are refused field by field and write nothing.
pub async fn issue12_malformed_checks_are_refused_by_field(app: &TestApp) {
    let inst = hospital(app, 0);
    let person = &app.persons[0];
    let good = check_input(
        person,
        "1",
        "E-BAD",
        &inst.fixmedins_code,
        vec![order("RX-1", "XL02BG0561", "1", "1.00")],
    );
    let before = app.row_counts().await;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "input.data.patient_dtos[0].gend",
            Box::new(|v| v["data"]["patient_dtos"][0]["gend"] = json!("X")),
        ),
        (
            "input.data.patient_dtos[0].brdy",
            Box::new(|v| v["data"]["patient_dtos"][0]["brdy"] = json!("1980-13-01")),
        ),
        (
            "input.data.patient_dtos[0].curr_mdtrt_id",
            Box::new(|v| v["data"]["patient_dtos"][0]["curr_mdtrt_id"] = json!("E-OTHER")),
        ),
        (
            "input.data.trig_scen",
            Box::new(|v| v["data"]["trig_scen"] = json!("11")),
        ),
        (
            "input.data.trig_scen",
            Box::new(|v| v["data"]["trig_scen"] = Value::Null),
        ),
        (
            "input.data.rule_ids[0]",
            Box::new(|v| v["data"]["rule_ids"] = json!(["NO-SUCH-RULE"])),
        ),
        (
            "input.data.patient_dtos",
            Box::new(|v| v["data"]["patient_dtos"] = json!([])),
        ),
        (
            "input.data.patient_dtos[0].fsi_encounter_dtos[0].medins_id",
            Box::new(|v| {
                v["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["medins_id"] =
                    json!("H-NOWHERE")
            }),
        ),
        (
            "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].cnt",
            Box::new(|v| {
                v["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]["cnt"] =
                    json!("many")
            }),
        ),
        (
            "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].drord_begn_date",
            Box::new(|v| {
                v["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("drord_begn_date");
            }),
        ),
        (
            "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_diagnose_dtos[0].dise_codg",
            Box::new(|v| {
                v["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_diagnose_dtos"][0]
                    ["dise_codg"] = json!("")
            }),
        ),
    ];
    for (seq, (field, edit)) in cases.iter().enumerate() {
        let mut input = good.clone();
        edit(&mut input);
        let answer = app
            .call(inst, "3102", &msgid(inst, 3200 + seq as u32), input)
            .await;
        assert_eq!(answer["infcode"], json!(-1), "expected {field}: {answer}");
        let err = answer["err_msg"].as_str().unwrap();
        assert!(err.contains(field), "expected {field}: {err}");
    }
    // An encounter sent twice.
    let mut twice = good.clone();
    let encounter = twice["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0].clone();
    twice["data"]["patient_dtos"][0]["fsi_encounter_dtos"] = json!([encounter.clone(), encounter]);
    let err = app.refused(inst, "3101", &msgid(inst, 3299), twice).await;
    assert!(
        err.contains("input.data.patient_dtos[0].fsi_encounter_dtos[1].mdtrt_id"),
        "{err}"
    );
    assert_eq!(app.row_counts().await, before);
}

/// A man's visit with a female-only line and an ordinary one, uploaded and settled
/// (2201 → 2204 → 2206A → 2207A). Under a refusing region both settlement calls are refused,
/// naming the visit and the rule, and write nothing; under a warning region the visit settles and
/// its findings are recorded.
pub async fn settlement_with_a_planted_line(app: &TestApp, refusing: bool) {
    let base = yibao_audit::builtin().expect("shipped rules");
    let (entry, item) = base
        .knowledge
        .sex_limit
        .iter()
        .filter(|entry| entry.gend == yibao_audit::Gend::Female && entry.scope.admdvs.is_none())
        .find_map(|entry| {
            app.items
                .iter()
                .find(|item| item.med_list_codg == entry.med_list_codg)
                .map(|item| (entry, item))
        })
        .expect("a female-only item the catalogue prices");
    let ordinary = app
        .items
        .iter()
        .find(|item| !base.knowledge.items.contains_key(&item.med_list_codg))
        .expect("an item no knowledge names");
    let inst = hospital(app, 0);
    let man = person_of_sex(app, "1", 2).await;
    let mdtrt_id = register(app, inst, man, 3400).await;
    let lines = vec![
        fee_line(man, &mdtrt_id, "B1", 1, item, 1),
        fee_line(man, &mdtrt_id, "B1", 2, ordinary, 1),
    ];
    let uploaded = app
        .ok(
            inst,
            "2204",
            &msgid(inst, 3401),
            json!({"feedetail": lines}),
        )
        .await;
    let total: i64 = uploaded["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| fen(&row["det_item_fee_sumamt"]))
        .sum();
    let before = app.row_counts().await;
    let pre = app
        .call(
            inst,
            "2206A",
            &msgid(inst, 3402),
            settle_input("request-2206A", man, &mdtrt_id, "B1", total),
        )
        .await;
    if refusing {
        assert_eq!(pre["infcode"], json!(-1), "{pre}");
        let err = pre["err_msg"].as_str().unwrap();
        assert!(err.starts_with("input.data.mdtrt_id"), "{err}");
        assert!(
            err.contains(&entry.med_list_codg) || err.contains('【'),
            "{err}"
        );
        let settle = app
            .refused(
                inst,
                "2207A",
                &msgid(inst, 3403),
                settle_input("request-2207A", man, &mdtrt_id, "B1", total),
            )
            .await;
        assert!(settle.contains("智能审核"), "{settle}");
        assert_eq!(app.row_counts().await, before);
        return;
    }
    assert_eq!(pre["infcode"], json!(0), "{pre}");
    // A pre-settlement under a warning region records nothing.
    assert_eq!(
        count(&app.row_counts().await, "audit_finding"),
        count(&before, "audit_finding")
    );
    let mut input = settle_input("request-2207A", man, &mdtrt_id, "B1", total);
    for field in [
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
    ] {
        input["data"][field] = pre["output"]["setlinfo"][field].clone();
    }
    let settled = app.ok(inst, "2207A", &msgid(inst, 3404), input).await;
    assert!(settled["setlinfo"]["setl_id"].as_str().is_some());
    let after = app.row_counts().await;
    assert!(
        count(&after, "audit_finding") > count(&before, "audit_finding"),
        "the settlement recorded no finding"
    );
    assert!(count(&after, "audit_finding_line") > count(&before, "audit_finding_line"));
}

/// The default region warns: see [`settlement_with_a_planted_line`].
pub async fn issue12_a_warning_region_settles_and_records_the_findings(app: &TestApp) {
    settlement_with_a_planted_line(app, false).await;
}
