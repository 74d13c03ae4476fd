//! The open loop: visit chains start at a fixed rate on a schedule fixed before the run, whatever
//! the answers' speed, and each request's latency is counted from the moment it could have been
//! sent, so a server that stalls cannot hide the queue it builds (no coordinated omission).
//!
//! Chain `i` is meant to start at `t0 + i / rate`. The dispatcher sleeps until that moment and
//! hands the chain to an idle lane (a random stream and its counts); when every lane is busy and
//! the cap of chains in flight is reached, the chain waits for one, and its first request's
//! latency still counts from its intended start. Lanes are made only when none is idle, so a run
//! that keeps up uses a handful.

use crate::limits::{IN_FLIGHT_MAX, RATE_MAX, START_LATE_SLACK};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use tokio::task::JoinSet;

use crate::config::{LoadConfig, LoadError};
use crate::driver::{connect, lane_rng, run_chain};
use crate::population::Population;
use crate::summary::{Summary, WorkerStats};

/// The arrival schedule of an open-loop run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLoop {
    /// Visit chains started per second.
    pub rate_per_s: u32,
    /// Chains in flight at most; a chain due while all are busy waits for one (and is counted
    /// as a queued start).
    pub in_flight_max: usize,
}

/// What the scheduler did during an open-loop run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenLoopReport {
    /// The target rate, chains per second.
    pub rate_per_s: u32,
    /// The cap of chains in flight.
    pub in_flight_max: usize,
    /// Chains whose intended start fell inside the run's duration (all of them ran).
    pub chains_scheduled: u64,
    /// Chains that started more than [`START_LATE_SLACK`] after their intended start.
    pub late_starts: u64,
    /// Chains that found every slot busy and waited for a chain to end.
    pub queued_starts: u64,
    /// The largest delay between a chain's intended and actual start, microseconds.
    pub start_lag_max_micros: u64,
    /// Most chains in flight at once.
    pub in_flight_peak: usize,
}

/// The moment chain `idx` is meant to start: `idx / rate_per_s` seconds after `t0`, computed
/// from the index so that no rounding accumulates.
pub fn intended_start(t0: Instant, idx: u64, rate_per_s: u32) -> Instant {
    assert!(rate_per_s > 0, "a rate of zero schedules nothing");
    let nanos = u128::from(idx) * 1_000_000_000 / u128::from(rate_per_s);
    t0 + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// One slot for a chain in flight: its random stream and its counts, kept from chain to chain.
struct Lane {
    rng: StdRng,
    stats: WorkerStats,
}

/// Runs the simulator in an open loop against the server at `addr`: `open.rate_per_s` chains a
/// second for `config.duration` (or until `config.visits_max` chains), then waits for every
/// chain to end. `config.concurrency` is not used; `open.in_flight_max` bounds the chains in
/// flight.
pub async fn run_open_loop(
    addr: &str,
    population: Arc<Population>,
    config: LoadConfig,
    open: OpenLoop,
) -> Result<Summary, LoadError> {
    if open.rate_per_s == 0 || open.rate_per_s > RATE_MAX {
        return Err(LoadError::Config(format!(
            "rate: {} chains/s is outside 1..={RATE_MAX}",
            open.rate_per_s
        )));
    }
    if open.in_flight_max == 0 || open.in_flight_max > IN_FLIGHT_MAX {
        return Err(LoadError::Config(format!(
            "in-flight cap: {} is outside 1..={IN_FLIGHT_MAX}",
            open.in_flight_max
        )));
    }
    let duration = config.duration;
    let seed = config.seed;
    let shared = Arc::new(connect(addr, population, config, open.in_flight_max).await?);
    let mut report = OpenLoopReport {
        rate_per_s: open.rate_per_s,
        in_flight_max: open.in_flight_max,
        ..OpenLoopReport::default()
    };
    let mut stats = WorkerStats::default();
    let mut idle: Vec<Lane> = Vec::new();
    let mut lanes_made: u64 = 0;
    let mut in_flight: JoinSet<Lane> = JoinSet::new();
    let t0 = Instant::now();
    let end = t0 + duration;
    for idx in 0u64.. {
        let intended = intended_start(t0, idx, open.rate_per_s);
        if intended >= end || shared.visits_exhausted() {
            break;
        }
        report.chains_scheduled += 1;
        tokio::time::sleep_until(intended.into()).await;
        // Chains that have ended give their lanes back.
        while let Some(done) = in_flight.try_join_next() {
            reclaim(done, &mut idle, &mut stats);
        }
        let lane = match idle.pop() {
            Some(lane) => lane,
            None if in_flight.len() < open.in_flight_max => {
                lanes_made += 1;
                Lane {
                    rng: lane_rng(seed, lanes_made - 1),
                    stats: WorkerStats::default(),
                }
            }
            None => {
                report.queued_starts += 1;
                loop {
                    let done = in_flight
                        .join_next()
                        .await
                        .expect("the cap is reached, so chains are in flight");
                    reclaim(done, &mut idle, &mut stats);
                    if let Some(lane) = idle.pop() {
                        break lane;
                    }
                    if in_flight.len() < open.in_flight_max {
                        // The chain panicked and its lane is lost: a new one takes its place.
                        lanes_made += 1;
                        break Lane {
                            rng: lane_rng(seed, lanes_made - 1),
                            stats: WorkerStats::default(),
                        };
                    }
                }
            }
        };
        let lag = Instant::now().saturating_duration_since(intended);
        if lag > START_LATE_SLACK {
            report.late_starts += 1;
        }
        report.start_lag_max_micros = report
            .start_lag_max_micros
            .max(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
        let shared = Arc::clone(&shared);
        in_flight.spawn(async move {
            let mut lane = lane;
            run_chain(&shared, &mut lane.stats, &mut lane.rng, Some(intended)).await;
            lane
        });
        report.in_flight_peak = report.in_flight_peak.max(in_flight.len());
    }
    while let Some(done) = in_flight.join_next().await {
        reclaim(done, &mut idle, &mut stats);
    }
    for lane in idle {
        stats.merge(lane.stats);
    }
    stats.latency = shared.take_latency();
    Ok(Summary::new(stats, t0.elapsed(), open.in_flight_max).with_open_loop(report))
}

/// Puts an ended chain's lane back among the idle ones, or counts its panic.
fn reclaim(
    done: Result<Lane, tokio::task::JoinError>,
    idle: &mut Vec<Lane>,
    stats: &mut WorkerStats,
) {
    match done {
        Ok(lane) => idle.push(lane),
        Err(e) => stats.error(&format!("chain panicked: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intended_starts_follow_the_rate_without_drift() {
        let t0 = Instant::now();
        assert_eq!(intended_start(t0, 0, 3), t0);
        assert_eq!(
            intended_start(t0, 1, 3) - t0,
            Duration::from_nanos(333_333_333)
        );
        // The 3,000,000th chain at 3/s is due exactly 1,000,000 s in: nothing accumulated.
        assert_eq!(
            intended_start(t0, 3_000_000, 3) - t0,
            Duration::from_secs(1_000_000)
        );
        assert_eq!(
            intended_start(t0, 250, 1_000) - t0,
            Duration::from_millis(250)
        );
    }
}
