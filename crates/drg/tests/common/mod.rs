//! Shared by the integration tests: the project's own copy of the scheme, loaded once.

use std::path::PathBuf;
use std::sync::OnceLock;

use yibao_drg::{Scheme, SchemeFiles};

/// The project's `data/` directory.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn read(dir: &str, name: &str) -> String {
    let path = data_dir().join(dir).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The text of a file in `data/chs-drg-1.1/`.
pub fn scheme_file(name: &str) -> String {
    read("chs-drg-1.1", name)
}

/// The text of a file in `data/codes/`.
#[allow(dead_code)]
pub fn codes_file(name: &str) -> String {
    read("codes", name)
}

/// The CHS-DRG 1.1 scheme, loaded once per test binary.
pub fn scheme() -> &'static Scheme {
    static SCHEME: OnceLock<Scheme> = OnceLock::new();
    SCHEME.get_or_init(|| {
        let texts: Vec<String> = [
            SchemeFiles::MDC_JSON,
            SchemeFiles::ADRG_JSON,
            SchemeFiles::MCC_CC_JSON,
            SchemeFiles::EXCLUSIONS_JSON,
            SchemeFiles::DRG_NAMES_CSV,
            SchemeFiles::OR_PROCEDURES_CSV,
        ]
        .iter()
        .map(|name| scheme_file(name))
        .collect();
        Scheme::load(&SchemeFiles {
            mdc_json: &texts[0],
            adrg_json: &texts[1],
            mcc_cc_json: &texts[2],
            exclusions_json: &texts[3],
            drg_names_csv: &texts[4],
            or_procedures_csv: &texts[5],
        })
        .expect("the project's CHS-DRG 1.1 scheme loads")
    })
}
