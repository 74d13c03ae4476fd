//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing over SM3, with inclusion and consistency proofs
//! built from stored subtree hashes (spec data-authorization.md §9.3, §9.6).
//!
//! A log keeps, for every level `k`, the hash of each complete, aligned subtree of `2^k` leaves
//! (level 0 holds the leaf hashes): exactly what C2SP tlog-tiles stores, 256 hashes to a tile.
//! Those hashes never change once written. Any node of a tree of any size is either one of them or
//! (on the tree's right edge) a fold of at most `log2(n)` of them, so a proof reads O(log² n)
//! stored hashes at worst and usually about 2·log2(n), never the leaves.
//!
//! Which nodes a proof holds, and the verification, come from `ct-merkle` (RFC 6962, generic over
//! the hash, used here with SM3); this module maps its node positions onto stored subtrees.

use std::collections::HashMap;

use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use yibao_gm::{hash_parts, Hash, Sm3Digest, HASH_LEN};

use crate::LogError;

/// The largest tree this code handles (RFC 6962 array-tree positions must fit in a `u64`).
pub const TREE_SIZE_MAX: u64 = 1 << 62;

/// A complete, aligned subtree: leaves `index·2^level .. (index+1)·2^level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubtreeId {
    /// Height: 0 for a single leaf, `k` for `2^k` leaves.
    pub level: u8,
    /// Position among the subtrees of this level, from the left.
    pub index: u64,
}

/// Where proofs read stored subtree hashes from. The store crate implements it over its tiles
/// (or over a map filled from them first: see [`inclusion_proof_reads`]).
///
/// With C2SP tiles (8 levels to a tile row, 256 hashes wide) only levels 0, 8, 16, … are stored;
/// a hash at level `8t + r` is the fold of `2^r` consecutive hashes of tile row `t`, so a tile
/// store computes it from one tile (at most 255 node hashes).
pub trait HashStore {
    /// The hash of a complete subtree, or `None` if it is not stored (not yet complete).
    fn subtree_hash(&self, id: SubtreeId) -> Option<Hash>;
}

impl HashStore for HashMap<SubtreeId, Hash> {
    fn subtree_hash(&self, id: SubtreeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// The hash of a leaf: SM3(0x00 ‖ leaf bytes).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    hash_parts(&[&[0x00], leaf])
}

/// The hash of an interior node: SM3(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    hash_parts(&[&[0x01], left, right])
}

/// A whole in-memory log: every complete subtree hash of every level. Memory: two hashes
/// (64 bytes) per leaf.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf by its bytes.
    pub fn push(&mut self, leaf: &[u8]) {
        self.push_leaf_hash(leaf_hash(leaf));
    }

    /// Appends a leaf by its leaf hash, completing every subtree it closes.
    pub fn push_leaf_hash(&mut self, hash: Hash) {
        let mut level = 0;
        let mut carry = hash;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(carry);
            let row = &self.levels[level];
            if row.len() % 2 == 1 {
                break;
            }
            carry = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |row| row.len() as u64)
    }

    /// The root of the first `size` leaves (any prefix, not only the whole tree).
    pub fn root(&self, size: u64) -> Result<Hash, LogError> {
        if size > self.size() {
            return Err(LogError::ProofRange {
                idx: size,
                size: self.size(),
                reason: "the tree is smaller than the size asked for",
            });
        }
        root(self, size)
    }
}

impl HashStore for MemoryTree {
    fn subtree_hash(&self, id: SubtreeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        row.get(usize::try_from(id.index).ok()?).copied()
    }
}

/// Appends leaves one at a time keeping only the O(log n) hashes on the right edge, and gives
/// the root of the leaves so far: how a verifier recomputes roots from leaves alone.
#[derive(Clone, Debug, Default)]
pub struct CompactRange {
    size: u64,
    /// The complete subtrees covering the leaves so far, largest (leftmost) first.
    peaks: Vec<(u8, Hash)>,
}

impl CompactRange {
    /// An empty range.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one leaf hash.
    pub fn push_leaf_hash(&mut self, hash: Hash) {
        let mut carry = (0u8, hash);
        while let Some(&(level, left)) = self.peaks.last() {
            if level != carry.0 {
                break;
            }
            self.peaks.pop();
            carry = (level + 1, node_hash(&left, &carry.1));
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the leaves appended (SM3 of the empty string for none, per RFC 6962).
    pub fn root(&self) -> Hash {
        fold_right(self.peaks.iter().map(|(_, hash)| *hash).collect())
    }
}

/// Folds complete subtree hashes (largest first) into the hash of their union: each is the left
/// child of the fold of those after it. An empty list is the empty tree, SM3("").
fn fold_right(hashes: Vec<Hash>) -> Hash {
    let mut hashes = hashes.into_iter().rev();
    let Some(mut acc) = hashes.next() else {
        return yibao_gm::hash(b"");
    };
    for left in hashes {
        acc = node_hash(&left, &acc);
    }
    acc
}

/// The stored subtrees whose fold is the hash of leaves `start..end`, largest first. `start`
/// must be a multiple of the largest power of two not above `end - start`, which holds for every
/// node of an RFC 6962 tree.
fn range_subtrees(start: u64, end: u64) -> Vec<SubtreeId> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let level = (end - at).ilog2();
        debug_assert_eq!(at % (1 << level), 0, "range start not aligned");
        out.push(SubtreeId {
            level: level as u8,
            index: at >> level,
        });
        at += 1 << level;
    }
    out
}

/// The leaves under the node at RFC 9420 array-tree position `node` in a tree of `size` leaves
/// (the positions `ct-merkle` names proof nodes by).
fn node_range(node: u64, size: u64) -> (u64, u64) {
    let level = node.trailing_ones();
    let start = (node >> (level + 1)) << level;
    let end = (start + (1 << level)).min(size);
    (start, end)
}

fn read_range(store: &(impl HashStore + ?Sized), start: u64, end: u64) -> Result<Hash, LogError> {
    let hashes = range_subtrees(start, end)
        .into_iter()
        .map(|id| store.subtree_hash(id).ok_or(LogError::MissingHash(id)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right(hashes))
}

/// The root of the first `size` leaves of the store's log.
pub fn root(store: &(impl HashStore + ?Sized), size: u64) -> Result<Hash, LogError> {
    check_size(size)?;
    read_range(store, 0, size)
}

fn check_size(size: u64) -> Result<(), LogError> {
    if size > TREE_SIZE_MAX {
        return Err(LogError::ProofRange {
            idx: size,
            size,
            reason: "tree larger than this code handles",
        });
    }
    Ok(())
}

/// A proof that a leaf is in a tree: the sibling hashes from the leaf up to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The hashes, bottom up.
    pub hashes: Vec<Hash>,
}

/// A proof that a tree of one size is a prefix of a tree of a larger size (RFC 9162 §2.1.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The hashes, in RFC 6962 order.
    pub hashes: Vec<Hash>,
}

macro_rules! proof_bytes {
    ($proof:ident) => {
        impl $proof {
            /// The hashes concatenated, 32 bytes each (the wire and storage form).
            pub fn to_bytes(&self) -> Vec<u8> {
                self.hashes.concat()
            }

            /// The proof from concatenated 32-byte hashes.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, LogError> {
                if bytes.len() % HASH_LEN != 0 {
                    return Err(LogError::ProofLength { len: bytes.len() });
                }
                let hashes = bytes
                    .chunks_exact(HASH_LEN)
                    .map(|chunk| chunk.try_into().expect("chunk of one hash"))
                    .collect();
                Ok(Self { hashes })
            }
        }
    };
}
proof_bytes!(InclusionProof);
proof_bytes!(ConsistencyProof);

/// The stored subtrees an inclusion proof for leaf `idx` in a tree of `size` reads, so a store
/// can fetch them in one query and then build the proof from a map of them.
pub fn inclusion_proof_reads(size: u64, idx: u64) -> Result<Vec<SubtreeId>, LogError> {
    Ok(inclusion_nodes(size, idx)?
        .into_iter()
        .flat_map(|node| {
            let (start, end) = node_range(node, size);
            range_subtrees(start, end)
        })
        .collect())
}

/// The stored subtrees a consistency proof from `old_size` to `new_size` reads.
pub fn consistency_proof_reads(old_size: u64, new_size: u64) -> Result<Vec<SubtreeId>, LogError> {
    Ok(consistency_nodes(old_size, new_size)?
        .into_iter()
        .flat_map(|node| {
            let (start, end) = node_range(node, new_size);
            range_subtrees(start, end)
        })
        .collect())
}

fn inclusion_nodes(size: u64, idx: u64) -> Result<Vec<u64>, LogError> {
    check_size(size)?;
    if idx >= size {
        return Err(LogError::ProofRange {
            idx,
            size,
            reason: "no such leaf in a tree of this size",
        });
    }
    Ok(ct_merkle::indices_for_inclusion_proof(size, idx))
}

fn consistency_nodes(old_size: u64, new_size: u64) -> Result<Vec<u64>, LogError> {
    check_size(new_size)?;
    if old_size == 0 || old_size > new_size {
        return Err(LogError::ProofRange {
            idx: old_size,
            size: new_size,
            reason: "a consistency proof needs 0 < old size ≤ new size",
        });
    }
    Ok(ct_merkle::indices_for_consistency_proof(
        old_size,
        new_size - old_size,
    ))
}

/// The inclusion proof for leaf `idx` in the tree of the first `size` leaves.
pub fn inclusion_proof(
    store: &(impl HashStore + ?Sized),
    size: u64,
    idx: u64,
) -> Result<InclusionProof, LogError> {
    let hashes = inclusion_nodes(size, idx)?
        .into_iter()
        .map(|node| {
            let (start, end) = node_range(node, size);
            read_range(store, start, end)
        })
        .collect::<Result<_, _>>()?;
    Ok(InclusionProof { hashes })
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves.
pub fn consistency_proof(
    store: &(impl HashStore + ?Sized),
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, LogError> {
    let hashes = consistency_nodes(old_size, new_size)?
        .into_iter()
        .map(|node| {
            let (start, end) = node_range(node, new_size);
            read_range(store, start, end)
        })
        .collect::<Result<_, _>>()?;
    Ok(ConsistencyProof { hashes })
}

/// Checks that `leaf` is leaf `idx` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &[u8],
    idx: u64,
    size: u64,
    root: &Hash,
    proof: &InclusionProof,
) -> Result<(), LogError> {
    check_size(size)?;
    let proof = CtInclusion::<Sm3Digest>::from_digests(proof.hashes.iter().map(|h| h.into()));
    RootHash::<Sm3Digest>::new((*root).into(), size)
        .verify_inclusion(&leaf, idx, &proof)
        .map_err(|error| LogError::InclusionFailed {
            reason: match error {
                ct_merkle::InclusionVerifError::MalformedProof => {
                    "wrong number of hashes for this index and size"
                }
                ct_merkle::InclusionVerifError::IndexOutOfRange => "index not below the tree size",
                ct_merkle::InclusionVerifError::TreeEmpty => "the tree is empty",
                ct_merkle::InclusionVerifError::IncorrectHash => "the path does not reach the root",
            },
        })
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`.
pub fn verify_consistency(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &ConsistencyProof,
) -> Result<(), LogError> {
    check_size(new_size)?;
    let proof = CtConsistency::<Sm3Digest>::from_digests(proof.hashes.iter().map(|h| h.into()));
    let old = RootHash::<Sm3Digest>::new((*old_root).into(), old_size);
    RootHash::<Sm3Digest>::new((*new_root).into(), new_size)
        .verify_consistency(&old, &proof)
        .map_err(|error| LogError::ConsistencyFailed {
            reason: match error {
                ct_merkle::ConsistencyVerifError::VerificationFailure => {
                    "the hashes do not lead to both roots"
                }
                ct_merkle::ConsistencyVerifError::MalformedProof => {
                    "wrong number of hashes for these sizes"
                }
                ct_merkle::ConsistencyVerifError::OldTreeLarger => "the old tree is larger",
                ct_merkle::ConsistencyVerifError::OldTreeEmpty => "the old tree is empty",
                ct_merkle::ConsistencyVerifError::NewTreeTooBig => "the new tree is too big",
            },
        })
}
