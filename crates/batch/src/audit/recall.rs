//! Recall on planted cases: a generator that plants each model's pattern in chosen institutions
//! and persons writes them beside the export (`_planted.json`); a run reports, per rule, how
//! many of its planted cases it found and how many other hits it made. An export without the
//! file has no planted cases: recall is "n/a" and the run is otherwise the same.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BatchFinding, BatchReport};
use crate::error::BatchError;

/// The planted-cases file in an export directory.
pub const PLANTED_FILE: &str = "_planted.json";

/// The planted-cases file's `format`.
pub const PLANTED_FORMAT: &str = "yibao-planted-cases";

/// One planted case: the rule that must find it and what identifies the hit; an empty field
/// matches any value (an institution-level model names only the institution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantedCase {
    /// The rule or model.
    pub rule_id: String,
    /// The institution of the hit.
    pub fixmedins_code: String,
    /// The person's export pseudonym, or empty.
    #[serde(default)]
    pub psn_pseudonym: String,
    /// The flagged settlement, or empty.
    #[serde(default)]
    pub setl_id: String,
    /// The hit's code (a department, a drug, a diagnosis), or empty.
    #[serde(default)]
    pub code: String,
}

impl PlantedCase {
    /// Whether `finding` is this case's hit.
    pub fn matches(&self, finding: &BatchFinding) -> bool {
        let same = |want: &str, got: &str| want.is_empty() || want == got;
        self.rule_id == finding.rule_id
            && same(&self.fixmedins_code, &finding.fixmedins_code)
            && same(&self.psn_pseudonym, &finding.psn_pseudonym)
            && same(&self.setl_id, &finding.setl_id)
            && same(&self.code, finding.code.as_deref().unwrap_or(""))
    }
}

/// The planted-cases file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantedFile {
    /// Always [`PLANTED_FORMAT`].
    pub format: String,
    /// The cases.
    pub cases: Vec<PlantedCase>,
}

/// Reads the planted cases of the export at `dir`: `None` when it has none; a file that is not
/// a planted-cases file is an error naming it.
pub fn read_planted(dir: &Path) -> Result<Option<Vec<PlantedCase>>, BatchError> {
    let path = dir.join(PLANTED_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BatchError::io(&path)(e)),
    };
    let file: PlantedFile = serde_json::from_str(&text)
        .map_err(|e| BatchError::file(&path, format!("not a planted-cases file: {e}")))?;
    if file.format != PLANTED_FORMAT {
        return Err(BatchError::file(
            &path,
            format!("format is `{}`, not `{PLANTED_FORMAT}`", file.format),
        ));
    }
    Ok(Some(file.cases))
}

/// Writes the planted cases beside an export (a temporary name, then renamed).
pub fn write_planted(dir: &Path, cases: &[PlantedCase]) -> Result<(), BatchError> {
    let file = PlantedFile {
        format: PLANTED_FORMAT.to_owned(),
        cases: cases.to_vec(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("planted cases serialize");
    text.push('\n');
    let path = dir.join(PLANTED_FILE);
    let temporary = dir.join(format!(".{PLANTED_FILE}.tmp-{}", std::process::id()));
    std::fs::write(&temporary, text).map_err(BatchError::io(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(BatchError::io(&path))
}

/// One rule's recall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRecall {
    /// The rule.
    pub rule_id: String,
    /// Its planted cases.
    pub planted: usize,
    /// How many of them a finding matched.
    pub found: usize,
    /// Its findings that match no planted case.
    pub other_hits: usize,
}

impl RuleRecall {
    /// Recall in whole per cent, `None` ("n/a") without planted cases.
    pub fn percent(&self) -> Option<usize> {
        (self.planted > 0).then(|| self.found * 100 / self.planted)
    }
}

/// Per rule of the run, in its order: the planted cases found and the other hits.
pub fn recall(report: &BatchReport, planted: &[PlantedCase]) -> Vec<RuleRecall> {
    report
        .rules
        .iter()
        .map(|rule| {
            let id = rule.rule.rule_id;
            let cases: Vec<&PlantedCase> = planted.iter().filter(|c| c.rule_id == id).collect();
            RuleRecall {
                rule_id: id.to_owned(),
                planted: cases.len(),
                found: cases
                    .iter()
                    .filter(|c| rule.findings.iter().any(|f| c.matches(f)))
                    .count(),
                other_hits: rule
                    .findings
                    .iter()
                    .filter(|f| !cases.iter().any(|c| c.matches(f)))
                    .count(),
            }
        })
        .collect()
}
