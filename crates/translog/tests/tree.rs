//! RFC 6962 hashing and proofs over SM3, cross-checked against `ct-merkle`'s in-memory tree:
//! the same roots, byte-identical proofs, and properties over random sizes and indexes.

use std::collections::HashMap;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use expect_test::expect;
use proptest::prelude::*;
use yibao_gm::Sm3Digest;
use yibao_translog::tree::{consistency_proof_reads, inclusion_proof_reads, CompactRange};
use yibao_translog::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
    ConsistencyProof, HashStore, InclusionProof, LogError, MemoryTree, SubtreeId,
};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn leaf(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

/// Our tree and ct-merkle's over the same leaves `0..n`.
fn trees(n: u64) -> (MemoryTree, MemoryBackedTree<Sm3Digest, Vec<u8>>) {
    let mut ours = MemoryTree::new();
    let mut theirs = MemoryBackedTree::new();
    for i in 0..n {
        ours.push(&leaf(i));
        theirs.push(leaf(i));
    }
    (ours, theirs)
}

#[test]
fn hashing_fixture() {
    let (tree, _) = trees(3);
    let text = format!(
        "empty  {}\nleaf 0 {}\nroot 1 {}\nroot 2 {}\nroot 3 {}",
        hex(&tree.root(0).unwrap()),
        hex(&leaf_hash(b"leaf 0")),
        hex(&tree.root(1).unwrap()),
        hex(&tree.root(2).unwrap()),
        hex(&tree.root(3).unwrap()),
    );
    expect![[r#"
        empty  1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b
        leaf 0 265a931c3d9e95aeffdd1d3653fdc5ddc0c50100e656bdef4aeba09fd43bebea
        root 1 265a931c3d9e95aeffdd1d3653fdc5ddc0c50100e656bdef4aeba09fd43bebea
        root 2 5f4c609d311545d17cf002108167c248f9b8bfbc2c468a17456da04f90588c53
        root 3 2965a6112b6c5f59ef9ccf6521d05e3c271b2a47c436809b195d184271df25bb"#]]
    .assert_eq(&text);
    // The definitions, written out: leaf = SM3(00 ‖ leaf), node = SM3(01 ‖ left ‖ right).
    let h = |i: u64| yibao_gm::hash_parts(&[&[0], &leaf(i)]);
    let node = |l: &[u8; 32], r: &[u8; 32]| yibao_gm::hash_parts(&[&[1], l, r]);
    assert_eq!(tree.root(0).unwrap(), yibao_gm::hash(b""));
    assert_eq!(tree.root(2).unwrap(), node(&h(0), &h(1)));
    assert_eq!(tree.root(3).unwrap(), node(&node(&h(0), &h(1)), &h(2)));
}

#[test]
fn roots_and_proofs_match_ct_merkle() {
    let (mut ours, mut theirs) = trees(0);
    for n in 1..=70u64 {
        ours.push(&leaf(n - 1));
        theirs.push(leaf(n - 1));
        let their_root = theirs.root();
        assert_eq!(
            &ours.root(n).unwrap()[..],
            &their_root.as_bytes()[..],
            "root of {n}"
        );
        for idx in 0..n {
            let proof = inclusion_proof(&ours, n, idx).unwrap();
            let their_proof = theirs.prove_inclusion(idx as usize);
            assert_eq!(
                proof.to_bytes(),
                their_proof.as_bytes(),
                "inclusion {idx} of {n}"
            );
        }
    }
}

/// ct-merkle proves consistency from `n - k` to its current size `n`; compare those exactly.
#[test]
fn consistency_proofs_match_ct_merkle() {
    for n in 1..=40u64 {
        let (ours, theirs) = trees(n);
        for additions in 0..n {
            let m = n - additions;
            let proof = consistency_proof(&ours, m, n).unwrap();
            let their_proof = theirs.prove_consistency(additions as usize);
            assert_eq!(
                proof.to_bytes(),
                their_proof.as_bytes(),
                "consistency {m} → {n}"
            );
        }
    }
}

/// A store that only has the hashes a proof's read plan names builds the same proof.
#[test]
fn read_plans_name_every_hash_a_proof_needs() {
    let (tree, _) = trees(1000);
    for (size, idx) in [(1000, 0), (1000, 999), (999, 517), (513, 512), (1, 0)] {
        let map: HashMap<SubtreeId, [u8; 32]> = inclusion_proof_reads(size, idx)
            .unwrap()
            .into_iter()
            .map(|id| (id, tree.subtree_hash(id).unwrap()))
            .collect();
        assert_eq!(
            inclusion_proof(&map, size, idx).unwrap(),
            inclusion_proof(&tree, size, idx).unwrap()
        );
    }
    for (old, new) in [(1, 1000), (500, 1000), (999, 1000), (7, 13)] {
        let map: HashMap<SubtreeId, [u8; 32]> = consistency_proof_reads(old, new)
            .unwrap()
            .into_iter()
            .map(|id| (id, tree.subtree_hash(id).unwrap()))
            .collect();
        assert_eq!(
            consistency_proof(&map, old, new).unwrap(),
            consistency_proof(&tree, old, new).unwrap()
        );
    }
    // Proofs read O(log n) stored hashes, never the leaves.
    let reads = inclusion_proof_reads(10_000_000, 1_234_567).unwrap();
    assert!(reads.len() <= 2 * 24, "{} reads", reads.len());
    let reads = consistency_proof_reads(9_999_999, 10_000_000).unwrap();
    assert!(reads.len() <= 2 * 24, "{} reads", reads.len());
}

#[test]
fn proof_errors() {
    let (tree, _) = trees(5);
    let empty: HashMap<SubtreeId, [u8; 32]> = HashMap::new();
    let errors = [
        inclusion_proof(&tree, 5, 5).unwrap_err(),
        inclusion_proof(&tree, 0, 0).unwrap_err(),
        inclusion_proof(&tree, 6, 0).unwrap_err(),
        inclusion_proof(&empty, 5, 0).unwrap_err(),
        consistency_proof(&tree, 0, 5).unwrap_err(),
        consistency_proof(&tree, 4, 3).unwrap_err(),
        tree.root(6).unwrap_err(),
        root(&tree, 1 << 63).unwrap_err(),
        InclusionProof::from_bytes(&[0; 33]).unwrap_err(),
        verify_inclusion(
            b"leaf 0",
            0,
            5,
            &tree.root(5).unwrap(),
            &InclusionProof { hashes: vec![] },
        )
        .unwrap_err(),
        verify_inclusion(
            b"leaf 9",
            0,
            5,
            &tree.root(5).unwrap(),
            &inclusion_proof(&tree, 5, 0).unwrap(),
        )
        .unwrap_err(),
        verify_consistency(
            2,
            &tree.root(2).unwrap(),
            5,
            &tree.root(5).unwrap(),
            &ConsistencyProof { hashes: vec![] },
        )
        .unwrap_err(),
        verify_consistency(
            3,
            &tree.root(2).unwrap(),
            5,
            &tree.root(5).unwrap(),
            &consistency_proof(&tree, 3, 5).unwrap(),
        )
        .unwrap_err(),
    ];
    let text: Vec<String> = errors.iter().map(LogError::to_string).collect();
    expect![[r#"
        proof: no such leaf in a tree of this size (index 5, tree size 5)
        proof: no such leaf in a tree of this size (index 0, tree size 0)
        hash store: no hash for the subtree at level 1, index 2
        hash store: no hash for the subtree at level 0, index 1
        proof: a consistency proof needs 0 < old size ≤ new size (index 0, tree size 5)
        proof: a consistency proof needs 0 < old size ≤ new size (index 4, tree size 3)
        proof: the tree is smaller than the size asked for (index 6, tree size 5)
        proof: tree larger than this code handles (index 9223372036854775808, tree size 9223372036854775808)
        proof: 33 bytes is not a whole number of 32-byte hashes
        inclusion proof: does not verify (wrong number of hashes for this index and size)
        inclusion proof: does not verify (the path does not reach the root)
        consistency proof: does not verify (wrong number of hashes for these sizes)
        consistency proof: does not verify (the hashes do not lead to both roots)"#]]
    .assert_eq(&text.join("\n"));
}

#[test]
fn compact_range_gives_every_prefix_root() {
    let (tree, _) = trees(300);
    let mut range = CompactRange::new();
    assert_eq!(range.root(), tree.root(0).unwrap());
    for i in 0..300 {
        range.push_leaf_hash(leaf_hash(&leaf(i)));
        assert_eq!(range.root(), tree.root(i + 1).unwrap());
    }
}

fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..600).prop_flat_map(|n| (Just(n), 0..n))
}

fn sizes() -> impl Strategy<Value = (u64, u64)> {
    (1u64..600).prop_flat_map(|n| (1..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn inclusion_verifies_and_any_changed_byte_fails(
        (n, idx) in size_and_index(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (tree, _) = trees(n);
        let root = tree.root(n).unwrap();
        let proof = inclusion_proof(&tree, n, idx).unwrap();
        prop_assert!(verify_inclusion(&leaf(idx), idx, n, &root, &proof).is_ok());

        let mut changed_leaf = leaf(idx);
        let i = at.index(changed_leaf.len());
        changed_leaf[i] ^= xor;
        prop_assert!(verify_inclusion(&changed_leaf, idx, n, &root, &proof).is_err());

        if !proof.hashes.is_empty() {
            let mut bytes = proof.to_bytes();
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
            let changed = InclusionProof::from_bytes(&bytes).unwrap();
            prop_assert!(verify_inclusion(&leaf(idx), idx, n, &root, &changed).is_err());
        }
        // The proof is for this index only, and for this root only.
        if n > 1 {
            let other = (idx + 1) % n;
            prop_assert!(verify_inclusion(&leaf(idx), other, n, &root, &proof).is_err());
        }
        let mut other_root = root;
        other_root[at.index(32)] ^= xor;
        prop_assert!(verify_inclusion(&leaf(idx), idx, n, &other_root, &proof).is_err());
    }

    #[test]
    fn consistency_verifies_and_any_changed_byte_fails(
        (m, n) in sizes(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (tree, _) = trees(n);
        let (old_root, new_root) = (tree.root(m).unwrap(), tree.root(n).unwrap());
        let proof = consistency_proof(&tree, m, n).unwrap();
        prop_assert!(verify_consistency(m, &old_root, n, &new_root, &proof).is_ok());

        if !proof.hashes.is_empty() {
            let mut bytes = proof.to_bytes();
            let i = at.index(bytes.len());
            bytes[i] ^= xor;
            let changed = ConsistencyProof::from_bytes(&bytes).unwrap();
            prop_assert!(verify_consistency(m, &old_root, n, &new_root, &changed).is_err());
        }
        let mut forged = old_root;
        forged[at.index(32)] ^= xor;
        prop_assert!(verify_consistency(m, &forged, n, &new_root, &proof).is_err());
        let mut forged = new_root;
        forged[at.index(32)] ^= xor;
        prop_assert!(verify_consistency(m, &old_root, n, &forged, &proof).is_err());
    }

    /// A tree whose prefix differs (one leaf altered) is not consistent with the original.
    #[test]
    fn altered_history_is_not_consistent(
        (m, n) in sizes(),
        altered in any::<prop::sample::Index>(),
    ) {
        let (tree, _) = trees(n);
        let altered = altered.index(m as usize) as u64;
        let mut forked = MemoryTree::new();
        for i in 0..n {
            forked.push(&if i == altered { b"forged".to_vec() } else { leaf(i) });
        }
        let proof = consistency_proof(&forked, m, n).unwrap();
        prop_assert!(
            verify_consistency(m, &tree.root(m).unwrap(), n, &forked.root(n).unwrap(), &proof)
                .is_err()
        );
    }
}

proptest! {
    /// Proofs read O(log n) stored hashes for any size: at most one right-edge node is
    /// incomplete, and it folds at most log2(n) complete subtrees.
    #[test]
    fn proofs_read_logarithmically_many_hashes(
        (n, idx) in (2u64..(1 << 40)).prop_flat_map(|n| (Just(n), 0..n)),
        old in any::<prop::sample::Index>(),
    ) {
        let log2 = u64::BITS - (n - 1).leading_zeros();
        let reads = inclusion_proof_reads(n, idx).unwrap().len() as u32;
        prop_assert!(reads <= 2 * log2, "inclusion {idx} of {n}: {reads} reads");
        let old = old.index(n as usize) as u64 + 1;
        let reads = consistency_proof_reads(old, n).unwrap().len() as u32;
        prop_assert!(reads <= 2 * log2 + 1, "consistency {old} → {n}: {reads} reads");
    }
}
