//! The policy loader on hostile input: random edits of a valid policy file (bytes changed,
//! dropped or repeated, values swapped for other values) never panic, and every refusal names
//! the file. Values outside their ranges are refused, never clamped.

use proptest::prelude::*;
use yibao_policy::{parse_policy, PolicyError};

const BASE: &str = include_str!("../../settlement/tests/fixtures/policies/990100-2025.toml");

/// Values a policy file might hold by mistake.
const VALUES: &[&str] = &[
    "\"-1\"",
    "\"1.0000001\"",
    "\"99999999999999999999\"",
    "0.5",
    "\"\"",
    "[]",
    "{}",
    "\"0\"",
    "\"1e3\"",
    "\"NaN\"",
    "true",
    "\"E99-E10\"",
    "\"herbal\"",
    "\"999998\"",
    "\"3\"",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn byte_edits_never_panic(offset in 0usize..BASE.len(), byte in any::<u8>(), cut in 0usize..40) {
        let mut bytes = BASE.as_bytes().to_vec();
        bytes[offset] = byte;
        let end = (offset + cut).min(bytes.len());
        bytes.drain(offset..end);
        let text = String::from_utf8_lossy(&bytes);
        if let Err(error) = parse_policy("f.toml", &text) {
            match error {
                PolicyError::Syntax { file, .. } | PolicyError::Invalid { file, .. } => prop_assert_eq!(file, "f.toml"),
            }
        }
    }

    #[test]
    fn swapped_values_are_refused_or_valid(occurrence in 0usize..200, value_idx in 0usize..VALUES.len()) {
        // Replace the n-th quoted value after an `=` with a hostile one.
        let positions: Vec<usize> = BASE.match_indices("= \"").map(|(idx, _)| idx + 2).collect();
        let start = positions[occurrence % positions.len()];
        let end = start + 1 + BASE[start + 1..].find('"').expect("closing quote") + 1;
        let text = format!("{}{}{}", &BASE[..start], VALUES[value_idx], &BASE[end..]);
        match parse_policy("f.toml", &text) {
            Ok(policy) => {
                // Whatever loaded still keeps every ratio row within [0, 1].
                for scheme in &policy.schemes {
                    if let Some(inpatient) = &scheme.inpatient {
                        prop_assert!(inpatient.ratios.highest_reach().0 <= 1_000_000);
                    }
                }
            }
            Err(error) => prop_assert!(error.to_string().starts_with("f.toml: ")),
        }
    }
}
