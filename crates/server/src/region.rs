//! The interface's settings in a region file (`regions/*.toml`): its `[interface]` table. The
//! file's other tables belong to DRG/DIP payment (`docs/DRG-PAYMENT.md`) and are not read here.
//!
//! ```toml
//! [interface]
//! # "require": refuse a message without an open sign-in (9001) of the day;
//! # "count": serve it and count it (the default when the table or the key is absent).
//! sign_in = "count"
//!
//! [audit]
//! # What a severity-1 (明确违规) smart-audit finding on a bill does at settlement:
//! # "refuse" the settlement, or "warn": settle and record it (the default).
//! severity_1 = "warn"
//! # Days after 初审 within which an institution may appeal (申诉) a case (default 10).
//! appeal_days = 10
//! ```

use serde::Deserialize;

use yibao_store::audit::AuditGate;

use crate::SignInRule;

/// What a region file sets for the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceSettings {
    /// `[interface] sign_in`.
    pub sign_in: SignInRule,
    /// `[audit] severity_1`.
    pub audit_gate: AuditGate,
    /// `[audit] appeal_days`.
    pub review: yibao_store::review::ReviewSettings,
}

impl Default for InterfaceSettings {
    fn default() -> Self {
        Self {
            sign_in: SignInRule::Count,
            audit_gate: AuditGate::Warn,
            review: yibao_store::review::ReviewSettings::default(),
        }
    }
}

#[derive(Deserialize)]
struct RegionFile {
    #[serde(default)]
    interface: Option<InterfaceTable>,
    #[serde(default)]
    audit: Option<AuditTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditTable {
    severity_1: Option<String>,
    appeal_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfaceTable {
    sign_in: Option<String>,
}

/// Reads the `[interface]` and `[audit]` tables of a region file's text; an error names the key.
pub fn parse_interface_settings(text: &str) -> Result<InterfaceSettings, String> {
    let file: RegionFile = toml::from_str(text).map_err(|err| format!("region file: {err}"))?;
    let mut settings = InterfaceSettings::default();
    if let Some(audit) = file.audit {
        if let Some(gate) = audit.severity_1 {
            settings.audit_gate = AuditGate::parse(&gate).ok_or_else(|| {
                format!("audit.severity_1: `{gate}` is not \"refuse\" or \"warn\"")
            })?;
        }
        if let Some(days) = audit.appeal_days {
            settings.review.appeal_days = u32::try_from(days)
                .ok()
                .filter(|days| (1..=365).contains(days))
                .ok_or_else(|| format!("audit.appeal_days: {days} is not 1 to 365 days"))?;
        }
    }
    if let Some(sign_in) = file.interface.and_then(|table| table.sign_in) {
        settings.sign_in = match sign_in.as_str() {
            "require" => SignInRule::Require,
            "count" => SignInRule::Count,
            other => {
                return Err(format!(
                    "interface.sign_in: `{other}` is not \"require\" or \"count\""
                ))
            }
        };
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_rule_is_read_and_checked() {
        let read = |text: &str| parse_interface_settings(text).map(|s| s.sign_in);
        assert_eq!(read("[region]\nname = \"x\"\n"), Ok(SignInRule::Count));
        assert_eq!(
            read("[interface]\nsign_in = \"require\"\n"),
            Ok(SignInRule::Require)
        );
        assert_eq!(
            read("[interface]\nsign_in = \"count\"\n"),
            Ok(SignInRule::Count)
        );
        assert_eq!(
            read("[interface]\nsign_in = \"strict\"\n"),
            Err("interface.sign_in: `strict` is not \"require\" or \"count\"".to_owned())
        );
        assert!(read("[interface]\nsignin = \"count\"\n")
            .unwrap_err()
            .contains("signin"));
    }

    #[test]
    fn audit_gate_is_read_and_checked() {
        let read = |text: &str| parse_interface_settings(text).map(|s| s.audit_gate);
        assert_eq!(read(""), Ok(AuditGate::Warn));
        assert_eq!(
            read("[audit]\nseverity_1 = \"refuse\"\n"),
            Ok(AuditGate::Refuse)
        );
        assert_eq!(
            read("[audit]\nseverity_1 = \"warn\"\n"),
            Ok(AuditGate::Warn)
        );
        assert_eq!(
            read("[audit]\nseverity_1 = \"block\"\n"),
            Err("audit.severity_1: `block` is not \"refuse\" or \"warn\"".to_owned())
        );
        let days = |text: &str| parse_interface_settings(text).map(|s| s.review.appeal_days);
        assert_eq!(days(""), Ok(10));
        assert_eq!(days("[audit]\nappeal_days = 15\n"), Ok(15));
        assert_eq!(
            days("[audit]\nappeal_days = 0\n"),
            Err("audit.appeal_days: 0 is not 1 to 365 days".to_owned())
        );
    }

    #[test]
    fn the_demo_region_file_counts() {
        let text = include_str!("../../../regions/demo.toml");
        assert_eq!(
            parse_interface_settings(text).map(|s| s.sign_in),
            Ok(SignInRule::Count)
        );
    }
}
