//! The server's own share of a request: reading the envelope and a 2204 upload of ten lines into
//! a command, and writing a 2207 settlement answer. (The database's share is measured by the
//! store's benches and, end to end, by `yibao load`.)

// `criterion_group!` generates a public function without documentation.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use yibao_core_types::Fen;
use yibao_store::{FundPayment, Outcome, SetlAmounts, SettlementView};

fn upload_of_ten_lines() -> Vec<u8> {
    let lines: Vec<_> = (0..10)
        .map(|idx| {
            json!({
                "feedetl_sn": format!("{idx}"), "mdtrt_id": "M17954341127060000000001",
                "psn_no": "14050000000000000009", "chrg_bchno": "B1", "dise_codg": "", "rxno": "1",
                "rx_circ_flag": "0", "fee_ocur_time": "2026-11-23 10:00:00",
                "med_list_codg": "XJ01CAA040A001010102699", "medins_list_codg": "XJ01CAA040A001010102699",
                "det_item_fee_sumamt": "24.68", "cnt": "2", "pric": "12.34", "sin_dos_dscr": "",
                "used_frqu_dscr": "", "prd_days": "", "medc_way_dscr": "", "bilg_dept_codg": "A03",
                "bilg_dept_name": "内科", "bilg_dr_codg": "D1", "bilg_dr_name": "医生", "acord_dept_codg": "",
                "acord_dept_name": "", "orders_dr_code": "", "orders_dr_name": "", "hosp_appr_flag": "1",
                "tcmdrug_used_way": "", "etip_flag": "", "etip_hosp_code": "", "dscg_tkdrug_flag": "",
                "matn_fee_flag": ""
            })
        })
        .collect();
    json!({
        "infno": "2204", "msgid": "H14050000001202611231000000001", "mdtrtarea_admvs": "140500",
        "insuplc_admdvs": "140500", "recer_sys_code": "FSI_LOCAL", "dev_no": "1", "dev_safe_info": "1",
        "cainfo": "1", "signtype": "1", "infver": "1.0", "opter_type": "1", "opter": "123",
        "opter_name": "测试", "inf_time": "2026-11-23 10:00:00", "fixmedins_code": "H14050000001",
        "fixmedins_name": "晋城市人民医院", "sign_no": "", "input": {"feedetail": lines}
    })
    .to_string()
    .into_bytes()
}

fn settlement() -> Outcome {
    Outcome::Settled(Box::new(SettlementView {
        setl_id: "S17954341127060000000001".to_owned(),
        mdtrt_id: "M17954341127060000000001".to_owned(),
        psn_no: "14050000000000000009".to_owned(),
        psn_name: "张三".to_owned(),
        psn_cert_type: "01".to_owned(),
        certno: "140502198610040012".to_owned(),
        amounts: SetlAmounts {
            medfee_sumamt: Fen(24_680),
            inscp_scp_amt: Fen(24_680),
            hifp_pay: Fen(12_000),
            fund_pay_sumamt: Fen(12_000),
            psn_part_amt: Fen(12_680),
            acct_pay: Fen(12_680),
            ..SetlAmounts::default()
        },
        detail: vec![
            FundPayment {
                fund_pay_type: "310100".to_owned(),
                fund_payamt_fen: 12_000,
            },
            FundPayment {
                fund_pay_type: "310200".to_owned(),
                fund_payamt_fen: 12_680,
            },
        ],
        setl_proc_info: "deductible 0.00; ratio 0.90; ...".to_owned(),
        ..SettlementView::default()
    }))
}

fn bench(c: &mut Criterion) {
    let body = upload_of_ten_lines();
    c.bench_function("parse 2204 envelope + 10 lines into a command", |b| {
        b.iter(|| {
            let envelope =
                yibao_server::envelope::parse_request(std::hint::black_box(&body)).unwrap();
            let request = yibao_server::wire::input::request(&envelope).unwrap();
            std::hint::black_box((request.fingerprint(envelope.infno), request));
        })
    });
    let outcome = settlement();
    c.bench_function("render 2207 setlinfo + setldetail", |b| {
        b.iter(|| {
            std::hint::black_box(yibao_server::wire::output::render_stored(
                std::hint::black_box(&outcome),
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
