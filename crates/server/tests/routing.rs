//! In-process routing and validation tests: the router called with `oneshot`, over a real
//! (empty, migrated) SQLite store. Every refusal here happens before the store is asked, so these
//! cases hold whatever the registry holds.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use yibao_server::infno::{Infno, CALL_SERVICE_PATH};
use yibao_server::limits::BODY_BYTES_MAX;
use yibao_server::ServerConfig;

struct App {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

async fn app(auth: bool) -> App {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("routing.db").display()
    );
    let store = yibao_store::Store::connect(&url).await.unwrap();
    let config = ServerConfig {
        auth,
        ..Default::default()
    };
    App {
        router: yibao_server::app(store, &config).await.unwrap(),
        _dir: dir,
    }
}

fn envelope(infno: &str, input: Value) -> String {
    json!({
        "infno": infno, "msgid": "H33018300564202201211447429999", "mdtrtarea_admvs": "330100",
        "insuplc_admdvs": "", "recer_sys_code": "FSI_LOCAL", "dev_no": "", "dev_safe_info": "",
        "cainfo": "", "signtype": "", "infver": "1.0", "opter_type": "1", "opter": "123",
        "opter_name": "测试", "inf_time": "2022-01-21 14:47:42", "fixmedins_code": "H33018300564",
        "fixmedins_name": "杭州市第二测试医院", "sign_no": "", "input": input
    })
    .to_string()
}

/// Sends one POST; returns the status, the content type and the JSON body.
async fn post(
    app: &App,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, String, Value) {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|err| panic!("not JSON ({err}): {bytes:?}"));
    (status, content_type, value)
}

async fn err_msg(app: &App, path: &str, body: String) -> String {
    let (status, content_type, value) = post(app, path, "application/json", body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(content_type, "application/json;charset=utf-8");
    assert_eq!(value["infcode"], json!(-1), "{value}");
    assert_eq!(value["output"], Value::Null);
    assert!(
        value
            .get("refmsg_time")
            .is_some_and(|t| t.as_str().is_some_and(|t| t.len() == 17)),
        "{value}"
    );
    value["err_msg"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_alias_path_dispatches_and_checks_the_infno() {
    let app = app(false).await;
    for (path, infno) in Infno::aliases() {
        // The alias routes to its transaction: an empty input is refused on that transaction's
        // first required field, never with "not found".
        let other = if infno == Infno::SignIn9001 {
            "1101"
        } else {
            "9001"
        };
        let msg = err_msg(&app, path, envelope(other, json!({}))).await;
        assert!(msg.starts_with("infno: "), "{path}: {msg}");
        assert!(msg.contains(infno.code()), "{path}: {msg}");
        let msg = err_msg(&app, path, envelope(infno.code(), json!({}))).await;
        assert!(msg.starts_with("input."), "{path}: {msg}");
    }
}

#[tokio::test]
async fn call_service_with_infno_suffix_must_agree() {
    let app = app(false).await;
    let path = format!("{CALL_SERVICE_PATH}/2207");
    let msg = err_msg(&app, &path, envelope("2206", json!({}))).await;
    assert_eq!(
        msg,
        "infno: `2206` does not match the path's transaction 2207"
    );
    let msg = err_msg(&app, &path, envelope("2207", json!({}))).await;
    assert!(msg.starts_with("input.data."), "{msg}");
    // An unknown code in the path gets the reduced shape.
    let (_, _, value) = post(
        &app,
        &format!("{CALL_SERVICE_PATH}/7777"),
        "application/json",
        envelope("2207", json!({})),
    )
    .await;
    assert_eq!(value["type"], "error");
    assert_eq!(value["infcode"], json!(-1));
}

/// Issue 10: an `_api_name` header that names a transaction (`2204`, `api_2204`) must name the
/// envelope's; a header that names no transaction (a gateway's service name) is not compared.
#[tokio::test]
async fn issue10_api_name_header_must_agree_with_infno() {
    let app = app(false).await;
    let send = |api_name: &'static str| {
        let request = Request::post(CALL_SERVICE_PATH)
            .header(header::CONTENT_TYPE, "application/json")
            .header("_api_name", api_name)
            .body(Body::from(envelope("2207", json!({}))))
            .unwrap();
        let router = app.router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            value["err_msg"].as_str().unwrap().to_owned()
        }
    };
    for other in ["2204", "api_2204", "API_2207A", "3202"] {
        let msg = send(other).await;
        assert_eq!(
            msg,
            format!("_api_name: `{other}` names another transaction than infno `2207`")
        );
    }
    for agreeing in ["2207", "api_2207", "hsa.fsi.callService", ""] {
        let msg = send(agreeing).await;
        assert!(msg.starts_with("input.data."), "{agreeing}: {msg}");
    }
}

#[tokio::test]
async fn unknown_infno_gets_the_reduced_error_shape() {
    let app = app(false).await;
    let (status, content_type, value) = post(
        &app,
        CALL_SERVICE_PATH,
        "application/json",
        envelope("3301", json!({"data": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json;charset=utf-8");
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["err_msg", "infcode", "type"]);
    assert!(
        value["err_msg"].as_str().unwrap().contains("未知交易编号"),
        "{value}"
    );
}

#[tokio::test]
async fn hostile_bodies_get_an_envelope_naming_the_problem() {
    let app = app(false).await;
    let cases: Vec<(String, &str)> = vec![
        ("{not json".to_owned(), "body: key must be a string"),
        ("".to_owned(), "body: is not a JSON object"),
        ("[]".to_owned(), "body: is not a JSON object"),
        (json!({"infno": 1101}).to_string(), "msgid: is required"),
        (
            json!({"infno": ["1101"]}).to_string(),
            "infno: expected a string, found an array",
        ),
        (
            envelope("2207", json!("not an object")),
            "input: is a string that does not hold a JSON object",
        ),
        (
            envelope("2207", json!({"data": {"psn_no": {"x": 1}}})),
            "input.data.psn_no: expected a string, found an object",
        ),
        (
            envelope("2204", json!({"feedetail": [{"cnt": "ten"}]})),
            "input.feedetail[0].cnt: `ten` is not a decimal number",
        ),
        (
            envelope("2204", json!({"feedetail": 5})),
            "input.feedetail: invalid type: integer `5`",
        ),
    ];
    for (body, expected) in cases {
        let msg = err_msg(&app, CALL_SERVICE_PATH, body.clone()).await;
        assert!(
            msg.starts_with(expected),
            "{body}\n  got: {msg}\n  expected: {expected}"
        );
    }
}

/// Issue 10: 1101 needs a credential (with its type), a `certno` or a `psn_no`.
#[tokio::test]
async fn issue10_1101_needs_something_that_identifies_the_person() {
    let app = app(false).await;
    let cases = [
        (
            json!({"psn_name": "李四"}),
            "input.data.mdtrt_cert_type: is required",
        ),
        (
            json!({"mdtrt_cert_no": "330100000000000000"}),
            "input.data.mdtrt_cert_type: is required",
        ),
        (
            json!({"mdtrt_cert_type": "02"}),
            "input.data.mdtrt_cert_no: is required",
        ),
        (
            json!({"mdtrt_cert_type": "09", "certno": "1"}),
            "input.data.mdtrt_cert_type: `09` is not one of 01, 02, 03",
        ),
    ];
    for (data, expected) in cases {
        let msg = err_msg(
            &app,
            CALL_SERVICE_PATH,
            envelope("1101", json!({"data": data})),
        )
        .await;
        assert_eq!(msg, expected, "{data}");
    }
    // Without a type, certno or psn_no is enough (§6 V6): this empty store knows no one.
    for data in [
        json!({"certno": "510000202001010000"}),
        json!({"psn_no": "P1"}),
    ] {
        let msg = err_msg(
            &app,
            CALL_SERVICE_PATH,
            envelope("1101", json!({"data": data})),
        )
        .await;
        assert!(msg.ends_with("does not exist"), "{data}: {msg}");
    }
}

#[tokio::test]
async fn required_fields_are_named_in_order() {
    let app = app(false).await;
    let settle = json!({"data": {
        "psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "330100000000000000", "med_type": "11",
        "medfee_sumamt": "1200", "psn_setlway": "01", "mdtrt_id": "M1", "chrg_bchno": "B1",
        "acct_used_flag": "1", "insutype": "310"
    }});
    for field in [
        "psn_no",
        "mdtrt_id",
        "mdtrt_cert_type",
        "med_type",
        "medfee_sumamt",
        "psn_setlway",
        "chrg_bchno",
        "insutype",
    ] {
        let mut input = settle.clone();
        // "null" and "" mean absent (§3A), like a missing key.
        input["data"][field] = json!(if field.len() % 2 == 0 { "null" } else { "" });
        let msg = err_msg(&app, CALL_SERVICE_PATH, envelope("2206", input)).await;
        assert!(
            msg.starts_with(&format!("input.data.{field}: ")),
            "{field}: {msg}"
        );
    }
    let mut input = settle.clone();
    input["data"]["medfee_sumamt"] = json!("-1");
    assert_eq!(
        err_msg(&app, CALL_SERVICE_PATH, envelope("2206", input)).await,
        "input.data.medfee_sumamt: must not be negative"
    );
    let mut input = settle.clone();
    input["data"]["acct_used_flag"] = json!("7");
    assert_eq!(
        err_msg(&app, CALL_SERVICE_PATH, envelope("2206", input)).await,
        "input.data.acct_used_flag: `7` is not one of 0, 1, 2"
    );
    // `2` (family mutual aid, 共济) passes the interface; this empty store then refuses the
    // unknown institution.
    let mut input = settle.clone();
    input["data"]["acct_used_flag"] = json!("2");
    let msg = err_msg(&app, CALL_SERVICE_PATH, envelope("2206", input)).await;
    assert!(msg.starts_with("fixmedins_code: "), "{msg}");
}

#[tokio::test]
async fn fee_lines_are_checked_against_price_times_count() {
    let app = app(false).await;
    let line = json!({
        "feedetl_sn": "1", "mdtrt_id": "M1", "psn_no": "P1", "chrg_bchno": "B1", "rx_circ_flag": "0",
        "fee_ocur_time": "2022-01-21 10:00:00", "med_list_codg": "X", "medins_list_codg": "X",
        "det_item_fee_sumamt": "1200.02", "cnt": "10", "pric": "120", "bilg_dept_codg": "1",
        "bilg_dept_name": "内科", "bilg_dr_codg": "1", "bilg_dr_name": "医生", "hosp_appr_flag": "1"
    });
    let msg = err_msg(
        &app,
        CALL_SERVICE_PATH,
        envelope("2204", json!({"feedetail": line})),
    )
    .await;
    assert_eq!(
        msg,
        "input.feedetail[0].det_item_fee_sumamt: 1200.02 is not pric × cnt = 1200.00"
    );
    let lines: Vec<Value> = (0..=yibao_server::limits::FEE_LINES_PER_UPLOAD_MAX)
        .map(|_| line.clone())
        .collect();
    let msg = err_msg(
        &app,
        CALL_SERVICE_PATH,
        envelope("2204", json!({"feedetail": lines})),
    )
    .await;
    assert_eq!(msg, "input.feedetail: has 1001 rows, more than 1000");
    // Issue 11 (item 5): the interface refuses a price the store would refuse, at the same limit
    // (10,000,000.00 a unit), naming the field; before, it let 10^8 through to the store.
    let mut dear = line.clone();
    dear["pric"] = json!("20000000");
    dear["cnt"] = json!("1");
    dear["det_item_fee_sumamt"] = json!("20000000");
    let msg = err_msg(
        &app,
        CALL_SERVICE_PATH,
        envelope("2204", json!({"feedetail": dear})),
    )
    .await;
    assert!(msg.starts_with("input.feedetail[0].pric: "), "{msg}");
    assert_eq!(
        yibao_server::limits::PRICE_MAX_E6,
        yibao_store::limits::PRICE_MICRO_MAX
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_parsing() {
    let app = app(false).await;
    // Declared too large: refused by its Content-Length.
    let request = Request::post(CALL_SERVICE_PATH)
        .header(header::CONTENT_LENGTH, (BODY_BYTES_MAX + 1).to_string())
        .body(Body::from("{"))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        value["err_msg"],
        format!("body: larger than {BODY_BYTES_MAX} bytes")
    );
    // Streamed without a length: refused while reading. (Not valid JSON either, which would be
    // the error if it were parsed.)
    let body = "x".repeat(BODY_BYTES_MAX + 1);
    let msg = err_msg(&app, CALL_SERVICE_PATH, body).await;
    assert_eq!(msg, format!("body: larger than {BODY_BYTES_MAX} bytes"));
}

#[tokio::test]
async fn text_plain_bodies_and_string_inputs_are_accepted() {
    let app = app(false).await;
    let inner = json!({"data": {"psn_no": "", "mdtrt_cert_type": "09"}}).to_string();
    let (status, _, value) = post(
        &app,
        CALL_SERVICE_PATH,
        "text/plain",
        envelope("1101", json!(inner)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        value["err_msg"],
        "input.data.mdtrt_cert_type: `09` is not one of 01, 02, 03"
    );
}

#[tokio::test]
async fn gateway_refuses_unsigned_requests_with_its_own_shape() {
    let app = app(true).await;
    let (status, content_type, value) = post(
        &app,
        CALL_SERVICE_PATH,
        "application/json",
        envelope("9001", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/json;charset=utf-8");
    assert_eq!(
        value,
        json!({"code": 401, "message": "缺少服务网关的请求头!"})
    );
}
