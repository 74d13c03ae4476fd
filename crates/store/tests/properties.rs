//! Property test: any sequence of bills, settlements and reversals for a few persons keeps the
//! ledger balanced, every settlement's identities, every reversal an exact negation and the
//! accumulators equal to what the live settlements added. Runs on SQLite and PostgreSQL.

mod common;

use common::*;
use proptest::prelude::*;
use yibao_store::*;

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    /// Register, upload these lines (catalogue index, price in fen, count) and settle.
    Bill {
        person: usize,
        inst: usize,
        lines: Vec<(usize, i64, i64)>,
        acct_used_flag: usize,
    },
    /// Reverse the n-th live settlement (modulo how many there are).
    Reverse(usize),
}

const PERSONS: [(&str, &str); 5] = [
    ("P001", "310"),
    ("P002", "310"),
    ("P003", "390"),
    ("P004", "390"),
    ("P005", "310"),
];
const INSTITUTIONS: [&str; 3] = [HOSPITAL, CLINIC, PHARMACY];
const CODES: [&str; 6] = [
    "X-DRUG-A",
    "X-ITEM-B",
    "X-CONS-C",
    "X-ITEM-D",
    "X-DRUG-E",
    "NOT-IN-CATALOGUE",
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..PERSONS.len(), 0..INSTITUTIONS.len(), prop::collection::vec((0..CODES.len(), 1i64..200_000, 1i64..5), 1..6), 0..3usize)
            .prop_map(|(person, inst, lines, acct_used_flag)| Step::Bill { person, inst, lines, acct_used_flag }),
        1 => (0..100usize).prop_map(Step::Reverse),
    ]
}

async fn play(db: &TestDb, steps: &[Step]) {
    let mut live: Vec<(String, &str, String, String)> = Vec::new(); // (inst, psn_no, mdtrt_id, setl_id)
    for (n, s) in steps.iter().enumerate() {
        match s {
            Step::Bill {
                person,
                inst,
                lines,
                acct_used_flag,
            } => {
                let (psn_no, insutype) = PERSONS[*person];
                let inst = INSTITUTIONS[*inst];
                let mdtrt_id = register(db, inst, &format!("S{n}-2201"), psn_no, insutype).await;
                fresh(
                    exec(
                        db,
                        inst,
                        &format!("S{n}-2203"),
                        "2203",
                        visit_info(&mdtrt_id, psn_no, "11", ""),
                    )
                    .await
                    .expect("2203"),
                );
                let lines: Vec<FeeLineIn> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, (code, fen, cnt))| {
                        line(
                            &mdtrt_id,
                            psn_no,
                            &format!("{}", i + 1),
                            CODES[*code],
                            fen * 10_000,
                            cnt * 10_000,
                        )
                    })
                    .collect();
                let total: i64 = lines.iter().map(|l| l.det_item_fee_sumamt_fen).sum();
                fresh(
                    exec(
                        db,
                        inst,
                        &format!("S{n}-2204"),
                        "2204",
                        Command::UploadFees(UploadFees {
                            kind: VisitKind::Outpatient,
                            lines,
                        }),
                    )
                    .await
                    .expect("2204"),
                );
                let flag = ["0", "1", "2"][*acct_used_flag];
                let v = settled(fresh(
                    exec(
                        db,
                        inst,
                        &format!("S{n}-2207"),
                        "2207",
                        settle_cmd(false, &mdtrt_id, psn_no, insutype, total, flag),
                    )
                    .await
                    .expect("2207"),
                ));
                assert_eq!(v.amounts.medfee_sumamt.0, total);
                assert!(v.amounts.balc.0 >= 0);
                live.push((inst.to_string(), psn_no, mdtrt_id, v.setl_id));
            }
            Step::Reverse(k) => {
                if live.is_empty() {
                    continue;
                }
                let (inst, psn_no, mdtrt_id, setl_id) = live.remove(k % live.len());
                let cmd = Command::ReverseSettlement(ReverseSettlement {
                    kind: VisitKind::Outpatient,
                    visit: VisitRef {
                        psn_no: psn_no.into(),
                        mdtrt_id,
                        ipt_otp_no: None,
                    },
                    setl_id,
                });
                fresh(
                    exec(db, &inst, &format!("S{n}-2208"), "2208", cmd)
                        .await
                        .expect("2208"),
                );
            }
        }
    }
    assert_balanced(db).await;
    for (psn_no, _) in PERSONS {
        let balance = db
            .store
            .account_balance(&ledger::personal_account(psn_no))
            .await
            .unwrap();
        assert!(
            balance.unwrap_or(0) >= 0,
            "[{}] {psn_no}'s account went negative",
            db.label
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_the_ledger_balanced(steps in prop::collection::vec(step(), 1..12)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(on_both(|db| {
            let steps = steps.clone();
            async move {
                imported(&db).await;
                play(&db, &steps).await;
                db
            }
        }));
    }
}
