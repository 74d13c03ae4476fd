//! Grouping throughput over the 1,656 reference test cases (one core).
//!
//! Run: `cargo bench -p yibao-drg --bench group -- --warm-up-time 1 --measurement-time 3`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yibao_drg::{
    group, parse_case_json, parse_case_json_into, CaseInput, CaseRecord, GroupConfig, Scheme,
    SchemeFiles,
};

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/chs-drg-1.1")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn load_scheme() -> Scheme {
    let texts: Vec<String> = [
        SchemeFiles::MDC_JSON,
        SchemeFiles::ADRG_JSON,
        SchemeFiles::MCC_CC_JSON,
        SchemeFiles::EXCLUSIONS_JSON,
        SchemeFiles::DRG_NAMES_CSV,
        SchemeFiles::OR_PROCEDURES_CSV,
    ]
    .iter()
    .map(|name| read(name))
    .collect();
    Scheme::load(&SchemeFiles {
        mdc_json: &texts[0],
        adrg_json: &texts[1],
        mcc_cc_json: &texts[2],
        exclusions_json: &texts[3],
        drg_names_csv: &texts[4],
        or_procedures_csv: &texts[5],
    })
    .expect("scheme loads")
}

fn benches(c: &mut Criterion) {
    let scheme = load_scheme();
    let lines = read("testcases.jsonl");
    let lines: Vec<&str> = lines.lines().collect();
    let records: Vec<CaseRecord> = lines
        .iter()
        .map(|line| parse_case_json(line).expect("test case parses").record)
        .collect();
    let config = GroupConfig::default();

    let mut grouping = c.benchmark_group("drg");
    grouping.throughput(Throughput::Elements(records.len() as u64));
    grouping.bench_function("group_testcases", |b| {
        b.iter(|| {
            for record in &records {
                black_box(group(black_box(record), &scheme, &config));
            }
        })
    });
    let mut input = CaseInput::default();
    grouping.bench_function("parse_testcases", |b| {
        b.iter(|| {
            for line in &lines {
                parse_case_json_into(black_box(line), &mut input).expect("test case parses");
                black_box(&input);
            }
        })
    });
    grouping.bench_function("parse_and_group_testcases", |b| {
        b.iter(|| {
            for line in &lines {
                parse_case_json_into(black_box(line), &mut input).expect("test case parses");
                black_box(group(&input.record, &scheme, &config));
            }
        })
    });
    grouping.finish();

    c.bench_function("drg/load_scheme", |b| b.iter(|| black_box(load_scheme())));
}

criterion_group! {
    name = group_benches;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(group_benches);
