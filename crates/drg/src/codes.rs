//! Interned diagnosis and procedure codes: every code the scheme names gets a dense integer id at
//! load time, and every code list becomes a set over those ids.
//!
//! Grouping a case then costs one hash lookup per code on the record and bit tests afterwards.

use std::collections::HashMap;

/// Id of a code the scheme does not know. It is in no set, so such a code never matches a list.
pub(crate) const CODE_UNKNOWN: u32 = u32::MAX;

/// Codes up to this many bytes are stored inline in the lookup table (CHS-DRG's longest is 18,
/// `E14.300x071+H36.0*`); longer ones go to an ordinary hash map.
const INLINE_CODE_BYTES_MAX: usize = 19;

/// Marks an empty slot of [`CodeTable`].
const SLOT_EMPTY: u32 = u32::MAX;

/// Ids must fit in the low 24 bits of [`Slot::meta`].
const INLINE_IDS_MAX: u32 = 1 << 24;

/// One slot of the open-addressing table: the code's bytes packed into integers, so a probe is
/// three integer compares instead of a hash of a string and a `memcmp` behind a pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    k0: u64,
    k1: u64,
    k2: u32,
    /// Code length in the top 8 bits, id in the low 24; [`SLOT_EMPTY`] when unused.
    meta: u32,
}

const EMPTY_SLOT: Slot = Slot {
    k0: 0,
    k1: 0,
    k2: 0,
    meta: SLOT_EMPTY,
};

/// The packed form of a short code, or `None` when it is empty or too long to inline.
#[inline]
fn pack(code: &str) -> Option<(u64, u64, u32, u32)> {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > INLINE_CODE_BYTES_MAX {
        return None;
    }
    let mut buffer = [0u8; 20];
    buffer[..bytes.len()].copy_from_slice(bytes);
    let word = |at: usize| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&buffer[at..at + 8]);
        u64::from_le_bytes(eight)
    };
    let mut four = [0u8; 4];
    four.copy_from_slice(&buffer[16..20]);
    Some((
        word(0),
        word(8),
        u32::from_le_bytes(four),
        bytes.len() as u32,
    ))
}

/// An odd 64-bit constant with well-spread bits (the fractional part of the golden ratio).
const HASH_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn slot_hash(k0: u64, k1: u64, k2: u32, len: u32) -> u64 {
    let mixed = (k0 ^ k1.rotate_left(29) ^ (u64::from(k2) << 17) ^ u64::from(len))
        .wrapping_mul(HASH_MULTIPLIER);
    (mixed ^ (mixed >> 31)).wrapping_mul(HASH_MULTIPLIER)
}

/// Code string → id: an open-addressing table with linear probing, kept at most half full.
#[derive(Debug, Clone)]
struct CodeTable {
    slots: Box<[Slot]>,
    /// `log2(slots.len())`: the index is the hash's top bits.
    bits: u32,
    n_inline: usize,
    long: HashMap<Box<str>, u32>,
}

impl Default for CodeTable {
    fn default() -> Self {
        CodeTable {
            slots: vec![EMPTY_SLOT; 16].into_boxed_slice(),
            bits: 4,
            n_inline: 0,
            long: HashMap::new(),
        }
    }
}

impl CodeTable {
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.bits)) as usize
    }

    #[inline]
    fn get(&self, code: &str) -> Option<u32> {
        let Some((k0, k1, k2, len)) = pack(code) else {
            return self.long.get(code).copied();
        };
        let mask = self.slots.len() - 1;
        let mut idx = self.home(slot_hash(k0, k1, k2, len));
        loop {
            let slot = &self.slots[idx];
            if slot.meta == SLOT_EMPTY {
                return None;
            }
            if slot.k0 == k0 && slot.k1 == k1 && slot.k2 == k2 && slot.meta >> 24 == len {
                return Some(slot.meta & (INLINE_IDS_MAX - 1));
            }
            idx = (idx + 1) & mask;
        }
    }

    fn insert_new(&mut self, code: &str, id: u32) {
        let Some((k0, k1, k2, len)) = pack(code) else {
            self.long.insert(code.into(), id);
            return;
        };
        assert!(id < INLINE_IDS_MAX, "more than 2^24 codes");
        if (self.n_inline + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(Slot {
            k0,
            k1,
            k2,
            meta: (len << 24) | id,
        });
        self.n_inline += 1;
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut idx = self.home(slot_hash(slot.k0, slot.k1, slot.k2, slot.meta >> 24));
        while self.slots[idx].meta != SLOT_EMPTY {
            idx = (idx + 1) & mask;
        }
        self.slots[idx] = slot;
    }

    fn grow(&mut self) {
        let doubled = vec![EMPTY_SLOT; self.slots.len() * 2].into_boxed_slice();
        let old = std::mem::replace(&mut self.slots, doubled);
        self.bits += 1;
        for slot in old.iter().filter(|slot| slot.meta != SLOT_EMPTY) {
            self.place(*slot);
        }
    }
}

/// Code string ↔ dense id, for one code system (diagnoses or procedures).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    table: CodeTable,
    codes: Vec<Box<str>>,
}

impl Interner {
    /// The id of `code`, adding it if it is new.
    pub(crate) fn intern(&mut self, code: &str) -> u32 {
        if let Some(id) = self.table.get(code) {
            return id;
        }
        let id = u32::try_from(self.codes.len()).expect("fewer than 2^32 codes");
        assert!(id != CODE_UNKNOWN, "code id space exhausted");
        self.table.insert_new(code, id);
        self.codes.push(code.into());
        id
    }

    /// The id of `code`, or [`CODE_UNKNOWN`].
    #[inline]
    pub(crate) fn lookup(&self, code: &str) -> u32 {
        self.table.get(code).unwrap_or(CODE_UNKNOWN)
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
    fn interner_keeps_every_code_through_growth_and_long_codes() {
        let mut interner = Interner::default();
        let codes: Vec<String> = (0..5000)
            .map(|n| match n % 4 {
                0 => format!("A{n:02}.000"),
                1 => format!("A{n:02}.000x{n:03}"),
                2 => format!("E14.300x{n:03}+H36.0*"),
                _ => format!("a code longer than the inline limit {n}"),
            })
            .collect();
        let ids: Vec<u32> = codes.iter().map(|code| interner.intern(code)).collect();
        for (code, id) in codes.iter().zip(&ids) {
            assert_eq!(interner.lookup(code), *id, "{code}");
            assert_eq!(interner.code(*id), code);
        }
        // Prefixes, extensions and the empty string are other codes.
        assert_eq!(interner.lookup("A00.00"), CODE_UNKNOWN);
        assert_eq!(interner.lookup("A00.0000"), CODE_UNKNOWN);
        assert_eq!(interner.lookup("A00.000\0"), CODE_UNKNOWN);
        assert_eq!(interner.lookup(""), CODE_UNKNOWN);
        let empty = interner.intern("");
        assert_eq!(interner.lookup(""), empty);
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
