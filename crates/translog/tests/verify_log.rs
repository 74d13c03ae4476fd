//! The whole-log verifier against each tampering of threat T5: a deleted, altered, reordered,
//! inserted or forked leaf is reported as the first bad leaf with its reason.

use expect_test::expect;
use proptest::prelude::*;
use yibao_gm::SigningKey;
use yibao_translog::{
    encode_leaf, leaf_hash, sign_checkpoint, verify_log, verify_log_with_reference, Checkpoint,
    CheckpointKeys, Leaf, LeafRow, MemoryTree, NoteSigner, NoteVerifier, TrustPolicy,
};

const ORIGIN: &str = "yibao.example.gov.cn/access-log/v1";
const CHECKPOINT_EVERY: u64 = 10;

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&yibao_gm::hash(b"log")).unwrap()
}

fn keys() -> CheckpointKeys {
    CheckpointKeys::Log(NoteVerifier::log(ORIGIN, log_key().verifying_key()).unwrap())
}

fn event(idx: u64) -> Leaf {
    Leaf {
        leaf_idx: idx,
        ts_ms: 1_788_000_000_000 + idx * 1000,
        leaf_nonce: [idx as u8; 16],
        event_type: if idx % 3 == 0 {
            "STAFF_VIEW"
        } else {
            "DATA_CALL"
        }
        .into(),
        actor_ref: Some(yibao_gm::hmac_sm3(b"k_actor", &idx.to_be_bytes())),
        subject_ref: Some(yibao_gm::hmac_sm3(b"k_subject", &idx.to_be_bytes())),
        grant_ref: None,
        purpose: "P05".into(),
        item_codes: vec!["ST01".into(), "ST04".into()],
        decision: "PERMIT".into(),
        reason_code: String::new(),
        request_digest: Some(yibao_gm::hash(&idx.to_be_bytes())),
        response_digest: None,
        detail_commitment: None,
    }
}

/// A stored log: rows of (idx, leaf bytes, stored leaf hash).
#[derive(Clone)]
struct Log {
    rows: Vec<(u64, Vec<u8>, Option<[u8; 32]>)>,
}

impl Log {
    fn honest(n: u64) -> Self {
        let rows = (0..n)
            .map(|idx| {
                let bytes = encode_leaf(&event(idx)).unwrap();
                let hash = leaf_hash(&bytes);
                (idx, bytes, Some(hash))
            })
            .collect();
        Self { rows }
    }

    fn rows(&self) -> impl Iterator<Item = LeafRow<'_>> {
        self.rows.iter().map(|(idx, leaf, hash)| LeafRow {
            idx: *idx,
            leaf,
            leaf_hash: *hash,
        })
    }

    /// Replaces the leaf at row `at` with `leaf`, keeping (or recomputing) the stored hash.
    fn set_leaf(&mut self, at: usize, leaf: &Leaf, recompute_hash: bool) {
        let bytes = encode_leaf(leaf).unwrap();
        if recompute_hash {
            self.rows[at].2 = Some(leaf_hash(&bytes));
        }
        self.rows[at].1 = bytes;
    }
}

/// Checkpoints every 10 leaves of the honest log of `n` leaves, as signed notes.
fn notes(n: u64) -> Vec<String> {
    let signer = NoteSigner::log(ORIGIN, log_key()).unwrap();
    let mut tree = MemoryTree::new();
    let mut notes = Vec::new();
    for idx in 0..n {
        tree.push(&encode_leaf(&event(idx)).unwrap());
        if (idx + 1) % CHECKPOINT_EVERY == 0 {
            let checkpoint = Checkpoint {
                origin: ORIGIN.into(),
                size: idx + 1,
                root: tree.root(idx + 1).unwrap(),
            };
            notes.push(sign_checkpoint(&checkpoint, &signer).unwrap());
        }
    }
    notes
}

fn run(log: &Log, notes: &[String]) -> String {
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    match verify_log(log.rows(), &notes, &keys()) {
        Ok(report) => format!(
            "ok: {} leaves, verified to {}",
            report.n_leaves, report.verified_size
        ),
        Err(fault) => fault.to_string(),
    }
}

#[test]
fn each_tampering_is_found_at_its_first_bad_leaf() {
    let notes = notes(40);
    let honest = Log::honest(40);
    let mut cases: Vec<(&str, String)> = Vec::new();

    cases.push(("honest", run(&honest, &notes)));
    cases.push((
        "honest, 5 leaves not yet checkpointed",
        run(&Log::honest(45), &notes),
    ));
    cases.push(("honest, no checkpoints", run(&honest, &[])));
    let mut no_hashes = honest.clone();
    no_hashes.rows.iter_mut().for_each(|row| row.2 = None);
    cases.push(("honest, no stored hashes", run(&no_hashes, &notes)));

    let mut log = honest.clone();
    log.rows.remove(17);
    cases.push(("row 17 deleted", run(&log, &notes)));

    let mut log = honest.clone();
    log.rows.truncate(35);
    cases.push(("newest rows 35.. deleted", run(&log, &notes)));

    let mut altered = event(23);
    altered.decision = "DENY".into();
    let mut log = honest.clone();
    log.set_leaf(23, &altered, false);
    cases.push(("leaf 23 altered", run(&log, &notes)));
    let mut log = honest.clone();
    log.set_leaf(23, &altered, true);
    cases.push(("leaf 23 and its stored hash altered", run(&log, &notes)));

    let mut log = honest.clone();
    let (five, six) = (log.rows[5].1.clone(), log.rows[6].1.clone());
    log.rows[5].1 = six;
    log.rows[6].1 = five;
    cases.push(("leaves 5 and 6 swapped", run(&log, &notes)));

    let mut log = honest.clone();
    log.rows.insert(6, log.rows[5].clone());
    cases.push(("row 5 duplicated", run(&log, &notes)));

    // An inserted leaf forged with the index of its place; the rows after it renumbered.
    let mut log = honest.clone();
    let forged = encode_leaf(&Leaf {
        event_type: "GRANT_CREATED".into(),
        ..event(12)
    })
    .unwrap();
    log.rows
        .insert(12, (12, forged.clone(), Some(leaf_hash(&forged))));
    log.rows
        .iter_mut()
        .enumerate()
        .for_each(|(at, row)| row.0 = at as u64);
    cases.push(("leaf inserted at 12", run(&log, &notes)));
    // The same, with every later leaf re-encoded to its new index: only the roots show it.
    let mut log = Log::honest(41);
    for at in 13..41 {
        log.set_leaf(
            at,
            &Leaf {
                leaf_idx: at as u64,
                ..event(at as u64 - 1)
            },
            true,
        );
    }
    log.set_leaf(
        12,
        &Leaf {
            event_type: "GRANT_CREATED".into(),
            ..event(12)
        },
        true,
    );
    cases.push((
        "leaf inserted at 12, later leaves re-indexed",
        run(&log, &notes),
    ));

    let mut log = honest.clone();
    log.rows[31].1.truncate(10);
    cases.push(("leaf 31 truncated", run(&log, &notes)));

    // A fork: the log signed a second, different tree of size 20.
    let mut forked = Log::honest(40);
    forked.set_leaf(
        3,
        &Leaf {
            purpose: "P01".into(),
            ..event(3)
        },
        true,
    );
    let mut tree = MemoryTree::new();
    forked
        .rows
        .iter()
        .take(20)
        .for_each(|row| tree.push(&row.1));
    let fork_note = sign_checkpoint(
        &Checkpoint {
            origin: ORIGIN.into(),
            size: 20,
            root: tree.root(20).unwrap(),
        },
        &NoteSigner::log(ORIGIN, log_key()).unwrap(),
    )
    .unwrap();
    let mut with_fork = notes.clone();
    with_fork.push(fork_note.clone());
    cases.push(("two signed roots for size 20", run(&honest, &with_fork)));
    // The forked leaves checked against the honest checkpoints.
    cases.push(("forked leaves, honest checkpoints", run(&forked, &notes)));

    // A checkpoint whose signature was forged.
    let mut forged_notes = notes.clone();
    forged_notes[1] = forged_notes[1].replacen("\n20\n", "\n21\n", 1);
    cases.push(("checkpoint 2 forged", run(&honest, &forged_notes)));

    let text: Vec<String> = cases
        .iter()
        .map(|(name, result)| format!("{name}\n  {result}"))
        .collect();
    expect![[r#"
        honest
          ok: 40 leaves, verified to 40
        honest, 5 leaves not yet checkpointed
          ok: 45 leaves, verified to 40
        honest, no checkpoints
          ok: 40 leaves, verified to 0
        honest, no stored hashes
          ok: 40 leaves, verified to 40
        row 17 deleted
          leaf 17: missing (deleted): the next row has index 18
        newest rows 35.. deleted
          leaf 35: missing (deleted): the log ends here, but a signed checkpoint covers 40 leaves
        leaf 23 altered
          leaf 23: altered: the stored leaf hash does not match the leaf bytes
        leaf 23 and its stored hash altered
          leaf 20: altered, inserted or forked: leaves 20..30 do not hash to the signed root of the checkpoint of size 30
        leaves 5 and 6 swapped
          leaf 5: the leaf records index 6: moved, reordered or inserted
        row 5 duplicated
          leaf 5: out of order or duplicated: row index 5 comes after row 5
        leaf inserted at 12
          leaf 13: the leaf records index 12: moved, reordered or inserted
        leaf inserted at 12, later leaves re-indexed
          leaf 10: altered, inserted or forked: leaves 10..20 do not hash to the signed root of the checkpoint of size 20
        leaf 31 truncated
          leaf 31: malformed: leaf: truncated in field `ts_ms`
        two signed roots for size 20
          checkpoints of size 20 show two different roots: the log forked
        forked leaves, honest checkpoints
          leaf 0: altered, inserted or forked: leaves 0..10 do not hash to the signed root of the checkpoint of size 10
        checkpoint 2 forged
          note 2: checkpoint: the signature by key `yibao.example.gov.cn/access-log/v1` does not verify"#]].assert_eq(&text.join("\n"));
}

fn honest_tree(n: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    Log::honest(n).rows.iter().for_each(|row| tree.push(&row.1));
    tree
}

fn run_with_reference(log: &Log, notes: &[String], reference: &MemoryTree) -> String {
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    match verify_log_with_reference(log.rows(), &notes, &keys(), reference) {
        Ok(report) => format!(
            "ok: {} leaves, verified to {}",
            report.n_leaves, report.verified_size
        ),
        Err(fault) => fault.to_string(),
    }
}

/// A reference copy of the hashes (a witness's tiles) pins a consistent alteration to its leaf,
/// and is itself checked against the signed roots before it is believed.
#[test]
fn a_reference_copy_pins_the_altered_leaf() {
    let notes = notes(40);
    let mut altered = Log::honest(40);
    altered.set_leaf(
        23,
        &Leaf {
            decision: "DENY".into(),
            ..event(23)
        },
        true,
    );
    let mut altered_tree = MemoryTree::new();
    altered
        .rows
        .iter()
        .for_each(|row| altered_tree.push(&row.1));

    let cases = [
        (
            "honest log, honest reference",
            run_with_reference(&Log::honest(40), &notes, &honest_tree(40)),
        ),
        (
            "leaf 23 and its hash altered, honest reference",
            run_with_reference(&altered, &notes, &honest_tree(40)),
        ),
        (
            "leaf 23 altered, reference covering 25 leaves",
            run_with_reference(&altered, &notes, &honest_tree(25)),
        ),
        (
            "leaf 23 altered, the reference altered too",
            run_with_reference(&altered, &notes, &altered_tree),
        ),
    ];
    let text: Vec<String> = cases
        .iter()
        .map(|(name, result)| format!("{name}\n  {result}"))
        .collect();
    expect![[r#"
        honest log, honest reference
          ok: 40 leaves, verified to 40
        leaf 23 and its hash altered, honest reference
          leaf 23: altered, inserted or forked: the leaf hash differs from the reference copy
        leaf 23 altered, reference covering 25 leaves
          leaf 20: altered, inserted or forked: leaves 20..30 do not hash to the signed root of the checkpoint of size 30
        leaf 23 altered, the reference altered too
          reference copy: its hashes do not give the signed root of the checkpoint of size 30"#]].assert_eq(&text.join("\n"));
}

/// With witnesses required, checkpoints without the quorum are refused.
#[test]
fn witnessed_checkpoints_need_their_quorum() {
    let notes = notes(20);
    let witness = SigningKey::from_bytes(&yibao_gm::hash(b"audit-office")).unwrap();
    let policy = TrustPolicy {
        log: NoteVerifier::log(ORIGIN, log_key().verifying_key()).unwrap(),
        witnesses: vec![NoteVerifier::witness("audit-office", witness.verifying_key()).unwrap()],
        quorum: 1,
    };
    let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
    let fault = verify_log(
        Log::honest(20).rows(),
        &notes,
        &CheckpointKeys::Witnessed(policy),
    )
    .unwrap_err();
    expect!["note 1: checkpoint: 0 valid witness cosignatures, 1 required"]
        .assert_eq(&fault.to_string());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any single changed byte in any leaf, even with its stored hash made to match, is found,
    /// and the first bad leaf reported is not after it and not before its checkpoint interval.
    #[test]
    fn any_changed_byte_is_found(
        at in 0usize..40,
        byte in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        recompute_hash in any::<bool>(),
    ) {
        let notes = notes(40);
        let mut log = Log::honest(40);
        let bytes = &mut log.rows[at].1;
        let i = byte.index(bytes.len());
        bytes[i] ^= xor;
        if recompute_hash {
            log.rows[at].2 = Some(leaf_hash(&log.rows[at].1));
        }
        let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
        let fault = verify_log(log.rows(), &notes, &keys()).unwrap_err();
        let yibao_translog::Fault::Leaf { leaf_idx, .. } = fault else {
            panic!("expected a leaf fault, got {fault}");
        };
        let at = at as u64;
        prop_assert!(leaf_idx <= at, "reported {leaf_idx} after the change at {at}");
        prop_assert!(leaf_idx >= at / CHECKPOINT_EVERY * CHECKPOINT_EVERY);

        // With an honest reference copy, the fault is at exactly the changed leaf.
        let fault = verify_log_with_reference(log.rows(), &notes, &keys(), &honest_tree(40))
            .unwrap_err();
        let yibao_translog::Fault::Leaf { leaf_idx, .. } = fault else {
            panic!("expected a leaf fault, got {fault}");
        };
        prop_assert_eq!(leaf_idx, at);
    }
}
