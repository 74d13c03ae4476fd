//! A region's `[funds]` settings (region file, `regions/demo.toml`): how its month end pays.
//!
//! ```toml
//! [funds]
//! method = "drg"                # inpatient cases at hospitals: "drg", "dip" or "ffs"
//! holdback = "0.05"             # 质量保证金: share of each month's payment withheld to the year end
//! late_settlements = "carry"    # a settlement of a month already paid goes to the next run;
//!                               # "refuse": the interface refuses it (the month is closed)
//! pay_within_working_days = 20  # the bureau pays within this many working days of the month end
//! ```

use serde::Deserialize;

use crate::FundsError;

/// How a region pays inpatient cases at its hospitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// By CHS-DRG points (点数法) on the settlement lists hospitals upload.
    Drg,
    /// By DIP scores (按病种分值) on the same lists.
    Dip,
    /// Fee for service only: what settlement paid.
    Ffs,
}

impl Method {
    /// The code stored with a run (`drg`, `dip`, `ffs`).
    pub fn code(self) -> &'static str {
        match self {
            Method::Drg => "drg",
            Method::Dip => "dip",
            Method::Ffs => "ffs",
        }
    }
}

/// What happens to a settlement dated in a month whose payment run is already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateSettlements {
    /// It is paid by the next month's run.
    Carry,
    /// The interface refuses it: once a month's run is approved, a settlement or reversal dated
    /// in that month is refused (`setl_date`) and writes nothing.
    Refuse,
}

impl LateSettlements {
    /// The code stored with a run (`carry`, `refuse`).
    pub fn code(self) -> &'static str {
        match self {
            LateSettlements::Carry => "carry",
            LateSettlements::Refuse => "refuse",
        }
    }
}

/// The region's month-end settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsConfig {
    /// How inpatient cases are paid.
    pub method: Method,
    /// Quality-guarantee holdback (质量保证金) in ppm of the month's local fund payment.
    pub holdback_ppm: i64,
    /// Late settlements: carried or refused.
    pub late_settlements: LateSettlements,
    /// Working days after the month end within which payment is due.
    pub pay_within_working_days: u32,
}

impl Default for FundsConfig {
    /// DRG, no holdback, late settlements carried, 20 working days (Zhongshan's rule).
    fn default() -> Self {
        FundsConfig {
            method: Method::Drg,
            holdback_ppm: 0,
            late_settlements: LateSettlements::Carry,
            pay_within_working_days: 20,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    method: Option<String>,
    holdback: Option<String>,
    late_settlements: Option<String>,
    pay_within_working_days: Option<u32>,
}

fn bad(field: &str, reason: impl Into<String>) -> FundsError {
    FundsError::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Reads the `[funds]` table of a region file's text (other tables are not looked at); a file
/// without one gets [`FundsConfig::default`]. Every error names the key.
pub fn parse_funds(text: &str) -> Result<FundsConfig, FundsError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| bad("", e.to_string()))?;
    let Some(funds) = table.get("funds") else {
        return Ok(FundsConfig::default());
    };
    let raw: Raw = funds
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| bad("", e.message().to_string()))?;
    let mut config = FundsConfig::default();
    if let Some(m) = raw.method {
        config.method = match m.as_str() {
            "drg" => Method::Drg,
            "dip" => Method::Dip,
            "ffs" => Method::Ffs,
            other => return Err(bad("method", format!("{other:?} is not drg, dip or ffs"))),
        };
    }
    if let Some(h) = raw.holdback {
        let ppm = yibao_drg_payment::region::parse_ppm("funds.holdback", &h)
            .map_err(|e| bad("holdback", e.to_string()))?;
        if !(0..=200_000).contains(&ppm) {
            return Err(bad("holdback", format!("{h} is not between 0 and 0.2")));
        }
        config.holdback_ppm = ppm;
    }
    if let Some(l) = raw.late_settlements {
        config.late_settlements = match l.as_str() {
            "carry" => LateSettlements::Carry,
            "refuse" => LateSettlements::Refuse,
            other => {
                return Err(bad(
                    "late_settlements",
                    format!("{other:?} is not carry or refuse"),
                ))
            }
        };
    }
    if let Some(d) = raw.pay_within_working_days {
        if !(1..=60).contains(&d) {
            return Err(bad(
                "pay_within_working_days",
                format!("{d} is not 1 to 60"),
            ));
        }
        config.pay_within_working_days = d;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_names_bad_keys() {
        let c = parse_funds(
            "[funds]\nmethod = \"dip\"\nholdback = \"0.05\"\nlate_settlements = \"carry\"\npay_within_working_days = 15\n[drg]\nx = 1\n",
        )
        .unwrap();
        assert_eq!(c.method, Method::Dip);
        assert_eq!(c.holdback_ppm, 50_000);
        assert_eq!(c.late_settlements, LateSettlements::Carry);
        assert_eq!(c.pay_within_working_days, 15);
        let refuse = parse_funds("[funds]\nlate_settlements = \"refuse\"\n").unwrap();
        assert_eq!(refuse.late_settlements, LateSettlements::Refuse);
        assert_eq!(refuse.late_settlements.code(), "refuse");
        assert_eq!(
            parse_funds("[region]\nname = \"x\"\n").unwrap(),
            FundsConfig::default()
        );
        for (text, field) in [
            ("[funds]\nmethod = \"fee\"\n", "funds.method"),
            ("[funds]\nholdback = \"0.5\"\n", "funds.holdback"),
            ("[funds]\nholdback = \"abc\"\n", "funds.holdback"),
            (
                "[funds]\nlate_settlements = \"drop\"\n",
                "funds.late_settlements",
            ),
            (
                "[funds]\npay_within_working_days = 0\n",
                "funds.pay_within_working_days",
            ),
        ] {
            let e = parse_funds(text).unwrap_err().to_string();
            assert!(e.starts_with(field), "{text}: {e}");
        }
        assert!(parse_funds("[funds]\nholdbak = \"0.05\"\n")
            .unwrap_err()
            .to_string()
            .contains("holdbak"));
    }

    #[test]
    fn the_demo_region_file_has_a_funds_table() {
        let text = include_str!("../../../regions/demo.toml");
        let c = parse_funds(text).unwrap();
        assert_eq!(c.method, Method::Drg);
        assert!(c.holdback_ppm > 0);
    }
}
