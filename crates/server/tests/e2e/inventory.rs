//! Issue 16, item 4, end to end: a pharmacy's purchases (3503), sales with their traceability
//! codes (3505), a sale return (3506) and a deletion (3507) over the interface, stored so the
//! stock balances; replays answer the same; malformed records are refused naming the field and
//! write nothing. Run by `main.rs`'s `on_both_databases!`.

use super::*;

/// An active retail pharmacy of the city (a hospital when the city has none).
fn pharmacy(app: &TestApp) -> &Institution {
    app.institutions
        .iter()
        .find(|inst| inst.fixmedins_type == "2" && inst.active)
        .or_else(|| {
            app.institutions
                .iter()
                .find(|inst| inst.fixmedins_type == "1")
        })
        .expect("an institution")
}

fn drug(app: &TestApp) -> &common::Item {
    &app.items[0]
}

/// One 3503 `purcinfo` row of `cnt` units of the drug's batch `LOT1` under serial `bchno`.
fn purchase_row(app: &TestApp, bchno: &str, cnt: &str) -> Value {
    json!({
        "med_list_codg": drug(app).med_list_codg,
        "fixmedins_hilist_id": "YP0001",
        "fixmedins_hilist_name": "阿莫西林胶囊",
        "dynt_no": "",
        "fixmedins_bchno": bchno,
        "spler_name": "晋城医药有限公司",
        "spler_pmtno": "",
        "manu_lotnum": "LOT1",
        "prodentp_name": "",
        "aprvno": "国药准字H00000000",
        "manu_date": "2025-01-01",
        "expy_end": "2027-12-31",
        "finl_trns_pric": "12.5",
        "purc_retn_cnt": cnt,
        "purc_invo_codg": "",
        "purc_invo_no": "INV0001",
        "rx_flag": "1",
        "purc_retn_stoin_time": "2025-06-02 09:00:00",
        "purc_retn_opter_name": "采购员",
        "prod_geay_flag": "0",
        "memo": "",
        "drugtracinfo": [{"drug_trac_codg": "81000000000000000001"}]
    })
}

/// One 3505/3506 `selinfo` row of `cnt` units under serial `bchno`, sold to `psn_no`.
fn sale_row(app: &TestApp, bchno: &str, cnt: &str, psn_no: &str, codes: &[&str]) -> Value {
    json!({
        "med_list_codg": drug(app).med_list_codg,
        "fixmedins_hilist_id": "YP0001",
        "fixmedins_hilist_name": "阿莫西林胶囊",
        "fixmedins_bchno": bchno,
        "prsc_dr_name": "医师乙",
        "hi_feesetl_type": "1",
        "setl_id": "",
        "mdtrt_sn": "MS0001",
        "psn_no": psn_no,
        "psn_cert_type": "01",
        "certno": "",
        "psn_name": "",
        "manu_lotnum": "LOT1",
        "manu_date": "2025-01-01",
        "expy_end": "2027-12-31",
        "rx_flag": "1",
        "trdn_flag": "0",
        "finl_trns_pric": 12.5,
        "rxno": "RX0001",
        "rx_circ_flag": "0",
        "rtal_docno": "RD0001",
        "sel_retn_cnt": cnt,
        "sel_retn_time": "2025-06-03 10:00:00",
        "sel_retn_opter_name": "药师甲",
        "mdtrt_setl_type": "1",
        "drugtracinfo": codes.iter().map(|c| json!({"drug_trac_codg": c})).collect::<Vec<_>>()
    })
}

pub async fn issue16_pharmacy_inventory_3503_to_3507(app: &TestApp) {
    let inst = pharmacy(app);
    let person = &app.persons[0];
    let code = drug(app).med_list_codg.clone();
    let stored = |output: &Value| output["result"]["rec_cnt"].as_u64().unwrap();

    // Two purchases in one message (an array), then a sale of 3 with its three codes.
    let purchases =
        json!({"purcinfo": [purchase_row(app, "PB1", "20"), purchase_row(app, "PB2", "10")]});
    let first = app
        .ok(inst, "3503", &msgid(inst, 1), purchases.clone())
        .await;
    assert_eq!(first["result"]["retRslt"], json!("1"), "{first}");
    assert_eq!(stored(&first), 2);
    // A replay answers the same and writes nothing.
    let counts = app.row_counts().await;
    let again = app.ok(inst, "3503", &msgid(inst, 1), purchases).await;
    assert_eq!(again, first);
    assert_eq!(app.row_counts().await, counts);
    let sale =
        json!({"selinfo": sale_row(app, "SX1", "3", &person.psn_no, &["C01", "C02", "C03"])});
    assert_eq!(
        stored(&app.ok(inst, "3505", &msgid(inst, 2), sale).await),
        1
    );
    // A sale return of 1 (its codes beside the single record, as some clients send them).
    let mut back = sale_row(app, "SX1", "1", &person.psn_no, &[]);
    back.as_object_mut().unwrap().remove("drugtracinfo");
    back["sel_retn_time"] = json!("2025-06-04 10:00:00");
    let output = app
        .ok(
            inst,
            "3506",
            &msgid(inst, 3),
            json!({"selinfo": back, "drugtracinfo": [{"drug_trac_codg": "C03"}]}),
        )
        .await;
    assert_eq!(stored(&output), 1);
    let at = chrono::NaiveDate::from_ymd_opt(2025, 6, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let balance = |balances: Vec<yibao_store::inventory::StockBalance>| {
        assert_eq!(balances.len(), 1, "{balances:?}");
        balances[0].balance
    };
    let units = yibao_core_types::Quantity::units;
    assert_eq!(
        balance(
            app.store
                .stock_balances(&inst.fixmedins_code, Some(&code), at)
                .await
                .unwrap()
        ),
        units(30 - 3 + 1)
    );
    // Returning more than was sold is refused, naming the field, and writes nothing.
    let counts = app.row_counts().await;
    let mut too_many = sale_row(app, "SX1", "3", &person.psn_no, &[]);
    too_many["sel_retn_time"] = json!("2025-06-05 10:00:00");
    let msg = app
        .refused(inst, "3506", &msgid(inst, 4), json!({"selinfo": too_many}))
        .await;
    assert!(msg.starts_with("input.selinfo[0].sel_retn_cnt: "), "{msg}");
    assert_eq!(app.row_counts().await, counts);
    // 3507 deletes the purchase PB2: a cancellation, the record kept.
    let output = app
        .ok(
            inst,
            "3507",
            &msgid(inst, 5),
            json!({"data": {"fixmedins_bchno": "PB2", "inv_data_type": "3"}}),
        )
        .await;
    assert_eq!(stored(&output), 1);
    assert_eq!(
        balance(
            app.store
                .stock_balances(&inst.fixmedins_code, Some(&code), at)
                .await
                .unwrap()
        ),
        units(20 - 3 + 1)
    );
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
    let movements = app
        .store
        .inventory_movements(&inst.fixmedins_code, day(1), day(30))
        .await
        .unwrap();
    assert_eq!(movements.len(), 4, "{movements:?}");
    assert_eq!(
        movements
            .iter()
            .filter(|m| m.cancelled_by.is_some())
            .map(|m| m.fixmedins_bchno.as_str())
            .collect::<Vec<_>>(),
        vec!["PB2"]
    );
    let sold = movements
        .iter()
        .find(|m| m.kind == yibao_store::inventory::InventoryKind::Sale)
        .unwrap();
    assert_eq!(sold.trace_codes, vec!["C01", "C02", "C03"]);
    assert_eq!(sold.psn_no.as_deref(), Some(person.psn_no.as_str()));
    // 3502: two units of the purchase PB1 written off (报损), its batch number taken from the
    // purchase; then 3501 counts the 16 left at the close of the month.
    let change = json!({"invinfo": {
        "med_list_codg": code, "inv_chg_type": "105", "fixmedins_hilist_id": "YP0001",
        "fixmedins_hilist_name": "阿莫西林胶囊", "fixmedins_bchno": "PB1", "pric": "12.5",
        "cnt": 2, "rx_flag": "1", "inv_chg_time": "2025-06-10 16:00:00",
        "inv_chg_opter_name": "药师甲", "memo": "", "trdn_flag": "0"
    }});
    assert_eq!(
        stored(&app.ok(inst, "3502", &msgid(inst, 7), change).await),
        1
    );
    assert_eq!(
        balance(
            app.store
                .stock_balances(&inst.fixmedins_code, Some(&code), at)
                .await
                .unwrap()
        ),
        units(20 - 3 + 1 - 2)
    );
    let count = json!({"invinfo": [{
        "med_list_codg": code, "fixmedins_hilist_id": "YP0001", "fixmedins_hilist_name": "阿莫西林胶囊",
        "rx_flag": "1", "invdate": "2025-06-29", "inv_cnt": "16", "manu_lotnum": "LOT1",
        "fixmedins_bchno": "PB1", "manu_date": "2025-01-01", "expy_end": "2027-12-31", "memo": "",
        "drugtracinfo": []
    }]});
    assert_eq!(
        stored(&app.ok(inst, "3501", &msgid(inst, 8), count).await),
        1
    );
    let counted = app
        .store
        .stock_balances(&inst.fixmedins_code, Some(&code), at)
        .await
        .unwrap();
    assert_eq!(counted[0].stocktake, Some(units(16)), "{counted:?}");
    assert_eq!(counted[0].sold, units(0), "{counted:?}");
    assert_eq!(counted[0].balance, units(16), "{counted:?}");
    // Another institution sells code C01 again: found as sold twice.
    let other = app
        .institutions
        .iter()
        .find(|i| i.fixmedins_code != inst.fixmedins_code && i.active)
        .unwrap();
    let resale = json!({"selinfo": sale_row(app, "SY1", "1", "", &["C01"])});
    app.ok(other, "3505", &msgid(other, 6), resale).await;
    let twice = app.store.trace_codes_sold_twice().await.unwrap();
    assert_eq!(
        twice
            .iter()
            .map(|t| t.drug_trac_codg.as_str())
            .collect::<Vec<_>>(),
        vec!["C01"]
    );
}

pub async fn issue16_malformed_inventory_is_refused_by_field(app: &TestApp) {
    let inst = pharmacy(app);
    let counts = app.row_counts().await;
    let mut missing = purchase_row(app, "PB1", "5");
    missing.as_object_mut().unwrap().remove("med_list_codg");
    let mut no_time = purchase_row(app, "PB1", "5");
    no_time["purc_retn_stoin_time"] = json!("");
    let oversized: Vec<Value> = (0..1_001)
        .map(|i| purchase_row(app, &format!("P{i}"), "1"))
        .collect();
    let too_many_codes: Vec<Value> = (0..1_001)
        .map(|i| json!({"drug_trac_codg": format!("T{i}")}))
        .collect();
    let mut coded = sale_row(app, "S1", "1", "", &[]);
    coded["drugtracinfo"] = json!(too_many_codes);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "3503",
            json!({"purcinfo": missing}),
            "input.purcinfo[0].med_list_codg: ",
        ),
        (
            "3503",
            json!({"purcinfo": purchase_row(app, "PB1", "-2")}),
            "input.purcinfo[0].purc_retn_cnt: ",
        ),
        (
            "3503",
            json!({"purcinfo": purchase_row(app, "PB1", "0")}),
            "input.purcinfo[0].purc_retn_cnt: ",
        ),
        // A single-object node is named without an index when it does not parse.
        (
            "3503",
            json!({"purcinfo": purchase_row(app, "PB1", "1.23456")}),
            "input.purcinfo.purc_retn_cnt: ",
        ),
        (
            "3503",
            json!({"purcinfo": no_time}),
            "input.purcinfo[0].purc_retn_stoin_time: ",
        ),
        ("3503", json!({"purcinfo": oversized}), "input.purcinfo: "),
        ("3503", json!({}), "input.purcinfo: "),
        (
            "3505",
            json!({"selinfo": coded}),
            "input.selinfo[0].drugtracinfo: ",
        ),
        (
            "3507",
            json!({"data": {"fixmedins_bchno": "PB1", "inv_data_type": "9"}}),
            "input.data.inv_data_type: ",
        ),
        (
            "3507",
            json!({"data": {"fixmedins_bchno": "NOPE", "inv_data_type": "3"}}),
            "input.data.fixmedins_bchno: ",
        ),
        (
            "3504",
            json!({"purcinfo": purchase_row(app, "NOPE", "1")}),
            "input.purcinfo[0].fixmedins_bchno: ",
        ),
    ];
    for (seq, (infno, input, prefix)) in cases.into_iter().enumerate() {
        let msg = app
            .refused(inst, infno, &msgid(inst, 100 + seq as u32), input)
            .await;
        assert!(msg.starts_with(prefix), "{infno}: {msg}");
    }
    assert_eq!(app.row_counts().await, counts);
}
