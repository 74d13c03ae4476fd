//! Witnesses and clients (spec data-authorization.md §9.5): before accepting a newer checkpoint,
//! check that it extends the one already seen, by a consistency proof; refuse a smaller size
//! (rollback) or a different history (fork).

use crate::checkpoint::{cosignature_line, open_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use crate::tree::{verify_consistency, ConsistencyProof};
use crate::LogError;

/// Checks that `new` extends `seen`: same log, not smaller, and `proof` shows `seen`'s tree is a
/// prefix of `new`'s. Safe boxes and grantee clients call this on every newer checkpoint.
pub fn check_extends(
    seen: &Checkpoint,
    new: &Checkpoint,
    proof: &ConsistencyProof,
) -> Result<(), LogError> {
    if new.origin != seen.origin {
        return Err(LogError::CheckpointOrigin {
            found: new.origin.clone(),
            expected: seen.origin.clone(),
        });
    }
    if new.size < seen.size {
        return Err(LogError::Rollback {
            size: new.size,
            seen: seen.size,
        });
    }
    if new.size == seen.size {
        if new.root != seen.root {
            return Err(LogError::Fork {
                size: new.size,
                seen: seen.size,
                reason: "same size, different root".to_string(),
            });
        }
        return Ok(());
    }
    if seen.size == 0 {
        // Every tree extends the empty tree.
        return Ok(());
    }
    verify_consistency(seen.size, &seen.root, new.size, &new.root, proof).map_err(|error| {
        LogError::Fork {
            size: new.size,
            seen: seen.size,
            reason: error.to_string(),
        }
    })
}

/// A witness: its key, the log it watches, and the latest checkpoint it cosigned.
#[derive(Clone, Debug)]
pub struct Witness {
    signer: NoteSigner,
    log: NoteVerifier,
    latest: Option<Checkpoint>,
}

impl Witness {
    /// A witness that last cosigned `latest` (`None` before its first cosignature).
    pub fn new(signer: NoteSigner, log: NoteVerifier, latest: Option<Checkpoint>) -> Self {
        Self {
            signer,
            log,
            latest,
        }
    }

    /// The latest checkpoint this witness cosigned (to be stored by the witness).
    pub fn latest(&self) -> Option<&Checkpoint> {
        self.latest.as_ref()
    }

    /// Cosigns the log-signed `note` at `time` (seconds since the Unix epoch) if it extends the
    /// latest checkpoint cosigned, by `proof` from that size; returns the cosignature line to
    /// append to the note. A refusal leaves the witness's state unchanged.
    pub fn cosign(
        &mut self,
        note: &str,
        proof: &ConsistencyProof,
        time: u64,
    ) -> Result<String, LogError> {
        let checkpoint = open_checkpoint(note, &self.log)?;
        if let Some(seen) = &self.latest {
            check_extends(seen, &checkpoint, proof)?;
        }
        let line = cosignature_line(&checkpoint.body(), &self.signer, time);
        self.latest = Some(checkpoint);
        Ok(line)
    }
}
