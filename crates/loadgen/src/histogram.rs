//! A fixed-size log-linear latency histogram (about 1.6 % resolution, microseconds up to a
//! minute): memory stays bounded however long the run, and workers merge theirs at the end.

use crate::limits::LATENCY_MAX_MICROS;

/// Values below this are counted exactly (microseconds).
const LINEAR_MAX: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR_MAX`].
const SUB_BUCKETS: u64 = 64;
/// Number of buckets that covers `LATENCY_MAX_MICROS`.
const BUCKETS: usize = bucket_of(LATENCY_MAX_MICROS) + 1;

const fn bucket_of(micros: u64) -> usize {
    if micros < LINEAR_MAX {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros() as u64; // >= 7
    let mantissa = micros >> (exp - 6); // 64..128
    (LINEAR_MAX + (exp - 7) * SUB_BUCKETS + (mantissa - SUB_BUCKETS)) as usize
}

/// The smallest value that falls into `bucket`.
fn lower_bound(bucket: usize) -> u64 {
    let bucket = bucket as u64;
    if bucket < LINEAR_MAX {
        return bucket;
    }
    let exp = (bucket - LINEAR_MAX) / SUB_BUCKETS + 7;
    let mantissa = (bucket - LINEAR_MAX) % SUB_BUCKETS + SUB_BUCKETS;
    mantissa << (exp - 6)
}

/// Latency counts.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_micros: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_micros: 0,
        }
    }
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, micros: u64) {
        let micros = micros.min(LATENCY_MAX_MICROS);
        self.counts[bucket_of(micros)] += 1;
        self.total += 1;
        self.max_micros = self.max_micros.max(micros);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_micros = self.max_micros.max(other.max_micros);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Largest value recorded.
    pub fn max_micros(&self) -> u64 {
        self.max_micros
    }

    /// The value at `permille` (500 = median), as the lower bound of its bucket; 0 when empty.
    pub fn quantile_micros(&self, permille: u64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        // The rank of the quantile, 1-based, rounded up.
        let rank = (self.total * permille).div_ceil(1000).max(1);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return lower_bound(bucket).min(self.max_micros);
            }
        }
        self.max_micros
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_of_a_known_spread() {
        let mut h = Histogram::default();
        for micros in 1..=1000 {
            h.record(micros);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.quantile_micros(500), 500); // bucket [500, 504) holds 500
        assert!((980..=990).contains(&h.quantile_micros(990)));
        assert_eq!(h.max_micros(), 1000);
        assert_eq!(Histogram::default().quantile_micros(500), 0);
    }

    proptest! {
        #[test]
        fn buckets_are_monotone_and_tight(v in 0u64..LATENCY_MAX_MICROS) {
            let b = bucket_of(v);
            prop_assert!(lower_bound(b) <= v);
            prop_assert!(b + 1 >= BUCKETS || lower_bound(b + 1) > v);
            // Resolution: the bucket's lower bound is within 1/64 of the value.
            prop_assert!(v - lower_bound(b) <= v / 64);
        }

        #[test]
        fn merging_is_adding(a in proptest::collection::vec(0u64..100_000, 0..50), b in proptest::collection::vec(0u64..100_000, 0..50)) {
            let mut ha = Histogram::default();
            let mut hb = Histogram::default();
            let mut all = Histogram::default();
            for v in &a { ha.record(*v); all.record(*v); }
            for v in &b { hb.record(*v); all.record(*v); }
            ha.merge(&hb);
            prop_assert_eq!(ha.count(), all.count());
            prop_assert_eq!(ha.quantile_micros(990), all.quantile_micros(990));
        }
    }
}
