//! Code maps (`diagnosis_code_map.csv`, `procedure_code_map.csv`): translate diagnosis and
//! procedure codes of other editions into the 医保版 2.0 codes the grouper reads, as an optional
//! step before grouping.

use std::collections::HashMap;

use crate::raw::CodeMapRow;
use crate::record::CaseRecord;
use crate::scheme::SchemeError;

/// The text of the two code-map files (`from_code,to_code`).
#[derive(Debug, Clone, Copy)]
pub struct CodeMapFiles<'a> {
    /// `diagnosis_code_map.csv`.
    pub diagnosis_csv: &'a str,
    /// `procedure_code_map.csv`.
    pub procedure_csv: &'a str,
}

impl CodeMapFiles<'_> {
    /// File name of [`CodeMapFiles::diagnosis_csv`] in the code directory.
    pub const DIAGNOSIS_CSV: &'static str = "diagnosis_code_map.csv";
    /// File name of [`CodeMapFiles::procedure_csv`].
    pub const PROCEDURE_CSV: &'static str = "procedure_code_map.csv";
}

/// What to do with a code that has no row in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnmappedCodes {
    /// Refuse the record, as the reference grouper does with translation on.
    #[default]
    Reject,
    /// Keep the code as it is (the map has no row for 1,856 diagnosis and 588 procedure codes
    /// of the 医保版 2.0 lists themselves).
    Keep,
}

/// A code the map cannot translate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// A diagnosis code without a row in the diagnosis map.
    #[error("diagnoses[{diagnosis_idx}]: `{code}` has no row in the diagnosis code map")]
    Diagnosis {
        /// Its position in `diagnoses`.
        diagnosis_idx: usize,
        /// The code.
        code: String,
    },
    /// A procedure code without a row in the procedure map.
    #[error("procedures[{procedure_idx}]: `{code}` has no row in the procedure code map")]
    Procedure {
        /// Its position in `procedures`.
        procedure_idx: usize,
        /// The code.
        code: String,
    },
}

impl TranslateError {
    /// The reference grouper's status string for this failure.
    pub fn status_str(&self) -> &'static str {
        match self {
            TranslateError::Diagnosis { .. } => "诊断不能转换为分组器支持的编码",
            TranslateError::Procedure { .. } => "手术操作不能转换为分组器支持的编码",
        }
    }
}

/// The loaded diagnosis and procedure maps.
#[derive(Debug, Clone, Default)]
pub struct CodeMap {
    diagnoses: HashMap<String, String>,
    procedures: HashMap<String, String>,
}

fn load_map(file: &'static str, text: &str) -> Result<HashMap<String, String>, SchemeError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let mut map = HashMap::new();
    for row in reader.deserialize::<CodeMapRow>() {
        let row = row.map_err(|source| SchemeError::Csv { file, source })?;
        if map.contains_key(&row.from_code) {
            return Err(SchemeError::Duplicate {
                file,
                kind: "from_code",
                code: row.from_code,
            });
        }
        map.insert(row.from_code, row.to_code);
    }
    Ok(map)
}

impl CodeMap {
    /// Loads both maps from their CSV text. A `from_code` listed twice is an error.
    pub fn load(files: &CodeMapFiles<'_>) -> Result<CodeMap, SchemeError> {
        Ok(CodeMap {
            diagnoses: load_map(CodeMapFiles::DIAGNOSIS_CSV, files.diagnosis_csv)?,
            procedures: load_map(CodeMapFiles::PROCEDURE_CSV, files.procedure_csv)?,
        })
    }

    /// The grouper's code for a diagnosis code, if the map has a row for it.
    pub fn diagnosis(&self, code: &str) -> Option<&str> {
        self.diagnoses.get(code).map(String::as_str)
    }

    /// The grouper's code for a procedure code, if the map has a row for it.
    pub fn procedure(&self, code: &str) -> Option<&str> {
        self.procedures.get(code).map(String::as_str)
    }

    /// The record with every code translated. Diagnoses are checked before procedures, each in
    /// list order; the first unmapped code is the error under [`UnmappedCodes::Reject`].
    pub fn translate(
        &self,
        record: &CaseRecord,
        unmapped: UnmappedCodes,
    ) -> Result<CaseRecord, TranslateError> {
        let mut diagnoses = Vec::with_capacity(record.diagnoses.len());
        for (diagnosis_idx, code) in record.diagnoses.iter().enumerate() {
            match (self.diagnosis(code), unmapped) {
                (Some(to_code), _) => diagnoses.push(to_code.to_string()),
                (None, UnmappedCodes::Keep) => diagnoses.push(code.clone()),
                (None, UnmappedCodes::Reject) => {
                    return Err(TranslateError::Diagnosis {
                        diagnosis_idx,
                        code: code.clone(),
                    })
                }
            }
        }
        let mut procedures = Vec::with_capacity(record.procedures.len());
        for (procedure_idx, code) in record.procedures.iter().enumerate() {
            match (self.procedure(code), unmapped) {
                (Some(to_code), _) => procedures.push(to_code.to_string()),
                (None, UnmappedCodes::Keep) => procedures.push(code.clone()),
                (None, UnmappedCodes::Reject) => {
                    return Err(TranslateError::Procedure {
                        procedure_idx,
                        code: code.clone(),
                    })
                }
            }
        }
        Ok(CaseRecord {
            diagnoses,
            procedures,
            ..record.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> CodeMap {
        CodeMap::load(&CodeMapFiles {
            diagnosis_csv: "from_code,to_code\nA00.000,A00.000x001\nA00.000x001,A00.000x001\n",
            procedure_csv: "from_code,to_code\n00.5500x001,00.5500x008\n",
        })
        .unwrap()
    }

    fn record(diagnoses: &[&str], procedures: &[&str]) -> CaseRecord {
        CaseRecord {
            diagnoses: diagnoses.iter().map(|code| code.to_string()).collect(),
            procedures: procedures.iter().map(|code| code.to_string()).collect(),
            ..CaseRecord::default()
        }
    }

    #[test]
    fn translates_both_lists() {
        let translated = map()
            .translate(
                &record(&["A00.000", "A00.000x001"], &["00.5500x001"]),
                UnmappedCodes::Reject,
            )
            .unwrap();
        assert_eq!(
            translated,
            record(&["A00.000x001", "A00.000x001"], &["00.5500x008"])
        );
    }

    #[test]
    fn unmapped_codes_are_rejected_or_kept() {
        let case = record(&["A00.000", "Z99.999"], &["99.9999"]);
        assert_eq!(
            map().translate(&case, UnmappedCodes::Reject),
            Err(TranslateError::Diagnosis {
                diagnosis_idx: 1,
                code: "Z99.999".into()
            })
        );
        let case = record(&["A00.000"], &["00.5500x001", "99.9999"]);
        let error = map().translate(&case, UnmappedCodes::Reject).unwrap_err();
        assert_eq!(
            error,
            TranslateError::Procedure {
                procedure_idx: 1,
                code: "99.9999".into()
            }
        );
        assert_eq!(error.status_str(), "手术操作不能转换为分组器支持的编码");
        assert_eq!(
            map().translate(&case, UnmappedCodes::Keep).unwrap(),
            record(&["A00.000x001"], &["00.5500x008", "99.9999"])
        );
    }

    #[test]
    fn duplicate_from_code_is_an_error() {
        let error = CodeMap::load(&CodeMapFiles {
            diagnosis_csv: "from_code,to_code\nA,B\nA,C\n",
            procedure_csv: "from_code,to_code\n",
        })
        .unwrap_err();
        assert!(matches!(error, SchemeError::Duplicate { code, .. } if code == "A"));
    }
}
