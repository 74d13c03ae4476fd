//! A 50-line inpatient bill (a five-day stay), with every optional input field the rules read, through every
//! shipped rule (issue 12: ≥ 200,000 bills/s/core).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use yibao_audit::{
    audit, builtin, AuditInput, Encounter, FeeLine, Gend, HospLv, InsuInfo, MdtrtType, Person,
    Phase, PsnInsuStas,
};
use yibao_core_types::{Fen, Insutype, ListType, MedType, NaiveDate, Quantity};

/// Codes of the demo catalogue: some with knowledge entries, most without.
const CODES: &[&str] = &[
    "120200091",
    "110500061",
    "110400051",
    "250200131",
    "250100141",
    "250300151",
    "XJ01CA0011",
    "XA10BA0061",
    "XC08CA0111",
    "XC10AA0171",
    "XB01AC0201",
    "XA02BC0221",
    "120400111",
    "C0100101",
    "C0100201",
    "XN02BE0281",
    "210300231",
    "220400211",
    "310100191",
    "XB01AF0211",
];

fn bill() -> AuditInput {
    let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let lines = (0..50)
        .map(|line_idx| FeeLine {
            rx_id: format!("RX{line_idx}"),
            feedetl_sn: Some(format!("{line_idx}")),
            med_list_codg: CODES[line_idx % CODES.len()].to_owned(),
            cnt: Quantity::units(1),
            // Below every capped unit price of these codes (the lowest is 1.05 yuan).
            amount: Fen(50 + line_idx as i64),
            fee_date: date + chrono_days(line_idx as i64 / 10),
            hilist_type: ListType::parse(match CODES[line_idx % CODES.len()].as_bytes()[0] {
                b'X' => "drug",
                b'C' => "consumable",
                _ => "service",
            })
            .ok(),
            drord_bhvr: None,
            prd_days: Some(7),
            drord_dept_codg: Some("A03".to_owned()),
        })
        .collect();
    AuditInput {
        person: Person {
            gend: Gend::Male,
            brdy: NaiveDate::from_ymd_opt(1960, 5, 1).unwrap(),
            death_date: None,
            insuinfo: vec![InsuInfo {
                insutype: Insutype::EMPLOYEE,
                psn_insu_stas: PsnInsuStas::Normal,
                psn_insu_date: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(),
                paus_insu_date: None,
            }],
        },
        admdvs: None,
        current_mdtrt_id: Some("M1".to_owned()),
        encounters: vec![Encounter {
            mdtrt_id: "M1".to_owned(),
            begn_date: date,
            dscg_date: Some(date + chrono_days(5)),
            hosp_lv: HospLv::new(2).unwrap(),
            medins_id: Some("H14050200001".to_owned()),
            med_mdtrt_type: Some(MdtrtType::Inpatient),
            med_type: Some(MedType::INPATIENT),
            insutype: Some(Insutype::EMPLOYEE),
            main_dise_codg: Some("I10".to_owned()),
            diagnoses: vec!["I10".to_owned(), "E11.9".to_owned()],
            lines,
        }],
    }
}

fn chrono_days(days: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::days(days)
}

fn bench(c: &mut Criterion) {
    let shipped = builtin().expect("shipped rules load");
    let input = bill();
    // The bill is not clean: the bench measures findings being built, not only lookups.
    let findings = audit(&input, &shipped.rules, &shipped.knowledge, Phase::During);
    let ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(findings.len(), 6, "{ids:?}");
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bill_50_lines_all_rules", |b| {
        b.iter(|| {
            audit(
                black_box(&input),
                &shipped.rules,
                &shipped.knowledge,
                Phase::During,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
