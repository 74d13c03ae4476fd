//! The pharmacy models (S-04 进销存比对, S-05 追溯码重复销售) on DataFusion against a real
//! export of a store on SQLite and PostgreSQL. Stock, purchases, sales and their returns are
//! recorded through the store's 3501–3507 command and the sales settled through the interface
//! commands, at three pharmacies (two in one region, one in another): a pharmacy that sells more
//! than it bought, a count short of the records, traceability codes sold again at another
//! pharmacy and at the same one — all found (recall 100 %) — and the clean pharmacy, a near-miss
//! inside the tolerance, a code returned before it is sold again and a cancelled sale, none of
//! them hits. The inventory tables are exported by the institution's region and the movement's
//! month, incrementally; parameters move the thresholds and bad ones are refused by name.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod plant;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDateTime;
use common::*;
use plant::*;
use yibao_batch::audit::BatchOptions;
use yibao_batch::{
    check_export, export_parquet, run_batch, BatchError, BatchReport, ExportOptions, PseudonymKey,
};
use yibao_core_types::Quantity;
use yibao_store::inventory::{
    InvDataType, InventoryKind, InventoryMessage, InventoryRecord, InventoryUpload,
};
use yibao_store::SettlementView;

/// A second pharmacy in the fixture's region.
const PHARMACY_B: &str = "P14050000004";
/// A pharmacy in another region (140525), with self-pay sales only.
const PHARMACY_C: &str = "P14052500005";
/// The drug the plant's settlements sell (one unit a visit).
const DRUG: &str = "X-DRUG-A";
/// Drugs only pharmacy C keeps.
const DRUG_E: &str = "X-DRUG-E";
const DRUG_F: &str = "X-DRUG-F";

/// The store tests' fixture registry with pharmacies B and C added, and the shipped policies.
async fn imported_with_pharmacies(db: &TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/registry");
    for entry in std::fs::read_dir(&fixture).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
    }
    let institutions = dir.path().join("institutions.csv");
    let mut text = std::fs::read_to_string(&institutions).expect("institutions");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "{PHARMACY_B},泽州大药房,2,,1,140500,1,AK004,SK004\n"
    ));
    text.push_str(&format!(
        "{PHARMACY_C},陵川大药房,2,,1,140525,1,AK005,SK005\n"
    ));
    std::fs::write(&institutions, text).expect("write institutions");
    std::fs::create_dir_all(dir.path().join("policies")).expect("policies folder");
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(dir.path().join(name), text).expect("write policy");
    }
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the registry");
}

/// One record of `units` of `drug`, batch `lot`, serial `bchno`, at `when`.
fn record(drug: &str, lot: &str, bchno: &str, units: i64, when: NaiveDateTime) -> InventoryRecord {
    InventoryRecord {
        med_list_codg: drug.into(),
        fixmedins_hilist_id: format!("YP-{drug}"),
        fixmedins_hilist_name: "阿莫西林胶囊".into(),
        fixmedins_bchno: bchno.into(),
        manu_lotnum: Some(lot.into()),
        manu_date: None,
        expy_end: None,
        rx_flag: false,
        quantity: Quantity::units(units),
        happened_at: when,
        inv_chg_type: None,
        price: None,
        spler_name: None,
        purc_invo_no: None,
        opter_name: None,
        setl_id: None,
        mdtrt_sn: None,
        psn_no: None,
        rxno: None,
        memo: None,
        trace_codes: Vec::new(),
    }
}

/// A sale record (3505) of `units`, with its buyer, settlement and codes.
fn sale(
    (drug, lot, bchno): (&str, &str, &str),
    units: i64,
    when: NaiveDateTime,
    buyer: (&str, Option<&SettlementView>),
    codes: &[&str],
) -> InventoryRecord {
    InventoryRecord {
        psn_no: Some(buyer.0.into()),
        setl_id: buyer.1.map(|s| s.setl_id.clone()),
        trace_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        ..record(drug, lot, bchno, units, when)
    }
}

/// Records one message of `inst` (msgid `msgid`) through the store's 3501–3507 command.
async fn put(db: &TestDb, inst: &str, msgid: &str, upload: InventoryUpload, when: NaiveDateTime) {
    let mut request_hash = [0u8; 32];
    for (idx, b) in format!("{inst}{msgid}").bytes().enumerate() {
        request_hash[idx % 32] ^= b;
    }
    let message = InventoryMessage {
        fixmedins_code: inst.into(),
        msgid: msgid.into(),
        request_hash,
        at: when,
    };
    db.store
        .record_inventory(&message, &upload)
        .await
        .unwrap_or_else(|e| panic!("[{}] {inst} {msgid}: {e}", db.label));
}

async fn put_one(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    kind: InventoryKind,
    record: InventoryRecord,
) {
    let when = record.happened_at;
    put(
        db,
        inst,
        msgid,
        InventoryUpload::Records {
            kind,
            records: vec![record],
        },
        when,
    )
    .await;
}

/// A count at the close of `day` (as the interface reads `invdate`).
fn close_of(day: &str) -> NaiveDateTime {
    at(day, "23:59:59")
}

/// What the planting leaves to find: the S-04 hits as (pharmacy, drug, month's first day), the
/// S-05 hits as (pharmacy, sale day, traceability code), and the settlements named.
struct Planted {
    ledger_hits: BTreeSet<(String, String, String)>,
    reuse_hits: BTreeSet<(String, String, String)>,
    a_third: SettlementView,
    b_second: SettlementView,
}

/// A settled pharmacy sale of one unit of [`DRUG`] (the plant's visit, 医疗类别 41) and its
/// 3505 record from batch `lot` with `codes`.
async fn settled_sale(
    db: &TestDb,
    inst: &str,
    tag: &str,
    psn_no: &str,
    day: &str,
    lot: &str,
    codes: &[&str],
) -> SettlementView {
    let s = visit(db, inst, tag, psn_no, day, "41").await;
    put_one(
        db,
        inst,
        &format!("{tag}-3505"),
        InventoryKind::Sale,
        sale(
            (DRUG, lot, &format!("XS-{tag}")),
            1,
            at(day, "09:30:00"),
            (psn_no, Some(&s)),
            codes,
        ),
    )
    .await;
    s
}

async fn plant_pharmacies(db: &TestDb) -> Planted {
    let mut ledger_hits = BTreeSet::new();
    let mut reuse_hits = BTreeSet::new();

    // Pharmacy A (clean): counted 10 at the close of February; buys 5 in March; sells three
    // settled units (one brought back); counts what the records say at the close of March.
    // April's count is one unit short: inside the tolerance of one unit.
    let st = InventoryKind::Stocktake;
    put_one(
        db,
        PHARMACY,
        "A-K1",
        st,
        record(DRUG, "LA1", "A-K1", 10, close_of("2025-02-28")),
    )
    .await;
    put_one(
        db,
        PHARMACY,
        "A-B1",
        InventoryKind::Purchase,
        record(DRUG, "LA2", "A-B1", 5, at("2025-03-03", "10:00:00")),
    )
    .await;
    settled_sale(db, PHARMACY, "A1", "P001", "2025-03-05", "LA1", &["TR-DUP"]).await;
    settled_sale(db, PHARMACY, "A2", "P002", "2025-03-10", "LA1", &["TR-RET"]).await;
    let a_third = settled_sale(db, PHARMACY, "A3", "P003", "2025-03-15", "LA1", &["TR-AB"]).await;
    // TR-RET comes back (3506 of sale XS-A2) before pharmacy B sells it: not a reuse.
    put_one(
        db,
        PHARMACY,
        "A2-3506",
        InventoryKind::SaleReturn,
        InventoryRecord {
            manu_lotnum: None,
            trace_codes: vec!["TR-RET".into()],
            ..record(DRUG, "LA1", "XS-A2", 1, at("2025-03-12", "11:00:00"))
        },
    )
    .await;
    put(
        db,
        PHARMACY,
        "A-K2",
        InventoryUpload::Records {
            kind: st,
            records: vec![
                record(DRUG, "LA1", "A-K2", 8, close_of("2025-03-31")),
                record(DRUG, "LA2", "A-K3", 5, close_of("2025-03-31")),
            ],
        },
        close_of("2025-03-31"),
    )
    .await;
    put_one(
        db,
        PHARMACY,
        "A-K4",
        st,
        record(DRUG, "LA1", "A-K4", 7, close_of("2025-04-30")),
    )
    .await;

    // Pharmacy B buys 2 units in May and settles (and reports) 5: 3 units sold beyond its
    // stock. Its second sale carries TR-AB, which pharmacy A sold in March (a reuse across
    // pharmacies); its first carries TR-RET, returned at A (no reuse).
    put_one(
        db,
        PHARMACY_B,
        "B-B1",
        InventoryKind::Purchase,
        record(DRUG, "LB1", "B-B1", 2, at("2025-05-02", "10:00:00")),
    )
    .await;
    let mut b_sales = Vec::new();
    for (idx, (psn_no, codes)) in [
        ("P004", vec!["TR-RET"]),
        ("P005", vec!["TR-AB"]),
        ("P001", vec!["TR-B3"]),
        ("P002", vec!["TR-B4"]),
        ("P004", vec!["TR-B5"]),
    ]
    .into_iter()
    .enumerate()
    {
        let day = format!("2025-05-{:02}", 5 + idx);
        let s = settled_sale(
            db,
            PHARMACY_B,
            &format!("B{idx}"),
            psn_no,
            &day,
            "LB1",
            &codes,
        )
        .await;
        b_sales.push(s);
    }
    ledger_hits.insert((PHARMACY_B.into(), DRUG.into(), "2025-05-01".into()));
    reuse_hits.insert((PHARMACY_B.into(), "2025-05-06".into(), "TR-AB".into()));

    // Pharmacy C (another region) buys 100 of E and of F in June and sells self-pay. Its count
    // of E at the close of June is 20 short (over 5 % of 100); of F 4 short (inside 5 %).
    // Sale C-S1 carries TR-DUP, sold at A in March; C-S3 sells TR-SPLIT a second time at C;
    // TR-CXL is sold, the sale deleted (3507) and sold again: no reuse.
    for (drug, bchno) in [(DRUG_E, "C-B1"), (DRUG_F, "C-B2")] {
        put_one(
            db,
            PHARMACY_C,
            bchno,
            InventoryKind::Purchase,
            record(drug, "LC1", bchno, 100, at("2025-06-01", "10:00:00")),
        )
        .await;
    }
    let self_pay = |bchno: &'static str, day: &str, psn: &'static str, code: &'static str| {
        sale(
            (DRUG_E, "LC1", bchno),
            1,
            at(day, "15:00:00"),
            (psn, None),
            &[code],
        )
    };
    let sale_c = InventoryKind::Sale;
    put_one(
        db,
        PHARMACY_C,
        "C-S1",
        sale_c,
        self_pay("C-S1", "2025-06-10", "P002", "TR-DUP"),
    )
    .await;
    put_one(
        db,
        PHARMACY_C,
        "C-S2",
        sale_c,
        self_pay("C-S2", "2025-06-11", "P003", "TR-SPLIT"),
    )
    .await;
    put_one(
        db,
        PHARMACY_C,
        "C-S3",
        sale_c,
        self_pay("C-S3", "2025-06-12", "P004", "TR-SPLIT"),
    )
    .await;
    put_one(
        db,
        PHARMACY_C,
        "C-S4",
        sale_c,
        self_pay("C-S4", "2025-06-14", "P005", "TR-CXL"),
    )
    .await;
    put(
        db,
        PHARMACY_C,
        "C-D4",
        InventoryUpload::Delete {
            fixmedins_bchno: "C-S4".into(),
            inv_data_type: InvDataType::Sale,
        },
        at("2025-06-15", "09:00:00"),
    )
    .await;
    put_one(
        db,
        PHARMACY_C,
        "C-S5",
        sale_c,
        self_pay("C-S5", "2025-06-20", "P001", "TR-CXL"),
    )
    .await;
    reuse_hits.insert((PHARMACY_C.into(), "2025-06-10".into(), "TR-DUP".into()));
    reuse_hits.insert((PHARMACY_C.into(), "2025-06-12".into(), "TR-SPLIT".into()));
    // E: 100 bought, 4 sold (the deleted sale not among them): 96 expected, 76 counted.
    put(
        db,
        PHARMACY_C,
        "C-K1",
        InventoryUpload::Records {
            kind: st,
            records: vec![
                record(DRUG_E, "LC1", "C-K1", 76, close_of("2025-06-30")),
                record(DRUG_F, "LC1", "C-K2", 96, close_of("2025-06-30")),
            ],
        },
        close_of("2025-06-30"),
    )
    .await;
    ledger_hits.insert((PHARMACY_C.into(), DRUG_E.into(), "2025-06-01".into()));

    Planted {
        ledger_hits,
        reuse_hits,
        a_third,
        b_second: b_sales.swap_remove(1),
    }
}

fn options(rules: &[&str], params: &[(&str, &str)]) -> BatchOptions {
    BatchOptions {
        year: 2025,
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn findings<'a>(report: &'a BatchReport, rule: &str) -> &'a [yibao_batch::BatchFinding] {
    &report
        .rules
        .iter()
        .find(|r| r.rule.rule_id == rule)
        .unwrap_or_else(|| panic!("rule {rule} ran"))
        .findings
}

fn ledger_set(report: &BatchReport) -> BTreeSet<(String, String, String)> {
    findings(report, "S-04")
        .iter()
        .map(|f| {
            (
                f.fixmedins_code.clone(),
                f.code.clone().unwrap_or_default(),
                f.begin_date.clone(),
            )
        })
        .collect()
}

fn reuse_set(report: &BatchReport) -> BTreeSet<(String, String, String)> {
    findings(report, "S-05")
        .iter()
        .map(|f| {
            (
                f.fixmedins_code.clone(),
                f.begin_date.clone(),
                f.other_mdtrt_id.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn planted_stock_and_trace_code_cases_are_found_exactly() {
    on_both(|db| async move {
        imported_with_pharmacies(&db).await;
        let p = plant_pharmacies(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let key = PseudonymKey::load_or_create(&dir.path().join("key")).unwrap();
        let export = ExportOptions {
            out: &out,
            key: &key,
            admdvs: None,
            month: None,
        };
        let first = export_parquet(&db.store, &export, &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("[{}] export: {e}", db.label));
        let moves = first
            .tables
            .iter()
            .find(|t| t.table == "inventory_moves")
            .expect("inventory_moves in the report");
        // Partitions: 140500 in February, March, April, May; 140525 in June.
        assert_eq!((moves.written, moves.rows), (5, 24), "[{}]", db.label);
        for part in [
            "inventory_moves/admdvs=140500/month=2025-02/part-0.parquet",
            "inventory_moves/admdvs=140525/month=2025-06/part-0.parquet",
            "trace_codes/admdvs=140500/month=2025-05/part-0.parquet",
            "trace_codes/admdvs=140525/month=2025-06/part-0.parquet",
        ] {
            assert!(out.join(part).is_file(), "[{}] {part}", db.label);
        }
        let codes = first
            .tables
            .iter()
            .find(|t| t.table == "trace_codes")
            .expect("trace_codes in the report");
        assert_eq!(codes.rows, 14, "[{}] one row per code", db.label);
        check_export(&out).expect("a whole export");

        // A second run writes nothing; a July purchase at C writes July's partition alone.
        let again = export_parquet(&db.store, &export, &mut |_| {})
            .await
            .unwrap();
        assert!(again.tables.iter().all(|t| t.written == 0), "{again:?}");
        put_one(
            &db,
            PHARMACY_C,
            "C-B3",
            InventoryKind::Purchase,
            record(DRUG_F, "LC2", "C-B3", 10, at("2025-07-01", "10:00:00")),
        )
        .await;
        let july = export_parquet(&db.store, &export, &mut |_| {})
            .await
            .unwrap();
        let moves = july
            .tables
            .iter()
            .find(|t| t.table == "inventory_moves")
            .unwrap();
        assert_eq!((moves.written, moves.unchanged), (1, 5), "[{}]", db.label);

        let report = run_batch(&out, &options(&[], &[]), &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("[{}] batch: {e}", db.label));
        assert_eq!(
            ledger_set(&report),
            p.ledger_hits,
            "[{}] {:#?}",
            db.label,
            findings(&report, "S-04")
        );
        assert_eq!(
            reuse_set(&report),
            p.reuse_hits,
            "[{}] {:#?}",
            db.label,
            findings(&report, "S-05")
        );

        let ledger = findings(&report, "S-04");
        let oversold = ledger
            .iter()
            .find(|f| f.fixmedins_code == PHARMACY_B)
            .unwrap();
        assert_eq!(oversold.measure, 3, "5 settled, 2 bought");
        assert_eq!(oversold.end_date.as_deref(), Some("2025-05-31"));
        assert_eq!(
            (oversold.setl_id.as_str(), oversold.psn_pseudonym.as_str()),
            ("", "")
        );
        assert!(
            oversold.vola_cont.contains("相差3单位"),
            "{}",
            oversold.vola_cont
        );
        let short = ledger
            .iter()
            .find(|f| f.fixmedins_code == PHARMACY_C)
            .unwrap();
        assert_eq!(short.measure, 20, "96 expected, 76 counted");

        let reuses = findings(&report, "S-05");
        let across = reuses
            .iter()
            .find(|f| f.fixmedins_code == PHARMACY_B)
            .unwrap();
        assert_eq!(across.setl_id, p.b_second.setl_id);
        assert_eq!(across.mdtrt_id, p.b_second.mdtrt_id);
        assert_eq!(across.psn_pseudonym, key.pseudonym("psn_no", "P005"));
        assert_eq!(across.other_fixmedins_code.as_deref(), Some(PHARMACY));
        assert_eq!(
            across.other_setl_id.as_deref(),
            Some(p.a_third.setl_id.as_str())
        );
        assert_eq!(across.other_begin_date.as_deref(), Some("2025-03-15"));
        assert_eq!(across.code.as_deref(), Some(DRUG));
        assert_eq!(
            across.measure, 4,
            "pharmacies A and B, persons P003 and P005"
        );
        assert_eq!(
            across.fund_pay_sumamt,
            yuan(p.b_second.amounts.fund_pay_sumamt.0),
            "the later sale's settlement"
        );
        assert!(across.vola_cont.contains("TR-AB"), "{}", across.vola_cont);
        let self_paid = reuses
            .iter()
            .find(|f| f.other_mdtrt_id.as_deref() == Some("TR-DUP"))
            .unwrap();
        assert_eq!(
            (
                self_paid.setl_id.as_str(),
                self_paid.fund_pay_sumamt.as_str()
            ),
            ("", "0.00")
        );
        assert_eq!(self_paid.code.as_deref(), Some(DRUG_E));

        // Parameters move the thresholds: no percentage tolerance flags F's 4 units at C; two
        // sales of a code allowed at one pharmacy (拆零) clears TR-SPLIT; a 25 % tolerance
        // clears C's E (20 of 100) but not B's (3 beyond 2 bought: the one-unit floor holds).
        let moved = run_batch(
            &out,
            &options(
                &["S-04", "S-05"],
                &[
                    ("S-04.tolerance_pct", "0"),
                    ("S-05.same_pharmacy_sales_max", "2"),
                ],
            ),
            &mut |_| {},
        )
        .await
        .unwrap();
        let mut want = p.ledger_hits.clone();
        want.insert((PHARMACY_C.into(), DRUG_F.into(), "2025-06-01".into()));
        assert_eq!(ledger_set(&moved), want, "[{}]", db.label);
        let want: BTreeSet<_> = p
            .reuse_hits
            .iter()
            .filter(|h| h.2 != "TR-SPLIT")
            .cloned()
            .collect();
        assert_eq!(reuse_set(&moved), want, "[{}]", db.label);
        let wide = run_batch(
            &out,
            &options(&["S-04"], &[("S-04.tolerance_pct", "25")]),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            ledger_set(&wide),
            [(
                PHARMACY_B.to_owned(),
                DRUG.to_owned(),
                "2025-05-01".to_owned()
            )]
            .into_iter()
            .collect(),
            "[{}]",
            db.label
        );
        // Settlements of another 医疗类别 are not the pharmacy's sales: B's settled excess
        // goes, its reported sales beyond its stock stay.
        let other_types = run_batch(
            &out,
            &options(&["S-04"], &[("S-04.sale_med_types", "11")]),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(ledger_set(&other_types), p.ledger_hits, "[{}]", db.label);
        db
    })
    .await;
}

#[tokio::test]
async fn bad_pharmacy_parameters_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-export");
    for (params, field, reason) in [
        (
            vec![("S-04.tolerance_pct", "101")],
            "S-04.tolerance_pct",
            "outside the allowed range 0–100",
        ),
        (
            vec![("S-04.tolerance_units", "-1")],
            "S-04.tolerance_units",
            "outside",
        ),
        (
            vec![("S-04.sale_med_types", "41|4'1")],
            "S-04.sale_med_types",
            "not a code prefix",
        ),
        (
            vec![("S-05.same_pharmacy_sales_max", "0")],
            "S-05.same_pharmacy_sales_max",
            "outside the allowed range 1–100",
        ),
        (
            vec![("S-05.window_days", "3")],
            "S-05.window_days",
            "no parameter window_days",
        ),
    ] {
        let err = run_batch(&nowhere, &options(&[], &params), &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BatchError::BadInput { field: f, .. } if f == field),
            "{err}"
        );
        assert!(err.to_string().contains(reason), "{err}");
    }
}
