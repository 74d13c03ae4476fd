//! The rules and knowledge shipped in `data/audit/`, compiled in so the server, the CLI and the
//! tests read the same files.

use yibao_policy::{parse_catalogue, Catalogue};

use crate::load::{load_knowledge, load_rules, LoadError};
use crate::model::{Knowledge, RuleSet};

/// The shipped rule file: (name, text).
pub const RULES_FILE: (&str, &str) = (
    "data/audit/rules.toml",
    include_str!("../../../data/audit/rules.toml"),
);

/// The shipped knowledge tables: (name, text); the table is the file stem.
pub const KNOWLEDGE_FILES: &[(&str, &str)] = &[
    (
        "data/audit/knowledge/sex_limit.csv",
        include_str!("../../../data/audit/knowledge/sex_limit.csv"),
    ),
    (
        "data/audit/knowledge/age_limit.csv",
        include_str!("../../../data/audit/knowledge/age_limit.csv"),
    ),
    (
        "data/audit/knowledge/quantity_limit.csv",
        include_str!("../../../data/audit/knowledge/quantity_limit.csv"),
    ),
    (
        "data/audit/knowledge/exclusive_pair.csv",
        include_str!("../../../data/audit/knowledge/exclusive_pair.csv"),
    ),
    (
        "data/audit/knowledge/min_interval.csv",
        include_str!("../../../data/audit/knowledge/min_interval.csv"),
    ),
    (
        "data/audit/knowledge/level_limit.csv",
        include_str!("../../../data/audit/knowledge/level_limit.csv"),
    ),
    (
        "data/audit/knowledge/dx_required.csv",
        include_str!("../../../data/audit/knowledge/dx_required.csv"),
    ),
    (
        "data/audit/knowledge/dx_excluded.csv",
        include_str!("../../../data/audit/knowledge/dx_excluded.csv"),
    ),
    (
        "data/audit/knowledge/dx_sex_limit.csv",
        include_str!("../../../data/audit/knowledge/dx_sex_limit.csv"),
    ),
    (
        "data/audit/knowledge/dx_age_limit.csv",
        include_str!("../../../data/audit/knowledge/dx_age_limit.csv"),
    ),
    (
        "data/audit/knowledge/encounter_limit.csv",
        include_str!("../../../data/audit/knowledge/encounter_limit.csv"),
    ),
    (
        "data/audit/knowledge/companion.csv",
        include_str!("../../../data/audit/knowledge/companion.csv"),
    ),
    (
        "data/audit/knowledge/days_supply.csv",
        include_str!("../../../data/audit/knowledge/days_supply.csv"),
    ),
    (
        "data/audit/knowledge/early_refill.csv",
        include_str!("../../../data/audit/knowledge/early_refill.csv"),
    ),
    (
        "data/audit/knowledge/visit_frequency.csv",
        include_str!("../../../data/audit/knowledge/visit_frequency.csv"),
    ),
    (
        "data/audit/knowledge/readmission.csv",
        include_str!("../../../data/audit/knowledge/readmission.csv"),
    ),
    (
        "data/audit/knowledge/reference_cost.csv",
        include_str!("../../../data/audit/knowledge/reference_cost.csv"),
    ),
    (
        "data/audit/knowledge/fee_share.csv",
        include_str!("../../../data/audit/knowledge/fee_share.csv"),
    ),
    (
        "data/audit/knowledge/distinct_limit.csv",
        include_str!("../../../data/audit/knowledge/distinct_limit.csv"),
    ),
    (
        "data/audit/knowledge/med_type_sex_limit.csv",
        include_str!("../../../data/audit/knowledge/med_type_sex_limit.csv"),
    ),
    (
        "data/audit/knowledge/price_limit.csv",
        include_str!("../../../data/audit/knowledge/price_limit.csv"),
    ),
];

/// The demo catalogue the shipped knowledge is checked against.
const CATALOGUE_FILE: (&str, &str) = (
    "data/catalogue-demo.csv",
    include_str!("../../../data/catalogue-demo.csv"),
);

/// The shipped rules and knowledge, loaded and validated.
#[derive(Clone, Debug)]
pub struct Builtin {
    /// The demo catalogue.
    pub catalogue: Catalogue,
    /// The knowledge tables.
    pub knowledge: Knowledge,
    /// The rules.
    pub rules: RuleSet,
}

/// Loads the shipped files; an error names the file, the row and the reason.
pub fn builtin() -> Result<Builtin, LoadError> {
    let catalogue =
        parse_catalogue(CATALOGUE_FILE.0, CATALOGUE_FILE.1).map_err(|err| LoadError {
            file: err.file.clone(),
            row: format!("line {}", err.line),
            reason: format!("{}: {}", err.column, err.reason),
        })?;
    let knowledge = load_knowledge(KNOWLEDGE_FILES, &catalogue)?;
    let rules = load_rules(RULES_FILE.0, RULES_FILE.1, &knowledge)?;
    Ok(Builtin {
        catalogue,
        knowledge,
        rules,
    })
}
