//! A 50-line bill through every shipped rule (issue 12: ≥ 200,000 bills/s/core).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use yibao_audit::{audit, builtin, AuditInput, Encounter, FeeLine, Gend, HospLv, Person, Phase};
use yibao_core_types::{Fen, NaiveDate, Quantity};

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
            amount: Fen(1_250 + line_idx as i64),
            fee_date: date + chrono_days(line_idx as i64 / 10),
        })
        .collect();
    AuditInput {
        person: Person {
            gend: Gend::Male,
            brdy: NaiveDate::from_ymd_opt(1960, 5, 1).unwrap(),
        },
        admdvs: None,
        current_mdtrt_id: Some("M1".to_owned()),
        encounters: vec![Encounter {
            mdtrt_id: "M1".to_owned(),
            begn_date: date,
            hosp_lv: HospLv::new(2).unwrap(),
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
    assert_eq!(findings.len(), 6, "{findings:#?}");
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
