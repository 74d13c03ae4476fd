//! The inpatient scenarios end to end: admission to discharge settlement with reconciliation,
//! and the settlement lists (4101A) grouped by CHS-DRG, versioned and private to their
//! institution. Run by `main.rs`'s `on_both_databases!`.

use super::*;

/// 2401 → 2403 → 2301 → 2402 → 2303 → 2304 → 3201 → 5206 → 2305 → 2405 → 2302 → 2404, each in
/// the §4 node shapes.
pub(super) async fn inpatient_chain_with_reconciliation(app: &TestApp) {
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

/// A reference case of the shipped CHS-DRG 1.1 scheme (`testcases.jsonl`) with its expected
/// group: the `n`-th grouped case that has a procedure and whose DRG differs from `other`.
pub(super) fn reference_case(n: usize, other: Option<&str>) -> Value {
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
pub(super) fn setl_list_input(
    person: &Person,
    mdtrt_id: &str,
    setl_id: &str,
    case: &Value,
) -> Value {
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
pub(super) async fn settle_inpatient(
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
pub(super) async fn settlement_lists_are_grouped_versioned_and_private(app: &TestApp) {
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
    // One msgid for the call and its retry below (msgid() reads the clock: a second later is a
    // new id, and the retry would file version 2).
    let first_msgid = msgid(inst, 415);
    let body = app
        .envelope(inst, "4101A", &first_msgid, input.clone())
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
    let replay = app.ok(inst, "4101A", &first_msgid, input).await;
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

    // Issue 13, 免申即享: a list whose diagnosis is in the region's chronic list proposes a
    // recognition (once); a reviewer's confirmation makes it one that 5301 answers.
    let principal = second["diagnoses"][0].as_str().unwrap();
    let chronic = yibao_enrollment::chronic::load_chronic_list(
        &format!(
            "{}\n{},TEST-C1,测试慢病,{}\n",
            yibao_enrollment::chronic::CHRONIC_HEADER,
            app.region,
            &principal[..3]
        ),
        "test.csv",
    )
    .unwrap();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap(), 0)
        .unwrap()
        .naive_utc();
    let today = now.date();
    let window = (today - chrono::Days::new(2), today + chrono::Days::new(2));
    let proposed = app
        .store
        .propose_chronic(window.0, window.1, &chronic, now)
        .await
        .unwrap();
    assert_eq!(proposed.chronic_proposals, 1, "{proposed:?}");
    let again = app
        .store
        .propose_chronic(window.0, window.1, &chronic, now)
        .await
        .unwrap();
    assert_eq!(again.chronic_proposals, 0, "{again:?}");
    let decisions = app.store.auto_decisions(&person.psn_no).await.unwrap();
    let proposal = decisions
        .iter()
        .find(|d| d.result_kind == "chronic_proposal")
        .expect("a proposal");
    assert!(
        proposal.source_ref.starts_with("setl_list:"),
        "{proposal:?}"
    );
    let reviewer = app
        .store
        .staff_create(
            &yibao_store::NewStaff {
                username: "chronic-reviewer".into(),
                password: "chronic-reviewer-password-1".into(),
                display_name: "审核".into(),
                roles: vec![yibao_store::Role::Reviewer],
                fixmedins_code: None,
                admdvs: app.region.clone(),
            },
            None,
            0,
        )
        .await
        .unwrap();
    let confirmed = app
        .store
        .confirm_auto_decision(proposal.decision_id, reviewer.staff_id, "病历核实", now)
        .await
        .unwrap();
    assert!(confirmed.confirmed.is_some());
    let twice = app
        .store
        .confirm_auto_decision(proposal.decision_id, reviewer.staff_id, "病历核实", now)
        .await;
    assert!(twice.is_err(), "{twice:?}");
    let recognitions = app
        .ok(
            inst,
            "5301",
            &msgid(inst, 430),
            json!({"data": {"psn_no": person.psn_no}}),
        )
        .await;
    let rows = recognitions["feedetail"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rows.iter().any(|r| r["opsp_dise_code"] == json!("TEST-C1")),
        "{recognitions}"
    );

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
