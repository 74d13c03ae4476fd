//! Property tests of the envelope and input parsers through the whole router: random bytes and
//! mutated valid envelopes never panic and always get an answer in one of the three shapes
//! (the envelope, the reduced error of §3, or nothing else), as JSON with our content type.

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt as _;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt as _;
use yibao_server::infno::{Infno, CALL_SERVICE_PATH};
use yibao_server::ServerConfig;

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("fuzz.db").display());
    let router = runtime.block_on(async {
        let store = yibao_store::Store::connect(&url).await.unwrap();
        yibao_server::app(
            store,
            &ServerConfig {
                auth: false,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    });
    Harness {
        runtime,
        router,
        _dir: dir,
    }
}

/// Sends `body`; checks the answer is JSON in an interface shape and returns it.
fn answer(harness: &Harness, body: Vec<u8>) -> Value {
    harness.runtime.block_on(async {
        let request = Request::post(CALL_SERVICE_PATH)
            .body(Body::from(body))
            .unwrap();
        let response = harness.router.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json;charset=utf-8"
        );
        assert!(response.status().is_success(), "{}", response.status());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let infcode = &value["infcode"];
        assert!(infcode == &json!(-1) || infcode == &json!(0), "{value}");
        if infcode == &json!(-1) {
            assert!(
                value["err_msg"].as_str().is_some_and(|msg| !msg.is_empty()),
                "{value}"
            );
        }
        value
    })
}

/// A valid-looking envelope for each served transaction, with a plausible input.
fn valid_envelope(infno: Infno) -> Value {
    let data = json!({
        "psn_no": "P1", "mdtrt_id": "M1", "setl_id": "S1", "insutype": "310", "med_type": "11",
        "mdtrt_cert_type": "02", "mdtrt_cert_no": "140500199001011234", "begntime": "2026-01-01 08:00:00",
        "medfee_sumamt": "12.30", "psn_setlway": "01", "chrg_bchno": "B1", "acct_used_flag": "1",
        "ipt_otp_no": "OP1", "dept_code": "1", "dept_name": "内科", "caty": "A03", "omsgid": "X", "oinfno": "2207",
        "feedetl_sn": "0000", "mid_setl_flag": "0"
    });
    let line = json!({
        "feedetl_sn": "1", "mdtrt_id": "M1", "psn_no": "P1", "chrg_bchno": "B1", "med_type": "21",
        "fee_ocur_time": "2026-01-01 08:00:00", "med_list_codg": "X", "medins_list_codg": "X",
        "det_item_fee_sumamt": "12.30", "cnt": "1", "pric": "12.3", "bilg_dept_codg": "1",
        "bilg_dept_name": "内科", "bilg_dr_codg": "1", "bilg_dr_name": "医生"
    });
    json!({
        "infno": infno.code(), "msgid": "H14050000001202601010800000001", "mdtrtarea_admvs": "140500",
        "fixmedins_code": "H14050000001", "fixmedins_name": "医院", "opter": "1", "opter_name": "测试",
        "inf_time": "2026-01-01 08:00:00",
        "input": {
            "data": data, "feedetail": [line], "signIn": {"opter_no": "1", "mac": "m", "ip": "i"},
            "signOut": {"sign_no": "1", "opter_no": "1"}, "mdtrtinfo": data, "dscginfo": data, "adminfo": data,
            "diseinfo": [{"diag_type": "1", "diag_code": "S62.410", "diag_name": "骨折", "maindiag_flag": "1"}],
            "setlinfo": {"psn_no": "P1", "mdtrt_id": "M1", "setl_id": "S1", "setl_begn_date": "2026-01-01",
                         "setl_end_date": "2026-01-02", "gend": "1", "age": "40.0", "nwb_bir_wt": "3200.00"},
            "oprninfo": [{"oprn_oprt_code": "81.0601", "oprn_oprt_name": "手术", "main_oprn_flag": "1"}],
            "icuinfo": [{"scs_cutd_ward_type": "1", "scs_cutd_inpool_time": "2026-01-01 08:00:00",
                         "scs_cutd_exit_time": "2026-01-01 09:00:00"}],
            "payinfo": [{"fund_pay_type": "390100", "fund_payamt": "1.00"}],
            "bldinfo": [{"bld_cat": "1", "bld_amt": "2", "bld_unt": "U"}]
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_get_an_interface_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        thread_local!(static HARNESS: Harness = harness());
        HARNESS.with(|harness| { answer(harness, bytes); });
    }

    #[test]
    fn mutated_envelopes_get_an_interface_answer(
        infno_idx in 0usize..64,
        cut in any::<proptest::sample::Index>(),
        flip in any::<proptest::sample::Index>(),
        byte in any::<u8>(),
        as_string in any::<bool>(),
    ) {
        thread_local!(static HARNESS: Harness = harness());
        let infno = Infno::all().nth(infno_idx % Infno::all().count()).unwrap();
        let mut envelope = valid_envelope(infno);
        if as_string {
            envelope["input"] = json!(envelope["input"].to_string());
        }
        let text = envelope.to_string().into_bytes();
        // One byte changed, then the message cut short somewhere: every kind of damage.
        let mut damaged = text.clone();
        let flip_at = flip.index(damaged.len());
        damaged[flip_at] = byte;
        damaged.truncate(cut.index(damaged.len() + 1).max(1));
        HARNESS.with(|harness| {
            answer(harness, text);
            answer(harness, damaged);
        });
    }
}
