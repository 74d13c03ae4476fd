//! Criterion benchmark of the pure engine: settlements per second on one core for a 10-line
//! outpatient bill and a 60-line inpatient bill (policy 140500-2025, lines from the demo
//! catalogue). Classification is included, as a real request classifies its lines too.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use yibao_core_types::{
    AcctUsedFlag, Admdvs, HiSetlLv, HospApprFlag, Insutype, MedType, NaiveDate, PsnType, Quantity,
};
use yibao_policy::{builtin_policy, demo_catalogue, Catalogue};
use yibao_settlement::{classify_line, settle, FeeLine, Person, SettleInput, Visit, Ytd};

fn bill(catalogue: &Catalogue, n_lines: usize, med_type: MedType) -> (SettleInput, Vec<FeeLine>) {
    let entries = catalogue.entries();
    let fee_lines: Vec<FeeLine> = (0..n_lines)
        .map(|line_idx| {
            let entry = &entries[(line_idx * 37) % entries.len()];
            let price = entry
                .pric_uplmt_amt
                .map_or(yibao_core_types::Price(12_340_000), |cap| {
                    yibao_core_types::Price(cap.0 + 1_000_000)
                });
            FeeLine::new(
                entry.med_list_codg.clone(),
                price,
                Quantity::units(1 + (line_idx as i64 % 3)),
                None,
                HospApprFlag::Approved,
            )
            .expect("line")
        })
        .collect();
    let input = SettleInput {
        person: Person {
            psn_no: "P0001".into(),
            insutype: Insutype::EMPLOYEE,
            psn_type: PsnType::parse("1101").expect("code"),
            age: 45,
            sp_psn_types: Vec::new(),
            insuplc_admdvs: Admdvs::parse("140500").expect("code"),
            acct_balance: yibao_core_types::Fen(50_000),
            mulaid_balances: vec![yibao_core_types::Fen(20_000)],
            ytd: Ytd {
                outpatient_deductible: yibao_core_types::Fen(5_000),
                ..Ytd::default()
            },
            tier: None,
            chronic_recognitions: Vec::new(),
        },
        visit: Visit {
            med_type,
            hi_setl_lv: HiSetlLv::Level2,
            mdtrtarea_admvs: Admdvs::parse("140500").expect("code"),
            filing: None,
            fixmedins_code: String::new(),
            institution_kinds: Vec::new(),
            referral: false,
            transfer_in: false,
            begin_date: None,
            matn_type: None,
            emergency: false,
            dise_codg: String::new(),
            acct_used_flag: AcctUsedFlag::OwnThenFamily,
        },
        lines: fee_lines
            .iter()
            .map(|line| classify_line(catalogue.get(&line.med_list_codg), line))
            .collect(),
        settle_date: NaiveDate::from_ymd_opt(2025, 6, 1).expect("date"),
    };
    (input, fee_lines)
}

fn benches(criterion: &mut Criterion) {
    let policy = builtin_policy("140500-2025")
        .expect("shipped")
        .expect("valid");
    let catalogue = Catalogue::from_entries(demo_catalogue(1)).expect("catalogue");
    let mut group = criterion.benchmark_group("settle");
    group.throughput(Throughput::Elements(1));
    for (name, n_lines, med_type) in [
        ("outpatient", 10, MedType::OUTPATIENT),
        ("inpatient", 60, MedType::INPATIENT),
    ] {
        let (input, fee_lines) = bill(&catalogue, n_lines, med_type);
        group.bench_with_input(
            BenchmarkId::new("engine", format!("{name}_{n_lines}_lines")),
            &input,
            |bencher, input| {
                bencher.iter(|| settle(black_box(&policy), black_box(input)).expect("settles"))
            },
        );
        group.bench_with_input(
            BenchmarkId::new("classify_and_engine", format!("{name}_{n_lines}_lines")),
            &fee_lines,
            |bencher, fee_lines| {
                bencher.iter(|| {
                    let mut input = input.clone();
                    input.lines = fee_lines
                        .iter()
                        .map(|line| classify_line(catalogue.get(&line.med_list_codg), line))
                        .collect();
                    settle(black_box(&policy), black_box(&input)).expect("settles")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(settle_benches, benches);
criterion_main!(settle_benches);
