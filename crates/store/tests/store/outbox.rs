//! The access log's outbox: every interface call on a person's data becomes a leaf — a write in
//! its own transaction, a replay and a read before their answer — and the sequencer appends
//! them with contiguous indexes, once each, however many run side by side.

use std::collections::BTreeSet;

use crate::common::*;
use yibao_store::access_outbox::{InterfaceAccess, SEQUENCE_BATCH_MAX};

fn read_of(psn_no: &str, n: usize) -> InterfaceAccess {
    InterfaceAccess {
        ts_ms: 1_746_842_400_000 + n as i64,
        fixmedins_code: HOSPITAL.to_owned(),
        infno: "1101".to_owned(),
        psn_no: psn_no.to_owned(),
        write: false,
        request_digest: Some([n as u8; 32]),
        response_digest: None,
    }
}

/// The leaves of the log, all of them.
async fn leaves(db: &TestDb) -> Vec<yibao_store::AccessLogRow> {
    let mut out = Vec::new();
    loop {
        let after = out
            .last()
            .map_or(-1, |row: &yibao_store::AccessLogRow| row.idx);
        let page = db.store.access_log(after, 1_000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

#[tokio::test]
async fn a_settlement_is_logged_with_its_change_and_a_replay_again() {
    on_both(|db| async move {
        imported(&db).await;
        let before = db.store.outbox_pending().await.unwrap();
        assert_eq!(before, 0, "{}", db.label);
        settle_one(
            &db,
            CLINIC,
            "OB",
            ("P003", "390"),
            ("11", ""),
            ("X-DRUG-A", 100),
        )
        .await
        .expect("2207");
        // 2201, 2203, 2204 and 2207: one record each, in their own transactions.
        assert_eq!(db.store.outbox_pending().await.unwrap(), 4, "{}", db.label);
        // A refused call writes no record: a settlement of a visit that does not exist.
        let refused = exec(
            &db,
            CLINIC,
            "OB-bad",
            "2207",
            settle_cmd(false, "NO-SUCH-VISIT", "P003", "390", 100, "0"),
        )
        .await;
        assert!(refused.is_err(), "{}", db.label);
        assert_eq!(db.store.outbox_pending().await.unwrap(), 4, "{}", db.label);
        // The same 2201 again is a replay: its stored answer is released again, and logged again.
        let replay = exec(
            &db,
            CLINIC,
            "OB-2201",
            "2201",
            registration_cmd("P003", "390", "OB-2201"),
        )
        .await
        .expect("replay");
        assert!(matches!(replay, yibao_store::Reply::Replayed { .. }));
        assert_eq!(db.store.outbox_pending().await.unwrap(), 5, "{}", db.label);

        let size_before = leaves(&db).await.len();
        assert_eq!(db.store.drain_outbox().await.unwrap(), 5, "{}", db.label);
        assert_eq!(db.store.outbox_pending().await.unwrap(), 0, "{}", db.label);
        let all = leaves(&db).await;
        assert_eq!(all.len(), size_before + 5, "{}", db.label);
        let new = &all[size_before..];
        let infnos: Vec<&str> = new
            .iter()
            .map(|row| row.entry.action.split(' ').next().unwrap())
            .collect();
        assert_eq!(
            infnos,
            ["2201", "2203", "2204", "2207", "2201"],
            "{}",
            db.label
        );
        for row in new {
            assert_eq!(row.entry.action.split(' ').nth(1), Some(CLINIC));
            assert_eq!(row.entry.purpose, "settlement");
            assert_eq!(row.entry.staff_id, None);
        }
        assert_eq!(new[3].entry.event, "interface.write");
        assert_eq!(new[4].entry.event, "interface.read", "a replay reads");
        // The person finds them through the person index; nobody else does.
        let mine = db.store.person_leaves("P003").await.unwrap();
        for row in new {
            assert!(mine.contains(&row.idx), "{}: leaf {}", db.label, row.idx);
        }
        let theirs = db.store.person_leaves("P001").await.unwrap();
        assert!(new.iter().all(|row| !theirs.contains(&row.idx)));
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{}: {:?}", db.label, report.problem);
        db
    })
    .await;
}

#[tokio::test]
async fn concurrent_reads_and_sequencers_give_each_call_one_leaf() {
    on_both(|db| async move {
        let start = leaves(&db).await.len();
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    for n in 0..25 {
                        let call = read_of(&format!("PX{w}"), n);
                        store.log_interface(&[call]).await.unwrap();
                    }
                })
            })
            .collect();
        let sequencers: Vec<_> = (0..3)
            .map(|_| {
                let store = db.store.clone();
                tokio::spawn(async move {
                    let mut total = 0;
                    for _ in 0..20 {
                        total += store.sequence_outbox().await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    total
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let mut sequenced = 0;
        for sequencer in sequencers {
            sequenced += sequencer.await.unwrap();
        }
        sequenced += db.store.drain_outbox().await.unwrap();
        assert_eq!(sequenced, 200, "{}", db.label);
        let all = leaves(&db).await;
        assert_eq!(all.len(), start + 200, "{}", db.label);
        let indexes: Vec<i64> = all.iter().map(|row| row.idx).collect();
        assert_eq!(indexes, (0..all.len() as i64).collect::<Vec<_>>());
        // Each call exactly once: its request digest and time tell it apart.
        let calls: BTreeSet<String> = all[start..].iter().map(|row| row.leaf.clone()).collect();
        assert_eq!(calls.len(), 200);
        for w in 0..8 {
            assert_eq!(
                db.store
                    .person_leaves(&format!("PX{w}"))
                    .await
                    .unwrap()
                    .len(),
                25,
                "{}",
                db.label
            );
        }
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{}: {:?}", db.label, report.problem);
        db
    })
    .await;
}

#[tokio::test]
async fn a_checkpoint_covers_every_call_logged_before_it() {
    on_both(|db| async move {
        let keys = yibao_store::LogKeys::generate("yibao.test/outbox").unwrap();
        let calls: Vec<InterfaceAccess> = (0..(SEQUENCE_BATCH_MAX as usize + 7))
            .map(|n| read_of("P001", n))
            .collect();
        db.store.log_interface(&calls).await.unwrap();
        let checkpoint = db.store.sign_checkpoint(&keys).await.unwrap();
        assert_eq!(db.store.outbox_pending().await.unwrap(), 0, "{}", db.label);
        assert!(checkpoint.size >= calls.len() as i64, "{}", db.label);
        let all = leaves(&db).await;
        assert_eq!(all.len() as i64, checkpoint.size, "{}", db.label);
        let reads = all
            .iter()
            .filter(|row| row.entry.event == "interface.read")
            .count();
        assert_eq!(reads, calls.len(), "{}", db.label);
        let report = db.store.verify_log().await.unwrap();
        assert!(report.is_intact(), "{}: {:?}", db.label, report.problem);
        assert_eq!(report.verified_size, checkpoint.size, "{}", db.label);
        db
    })
    .await;
}
