//! Issue 14, item 3, end to end: a settlement list's quality checks answered by 4101A, its
//! status changed by 4102 (submit, withdraw; never 2 or 3 by a hospital), read by 4104 (only the
//! institution's own), and the month's deadline for corrections and status changes. Run by
//! `main.rs`'s `on_both_databases!`.

use super::*;

/// A 4101A input for the settlement without `act_ipt_days` (the stay is the dates'), with the
/// attending physician's code or without it.
fn list_input(person: &Person, mdtrt_id: &str, setl_id: &str, chfpdr: bool) -> Value {
    let mut input = setl_list_input(person, mdtrt_id, setl_id, &reference_case(1, None));
    input["setlinfo"]
        .as_object_mut()
        .unwrap()
        .remove("act_ipt_days");
    if !chfpdr {
        input["setlinfo"]["chfpdr_code"] = json!("");
    }
    input
}

/// The codes of the quality-check problems in a 4101A answer or a 4104 row.
fn problem_codes(node: &Value) -> Vec<String> {
    node["qltctrl_prob"]
        .as_array()
        .unwrap_or_else(|| panic!("qltctrl_prob: {node}"))
        .iter()
        .map(|p| p["qltctrl_code"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs one interface message through the store at a past time `at` (Beijing), parsed by the
/// server's own wire code: how a settlement of an earlier month comes about in a test.
async fn run_at(
    app: &TestApp,
    inst: &Institution,
    infno: &str,
    msgid: &str,
    input: Value,
    at: chrono::NaiveDateTime,
) -> Value {
    let body = app.envelope(inst, infno, msgid, input).to_string();
    let envelope = yibao_server::envelope::parse_request(body.as_bytes()).unwrap();
    let request = yibao_server::wire::input::request(&envelope).unwrap();
    let fingerprint = request.fingerprint(envelope.infno);
    let yibao_server::backend::Request::Write(command) = request else {
        panic!("{infno} is not a write");
    };
    let env = yibao_store::Envelope {
        fixmedins_code: inst.fixmedins_code.clone(),
        msgid: msgid.to_owned(),
        infno: infno.to_owned(),
        request_hash: fingerprint,
        mdtrtarea_admvs: inst.admdvs.clone(),
        now: at,
    };
    let render = |o: &yibao_store::Outcome| yibao_server::wire::output::render_stored(o);
    match app
        .store
        .execute(&env, *command, &render)
        .await
        .unwrap_or_else(|err| panic!("{infno} at {at}: {err}"))
    {
        yibao_store::Reply::Fresh { response, .. } => serde_json::from_str(&response).unwrap(),
        yibao_store::Reply::Replayed { .. } => panic!("{infno} replayed"),
    }
}

/// A day whose month's lists are closed today: the 15th of January when day 10 of February has
/// passed, else the 15th of June of the test city's policy year (its policies are in force then).
fn closed_month_day(region: &str) -> chrono::NaiveDate {
    use chrono::Datelike as _;
    let today = yibao_server::RequestClock::now().beijing.date();
    let january = chrono::NaiveDate::from_ymd_opt(today.year(), 1, 15).unwrap();
    if today > chrono::NaiveDate::from_ymd_opt(today.year(), 2, 10).unwrap() {
        return january;
    }
    let year = yibao_policy::builtin::BUILTIN_POLICY_FILES
        .iter()
        .filter_map(|(name, _)| {
            let stem = std::path::Path::new(name).file_stem()?.to_str()?;
            let (admdvs, year) = stem.split_once('-')?;
            (admdvs == region).then(|| year.parse::<i32>().ok())?
        })
        .min()
        .expect("a policy of the city's region");
    chrono::NaiveDate::from_ymd_opt(year, 6, 15).unwrap()
}

/// 2401 → 2301 → 2304 at `day` (through the store, at that time); returns (`mdtrt_id`,
/// `setl_id`).
async fn settle_inpatient_on(
    app: &TestApp,
    inst: &Institution,
    person: &Person,
    seq: u32,
    day: chrono::NaiveDate,
) -> (String, String) {
    let at = day.and_hms_opt(9, 0, 0).unwrap();
    let admitted_at = format!("{day} 00:00:01");
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
    let output = run_at(
        app,
        inst,
        "2401",
        &msgid(inst, seq),
        json!({"mdtrtinfo": admission, "diseinfo": diagnosis}),
        at,
    )
    .await;
    let mdtrt_id = output["result"]["mdtrt_id"].as_str().unwrap().to_owned();
    let item = &app.items[3];
    let mut line = fee_line(person, &mdtrt_id, "", 1, item, 2);
    line["med_type"] = json!("21");
    line["fee_ocur_time"] = json!(format!("{day} 08:00:00"));
    line.as_object_mut().unwrap().remove("chrg_bchno");
    let total = fen(&line["det_item_fee_sumamt"]
        .as_str()
        .unwrap()
        .parse::<Value>()
        .unwrap());
    run_at(
        app,
        inst,
        "2301",
        &msgid(inst, seq + 1),
        json!({"feedetail": [line]}),
        at,
    )
    .await;
    let settled = run_at(
        app,
        inst,
        "2304",
        &msgid(inst, seq + 2),
        json!({"data": {
            "psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
            "medfee_sumamt": yibao_server::wire::scalar::format_decimal(total, 2), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "insutype": person.insutype, "acct_used_flag": "0", "mid_setl_flag": "0",
            "insuplc_admdvs": app.region, "mdtrtarea_admvs": inst.admdvs
        }}),
        at,
    )
    .await;
    let setl_id = settled["setlinfo"]["setl_id"].as_str().unwrap().to_owned();
    (mdtrt_id, setl_id)
}

/// 4101A answers the checks; a failing list cannot be submitted; a corrected one is submitted,
/// replayed, read by 4104 and withdrawn; hostile and malformed 4102/4104 write nothing; another
/// hospital sees and changes nothing; a list of a closed month takes no correction or change.
pub(super) async fn issue14_settlement_list_status_and_quality_checks(app: &TestApp) {
    let inst = hospital(app, 9);
    let stranger = hospital(app, 10);
    let person = app
        .persons
        .iter()
        .filter(|p| p.insutype == "390")
        .nth(5)
        .expect("a resident");
    let (mdtrt_id, setl_id) = settle_inpatient(app, inst, person, 500).await;

    // Version 1 without the attending physician: stored, and its checks say why it fails.
    let v1 = app
        .ok(
            inst,
            "4101A",
            &msgid(inst, 510),
            list_input(person, &mdtrt_id, &setl_id, false),
        )
        .await;
    assert_eq!(v1["data"]["list_vers"], json!(1), "{v1}");
    assert!(v1["data"]["drg_code"].is_string(), "{v1}");
    assert_eq!(v1["qltctrlinfo"]["qltctrl_pass_flag"], json!("0"), "{v1}");
    assert!(
        problem_codes(&v1["qltctrlinfo"]).contains(&"QC09".to_owned()),
        "{v1}"
    );
    let v1_id = v1["data"]["setl_list_id"].as_str().unwrap().to_owned();

    // Refused 4102s write nothing, each naming its field.
    let counts = app.row_counts().await;
    let submit = |stas: Value| json!({"data": {"setl_id": setl_id, "stas_type": stas}});
    let msg = app
        .refused(inst, "4102", &msgid(inst, 511), submit(json!("1")))
        .await;
    assert!(
        msg.contains("input.data.stas_type") && msg.contains("QC09"),
        "{msg}"
    );
    for (n, (stas, expected)) in [
        (json!("2"), "set by the bureau"),
        (json!("3"), "set by the bureau"),
        (json!("9"), "is not a status"),
        (json!(""), "input.data.stas_type"),
        (json!({"x": 1}), "stas_type"),
        (json!(["1"]), "stas_type"),
    ]
    .into_iter()
    .enumerate()
    {
        let msg = app
            .refused(
                inst,
                "4102",
                &msgid(inst, 520 + n as u32),
                submit(stas.clone()),
            )
            .await;
        assert!(
            msg.contains("stas_type") && msg.contains(expected),
            "{stas}: {msg}"
        );
    }
    let msg = app
        .refused(
            inst,
            "4102",
            &msgid(inst, 530),
            json!({"data": {"stas_type": "1"}}),
        )
        .await;
    assert!(msg.contains("input.data.setl_list_id"), "{msg}");
    let msg = app
        .refused(
            inst,
            "4102",
            &msgid(inst, 531),
            json!({"data": {"setl_list_id": "L".repeat(5_000), "stas_type": "1"}}),
        )
        .await;
    assert!(msg.contains("input.data.setl_list_id"), "{msg}");
    // Another hospital's list does not exist for it, by either id.
    for (n, data) in [
        json!({"setl_id": setl_id, "stas_type": "1"}),
        json!({"setl_list_id": v1_id, "stas_type": "0"}),
    ]
    .into_iter()
    .enumerate()
    {
        let msg = app
            .refused(
                stranger,
                "4102",
                &msgid(stranger, 532 + n as u32),
                json!({ "data": data }),
            )
            .await;
        assert!(msg.contains("does not exist"), "{msg}");
    }
    // An oversized list is refused by its row limit.
    let mut oversized = list_input(person, &mdtrt_id, &setl_id, true);
    let row = oversized["diseinfo"][0].clone();
    oversized["diseinfo"] = json!(vec![row; 2_000]);
    let msg = app
        .refused(inst, "4101A", &msgid(inst, 534), oversized)
        .await;
    assert!(msg.contains("diseinfo"), "{msg}");
    assert_eq!(app.row_counts().await, counts);

    // Version 2 corrects it and passes; it is submitted, and a retry answers the same.
    let v2 = app
        .ok(
            inst,
            "4101A",
            &msgid(inst, 540),
            list_input(person, &mdtrt_id, &setl_id, true),
        )
        .await;
    assert_eq!(v2["data"]["list_vers"], json!(2));
    assert_eq!(v2["qltctrlinfo"]["qltctrl_pass_flag"], json!("1"), "{v2}");
    let v2_id = v2["data"]["setl_list_id"].as_str().unwrap().to_owned();
    let submit_msgid = msgid(inst, 541);
    let submitted = app
        .ok(inst, "4102", &submit_msgid, submit(json!("1")))
        .await;
    assert_eq!(
        submitted["data"]["setl_list_id"],
        json!(v2_id),
        "{submitted}"
    );
    assert_eq!(
        (
            &submitted["data"]["stas_type_old"],
            &submitted["data"]["stas_type"]
        ),
        (&json!("0"), &json!("1"))
    );
    let replay = app
        .ok(inst, "4102", &submit_msgid, submit(json!("1")))
        .await;
    assert_eq!(replay, submitted);
    let msg = app
        .refused(inst, "4102", &submit_msgid, submit(json!("0")))
        .await;
    assert!(msg.contains("msgid"), "{msg}");
    // A submitted list takes no correction.
    let msg = app
        .refused(
            inst,
            "4101A",
            &msgid(inst, 542),
            list_input(person, &mdtrt_id, &setl_id, true),
        )
        .await;
    assert!(msg.contains("withdraw it"), "{msg}");

    // 4104 through its per-service path: the latest version with its status and checks; an
    // older version by its id; nothing for another hospital; a bad page refused.
    let body = app
        .envelope(
            inst,
            "4104",
            &msgid(inst, 543),
            json!({"data": {"setl_id": setl_id}}),
        )
        .to_string();
    let (status, response) = app
        .post_raw(
            "/fsi/api/medinfoupload/queryQltctrlProblemPage",
            Some((inst, "4104")),
            body,
        )
        .await;
    assert_eq!(
        (status, &response["infcode"]),
        (200, &json!(0)),
        "{response}"
    );
    let rows = response["output"]["qltctrlinfo"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{response}");
    assert_eq!(rows[0]["setl_list_id"], json!(v2_id));
    assert_eq!(rows[0]["list_vers"], json!(2));
    assert_eq!(rows[0]["stas_type"], json!("1"));
    assert_eq!(rows[0]["qltctrl_pass_flag"], json!("1"));
    let first = app
        .ok(
            inst,
            "4104",
            &msgid(inst, 544),
            json!({"data": {"setl_list_id": v1_id}}),
        )
        .await;
    let rows = first["qltctrlinfo"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{first}");
    assert_eq!(rows[0]["qltctrl_pass_flag"], json!("0"));
    assert!(problem_codes(&rows[0]).contains(&"QC09".to_owned()));
    for (n, data) in [
        json!({"setl_id": setl_id}),
        json!({"setl_list_id": v1_id}),
        json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        let theirs = app
            .ok(
                stranger,
                "4104",
                &msgid(stranger, 545 + n as u32),
                json!({ "data": data }),
            )
            .await;
        let rows = theirs["qltctrlinfo"].as_array().unwrap();
        assert!(
            rows.iter().all(|row| row["setl_id"] != json!(setl_id)),
            "{theirs}"
        );
    }
    for (n, (data, field)) in [
        (json!(null), "input.data"),
        (json!({"page_size": "100000"}), "input.data.page_size"),
        (json!({"page_num": "0"}), "input.data.page_num"),
        (json!({"begndate": "2026-13-40"}), "begndate"),
        (
            json!({"begndate": "2026-03-02", "enddate": "2026-03-01"}),
            "input.data.enddate",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let msg = app
            .refused(
                inst,
                "4104",
                &msgid(inst, 550 + n as u32),
                json!({ "data": data }),
            )
            .await;
        assert!(msg.contains(field), "{data}: {msg}");
    }

    // Withdrawn, it is unsubmitted again.
    let withdrawn = app
        .ok(inst, "4102", &msgid(inst, 560), submit(json!("0")))
        .await;
    assert_eq!(withdrawn["data"]["stas_type"], json!("0"), "{withdrawn}");

    // A settlement of a closed month: its first list is taken, a correction and a status change
    // are refused naming the deadline.
    let day = closed_month_day(&app.region);
    let other = app
        .persons
        .iter()
        .filter(|p| p.insutype == "390")
        .nth(6)
        .expect("a second resident");
    let (old_mdtrt_id, old_setl_id) = settle_inpatient_on(app, inst, other, 570, day).await;
    let mut old_list = list_input(other, &old_mdtrt_id, &old_setl_id, true);
    for row in old_list["oprninfo"].as_array_mut().unwrap() {
        row["oprn_oprt_date"] = json!(day.to_string());
    }
    let first = app
        .ok(inst, "4101A", &msgid(inst, 580), old_list.clone())
        .await;
    assert_eq!(first["data"]["list_vers"], json!(1), "{first}");
    let deadline = {
        use chrono::Datelike as _;
        let (year, month) = match day.month() {
            12 => (day.year() + 1, 1),
            month => (day.year(), month + 1),
        };
        chrono::NaiveDate::from_ymd_opt(year, month, 10).unwrap()
    };
    let counts = app.row_counts().await;
    let msg = app
        .refused(inst, "4101A", &msgid(inst, 581), old_list)
        .await;
    assert!(
        msg.contains("input.setlinfo.setl_id") && msg.contains(&deadline.to_string()),
        "{msg}"
    );
    let msg = app
        .refused(
            inst,
            "4102",
            &msgid(inst, 582),
            json!({"data": {"setl_id": old_setl_id, "stas_type": "1"}}),
        )
        .await;
    assert!(msg.contains(&deadline.to_string()), "{msg}");
    assert_eq!(app.row_counts().await, counts);
    assert!(app.store.check_ledger().await.unwrap().is_balanced());
}
