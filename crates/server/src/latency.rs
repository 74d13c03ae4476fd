//! Time spent at the server per transaction (`infno`): from the moment the request's handler
//! starts (headers read) to the moment its answer is built, so the figure excludes the client's
//! own queueing. Kept as one HDR histogram per `infno` since the server started; `yibao serve
//! --stats-every-ms` prints them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The highest latency recorded exactly (60 s); longer ones count as 60 s.
const MAX_MICROS: u64 = 60_000_000;

/// The latencies recorded so far, by `infno` code (`"error"` for a request whose envelope did not
/// parse).
#[derive(Default)]
pub struct LatencyBook {
    by_infno: Mutex<BTreeMap<&'static str, hdrhistogram::Histogram<u64>>>,
}

/// One transaction's latencies in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySummary {
    /// The `infno` code.
    pub infno: &'static str,
    /// Requests counted.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// The largest.
    pub max_ms: f64,
}

impl LatencyBook {
    /// Counts one request of `infno` that took `elapsed`.
    pub fn record(&self, infno: &'static str, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(MAX_MICROS)
            .clamp(1, MAX_MICROS);
        let mut book = self.by_infno.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = book.entry(infno).or_insert_with(|| {
            hdrhistogram::Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("constant bounds that hdrhistogram accepts")
        });
        histogram.saturating_record(micros);
    }

    /// Every transaction's summary, in `infno` order.
    pub fn summaries(&self) -> Vec<LatencySummary> {
        let book = self.by_infno.lock().unwrap_or_else(|e| e.into_inner());
        // Microseconds to milliseconds for display only; the histogram holds integers.
        let ms = |micros: u64| micros as f64 / 1000.0;
        book.iter()
            .map(|(infno, h)| LatencySummary {
                infno,
                count: h.len(),
                p50_ms: ms(h.value_at_quantile(0.5)),
                p90_ms: ms(h.value_at_quantile(0.9)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                p999_ms: ms(h.value_at_quantile(0.999)),
                max_ms: ms(h.max()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_what_was_recorded() {
        let book = LatencyBook::default();
        for micros in 1..=1000 {
            book.record("3102", Duration::from_micros(micros));
        }
        book.record("2207", Duration::from_secs(120));
        let all = book.summaries();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].infno, "2207");
        assert_eq!(all[0].count, 1);
        assert!((all[0].max_ms - 60_000.0).abs() < 60.0, "{all:?}");
        let s = &all[1];
        assert_eq!(s.count, 1000);
        assert!((s.p50_ms - 0.5).abs() < 0.001, "{s:?}");
        assert!((s.p99_ms - 0.99).abs() < 0.001, "{s:?}");
        assert!((s.max_ms - 1.0).abs() < 0.001, "{s:?}");
    }
}
