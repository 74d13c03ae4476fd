//! Issue 14, deliver 1: monthly clearing on the interface. Bills settled through the running
//! server; 3201 over the day; 3203 refused with the difference per field, then accepted, replayed
//! and refused a second time; 3204; the detail reconciliation 9101 → 3202 → 9102 with a ZIP built
//! here holding a discrepancy, a row we never settled and a missing refund row; hostile files.
//! Run by `main.rs`'s `on_both_databases!`.

use std::io::{Read as _, Write as _};

use http_body_util::BodyExt as _;

use super::*;

fn money(fen: i64) -> String {
    yibao_server::wire::scalar::format_decimal(fen, 2)
}

/// A ZIP of one entry.
fn zip_of(name: &str, text: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file(
            name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
    writer.write_all(text).unwrap();
    writer.finish().unwrap().into_inner()
}

/// Posts 9102 signed as `inst`; returns the status, content type and body bytes.
async fn download(
    app: &TestApp,
    inst: &Institution,
    seq: u32,
    file_qury_no: &str,
) -> (u16, String, Vec<u8>) {
    let body = app
        .envelope(
            inst,
            "9102",
            &msgid(inst, seq),
            json!({"fsDownloadIn": {"file_qury_no": file_qury_no, "fixmedins_code": inst.fixmedins_code}}),
        )
        .to_string();
    let timestamp = yibao_server::RequestClock::now().unix_ms;
    let signature = yibao_server::auth::sign(
        &inst.secret_key,
        &inst.access_key,
        "9102",
        timestamp,
        "1.0.0",
    );
    let request = hyper::Request::post(format!("http://{}/fsi/api/fileupload/download", app.addr))
        .header("content-type", "application/json;charset=utf-8")
        .header("_api_name", "9102")
        .header("_api_version", "1.0.0")
        .header("_api_timestamp", timestamp.to_string())
        .header("_api_access_key", &inst.access_key)
        .header("_api_signature", signature)
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, bytes.to_vec())
}

/// 9101 of `content` (as a JSON byte array, or base64 when `base64` is set); the output.
async fn upload(
    app: &TestApp,
    inst: &Institution,
    seq: u32,
    content: &[u8],
    base64: bool,
) -> Value {
    use base64::Engine as _;
    let data = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(content))
    } else {
        json!(content)
    };
    app.ok(
        inst,
        "9101",
        &msgid(inst, seq),
        json!({"fsUploadIn": {"in": data, "filename": "detail.zip", "fixmedins_code": inst.fixmedins_code}}),
    )
    .await
}

pub(super) async fn issue14_clearing_3203_3204_and_the_detail_file_exchange(app: &TestApp) {
    let inst = hospital(app, 0);
    let other = hospital(app, 1);
    let person = employee(app, 0);
    let today = &now_text()[..10];
    let month = &today[..7];

    // Two bills settled; the second reversed the same day (a positive and a negative row).
    let (first_msgid, first, _) = settle_visit(app, inst, person, 900).await;
    let (_, second, second_visit) = settle_visit(app, inst, person, 910).await;
    let first = &first["setlinfo"];
    let second = &second["setlinfo"];
    let reverse = json!({"data": {"setl_id": second["setl_id"], "mdtrt_id": second_visit, "psn_no": person.psn_no}});
    app.ok(inst, "2208", &msgid(inst, 920), reverse).await;
    let clr_type = first["clr_type"].as_str().unwrap().to_owned();
    let amount = |field: &str| fen(&first[field]);

    // 3201 over the day agrees: the reversal nets the second bill out.
    let stmt = app
        .ok(inst, "3201", &msgid(inst, 921), json!({"data": {
            "insutype": person.insutype, "clr_type": clr_type, "setl_optins": app.region,
            "stmt_begndate": today, "stmt_enddate": today,
            "medfee_sumamt": money(amount("medfee_sumamt")), "fund_pay_sumamt": money(amount("fund_pay_sumamt")),
            "acct_pay": money(amount("acct_pay")), "fixmedins_setl_cnt": 1, "fixmedins_refd_setl_flag": "0"}}))
        .await;
    assert_eq!(stmt["stmtinfo"]["stmt_rslt"], json!("0"), "{stmt}");

    // 3203 for the month: a wrong total is refused with the difference and writes nothing.
    let declaration = |medfee: i64| {
        json!({"data": {
            "insutype": person.insutype, "clr_type": clr_type, "setl_optins": inst.admdvs,
            "clr_ym": month, "medfee_sumamt": money(medfee),
            "fund_pay_sumamt": money(amount("fund_pay_sumamt")), "acct_pay": money(amount("acct_pay")),
            "fixmedins_setl_cnt": "1"}})
    };
    let before = app.store.clearing_row_counts().await.unwrap();
    let rows_before = app.row_counts().await;
    let refused = app
        .refused(
            inst,
            "3203",
            &msgid(inst, 930),
            declaration(amount("medfee_sumamt") + 3_456),
        )
        .await;
    assert!(
        refused.contains(&format!(
            "clr_type {clr_type}: medfee_sumamt 申报 {} ≠ 中心 {} (差 34.56)",
            money(amount("medfee_sumamt") + 3_456),
            money(amount("medfee_sumamt"))
        )),
        "{refused}"
    );
    assert_eq!(app.store.clearing_row_counts().await.unwrap(), before);
    assert_eq!(app.row_counts().await, rows_before);
    // A period that is not one calendar month is refused by field.
    let mut partial = declaration(amount("medfee_sumamt"));
    partial["data"].as_object_mut().unwrap().remove("clr_ym");
    partial["data"]["begndate"] = json!(format!("{month}-01"));
    partial["data"]["enddate"] = json!(format!("{month}-02"));
    let refused = app.refused(inst, "3203", &msgid(inst, 931), partial).await;
    assert!(refused.starts_with("input.data.enddate:"), "{refused}");

    // The right totals are accepted; the replay answers the same; a second one is refused.
    let accept_msgid = msgid(inst, 932);
    let accepted = app
        .ok(
            inst,
            "3203",
            &accept_msgid,
            declaration(amount("medfee_sumamt")),
        )
        .await;
    let id = accepted["data"]["clr_appy_evt_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(accepted["data"]["clr_appy_stas"], json!("accepted"));
    assert_eq!(
        fen(&accepted["data"]["medfee_sumamt"]),
        amount("medfee_sumamt")
    );
    let replayed = app
        .ok(
            inst,
            "3203",
            &accept_msgid,
            declaration(amount("medfee_sumamt")),
        )
        .await;
    assert_eq!(replayed, accepted);
    let refused = app
        .refused(
            inst,
            "3203",
            &msgid(inst, 933),
            declaration(amount("medfee_sumamt")),
        )
        .await;
    assert!(refused.contains("stands"), "{refused}");
    let rows = app
        .store
        .clearing_month(Some(&inst.admdvs), month)
        .await
        .unwrap();
    let row = rows
        .iter()
        .find(|row| row.fixmedins_code == inst.fixmedins_code)
        .unwrap();
    assert_eq!(row.status, yibao_store::clearing::ClearingStatus::Accepted);
    assert_eq!(row.totals.reversals, 1);

    // 3204 withdraws it, once; another institution cannot.
    let refused = app
        .refused(
            other,
            "3204",
            &msgid(other, 934),
            json!({"data": {"clr_appy_evt_id": id}}),
        )
        .await;
    assert!(refused.contains("does not exist"), "{refused}");
    let withdrawn = app
        .ok(
            inst,
            "3204",
            &msgid(inst, 935),
            json!({"data": {"clr_appy_evt_id": id}}),
        )
        .await;
    assert_eq!(withdrawn["data"]["clr_appy_stas"], json!("withdrawn"));
    let refused = app
        .refused(
            inst,
            "3204",
            &msgid(inst, 936),
            json!({"data": {"clr_appy_evt_id": id}}),
        )
        .await;
    assert!(refused.contains("already withdrawn"), "{refused}");

    // 9101 → 3202 → 9102. The institution's file: the first bill right, the second with a
    // wrong total, its refund row missing, and a settlement we never made.
    let line = |setl: &Value, medfee: i64, flag: &str| {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{flag}\n",
            setl["setl_id"].as_str().unwrap(),
            setl["mdtrt_id"].as_str().unwrap(),
            person.psn_no,
            money(medfee),
            money(fen(&setl["fund_pay_sumamt"])),
            money(fen(&setl["acct_pay"])),
        )
    };
    let text = format!(
        "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag\n{}{}S-NEVER\tM-NEVER\t{}\t1.00\t0.00\tnull\t0\n",
        line(first, fen(&first["medfee_sumamt"]), "0"),
        line(second, fen(&second["medfee_sumamt"]) + 100, "0"),
        person.psn_no,
    );
    let file_medfee = fen(&first["medfee_sumamt"]) + fen(&second["medfee_sumamt"]) + 100 + 100;
    let file_fund = fen(&first["fund_pay_sumamt"]) + fen(&second["fund_pay_sumamt"]);
    let uploaded = upload(
        app,
        inst,
        940,
        &zip_of("detail.txt", text.as_bytes()),
        false,
    )
    .await;
    let file_qury_no = uploaded["file_qury_no"].as_str().unwrap().to_owned();
    assert_eq!(uploaded["fixmedins_code"], json!(inst.fixmedins_code));
    assert_eq!(uploaded["filename"], json!("detail.zip"));
    assert!(
        uploaded["dld_endtime"].as_str().unwrap().len() == 19,
        "{uploaded}"
    );
    let detail_input = |file_qury_no: &str, medfee: i64| {
        json!({"data": {
            "setl_optins": inst.admdvs, "file_qury_no": file_qury_no, "stmt_begndate": today,
            "stmt_enddate": today, "medfee_sumamt": money(medfee), "fund_pay_sumamt": money(file_fund),
            "cash_payamt": "0", "fixmedins_setl_cnt": 3, "clr_type": clr_type,
            "refd_setl_flag": "0", "fixmedins_refd_setl_flag": "0"}})
    };
    // Totals that are not the file's are refused.
    let refused = app
        .refused(
            inst,
            "3202",
            &msgid(inst, 941),
            detail_input(&file_qury_no, file_medfee + 1),
        )
        .await;
    assert!(refused.contains("the file's rows add up to"), "{refused}");
    // One msgid for the call and its replay (msgid() reads the clock: a second later is a new id).
    let detail_msgid = msgid(inst, 942);
    let answered = app
        .ok(
            inst,
            "3202",
            &detail_msgid,
            detail_input(&file_qury_no, file_medfee),
        )
        .await;
    assert_eq!(answered["fileinfo"]["stmt_rslt"], json!("1"), "{answered}");
    let result_no = answered["fileinfo"]["file_qury_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(answered["fileinfo"]["filename"]
        .as_str()
        .unwrap()
        .ends_with(".zip"));

    let (status, content_type, bytes) = download(app, inst, 943, &result_no).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/octet-stream")
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut result = String::new();
    archive
        .by_index(0)
        .unwrap()
        .read_to_string(&mut result)
        .unwrap();
    let lines: Vec<Vec<&str>> = result.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 4, "{result}");
    for line in &lines {
        assert_eq!(line.len(), 10, "{line:?}");
    }
    // psn_no, mdtrt_id, setl_id, msgid, stmt_rslt, refd_setl_flag, memo, amounts.
    assert_eq!(lines[0][2], first["setl_id"].as_str().unwrap());
    assert_eq!(lines[0][3], first_msgid);
    assert_eq!((lines[0][4], lines[0][6]), ("0", "null"));
    assert_eq!(lines[1][4], "1");
    assert!(lines[1][6].starts_with("medfee_sumamt 申报"), "{result}");
    assert_eq!((lines[2][2], lines[2][4]), ("S-NEVER", "1"));
    assert!(lines[2][6].contains("missing on our side"), "{result}");
    assert_eq!(
        (lines[3][2], lines[3][5]),
        (second["setl_id"].as_str().unwrap(), "1")
    );
    assert!(
        lines[3][6].contains("missing in the institution's file"),
        "{result}"
    );
    assert!(lines[3][7].starts_with('-'), "{result}");
    // The replay of 3202 answers the same file.
    let replayed = app
        .ok(
            inst,
            "3202",
            &detail_msgid,
            detail_input(&file_qury_no, file_medfee),
        )
        .await;
    assert_eq!(replayed, answered);
    // Only the owner downloads; to another institution the file does not exist.
    let (status, content_type, bytes) = download(app, other, 944, &result_no).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json;charset=utf-8")
    );
    let refused: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(refused["infcode"], json!(-1));
    assert!(
        refused["err_msg"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{refused}"
    );
    // Another institution's code in fsUploadIn is refused.
    let refused = app
        .refused(inst, "9101", &msgid(inst, 945), json!({"fsUploadIn": {"in": [1, 2], "filename": "x.zip", "fixmedins_code": other.fixmedins_code}}))
        .await;
    assert!(
        refused.starts_with("input.fsUploadIn.fixmedins_code"),
        "{refused}"
    );

    // Hostile files: uploaded (a file is only bytes), then refused by 3202 naming the place,
    // writing nothing.
    let hostile: [(&[u8], &str); 4] = [
        (b"not a zip at all", "not a readable ZIP"),
        (
            &zip_of("d.txt", b"S1\tM1\tP1\t1.00\t1.00\n"),
            "d.txt line 1: has 5 columns",
        ),
        (
            &zip_of(
                "d.txt",
                b"S1\tM1\tP1\t1.00\t1.00\t0\t0\nS2\tM2\tP2\tabc\t1\t0\t0\n",
            ),
            "d.txt line 2 column medfee_sumamt: `abc` is not a decimal number",
        ),
        (
            &zip_of(
                "d.txt",
                b"S1\tM1\tP1\t1.00\t1.00\t0\t0\nS2\t\xff\xfe\tP2\t1\t1\t0\t0\n",
            ),
            "d.txt line 2: is not UTF-8 text",
        ),
    ];
    for (idx, (content, expected)) in hostile.iter().enumerate() {
        let seq = 950 + 2 * idx as u32;
        let uploaded = upload(app, inst, seq, content, idx % 2 == 0).await;
        let file_qury_no = uploaded["file_qury_no"].as_str().unwrap();
        let before = app.store.clearing_row_counts().await.unwrap();
        let rows_before = app.row_counts().await;
        let refused = app
            .refused(
                inst,
                "3202",
                &msgid(inst, seq + 1),
                detail_input(file_qury_no, 0),
            )
            .await;
        assert!(refused.contains(expected), "{expected}: {refused}");
        assert!(
            refused.starts_with("input.data.file_qury_no: detail.zip: "),
            "{refused}"
        );
        assert_eq!(app.store.clearing_row_counts().await.unwrap(), before);
        assert_eq!(app.row_counts().await, rows_before);
    }
    // A zip bomb: 70 MiB of zeros deflate to a few dozen kilobytes and are stopped unpacking.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file(
            "bomb.txt",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
    let chunk = vec![b'0'; 1 << 20];
    for _ in 0..70 {
        writer.write_all(&chunk).unwrap();
    }
    let bomb = writer.finish().unwrap().into_inner();
    let uploaded = upload(app, inst, 960, &bomb, true).await;
    let refused = app
        .refused(
            inst,
            "3202",
            &msgid(inst, 961),
            detail_input(uploaded["file_qury_no"].as_str().unwrap(), 0),
        )
        .await;
    assert!(refused.contains("unpacks to more than"), "{refused}");
}
