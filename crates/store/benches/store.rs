//! Throughput of the store on the outpatient chain the load target names: 2201 → 2203 → 2204
//! (10 lines) → 2207, many chains in flight at once, on SQLite and (when reachable) PostgreSQL.
//!
//! `cargo bench -p yibao-store --bench store -- --warm-up-time 1 --measurement-time 3`
//! Reported time is per batch of `CHAINS_PER_ITER` chains (four transactions each); throughput is
//! chains per second.

// criterion_group! generates undocumented items.
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yibao_store::*;

/// Persons in the bench registry: many more than chains in flight, so that chains rarely wait
/// for the same person.
const PERSONS: usize = 5_000;
/// Chains in flight at once.
const IN_FLIGHT: usize = 32;
/// Chains per measured iteration: enough to keep every slot busy, so that the figure is
/// throughput rather than one chain's latency.
const CHAINS_PER_ITER: u64 = 256;

fn big_registry(dir: &std::path::Path) {
    common::copy_fixture(dir);
    let mut persons = String::from("psn_no,certno,psn_name,gend,brdy,naty,tel\n");
    let mut insurance = String::from(
        "psn_no,insutype,psn_type,insuplc_admdvs,emp_name,begndate,enddate,psn_insu_stas\n",
    );
    let mut accounts = String::from("psn_no,balance\n");
    for i in 0..PERSONS {
        persons.push_str(&format!(
            "B{i:06},1405021980{:08},测试{i},1,1980-01-01,01,\n",
            i
        ));
        if i % 2 == 0 {
            insurance.push_str(&format!("B{i:06},310,1101,140500,单位,2010-01-01,,1\n"));
            accounts.push_str(&format!("B{i:06},2000.00\n"));
        } else {
            insurance.push_str(&format!("B{i:06},390,1501,140500,,2010-01-01,,1\n"));
        }
    }
    std::fs::write(dir.join("persons.csv"), persons).unwrap();
    std::fs::write(dir.join("insurance.csv"), insurance).unwrap();
    std::fs::write(dir.join("accounts.csv"), accounts).unwrap();
    std::fs::write(
        dir.join("identities.csv"),
        "psn_no,sp_psn_type,begndate,enddate,source_dept\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("family_bindings.csv"),
        "psn_no,family_psn_no,bind_order,begndate,enddate\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("filings.csv"),
        "psn_no,trt_dcla_detl_sn,dcla_type,insuplc_admdvs,mdtrtarea_admvs,begndate,enddate\n",
    )
    .unwrap();
}

static MSG: AtomicU64 = AtomicU64::new(0);

async fn chain(store: &Store, person: usize) {
    let psn_no = format!("B{person:06}");
    let insutype = if person % 2 == 0 { "310" } else { "390" };
    let m = MSG.fetch_add(1, Ordering::Relaxed);
    let run = |suffix: &'static str, infno: &'static str, cmd: Command| {
        let env = common::env(
            common::CLINIC,
            &format!("K{m}-{suffix}"),
            infno,
            &format!("{m}{suffix}"),
        );
        async move {
            store
                .execute(&env, cmd, &common::render)
                .await
                .expect(infno)
        }
    };
    let reg = Command::RegisterOutpatient(RegisterOutpatient {
        psn_no: psn_no.clone(),
        insutype: insutype.into(),
        begntime: common::now(),
        mdtrt_cert_type: "02".into(),
        mdtrt_cert_no: String::new(),
        ipt_otp_no: format!("O{m}"),
        atddr_no: String::new(),
        dr_name: String::new(),
        dept_code: "A03".into(),
        dept_name: "内科".into(),
        caty: "A03".into(),
        referral: false,
    });
    let mdtrt_id = match run("1", "2201", reg).await {
        Reply::Fresh {
            outcome: Outcome::VisitOpened { mdtrt_id, .. },
            ..
        } => mdtrt_id,
        other => panic!("2201: {other:?}"),
    };
    run(
        "2",
        "2203",
        common::visit_info(&mdtrt_id, &psn_no, "11", ""),
    )
    .await;
    let codes = ["X-DRUG-A", "X-ITEM-B", "X-CONS-C", "X-ITEM-D", "X-DRUG-E"];
    let lines: Vec<FeeLineIn> = (0..10)
        .map(|i| {
            common::line(
                &mdtrt_id,
                &psn_no,
                &format!("{}", i + 1),
                codes[i % codes.len()],
                12_340_000,
                20_000,
            )
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.det_item_fee_sumamt_fen).sum();
    run(
        "3",
        "2204",
        Command::UploadFees(UploadFees {
            kind: VisitKind::Outpatient,
            lines,
        }),
    )
    .await;
    run(
        "4",
        "2207",
        common::settle_cmd(false, &mdtrt_id, &psn_no, insutype, total, "1"),
    )
    .await;
}

async fn run_chains(store: &Store, n: u64) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let store = store.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                chain(&store, (i as usize * 7919) % PERSONS).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

async fn open(url: &str) -> Store {
    let store = Store::connect(url).await.expect("connect");
    let dir = tempfile::tempdir().unwrap();
    big_registry(dir.path());
    store.import_registry(dir.path()).await.expect("import");
    store
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sqlite_dir = tempfile::tempdir().unwrap();
    let mut backends = vec![(
        "sqlite",
        format!(
            "sqlite://{}?mode=rwc",
            sqlite_dir.path().join("bench.db").display()
        ),
    )];
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let pg_name = format!("yibao_bench_{}", std::process::id());
    let pg_ok = rt.block_on(async {
        use sqlx::Connection;
        match sqlx::PgConnection::connect(&admin).await {
            Ok(mut conn) => sqlx::query(&format!("CREATE DATABASE {pg_name}"))
                .execute(&mut conn)
                .await
                .is_ok(),
            Err(e) => {
                eprintln!("notice: PostgreSQL unreachable ({e}); benchmarking SQLite only");
                false
            }
        }
    });
    if pg_ok {
        // Keep the admin URL's query (e.g. `?options=…`) for the bench database.
        let (path, query) = admin
            .split_once('?')
            .map(|(p, q)| (p, format!("?{q}")))
            .unwrap_or((&admin, String::new()));
        let base = path
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(path.to_string());
        backends.push(("postgres", format!("{base}/{pg_name}{query}")));
    }
    let mut group = c.benchmark_group("outpatient_chain");
    group.throughput(Throughput::Elements(CHAINS_PER_ITER));
    group.sample_size(10);
    for (label, url) in &backends {
        let store = rt.block_on(open(url));
        group.bench_function(*label, |b| {
            b.iter_custom(|iters| rt.block_on(run_chains(&store, iters * CHAINS_PER_ITER)))
        });
        let report = rt.block_on(store.check_ledger()).unwrap();
        assert!(report.is_balanced(), "{label}: {:?}", report.problems);
        rt.block_on(store.close());
    }
    group.finish();
    if pg_ok {
        rt.block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
