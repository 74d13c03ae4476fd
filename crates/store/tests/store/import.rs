//! Registry import: what it loads and how it refuses a bad file.

use super::common::*;
use yibao_store::*;

#[tokio::test]
async fn import_loads_the_registry_and_opens_the_ledger() {
    on_both(|db| async move {
        let dir = registry_dir();
        let summary = db.store.import_registry(dir.path()).await.expect("import");
        assert_eq!(summary.persons, 5);
        assert_eq!(summary.accounts, 3);
        assert_eq!(summary.institutions, 4);
        assert_eq!((summary.ec_tokens, summary.ss_cards), (2, 3));
        assert_eq!(summary.chronic_recognitions, 4);
        assert_eq!(
            summary.policies,
            yibao_policy::builtin::BUILTIN_POLICY_FILES.len()
        );
        let inst = db
            .store
            .institution_by_access_key("AK002")
            .expect("by access key");
        assert_eq!(inst.fixmedins_code, CLINIC);
        assert_eq!(inst.hi_setl_lv, "1");
        assert!(
            !db.store
                .institution_by_code(SUSPENDED)
                .expect("suspended")
                .active
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P001"))
                .await
                .unwrap(),
            Some(50_000)
        );
        assert_eq!(
            db.store
                .account_balance(&ledger::personal_account("P003"))
                .await
                .unwrap(),
            None
        );
        let info = db
            .store
            .person_info("140502198502021235")
            .await
            .expect("1101 by certno");
        assert_eq!(info.base.psn_no, "P002");
        assert_eq!(info.insurance[0].balc_fen, 10_000);
        assert_eq!(
            db.store.person_info("P004").await.unwrap().identities[0].sp_psn_type,
            "1"
        );
        assert_balanced(&db).await;
        // A second import into the same store is refused and changes nothing.
        let before = counts(&db).await;
        assert!(matches!(
            db.store.import_registry(dir.path()).await,
            Err(ImportError::NotEmpty { persons: 5 })
        ));
        assert_eq!(counts(&db).await, before);
        db
    })
    .await;
}

/// Each case: a file, a text replacement that breaks it, and the issue expected (file, line,
/// column, a fragment of the reason). Listed in file order.
/// (file, text to replace, replacement, (file, line, column, reason fragment) expected).
type Defect = (
    &'static str,
    &'static str,
    &'static str,
    (&'static str, u64, &'static str, &'static str),
);

const IMPORT_DEFECTS: &[Defect] = &[
    (
        "chronic_recognitions.csv",
        "E11.900,2型糖尿病,2025-01-01",
        "E11.900,2型糖尿病,2024-12-01",
        (
            "chronic_recognitions.csv",
            4,
            "begndate",
            "recognised for E11.900 twice",
        ),
    ),
    (
        "chronic_recognitions.csv",
        "2025-06-01,,H14050000001",
        "2025-06-01,,H14059999999",
        (
            "chronic_recognitions.csv",
            5,
            "fixmedins_code",
            "not in institutions.csv",
        ),
    ),
    (
        "chronic_recognitions.csv",
        "P004,N18.500,慢性肾脏病5期(透析)",
        "P004,,慢性肾脏病5期(透析)",
        ("chronic_recognitions.csv", 5, "opsp_dise_code", "is empty"),
    ),
    (
        "ec_tokens.csv",
        "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a,P002",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P002",
        ("ec_tokens.csv", 3, "ec_token", "appears twice"),
    ),
    (
        "ec_tokens.csv",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P001",
        "7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e,P009",
        ("ec_tokens.csv", 2, "psn_no", "not in persons.csv"),
    ),
    (
        "ss_cards.csv",
        "P004,2015-01-01,2024-12-31",
        "P004,2015-01-01,2025-01-01",
        ("ss_cards.csv", 4, "begndate", "two cards in force"),
    ),
    (
        "ss_cards.csv",
        "A00000004,",
        "A00000003,",
        ("ss_cards.csv", 3, "card_no", "appears twice"),
    ),
    (
        "persons.csv",
        "140502199003031236",
        "14050219900303123",
        ("persons.csv", 4, "certno", "18-character resident id"),
    ),
    (
        "persons.csv",
        "P005,",
        "P001,",
        ("persons.csv", 6, "psn_no", "appears twice"),
    ),
    (
        "persons.csv",
        "psn_no,certno",
        "psn_no,cert_no",
        ("persons.csv", 1, "cert_no", "unknown column"),
    ),
    (
        "insurance.csv",
        "P003,390,1501",
        "P099,390,1501",
        ("insurance.csv", 4, "psn_no", "not in persons.csv"),
    ),
    (
        "insurance.csv",
        "P004,390,1501,140500,,2015-01-01,,1",
        "P004,390,1501,140500,,2015-01-01,2014-01-01,1",
        ("insurance.csv", 5, "enddate", "before begndate"),
    ),
    (
        "insurance.csv",
        "P005,310,1101,140500,泽州电厂,2020-01-01,,1",
        "P005,310,1101,140500,泽州电厂,2020-01-01,,1\nP005,310,1201,140500,泽州电厂,2021-01-01,,1",
        ("insurance.csv", 7, "begndate", "two active 310 relations"),
    ),
    (
        "insurance.csv",
        "P003,390,1501,140500",
        "P003,390,1501,14050",
        ("insurance.csv", 4, "insuplc_admdvs", "not 6 digits"),
    ),
    (
        "identities.csv",
        "P004,1,",
        "P004,7,",
        ("identities.csv", 2, "sp_psn_type", "not one of"),
    ),
    (
        "accounts.csv",
        "P002,100.00",
        "P002,-1.00",
        ("accounts.csv", 3, "balance", "negative"),
    ),
    (
        "accounts.csv",
        "P005,0",
        "P003,0",
        ("accounts.csv", 4, "psn_no", "no 310 relation"),
    ),
    (
        "accounts.csv",
        "P001,500.00",
        "P001,500.001",
        ("accounts.csv", 2, "balance", "more than two decimals"),
    ),
    (
        "family_bindings.csv",
        "P002,P001,1",
        "P002,P002,1",
        (
            "family_bindings.csv",
            2,
            "family_psn_no",
            "bound to themselves",
        ),
    ),
    (
        "institutions.csv",
        "AK002",
        "AK001",
        ("institutions.csv", 3, "access_key", "appears twice"),
    ),
    (
        "institutions.csv",
        "H14050000002,泽州县社区卫生服务中心,1,1,1",
        "H14050000002,泽州县社区卫生服务中心,1,1,4",
        ("institutions.csv", 3, "hi_setl_lv", "not one of"),
    ),
    (
        "filings.csv",
        "F0001,2",
        "F0001,9",
        ("filings.csv", 2, "dcla_type", "not one of"),
    ),
    (
        "catalogue.csv",
        "X-ITEM-B,彩色多普勒超声,service,02,0.10",
        "X-ITEM-B,彩色多普勒超声,service,02,1.10",
        ("catalogue.csv", 0, "", "selfpay_prop"),
    ),
];

#[tokio::test]
async fn import_errors_name_file_line_column_and_write_nothing() {
    on_both(|db| async move {
        let empty = counts(&db).await;
        for (file, from, to, (e_file, e_line, e_column, e_reason)) in IMPORT_DEFECTS {
            let dir = registry_dir();
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(from), "fixture {file} lacks {from:?}");
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            let err = db.store.import_registry(dir.path()).await.expect_err(&format!("{file}: {to:?} must be refused"));
            let ImportError::Invalid(issues) = err else { panic!("{file}: {to:?}: unexpected error {err}") };
            let found = issues.iter().any(|i| {
                (i.file == *e_file || i.file.is_empty() || e_file.is_empty())
                    && (i.line == *e_line || *e_line == 0)
                    && (i.column == *e_column || e_column.is_empty())
                    && (i.reason.contains(e_reason) || i.to_string().contains(e_reason))
            });
            assert!(found, "[{}] {file}: {to:?}: expected {e_file}:{e_line} {e_column} {e_reason:?}, got {issues:#?}", db.label);
            assert_eq!(counts(&db).await, empty, "a refused import wrote something");
        }
        // A missing file is an I/O error naming it.
        let dir = registry_dir();
        std::fs::remove_file(dir.path().join("filings.csv")).unwrap();
        match db.store.import_registry(dir.path()).await {
            Err(ImportError::Io { file, .. }) => assert_eq!(file, "filings.csv"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert_eq!(counts(&db).await, empty);
        db
    })
    .await;
}
