//! The fault simulator's own tests: a few thousand operations with every fault on SQLite and on
//! PostgreSQL hold every invariant; a seed replays exactly; and the checks do fail when the
//! database is made wrong behind the store's back.

use yibao_sim::{DbTarget, Failure, SimConfig, Simulator, Summary};

/// The PostgreSQL server the tests use.
fn pg_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Runs `config` on `target`; `None` (with a notice) when PostgreSQL is unreachable and
/// `YIBAO_REQUIRE_PG` is not set.
async fn run(config: &SimConfig, target: &DbTarget) -> Option<Summary> {
    match yibao_sim::run(config, target).await {
        Ok((summary, None)) => {
            println!("{summary}");
            Some(summary)
        }
        Ok((summary, Some(failure))) => panic!(
            "{failure}\nthe last operations:\n{}\n{summary}",
            Vec::from(summary.recent.clone()).join("\n")
        ),
        Err(yibao_sim::SimError::Unreachable(url)) => {
            assert!(
                std::env::var("YIBAO_REQUIRE_PG").is_err(),
                "PostgreSQL required but unreachable at {url}"
            );
            eprintln!("notice: PostgreSQL at {url} unreachable; skipping the PostgreSQL run");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Every fault the run is meant to exercise happened, and every kind of check ran: a run in
/// which the faults silently stopped being injected fails here.
fn assert_exercised(summary: &Summary) {
    for fault in [
        "crash",
        "crash in flight",
        "lost request",
        "lost answer",
        "duplicate",
        "retry",
        "reorder",
        "conflict",
        "reversal",
        "revoke of a settlement",
        "undo again",
        "undo of an old settlement",
    ] {
        assert!(
            summary.faults.get(fault).copied().unwrap_or(0) > 0,
            "no {fault} injected:\n{summary}"
        );
    }
    for check in [
        "ledger",
        "institution balance",
        "5203 reread",
        "replays",
        "refusals",
        "nothing written",
    ] {
        assert!(
            summary.checks.get(check).copied().unwrap_or(0) > 0,
            "no {check} check ran:\n{summary}"
        );
    }
    // The crashes in flight did cut calls off, and the retries settled them.
    for outcome in ["cut off", "in doubt, settled"] {
        assert!(
            summary.in_flight.get(outcome).copied().unwrap_or(0) > 0,
            "no call {outcome}:\n{summary}"
        );
    }
    assert!(summary.settlements > 100, "{summary}");
    assert!(summary.reversals > 5, "{summary}");
}

/// Faults a little more often than the defaults, so that a short CI run meets each of them.
fn ci_config(seed: u64, ops: u64) -> SimConfig {
    let mut config = SimConfig::new(seed, ops);
    config.faults.crash = 12;
    config.faults.crash_in_flight = 30;
    config.faults.reorder = 40;
    // The touched settlements are always reread; fewer old ones keep the PostgreSQL run short.
    config.sample_checks = 2;
    config
}

#[tokio::test]
async fn sqlite_holds_every_invariant_under_faults() {
    let summary = run(&ci_config(11, 2_000), &DbTarget::SqliteTemp)
        .await
        .expect("SQLite is always there");
    assert_exercised(&summary);
}

#[tokio::test]
async fn postgres_holds_every_invariant_under_faults() {
    let Some(summary) = run(&ci_config(12, 1_500), &DbTarget::Postgres(pg_url())).await else {
        return;
    };
    assert_exercised(&summary);
}

#[tokio::test]
async fn a_seed_replays_exactly() {
    let mut config = ci_config(5, 400);
    config.keep_log = true;
    let first = run(&config, &DbTarget::SqliteTemp).await.unwrap();
    let second = run(&config, &DbTarget::SqliteTemp).await.unwrap();
    assert_eq!(first.log, second.log);
    assert_eq!(first.op_digest, second.op_digest);
    assert_eq!(first.answer_digest, second.answer_digest);
    assert_eq!(first.faults, second.faults);
    assert_eq!(
        (first.settlements, first.reversals),
        (second.settlements, second.reversals)
    );
    // How much is checked changes nothing that is sent or answered.
    config.sample_checks = 0;
    config.check_every = 5;
    let less_checked = run(&config, &DbTarget::SqliteTemp).await.unwrap();
    assert_eq!(first.log, less_checked.log);
    assert_eq!(first.answer_digest, less_checked.answer_digest);
    assert!(less_checked.checks["ledger"] < first.checks["ledger"]);
    // The digests do tell runs apart.
    config.seed = 6;
    let other = run(&config, &DbTarget::SqliteTemp).await.unwrap();
    assert_ne!(first.op_digest, other.op_digest);
    assert_ne!(first.answer_digest, other.answer_digest);
}

/// Runs one SQL statement on the simulator's SQLite database behind the store's back.
async fn tamper(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
    let done = sqlx::query(sql).execute(&mut connection).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
    connection.close().await.unwrap();
}

async fn expect_failure(sim: &mut Simulator, check: &str, what: &str) -> Failure {
    let failure = sim
        .check_all()
        .await
        .expect_err("the planted fault is found")
        .failure()
        .cloned()
        .expect("a broken invariant, not a setup error");
    assert_eq!(failure.seed, 3);
    assert!(
        failure.op.contains(check) && failure.what.contains(what),
        "{failure}"
    );
    failure
}

#[tokio::test]
async fn the_checks_find_a_planted_fault() {
    let mut config = SimConfig::new(3, 300);
    config.faults = yibao_sim::Faults::none();
    let mut sim = Simulator::start(&config, &DbTarget::SqliteTemp)
        .await
        .unwrap();
    sim.run_ops(300).await.unwrap();
    sim.check_all().await.unwrap();
    let url = sim.database_url().to_owned();
    let institution = "(SELECT account_code FROM ledger_balance WHERE account_code LIKE 'inst:%' \
                       AND balance_fen > 0 ORDER BY account_code, shard LIMIT 1)";
    let shard = "(SELECT MIN(shard) FROM ledger_balance WHERE account_code = \
                 (SELECT account_code FROM ledger_balance WHERE account_code LIKE 'inst:%' \
                 AND balance_fen > 0 ORDER BY account_code, shard LIMIT 1) AND balance_fen > 0)";

    // An unbalanced extra fen in an institution's balance.
    let plant = format!(
        "UPDATE ledger_balance SET balance_fen = balance_fen + 1 \
         WHERE account_code = {institution} AND shard = {shard}"
    );
    tamper(&url, &plant).await;
    expect_failure(
        &mut sim,
        "check_ledger",
        "balance differs from its transfers",
    )
    .await;
    tamper(&url, &plant.replace("+ 1", "- 1")).await;
    sim.check_all().await.unwrap();

    // A year-to-date accumulator that no settlement explains.
    let plant = "UPDATE ytd SET hifp_outpatient = hifp_outpatient + 1 \
                 WHERE rowid = (SELECT MIN(rowid) FROM ytd WHERE hifp_outpatient > 0)";
    tamper(&url, plant).await;
    expect_failure(&mut sim, "check_ledger", "accumulators differ").await;
    tamper(&url, &plant.replace("+ 1", "- 1")).await;
    sim.check_all().await.unwrap();

    // A settlement marked refunded without a reversal: the ledger check and the hospital's
    // answer (5203 must still say it stands) both disagree.
    let plant = "UPDATE settlement SET refd_setl_flag = 1 \
                 WHERE rowid = (SELECT MIN(rowid) FROM settlement WHERE setl_sign = 1)";
    tamper(&url, plant).await;
    expect_failure(&mut sim, "check_ledger", "without exactly one reversal").await;
    tamper(
        &url,
        &plant.replace("refd_setl_flag = 1", "refd_setl_flag = 0"),
    )
    .await;
    sim.check_all().await.unwrap();

    // A settlement moved to another visit: the books still balance, but what the hospital was
    // told no longer holds (its 5203 names the visit it settled).
    let first = "(SELECT MIN(rowid) FROM settlement WHERE setl_sign = 1)";
    let moved = format!(
        "UPDATE settlement SET mdtrt_id = (SELECT v.mdtrt_id FROM visit v WHERE v.mdtrt_id <> \
         (SELECT mdtrt_id FROM settlement WHERE rowid = {first}) ORDER BY v.mdtrt_id LIMIT 1) \
         WHERE rowid = {first}"
    );
    let original: String = {
        use sqlx::Connection as _;
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(&format!(
            "SELECT mdtrt_id FROM settlement WHERE rowid = {first}"
        ))
        .fetch_one(&mut connection)
        .await
        .unwrap()
    };
    tamper(&url, &moved).await;
    let failure = expect_failure(&mut sim, "5203 of settlement", "belongs to another visit").await;
    assert!(failure.what.contains("the settlement is gone"), "{failure}");
    tamper(
        &url,
        &format!("UPDATE settlement SET mdtrt_id = '{original}' WHERE rowid = {first}"),
    )
    .await;
    sim.check_all().await.unwrap();
    sim.finish().await;
}

/// Crashes inside the store's group-commit batches: with a crash asked for on many steps of
/// chain messages, a third of them are left to the store's crash points (before a batch's commit
/// in odd processes, after it in even ones); every invariant still holds, and some crashes did
/// come from inside a batch.
#[tokio::test]
async fn crashes_inside_batches_keep_every_invariant() {
    let mut config = SimConfig::new(21, 600);
    config.faults.crash_in_flight = 300;
    let mut sim = Simulator::start(&config, &DbTarget::SqliteTemp)
        .await
        .unwrap();
    let trigger = sim.crash_trigger();
    let result = sim.run_ops(600).await;
    if let Err(e) = result {
        panic!("{e}");
    }
    sim.check_all().await.unwrap();
    let summary = sim.finish().await;
    println!("{summary}");
    let in_flight = summary.faults.get("crash in flight").copied().unwrap_or(0);
    assert!(in_flight > 0, "no step crashed");
    assert!(
        trigger.pulled_by_store() > 0,
        "no crash came from inside a batch ({in_flight} in flight)"
    );
    assert!(trigger.pulled_by_store() <= in_flight);
}
