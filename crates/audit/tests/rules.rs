//! Every shipped rule fires on a planted case and stays silent on a clean one; plus the meanings
//! issue 12 fixes (age in completed years, bounds inclusive, day over every encounter, the later
//! line of a pair is item type 1) and the load errors (file, row, reason).

use std::collections::BTreeSet;

use yibao_audit::{
    audit, builtin, load_knowledge, load_rules, AuditInput, Builtin, DrordBhvr, Encounter, FeeLine,
    Finding, Gend, HospLv, InsuInfo, Knowledge, MdtrtType, Person, Phase, PsnInsuStas,
    VolaItemType,
};
use yibao_core_types::{Fen, Insutype, ListType, MedType, NaiveDate, Quantity};

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
            hilist_type: None,
            drord_bhvr: None,
            prd_days: None,
            drord_dept_codg: None,
        };
        match encounters.iter_mut().find(|e| e.mdtrt_id == mdtrt_id) {
            Some(encounter) => encounter.lines.push(line),
            None => encounters.push(Encounter {
                lines: vec![line],
                ..visit(mdtrt_id, fee_date, None, Vec::new())
            }),
        }
    }
    if encounters.is_empty() {
        encounters.push(visit("M1", "2026-03-02", None, Vec::new()));
    }
    for encounter in &mut encounters {
        encounter.hosp_lv = HospLv::new(bill.hosp_lv).unwrap();
    }
    encounters[0].diagnoses = bill.dx.iter().map(|dx| dx.to_string()).collect();
    AuditInput {
        person: Person {
            gend: Gend::parse(bill.gend).unwrap(),
            brdy: date(bill.brdy),
            death_date: None,
            insuinfo: Vec::new(),
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

/// A fee line of `units` units at 10 yuan each, without the optional fields.
fn fee(code: &str, units: i64, fee_date: &str) -> FeeLine {
    FeeLine {
        rx_id: String::new(),
        feedetl_sn: None,
        med_list_codg: code.to_owned(),
        cnt: Quantity::units(units),
        amount: Fen(1_000 * units),
        fee_date: date(fee_date),
        hilist_type: None,
        drord_bhvr: None,
        prd_days: None,
        drord_dept_codg: None,
    }
}

/// An encounter at a 三级 institution beginning on `begn`, without the optional fields.
fn visit(
    mdtrt_id: &str,
    begn: &str,
    med_mdtrt_type: Option<MdtrtType>,
    lines: Vec<FeeLine>,
) -> Encounter {
    Encounter {
        mdtrt_id: mdtrt_id.to_owned(),
        begn_date: date(begn),
        dscg_date: None,
        hosp_lv: HospLv::new(3).unwrap(),
        medins_id: None,
        med_mdtrt_type,
        med_type: None,
        insutype: None,
        main_dise_codg: None,
        diagnoses: Vec::new(),
        lines,
    }
}

/// A stay from `adm` to `dscg` with a main diagnosis.
fn stay(mdtrt_id: &str, adm: &str, dscg: &str, main_dx: &str, lines: Vec<FeeLine>) -> Encounter {
    Encounter {
        dscg_date: Some(date(dscg)),
        main_dise_codg: Some(main_dx.to_owned()),
        diagnoses: vec![main_dx.to_owned()],
        ..visit(mdtrt_id, adm, Some(MdtrtType::Inpatient), lines)
    }
}

/// An adult male with `encounters`, every line numbered RX1, RX2, … in order.
fn numbered(mut encounters: Vec<Encounter>) -> AuditInput {
    let mut line_no = 0;
    for line in encounters.iter_mut().flat_map(|e| e.lines.iter_mut()) {
        line_no += 1;
        line.rx_id = format!("RX{line_no}");
        line.feedetl_sn = Some(line_no.to_string());
    }
    AuditInput {
        person: Person {
            gend: Gend::Male,
            brdy: date(ADULT),
            death_date: None,
            insuinfo: Vec::new(),
        },
        admdvs: None,
        current_mdtrt_id: None,
        encounters,
    }
}

/// One outpatient visit on `D` with `lines`.
fn outpatient(lines: Vec<FeeLine>) -> AuditInput {
    numbered(vec![visit("M1", D, Some(MdtrtType::Outpatient), lines)])
}

/// One visit of `med_type` on `D` with `lines`.
fn of_med_type(med_type: &str, mdtrt_type: MdtrtType, lines: Vec<FeeLine>) -> AuditInput {
    numbered(vec![Encounter {
        med_type: Some(MedType::parse(med_type).unwrap()),
        ..visit("M1", D, Some(mdtrt_type), lines)
    }])
}

/// The first encounter with diagnoses `dx`, the first of them main.
fn with_dx(mut input: AuditInput, dx: &[&str]) -> AuditInput {
    input.encounters[0].diagnoses = dx.iter().map(|d| d.to_string()).collect();
    input.encounters[0].main_dise_codg = dx.first().map(|d| d.to_string());
    input
}

fn drug_days(code: &str, prd_days: u32, fee_date: &str) -> FeeLine {
    FeeLine {
        prd_days: Some(prd_days),
        hilist_type: Some(ListType::Drug),
        ..fee(code, 1, fee_date)
    }
}

fn in_dept(code: &str, dept: &str) -> FeeLine {
    FeeLine {
        drord_dept_codg: Some(dept.to_owned()),
        ..fee(code, 1, D)
    }
}

fn typed(code: &str, units: i64, list_type: ListType) -> FeeLine {
    FeeLine {
        hilist_type: Some(list_type),
        ..fee(code, units, D)
    }
}

fn insured(stas: PsnInsuStas, psn_insu_date: &str, paus_insu_date: Option<&str>) -> AuditInput {
    let mut input = outpatient(vec![fee("XJ01CA0011", 1, D)]);
    input.person.insuinfo = vec![InsuInfo {
        insutype: Insutype::EMPLOYEE,
        psn_insu_stas: stas,
        psn_insu_date: date(psn_insu_date),
        paus_insu_date: paus_insu_date.map(date),
    }];
    input
}

/// `n` encounters of `mdtrt_type` on consecutive days from 2026-03-01 (or all on that day).
fn visits(n: usize, mdtrt_type: MdtrtType, same_day: bool) -> AuditInput {
    let first = date("2026-03-01");
    numbered(
        (0..n)
            .map(|visit_idx| {
                let day = if same_day { 0 } else { visit_idx as i64 };
                let begn = (first + chrono::TimeDelta::days(day)).to_string();
                visit(
                    &format!("M{}", visit_idx + 1),
                    &begn,
                    Some(mdtrt_type),
                    vec![fee("XJ01CA0011", 1, &begn)],
                )
            })
            .collect(),
    )
}

/// A rule's planted (`true`) or clean (`false`) input.
struct InputCase {
    rule_id: &'static str,
    build: fn(bool) -> AuditInput,
}

fn input_cases() -> Vec<InputCase> {
    vec![
        InputCase {
            rule_id: "POL-12",
            build: |planted| {
                let t = if planted {
                    MdtrtType::Outpatient
                } else {
                    MdtrtType::Inpatient
                };
                numbered(vec![visit("M1", D, Some(t), vec![fee("XA02BC0231", 1, D)])])
            },
        },
        InputCase {
            rule_id: "POL-13",
            build: |planted| {
                let t = if planted {
                    MdtrtType::Outpatient
                } else {
                    MdtrtType::Inpatient
                };
                numbered(vec![visit("M1", D, Some(t), vec![fee("110400051", 1, D)])])
            },
        },
        InputCase {
            rule_id: "POL-14",
            build: |planted| {
                outpatient(vec![in_dept(
                    "340500291",
                    if planted { "A03" } else { "A21.01" },
                )])
            },
        },
        InputCase {
            rule_id: "POL-25",
            build: |planted| {
                let med_type = if planted { "11" } else { "14" };
                of_med_type(
                    med_type,
                    MdtrtType::Outpatient,
                    vec![fee("XL04AD0511", 1, D)],
                )
            },
        },
        InputCase {
            rule_id: "POL-26",
            build: |planted| {
                insured(
                    PsnInsuStas::Normal,
                    if planted { "2026-03-03" } else { "2026-03-02" },
                    None,
                )
            },
        },
        InputCase {
            rule_id: "POL-27",
            build: |planted| {
                insured(
                    PsnInsuStas::Suspended,
                    "2020-01-01",
                    Some(if planted { "2026-03-02" } else { "2026-03-03" }),
                )
            },
        },
        InputCase {
            rule_id: "POL-28",
            build: |planted| {
                let line = FeeLine {
                    drord_bhvr: Some(DrordBhvr::Discharge),
                    ..drug_days("XA10BA0061", if planted { 15 } else { 14 }, "2026-03-05")
                };
                numbered(vec![stay("M1", D, "2026-03-05", "E11.9", vec![line])])
            },
        },
        InputCase {
            rule_id: "POL-29",
            build: |planted| {
                of_med_type(
                    "11",
                    MdtrtType::Outpatient,
                    vec![drug_days("XC08CA0111", if planted { 8 } else { 7 }, D)],
                )
            },
        },
        InputCase {
            rule_id: "POL-30",
            build: |planted| {
                of_med_type(
                    "13",
                    MdtrtType::Outpatient,
                    vec![drug_days("XJ01CA0011", if planted { 4 } else { 3 }, D)],
                )
            },
        },
        InputCase {
            rule_id: "POL-31",
            build: |planted| {
                of_med_type(
                    "14",
                    MdtrtType::Outpatient,
                    vec![drug_days("XA10BA0061", if planted { 29 } else { 28 }, D)],
                )
            },
        },
        InputCase {
            rule_id: "POL-32",
            build: |planted| {
                with_dx(
                    outpatient(vec![fee("250200131", 1, D)]),
                    if planted { &["Z00.0"] } else { &["J18.9"] },
                )
            },
        },
        InputCase {
            rule_id: "PRC-08",
            build: |planted| {
                let mut lines = vec![fee("110200012", 1, D)];
                if !planted {
                    lines.push(fee("110200011", 1, D));
                }
                outpatient(lines)
            },
        },
        InputCase {
            rule_id: "PRC-15",
            build: |planted| {
                let other = if planted { D } else { D2 };
                numbered(vec![stay(
                    "M1",
                    D,
                    "2026-03-09",
                    "I21.0",
                    vec![fee("110600081", 1, D), fee("120200091", 1, other)],
                )])
            },
        },
        InputCase {
            rule_id: "PRC-05",
            build: |planted| {
                // 普通门诊诊查费 is capped at 14.26 yuan.
                let amount = Fen(if planted { 1_427 } else { 1_426 });
                outpatient(vec![FeeLine {
                    amount,
                    ..fee("110200011", 1, D)
                }])
            },
        },
        InputCase {
            rule_id: "PRC-14",
            build: |planted| {
                // 氨氯地平片（规格一） is capped at 1.34 yuan; 30 tablets.
                let amount = Fen(if planted { 4_021 } else { 4_020 });
                outpatient(vec![FeeLine {
                    amount,
                    ..fee("XC08CA0111", 30, D)
                }])
            },
        },
        InputCase {
            rule_id: "MED-08",
            build: |planted| {
                with_dx(
                    outpatient(vec![fee("XC09CA0131", 1, D)]),
                    if planted { &["Z34.0"] } else { &["I10"] },
                )
            },
        },
        InputCase {
            rule_id: "MED-11",
            build: |planted| {
                with_dx(
                    outpatient(vec![fee("XR03DC0381", 1, D)]),
                    if planted { &["I10"] } else { &["J45.9"] },
                )
            },
        },
        InputCase {
            rule_id: "MED-18",
            build: |planted| {
                with_dx(
                    outpatient(vec![fee("250300171", 1, D)]),
                    if planted { &["I10"] } else { &["E11.9"] },
                )
            },
        },
        InputCase {
            rule_id: "MED-21",
            build: |planted| {
                let mut lines = vec![fee("XL01CD0541", 1, D)];
                lines.push(fee("120400111", 1, if planted { D2 } else { D }));
                numbered(vec![stay("M1", D, "2026-03-09", "C50.9", lines)])
            },
        },
        InputCase {
            rule_id: "MED-22",
            build: |planted| {
                let mut lines = vec![fee("C0601101", 1, D)];
                if !planted {
                    lines.push(fee("330400351", 1, D2));
                }
                numbered(vec![stay("M1", D, "2026-03-04", "H25.9", lines)])
            },
        },
        InputCase {
            rule_id: "MED-25",
            build: |planted| {
                outpatient(vec![
                    in_dept("C0601101", if planted { "A04" } else { "A11" }),
                    fee("330400351", 1, D),
                ])
            },
        },
        InputCase {
            rule_id: "MED-26",
            build: |planted| {
                let second = if planted { "M1" } else { "M2" };
                numbered(vec![
                    visit(
                        "M1",
                        D,
                        Some(MdtrtType::Outpatient),
                        vec![fee("XL04AD0511", 1, D)],
                    ),
                    visit(
                        second,
                        D2,
                        Some(MdtrtType::Outpatient),
                        vec![fee("XL04AD0531", 1, D2)],
                    ),
                ])
                .merged()
            },
        },
        InputCase {
            rule_id: "MGT-10",
            build: |planted| {
                let fee_date = if planted { "2026-03-06" } else { "2026-03-05" };
                numbered(vec![stay(
                    "M1",
                    D,
                    "2026-03-05",
                    "J18.9",
                    vec![fee("110400051", 1, fee_date)],
                )])
            },
        },
        InputCase {
            rule_id: "MGT-15",
            build: |planted| {
                let codes = [
                    "XJ01CA0011",
                    "XA10BA0061",
                    "XC08CA0111",
                    "XC10AA0171",
                    "XB01AC0191",
                    "XA02BC0221",
                ];
                let n = if planted { 6 } else { 5 };
                outpatient(
                    codes[..n]
                        .iter()
                        .map(|c| typed(c, 1, ListType::Drug))
                        .collect(),
                )
            },
        },
        InputCase {
            rule_id: "MGT-21",
            build: |planted| {
                let mut input =
                    of_med_type("52", MdtrtType::Inpatient, vec![fee("331800361", 1, D)]);
                input.person.gend = if planted { Gend::Male } else { Gend::Female };
                input
            },
        },
        InputCase {
            rule_id: "BHV-01",
            build: |planted| {
                let dx = if planted { "I21.4" } else { "J18.9" };
                numbered(vec![
                    stay(
                        "M1",
                        "2026-02-01",
                        "2026-02-10",
                        "I21.0",
                        vec![fee("110400051", 1, "2026-02-01")],
                    ),
                    stay(
                        "M2",
                        "2026-02-25",
                        "2026-03-01",
                        dx,
                        vec![fee("110400051", 1, "2026-02-25")],
                    ),
                ])
            },
        },
        InputCase {
            rule_id: "BHV-02",
            build: |planted| visits(if planted { 16 } else { 15 }, MdtrtType::Outpatient, false),
        },
        InputCase {
            rule_id: "BHV-03",
            build: |planted| visits(if planted { 9 } else { 8 }, MdtrtType::Pharmacy, false),
        },
        InputCase {
            rule_id: "BHV-04",
            build: |planted| visits(if planted { 4 } else { 3 }, MdtrtType::Inpatient, false),
        },
        InputCase {
            rule_id: "BHV-07",
            build: |planted| {
                let begn = if planted { "2026-03-05" } else { "2026-03-10" };
                numbered(vec![
                    stay("M1", D, "2026-03-10", "J18.9", vec![fee("110400051", 1, D)]),
                    visit(
                        "M2",
                        begn,
                        Some(MdtrtType::Outpatient),
                        vec![fee("XJ01CA0011", 1, begn)],
                    ),
                ])
            },
        },
        InputCase {
            rule_id: "BHV-08",
            build: |planted| {
                let begn = if planted { "2026-03-09" } else { "2026-03-10" };
                numbered(vec![
                    stay("M1", D, "2026-03-10", "J18.9", vec![fee("110400051", 1, D)]),
                    stay(
                        "M2",
                        begn,
                        "2026-03-20",
                        "K35.8",
                        vec![fee("110400051", 1, begn)],
                    ),
                ])
            },
        },
        InputCase {
            rule_id: "BHV-09",
            build: |planted| {
                // 30 days' supply at 80 %: a new one is due from the 24th day.
                let again = if planted { "2026-03-25" } else { "2026-03-26" };
                numbered(vec![
                    visit(
                        "M1",
                        D,
                        Some(MdtrtType::Outpatient),
                        vec![drug_days("XA10BA0061", 30, D)],
                    ),
                    visit(
                        "M2",
                        again,
                        Some(MdtrtType::Outpatient),
                        vec![drug_days("XA10BA0061", 30, again)],
                    ),
                ])
            },
        },
        InputCase {
            rule_id: "BHV-10",
            build: |planted| {
                let mut input = outpatient(vec![fee("XJ01CA0011", 1, D)]);
                input.person.death_date = Some(date(if planted { "2026-03-01" } else { D }));
                input
            },
        },
        InputCase {
            rule_id: "BHV-11",
            build: |planted| visits(if planted { 3 } else { 2 }, MdtrtType::Outpatient, true),
        },
        InputCase {
            rule_id: "STA-01",
            build: |planted| {
                // I10 outpatient: 300 yuan × 3.
                with_dx(
                    outpatient(vec![fee("XJ01CA0011", if planted { 91 } else { 90 }, D)]),
                    &["I10"],
                )
            },
        },
        InputCase {
            rule_id: "STA-02",
            build: |planted| {
                // J18 inpatient: 9,000 yuan × 3 for the stay.
                let units = if planted { 2_701 } else { 2_700 };
                numbered(vec![stay(
                    "M1",
                    D,
                    "2026-03-30",
                    "J18.9",
                    vec![fee("XJ01CA0011", units, D)],
                )])
            },
        },
        InputCase {
            rule_id: "STA-03",
            build: |planted| {
                // J18 per day: 1,000 yuan × 3 over 3 days.
                let units = if planted { 901 } else { 900 };
                numbered(vec![stay(
                    "M1",
                    D,
                    "2026-03-05",
                    "J18.9",
                    vec![fee("XJ01CA0011", units, D)],
                )])
            },
        },
        InputCase {
            rule_id: "STA-04",
            build: |planted| {
                let drug = if planted { 71 } else { 70 };
                let lines = vec![
                    typed("XJ01CA0011", drug, ListType::Drug),
                    typed("110400051", 100 - drug, ListType::ServiceItem),
                ];
                numbered(vec![stay("M1", D, "2026-03-05", "J18.9", lines)])
            },
        },
        InputCase {
            rule_id: "STA-05",
            build: |planted| {
                let consumable = if planted { 61 } else { 60 };
                let lines = vec![
                    typed("C0100201", consumable, ListType::Consumable),
                    typed("110400051", 100 - consumable, ListType::ServiceItem),
                ];
                numbered(vec![stay("M1", D, "2026-03-05", "J18.9", lines)])
            },
        },
    ]
}

trait Merged {
    /// Encounters with the same `mdtrt_id` joined into one.
    fn merged(self) -> Self;
}

impl Merged for AuditInput {
    fn merged(mut self) -> AuditInput {
        let mut encounters: Vec<Encounter> = Vec::new();
        for encounter in self.encounters {
            match encounters
                .iter_mut()
                .find(|e| e.mdtrt_id == encounter.mdtrt_id)
            {
                Some(first) => first.lines.extend(encounter.lines),
                None => encounters.push(encounter),
            }
        }
        self.encounters = encounters;
        self
    }
}

#[test]
fn every_new_rule_fires_on_its_planted_input_and_not_on_its_clean_one() {
    let shipped = shipped();
    let mut failures = Vec::new();
    for case in input_cases() {
        for phase in [Phase::Before, Phase::During, Phase::After] {
            let rule = shipped
                .rules
                .rules
                .iter()
                .find(|r| r.rule_id == case.rule_id);
            if rule.is_some_and(|r| !r.phases.contains(&phase)) {
                continue;
            }
            let planted = audit(
                &(case.build)(true),
                &shipped.rules,
                &shipped.knowledge,
                phase,
            );
            if !planted.iter().any(|f| f.rule_id == case.rule_id) {
                failures.push(format!(
                    "{} at {phase:?}: silent on the planted input",
                    case.rule_id
                ));
            }
            let clean = audit(
                &(case.build)(false),
                &shipped.rules,
                &shipped.knowledge,
                phase,
            );
            if let Some(finding) = clean.iter().find(|f| f.rule_id == case.rule_id) {
                failures.push(format!(
                    "{} at {phase:?}: fired on the clean input: {}",
                    case.rule_id, finding.vola_cont
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
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
    let new_cases = input_cases();
    let cases: BTreeSet<&str> = CASES
        .iter()
        .map(|c| c.rule_id)
        .chain(new_cases.iter().map(|c| c.rule_id))
        .collect();
    let untested: Vec<_> = rules.difference(&cases).collect();
    let unknown: Vec<_> = cases.difference(&rules).collect();
    assert!(untested.is_empty(), "rules without a case: {untested:?}");
    assert!(unknown.is_empty(), "cases of no shipped rule: {unknown:?}");
    assert!(rules.len() >= 60, "{} rules", rules.len());
    for category in ["POL", "PRC", "MED", "MGT", "BHV", "STA"] {
        let n = shipped
            .rules
            .rules
            .iter()
            .filter(|r| r.category.code() == category)
            .count();
        assert!(n >= 4, "{category}: {n} rules");
    }
}

#[test]
fn a_pair_names_the_later_line_as_type_1_and_the_other_as_type_2() {
    let shipped = shipped();
    let bill = input(&case("PRC-01").planted);
    let findings = run(&shipped, &case("PRC-01").planted);
    let finding = findings.iter().find(|f| f.rule_id == "PRC-01").unwrap();
    let details: Vec<_> = finding
        .details
        .iter()
        .map(|d| (d.line(&bill).rx_id.as_str(), d.vola_item_type, d.vola_amt))
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
    let bill = input(&case("MED-12").planted);
    let findings = run(&shipped, &case("MED-12").planted);
    let finding = findings.iter().find(|f| f.rule_id == "MED-12").unwrap();
    assert_eq!(finding.vola_amt, Fen(1_000));
    let types: Vec<_> = finding
        .details
        .iter()
        .map(|d| (d.line(&bill).rx_id.as_str(), d.vola_item_type))
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
    let bill = input(&case("MED-01").planted);
    let findings = run(&shipped, &case("MED-01").planted);
    let finding = findings.iter().find(|f| f.rule_id == "MED-01").unwrap();
    assert_eq!(
        finding.vola_cont,
        "【来曲唑片（规格一）】限女性使用，患者性别为男性（2026-03-02）"
    );
    assert_eq!(finding.sev_deg.get(), 1);
    assert_eq!(
        finding.details[0].line(&bill).feedetl_sn.as_deref(),
        Some("1")
    );
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
    let audited = input(&bill);
    let flagged: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule_id == "PRC-10")
        .map(|f| f.mdtrt_id(&audited))
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
    assert_eq!(finding.mdtrt_id(&history_current), "M2");
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
        let err = load_rules("rules.toml", text, &Knowledge::default()).unwrap_err();
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
    let lines = lines
        .iter()
        .map(|&(code, units)| FeeLine {
            amount: Fen(500 * units),
            ..fee(code, units, D)
        })
        .collect();
    let mut input = numbered(vec![Encounter {
        hosp_lv: HospLv::new(hosp_lv).unwrap(),
        ..visit("M1", D, None, lines)
    }]);
    input.person = Person {
        gend,
        brdy,
        death_date: None,
        insuinfo: Vec::new(),
    };
    input
}

/// Born `years` years before `D` (so exactly `years` old on `D`).
fn aged(years: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026 - years as i32, 3, 2).unwrap()
}

/// What an outside check does with `yibao audit knowledge`: plant a violation of each shipped
/// line-level entry (and each diagnosis-item, encounter-attribute, companion, refill and
/// days-supply entry) from its published meaning alone and expect a finding citing that entry.
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
    for (idx, e) in knowledge.encounter_limit.iter().enumerate() {
        use yibao_audit::EncounterAttr;
        let allowed = |value: &str| e.allowed.iter().any(|a| value.starts_with(a.as_str()));
        let mut line = fee(&e.med_list_codg, 1, D);
        let mut encounter = visit("M1", D, None, Vec::new());
        match e.attr {
            EncounterAttr::MedMdtrtType => {
                encounter.med_mdtrt_type = ["1", "2", "3", "4"]
                    .into_iter()
                    .find(|t| !allowed(t))
                    .and_then(MdtrtType::parse);
            }
            EncounterAttr::MedType => {
                encounter.med_type = ["11", "41", "99"]
                    .into_iter()
                    .find(|t| !allowed(t))
                    .map(|t| MedType::parse(t).unwrap());
            }
            EncounterAttr::Insutype => encounter.insutype = Some(Insutype::parse("999").unwrap()),
            EncounterAttr::Dept => line.drord_dept_codg = Some("Z99".to_owned()),
        }
        encounter.lines.push(line);
        plants.push((Table::EncounterLimit, idx, numbered(vec![encounter])));
    }
    for (idx, e) in knowledge.companion.iter().enumerate() {
        plants.push((
            Table::Companion,
            idx,
            outpatient(vec![fee(&e.med_list_codg, 1, D)]),
        ));
    }
    for (idx, e) in knowledge.early_refill.iter().enumerate() {
        let input = numbered(vec![
            visit("M1", D, None, vec![drug_days(&e.med_list_codg, 30, D)]),
            visit("M2", D2, None, vec![drug_days(&e.med_list_codg, 30, D2)]),
        ]);
        plants.push((Table::EarlyRefill, idx, input));
    }
    for (idx, e) in knowledge.days_supply.iter().enumerate() {
        use yibao_audit::SupplyScene;
        let mut line = drug_days("XJ01CA0011", e.max_days + 1, D);
        let med_type = match e.scene {
            SupplyScene::Discharge => {
                line.drord_bhvr = Some(DrordBhvr::Discharge);
                "21"
            }
            SupplyScene::Outpatient => "11",
            SupplyScene::Emergency => "13",
            SupplyScene::Chronic => "14",
        };
        plants.push((
            Table::DaysSupply,
            idx,
            of_med_type(med_type, MdtrtType::Outpatient, vec![line]),
        ));
    }
    for (idx, e) in knowledge.price_limit.iter().enumerate() {
        let line = FeeLine {
            amount: yibao_core_types::line_amount(e.max_pric, Quantity::units(2)) + Fen(1),
            ..fee(&e.med_list_codg, 2, D)
        };
        plants.push((Table::PriceLimit, idx, outpatient(vec![line])));
    }
    assert!(plants.len() >= 370, "{} plants", plants.len());
    let mut silent = Vec::new();
    for (table, idx, input) in &plants {
        for phase in [Phase::Before, Phase::During] {
            let findings = audit(input, &shipped.rules, knowledge, phase);
            if !findings
                .iter()
                .any(|f| f.evidence.table == Some(*table) && f.evidence.entry_idx == Some(*idx))
            {
                silent.push(format!("{} entry {idx} at {phase:?}", table.name()));
            }
        }
    }
    assert!(silent.is_empty(), "entries no rule enforces: {silent:#?}");
}

#[test]
fn bad_new_files_are_refused_with_file_row_and_reason() {
    let catalogue = catalogue();
    let knowledge = load_knowledge(
        &[(
            "dx_required.csv",
            "med_list_codg,dise_codg_prefixes,tag,begn_date,end_date,admdvs\nXR03DC0381,J45,label,,,\n",
        )],
        &catalogue,
    )
    .unwrap();
    let rules: &[(&str, String)] = &[
        (
            "rules.toml: rule 1 (T-1): params.tag: no entry of table dx_required has tag `lable`",
            format!("{RULE_HEAD}knowledge = [\"dx_required\"]\nexecutor = \"dx_required\"\n[rule.params]\nlist_types = [\"drug\"]\ntag = \"lable\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): params.scene: missing parameter of days_supply (a non-empty string)",
            format!("{RULE_HEAD}knowledge = [\"days_supply\"]\nexecutor = \"days_supply\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): params.scene: `retail` must be discharge, outpatient, emergency or chronic",
            format!("{RULE_HEAD}knowledge = [\"days_supply\"]\nexecutor = \"days_supply\"\n[rule.params]\nscene = \"retail\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): params.tag: not a parameter of after_death",
            format!("{RULE_HEAD}executor = \"after_death\"\n[rule.params]\ntag = \"x\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): executor: unknown executor `readmissions`",
            format!("{RULE_HEAD}knowledge = [\"readmission\"]\nexecutor = \"readmissions\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): knowledge: executor visit_frequency reads table visit_frequency, which the rule does not name",
            format!("{RULE_HEAD}executor = \"visit_frequency\"\n[rule.params]\nmed_mdtrt_type = \"1\"\n"),
        ),
        (
            "rules.toml: rule 1 (T-1): money_kind: X needs an excess, which executor companion has not",
            format!("{RULE_HEAD}knowledge = [\"companion\"]\nexecutor = \"companion\"\n[rule.params]\nlist_types = [\"drug\"]\n").replace("money_kind = \"L\"", "money_kind = \"X\""),
        ),
    ];
    for (expected, text) in rules {
        let err = load_rules("rules.toml", text, &knowledge).unwrap_err();
        assert_eq!(&err.to_string(), expected);
    }
    // The tag the rule names exists: it loads.
    let ok = format!("{RULE_HEAD}knowledge = [\"dx_required\"]\nexecutor = \"dx_required\"\n[rule.params]\nlist_types = [\"drug\"]\ntag = \"label\"\n");
    assert_eq!(
        load_rules("rules.toml", &ok, &knowledge).unwrap().rules[0]
            .tag
            .as_deref(),
        Some("label")
    );
    let tables: &[(&str, &str, &str)] = &[
        (
            "companion.csv",
            "med_list_codg,companion_codes,within,begn_date,end_date,admdvs\nXL01CD0541,120400111|NOSUCHCODE,day,,,\n",
            "companion.csv: line 2: companion_codes: `NOSUCHCODE` is not in the catalogue",
        ),
        (
            "encounter_limit.csv",
            "med_list_codg,attr,allowed,begn_date,end_date,admdvs\nXA02BC0231,ward,2,,,\n",
            "encounter_limit.csv: line 2: attr: `ward` must be med_mdtrt_type, med_type, insutype or dept",
        ),
        (
            "visit_frequency.csv",
            "med_mdtrt_type,days,max_cnt,tag,begn_date,end_date,admdvs\n1,30,15,,2025-01-01,,\n1,30,12,,2026-01-01,,\n",
            "visit_frequency.csv: line 3: begn_date: `1/30` overlaps line 2: effective dates and regions may not overlap",
        ),
        (
            "dx_excluded.csv",
            "med_list_codg,dise_codg_prefixes,tag,begn_date,end_date,admdvs\nXC09CA0131,O,Pregnancy,,,\n",
            "dx_excluded.csv: line 2: tag: `Pregnancy` must be lowercase a-z, 0-9 or _",
        ),
        (
            "days_supply.csv",
            "scene,max_days,begn_date,end_date,admdvs\ndischarge,0,,,\n",
            "days_supply.csv: line 2: max_days: `0` must be a whole number from 1 to 366",
        ),
        (
            "reference_cost.csv",
            "dise_codg_prefix,med_mdtrt_type,ref_amt,max_multiple,begn_date,end_date,admdvs\nI10,1,300.00,0.5,,,\n",
            "reference_cost.csv: line 2: max_multiple: `0.5` must be a multiple of at least 1",
        ),
        (
            "sex_limit.csv",
            "med_list_codg,gend,rule,begn_date,end_date,admdvs\nXL02BG0561,2,x,,,\n",
            "sex_limit.csv: line 1: unknown column `rule`",
        ),
    ];
    for (file, text, expected) in tables {
        let err = load_knowledge(&[(file, text)], &catalogue).unwrap_err();
        assert_eq!(&err.to_string(), expected);
    }
    // The same key under two tags is two rules' entries, not an overlap.
    let two_tags = "med_list_codg,dise_codg_prefixes,tag,begn_date,end_date,admdvs\nXC09CA0131,O,,,,\nXC09CA0131,O|Z33,pregnancy,,,\n";
    let knowledge = load_knowledge(&[("dx_excluded.csv", two_tags)], &catalogue).unwrap();
    assert_eq!(knowledge.dx_excluded.len(), 2);
}

#[test]
fn a_tagged_rule_enforces_only_its_entries_and_an_untagged_rule_only_the_untagged() {
    let shipped = shipped();
    // 孟鲁司特钠片 is only in the `label` entries: MED-11 fires, POL-07 (untagged) does not.
    let input = with_dx(outpatient(vec![fee("XR03DC0381", 1, D)]), &["I10"]);
    let ids: Vec<String> = audit(&input, &shipped.rules, &shipped.knowledge, Phase::During)
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert!(ids.contains(&"MED-11".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"POL-07".to_owned()), "{ids:?}");
}

#[test]
fn new_findings_read_as_the_templates() {
    let shipped = shipped();
    let cases: &[(&str, &str)] = &[
        ("POL-12", "【泮托拉唑钠注射剂（规格一）】限就诊类型为【住院】使用，本次就诊类型为门诊（2026-03-02）"),
        ("POL-28", "【二甲双胍片（规格一）】出院带药限开14天量，本次15天（2026-03-05）"),
        ("MED-21", "【紫杉醇注射液（规格一）】须与【静脉输液】在同一日内收费，本日内未见（2026-03-02）"),
        ("MGT-10", "【住院诊查费】计费日期2026-03-06不在住院期间2026-03-02～2026-03-05内"),
        ("BHV-01", "患者2026-02-10出院，15天后（2026-02-25）以相同诊断【I21.4】再次入院"),
        ("BHV-09", "【二甲双胍片（规格一）】2026-03-02已开30天量，2026-03-25（间隔23天，不足80%）再次开具"),
        ("STA-01", "本次门诊费用910.00元，为诊断【I10】参考费用300.00元的3.03倍，超过3.00倍"),
        ("STA-04", "本次住院药品费用710.00元，占总费用1000.00元的71.00%，超过70%"),
        ("PRC-05", "【普通门诊诊查费】结算单价14.27元，高于限价14.26元（2026-03-02）"),
    ];
    let all = input_cases();
    for (rule_id, expected) in cases {
        let case = all.iter().find(|c| c.rule_id == *rule_id).unwrap();
        let findings = audit(
            &(case.build)(true),
            &shipped.rules,
            &shipped.knowledge,
            Phase::During,
        );
        let finding = findings.iter().find(|f| f.rule_id == *rule_id).unwrap();
        assert_eq!(&finding.vola_cont, expected, "{rule_id}");
    }
}

#[test]
fn a_days_supply_finding_flags_the_excess_days_share() {
    let shipped = shipped();
    let case = input_cases()
        .into_iter()
        .find(|c| c.rule_id == "POL-29")
        .unwrap();
    // 8 days against 7 on a 10-yuan line: 1/8 of it, 1.25 yuan.
    let findings = audit(
        &(case.build)(true),
        &shipped.rules,
        &shipped.knowledge,
        Phase::During,
    );
    let finding = findings.iter().find(|f| f.rule_id == "POL-29").unwrap();
    assert_eq!(finding.vola_amt, Fen(125));
}

#[test]
fn a_discharge_drug_after_discharge_is_not_outside_the_stay() {
    let shipped = shipped();
    let line = FeeLine {
        drord_bhvr: Some(DrordBhvr::Discharge),
        ..drug_days("XA10BA0061", 7, "2026-03-06")
    };
    let input = numbered(vec![stay("M1", D, "2026-03-05", "E11.9", vec![line])]);
    let findings = audit(&input, &shipped.rules, &shipped.knowledge, Phase::During);
    assert!(
        findings.iter().all(|f| f.rule_id != "MGT-10"),
        "{findings:#?}"
    );
}

mod properties {
    //! Properties over random bills: money never exceeds the lines', a missing input never
    //! fires, removing a violating line silences its single-line finding, history is not flagged.

    use super::*;
    use proptest::prelude::*;

    /// Codes with knowledge of every kind, and some without.
    const CODES: &[&str] = &[
        "XA02BC0231",
        "110400051",
        "340500291",
        "XL04AD0511",
        "XL04AD0531",
        "XA10BA0061",
        "XC08CA0111",
        "250200131",
        "110200012",
        "110200011",
        "110600081",
        "120200091",
        "XC09CA0131",
        "XR03DC0381",
        "250300171",
        "XL01CD0541",
        "120400111",
        "C0601101",
        "330400351",
        "XJ01CA0011",
        "XN02BE0281",
        "120200101",
        "C0400801",
        "XL02BG0561",
    ];
    const DX: &[&str] = &["I10", "J18.9", "Z00.0", "O80.0", "E11.9", "I21.0", "Z34.0"];

    /// (encounter, code, units, day) lines and per-encounter (type, med_type, main dx, dscg offset).
    type RawLine = (usize, usize, i64, i64);
    type RawEncounter = (Option<u8>, Option<u8>, usize, Option<i64>, Option<u8>);

    fn build(lines: &[RawLine], encounters: &[RawEncounter], full: bool, male: bool) -> AuditInput {
        let first = date("2026-03-01");
        let day = |offset: i64| first + chrono::TimeDelta::days(offset);
        let built = encounters
            .iter()
            .enumerate()
            .map(|(encounter_idx, &(mdtrt_type, med_type, dx, dscg, days))| {
                let begn = day(encounter_idx as i64 * 3);
                let fee_lines = lines
                    .iter()
                    .filter(|l| l.0 % encounters.len() == encounter_idx)
                    .map(|&(_, code, units, offset)| {
                        let code = CODES[code % CODES.len()];
                        let mut line = fee(
                            code,
                            units,
                            &(begn + chrono::TimeDelta::days(offset)).to_string(),
                        );
                        if full {
                            line.hilist_type = ListType::parse(match code.as_bytes()[0] {
                                b'X' => "drug",
                                b'C' => "consumable",
                                _ => "service",
                            })
                            .ok();
                            line.prd_days = days.map(u32::from);
                            line.drord_dept_codg = Some("A03".to_owned());
                        }
                        line
                    })
                    .collect();
                let mut encounter = visit(
                    &format!("M{}", encounter_idx + 1),
                    &begn.to_string(),
                    None,
                    fee_lines,
                );
                encounter.diagnoses = vec![DX[dx % DX.len()].to_owned()];
                if full {
                    encounter.med_mdtrt_type =
                        mdtrt_type.and_then(|t| MdtrtType::parse(&(t % 4 + 1).to_string()));
                    encounter.med_type = med_type.map(|t| {
                        MedType::parse(["11", "13", "14", "21", "52"][usize::from(t) % 5]).unwrap()
                    });
                    encounter.main_dise_codg = Some(DX[dx % DX.len()].to_owned());
                    encounter.dscg_date = dscg.map(|d| begn + chrono::TimeDelta::days(d));
                }
                encounter
            })
            .collect();
        let mut input = numbered(built);
        input.person.gend = if male { Gend::Male } else { Gend::Female };
        if full {
            input.person.death_date = Some(date("2026-03-08"));
            input.person.insuinfo = vec![InsuInfo {
                insutype: Insutype::EMPLOYEE,
                psn_insu_stas: PsnInsuStas::Suspended,
                psn_insu_date: date("2020-01-01"),
                paus_insu_date: Some(date("2026-03-06")),
            }];
        }
        input
    }

    fn bills() -> impl Strategy<Value = (Vec<RawLine>, Vec<RawEncounter>, bool)> {
        (
            prop::collection::vec((0..4_usize, 0..CODES.len(), 1..4_i64, 0..3_i64), 1..16),
            prop::collection::vec(
                (
                    prop::option::of(0..4_u8),
                    prop::option::of(0..5_u8),
                    0..DX.len(),
                    prop::option::of(0..6_i64),
                    prop::option::of(1..40_u8),
                ),
                1..4,
            ),
            any::<bool>(),
        )
    }

    /// Executors that read an optional input field only.
    fn reads_optional_input(executor: &yibao_audit::Executor) -> bool {
        use yibao_audit::Executor as E;
        matches!(
            executor,
            E::EncounterLimit { .. }
                | E::DaysSupply { .. }
                | E::EarlyRefill
                | E::VisitFrequency { .. }
                | E::Readmission
                | E::ReferenceCost { .. }
                | E::FeeShare { .. }
                | E::DistinctLimit { .. }
                | E::Eligibility { .. }
                | E::AfterDeath
                | E::OutsideStay
                | E::StayOverlap
                | E::VisitInStay
                | E::MedTypeSexLimit
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn findings_never_flag_more_money_than_their_lines_hold((lines, encounters, male) in bills()) {
            let shipped = shipped();
            let input = build(&lines, &encounters, true, male);
            for finding in audit(&input, &shipped.rules, &shipped.knowledge, Phase::After) {
                let encounter = &input.encounters[finding.encounter_idx];
                let encounter_fen: Fen = encounter.lines.iter().map(|l| l.amount).sum();
                prop_assert!(finding.vola_amt <= encounter_fen, "{}", finding.rule_id);
                for detail in &finding.details {
                    let line = detail.line(&input);
                    prop_assert!(detail.vola_amt <= line.amount, "{}", finding.rule_id);
                    prop_assert!(detail.vola_amt >= Fen::ZERO, "{}", finding.rule_id);
                }
            }
        }

        #[test]
        fn a_missing_input_never_fires_a_rule_that_reads_it((lines, encounters, male) in bills()) {
            let shipped = shipped();
            let input = build(&lines, &encounters, false, male);
            for finding in audit(&input, &shipped.rules, &shipped.knowledge, Phase::After) {
                let rule = shipped.rules.rules.iter().find(|r| r.rule_id == finding.rule_id).unwrap();
                prop_assert!(!reads_optional_input(&rule.executor), "{}: {}", finding.rule_id, finding.vola_cont);
            }
        }

        #[test]
        fn removing_the_violating_line_silences_its_single_line_finding((lines, encounters, male) in bills()) {
            use yibao_audit::Table as T;
            let shipped = shipped();
            let input = build(&lines, &encounters, true, male);
            let findings = audit(&input, &shipped.rules, &shipped.knowledge, Phase::After);
            let single_line = [T::SexLimit, T::AgeLimit, T::LevelLimit, T::DxRequired, T::DxExcluded, T::EncounterLimit, T::Companion, T::DaysSupply];
            for finding in findings.iter().filter(|f| f.evidence.table.is_some_and(|t| single_line.contains(&t))) {
                let rx_id = &finding.details[0].line(&input).rx_id;
                let mut without = input.clone();
                for encounter in &mut without.encounters {
                    encounter.lines.retain(|l| &l.rx_id != rx_id);
                }
                let before = findings.iter().filter(|f| f.rule_id == finding.rule_id).count();
                let after = audit(&without, &shipped.rules, &shipped.knowledge, Phase::After)
                    .iter()
                    .filter(|f| f.rule_id == finding.rule_id)
                    .count();
                prop_assert!(after < before, "{}: {} → {}", finding.rule_id, before, after);
            }
        }

        #[test]
        fn only_the_current_encounter_is_flagged((lines, encounters, male) in bills()) {
            let shipped = shipped();
            let mut input = build(&lines, &encounters, true, male);
            let current = input.encounters.last().unwrap().mdtrt_id.clone();
            input.current_mdtrt_id = Some(current.clone());
            for finding in audit(&input, &shipped.rules, &shipped.knowledge, Phase::Before) {
                prop_assert_eq!(finding.mdtrt_id(&input), current.as_str(), "{}", finding.rule_id);
                for detail in finding.details.iter().filter(|d| d.vola_item_type == VolaItemType::Violating) {
                    prop_assert_eq!(&detail.encounter(&input).mdtrt_id, &current, "{}", finding.rule_id);
                }
            }
        }
    }
}

#[test]
fn a_readmission_at_another_institution_is_not_a_split_stay() {
    let shipped = shipped();
    let case = input_cases()
        .into_iter()
        .find(|c| c.rule_id == "BHV-01")
        .unwrap();
    let fired = |input: &AuditInput| {
        audit(input, &shipped.rules, &shipped.knowledge, Phase::After)
            .iter()
            .any(|f| f.rule_id == "BHV-01")
    };
    let mut input = (case.build)(true);
    input.encounters[0].medins_id = Some("H1".to_owned());
    assert!(fired(&input), "the other institution unknown: flagged");
    input.encounters[1].medins_id = Some("H1".to_owned());
    assert!(fired(&input), "the same institution");
    input.encounters[1].medins_id = Some("H2".to_owned());
    assert!(!fired(&input), "another institution");
}

#[test]
fn a_price_finding_flags_only_the_part_above_the_cap() {
    let shipped = shipped();
    let case = input_cases()
        .into_iter()
        .find(|c| c.rule_id == "PRC-14")
        .unwrap();
    // 30 × 1.34 = 40.20 yuan allowed; 40.21 billed.
    let findings = audit(
        &(case.build)(true),
        &shipped.rules,
        &shipped.knowledge,
        Phase::During,
    );
    let finding = findings.iter().find(|f| f.rule_id == "PRC-14").unwrap();
    assert_eq!(finding.vola_amt, Fen(1));
}
