//! What a load run is told: its duration, the visit mix, the misbehaviour it sends, and why a
//! run could not start.

use std::str::FromStr;
use std::time::Duration;

use crate::bill::VisitKind;
use crate::limits::DURATION_MAX;

/// Parses `500ms`, `30s`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits.parse().map_err(|_| {
        format!("duration: {text:?} is not a whole number with a unit (500ms, 30s, 2m, 1h)")
    })?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "duration: unknown unit {unit:?} in {text:?} (ms, s, m, h)"
            ))
        }
    };
    if duration > DURATION_MAX {
        return Err(format!("duration: {text} is longer than 24h"));
    }
    Ok(duration)
}

/// Shares of the visit kinds, as integer weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Weight per kind, in [`VisitKind::ALL`] order.
    pub weights: [u32; 4],
}

impl Default for Mix {
    /// The demo city's rates per insured per year: general outpatient ~3.2, pharmacy ~4,
    /// chronic ~0.35, inpatient ~0.14 (spec/demo-city.md).
    fn default() -> Self {
        Mix {
            weights: [42, 5, 51, 2],
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `outpatient=42,chronic=5,pharmacy=51,inpatient=2`, or one kind's name alone.
    fn from_str(text: &str) -> Result<Mix, String> {
        let mut weights = [0u32; 4];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let idx = VisitKind::ALL
                .iter()
                .position(|k| k.name() == name.trim())
                .ok_or_else(|| format!("mix: unknown visit kind {name:?} (outpatient, chronic, pharmacy, inpatient)"))?;
            weights[idx] = weight
                .trim()
                .parse()
                .map_err(|_| format!("mix: weight {weight:?} of {name} is not a whole number"))?;
        }
        if weights.iter().all(|w| *w == 0) {
            return Err("mix: at least one kind needs a weight above 0".to_owned());
        }
        Ok(Mix { weights })
    }
}

/// How often the simulator misbehaves like a real HIS, in permille of chains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chaos {
    /// Settlements reversed afterwards (2208/2305).
    pub reversal_permille: u32,
    /// Settlements whose request is resent with the same msgid (the answer must be identical).
    pub retry_permille: u32,
    /// Settlements undone by 2601 冲正.
    pub revs_permille: u32,
    /// Chains that also send a hostile request (each must get `infcode -1` or the gateway's 401).
    pub bad_permille: u32,
    /// Chains started with 1101 (person lookup by certificate number).
    pub lookup_permille: u32,
    /// Visits at a hospital of another region (异地就医).
    pub cross_region_permille: u32,
}

impl Chaos {
    /// Realistic misbehaviour for the demo.
    pub fn realistic() -> Chaos {
        Chaos {
            reversal_permille: 30,
            retry_permille: 30,
            revs_permille: 10,
            bad_permille: 20,
            lookup_permille: 200,
            cross_region_permille: 40,
        }
    }

    /// None at all: a pure throughput run.
    pub fn none() -> Chaos {
        Chaos {
            reversal_permille: 0,
            retry_permille: 0,
            revs_permille: 0,
            bad_permille: 0,
            lookup_permille: 0,
            cross_region_permille: 0,
        }
    }
}

/// A run's settings.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// How long to send new chains.
    pub duration: Duration,
    /// Stop after this many chains (whichever comes first).
    pub visits_max: Option<u64>,
    /// Concurrent workers (each one visit chain at a time).
    pub concurrency: usize,
    /// Visit kinds.
    pub mix: Mix,
    /// Lines of every outpatient bill, instead of a random 3–15 (benchmarks use 10).
    pub outpatient_lines: Option<usize>,
    /// Misbehaviour.
    pub chaos: Chaos,
    /// Sign requests with the CSB headers.
    pub auth: bool,
    /// Random seed.
    pub seed: u64,
    /// Violations planted in general outpatient visits ([`crate::plant`]).
    pub plant: std::sync::Arc<crate::plant::Plant>,
    /// 3102 事中分析 checks sent instead of some visit chains; `None`: none.
    pub audit3102: Option<Audit3102>,
}

/// 3102 checks in the traffic: a share of the chains is one 3102 request for a registered
/// person with one encounter of `lines` orders drawn from the catalogue (a planted line in some,
/// at the plant's rates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audit3102 {
    /// Chains that are a 3102 check, permille (1,000: only 3102).
    pub permille: u32,
    /// Orders per encounter.
    pub lines: usize,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
    /// Sign-in (9001) failed for an institution: the server is not reachable or refuses it.
    #[error("9001 sign-in of {site}: {reason}")]
    SignIn {
        /// Institution code.
        site: String,
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_errors_name_the_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("3d").unwrap_err().contains("\"d\""));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("25h").is_err());
    }

    #[test]
    fn mixes_parse_and_errors_name_the_kind() {
        assert_eq!(
            "outpatient".parse::<Mix>(),
            Ok(Mix {
                weights: [1, 0, 0, 0]
            })
        );
        assert_eq!(
            "outpatient=70, pharmacy=30".parse::<Mix>(),
            Ok(Mix {
                weights: [70, 0, 30, 0]
            })
        );
        assert!("dental=5".parse::<Mix>().unwrap_err().contains("dental"));
        assert!("outpatient=x".parse::<Mix>().unwrap_err().contains("\"x\""));
        assert!("outpatient=0".parse::<Mix>().is_err());
    }

    #[test]
    fn the_default_mix_follows_the_demo_city_rates() {
        let mix = Mix::default();
        let total: u32 = mix.weights.iter().sum();
        assert_eq!(total, 100);
        // Inpatient stays are ~0.14 of ~7.7 settlements per insured per year.
        assert_eq!(mix.weights[3], 2);
    }
}
