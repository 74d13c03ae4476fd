//! What a run does: its seed and size, and how often each fault is injected.

use crate::limits::{CHAINS_MAX, CONCURRENCY_MAX, OPS_MAX, PERSONS_MAX, SAMPLE_CHECKS_MAX};
use crate::SimError;

/// How often each fault happens, in permille of its chances (see each field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Per step: the process crashes (router and store dropped, a new store opened on the same
    /// database) before the step's operations.
    pub crash: u32,
    /// Per step of chain messages only: the process crashes while the step's requests are in
    /// flight. Every answer of the step is lost; a request that got no answer is in doubt (it
    /// may or may not have committed) until the hospital's retry settles it.
    pub crash_in_flight: u32,
    /// Per message of a chain: the request never reaches the server.
    pub lost_request: u32,
    /// Per message of a chain: the server acts but the answer never reaches the hospital.
    pub lost_answer: u32,
    /// Per message of a chain: the request is delivered twice at once (a network duplicate).
    pub duplicate: u32,
    /// Per lost message: the hospital revokes it (2601) instead of retrying; a revoked message
    /// that had not arrived may then arrive late and must be refused.
    pub revoke_lost: u32,
    /// Per settled chain: the same `msgid` sent again with other content (must be refused).
    pub conflict: u32,
    /// Per step: a chain's settlement sent before its fee upload (must be refused and write
    /// nothing); the step then holds only that operation.
    pub reorder: u32,
    /// Per settled chain: the settlement reversed (2208/2305), or revoked (2601) as often.
    pub reversal: u32,
    /// Per undone settlement: it is reversed or revoked a second time (must be refused).
    pub undo_again: u32,
    /// Per step: a 2601 of a message id no one ever sent (it is barred; nothing is undone).
    pub phantom_revoke: u32,
    /// Per step: a 2208 or a 2601 of a random earlier outpatient settlement that still stands.
    pub undo_old: u32,
}

impl Default for Faults {
    /// Every fault often enough that a few thousand operations meet each many times.
    fn default() -> Self {
        Faults {
            crash: 8,
            crash_in_flight: 8,
            lost_request: 30,
            lost_answer: 40,
            duplicate: 30,
            revoke_lost: 400,
            conflict: 100,
            reorder: 20,
            reversal: 150,
            undo_again: 300,
            phantom_revoke: 10,
            undo_old: 20,
        }
    }
}

impl Faults {
    /// No fault at all (a baseline run).
    pub fn none() -> Faults {
        Faults {
            crash: 0,
            crash_in_flight: 0,
            lost_request: 0,
            lost_answer: 0,
            duplicate: 0,
            revoke_lost: 0,
            conflict: 0,
            reorder: 0,
            reversal: 0,
            undo_again: 0,
            phantom_revoke: 0,
            undo_old: 0,
        }
    }

    /// Every fault with its name, in a fixed order.
    pub fn fields_mut(&mut self) -> [(&'static str, &mut u32); 12] {
        [
            ("crash", &mut self.crash),
            ("crash_in_flight", &mut self.crash_in_flight),
            ("lost_request", &mut self.lost_request),
            ("lost_answer", &mut self.lost_answer),
            ("duplicate", &mut self.duplicate),
            ("revoke_lost", &mut self.revoke_lost),
            ("conflict", &mut self.conflict),
            ("reorder", &mut self.reorder),
            ("reversal", &mut self.reversal),
            ("undo_again", &mut self.undo_again),
            ("phantom_revoke", &mut self.phantom_revoke),
            ("undo_old", &mut self.undo_old),
        ]
    }

    /// Overrides from `name=permille,…` (e.g. `crash=20,lost_answer=0`).
    pub fn parse_overrides(&mut self, text: &str) -> Result<(), SimError> {
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| {
                SimError::setup(format!("--faults {part:?}: expected name=permille"))
            })?;
            let value: u32 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| *v <= 1000)
                .ok_or_else(|| {
                    SimError::setup(format!("--faults {part:?}: a permille is 0 to 1000"))
                })?;
            let mut fields = self.fields_mut();
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            let slot = fields
                .iter_mut()
                .find(|(n, _)| *n == name.trim())
                .ok_or_else(|| {
                    SimError::setup(format!(
                        "--faults: unknown fault {name:?} (known: {names:?})"
                    ))
                })?;
            *slot.1 = value;
        }
        Ok(())
    }
}

/// One run of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Everything random comes from this seed: the city, the hospitals' choices, the faults.
    pub seed: u64,
    /// Operations (messages sent or lost) to run.
    pub ops: u64,
    /// Persons in the city.
    pub persons: u64,
    /// At most this many operations of different persons in one step.
    pub concurrency_max: usize,
    /// Visit chains under way at once.
    pub chains_max: usize,
    /// Of new chains, permille that are inpatient stays.
    pub inpatient_permille: u32,
    /// Run the checks after every `check_every` steps (1: after every step).
    pub check_every: u64,
    /// Old settlements re-read through 5203 after each checked step.
    pub sample_checks: usize,
    /// The faults.
    pub faults: Faults,
    /// Keep the operation log lines (for a replay comparison); the digest is kept always.
    pub keep_log: bool,
}

impl SimConfig {
    /// The defaults for `seed` and `ops`.
    pub fn new(seed: u64, ops: u64) -> SimConfig {
        SimConfig {
            seed,
            ops,
            persons: 600,
            concurrency_max: 8,
            chains_max: 24,
            inpatient_permille: 150,
            check_every: 1,
            sample_checks: 4,
            faults: Faults::default(),
            keep_log: false,
        }
    }

    /// Checks every value against its limit.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |what: String| Err(SimError::setup(what));
        if self.ops == 0 || self.ops > OPS_MAX {
            return bad(format!("ops: 1 to {OPS_MAX}"));
        }
        if !(100..=PERSONS_MAX).contains(&self.persons) {
            return bad(format!("persons: 100 to {PERSONS_MAX}"));
        }
        if self.concurrency_max == 0 || self.concurrency_max > CONCURRENCY_MAX {
            return bad(format!("concurrency: 1 to {CONCURRENCY_MAX}"));
        }
        if self.chains_max < self.concurrency_max || self.chains_max > CHAINS_MAX {
            return bad(format!("chains: concurrency to {CHAINS_MAX}"));
        }
        if self.inpatient_permille > 1000 {
            return bad("inpatient: a permille".to_owned());
        }
        if self.check_every == 0 {
            return bad("check_every: at least 1".to_owned());
        }
        if self.sample_checks > SAMPLE_CHECKS_MAX {
            return bad(format!("sample_checks: at most {SAMPLE_CHECKS_MAX}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_overrides_parse_and_errors_name_the_problem() {
        let mut faults = Faults::default();
        faults
            .parse_overrides("crash=20, lost_answer=0,crash_in_flight=1000")
            .unwrap();
        assert_eq!(
            (faults.crash, faults.lost_answer, faults.crash_in_flight),
            (20, 0, 1000)
        );
        assert_eq!(faults.duplicate, Faults::default().duplicate);
        for (text, named) in [
            ("crash", "expected name=permille"),
            ("crash=1001", "a permille is 0 to 1000"),
            ("crash=-1", "a permille is 0 to 1000"),
            ("meteor=5", "unknown fault \"meteor\""),
        ] {
            let err = Faults::default().parse_overrides(text).unwrap_err();
            assert!(err.to_string().contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn configurations_are_held_to_their_limits() {
        assert!(SimConfig::new(1, 10).validate().is_ok());
        let mut config = SimConfig::new(1, 0);
        assert!(config.validate().is_err());
        config.ops = 10;
        config.concurrency_max = config.chains_max + 1;
        assert!(config.validate().is_err());
        config.concurrency_max = 1;
        config.check_every = 0;
        assert!(config.validate().is_err());
    }
}
