//! The policies the project ships (`policies/*.toml`), compiled into the binary so the offline
//! `settle` command and the tests work from any directory.

use crate::{parse_policy, Policy, PolicyError};

/// The shipped policy files as (file name, text).
pub const BUILTIN_POLICY_FILES: &[(&str, &str)] = &[
    (
        "policies/140500-2025.toml",
        include_str!("../../../policies/140500-2025.toml"),
    ),
    (
        "policies/370200-2019.toml",
        include_str!("../../../policies/370200-2019.toml"),
    ),
    (
        "policies/371322-2023.toml",
        include_str!("../../../policies/371322-2023.toml"),
    ),
    (
        "policies/430300-2024.toml",
        include_str!("../../../policies/430300-2024.toml"),
    ),
    (
        "policies/442000-2022.toml",
        include_str!("../../../policies/442000-2022.toml"),
    ),
];

/// Every shipped policy, parsed. A shipped file that fails to parse is an error.
pub fn builtin_policies() -> Result<Vec<Policy>, PolicyError> {
    BUILTIN_POLICY_FILES
        .iter()
        .map(|(file, text)| parse_policy(file, text))
        .collect()
}

/// The shipped policy with this id (`140500-2025`), if any.
pub fn builtin_policy(id: &str) -> Option<Result<Policy, PolicyError>> {
    let file_name = format!("policies/{id}.toml");
    BUILTIN_POLICY_FILES
        .iter()
        .find(|(file, _)| *file == file_name)
        .map(|(file, text)| parse_policy(file, text))
}
