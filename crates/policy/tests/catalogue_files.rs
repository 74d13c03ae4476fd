//! The catalogue CSV: loading, errors with file/line/column, the writer, and the committed demo
//! catalogue (regenerating it must give the same file; `UPDATE_EXPECT=1` rewrites it).

use std::path::Path;

use yibao_core_types::{ChrgitmLv, ListType, Ratio};
use yibao_policy::{demo_catalogue, parse_catalogue, write_catalogue_csv, Catalogue};

/// The seed of the committed demo catalogue.
const DEMO_SEED: u64 = 2025;

#[test]
fn demo_catalogue_file_is_what_the_generator_writes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/catalogue-demo.csv");
    let generated = write_catalogue_csv(&demo_catalogue(DEMO_SEED)).expect("writes");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &generated).expect("write demo catalogue");
    }
    let committed = std::fs::read_to_string(&path)
        .expect("data/catalogue-demo.csv exists (UPDATE_EXPECT=1 writes it)");
    assert!(committed == generated, "data/catalogue-demo.csv differs from demo_catalogue({DEMO_SEED}); run with UPDATE_EXPECT=1");
    let catalogue =
        parse_catalogue("catalogue-demo.csv", &committed).expect("committed demo catalogue loads");
    assert_eq!(catalogue.entries(), demo_catalogue(DEMO_SEED).as_slice());
}

#[test]
fn demo_catalogue_is_realistic() {
    let entries = demo_catalogue(DEMO_SEED);
    assert!(
        (400..=1_000).contains(&entries.len()),
        "{} entries",
        entries.len()
    );
    let count = |predicate: &dyn Fn(&yibao_policy::CatalogueEntry) -> bool| {
        entries.iter().filter(|entry| predicate(entry)).count()
    };
    for level in [ChrgitmLv::ClassA, ChrgitmLv::ClassB, ChrgitmLv::ClassC] {
        assert!(count(&|entry| entry.chrgitm_lv == level) >= 50, "{level:?}");
    }
    for list_type in [ListType::Drug, ListType::ServiceItem, ListType::Consumable] {
        assert!(
            count(&|entry| entry.list_type == Some(list_type)) >= 100,
            "{list_type:?}"
        );
    }
    assert!(count(&|entry| entry.pric_uplmt_amt.is_some()) >= 100);
    assert!(count(&|entry| entry.lmt_used_flag) >= 20);
    assert!(entries
        .iter()
        .all(|entry| entry.chrgitm_lv == ChrgitmLv::ClassB || entry.selfpay_prop == Ratio::ZERO));
    assert!(entries
        .iter()
        .filter(|entry| entry.chrgitm_lv == ChrgitmLv::ClassB)
        .all(|entry| entry.selfpay_prop > Ratio::ZERO));
    assert_eq!(demo_catalogue(DEMO_SEED), entries, "deterministic");
    assert_ne!(demo_catalogue(DEMO_SEED + 1), entries, "the seed matters");
    Catalogue::from_entries(entries).expect("codes are unique");
}

const HEADER: &str =
    "med_list_codg,med_list_name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag\n";

#[test]
fn catalogue_rows_load() {
    let text =
        format!("{HEADER}XA001,阿莫西林胶囊,drug,01,0,,0\n1102001,诊查费,service,02,0.1,25.5,1\n");
    let catalogue = parse_catalogue("c.csv", &text).expect("valid");
    let entry = catalogue.get("1102001").expect("present");
    assert_eq!(entry.selfpay_prop, Ratio::percent(10));
    assert_eq!(
        entry.pric_uplmt_amt.map(|cap| cap.to_string()),
        Some("25.5".into())
    );
    assert!(entry.lmt_used_flag);
    assert!(catalogue.get("XA002").is_none());
}

#[test]
fn bad_catalogue_rows_name_line_and_column() {
    let cases: &[(&str, &str)] = &[
        ("med_list_codg,name\n", "c.csv: line 1: header: unknown column \"name\""),
        ("med_list_codg,med_list_name\n", "c.csv: line 1: header: missing column \"list_type\""),
        ("XA001,阿莫西林,drug,01,0,,0\n,名称,drug,01,0,,0\n", "c.csv: line 3: med_list_codg: must not be empty"),
        ("XA001,阿莫西林,pill,01,0,,0\n", "c.csv: line 2: list_type: list_type: must be drug, service or consumable (got \"pill\")"),
        ("XA001,阿莫西林,drug,04,0,,0\n", "c.csv: line 2: chrgitm_lv: chrgitm_lv: must be 01 (甲类), 02 (乙类) or 03 (丙类) (got \"04\")"),
        ("XA001,阿莫西林,drug,01,0.1,,0\n", "c.csv: line 2: selfpay_prop: must be 0 for 甲类 (01)"),
        ("XA001,阿莫西林,drug,02,1.2,,0\n", "c.csv: line 2: selfpay_prop: out of range"),
        ("XA001,阿莫西林,drug,02,0.1,1e3,0\n", "c.csv: line 2: pric_uplmt_amt: not a plain decimal number"),
        ("XA001,阿莫西林,drug,02,0.1,,2\n", "c.csv: line 2: lmt_used_flag: must be 0 or 1 (got \"2\")"),
        ("XA001,阿莫西林,drug,01,0,,0\nXA001,阿莫西林,drug,01,0,,0\n", "c.csv: line 3: med_list_codg: duplicate code \"XA001\""),
    ];
    for (rows, expected) in cases {
        let text = if rows.starts_with("med_list_codg") {
            (*rows).to_owned()
        } else {
            format!("{HEADER}{rows}")
        };
        let message = parse_catalogue("c.csv", &text)
            .expect_err(expected)
            .to_string();
        assert!(
            message.starts_with(expected),
            "expected {expected:?}, got {message:?}"
        );
    }
}

/// A code may have versions with effective dates; a bill is priced by the version in force on
/// its fee date, and versions that overlap are refused.
#[test]
fn catalogue_versions_by_date_and_negotiated_flag() {
    let header = "med_list_codg,med_list_name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag,hi_nego_drug_flag,begndate,enddate\n";
    let text = format!(
        "{header}N1,谈判药,drug,02,0.10,300,0,1,2025-01-01,2025-06-30\nN1,谈判药,drug,02,0.05,250,0,1,2025-07-01,\nA1,普通药,drug,01,0,,0,0,,\n"
    );
    let catalogue = parse_catalogue("v.csv", &text).expect("versions load");
    let date = |text: &str| yibao_core_types::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let spring = catalogue
        .get_on("N1", date("2025-03-01"))
        .expect("spring version");
    let autumn = catalogue
        .get_on("N1", date("2025-09-01"))
        .expect("autumn version");
    assert_eq!(spring.selfpay_prop.to_string(), "0.1");
    assert_eq!(autumn.selfpay_prop.to_string(), "0.05");
    assert!(spring.negotiated && autumn.negotiated);
    assert!(catalogue.get_on("N1", date("2024-12-31")).is_none());
    assert!(
        !catalogue
            .get_on("A1", date("2030-01-01"))
            .expect("open")
            .negotiated
    );
    // The old seven-column files still load, as not negotiated and always in force.
    let old = "med_list_codg,med_list_name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,lmt_used_flag\nA1,普通药,drug,01,0,,0\n";
    assert!(
        !parse_catalogue("o.csv", old)
            .expect("old file")
            .get("A1")
            .expect("A1")
            .negotiated
    );
    let overlapping = format!(
        "{header}N1,谈判药,drug,02,0.10,300,0,1,2025-01-01,2025-07-31\nN1,谈判药,drug,02,0.05,250,0,1,2025-07-01,\n"
    );
    let error = parse_catalogue("v.csv", &overlapping).expect_err("overlap");
    assert!(error.to_string().contains("line 3: med_list_codg: duplicate code \"N1\" (versions of a code need effective dates that do not overlap)"), "{error}");
    let bad_flag = format!("{header}A1,普通药,drug,01,0,,0,2,,\n");
    let error = parse_catalogue("v.csv", &bad_flag).expect_err("flag");
    assert!(
        error
            .to_string()
            .contains("hi_nego_drug_flag: must be 0 or 1"),
        "{error}"
    );
}
