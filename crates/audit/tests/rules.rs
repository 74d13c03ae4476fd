//! Every shipped rule fires on a planted case and stays silent on a clean one; plus the meanings
//! issue 12 fixes (age in completed years, bounds inclusive, day over every encounter, the later
//! line of a pair is item type 1) and the load errors (file, row, reason).

use std::collections::BTreeSet;

use yibao_audit::{
    audit, builtin, load_knowledge, load_rules, AuditInput, Builtin, Encounter, FeeLine, Finding,
    Gend, HospLv, Person, Phase, VolaItemType,
};
use yibao_core_types::{Fen, NaiveDate, Quantity};

/// One fee line: (mdtrt_id, med_list_codg, count in units, fee date).
type Line = (&'static str, &'static str, i64, &'static str);

/// A bill: person (gend, brdy), institution level, diagnoses, lines.
struct Bill {
    gend: &'static str,
    brdy: &'static str,
    hosp_lv: i64,
    dx: &'static [&'static str],
    lines: &'static [Line],
}

struct Case {
    rule_id: &'static str,
    planted: Bill,
    clean: Bill,
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn input(bill: &Bill) -> AuditInput {
    let mut encounters: Vec<Encounter> = Vec::new();
    for (line_idx, &(mdtrt_id, code, units, fee_date)) in bill.lines.iter().enumerate() {
        let line = FeeLine {
            rx_id: format!("RX{}", line_idx + 1),
            feedetl_sn: Some(format!("{}", line_idx + 1)),
            med_list_codg: code.to_owned(),
            cnt: Quantity::units(units),
            amount: Fen(1_000 * units),
            fee_date: date(fee_date),
        };
        match encounters.iter_mut().find(|e| e.mdtrt_id == mdtrt_id) {
            Some(encounter) => encounter.lines.push(line),
            None => encounters.push(Encounter {
                mdtrt_id: mdtrt_id.to_owned(),
                begn_date: date(fee_date),
                hosp_lv: HospLv::new(bill.hosp_lv).unwrap(),
                diagnoses: Vec::new(),
                lines: vec![line],
            }),
        }
    }
    if encounters.is_empty() {
        encounters.push(Encounter {
            mdtrt_id: "M1".to_owned(),
            begn_date: date("2026-03-02"),
            hosp_lv: HospLv::new(bill.hosp_lv).unwrap(),
            diagnoses: Vec::new(),
            lines: Vec::new(),
        });
    }
    encounters[0].diagnoses = bill.dx.iter().map(|dx| dx.to_string()).collect();
    AuditInput {
        person: Person {
            gend: Gend::parse(bill.gend).unwrap(),
            brdy: date(bill.brdy),
        },
        admdvs: None,
        current_mdtrt_id: None,
        encounters,
    }
}

const D: &str = "2026-03-02";
const D2: &str = "2026-03-03";
const ADULT: &str = "1980-06-15";

const fn bill(
    gend: &'static str,
    brdy: &'static str,
    hosp_lv: i64,
    lines: &'static [Line],
) -> Bill {
    Bill {
        gend,
        brdy,
        hosp_lv,
        dx: &[],
        lines,
    }
}

const fn dx_bill(gend: &'static str, brdy: &'static str, dx: &'static [&'static str]) -> Bill {
    Bill {
        gend,
        brdy,
        hosp_lv: 3,
        dx,
        lines: &[],
    }
}

const fn dx_lines(dx: &'static [&'static str], lines: &'static [Line]) -> Bill {
    Bill {
        gend: "1",
        brdy: ADULT,
        hosp_lv: 3,
        dx,
        lines,
    }
}

const CASES: &[Case] = &[
    Case {
        rule_id: "POL-07",
        planted: dx_lines(&["I10"], &[("M1", "XB03XA0491", 1, D)]),
        clean: dx_lines(&["N18.5"], &[("M1", "XB03XA0491", 1, D)]),
    },
    Case {
        rule_id: "POL-08",
        planted: dx_lines(&["I10"], &[("M1", "311500271", 1, D)]),
        clean: dx_lines(&["I10", "N18.5"], &[("M1", "311500271", 1, D)]),
    },
    Case {
        rule_id: "MED-24",
        planted: dx_lines(&["I10"], &[("M1", "C0400801", 1, D)]),
        clean: dx_lines(&["I21.0"], &[("M1", "C0400801", 1, D)]),
    },
    Case {
        rule_id: "MED-09",
        planted: dx_lines(&["J45.9"], &[("M1", "XC07AB0161", 1, D)]),
        clean: dx_lines(&["I10"], &[("M1", "XC07AB0161", 1, D)]),
    },
    Case {
        rule_id: "MED-10",
        planted: dx_lines(&["I21.0"], &[("M1", "310700251", 1, D)]),
        clean: dx_lines(&["K29.7"], &[("M1", "310700251", 1, D)]),
    },
    Case {
        rule_id: "MED-01",
        planted: bill("1", ADULT, 3, &[("M1", "XL02BG0561", 1, D)]),
        clean: bill("2", ADULT, 3, &[("M1", "XL02BG0561", 1, D)]),
    },
    Case {
        rule_id: "MED-02",
        planted: bill("1", ADULT, 3, &[("M1", "331800361", 1, D)]),
        clean: bill("2", ADULT, 3, &[("M1", "331800361", 1, D)]),
    },
    Case {
        // 14 days apart is inside a 15-day interval; 15 days apart keeps it.
        rule_id: "PRC-10",
        planted: bill(
            "1",
            ADULT,
            3,
            &[
                ("M1", "250300171", 1, D),
                ("M2", "250300171", 1, "2026-03-16"),
            ],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[
                ("M1", "250300171", 1, D),
                ("M2", "250300171", 1, "2026-03-17"),
            ],
        ),
    },
    Case {
        rule_id: "MED-03",
        planted: bill("1", ADULT, 3, &[("M1", "C0101507", 1, D)]),
        clean: bill("2", ADULT, 3, &[("M1", "C0101507", 1, D)]),
    },
    Case {
        // 17 the day before the 18th birthday; 18 on it (bounds inclusive).
        rule_id: "POL-06",
        planted: bill("1", "2008-03-02", 3, &[("M1", "C0101308", 1, D)]),
        clean: bill("1", "2008-03-03", 3, &[("M1", "C0101308", 1, D)]),
    },
    Case {
        rule_id: "MED-05",
        planted: bill("1", ADULT, 3, &[("M1", "120400113", 1, D)]),
        clean: bill("1", "2016-01-01", 3, &[("M1", "120400113", 1, D)]),
    },
    Case {
        // 17 the day before the 18th birthday; 18 on it (bounds inclusive).
        rule_id: "MED-06",
        planted: bill("1", "2008-03-03", 3, &[("M1", "XJ01MA0041", 1, D)]),
        clean: bill("1", "2008-03-02", 3, &[("M1", "XJ01MA0041", 1, D)]),
    },
    Case {
        // 65 on the birthday; 64 the day before.
        rule_id: "MED-07",
        planted: bill("2", "1961-03-02", 3, &[("M1", "XN05BA0301", 1, D)]),
        clean: bill("2", "1961-03-03", 3, &[("M1", "XN05BA0301", 1, D)]),
    },
    Case {
        rule_id: "POL-23",
        planted: bill("1", "2014-01-01", 3, &[("M1", "331500341", 1, D)]),
        clean: bill("1", ADULT, 3, &[("M1", "331500341", 1, D)]),
    },
    Case {
        // "day" counts over every encounter the input carries.
        rule_id: "PRC-09",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "120200091", 1, D), ("M2", "120200091", 1, D)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "120200091", 1, D), ("M2", "120200091", 1, D2)],
        ),
    },
    Case {
        rule_id: "PRC-06",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "250300171", 1, D), ("M1", "250300171", 1, D2)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "250300171", 1, D), ("M2", "250300171", 1, D)],
        ),
    },
    Case {
        rule_id: "MED-23",
        planted: bill("1", ADULT, 3, &[("M1", "C0400801", 4, D)]),
        clean: bill("1", ADULT, 3, &[("M1", "C0400801", 3, D)]),
    },
    Case {
        rule_id: "MED-12",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XN02BE0281", 3, D), ("M1", "XN02BE0281", 2, D)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XN02BE0281", 3, D), ("M1", "XN02BE0281", 2, D2)],
        ),
    },
    Case {
        rule_id: "POL-17",
        planted: bill("1", ADULT, 3, &[("M1", "XN02AX0291", 2, D)]),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XN02AX0291", 1, D), ("M2", "XN02AX0291", 1, D2)],
        ),
    },
    Case {
        rule_id: "PRC-12",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "120200091", 1, D), ("M1", "120200101", 1, D)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "120200091", 1, D), ("M1", "120200101", 1, D2)],
        ),
    },
    Case {
        rule_id: "PRC-01",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "110400051", 1, D), ("M1", "110200011", 1, D2)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "110400051", 1, D), ("M2", "110200011", 1, D2)],
        ),
    },
    Case {
        rule_id: "PRC-02",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "C0100101", 1, D), ("M1", "120400111", 1, D)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "C0100101", 1, D), ("M1", "120400111", 1, D2)],
        ),
    },
    Case {
        rule_id: "MED-14",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XB01AC0201", 1, D), ("M2", "XA02BC0221", 1, D)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XB01AC0201", 1, D), ("M1", "XA02BC0221", 1, D2)],
        ),
    },
    Case {
        rule_id: "MED-13",
        planted: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XC10AA0171", 1, D), ("M1", "XC10AA0181", 1, D2)],
        ),
        clean: bill(
            "1",
            ADULT,
            3,
            &[("M1", "XC10AA0171", 1, D), ("M2", "XC10AA0181", 1, D)],
        ),
    },
    Case {
        rule_id: "POL-10",
        planted: bill("1", ADULT, 1, &[("M1", "XC01EB0591", 1, D)]),
        clean: bill("1", ADULT, 2, &[("M1", "XC01EB0591", 1, D)]),
    },
    Case {
        rule_id: "POL-11",
        planted: bill("1", ADULT, 1, &[("M1", "330900331", 1, D)]),
        clean: bill("1", ADULT, 2, &[("M1", "330900331", 1, D)]),
    },
    Case {
        rule_id: "MGT-07",
        planted: dx_bill("1", ADULT, &["O80.0"]),
        clean: dx_bill("2", ADULT, &["O80.0"]),
    },
    Case {
        rule_id: "MGT-08",
        planted: dx_bill("1", ADULT, &["P07.3"]),
        clean: dx_bill("1", "2026-02-20", &["P07.3"]),
    },
];

fn case(rule_id: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.rule_id == rule_id)
        .unwrap_or_else(|| panic!("no case for {rule_id}"))
}

fn shipped() -> Builtin {
    builtin().unwrap_or_else(|err| panic!("shipped audit files load: {err}"))
}

fn run(shipped: &Builtin, bill: &Bill) -> Vec<Finding> {
    audit(
        &input(bill),
        &shipped.rules,
        &shipped.knowledge,
        Phase::During,
    )
}

#[test]
fn every_rule_fires_on_its_planted_case_and_not_on_its_clean_one() {
    let shipped = shipped();
    let mut failures = Vec::new();
    for case in CASES {
        let planted = run(&shipped, &case.planted);
        if !planted.iter().any(|f| f.rule_id == case.rule_id) {
            failures.push(format!("{}: silent on the planted case", case.rule_id));
        }
        let clean = run(&shipped, &case.clean);
        if let Some(finding) = clean.iter().find(|f| f.rule_id == case.rule_id) {
            failures.push(format!(
                "{}: fired on the clean case: {}",
                case.rule_id, finding.vola_cont
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_shipped_rule_has_a_case() {
    let shipped = shipped();
    let rules: BTreeSet<&str> = shipped
        .rules
        .rules
        .iter()
        .map(|r| r.rule_id.as_str())
        .collect();
    let cases: BTreeSet<&str> = CASES.iter().map(|c| c.rule_id).collect();
    let untested: Vec<_> = rules.difference(&cases).collect();
    let unknown: Vec<_> = cases.difference(&rules).collect();
    assert!(untested.is_empty(), "rules without a case: {untested:?}");
    assert!(unknown.is_empty(), "cases of no shipped rule: {unknown:?}");
    assert!(rules.len() >= 28, "{} rules", rules.len());
}

#[test]
fn a_pair_names_the_later_line_as_type_1_and_the_other_as_type_2() {
    let shipped = shipped();
    let findings = run(&shipped, &case("PRC-01").planted);
    let finding = findings.iter().find(|f| f.rule_id == "PRC-01").unwrap();
    let details: Vec<_> = finding
        .details
        .iter()
        .map(|d| (d.rx_id.as_str(), d.vola_item_type, d.vola_amt))
        .collect();
    assert_eq!(
        details,
        vec![
            ("RX2", VolaItemType::Violating, Fen(1_000)),
            ("RX1", VolaItemType::Involved, Fen::ZERO)
        ]
    );
    assert_eq!(finding.vola_amt, Fen(1_000));
    assert_eq!(
        finding.vola_cont,
        "【普通门诊诊查费】与【住院诊查费】重复收费，同一次就诊内同时开具（2026-03-03）"
    );
}

#[test]
fn a_quantity_finding_flags_only_the_excess_share() {
    let shipped = shipped();
    // 3 + 2 on one day against a cap of 4: the second line carries 1 of its 2 units.
    let findings = run(&shipped, &case("MED-12").planted);
    let finding = findings.iter().find(|f| f.rule_id == "MED-12").unwrap();
    assert_eq!(finding.vola_amt, Fen(1_000));
    let types: Vec<_> = finding
        .details
        .iter()
        .map(|d| (d.rx_id.as_str(), d.vola_item_type))
        .collect();
    assert_eq!(
        types,
        vec![
            ("RX1", VolaItemType::Involved),
            ("RX2", VolaItemType::Violating)
        ]
    );
    assert_eq!(
        finding.vola_cont,
        "【对乙酰氨基酚片（规格一）】每日（2026-03-02）限4，实际5，超出1"
    );
}

#[test]
fn a_sex_finding_reads_as_the_national_template() {
    let shipped = shipped();
    let findings = run(&shipped, &case("MED-01").planted);
    let finding = findings.iter().find(|f| f.rule_id == "MED-01").unwrap();
    assert_eq!(
        finding.vola_cont,
        "【来曲唑片（规格一）】限女性使用，患者性别为男性（2026-03-02）"
    );
    assert_eq!(finding.sev_deg.get(), 1);
    assert_eq!(finding.details[0].feedetl_sn.as_deref(), Some("1"));
}

#[test]
fn an_interval_is_measured_from_the_last_charge_that_kept_it() {
    // Day 0 kept, day 10 too soon (flagged), day 16 is 16 days after day 0: kept, not flagged.
    let bill = bill(
        "1",
        ADULT,
        3,
        &[
            ("M1", "250300171", 1, D),
            ("M2", "250300171", 1, "2026-03-12"),
            ("M3", "250300171", 1, "2026-03-18"),
        ],
    );
    let findings = run(&shipped(), &bill);
    let flagged: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule_id == "PRC-10")
        .map(|f| f.mdtrt_id.as_str())
        .collect();
    assert_eq!(flagged, ["M2"]);
}

#[test]
fn history_encounters_count_but_are_not_flagged() {
    let shipped = shipped();
    let planted = &case("PRC-09").planted;
    let mut history_current = input(planted);
    history_current.current_mdtrt_id = Some("M2".to_owned());
    let findings = audit(
        &history_current,
        &shipped.rules,
        &shipped.knowledge,
        Phase::Before,
    );
    let finding = findings.iter().find(|f| f.rule_id == "PRC-09").unwrap();
    assert_eq!(finding.mdtrt_id, "M2");
    // With M1 current, the line over the cap is M2's: nothing to flag in M1.
    history_current.current_mdtrt_id = Some("M1".to_owned());
    let findings = audit(
        &history_current,
        &shipped.rules,
        &shipped.knowledge,
        Phase::Before,
    );
    assert!(
        findings.iter().all(|f| f.rule_id != "PRC-09"),
        "{findings:#?}"
    );
}

const CATALOGUE: &str = include_str!("../../../data/catalogue-demo.csv");

fn catalogue() -> yibao_policy::Catalogue {
    yibao_policy::parse_catalogue("catalogue-demo.csv", CATALOGUE).unwrap()
}

const RULE_HEAD: &str = "[[rule]]\nrule_id = \"T-1\"\nname = \"t\"\nversion = 1\nbegn_date = \"2025-01-01\"\nscenes = [\"outpatient\"]\nphases = [\"during\"]\nsev_deg = 1\nfund_types = [\"310100\"]\nmoney_kind = \"L\"\ncategory = \"POL\"\nvola_evid = \"t\"\n";

#[test]
fn bad_files_are_refused_with_file_row_and_reason() {
    let cases: &[(&str, String)] = &[
        (
            "rules.toml: rule 1 (T-1): executor: unknown executor `sex_limits`",
            format!("{RULE_HEAD}knowledge = [\"sex_limit\"]\nexecutor = \"sex_limits\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): params.list_types: missing parameter of sex_limit (a list)",
            format!("{RULE_HEAD}knowledge = [\"sex_limit\"]\nexecutor = \"sex_limit\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): params.per: missing parameter of quantity_limit (a non-empty string)",
            format!("{RULE_HEAD}knowledge = [\"quantity_limit\"]\nexecutor = \"quantity_limit\"\n[rule.params]\nlist_types = [\"drug\"]\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): knowledge: executor level_limit reads table level_limit, which the rule does not name",
            format!("{RULE_HEAD}knowledge = [\"sex_limit\"]\nexecutor = \"level_limit\"\n[rule.params]\nlist_types = [\"drug\"]\n"),
        ),
        (
            "rules.toml: rule 2 (T-1): begn_date: overlaps version 1 of the same rule",
            format!("{RULE_HEAD}knowledge = [\"sex_limit\"]\nexecutor = \"sex_limit\"\n[rule.params]\nlist_types = [\"drug\"]\n{}knowledge = [\"sex_limit\"]\nexecutor = \"sex_limit\"\n[rule.params]\nlist_types = [\"drug\"]\n", RULE_HEAD.replace("version = 1", "version = 2")),
        ),
    ];
    for (expected, text) in cases {
        let err = load_rules("rules.toml", text).unwrap_err();
        assert_eq!(&err.to_string(), expected);
    }
    let catalogue = catalogue();
    let tables: &[(&str, &str, &str)] = &[
        (
            "sex_limit.csv",
            "med_list_codg,gend,begn_date,end_date,admdvs\nXL02BG0561,2,,,\nNOSUCHCODE,2,,,\n",
            "sex_limit.csv: line 3: med_list_codg: `NOSUCHCODE` is not in the catalogue",
        ),
        (
            "age_limit.csv",
            "med_list_codg,min_age,max_age,begn_date,end_date,admdvs\nXJ01MA0041,18,,2025-01-01,2025-12-31,\nXJ01MA0041,16,,2025-06-01,,\n",
            "age_limit.csv: line 3: begn_date: `XJ01MA0041` overlaps line 2: effective dates and regions may not overlap",
        ),
        (
            "exclusive_pair.csv",
            "med_list_codg_a,med_list_codg_b,within,begn_date,end_date,admdvs\n120200091,120200101,day,,,\n120200101,120200091,visit,,,\n",
            "exclusive_pair.csv: line 3: begn_date: `120200091+120200101` overlaps line 2: effective dates and regions may not overlap",
        ),
        (
            "quantity_limit.csv",
            "med_list_codg,max_cnt,begn_date,end_date,admdvs\n120200091,1,,,\n",
            "quantity_limit.csv: line 1: missing column `per`",
        ),
        (
            "sex_limits.csv",
            "med_list_codg,gend,begn_date,end_date,admdvs\n",
            "sex_limits.csv: file: unknown knowledge table `sex_limits`",
        ),
    ];
    for (file, text, expected) in tables {
        let err = load_knowledge(&[(file, text)], &catalogue).unwrap_err();
        assert_eq!(&err.to_string(), expected);
    }
    // Successive versions that do not overlap, or different regions, load.
    let ok = "med_list_codg,min_age,max_age,begn_date,end_date,admdvs\nXJ01MA0041,18,,2025-01-01,2025-12-31,\nXJ01MA0041,16,,2026-01-01,,\nXJ01MA0042,18,,,,140500\nXJ01MA0042,16,,,,370200\n";
    let knowledge = load_knowledge(&[("age_limit.csv", ok)], &catalogue).unwrap();
    assert_eq!(knowledge.age_limit.len(), 4);
}

#[test]
fn knowledge_holds_only_where_and_when_its_scope_says() {
    let catalogue = catalogue();
    let shipped = shipped();
    let text =
        "med_list_codg,gend,begn_date,end_date,admdvs\nXL02BG0561,2,2026-03-01,2026-03-31,140500\n";
    let knowledge = load_knowledge(&[("sex_limit.csv", text)], &catalogue).unwrap();
    let mut planted = input(&case("MED-01").planted);
    let fired = |planted: &AuditInput| {
        audit(planted, &shipped.rules, &knowledge, Phase::During)
            .iter()
            .any(|f| f.rule_id == "MED-01")
    };
    assert!(
        !fired(&planted),
        "no region given: a regional entry does not hold"
    );
    planted.admdvs = Some(yibao_core_types::Admdvs::parse("140502").unwrap());
    assert!(fired(&planted), "a district of the entry's city");
    planted.admdvs = Some(yibao_core_types::Admdvs::parse("370200").unwrap());
    assert!(!fired(&planted), "another city");
    planted.admdvs = Some(yibao_core_types::Admdvs::parse("140500").unwrap());
    planted.encounters[0].lines[0].fee_date = date("2026-04-01");
    assert!(!fired(&planted), "after end_date");
}

/// A bill of one encounter at `hosp_lv` on `D` with the given (code, units) lines.
fn planted_input(gend: Gend, brdy: NaiveDate, hosp_lv: i64, lines: &[(&str, i64)]) -> AuditInput {
    AuditInput {
        person: Person { gend, brdy },
        admdvs: None,
        current_mdtrt_id: None,
        encounters: vec![Encounter {
            mdtrt_id: "M1".to_owned(),
            begn_date: date(D),
            hosp_lv: HospLv::new(hosp_lv).unwrap(),
            diagnoses: Vec::new(),
            lines: lines
                .iter()
                .enumerate()
                .map(|(line_idx, &(code, units))| FeeLine {
                    rx_id: format!("RX{}", line_idx + 1),
                    feedetl_sn: None,
                    med_list_codg: code.to_owned(),
                    cnt: Quantity::units(units),
                    amount: Fen(500 * units),
                    fee_date: date(D),
                })
                .collect(),
        }],
    }
}

/// Born `years` years before `D` (so exactly `years` old on `D`).
fn aged(years: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026 - years as i32, 3, 2).unwrap()
}

/// What an outside check does with `yibao audit knowledge`: plant a violation of each shipped
/// line-level entry (and each diagnosis-item entry) from its published meaning alone and expect a finding citing that entry.
#[test]
fn every_shipped_knowledge_entry_fires_when_violated_as_published() {
    use yibao_audit::Table;
    let shipped = shipped();
    let knowledge = &shipped.knowledge;
    let mut plants: Vec<(Table, usize, AuditInput)> = Vec::new();
    for (idx, e) in knowledge.sex_limit.iter().enumerate() {
        let other = if e.gend == Gend::Male {
            Gend::Female
        } else {
            Gend::Male
        };
        plants.push((
            Table::SexLimit,
            idx,
            planted_input(other, aged(40), 3, &[(&e.med_list_codg, 1)]),
        ));
    }
    for (idx, e) in knowledge.age_limit.iter().enumerate() {
        if let Some(min) = e.min_age.filter(|min| *min > 0) {
            let input = planted_input(Gend::Male, aged(min - 1), 3, &[(&e.med_list_codg, 1)]);
            plants.push((Table::AgeLimit, idx, input));
        }
        if let Some(max) = e.max_age {
            let input = planted_input(Gend::Male, aged(max + 1), 3, &[(&e.med_list_codg, 1)]);
            plants.push((Table::AgeLimit, idx, input));
        }
    }
    for (idx, e) in knowledge.quantity_limit.iter().enumerate() {
        let units = e.max_cnt.0 / 10_000 + 1;
        plants.push((
            Table::QuantityLimit,
            idx,
            planted_input(Gend::Male, aged(40), 3, &[(&e.med_list_codg, units)]),
        ));
    }
    for (idx, e) in knowledge.exclusive_pair.iter().enumerate() {
        let lines = [
            (e.med_list_codg_a.as_str(), 1),
            (e.med_list_codg_b.as_str(), 1),
        ];
        plants.push((
            Table::ExclusivePair,
            idx,
            planted_input(Gend::Male, aged(40), 3, &lines),
        ));
    }
    for (idx, e) in knowledge.level_limit.iter().enumerate() {
        let below = i64::from(e.min_hosp_lv.get()) - 1;
        if below >= 1 {
            plants.push((
                Table::LevelLimit,
                idx,
                planted_input(Gend::Male, aged(40), below, &[(&e.med_list_codg, 1)]),
            ));
        }
    }
    for (idx, e) in knowledge.dx_required.iter().enumerate() {
        plants.push((
            Table::DxRequired,
            idx,
            planted_input(Gend::Male, aged(40), 3, &[(&e.med_list_codg, 1)]),
        ));
    }
    for (idx, e) in knowledge.dx_excluded.iter().enumerate() {
        let mut input = planted_input(Gend::Male, aged(40), 3, &[(&e.med_list_codg, 1)]);
        input.encounters[0].diagnoses = vec![e.dise_codg_prefixes[0].clone()];
        plants.push((Table::DxExcluded, idx, input));
    }
    for (idx, e) in knowledge.min_interval.iter().enumerate() {
        // Two charges on one day are 0 days apart.
        let lines = [(e.med_list_codg.as_str(), 1), (e.med_list_codg.as_str(), 1)];
        plants.push((
            Table::MinInterval,
            idx,
            planted_input(Gend::Male, aged(40), 3, &lines),
        ));
    }
    assert!(plants.len() >= 54, "{} plants", plants.len());
    let mut silent = Vec::new();
    for (table, idx, input) in &plants {
        for phase in [Phase::Before, Phase::During] {
            let findings = audit(input, &shipped.rules, knowledge, phase);
            if !findings
                .iter()
                .any(|f| f.evidence.table == *table && f.evidence.entry_idx == *idx)
            {
                silent.push(format!("{} entry {idx} at {phase:?}", table.name()));
            }
        }
    }
    assert!(silent.is_empty(), "entries no rule enforces: {silent:#?}");
}
