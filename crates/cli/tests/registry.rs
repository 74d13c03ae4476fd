//! `yibao registry import police|identity` and `yibao registry check` with the real binary:
//! the summary line, `line N: REASON` per refused row, replays, hostile files, the check's CSV.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_yibao");
const POLICE: &str = "certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel\n";
const IDENTITY: &str = "certno,psn_name,idet_type,begn_date,end_date\n";

/// A valid citizen ID (GB 11643 check character).
fn citizen_id(area: &str, brdy: &str, seq: u32) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{area}{}{seq:03}", brdy.replace('-', ""));
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = match (12 - sum % 11) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap(),
    };
    format!("{body}{check}")
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("registry.db").display())
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn import(url: &str, kind: &str, file: &Path) -> (bool, String, String) {
    let out = run(&[
        "registry",
        "import",
        kind,
        file.to_str().unwrap(),
        "--db",
        url,
        "--today",
        "2026-03-01",
    ]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn police_and_identity_files_import_report_by_line_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let a = citizen_id("140502", "1980-01-01", 11);
    let b = citizen_id("140502", "1982-02-02", 12);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!(
            "{POLICE}{a},张一,1,1980-01-01,140500,H1,02\n\
             {b},李二,2,1982-02-02,140500,H1,10\n\
             {b},李二,2,1982-02-02,140500,H2,10\n\
             123,无号,1,1980-01-01,140500,H1,02\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("taken 1, matched 0, refused 3, created 1, cases 1"),
        "{out}"
    );
    assert!(
        out.contains("\nline 3: one person in two households in this file (lines 3, 4)\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 4: one person in two households"),
        "{out}"
    );
    assert!(out.contains("\nline 5: certno `123`: bad_length"), "{out}");
    assert!(out.contains("\ncase line 3: household_conflict: "), "{out}");

    let (ok, again, _) = import(&url, "police", &police);
    assert!(ok);
    assert!(
        again.starts_with("replayed, nothing written: taken 1, matched 0, refused 3"),
        "{again}"
    );
    assert_eq!(
        again.lines().skip(1).collect::<Vec<_>>(),
        out.lines().skip(1).collect::<Vec<_>>()
    );

    let identity = dir.path().join("identity.csv");
    std::fs::write(
        &identity,
        format!("{IDENTITY}{a},张一,2303,2026-01-01,\n{a},张一,2303,2026-04-01,\n"),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "identity", &identity);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("taken 1, matched 1, refused 1, created 0, cases 0\nline 3: begn_date 2026-04-01 is in the future\n"),
        "{out}"
    );
    // 免申即享: the 低保 record gives, with nobody applying, the year's premium subsidy,
    // medical assistance from its start and enrollment (the person has no paid relation);
    // the replayed list decides nothing again.
    assert!(
        out.contains(
            "\nautomatic decisions 3 (subsidies 1, assistance 1, enrollments 1, newborns 0)\n"
        ),
        "{out}"
    );
    let (ok, again, _) = import(&url, "identity", &identity);
    assert!(ok);
    assert!(again.starts_with("replayed, nothing written"), "{again}");
    assert!(!again.contains("automatic decisions"), "{again}");

    let csv = dir.path().join("check.csv");
    let check = run(&[
        "registry",
        "check",
        "--db",
        &url,
        "--year",
        "2026",
        "--today",
        "2026-12-05",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(check.status.success());
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.starts_with("year 2026 (as of 2026-12-05): uninsured 1, duplicate 0\n"),
        "{stdout}"
    );
    // The uninsured person holds a subsidised category (低保): the automatic enrollment has not
    // run for them, and the report says so by county.
    assert!(
        stdout.contains("\nall  1  0 (0/0)  0.00%  0  0/1 0.00%  category_not_enrolled 1\n"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        format!("certno,finding\n{a},uninsured\n")
    );

    // A monthly run looks at the month's last day; follow-ups open once per person and year.
    let monthly = |extra: &[&str]| {
        let mut args = vec!["registry", "check", "--db", &url, "--today", "2026-12-05"];
        args.extend_from_slice(extra);
        let out = run(&args);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, _) = monthly(&["--month", "2026-06", "--open-followups"]);
    assert!(ok);
    assert!(
        stdout.starts_with("year 2026 (as of 2026-06-30): uninsured 1, duplicate 0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nopened 1 follow-ups for the grid workers\n"),
        "{stdout}"
    );
    let (ok, stdout, _) = monthly(&["--month", "2026-12", "--open-followups"]);
    assert!(ok);
    assert!(
        stdout.starts_with("year 2026 (as of 2026-12-05)"),
        "{stdout}"
    );
    assert!(stdout.contains("\nopened 0 follow-ups"), "{stdout}");
    let (ok, _, stderr) = monthly(&["--month", "2026-13"]);
    assert!(!ok);
    assert!(stderr.contains("month"), "{stderr}");
    let (ok, _, stderr) = monthly(&[]);
    assert!(!ok);
    assert!(stderr.contains("--year"), "{stderr}");
}

#[test]
fn hostile_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let file = dir.path().join("feed.csv");
    let a = citizen_id("140502", "1980-01-01", 11);
    let b = citizen_id("140502", "1981-01-01", 13);
    let c = citizen_id("140502", "1982-01-01", 15);
    let d = citizen_id("140502", "1983-01-01", 17);

    // A wrong header refuses the whole file.
    std::fs::write(&file, format!("certno,name,gend\n{a},张一,1\n")).unwrap();
    let (ok, out, err) = import(&url, "police", &file);
    assert!(!ok, "{out}");
    assert!(
        err.contains("header: line 1 is `certno,name,gend`"),
        "{err}"
    );
    // An identity file given as a police file.
    std::fs::write(&file, format!("{IDENTITY}{a},张一,2303,2026-01-01,\n")).unwrap();
    let (ok, _, err) = import(&url, "police", &file);
    assert!(!ok);
    assert!(err.contains("the header of the police file is"), "{err}");
    // An empty file.
    std::fs::write(&file, "").unwrap();
    let (ok, _, err) = import(&url, "police", &file);
    assert!(!ok);
    assert!(err.contains("the file is empty"), "{err}");

    // Row by row: column counts, invalid UTF-8, an oversized field, quotes.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"\xef\xbb\xbf"); // a byte-order mark before the header is accepted
    bytes.extend_from_slice(POLICE.as_bytes());
    bytes.extend_from_slice(format!("{a},张一,1,1980-01-01,140500,H1\n").as_bytes()); // line 2
    bytes.extend_from_slice(format!("{b},").as_bytes()); // line 3: a name that is not UTF-8
    bytes.extend_from_slice(b"\xff\xfe");
    bytes.extend_from_slice(b",1,1981-01-01,140500,H1,02\n");
    bytes.extend_from_slice(
        format!("{c},{},1,1982-01-01,140500,H1,02\n", "长".repeat(101)).as_bytes(),
    ); // line 4
    bytes.extend_from_slice(
        format!("{d},\"欧阳,\"\"小\"\"明\",1,1983-01-01,140500,H1,02\n").as_bytes(),
    ); // line 5: quoted
    bytes.extend_from_slice(format!("{a},张一,1,1980-01-01,140500,H1,02,extra\n").as_bytes()); // line 6
    bytes.extend_from_slice(format!("{a},\"张一,1,1980-01-01,140500,H1,02\n").as_bytes()); // line 7: unterminated quote
    std::fs::write(&file, &bytes).unwrap();
    let (ok, out, err) = import(&url, "police", &file);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("taken 1, matched 0, refused 5, created 1, cases 0\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 2: expected 7 fields, found 6\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 3: psn_name is not valid UTF-8\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 4: psn_name is longer than 100 characters\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 6: expected 7 fields, found 8\n"),
        "{out}"
    );
    assert!(
        out.contains("\nline 7: expected 7 fields, found 2\n"),
        "{out}"
    );
    assert!(!out.contains("line 5:"), "{out}");
}

#[test]
fn transfers_refuse_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let a = citizen_id("140502", "1980-01-01", 41);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!("{POLICE}{a},吴一,1,1980-01-01,140500,H9,02\n"),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    // Registered by the police feed but not insured: nothing to send.
    let sheet = dir.path().join("sheet.json");
    let out = run(&[
        "registry",
        "transfer-out",
        "--db",
        &url,
        "--psn-no",
        "NOBODY",
        "--to",
        "370200",
        "--accepted-on",
        "2026-03-02",
        "--sheet-out",
        sheet.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no 310 relation in force on 2026-03-02"),
        "{stderr}"
    );
    assert!(!sheet.exists());
    // A sheet for a person this registry does not know is refused, naming the field.
    std::fs::write(
        &sheet,
        serde_json::json!({
            "transfer_id": "TR1", "certno": citizen_id("370202", "1985-03-03", 21),
            "insutype": "310", "psn_type": "1101", "from_admdvs": "430300",
            "to_admdvs": "140500", "ended_on": "2026-02-28", "balance_fen": 100,
            "regions": [{"admdvs": "430300", "months_actual": 96, "months_deemed": 0}]
        })
        .to_string(),
    )
    .unwrap();
    let out = run(&[
        "registry",
        "transfer-in",
        sheet.to_str().unwrap(),
        "--db",
        &url,
        "--received-on",
        "2026-03-02",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sheet.certno"), "{stderr}");
    // The person the police feed registered gets the relation.
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sheet).unwrap()).unwrap();
    value["certno"] = serde_json::json!(a);
    std::fs::write(&sheet, value.to_string()).unwrap();
    let out = run(&[
        "registry",
        "transfer-in",
        sheet.to_str().unwrap(),
        "--db",
        &url,
        "--received-on",
        "2026-03-02",
        "--done-on",
        "2026-03-10",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Five working days from Monday 2026-03-02: Monday 2026-03-09; loaded a day late.
    assert_eq!(
        stdout,
        "loaded TR1: months 96 actual, 0 deemed; balance 1.00; due 2026-03-09, done 2026-03-10 (late)\n"
    );
}

#[test]
fn maternity_allowances_name_a_bad_month_and_report_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let out = run(&[
        "contributions",
        "maternity",
        "--db",
        &url,
        "--month",
        "2025-13",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--month 2025-13"), "{stderr}");
    let out = run(&[
        "contributions",
        "maternity",
        "--db",
        &url,
        "--month",
        "2025-07",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "maternity allowances 2025-07: 0 stays, 0 paid (0.00), 0 refused\n"
    );
}

#[test]
fn a_birth_the_police_register_is_pre_registered_without_an_application() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let mother = citizen_id("140502", "1995-05-05", 62);
    let baby = citizen_id("140502", "2026-01-15", 63);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!(
            "{POLICE}{mother},冯母,2,1995-05-05,140500,H7,02\n{baby},冯子,1,2026-01-15,140500,H7,20\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(
            "\nautomatic decisions 1 (subsidies 0, assistance 0, enrollments 0, newborns 1)\n"
        ),
        "{out}"
    );
    // The newborn counts as insured (a child resident from birth); the mother does not.
    let csv = dir.path().join("check.csv");
    let check = run(&[
        "registry",
        "check",
        "--db",
        &url,
        "--year",
        "2026",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(check.status.success());
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        format!("certno,finding\n{mother},uninsured\n")
    );
}

#[test]
fn chronic_proposals_read_a_period_of_settlement_lists() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let out = run(&[
        "registry",
        "chronic-proposals",
        "--db",
        &url,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "settlement lists 2026-01-01..2026-12-31: 0 read, 0 chronic recognitions proposed for review\n"
    );
    let out = run(&[
        "registry",
        "chronic-proposals",
        "--db",
        &url,
        "--from",
        "2026-12-31",
        "--to",
        "2026-01-01",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("to: before from"));
}

#[test]
fn a_death_from_the_police_ends_the_relations_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let mother = citizen_id("140502", "1995-05-05", 72);
    let baby = citizen_id("140502", "2026-01-15", 73);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!(
            "{POLICE}{mother},卫母,2,1995-05-05,140500,H8,02\n{baby},卫子,1,2026-01-15,140500,H8,20\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    let deaths = dir.path().join("deaths.csv");
    std::fs::write(
        &deaths,
        format!("certno,psn_name,death_date\n{baby},卫子,2026-02-20\n{baby},卫子,2027-01-01\n"),
    )
    .unwrap();
    // Without a department the list is refused as a whole.
    let (ok, _, err) = import(&url, "death", &deaths);
    assert!(!ok);
    assert!(err.contains("--dept is required"), "{err}");
    let out = run(&[
        "registry",
        "import",
        "death",
        deaths.to_str().unwrap(),
        "--db",
        &url,
        "--dept",
        "police",
        "--today",
        "2026-03-01",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("recorded 1, refused 1, acted on 1, waiting 0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: death_date 2027-01-01 is in the future"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(police): 1 relations ended; 0 settlements after it"),
        "{stdout}"
    );
}

#[test]
fn a_retirement_approval_for_a_person_without_a_relation_is_refused_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let a = citizen_id("140502", "1965-06-01", 81);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!("{POLICE}{a},褚一,1,1965-06-01,140500,H9,02\n"),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    let approvals = dir.path().join("retire.csv");
    std::fs::write(
        &approvals,
        format!("certno,psn_name,retire_date\n{a},褚一,2026-02-15\nnot-a-number,某,2026-02-15\n"),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "retirement", &approvals);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        "retired 0, short of years 0, refused 2, decided before 0\n\
         line 2: no employee relation in force on 2026-02-15\n\
         line 3: certno `not-a-number`: bad_length\n"
    );
}

#[test]
fn education_and_disability_rosters_report_by_line_and_propose_fallback_matches() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let a = citizen_id("140502", "2008-06-07", 13);
    let b = citizen_id("140502", "2012-05-01", 22);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!(
            "{POLICE}{a},陈刚,1,2008-06-07,140502,H1,02\n\
             {b},阿依古丽·买买提,2,2012-05-01,140502,H2,02\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");

    let roster = |kind: &str, file: &Path| {
        let out = run(&[
            "registry",
            "import",
            kind,
            file.to_str().unwrap(),
            "--db",
            &url,
            "--today",
            "2026-03-01",
            "--region",
            "1405",
            "--quiet",
        ]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let education = dir.path().join("education.csv");
    std::fs::write(
        &education,
        format!(
            "certno,psn_name,gend,brdy,school_code,school_admdvs,stu_type,entry_date,grad_date\n\
             {a},陈刚,1,2008-06-07,M7,140502,1403,2020-09-01,\n\
             ,阿依古丽•买买提,2,2012-05-01,P3,140502,1403,2018-09-01,\n\
             {a},陈刚,1,2008-06-07,M8,140502,9999,2020-09-01,\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = roster("education", &education);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(
            "taken 2, matched 1, refused 1, created 0, cases 1\n\
             line 4: stu_type `9999` is not a student psn_type (1402, 1403, 1404)\n\
             case line 3: fallback_match: no_id: name, birth date and sex match only "
        ),
        "{out}"
    );
    let (ok, again, _) = roster("education", &education);
    assert!(ok);
    assert!(
        again.starts_with("replayed, nothing written: taken 2"),
        "{again}"
    );

    let disability = dir.path().join("disability.csv");
    std::fs::write(
        &disability,
        format!(
            "certno,psn_name,gend,brdy,dsab_type,dsab_lv,begn_date,end_date\n\
             {a},陈刚,1,2008-06-07,4,2,2025-03-01,\n\
             {b},阿依古丽·买买提,2,2012-05-01,1,3,2025-03-01,\n\
             {b},阿依古丽·买买提,2,2012-05-01,1,0,2025-03-01,\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = roster("disability", &disability);
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(
            "taken 2, matched 2, refused 1, created 0, cases 0\n\
             line 4: dsab_lv `0` is not a level 1–4\n"
        ),
        "{out}"
    );
    // The wrong header refuses the whole file.
    let (ok, _, err) = roster("disability", &education);
    assert!(!ok);
    assert!(
        err.contains("the header of the disability file is"),
        "{err}"
    );
    // The police file matches by ID only: a region is refused, not ignored.
    let (ok, _, err) = roster("police", &police);
    assert!(!ok);
    assert!(
        err.contains("only `education` and `disability` take it"),
        "{err}"
    );
}

/// The tax bureau's payments: a newborn the police registered is assessed for the year, the
/// family's payment inside the newborn window gives benefits from birth, bad rows are refused by
/// line, and the same file again writes nothing.
#[test]
fn a_tax_file_pays_assessments_and_replays_as_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let mother = citizen_id("140502", "1995-05-05", 82);
    let baby = citizen_id("140502", "2026-01-15", 83);
    let police = dir.path().join("police.csv");
    std::fs::write(
        &police,
        format!(
            "{POLICE}{mother},卫母,2,1995-05-05,140500,H9,02\n{baby},卫子,1,2026-01-15,140500,H9,20\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "police", &police);
    assert!(ok, "{out}{err}");
    let out = run(&[
        "contributions",
        "run",
        "--db",
        &url,
        "--year",
        "2026",
        "--residents",
        "--assessed-on",
        "2026-02-01",
        "--quiet",
    ]);
    assert!(out.status.success(), "{out:?}");
    let tax = dir.path().join("tax.csv");
    std::fs::write(
        &tax,
        format!(
            "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n\
             {baby},390,2026,400.00,T1,2026-02-20\n\
             {mother},390,2026,400.00,T2,2026-02-20\n\
             {baby},390,2026,1.00,T3,2026-02-21\n\
             {baby},390,2026,1.00,T4,2026-03-02\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = import(&url, "tax", &tax);
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "taken 1, matched 3, refused 3, payments 1 (400.00), benefit periods 1 (waiting 0)\n\
             line 3: no 390 assessment of 14050000000000000001 for 2026\n\
             line 4: amount 1.00 is more than the 0.00 outstanding on 390:2026:14050000000000000002:normal\n\
             line 5: clct_date 2026-03-02 is in the future\n"
        )
    );
    let (ok, again, _) = import(&url, "tax", &tax);
    assert!(ok);
    assert_eq!(again, format!("replayed, nothing written: {out}"));
}
