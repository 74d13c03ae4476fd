//! `export_parquet` against a real store on SQLite and PostgreSQL: the files read back with the
//! Parquet crate's Arrow reader hold the store's rows and amounts, no identifier, stable
//! pseudonyms; a second run touches nothing; a new settlement rewrites only its month; another
//! schema version or a missing partition is refused naming the file.

#[path = "../../store/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arrow::array::{Array, Decimal128Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use yibao_batch::{check_export, export_parquet, BatchError, ExportOptions, PseudonymKey};
use yibao_store::*;

/// The fixture registry of the store's tests (persons P001..P005 and their identity numbers).
async fn imported_fixture(db: &TestDb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/registry");
    for entry in std::fs::read_dir(&fixture).expect("fixture folder") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy fixture");
    }
    std::fs::create_dir_all(dir.path().join("policies")).expect("policies folder");
    for (name, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        std::fs::write(dir.path().join(name), text).expect("write policy");
    }
    db.store
        .import_registry(dir.path())
        .await
        .expect("import the fixture registry");
}

/// The fixture's person numbers and identity numbers: none may appear in an exported file.
const IDENTIFIERS: &[&str] = &[
    "P001",
    "P002",
    "P003",
    "P004",
    "P005",
    "140502198001011234",
    "140502198502021235",
    "140502199003031236",
    "140502195004041237",
    "14050220000505123X",
    "13800000001",
];

/// An envelope like `common::env` at another time.
fn env_at(inst: &str, msgid: &str, infno: &str, when: chrono::NaiveDateTime) -> Envelope {
    let mut envelope = env(inst, msgid, infno, msgid);
    envelope.now = when;
    envelope
}

async fn exec_at(
    db: &TestDb,
    inst: &str,
    msgid: &str,
    infno: &str,
    cmd: Command,
    when: chrono::NaiveDateTime,
) -> Outcome {
    fresh(
        db.store
            .execute(&env_at(inst, msgid, infno, when), cmd, &render)
            .await
            .unwrap_or_else(|e| panic!("[{}] {infno} {msgid}: {e}", db.label)),
    )
}

/// 2201 → 2203 → 2204 → 2207 of one line at the clinic for P003, settled at `when`.
async fn settle_at(
    db: &TestDb,
    tag: &str,
    price_yuan: i64,
    when: chrono::NaiveDateTime,
) -> SettlementView {
    let mdtrt_id = match exec_at(
        db,
        CLINIC,
        &format!("{tag}-2201"),
        "2201",
        registration_cmd("P003", "390", &format!("{tag}-2201")),
        when,
    )
    .await
    {
        Outcome::VisitOpened { mdtrt_id, .. } => mdtrt_id,
        other => panic!("2201 gave {other:?}"),
    };
    let info = visit_info(&mdtrt_id, "P003", "11", "");
    exec_at(db, CLINIC, &format!("{tag}-2203"), "2203", info, when).await;
    let fees = Command::UploadFees(UploadFees {
        kind: VisitKind::Outpatient,
        lines: vec![line(
            &mdtrt_id,
            "P003",
            "1",
            "X-DRUG-A",
            price_yuan * 1_000_000,
            10_000,
        )],
    });
    exec_at(db, CLINIC, &format!("{tag}-2204"), "2204", fees, when).await;
    let settle = settle_cmd(false, &mdtrt_id, "P003", "390", price_yuan * 100, "0");
    settled(exec_at(db, CLINIC, &format!("{tag}-2207"), "2207", settle, when).await)
}

async fn reverse_at(
    db: &TestDb,
    s: &SettlementView,
    tag: &str,
    when: chrono::NaiveDateTime,
) -> SettlementView {
    let cmd = Command::ReverseSettlement(ReverseSettlement {
        kind: VisitKind::Outpatient,
        visit: VisitRef {
            psn_no: "P003".into(),
            mdtrt_id: s.mdtrt_id.clone(),
            ipt_otp_no: None,
        },
        setl_id: s.setl_id.clone(),
    });
    settled(exec_at(db, CLINIC, tag, "2208", cmd, when).await)
}

/// Every file under `dir` with its modification time and bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mtime = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .expect("mtime");
                out.insert(path.clone(), (mtime, std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// The rows of one Parquet file as one record batch.
fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file")
        .build()
        .expect("a reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("a batch")).collect();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .expect("at least one batch");
    arrow::compute::concat_batches(&schema, &batches).expect("concat")
}

fn text(batch: &RecordBatch, column: &str) -> Vec<String> {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("column {column}"));
    let strings = array.as_any().downcast_ref::<StringArray>().expect("utf8");
    (0..strings.len())
        .map(|i| strings.value(i).to_owned())
        .collect()
}

fn ints(batch: &RecordBatch, column: &str) -> Vec<i64> {
    let array = batch.column_by_name(column).expect("column");
    let values = array.as_any().downcast_ref::<Int64Array>().expect("int64");
    (0..values.len()).map(|i| values.value(i)).collect()
}

/// A decimal(16,2) column's values in fen (its units).
fn fen(batch: &RecordBatch, column: &str) -> Vec<i64> {
    let array = batch.column_by_name(column).expect("column");
    assert_eq!(array.data_type(), &DataType::Decimal128(16, 2), "{column}");
    let values = array
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .expect("decimal");
    (0..values.len())
        .map(|i| i64::try_from(values.value(i)).expect("fits"))
        .collect()
}

async fn run(db: &TestDb, out: &Path, key: &PseudonymKey) -> yibao_batch::ExportReport {
    let options = ExportOptions {
        out,
        key,
        admdvs: None,
        month: None,
    };
    export_parquet(&db.store, &options, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("[{}] export: {e}", db.label))
}

fn report_of(report: &yibao_batch::ExportReport, table: &str) -> (u64, u64, u64) {
    let t = report
        .tables
        .iter()
        .find(|t| t.table == table)
        .expect("table in the report");
    (t.written, t.unchanged, t.rows)
}

const MAY: &str = "settlements/admdvs=140500/month=2025-05/part-0.parquet";
const JUNE: &str = "settlements/admdvs=140500/month=2025-06/part-0.parquet";

#[tokio::test]
async fn export_reads_back_with_amounts_and_without_identifiers() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        let a = settle_one(
            &db,
            CLINIC,
            "E1",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        let b = settle_one(
            &db,
            HOSPITAL,
            "E2",
            ("P001", "310"),
            ("11", "J06.900"),
            ("X-DRUG-A", 37),
        )
        .await
        .expect("settles");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let key_file = dir.path().join("export.key");
        let key = PseudonymKey::load_or_create(&key_file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the key file is the owner's only");
        }
        let report = run(&db, &out, &key).await;
        assert_eq!(report_of(&report, "settlements"), (1, 0, 2));
        assert_eq!(report_of(&report, "fee_lines"), (1, 0, 2));
        assert_eq!(report_of(&report, "diagnoses"), (1, 0, 2));
        assert_eq!(report_of(&report, "persons"), (1, 0, 5));
        assert!(report.manifest_written);

        let settlements = read(&out.join(MAY));
        assert_eq!(settlements.num_rows(), 2, "[{}]", db.label);
        let ids = text(&settlements, "setl_id");
        for (column, expected) in [
            (
                "medfee_sumamt",
                [a.amounts.medfee_sumamt.0, b.amounts.medfee_sumamt.0],
            ),
            ("hifp_pay", [a.amounts.hifp_pay.0, b.amounts.hifp_pay.0]),
            (
                "psn_cash_pay",
                [a.amounts.psn_cash_pay.0, b.amounts.psn_cash_pay.0],
            ),
            (
                "fund_pay_sumamt",
                [a.amounts.fund_pay_sumamt.0, b.amounts.fund_pay_sumamt.0],
            ),
        ] {
            let got = fen(&settlements, column);
            for (idx, id) in ids.iter().enumerate() {
                let want = if *id == a.setl_id {
                    expected[0]
                } else {
                    expected[1]
                };
                assert_eq!(got[idx], want, "[{}] {column} of {id}", db.label);
            }
            assert_eq!(got.iter().sum::<i64>(), expected.iter().sum::<i64>());
        }
        assert_eq!(
            fen(&settlements, "medfee_sumamt").iter().sum::<i64>(),
            13_700
        );
        let pseudonyms = text(&settlements, "psn_pseudonym");
        for (idx, id) in ids.iter().enumerate() {
            let psn = if *id == a.setl_id { "P003" } else { "P001" };
            assert_eq!(pseudonyms[idx], key.pseudonym("psn_no", psn));
        }

        let fee_lines = read(&out.join("fee_lines/admdvs=140500/month=2025-05/part-0.parquet"));
        assert_eq!(
            fen(&fee_lines, "det_item_fee_sumamt").iter().sum::<i64>(),
            13_700
        );
        let persons = read(&out.join("persons/part-0.parquet"));
        assert_eq!(
            ints(&persons, "birth_year")
                .iter()
                .filter(|y| **y == 1990)
                .count(),
            1
        );
        let person_refs = text(&persons, "psn_pseudonym");
        assert!(person_refs.contains(&key.pseudonym("psn_no", "P003")));
        assert!(
            person_refs.windows(2).all(|w| w[0] < w[1]),
            "persons in pseudonym order"
        );

        // No identifier in any byte of the export.
        for (path, (_, bytes)) in snapshot(&out) {
            for id in IDENTIFIERS {
                assert!(
                    !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                    "[{}] {id} appears in {}",
                    db.label,
                    path.display()
                );
            }
        }
        let check = check_export(&out).expect("a whole export");
        assert_eq!(check.rows, 2 + 2 + 2 + 5 + 4);
        db
    })
    .await;
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_a_new_month_is_written_alone() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        settle_one(
            &db,
            CLINIC,
            "M1",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("settles");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let key = PseudonymKey::load_or_create(&dir.path().join("key")).unwrap();
        run(&db, &out, &key).await;
        let first = snapshot(&out);

        let again = run(&db, &out, &key).await;
        assert!(!again.manifest_written);
        assert!(again.tables.iter().all(|t| t.written == 0), "{again:?}");
        assert_eq!(
            snapshot(&out),
            first,
            "[{}] a second run changed a file",
            db.label
        );

        // A settlement in June writes June's partitions and leaves May's alone.
        let june = at("2025-06-15", "09:00:00");
        let s = settle_at(&db, "J1", 60, june).await;
        let report = run(&db, &out, &key).await;
        assert_eq!(report_of(&report, "settlements"), (1, 1, 2));
        assert_eq!(report_of(&report, "fee_lines"), (1, 1, 2));
        let now_files = snapshot(&out);
        for (path, before) in &first {
            if path.ends_with("_manifest.json") {
                continue;
            }
            assert_eq!(
                now_files.get(path),
                Some(before),
                "{} changed",
                path.display()
            );
        }
        assert_eq!(fen(&read(&out.join(JUNE)), "medfee_sumamt"), vec![6_000]);

        // A reversal is its own row in its own month, every amount negated.
        let r = reverse_at(&db, &s, "J1-2208", at("2025-06-16", "09:00:00")).await;
        run(&db, &out, &key).await;
        let june_rows = read(&out.join(JUNE));
        let ids = text(&june_rows, "setl_id");
        let signs = ints(&june_rows, "setl_sign");
        let sums = fen(&june_rows, "medfee_sumamt");
        let hifp = fen(&june_rows, "hifp_pay");
        let at_r = ids
            .iter()
            .position(|id| *id == r.setl_id)
            .expect("the reversal row");
        let at_s = ids
            .iter()
            .position(|id| *id == s.setl_id)
            .expect("the original row");
        assert_eq!((signs[at_r], signs[at_s]), (-1, 1));
        assert_eq!(sums[at_r], -sums[at_s]);
        assert_eq!(hifp[at_r], -s.amounts.hifp_pay.0);
        assert_eq!(ints(&june_rows, "refd_setl_flag")[at_s], 1);
        assert_eq!(text(&june_rows, "orig_setl_id")[at_r], s.setl_id);
        check_export(&out).expect("a whole export");

        // --month and --region look only at their partitions.
        let options = ExportOptions {
            out: &out,
            key: &key,
            admdvs: Some("140500"),
            month: Some("2025-06"),
        };
        let only_june = export_parquet(&db.store, &options, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(report_of(&only_june, "settlements"), (0, 1, 2));
        let options = ExportOptions {
            admdvs: Some("999999"),
            month: None,
            ..options
        };
        let elsewhere = export_parquet(&db.store, &options, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(report_of(&elsewhere, "settlements"), (0, 0, 0));
        db
    })
    .await;
}

#[tokio::test]
async fn keys_versions_and_missing_files_are_refused_by_name() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        settle_one(&db, CLINIC, "K1", ("P003", "390"), ("11", ""), ("X-DRUG-A", 100))
            .await
            .expect("settles");
        let dir = tempfile::tempdir().unwrap();
        let (out_a, out_b) = (dir.path().join("a"), dir.path().join("b"));
        let key_a = PseudonymKey::load_or_create(&dir.path().join("a.key")).unwrap();
        let key_b = PseudonymKey::load_or_create(&dir.path().join("b.key")).unwrap();
        run(&db, &out_a, &key_a).await;
        run(&db, &out_b, &key_b).await;
        // Stable under one key (the key file read again), different under another.
        let again = PseudonymKey::load_or_create(&dir.path().join("a.key")).unwrap();
        let psn_a = text(&read(&out_a.join(MAY)), "psn_pseudonym");
        let psn_b = text(&read(&out_b.join(MAY)), "psn_pseudonym");
        assert_eq!(psn_a, vec![again.pseudonym("psn_no", "P003")]);
        assert_ne!(psn_a, psn_b);

        // Another key on an existing export.
        let options = ExportOptions {
            out: &out_a,
            key: &key_b,
            admdvs: None,
            month: None,
        };
        let err = export_parquet(&db.store, &options, &mut |_| {}).await.unwrap_err();
        assert!(
            matches!(&err, BatchError::File { path, .. } if path.ends_with("_manifest.json")),
            "{err}"
        );

        // A key file inside the export is refused.
        let inside = yibao_batch::pseudonym::check_key_outside(&out_a.join("k"), &out_a);
        assert!(matches!(inside, Err(BatchError::BadInput { ref field, .. }) if field == "pseudonym-key"));

        // A missing partition is named by check_export.
        std::fs::remove_file(out_b.join(MAY)).unwrap();
        let err = check_export(&out_b).unwrap_err();
        assert!(err.to_string().contains(MAY), "{err}");
        // The export rewrites it.
        let report = run(&db, &out_b, &key_b).await;
        assert_eq!(report_of(&report, "settlements"), (1, 0, 1));
        check_export(&out_b).expect("whole again");
        // Another table's file in a partition's place is named too.
        let fee_file = out_b.join("fee_lines/admdvs=140500/month=2025-05/part-0.parquet");
        std::fs::copy(&fee_file, out_b.join(MAY)).unwrap();
        let err = check_export(&out_b).unwrap_err();
        assert!(
            err.to_string().contains(MAY) && err.to_string().contains("not a file of table settlements"),
            "{err}"
        );
        // The export sees the file is not the one it wrote, and writes it again.
        let report = run(&db, &out_b, &key_b).await;
        assert_eq!(report_of(&report, "settlements"), (1, 0, 1));
        assert_eq!(report_of(&report, "fee_lines"), (0, 1, 1));
        check_export(&out_b).expect("whole again");
        // A file cut short (a half-written copy) is named by the check.
        let bytes = std::fs::read(out_b.join(MAY)).unwrap();
        std::fs::write(out_b.join(MAY), &bytes[..bytes.len() / 2]).unwrap();
        let err = check_export(&out_b).unwrap_err();
        assert!(err.to_string().contains(MAY), "{err}");

        // A manifest of another schema version: refused by the export and by the check, naming
        // the manifest; nothing written.
        let manifest = out_a.join("_manifest.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let changed = text.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
        assert_ne!(changed, text);
        std::fs::write(&manifest, &changed).unwrap();
        let before = snapshot(&out_a);
        let options = ExportOptions { key: &key_a, ..options };
        let err = export_parquet(&db.store, &options, &mut |_| {}).await.unwrap_err();
        assert!(err.to_string().contains("_manifest.json"), "{err}");
        assert!(err.to_string().contains("schema version 2"), "{err}");
        assert_eq!(snapshot(&out_a), before);
        assert!(check_export(&out_a).unwrap_err().to_string().contains("_manifest.json"));
        db
    })
    .await;
}

#[tokio::test]
async fn filters_and_bad_arguments() {
    on_both(|db| async move {
        imported_fixture(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let key = PseudonymKey::generate().unwrap();
        for (admdvs, month, field) in [
            (Some("14/05"), None, "region"),
            (None, Some("2025-13"), "month"),
            (None, Some("2025-5"), "month"),
        ] {
            let options = ExportOptions {
                out: &out,
                key: &key,
                admdvs,
                month,
            };
            let err = export_parquet(&db.store, &options, &mut |_| {})
                .await
                .unwrap_err();
            assert!(err.to_string().starts_with(field), "{err}");
            assert!(!out.exists(), "nothing written on bad input");
        }
        let bad_key = dir.path().join("bad.key");
        std::fs::write(&bad_key, "not a key\n").unwrap();
        let err = PseudonymKey::load_or_create(&bad_key).unwrap_err();
        assert!(err.to_string().contains("bad.key"), "{err}");
        db
    })
    .await;
}
