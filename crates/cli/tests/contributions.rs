//! Issue 13 item 4: `yibao contributions declare` and `yibao contributions run --month` on a
//! small demo city in SQLite: the run assesses the declared employees and the retirees, lists
//! the undeclared as cases, leaves the ledger balanced, and a second run writes nothing.

use std::process::Command;

use sqlx::{Connection, Row};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");

fn yibao(args: &[&str], dir: &std::path::Path) -> (String, String) {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run yibao");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "yibao {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// Runs yibao expecting it to fail; its stderr.
fn yibao_fails(args: &[&str], dir: &std::path::Path) -> String {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run yibao");
    assert!(!output.status.success(), "yibao {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn issue13_contributions_run_assesses_a_month_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("city.db").display());
    yibao(
        &[
            "demo",
            "--db",
            &url,
            "--persons",
            "300",
            "--setup-only",
            "--no-enrollment-year",
            "--seed",
            "13",
        ],
        dir.path(),
    );
    // Three in-service employees of the city get a declaration for the current year.
    let (year, employees) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let begn: String = sqlx::query("SELECT MAX(begndate) FROM insurance")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        let year: i32 = begn[..4].parse().unwrap();
        let rows = sqlx::query(
            "SELECT psn_no, insuplc_admdvs FROM insurance WHERE insutype = '310' AND psn_type LIKE '11%' \
             AND psn_insu_stas = '1' AND enddate = '' AND begndate <= $1 ORDER BY psn_no LIMIT 3",
        )
        .bind(format!("{year}-01-01"))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let employees: Vec<(String, String)> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        (year, employees)
    });
    assert_eq!(employees.len(), 3, "the demo city has employees");
    let admdvs = &employees[0].1;
    std::fs::write(
        dir.path().join("employers.csv"),
        format!("emp_no,emp_name,insu_admdvs\nEMP1,晋城煤业,{admdvs}\n"),
    )
    .unwrap();
    let mut wages = String::from("psn_no,year,emp_no,wage,source\n");
    for (psn_no, _) in &employees {
        wages.push_str(&format!("{psn_no},{year},EMP1,3800.00,employer\n"));
    }
    std::fs::write(dir.path().join("wages.csv"), wages).unwrap();
    let (out, _) = yibao(
        &[
            "contributions",
            "declare",
            "--db",
            &url,
            "--employers",
            "employers.csv",
            "--wages",
            "wages.csv",
        ],
        dir.path(),
    );
    assert!(out.contains("wage declarations recorded: 3"), "{out}");

    let month = format!("{year}-01");
    let (out, _) = yibao(
        &[
            "contributions",
            "run",
            "--db",
            &url,
            "--month",
            &month,
            "--json",
        ],
        dir.path(),
    );
    let report: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(report["run_id"], format!("E{month}"));
    assert_eq!(report["ledger_balanced"], true, "{report}");
    let assessed = report["assessed"].as_u64().unwrap();
    let credits = report["retiree_credits"].as_u64().unwrap();
    assert_eq!(assessed - credits, 3, "three declared employees: {report}");
    assert!(
        report["cases"].as_u64().unwrap() > 0,
        "undeclared employees are cases: {report}"
    );
    if year >= 2025 && admdvs == "140500" {
        // 3,800.00 is below the floor 4,200.00: 336.00 and 84.00 each.
        assert_eq!(report["employer"], "1008.00", "{report}");
    }

    let (out, _) = yibao(
        &["contributions", "run", "--db", &url, "--month", &month],
        dir.path(),
    );
    assert!(out.contains("nothing new"), "{out}");
    assert!(out.contains("ledger check: balanced"), "{out}");

    // 退费: the first employee's month back; the share credited to the account goes to the
    // person, the employer's back to the collection.
    let certno: String = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT certno FROM person WHERE psn_no = $1")
            .bind(&employees[0].0)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0)
    });
    let today = format!("{year}-02-01");
    let refund = [
        "contributions",
        "refund",
        "--db",
        &url,
        "--certno",
        &certno,
        "--insutype",
        "310",
        "--period",
        &month,
        "--reason",
        "重复参保退费",
        "--today",
        &today,
    ];
    let (out, _) = yibao(&[&refund[..], &["--json"]].concat(), dir.path());
    let done: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(done["ledger_balanced"], true, "{done}");
    assert_eq!(done["psn_no"], employees[0].0.as_str());
    assert_eq!(done["paid_to"], format!("payout:person:{}", employees[0].0));
    if year >= 2025 && admdvs == "140500" {
        assert_eq!(done["to_person"], "84.00", "{done}");
        assert_eq!(done["reversed"][0]["amount"], "336.00", "{done}");
    }
    let err = yibao_fails(&refund, dir.path());
    assert!(err.contains("refunded before"), "{err}");
    let mut bad = refund;
    bad[7] = "320";
    let err = yibao_fails(&bad, dir.path());
    assert!(err.contains("insutype"), "{err}");
}
