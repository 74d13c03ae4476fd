//! The simulated city: the registry files of a small generated city (with the shipped policies
//! carried forward to today's year and the demo catalogue), and the hospital simulator's view of
//! it (patients, institutions and priced items) from `yibao-loadgen`.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use yibao_city::CityConfig;
use yibao_loadgen::{Item, Population};

use crate::SimError;

/// Writes the registry of a city of `persons` persons generated from `seed` into `dir`, as of
/// `today`, and returns who the simulated hospitals can bring in.
pub fn write_city(
    dir: &Path,
    persons: u64,
    seed: u64,
    today: NaiveDate,
) -> Result<Population, SimError> {
    let config = CityConfig::new(persons, seed, today);
    config
        .validate()
        .map_err(|e| SimError::setup(format!("city: {e}")))?;
    yibao_city::write::write_registry(dir, &config)
        .map_err(|e| SimError::setup(format!("writing the registry: {e}")))?;
    let catalogue = yibao_policy::demo_catalogue(seed);
    let csv = yibao_policy::write_catalogue_csv(&catalogue)
        .map_err(|e| SimError::setup(format!("catalogue: {e}")))?;
    std::fs::write(dir.join("catalogue.csv"), csv)
        .map_err(|e| SimError::setup(format!("writing catalogue.csv: {e}")))?;
    write_policies(dir, today)?;
    let items = catalogue.iter().map(Item::from_catalogue).collect();
    Population::from_city(&config, items).map_err(|e| SimError::setup(format!("population: {e}")))
}

/// Writes the shipped policies into `dir/policies/`, each also carried forward to `today`'s year
/// (the reference policies are for a past year and the server settles at today's date).
fn write_policies(dir: &Path, today: NaiveDate) -> Result<(), SimError> {
    let policies = dir.join("policies");
    let io = |e: std::io::Error| SimError::setup(format!("writing the policies: {e}"));
    std::fs::create_dir_all(&policies).map_err(io)?;
    let year = today.year();
    for (file, text) in yibao_policy::builtin::BUILTIN_POLICY_FILES {
        let name = Path::new(file)
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| SimError::setup(format!("policy file name {file}")))?;
        std::fs::write(policies.join(name), text).map_err(io)?;
        let id = name.trim_end_matches(".toml");
        let Some((admdvs, policy_year)) = id.split_once('-') else {
            continue;
        };
        if policy_year == year.to_string() {
            continue;
        }
        let carried = text
            .replace(
                &format!("id = \"{id}\""),
                &format!("id = \"{admdvs}-{year}\""),
            )
            .replace(
                &format!("effective_from = \"{policy_year}-"),
                &format!("effective_from = \"{year}-"),
            )
            .replace(
                &format!("effective_until = \"{policy_year}-"),
                &format!("effective_until = \"{year}-"),
            );
        std::fs::write(policies.join(format!("{admdvs}-{year}.toml")), carried).map_err(io)?;
    }
    Ok(())
}
