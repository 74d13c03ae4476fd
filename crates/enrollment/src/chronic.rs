//! A region's list of chronic and special outpatient diseases (门诊慢特病) with the discharge
//! diagnoses that qualify for each, as data (`data/enrollment/chronic-diseases.csv`): what
//! [`crate::auto::on_discharge`] reads to propose a recognition for a clerk to confirm.

use crate::auto::ChronicDisease;

/// The shipped list: (name, text).
pub const CHRONIC_FILE: (&str, &str) = (
    "data/enrollment/chronic-diseases.csv",
    include_str!("../../../data/enrollment/chronic-diseases.csv"),
);

/// The header a list file starts with.
pub const CHRONIC_HEADER: &str = "admdvs,disease_code,disease_name,diagnosis_prefixes";

/// Most entries a list may hold.
pub const CHRONIC_LIST_MAX: usize = 10_000;

/// Why a list file was refused: the file, its line (the header is line 1) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: line {line}: {reason}")]
pub struct ChronicListError {
    /// The file.
    pub file: String,
    /// The line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Each region's chronic-disease list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChronicList {
    entries: Vec<(String, ChronicDisease)>,
}

impl ChronicList {
    /// The list of `admdvs`'s pooling region: the region's own entries, else its prefecture's
    /// (`xxxx00`), else its province's (`xx0000`).
    pub fn for_region(&self, admdvs: &str) -> Vec<ChronicDisease> {
        for level in crate::params::pooling_levels(admdvs) {
            let found: Vec<ChronicDisease> = self
                .entries
                .iter()
                .filter(|(region, _)| *region == level)
                .map(|(_, disease)| disease.clone())
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// Entries in the list, every region together.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads a list file: the header, then one disease per line (`admdvs` six digits, a code, a
/// name, `;`-separated diagnosis prefixes, none empty); a code twice for one region is refused.
pub fn load_chronic_list(text: &str, file: &str) -> Result<ChronicList, ChronicListError> {
    let refuse = |line: usize, reason: String| ChronicListError {
        file: file.to_owned(),
        line,
        reason,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim_start_matches('\u{feff}').trim() == CHRONIC_HEADER => {}
        _ => return Err(refuse(1, format!("the header must be `{CHRONIC_HEADER}`"))),
    }
    let mut list = ChronicList::default();
    for (idx, raw) in lines {
        let line = idx + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        let [admdvs, code, name, prefixes] = fields[..] else {
            return Err(refuse(line, format!("{} fields, 4 expected", fields.len())));
        };
        if admdvs.len() != 6 || !admdvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(line, format!("admdvs `{admdvs}` is not six digits")));
        }
        if code.is_empty() || name.is_empty() {
            return Err(refuse(
                line,
                "disease_code and disease_name are required".to_owned(),
            ));
        }
        let prefixes: Vec<String> = prefixes.split(';').map(|p| p.trim().to_owned()).collect();
        if prefixes.iter().any(String::is_empty) {
            return Err(refuse(line, "an empty diagnosis prefix".to_owned()));
        }
        if list
            .entries
            .iter()
            .any(|(r, d)| r == admdvs && d.disease_code == code)
        {
            return Err(refuse(line, format!("{code} is listed twice for {admdvs}")));
        }
        if list.entries.len() == CHRONIC_LIST_MAX {
            return Err(refuse(
                line,
                format!("more than {CHRONIC_LIST_MAX} entries"),
            ));
        }
        list.entries.push((
            admdvs.to_owned(),
            ChronicDisease {
                disease_code: code.to_owned(),
                disease_name: name.to_owned(),
                diagnosis_prefixes: prefixes,
            },
        ));
    }
    Ok(list)
}

/// The shipped list, validated.
pub fn builtin_chronic_list() -> Result<ChronicList, ChronicListError> {
    load_chronic_list(CHRONIC_FILE.1, CHRONIC_FILE.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_loads_and_a_county_reads_its_prefecture() {
        let list = builtin_chronic_list().unwrap();
        assert!(list.len() >= 6);
        let county = list.for_region("140525");
        assert!(county.iter().any(|d| d.disease_code == "I10.x00"));
        assert!(list.for_region("110100").is_empty());
    }

    #[test]
    fn bad_files_are_refused_with_their_line() {
        let head = format!("{CHRONIC_HEADER}\n");
        for (body, line, needle) in [
            ("140500,I10,高血压\n", 2, "3 fields"),
            ("1405,I10,高血压,I10\n", 2, "six digits"),
            ("140500,,高血压,I10\n", 2, "required"),
            ("140500,I10,高血压,I10;\n", 2, "empty diagnosis prefix"),
            ("140500,I10,高血压,I10\n140500,I10,高血压,I11\n", 3, "twice"),
        ] {
            let err = load_chronic_list(&format!("{head}{body}"), "t.csv").unwrap_err();
            assert_eq!(err.line, line, "{err}");
            assert!(err.reason.contains(needle), "{err}");
        }
        assert_eq!(load_chronic_list("a,b\n", "t.csv").unwrap_err().line, 1);
    }
}
