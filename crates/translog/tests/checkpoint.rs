//! Signed checkpoints and witnesses (spec §9.4, §9.5; threats T2 and T5): the note text, its
//! parse errors, signature checks, witness quorum, and a witness refusing rollbacks and forks.

use expect_test::{expect, Expect};
use yibao_gm::SigningKey;
use yibao_translog::checkpoint::{add_cosignatures, SignedNote};
use yibao_translog::{
    check_extends, consistency_proof, open_checkpoint, open_witnessed, sign_checkpoint, Checkpoint,
    ConsistencyProof, LogError, MemoryTree, NoteSigner, NoteVerifier, TrustPolicy, Witness,
};

const ORIGIN: &str = "yibao.example.gov.cn/access-log/v1";

fn key(seed: &str) -> SigningKey {
    SigningKey::from_bytes(&yibao_gm::hash(seed.as_bytes())).unwrap()
}

fn log_signer() -> NoteSigner {
    NoteSigner::log(ORIGIN, key("log")).unwrap()
}

fn log_verifier() -> NoteVerifier {
    NoteVerifier::log(ORIGIN, key("log").verifying_key()).unwrap()
}

fn witness(name: &str) -> Witness {
    Witness::new(
        NoteSigner::witness(name, key(name)).unwrap(),
        log_verifier(),
        None,
    )
}

fn witness_verifier(name: &str) -> NoteVerifier {
    NoteVerifier::witness(name, key(name).verifying_key()).unwrap()
}

fn tree(n: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(format!("leaf {i}").as_bytes());
    }
    tree
}

fn checkpoint(tree: &MemoryTree, size: u64) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.to_string(),
        size,
        root: tree.root(size).unwrap(),
    }
}

fn note(tree: &MemoryTree, size: u64) -> String {
    sign_checkpoint(&checkpoint(tree, size), &log_signer()).unwrap()
}

#[test]
fn note_text_fixture() {
    let tree = tree(3);
    let note = note(&tree, 3);
    expect![[r#"
        yibao.example.gov.cn/access-log/v1
        3
        KWWmEStsX1nvnM9lIdBePCcbKkfENoCbGV0YQnHfJbs=

        — yibao.example.gov.cn/access-log/v1 juFuxJlmlCpolzqsECR0C9nXeyxtkDc/eHJ/rwNq28yhNFDafMsi2L0w/DXX7TW20RbyPhn0KigBXSfmD44T/Wu8pdQ=
    "#]]
    .assert_eq(&note);
    assert_eq!(
        open_checkpoint(&note, &log_verifier()).unwrap(),
        checkpoint(&tree, 3)
    );
    assert_eq!(SignedNote::parse(&note).unwrap().to_text(), note);
}

fn check(result: Result<impl std::fmt::Debug, LogError>, expect: Expect) {
    let text = match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => error.to_string(),
    };
    expect.assert_eq(&text);
}

#[test]
fn malformed_and_forged_notes() {
    let tree = tree(3);
    let good = note(&tree, 3);
    let log = log_verifier();
    let (body, signatures) = good.split_once("\n\n").unwrap();
    let open = |text: &str| open_checkpoint(text, &log);

    check(
        open("no signatures\n"),
        expect![[r#"checkpoint: no empty line between the body and the signatures"#]],
    );
    check(
        open(&good[..good.len() - 1]),
        expect![[r#"checkpoint: the note must end with a newline"#]],
    );
    check(
        open(&format!("{body}\n\n\n{signatures}")),
        expect![[r##"checkpoint: signature line 1 does not start with "— ""##]],
    );
    check(
        open(&format!("{body}\n\n— name\n")),
        expect![[r#"checkpoint: signature line 1 has no space between name and signature"#]],
    );
    check(
        open(&format!("{body}\n\n— name ***\n")),
        expect![[r#"checkpoint: signature line 1 is not base64"#]],
    );
    check(
        open(&format!("{body}\n\n— name AAAA\n")),
        expect![[r#"checkpoint: signature line 1 is shorter than a key id and a signature"#]],
    );
    let root_line = body.lines().nth(2).unwrap();
    let with_body = |body: String| format!("{body}\n{signatures}");
    check(
        open(&with_body(format!("{ORIGIN}\n3\n{root_line}\next\n"))),
        expect![[r#"checkpoint: the body must be exactly 3 lines: origin, size, root"#]],
    );
    check(
        open(&with_body(format!("{ORIGIN}\n03\n{root_line}\n"))),
        expect![[r#"checkpoint: line 2 (size) is not a decimal number without leading zeros"#]],
    );
    check(
        open(&with_body(format!("{ORIGIN}\n+3\n{root_line}\n"))),
        expect![[r#"checkpoint: line 2 (size) is not a decimal number without leading zeros"#]],
    );
    check(
        open(&with_body(format!("{ORIGIN}\n3\nAAAA\n"))),
        expect![[r#"checkpoint: line 3 (root) is not the base64 of 32 bytes"#]],
    );
    check(
        open(&with_body(format!("other.example/log\n3\n{root_line}\n"))),
        expect![[
            r#"checkpoint: origin `other.example/log` is not this log's `yibao.example.gov.cn/access-log/v1`"#
        ]],
    );
    // The body changed under a valid signature: a forged size, then a forged root.
    check(
        open(&with_body(format!("{ORIGIN}\n4\n{root_line}\n"))),
        expect![[
            r#"checkpoint: the signature by key `yibao.example.gov.cn/access-log/v1` does not verify"#
        ]],
    );
    let other_root = yibao_translog::tree::leaf_hash(b"x");
    let forged = Checkpoint {
        root: other_root,
        ..checkpoint(&tree, 3)
    };
    check(
        open(&with_body(forged.body())),
        expect![[
            r#"checkpoint: the signature by key `yibao.example.gov.cn/access-log/v1` does not verify"#
        ]],
    );
    // Signed by another key under the log's name: its key id differs, so no signature is found.
    let impostor = NoteSigner::log(ORIGIN, key("impostor")).unwrap();
    check(
        open(&sign_checkpoint(&checkpoint(&tree, 3), &impostor).unwrap()),
        expect![[r#"checkpoint: no signature by key `yibao.example.gov.cn/access-log/v1`"#]],
    );
    check(
        NoteSigner::log("has space", key("log")).map(|_| ()),
        expect![[r#"key name `has space`: must be non-empty, without spaces, newlines or '+'"#]],
    );
}

#[test]
fn witnesses_cosign_extensions_and_the_quorum_is_checked() {
    let tree = tree(20);
    let mut audit = witness("audit-office");
    let mut province = witness("province");
    let policy = TrustPolicy {
        log: log_verifier(),
        witnesses: vec![
            witness_verifier("audit-office"),
            witness_verifier("province"),
        ],
        quorum: 2,
    };
    let empty = ConsistencyProof { hashes: vec![] };

    let first = note(&tree, 10);
    let lines = [
        audit.cosign(&first, &empty, 1_788_000_000).unwrap(),
        province.cosign(&first, &empty, 1_788_000_001).unwrap(),
    ];
    let witnessed = add_cosignatures(&first, &lines);
    let opened = open_witnessed(&witnessed, &policy).unwrap();
    assert_eq!(opened.checkpoint, checkpoint(&tree, 10));
    assert_eq!(
        opened.cosigned_by,
        [
            ("audit-office".to_string(), 1_788_000_000),
            ("province".to_string(), 1_788_000_001)
        ]
    );
    check(
        open_witnessed(&add_cosignatures(&first, &lines[..1]), &policy),
        expect!["checkpoint: 1 valid witness cosignatures, 2 required"],
    );
    // A cosignature's time is signed: changing it invalidates the line.
    let mut altered = SignedNote::parse(&witnessed).unwrap();
    altered.signatures[1].signature[7] ^= 1;
    check(
        open_witnessed(&altered.to_text(), &policy),
        expect!["checkpoint: 1 valid witness cosignatures, 2 required"],
    );

    // The log grows: a consistency proof from 10 to 20 convinces the witness.
    let second = note(&tree, 20);
    let proof = consistency_proof(&tree, 10, 20).unwrap();
    audit.cosign(&second, &proof, 1_788_000_060).unwrap();
    assert_eq!(audit.latest(), Some(&checkpoint(&tree, 20)));
    // The same checkpoint again is fine.
    audit.cosign(&second, &empty, 1_788_000_061).unwrap();
}

/// Threat T5 (and example E3): deleting the newest leaves, or presenting another history.
#[test]
fn witnesses_refuse_rollbacks_and_forks() {
    let tree = tree(20);
    let mut audit = witness("audit-office");
    let empty = ConsistencyProof { hashes: vec![] };
    audit.cosign(&note(&tree, 15), &empty, 1).unwrap();

    // Rollback: the log shows a smaller tree (the newest leaves deleted).
    check(
        audit.cosign(&note(&tree, 12), &empty, 2),
        expect!["checkpoint: size 12 is smaller than the size 15 already seen (rollback)"],
    );
    // Fork at the same size: one leaf replaced.
    let mut forked = MemoryTree::new();
    for i in 0..20 {
        forked.push(
            if i == 3 {
                b"forged".to_vec()
            } else {
                format!("leaf {i}").into_bytes()
            }
            .as_slice(),
        );
    }
    check(
        audit.cosign(&note(&forked, 15), &empty, 3),
        expect!["checkpoint: size 15 is not an extension of the checkpoint of size 15 already seen (fork): same size, different root"],
    );
    // Fork at a larger size: no consistency proof from the witnessed tree exists; the forked
    // tree's own proof does not verify against the witnessed root.
    check(
        audit.cosign(&note(&forked, 20), &consistency_proof(&forked, 15, 20).unwrap(), 4),
        expect!["checkpoint: size 20 is not an extension of the checkpoint of size 15 already seen (fork): consistency proof: does not verify (the hashes do not lead to both roots)"],
    );
    // A forged log signature is refused before anything else.
    let mut forged_note = SignedNote::parse(&note(&tree, 20)).unwrap();
    forged_note.signatures[0].signature[0] ^= 1;
    check(
        audit.cosign(
            &forged_note.to_text(),
            &consistency_proof(&tree, 15, 20).unwrap(),
            5,
        ),
        expect![
            "checkpoint: the signature by key `yibao.example.gov.cn/access-log/v1` does not verify"
        ],
    );
    // Refusals leave the witness where it was; the honest extension is still accepted.
    assert_eq!(audit.latest(), Some(&checkpoint(&tree, 15)));
    audit
        .cosign(
            &note(&tree, 20),
            &consistency_proof(&tree, 15, 20).unwrap(),
            6,
        )
        .unwrap();

    // A client holding a checkpoint applies the same rule (threat T2: an older checkpoint).
    check(
        check_extends(&checkpoint(&tree, 20), &checkpoint(&tree, 19), &empty),
        expect!["checkpoint: size 19 is smaller than the size 20 already seen (rollback)"],
    );
}

/// A person's receipt (§9.6): leaf bytes, index, inclusion proof and a witnessed checkpoint.
#[test]
fn receipts_verify_and_refuse_any_change() {
    use yibao_translog::{encode_leaf, inclusion_proof, verify_receipt, Leaf};
    let leaves: Vec<Vec<u8>> = (0..30u64)
        .map(|idx| {
            encode_leaf(&Leaf {
                leaf_idx: idx,
                ts_ms: 1_788_000_000_000 + idx,
                leaf_nonce: [7; 16],
                event_type: "DATA_CALL".into(),
                actor_ref: None,
                subject_ref: Some([idx as u8; 32]),
                grant_ref: None,
                purpose: "P04".into(),
                item_codes: vec!["C1".into()],
                decision: "PERMIT".into(),
                reason_code: String::new(),
                request_digest: None,
                response_digest: None,
                detail_commitment: None,
            })
            .unwrap()
        })
        .collect();
    let mut tree = MemoryTree::new();
    leaves.iter().for_each(|leaf| tree.push(leaf));
    let mut audit = witness("audit-office");
    let mut province = witness("province");
    let note = note(&tree, 30);
    let empty = ConsistencyProof { hashes: vec![] };
    let lines = [
        audit.cosign(&note, &empty, 10).unwrap(),
        province.cosign(&note, &empty, 11).unwrap(),
    ];
    let note = add_cosignatures(&note, &lines);
    let policy = TrustPolicy {
        log: log_verifier(),
        witnesses: vec![
            witness_verifier("audit-office"),
            witness_verifier("province"),
        ],
        quorum: 2,
    };

    let proof = inclusion_proof(&tree, 30, 17).unwrap();
    let (leaf, witnessed) = verify_receipt(&leaves[17], 17, &proof, &note, &policy).unwrap();
    assert_eq!(leaf.leaf_idx, 17);
    assert_eq!(witnessed.checkpoint.size, 30);
    // Another leaf, another index, or a proof for another leaf: all refused.
    check(
        verify_receipt(&leaves[16], 17, &proof, &note, &policy).map(|_| ()),
        expect!["inclusion proof: does not verify (the path does not reach the root)"],
    );
    check(
        verify_receipt(&leaves[17], 16, &proof, &note, &policy).map(|_| ()),
        expect!["inclusion proof: does not verify (the path does not reach the root)"],
    );
    let strict = TrustPolicy {
        quorum: 3,
        ..policy
    };
    check(
        verify_receipt(&leaves[17], 17, &proof, &note, &strict).map(|_| ()),
        expect!["checkpoint: 2 valid witness cosignatures, 3 required"],
    );
}
