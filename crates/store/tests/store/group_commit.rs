//! Group commit (issue 11): commands that arrive together share one transaction and one commit,
//! and each keeps its own outcome. To make "together" certain rather than likely, each test
//! first blocks the store's writes (PostgreSQL: an outside session holds person P003's lock,
//! and a P003 command waits on it inside the batch; SQLite: an outside connection holds the
//! write lock), queues the other commands behind it, and then lets go.

use super::common::*;
use yibao_store::*;

/// What an outside connection holds until [`Blocker::release`].
enum Blocker {
    Pg(sqlx::PgConnection),
    Sq(sqlx::SqliteConnection),
}

impl Blocker {
    /// PostgreSQL: person P003's row lock; SQLite: the database's write lock.
    async fn hold(db: &TestDb) -> Blocker {
        use sqlx::Connection;
        if db.label == "postgres" {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("holder");
            sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("SELECT 1 FROM person WHERE psn_no = 'P003' FOR UPDATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Blocker::Pg(conn)
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("holder");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            Blocker::Sq(conn)
        }
    }

    async fn release(self) {
        use sqlx::Connection;
        match self {
            Blocker::Pg(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Blocker::Sq(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

/// A second store on the test database with one lane (so that every command queues behind the
/// blocked one) and `options` otherwise.
async fn one_lane(db: &TestDb, options: StoreOptions) -> Store {
    Store::connect_with(
        &db.url,
        &StoreOptions {
            pg_lanes: 1,
            ..options
        },
    )
    .await
    .expect("a second store on the same database")
}

/// A 2201 for `psn_no` (`insutype` from the fixture registry).
fn registration(psn_no: &str, msgid: &str) -> Command {
    let insutype = if matches!(psn_no, "P003" | "P004") {
        "390"
    } else {
        "310"
    };
    registration_cmd(psn_no, insutype, msgid)
}

/// Sends `commands` (msgid, command) one after another on their own tasks to `store` while the
/// database is blocked, waits until all are inside the store, releases the block and returns the
/// replies in the order sent.
async fn together(
    db: &TestDb,
    store: &Store,
    commands: Vec<(String, Command)>,
) -> Vec<Result<Reply, StoreError>> {
    let blocker = Blocker::hold(db).await;
    let n = commands.len();
    let mut tasks = Vec::new();
    for (msgid, cmd) in commands {
        let task_store = store.clone();
        let env = env(CLINIC, &msgid, "2201", &format!("{cmd:?}"));
        tasks.push(tokio::spawn(async move {
            task_store.execute(&env, cmd, &render).await
        }));
        // Sent in order: each is inside the store before the next one leaves.
        let inside = tasks.len();
        wait_until(store, |stats| stats.in_store >= inside).await;
    }
    assert_eq!(store.batch_stats().in_store, n);
    blocker.release().await;
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("task"));
    }
    replies
}

async fn wait_until(store: &Store, done: impl Fn(BatchStats) -> bool) {
    for _ in 0..1_000 {
        if done(store.batch_stats()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the store never got there: {:?}", store.batch_stats());
}

fn count(c: &[(&str, i64)], table: &str) -> i64 {
    c.iter().find(|(name, _)| *name == table).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_arriving_together_share_one_commit() {
    on_both(|db| async move {
        imported(&db).await;
        // A batch that stays open as long as commands wait to join (the default closes it after
        // a couple of milliseconds, which a debug build's six commands may exceed).
        let patient = one_lane(
            &db,
            StoreOptions {
                batch_open_max: std::time::Duration::from_secs(60),
                ..StoreOptions::default()
            },
        )
        .await;
        let before = counts(&db).await;
        // P003 first: on PostgreSQL it waits on the held lock inside the batch.
        let persons = ["P003", "P001", "P002", "P004", "P005", "P001"];
        let commands = persons
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("GC-{i}"), registration(p, &format!("GC-{i}"))))
            .collect();
        let replies = together(&db, &patient, commands).await;
        for (reply, psn_no) in replies.into_iter().zip(persons) {
            match fresh(reply.expect("2201")) {
                Outcome::VisitOpened { psn_no: p, .. } => assert_eq!(p, psn_no),
                other => panic!("[{}] 2201 gave {other:?}", db.label),
            }
        }
        let after = counts(&db).await;
        assert_eq!(count(&after, "visit"), count(&before, "visit") + 6);
        let stats = patient.batch_stats();
        // All six shared one transaction and one commit.
        assert_eq!(
            (stats.batches, stats.commands, stats.largest, stats.in_store),
            (1, 6, 6, 0),
            "[{}]",
            db.label
        );
        patient.close().await;
        assert_balanced(&db).await;
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_member_changes_nothing_for_the_others() {
    on_both(|db| async move {
        imported(&db).await;
        let before = counts(&db).await;
        let alone = exec(&db, CLINIC, "ALONE", "2201", registration("P999", "ALONE")).await;
        let commands = vec![
            ("RF-0".to_string(), registration("P003", "RF-0")),
            ("RF-1".to_string(), registration("P001", "RF-1")),
            // Nobody: refused, as it is alone.
            ("RF-2".to_string(), registration("P999", "RF-2")),
            ("RF-3".to_string(), registration("P002", "RF-3")),
        ];
        let store = one_lane(&db, StoreOptions::default()).await;
        let replies = together(&db, &store, commands).await;
        store.close().await;
        let mut replies = replies.into_iter();
        for _ in 0..2 {
            fresh(replies.next().unwrap().expect("2201"));
        }
        let refused = replies.next().unwrap().expect_err("P999 does not exist");
        assert_eq!(
            format!("{refused}"),
            format!("{}", alone.expect_err("P999 alone")),
            "[{}] a member is refused exactly as it is alone",
            db.label
        );
        fresh(replies.next().unwrap().expect("2201 after the refused one"));
        let after = counts(&db).await;
        assert_eq!(count(&after, "visit"), count(&before, "visit") + 3);
        assert_eq!(
            count(&after, "idempotency"),
            count(&before, "idempotency") + 3
        );

        // The batch's first member refused (it runs without a savepoint: the transaction is
        // rolled back and the members behind it start a new one). P003 has no 310 relation; on
        // PostgreSQL it is refused after taking the held lock.
        let commands = vec![
            ("RF-4".to_string(), registration_cmd("P003", "310", "RF-4")),
            ("RF-5".to_string(), registration("P001", "RF-5")),
            ("RF-6".to_string(), registration("P002", "RF-6")),
        ];
        let store = one_lane(&db, StoreOptions::default()).await;
        let replies = together(&db, &store, commands).await;
        store.close().await;
        let mut replies = replies.into_iter();
        match replies.next().unwrap() {
            Err(StoreError::Refused { field, .. }) => assert_eq!(field, "insutype"),
            other => panic!("[{}] P003 under 310 gave {other:?}", db.label),
        }
        fresh(
            replies
                .next()
                .unwrap()
                .expect("2201 behind a refused first member"),
        );
        fresh(
            replies
                .next()
                .unwrap()
                .expect("2201 behind a refused first member"),
        );
        let last = counts(&db).await;
        assert_eq!(count(&last, "visit"), count(&after, "visit") + 2);
        assert_eq!(
            count(&last, "idempotency"),
            count(&after, "idempotency") + 2
        );
        assert_balanced(&db).await;
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_msgid_twice_in_one_batch_is_done_once() {
    on_both(|db| async move {
        imported(&db).await;
        let before = counts(&db).await;
        let commands = vec![
            ("DUP-0".to_string(), registration("P003", "DUP-0")),
            ("DUP-1".to_string(), registration("P001", "DUP-1")),
            ("DUP-1".to_string(), registration("P001", "DUP-1")),
        ];
        let store = one_lane(&db, StoreOptions::default()).await;
        let replies = together(&db, &store, commands).await;
        store.close().await;
        let texts: Vec<String> = replies
            .into_iter()
            .map(|r| r.expect("answered").response().to_string())
            .collect();
        assert_eq!(
            texts[1], texts[2],
            "[{}] the retry gets the first answer",
            db.label
        );
        let after = counts(&db).await;
        assert_eq!(count(&after, "visit"), count(&before, "visit") + 2);
        db
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_the_queue_bound_a_command_is_turned_away_at_once() {
    on_both(|db| async move {
        imported(&db).await;
        let small = one_lane(
            &db,
            StoreOptions {
                write_commands_queued_max: 2,
                ..StoreOptions::default()
            },
        )
        .await;
        let before = counts(&db).await;
        let blocker = Blocker::hold(&db).await;
        let mut tasks = Vec::new();
        for (i, psn_no) in ["P003", "P001"].iter().enumerate() {
            let store = small.clone();
            let msgid = format!("Q-{i}");
            let cmd = registration(psn_no, &msgid);
            let env = env(CLINIC, &msgid, "2201", &format!("{cmd:?}"));
            tasks.push(tokio::spawn(async move {
                store.execute(&env, cmd, &render).await
            }));
            for _ in 0..1_000 {
                if small.batch_stats().in_store > i {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        assert_eq!(small.batch_stats().in_store, 2);
        let started = std::time::Instant::now();
        let cmd = registration("P002", "Q-2");
        let turned_away = small
            .execute(
                &env(CLINIC, "Q-2", "2201", &format!("{cmd:?}")),
                cmd,
                &render,
            )
            .await;
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "[{}] an overloaded store answers at once",
            db.label
        );
        match turned_away {
            Err(e @ StoreError::Overloaded { queued: 2 }) => {
                assert!(e.is_user_error());
                assert!(e.to_string().contains("nothing was written"));
            }
            other => panic!("[{}] the third command gave {other:?}", db.label),
        }
        blocker.release().await;
        for task in tasks {
            fresh(task.await.unwrap().expect("the queued commands run"));
        }
        let after = counts(&db).await;
        assert_eq!(count(&after, "visit"), count(&before, "visit") + 2);
        small.close().await;
        db
    })
    .await;
}

/// PostgreSQL runs a lane per share of the persons: while one person's command waits on a lock
/// inside its lane's batch, another lane's commands commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_lane_commits_while_one_waits() {
    on_postgres(|db| async move {
        imported(&db).await;
        let blocker = Blocker::hold(&db).await;
        let store = db.store.clone();
        let cmd = registration("P003", "LANE-0");
        let env0 = env(CLINIC, "LANE-0", "2201", &format!("{cmd:?}"));
        let waiting = tokio::spawn(async move { store.execute(&env0, cmd, &render).await });
        wait_until(&db.store, |stats| stats.in_store >= 1).await;
        // Of four other persons, those in another lane than P003's answer while it waits.
        let mut answered = 0;
        for (i, psn_no) in ["P001", "P002", "P004", "P005"].iter().enumerate() {
            let msgid = format!("LANE-{}", i + 1);
            let cmd = registration(psn_no, &msgid);
            let env = env(CLINIC, &msgid, "2201", &format!("{cmd:?}"));
            let store = db.store.clone();
            let task = tokio::spawn(async move { store.execute(&env, cmd, &render).await });
            if let Ok(reply) = tokio::time::timeout(std::time::Duration::from_secs(2), task).await {
                fresh(reply.unwrap().expect("2201 in another lane"));
                answered += 1;
            }
        }
        assert!(answered >= 1, "no other lane committed while P003 waited");
        assert!(!waiting.is_finished());
        blocker.release().await;
        fresh(waiting.await.unwrap().expect("P003's 2201 after the lock"));
        db
    })
    .await;
}

/// The fault simulator's crash points: before the commit nothing of the batch survives, after it
/// everything does and a retry of the same message gets the stored answer; either way the
/// crashed store answers nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_inside_a_batch_keeps_all_or_nothing() {
    on_both(|db| async move {
        imported(&db).await;
        for point in ["before", "after"] {
            let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let hook_fired = fired.clone();
            let crashing = one_lane(
                &db,
                StoreOptions {
                    batch_open_max: std::time::Duration::from_secs(60),
                    crash_hook: Some(CrashHook(std::sync::Arc::new(move |at| {
                        let strikes = match at {
                            CrashPoint::BeforeCommit { .. } => point == "before",
                            CrashPoint::AfterCommit { .. } => point == "after",
                        };
                        strikes && !hook_fired.swap(true, std::sync::atomic::Ordering::SeqCst)
                    }))),
                    ..StoreOptions::default()
                },
            )
            .await;
            let before = counts(&db).await;
            let commands: Vec<(String, Command)> = ["P003", "P001", "P002"]
                .iter()
                .map(|p| {
                    let msgid = format!("CR-{point}-{p}");
                    (msgid.clone(), registration(p, &msgid))
                })
                .collect();
            let replies = together(&db, &crashing, commands.clone()).await;
            assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
            for reply in replies {
                assert!(
                    matches!(reply, Err(StoreError::Crashed)),
                    "[{}] {point}: {reply:?}",
                    db.label
                );
            }
            let (msgid, cmd) = commands[1].clone();
            let after_crash = crashing
                .execute(
                    &env(CLINIC, &msgid, "2201", &format!("{cmd:?}")),
                    cmd,
                    &render,
                )
                .await;
            assert!(matches!(after_crash, Err(StoreError::Crashed)));
            crashing.close().await;

            // The restarted process: the database says what happened.
            let after = counts(&db).await;
            let added = if point == "before" { 0 } else { 3 };
            assert_eq!(count(&after, "visit"), count(&before, "visit") + added);
            assert_eq!(
                count(&after, "idempotency"),
                count(&before, "idempotency") + added
            );
            for (msgid, cmd) in commands {
                let retry = exec(&db, CLINIC, &msgid, "2201", cmd).await.expect("retry");
                match (point, retry) {
                    ("before", Reply::Fresh { .. }) | ("after", Reply::Replayed { .. }) => {}
                    (_, other) => panic!("[{}] {point}: the retry gave {other:?}", db.label),
                }
            }
            assert_balanced(&db).await;
        }
        db
    })
    .await;
}
