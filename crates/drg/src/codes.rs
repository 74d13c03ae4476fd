//! Interned diagnosis and procedure codes: every code the scheme names gets a dense integer id at
//! load time, and every code list becomes a set over those ids.
//!
//! Grouping a case then costs one hash lookup per code on the record and bit tests afterwards.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::CcLevel;

/// A hash map for loading the scheme: keys are the scheme's own codes and names (not input a
/// caller controls), so a fast multiply-rotate hash replaces SipHash's flooding defence.
pub(crate) type LoadMap<K, V> = HashMap<K, V, BuildHasherDefault<LoadHasher>>;

/// The hasher of [`LoadMap`]: eight bytes at a time, rotate, xor, multiply.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LoadHasher(u64);

impl LoadHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(HASH_MULTIPLIER);
    }
}

impl Hasher for LoadHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length keeps "A" and "A\0" apart.
        self.add(u64::from_le_bytes(last) ^ (rest.len() as u64) << 59);
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// Id of a code the scheme does not know. It is in no set, so such a code never matches a list.
pub(crate) const CODE_UNKNOWN: u32 = u32::MAX;

/// Codes up to this many bytes are stored inline in the lookup table (CHS-DRG's longest is 18,
/// `E14.300x071+H36.0*`); longer ones go to an ordinary hash map.
const INLINE_CODE_BYTES_MAX: usize = 19;

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

/// Code string ↔ dense id while a scheme loads (one per code system).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    ids: LoadMap<Box<str>, u32>,
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
    pub(crate) fn lookup(&self, code: &str) -> u32 {
        self.ids.get(code).copied().unwrap_or(CODE_UNKNOWN)
    }

    /// The code string of an id handed out by [`Interner::intern`].
    pub(crate) fn code(&self, id: u32) -> &str {
        &self.codes[id as usize]
    }

    /// How many codes are interned.
    pub(crate) fn len(&self) -> usize {
        self.codes.len()
    }
}

/// What the scheme knows about one diagnosis code (all zero for procedures and unknown codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DxInfo {
    /// MCC, CC or none as a secondary diagnosis (before exclusion).
    pub(crate) cc_level: CcLevel,
    /// Body region for MDCZ's trauma count, plus one (0 when none).
    pub(crate) trauma_region_plus_one: u8,
    /// The exclusion table of the MCC/CC entry (0 when none).
    pub(crate) cc_table: u16,
    /// The exclusion table as a principal diagnosis (0 when none).
    pub(crate) principal_table: u16,
}

impl DxInfo {
    fn pack(self) -> [u32; 2] {
        let level = match self.cc_level {
            CcLevel::None => 0u32,
            CcLevel::Cc => 1,
            CcLevel::Mcc => 2,
        };
        [
            level | u32::from(self.trauma_region_plus_one) << 8 | u32::from(self.cc_table) << 16,
            u32::from(self.principal_table),
        ]
    }

    #[inline]
    fn unpack(words: [u32; 2]) -> DxInfo {
        DxInfo {
            cc_level: match words[0] & 0xff {
                0 => CcLevel::None,
                1 => CcLevel::Cc,
                _ => CcLevel::Mcc,
            },
            trauma_region_plus_one: ((words[0] >> 8) & 0xff) as u8,
            cc_table: (words[0] >> 16) as u16,
            principal_table: words[1] as u16,
        }
    }
}

/// Everything grouping needs about one code, found with a single table lookup: its diagnosis
/// facts and the sorted ids of the scheme lists that contain it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts<'a> {
    pub(crate) info: DxInfo,
    sets: &'a [u32],
}

impl Facts<'_> {
    /// The facts of a code the scheme does not know: in no list, no CC, no table, no region.
    pub(crate) const UNKNOWN: Facts<'static> = Facts {
        info: DxInfo {
            cc_level: CcLevel::None,
            trauma_region_plus_one: 0,
            cc_table: 0,
            principal_table: 0,
        },
        sets: &[],
    };

    /// The ids of the sets that hold the code, ascending.
    #[inline]
    pub(crate) fn sets(&self) -> &[u32] {
        self.sets
    }

    /// Whether the code is in the list compiled to `set`.
    #[inline]
    pub(crate) fn in_set(&self, set: u32) -> bool {
        if self.sets.len() <= 16 {
            self.sets.contains(&set)
        } else {
            self.sets.binary_search(&set).is_ok()
        }
    }
}

/// Set ids kept inside a table slot; a code in more lists keeps them in the overflow words.
const INLINE_SETS_MAX: usize = 8;

/// Marks an empty slot.
const SLOT_EMPTY: u32 = u32::MAX;

/// One slot of the open-addressing table, one cache line: the code's bytes packed into
/// integers (a probe is three integer compares, not a string hash and a `memcmp` behind a
/// pointer) and, right next to them, everything grouping needs about the code. A lookup
/// touches one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Slot {
    k0: u64,
    k1: u64,
    k2: u32,
    /// Code length in the top 8 bits, number of sets in the low 16; [`SLOT_EMPTY`] when unused.
    meta: u32,
    info: [u32; 2],
    /// The set ids, or (more than [`INLINE_SETS_MAX`]) their offset in the overflow words.
    sets: [u32; INLINE_SETS_MAX],
}

const EMPTY_SLOT: Slot = Slot {
    k0: 0,
    k1: 0,
    k2: 0,
    meta: SLOT_EMPTY,
    info: [0; 2],
    sets: [0; INLINE_SETS_MAX],
};

/// Sets per code are counted in 16 bits of [`Slot::meta`].
const SETS_PER_CODE_MAX: usize = u16::MAX as usize;

/// The compiled facts of one code system, looked up by code string.
#[derive(Debug, Clone)]
pub(crate) struct CodeFacts {
    slots: Box<[Slot]>,
    /// `log2(slots.len())`: a code's home slot is its hash's top bits.
    bits: u32,
    /// Set ids of codes in many lists; and, for codes too long to inline, `[n_sets, info0,
    /// info1, set ids…]` at the offset `long` gives.
    overflow: Box<[u32]>,
    long: HashMap<Box<str>, u32>,
}

impl CodeFacts {
    /// Builds the facts from the load-time interner, per-id diagnosis info (empty for
    /// procedures) and per-id set memberships.
    pub(crate) fn build(
        interner: &Interner,
        info: &[DxInfo],
        memberships: Vec<Vec<u32>>,
    ) -> CodeFacts {
        assert_eq!(memberships.len(), interner.len());
        let capacity = (interner.len() * 2).max(16).next_power_of_two();
        let mut facts = CodeFacts {
            slots: vec![EMPTY_SLOT; capacity].into_boxed_slice(),
            bits: capacity.trailing_zeros(),
            overflow: Box::new([]),
            long: HashMap::new(),
        };
        let mut overflow: Vec<u32> = Vec::new();
        for (id, mut sets) in memberships.into_iter().enumerate() {
            sets.sort_unstable();
            sets.dedup();
            assert!(
                sets.len() <= SETS_PER_CODE_MAX,
                "a code in more than 65,535 lists"
            );
            let code = interner.code(id as u32);
            let info = info.get(id).copied().unwrap_or_default().pack();
            let Some((k0, k1, k2, len)) = pack(code) else {
                let offset = u32::try_from(overflow.len()).expect("overflow fits in 2^32 words");
                overflow.push(sets.len() as u32);
                overflow.extend(info);
                overflow.extend(&sets);
                facts.long.insert(code.into(), offset);
                continue;
            };
            let mut slot = Slot {
                k0,
                k1,
                k2,
                meta: (len << 24) | sets.len() as u32,
                info,
                sets: [0; INLINE_SETS_MAX],
            };
            if sets.len() <= INLINE_SETS_MAX {
                slot.sets[..sets.len()].copy_from_slice(&sets);
            } else {
                slot.sets[0] = u32::try_from(overflow.len()).expect("overflow fits in 2^32 words");
                overflow.extend(&sets);
            }
            let mask = facts.slots.len() - 1;
            let mut idx = facts.home(slot_hash(k0, k1, k2, len));
            while facts.slots[idx].meta != SLOT_EMPTY {
                idx = (idx + 1) & mask;
            }
            facts.slots[idx] = slot;
        }
        facts.overflow = overflow.into_boxed_slice();
        facts
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.bits)) as usize
    }

    /// The facts of `code` ([`Facts::UNKNOWN`] when the scheme does not name it).
    #[inline]
    pub(crate) fn get(&self, code: &str) -> Facts<'_> {
        let Some((k0, k1, k2, len)) = pack(code) else {
            return match self.long.get(code) {
                None => Facts::UNKNOWN,
                Some(&offset) => {
                    let at = offset as usize;
                    let n_sets = self.overflow[at] as usize;
                    Facts {
                        info: DxInfo::unpack([self.overflow[at + 1], self.overflow[at + 2]]),
                        sets: &self.overflow[at + 3..at + 3 + n_sets],
                    }
                }
            };
        };
        self.probe((k0, k1, k2, len), self.home(slot_hash(k0, k1, k2, len)))
    }

    /// The facts of the packed code `(k0, k1, k2, len)` whose home slot is `home`.
    #[inline]
    fn probe(&self, (k0, k1, k2, len): (u64, u64, u32, u32), home: usize) -> Facts<'_> {
        let mask = self.slots.len() - 1;
        let mut idx = home;
        loop {
            let slot = &self.slots[idx];
            if slot.meta == SLOT_EMPTY {
                return Facts::UNKNOWN;
            }
            if slot.k0 == k0 && slot.k1 == k1 && slot.k2 == k2 && slot.meta >> 24 == len {
                let n_sets = (slot.meta & 0xffff) as usize;
                let sets = if n_sets <= INLINE_SETS_MAX {
                    &slot.sets[..n_sets]
                } else {
                    let at = slot.sets[0] as usize;
                    &self.overflow[at..at + n_sets]
                };
                return Facts {
                    info: DxInfo::unpack(slot.info),
                    sets,
                };
            }
            idx = (idx + 1) & mask;
        }
    }

    /// The facts of each of `codes` into `out` (same length). In three passes: every code is
    /// packed and hashed first; then the home slots are read in a tight loop of independent
    /// loads, so that their cache misses overlap instead of being paid one after the other;
    /// then each code is probed, finding its slot in cache.
    #[inline]
    pub(crate) fn get_all<'a, S: AsRef<str>>(&'a self, codes: &[S], out: &mut [Facts<'a>]) {
        debug_assert_eq!(codes.len(), out.len());
        const BATCH: usize = 16;
        if codes.len() > BATCH {
            for (slot, code) in out.iter_mut().zip(codes) {
                *slot = self.get(code.as_ref());
            }
            return;
        }
        let mut keys = [(0u64, 0u64, 0u32, 0u32); BATCH];
        let mut homes = [usize::MAX; BATCH];
        for ((key, home), code) in keys.iter_mut().zip(homes.iter_mut()).zip(codes) {
            if let Some(packed) = pack(code.as_ref()) {
                *key = packed;
                *home = self.home(slot_hash(packed.0, packed.1, packed.2, packed.3));
            }
        }
        let homes = &homes[..codes.len()];
        let mut touched = 0u32;
        for &home in homes {
            if let Some(slot) = self.slots.get(home) {
                touched ^= slot.meta;
            }
        }
        std::hint::black_box(touched);
        for (((slot, code), key), &home) in out.iter_mut().zip(codes).zip(&keys).zip(homes) {
            *slot = if home == usize::MAX {
                self.get(code.as_ref())
            } else {
                self.probe(*key, home)
            };
        }
    }

    /// Whether the scheme names `code`.
    pub(crate) fn knows(&self, code: &str) -> bool {
        match pack(code) {
            None => self.long.contains_key(code),
            Some(_) => self.find_slot(code),
        }
    }

    fn find_slot(&self, code: &str) -> bool {
        let Some((k0, k1, k2, len)) = pack(code) else {
            return false;
        };
        let mask = self.slots.len() - 1;
        let mut idx = self.home(slot_hash(k0, k1, k2, len));
        loop {
            let slot = &self.slots[idx];
            if slot.meta == SLOT_EMPTY {
                return false;
            }
            if slot.k0 == k0 && slot.k1 == k1 && slot.k2 == k2 && slot.meta >> 24 == len {
                return true;
            }
            idx = (idx + 1) & mask;
        }
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
    fn facts_find_every_code_through_growth_and_long_codes() {
        let mut interner = Interner::default();
        let codes: Vec<String> = (0..5000)
            .map(|n| match n % 4 {
                0 => format!("A{n:02}.000"),
                1 => format!("A{n:02}.000x{n:03}"),
                2 => format!("E14.300x{n:03}+H36.0*"),
                _ => format!("a code longer than the inline limit {n}"),
            })
            .collect();
        for code in &codes {
            interner.intern(code);
        }
        interner.intern("");
        // Code n is in sets n % 7 and 1000 + n % 3, and in 40 sets when n % 1000 == 0.
        let memberships: Vec<Vec<u32>> = (0..interner.len() as u32)
            .map(|n| {
                let mut sets = vec![1000 + n % 3, n % 7];
                if n % 1000 == 0 {
                    sets.extend(2000..2040);
                }
                sets
            })
            .collect();
        let info: Vec<DxInfo> = (0..interner.len())
            .map(|n| DxInfo {
                cc_level: if n % 2 == 0 {
                    CcLevel::Mcc
                } else {
                    CcLevel::Cc
                },
                trauma_region_plus_one: (n % 9) as u8,
                cc_table: (n % 223) as u16,
                principal_table: (n % 4000) as u16,
            })
            .collect();
        let facts = CodeFacts::build(&interner, &info, memberships);
        for (n, code) in codes.iter().enumerate() {
            let found = facts.get(code);
            assert_eq!(found.info, info[n], "{code}");
            let n = n as u32;
            for set in 0..2100 {
                let member = set == n % 7
                    || set == 1000 + n % 3
                    || (n % 1000 == 0 && (2000..2040).contains(&set));
                assert_eq!(found.in_set(set), member, "{code} in {set}");
            }
        }
        assert!(facts.knows(""));
        // Prefixes and extensions are other codes.
        for other in ["A00.00", "A00.0000", "A00.000\0", "E14.300x002+H36.0"] {
            assert!(!facts.knows(other), "{other}");
            assert_eq!(facts.get(other).sets.len(), 0);
            assert_eq!(facts.get(other).info, DxInfo::default());
        }
    }

    /// The batched lookup finds what one-by-one lookups find, for known, unknown, long and
    /// empty codes, in batches below and above its inline size.
    #[test]
    fn get_all_agrees_with_get() {
        let mut interner = Interner::default();
        let known: Vec<String> = (0..300)
            .map(|n| match n % 3 {
                0 => format!("A{n:02}.000"),
                1 => format!("E14.300x{n:03}+H36.0*"),
                _ => format!("a code longer than the inline limit {n}"),
            })
            .collect();
        for code in &known {
            interner.intern(code);
        }
        let memberships: Vec<Vec<u32>> = (0..interner.len() as u32).map(|n| vec![n % 5]).collect();
        let info: Vec<DxInfo> = (0..interner.len())
            .map(|n| DxInfo {
                cc_table: n as u16,
                ..DxInfo::default()
            })
            .collect();
        let facts = CodeFacts::build(&interner, &info, memberships);
        for n_codes in [0, 1, 7, 32, 33, 90] {
            let codes: Vec<String> = (0..n_codes)
                .map(|idx| match idx % 4 {
                    3 => format!("B{idx:02}.000"),
                    2 if idx % 8 == 2 => String::new(),
                    _ => known[(idx * 37) % known.len()].clone(),
                })
                .collect();
            let mut out = vec![Facts::UNKNOWN; n_codes];
            facts.get_all(&codes, &mut out);
            for (code, got) in codes.iter().zip(&out) {
                let want = facts.get(code);
                assert_eq!((got.info, got.sets), (want.info, want.sets), "{code:?}");
            }
        }
    }
}
