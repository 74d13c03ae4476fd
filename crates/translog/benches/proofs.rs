//! Proof generation and verification over a large in-memory log (spec data-authorization.md
//! §9.6: a receipt's inclusion proof, a witness's consistency proof).
//!
//! The tree of 2^20 leaves is built once (about 2^21 SM3 hashes). A proof reads O(log n) stored
//! subtree hashes: about log2(n) for the path plus, on the right edge, at most log2(n) more to
//! fold the one incomplete node. So the cost grows with log2(n) — 20 levels here, 24 for
//! 10,000,000 leaves — and not with n; with the hashes in a database the cost is the reads, which
//! `inclusion_proof_reads` lists so that a store can fetch them in one query.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use yibao_translog::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, MemoryTree,
};

const LOG2_SIZE: u32 = 20;

fn leaf(idx: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&idx.to_be_bytes());
    bytes[8..].copy_from_slice(&idx.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    bytes
}

fn bench(c: &mut Criterion) {
    let size = 1u64 << LOG2_SIZE;
    let mut tree = MemoryTree::new();
    for idx in 0..size {
        tree.push(&leaf(idx));
    }
    // A size just short of the whole tree, so proofs cross the incomplete right edge.
    let size = size - 3;
    let root = tree.root(size).unwrap();
    let mut next = 0x2545_f491_4f6c_dd1du64;
    let mut random_idx = move || {
        // xorshift: spreads the indexes over the tree without a random-number crate.
        next ^= next << 13;
        next ^= next >> 7;
        next ^= next << 17;
        next % size
    };

    c.bench_function("inclusion proof, 2^20 leaves: generate + verify", |b| {
        b.iter_batched(
            &mut random_idx,
            |idx| {
                let proof = inclusion_proof(&tree, size, idx).unwrap();
                verify_inclusion(&leaf(idx), idx, size, &root, &proof).unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("inclusion proof, 2^20 leaves: generate", |b| {
        b.iter_batched(
            &mut random_idx,
            |idx| inclusion_proof(&tree, size, idx).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let old_size = size - 10_000;
    let old_root = tree.root(old_size).unwrap();
    c.bench_function("consistency proof, 2^20 leaves: generate + verify", |b| {
        b.iter(|| {
            let proof = consistency_proof(&tree, old_size, size).unwrap();
            verify_consistency(old_size, &old_root, size, &root, &proof).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
