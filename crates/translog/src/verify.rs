//! The auditor's check of a whole log (spec data-authorization.md §9.6, threat T5): walk the
//! stored leaves in index order, recompute every leaf hash and the root at each signed
//! checkpoint, and report the first leaf that shows deletion, alteration, reordering, insertion
//! or a fork. `yibao log verify` prints the [`Fault`] as `leaf <idx>: <reason>`.

use std::collections::BTreeMap;

use yibao_gm::Hash;

use crate::checkpoint::{
    open_checkpoint, open_witnessed, NoteVerifier, TrustPolicy, WitnessedCheckpoint,
};
use crate::leaf::{decode_leaf, Leaf};
use crate::tree::{
    leaf_hash, root as tree_root, verify_inclusion, CompactRange, HashStore, InclusionProof,
    SubtreeId,
};
use crate::{Checkpoint, LogError};

/// One stored leaf row as the store reads it.
#[derive(Clone, Copy, Debug)]
pub struct LeafRow<'a> {
    /// The row's index column.
    pub idx: u64,
    /// The canonical leaf bytes.
    pub leaf: &'a [u8],
    /// The stored leaf hash column, if the store keeps one.
    pub leaf_hash: Option<Hash>,
}

/// The keys a log's checkpoints are checked against.
#[derive(Clone, Debug)]
pub enum CheckpointKeys {
    /// The log's signature only.
    Log(NoteVerifier),
    /// The log's signature and a witness quorum.
    Witnessed(TrustPolicy),
}

/// What a successful check covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogReport {
    /// Leaves read.
    pub n_leaves: u64,
    /// The largest checkpoint size whose root was recomputed from the leaves.
    pub verified_size: u64,
    /// The root of all leaves read (the next checkpoint must show it).
    pub root: Hash,
}

/// Why a leaf is bad.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LeafFault {
    /// No row with this index: the rows jump past it.
    #[error("missing (deleted): the next row has index {next_idx}")]
    Missing {
        /// The index of the row found instead.
        next_idx: u64,
    },
    /// The rows end before a signed checkpoint's size.
    #[error("missing (deleted): the log ends here, but a signed checkpoint covers {size} leaves")]
    Truncated {
        /// The checkpoint's size.
        size: u64,
    },
    /// A row whose index is not above the one before it.
    #[error("out of order or duplicated: row index {row_idx} comes after row {previous_idx}")]
    OutOfOrder {
        /// The row's index.
        row_idx: u64,
        /// The index of the row before it.
        previous_idx: u64,
    },
    /// The leaf bytes do not decode.
    #[error("malformed: {0}")]
    Malformed(LogError),
    /// The leaf records another index than its row: moved, reordered or inserted.
    #[error("the leaf records index {recorded}: moved, reordered or inserted")]
    WrongIndex {
        /// The index inside the leaf.
        recorded: u64,
    },
    /// The stored leaf hash is not the hash of the leaf bytes.
    #[error("altered: the stored leaf hash does not match the leaf bytes")]
    StoredHash,
    /// The leaf hash differs from the reference copy's, which matches the signed roots.
    #[error("altered, inserted or forked: the leaf hash differs from the reference copy")]
    ReferenceMismatch,
    /// The recomputed root differs from a signed checkpoint's.
    #[error("altered, inserted or forked: leaves {from}..{size} do not hash to the signed root of the checkpoint of size {size}")]
    RootMismatch {
        /// The first leaf not covered by an earlier matching checkpoint.
        from: u64,
        /// The checkpoint's size.
        size: u64,
    },
}

/// The first problem found in a log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// A leaf is bad.
    #[error("leaf {leaf_idx}: {reason}")]
    Leaf {
        /// The first bad leaf's index.
        leaf_idx: u64,
        /// Why.
        reason: LeafFault,
    },
    /// A checkpoint does not parse or verify.
    #[error("note {position}: {error}")]
    Checkpoint {
        /// The note's position in the list given, from 1.
        position: usize,
        /// Why.
        error: LogError,
    },
    /// The reference copy of the tree's hashes does not hash to a signed root.
    #[error(
        "reference copy: its hashes do not give the signed root of the checkpoint of size {size}"
    )]
    Reference {
        /// The checkpoint's size.
        size: u64,
    },
    /// Two validly signed checkpoints of one size with different roots.
    #[error("checkpoints of size {size} show two different roots: the log forked")]
    Fork {
        /// The size.
        size: u64,
    },
}

/// Checks a whole log: `rows` in index order (as read by `ORDER BY idx`), against signed
/// checkpoint notes. Returns the first fault: bad checkpoints first, then leaves in index order.
///
/// A leaf altered together with its stored hash shows only as a root that differs from a
/// checkpoint's, so it is reported as the first leaf after the last matching checkpoint, with
/// the range it lies in. [`verify_log_with_reference`] pins it to the exact leaf.
pub fn verify_log<'a>(
    rows: impl IntoIterator<Item = LeafRow<'a>>,
    checkpoint_notes: &[&str],
    keys: &CheckpointKeys,
) -> Result<LogReport, Fault> {
    walk(rows, checkpoint_notes, keys, None)
}

/// [`verify_log`], also comparing every leaf hash with a reference copy of the tree's hashes (a
/// witness's tiles, a backup). The reference is first checked against every signed checkpoint
/// it covers, so a reference that was itself altered is refused rather than trusted; leaves
/// below the largest checkpoint it matches are then checked one by one against it.
pub fn verify_log_with_reference<'a>(
    rows: impl IntoIterator<Item = LeafRow<'a>>,
    checkpoint_notes: &[&str],
    keys: &CheckpointKeys,
    reference: &dyn HashStore,
) -> Result<LogReport, Fault> {
    walk(rows, checkpoint_notes, keys, Some(reference))
}

fn walk<'a>(
    rows: impl IntoIterator<Item = LeafRow<'a>>,
    checkpoint_notes: &[&str],
    keys: &CheckpointKeys,
    reference: Option<&dyn HashStore>,
) -> Result<LogReport, Fault> {
    let roots = open_all(checkpoint_notes, keys)?;
    let reference_size = match reference {
        Some(reference) => check_reference(reference, &roots)?,
        None => 0,
    };
    let mut pending = roots.iter().peekable();
    let mut range = CompactRange::new();
    let mut verified_size = 0;
    let mut previous_idx: Option<u64> = None;

    let mut check_roots = |range: &CompactRange, verified_size: &mut u64| {
        while let Some((&size, root)) = pending.peek() {
            if size > range.size() {
                break;
            }
            if range.root() != **root {
                return Err(Fault::Leaf {
                    leaf_idx: *verified_size,
                    reason: LeafFault::RootMismatch {
                        from: *verified_size,
                        size,
                    },
                });
            }
            *verified_size = size;
            pending.next();
        }
        Ok(())
    };

    check_roots(&range, &mut verified_size)?;
    for row in rows {
        let expected = range.size();
        let leaf_fault = |reason| Fault::Leaf {
            leaf_idx: expected,
            reason,
        };
        if let Some(previous_idx) = previous_idx {
            if row.idx <= previous_idx {
                return Err(Fault::Leaf {
                    leaf_idx: row.idx,
                    reason: LeafFault::OutOfOrder {
                        row_idx: row.idx,
                        previous_idx,
                    },
                });
            }
        }
        if row.idx != expected {
            return Err(leaf_fault(LeafFault::Missing { next_idx: row.idx }));
        }
        let leaf =
            decode_leaf(row.leaf).map_err(|error| leaf_fault(LeafFault::Malformed(error)))?;
        if leaf.leaf_idx != row.idx {
            return Err(leaf_fault(LeafFault::WrongIndex {
                recorded: leaf.leaf_idx,
            }));
        }
        let hash = leaf_hash(row.leaf);
        if row.leaf_hash.is_some_and(|stored| stored != hash) {
            return Err(leaf_fault(LeafFault::StoredHash));
        }
        if row.idx < reference_size {
            let id = SubtreeId {
                level: 0,
                index: row.idx,
            };
            if reference.and_then(|store| store.subtree_hash(id)) != Some(hash) {
                return Err(leaf_fault(LeafFault::ReferenceMismatch));
            }
        }
        range.push_leaf_hash(hash);
        previous_idx = Some(row.idx);
        check_roots(&range, &mut verified_size)?;
    }
    if let Some((&size, _)) = pending.peek() {
        return Err(Fault::Leaf {
            leaf_idx: range.size(),
            reason: LeafFault::Truncated { size },
        });
    }
    Ok(LogReport {
        n_leaves: range.size(),
        verified_size,
        root: range.root(),
    })
}

/// Checks the reference against every signed root it can compute; returns the largest
/// checkpoint size it matched (0 if none).
fn check_reference(reference: &dyn HashStore, roots: &BTreeMap<u64, Hash>) -> Result<u64, Fault> {
    let mut matched = 0;
    for (&size, signed) in roots {
        match tree_root(reference, size) {
            Ok(root) if root == *signed => matched = size,
            Ok(_) => return Err(Fault::Reference { size }),
            Err(_) => break,
        }
    }
    Ok(matched)
}

/// Opens every note and keeps one root per size, refusing two roots for one size.
fn open_all(notes: &[&str], keys: &CheckpointKeys) -> Result<BTreeMap<u64, Hash>, Fault> {
    let mut roots = BTreeMap::new();
    for (position, note) in notes.iter().enumerate() {
        let opened: Result<Checkpoint, LogError> = match keys {
            CheckpointKeys::Log(log) => open_checkpoint(note, log),
            CheckpointKeys::Witnessed(policy) => {
                open_witnessed(note, policy).map(|witnessed| witnessed.checkpoint)
            }
        };
        let checkpoint = opened.map_err(|error| Fault::Checkpoint {
            position: position + 1,
            error,
        })?;
        if let Some(root) = roots.insert(checkpoint.size, checkpoint.root) {
            if root != checkpoint.root {
                return Err(Fault::Fork {
                    size: checkpoint.size,
                });
            }
        }
    }
    Ok(roots)
}

/// Checks a receipt (§9.6: what a person or grantee holds for one use of data): the checkpoint
/// is signed by the log and cosigned by a witness quorum, the leaf is at `leaf_idx` under its root,
/// and the leaf records that same index. Returns the decoded leaf and the checkpoint.
pub fn verify_receipt(
    leaf: &[u8],
    leaf_idx: u64,
    proof: &InclusionProof,
    checkpoint_note: &str,
    policy: &TrustPolicy,
) -> Result<(Leaf, WitnessedCheckpoint), LogError> {
    let witnessed = open_witnessed(checkpoint_note, policy)?;
    let checkpoint = &witnessed.checkpoint;
    verify_inclusion(leaf, leaf_idx, checkpoint.size, &checkpoint.root, proof)?;
    let decoded = decode_leaf(leaf)?;
    if decoded.leaf_idx != leaf_idx {
        // The Merkle path already fixes the position, so this means the log itself wrote a
        // leaf at the wrong index: still not a receipt for this position.
        return Err(LogError::InclusionFailed {
            reason: "the leaf records another index than its position",
        });
    }
    Ok((decoded, witnessed))
}
