//! Interned diagnosis and procedure codes: every code the scheme names gets a dense integer id at
//! load time, and every code list becomes a set over those ids.
//!
//! Grouping a case then costs one hash lookup per code on the record and bit tests afterwards.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Id of a code the scheme does not know. It is in no set, so such a code never matches a list.
pub(crate) const CODE_UNKNOWN: u32 = u32::MAX;

/// A small multiplicative hasher for short ASCII code strings.
///
/// The keys are fixed when the scheme loads (nobody outside can add keys), so hash flooding
/// cannot lengthen the probe chains; the standard SipHash would only cost time here.
#[derive(Default, Clone, Copy)]
pub(crate) struct CodeHasher {
    state: u64,
}

/// An odd 64-bit constant with well-spread bits (the fractional part of the golden ratio).
const HASH_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl CodeHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(23) ^ word).wrapping_mul(HASH_MULTIPLIER);
    }
}

impl Hasher for CodeHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Fold the high bits down: hashbrown takes its bucket index from the low bits and its
        // tag from the top seven.
        self.state ^ (self.state >> 29)
    }
}

/// A hash map keyed by code strings, using [`CodeHasher`].
pub(crate) type CodeMapOf<V> = HashMap<Box<str>, V, BuildHasherDefault<CodeHasher>>;

/// Code string ↔ dense id, for one code system (diagnoses or procedures).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: CodeMapOf<u32>,
    codes: Vec<Box<str>>,
}

impl Interner {
    /// The id of `code`, adding it if it is new.
    pub(crate) fn intern(&mut self, code: &str) -> u32 {
        if let Some(&id) = self.ids.get(code) {
            return id;
        }
        let id = u32::try_from(self.codes.len()).expect("fewer than 2^32 codes");
        assert!(id != CODE_UNKNOWN, "code id space exhausted");
        self.ids.insert(code.into(), id);
        self.codes.push(code.into());
        id
    }

    /// The id of `code`, or [`CODE_UNKNOWN`].
    #[inline]
    pub(crate) fn lookup(&self, code: &str) -> u32 {
        self.ids.get(code).copied().unwrap_or(CODE_UNKNOWN)
    }

    /// The code string of an id handed out by [`Interner::intern`].
    #[cfg(test)]
    pub(crate) fn code(&self, id: u32) -> &str {
        &self.codes[id as usize]
    }

    /// How many codes are interned.
    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }
}

/// Lists up to this many codes are kept as a sorted slice; longer ones as a bitset over the whole
/// id space. A linear scan of a handful of ids beats a bitset's cache miss.
const SMALL_SET_MAX: usize = 8;

/// A set of code ids, compiled from one list of the scheme.
#[derive(Debug, Clone)]
pub(crate) enum CodeSet {
    /// A short sorted list of ids.
    Small(Box<[u32]>),
    /// One bit per id of the code system.
    Bits(Box<[u64]>),
}

impl CodeSet {
    /// Builds a set from ids; `universe` is the number of ids of the code system.
    pub(crate) fn from_ids(mut ids: Vec<u32>, universe: usize) -> CodeSet {
        ids.sort_unstable();
        ids.dedup();
        if ids.len() <= SMALL_SET_MAX {
            return CodeSet::Small(ids.into_boxed_slice());
        }
        let mut words = vec![0u64; universe.div_ceil(64)];
        for id in ids {
            let id = id as usize;
            assert!(id < universe, "id {id} outside the universe of {universe}");
            words[id >> 6] |= 1u64 << (id & 63);
        }
        CodeSet::Bits(words.into_boxed_slice())
    }

    /// Whether `id` is in the set ([`CODE_UNKNOWN`] never is).
    #[inline]
    pub(crate) fn contains(&self, id: u32) -> bool {
        match self {
            CodeSet::Small(ids) => ids.contains(&id),
            CodeSet::Bits(words) => {
                let id = id as usize;
                match words.get(id >> 6) {
                    Some(word) => word & (1u64 << (id & 63)) != 0,
                    None => false,
                }
            }
        }
    }

    /// Whether any of `ids` is in the set.
    #[inline]
    pub(crate) fn contains_any(&self, ids: &[u32]) -> bool {
        ids.iter().any(|&id| self.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_round_trips_and_knows_unknown_codes() {
        let mut interner = Interner::default();
        let a = interner.intern("A00.000x001");
        let b = interner.intern("00.5500x008");
        assert_eq!(interner.intern("A00.000x001"), a);
        assert_ne!(a, b);
        assert_eq!(interner.lookup("00.5500x008"), b);
        assert_eq!(interner.lookup("A00.000"), CODE_UNKNOWN);
        assert_eq!(interner.code(b), "00.5500x008");
        assert_eq!(interner.len(), 2);
    }

    #[test]
    fn small_and_bit_sets_agree() {
        let universe = 300;
        for members in [vec![3, 1, 2], (0..300).step_by(7).collect::<Vec<u32>>()] {
            let set = CodeSet::from_ids(members.clone(), universe);
            for id in 0..universe as u32 {
                assert_eq!(set.contains(id), members.contains(&id), "id {id}");
            }
            assert!(!set.contains(CODE_UNKNOWN));
        }
        assert!(matches!(
            CodeSet::from_ids(vec![1, 2], universe),
            CodeSet::Small(_)
        ));
        assert!(matches!(
            CodeSet::from_ids((0..100).collect(), universe),
            CodeSet::Bits(_)
        ));
    }
}
