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
//!
//! [setl_list]
//! # A settlement list (4101A correction, 4102 status change) of a settlement made in month M
//! # changes until this day of month M+1, inclusive (1 to 28; default 10).
//! deadline_day = 10
//! ```

use serde::Deserialize;

use yibao_store::audit::AuditGate;
use yibao_store::setl_list_status::SetlListDeadline;

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
    /// `[setl_list] deadline_day`.
    pub setl_list_deadline: SetlListDeadline,
}

impl Default for InterfaceSettings {
    fn default() -> Self {
        Self {
            sign_in: SignInRule::Count,
            audit_gate: AuditGate::Warn,
            review: yibao_store::review::ReviewSettings::default(),
            setl_list_deadline: SetlListDeadline::default(),
        }
    }
}

#[derive(Deserialize)]
struct RegionFile {
    #[serde(default)]
    interface: Option<InterfaceTable>,
    #[serde(default)]
    audit: Option<AuditTable>,
    #[serde(default)]
    setl_list: Option<SetlListTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetlListTable {
    deadline_day: Option<i64>,
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
    if let Some(day) = file.setl_list.and_then(|table| table.deadline_day) {
        settings.setl_list_deadline = u32::try_from(day)
            .map_err(|_| format!("{day} is not a day from 1 to 28"))
            .and_then(SetlListDeadline::new)
            .map_err(|err| format!("setl_list.deadline_day: {err}"))?;
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
    fn setl_list_deadline_is_read_and_checked() {
        let read = |text: &str| parse_interface_settings(text).map(|s| s.setl_list_deadline.day());
        assert_eq!(read(""), Ok(10));
        assert_eq!(read("[setl_list]\ndeadline_day = 15\n"), Ok(15));
        assert_eq!(
            read("[setl_list]\ndeadline_day = 31\n"),
            Err("setl_list.deadline_day: 31 is not a day from 1 to 28".to_owned())
        );
        assert_eq!(
            read("[setl_list]\ndeadline_day = -1\n"),
            Err("setl_list.deadline_day: -1 is not a day from 1 to 28".to_owned())
        );
        assert!(read("[setl_list]\ndeadline = 5\n")
            .unwrap_err()
            .contains("deadline"));
        let demo = include_str!("../../../regions/demo.toml");
        assert_eq!(read(demo), Ok(10));
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
