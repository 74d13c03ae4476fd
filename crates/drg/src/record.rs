//! The inpatient case the grouper reads, and its parser from one JSON object (the fields of
//! `testcases.jsonl`; other fields are ignored). Parse errors name the field.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Sex as the scheme codes it (1 male, 2 female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// 1, 男.
    Male,
    /// 2, 女.
    Female,
}

impl Sex {
    /// The scheme's numeric code.
    pub fn code(self) -> i64 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }

    /// From the scheme's numeric code; any other value is no valid sex.
    pub fn from_code(code: i64) -> Option<Sex> {
        match code {
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            _ => None,
        }
    }
}

/// One inpatient case as the grouper reads it.
///
/// Fields the validation step checks are `Option`s: a missing value is a fact about the record
/// (it groups to "信息校验不通过"), not a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseRecord {
    /// Diagnosis codes (ICD-10 医保版 2.0); element 0 is the principal diagnosis (主要诊断).
    pub diagnoses: Vec<String>,
    /// Procedure codes (ICD-9-CM-3 医保版 2.0); element 0 is the main procedure (主要手术操作).
    pub procedures: Vec<String>,
    /// Sex; `None` when absent or not 1/2.
    pub sex: Option<Sex>,
    /// Age in whole years.
    pub age_years: Option<i64>,
    /// Age in days (needed when `age_years` is 0).
    pub age_days: Option<i64>,
    /// Birth weight in grams (needed for newborns of 28 days or less).
    pub birth_weight_g: Option<i64>,
}

/// The case id of a JSON record, kept as it came (string or integer) so output can echo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseId {
    /// A JSON string.
    Text(String),
    /// A JSON integer.
    Number(i64),
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseId::Text(text) => f.write_str(text),
            CaseId::Number(number) => write!(f, "{number}"),
        }
    }
}

/// A parsed JSON line: the case id (if any) and the record.
#[derive(Clone, Default)]
pub struct CaseInput {
    /// `id`, absent when the line has none.
    pub id: Option<CaseId>,
    /// The fields the grouper reads.
    pub record: CaseRecord,
    /// Code strings a shorter list gave back, kept for a longer one, so that a stream parsed
    /// into one `CaseInput` stops allocating once it has seen its longest lists.
    spare_codes: Vec<String>,
}

/// Two inputs are equal when their ids and records are (spare strings are not part of a case).
impl PartialEq for CaseInput {
    fn eq(&self, other: &CaseInput) -> bool {
        self.id == other.id && self.record == other.record
    }
}

impl Eq for CaseInput {}

impl fmt::Debug for CaseInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseInput")
            .field("id", &self.id)
            .field("record", &self.record)
            .finish()
    }
}

/// A fresh code string is made with room for this many bytes (the longest CHS-DRG code has 18),
/// so that it is not grown again for a later, longer code.
const CODE_CAPACITY: usize = 24;

/// Makes `codes[at]` exist (taking a spare string, or a new one) and returns it emptied.
#[inline(always)]
pub(crate) fn code_slot<'a>(
    codes: &'a mut Vec<String>,
    spare: &mut Vec<String>,
    at: usize,
) -> &'a mut String {
    if at == codes.len() {
        codes.push(
            spare
                .pop()
                .unwrap_or_else(|| String::with_capacity(CODE_CAPACITY)),
        );
    }
    let code = &mut codes[at];
    code.clear();
    code
}

/// Shortens `codes` to `len`, keeping the strings it no longer needs in `spare`.
#[inline]
pub(crate) fn shorten_codes(codes: &mut Vec<String>, spare: &mut Vec<String>, len: usize) {
    if codes.len() > len {
        spare.extend(codes.drain(len..));
    }
}

/// The parts of a [`CaseInput`] a parser fills, borrowed apart.
pub(crate) fn input_parts(
    input: &mut CaseInput,
) -> (&mut Option<CaseId>, &mut CaseRecord, &mut Vec<String>) {
    (&mut input.id, &mut input.record, &mut input.spare_codes)
}

/// Why a JSON line is not a case record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The line is not one JSON object.
    #[error("not a JSON object: {0}")]
    Syntax(String),
    /// A field has a value of the wrong kind.
    #[error("field `{field}`: {reason}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
}

/// Diagnoses or procedures beyond this many make the line an error: a settlement list (结算清单)
/// carries far fewer, and the bound keeps one bad line from taking unbounded memory.
pub const CODES_PER_LIST_MAX: usize = 256;

/// An integer that may be written as a JSON integer, an integral float, a numeric string or null.
struct LenientInt(Option<i64>);

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl<'de> Visitor<'de> for IntVisitor {
            type Value = LenientInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer, a numeric string or null")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<LenientInt, E> {
                Ok(LenientInt(Some(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<LenientInt, E> {
                i64::try_from(value)
                    .map(|value| LenientInt(Some(value)))
                    .map_err(|_| E::custom(format!("{value} is too large")))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<LenientInt, E> {
                if value.fract() == 0.0 && value.abs() < 9.0e15 {
                    Ok(LenientInt(Some(value as i64)))
                } else {
                    Err(E::custom(format!("{value} is not a whole number")))
                }
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<LenientInt, E> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(LenientInt(None));
                }
                text.parse::<i64>()
                    .map(|value| LenientInt(Some(value)))
                    .map_err(|_| E::custom(format!("`{text}` is not an integer")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientInt, E> {
                Ok(LenientInt(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<LenientInt, E> {
                Ok(LenientInt(None))
            }
        }
        deserializer.deserialize_any(IntVisitor)
    }
}

/// Sex as 1/2, "1"/"2" or 男/女; any other value (or null) is no valid sex and fails validation.
struct LenientSex(Option<Sex>);

impl<'de> Deserialize<'de> for LenientSex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SexVisitor;
        impl<'de> Visitor<'de> for SexVisitor {
            type Value = LenientSex;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("1, 2 or null")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<LenientSex, E> {
                Ok(LenientSex(Sex::from_code(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<LenientSex, E> {
                Ok(LenientSex(
                    i64::try_from(value).ok().and_then(Sex::from_code),
                ))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<LenientSex, E> {
                Ok(LenientSex(if value == 1.0 {
                    Some(Sex::Male)
                } else if value == 2.0 {
                    Some(Sex::Female)
                } else {
                    None
                }))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<LenientSex, E> {
                Ok(LenientSex(match text.trim() {
                    "1" | "男" => Some(Sex::Male),
                    "2" | "女" => Some(Sex::Female),
                    _ => None,
                }))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientSex, E> {
                Ok(LenientSex(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<LenientSex, E> {
                Ok(LenientSex(None))
            }
        }
        deserializer.deserialize_any(SexVisitor)
    }
}

/// Fills a code list in place, reusing the `String`s already in it and the spare ones (a
/// streaming caller parses line after line into the same record without allocating), bounded by
/// [`CODES_PER_LIST_MAX`].
struct CodeListSeed<'a> {
    codes: &'a mut Vec<String>,
    spare: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for CodeListSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CodeListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of code strings or null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let CodeListSeed { codes, spare } = self;
        let mut n_codes = 0;
        loop {
            let slot = code_slot(codes, spare, n_codes);
            if seq.next_element_seed(CodeSeed(slot))?.is_none() {
                break;
            }
            n_codes += 1;
            if n_codes > CODES_PER_LIST_MAX {
                return Err(de::Error::custom(format!(
                    "more than {CODES_PER_LIST_MAX} codes"
                )));
            }
        }
        shorten_codes(codes, spare, n_codes);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        shorten_codes(self.codes, self.spare, 0);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        shorten_codes(self.codes, self.spare, 0);
        Ok(())
    }
}

/// One code string, written into an existing `String`.
struct CodeSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for CodeSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CodeSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a code string")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(text);
        Ok(())
    }
}

/// A case id: a string or an integer (null means none).
struct IdValue(Option<CaseId>);

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or null")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<IdValue, E> {
                Ok(IdValue(Some(CaseId::Text(text.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<IdValue, E> {
                Ok(IdValue(Some(CaseId::Number(value))))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<IdValue, E> {
                i64::try_from(value)
                    .map(|value| IdValue(Some(CaseId::Number(value))))
                    .map_err(|_| E::custom(format!("{value} is too large")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<IdValue, E> {
                Ok(IdValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<IdValue, E> {
                Ok(IdValue(None))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// The fields the grouper reads; every other key is skipped without allocating (both parsers).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Id,
    Sex,
    AgeYears,
    AgeDays,
    BirthWeightG,
    Diagnoses,
    Procedures,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "id" => Key::Id,
                    "sex" => Key::Sex,
                    "age_years" => Key::AgeYears,
                    "age_days" => Key::AgeDays,
                    "birth_weight_g" => Key::BirthWeightG,
                    "diagnoses" => Key::Diagnoses,
                    "procedures" => Key::Procedures,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Marker error text: the visitor writes `FIELD_MARK<name>FIELD_MARK<reason>` so the caller can
/// turn serde's flat message back into a [`RecordError::Field`].
const FIELD_MARK: char = '\u{1f}';

fn field_error<E: de::Error>(field: &'static str, error: impl fmt::Display) -> E {
    E::custom(format!("{FIELD_MARK}{field}{FIELD_MARK}{error}"))
}

/// Resets the id and the single-valued fields before a line overwrites a used record (the code
/// lists are overwritten in place, or cleared when the line has none).
pub(crate) fn clear_scalars(input: &mut CaseInput) {
    input.id = None;
    let record = &mut input.record;
    record.sex = None;
    record.age_years = None;
    record.age_days = None;
    record.birth_weight_g = None;
}

/// Parses a JSON object into an existing [`CaseInput`], overwriting every field.
struct CaseSeed<'a>(&'a mut CaseInput);

impl<'de> DeserializeSeed<'de> for CaseSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CaseSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with the case fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        clear_scalars(self.0);
        let (id, record, spare) = input_parts(self.0);
        let mut seen_diagnoses = false;
        let mut seen_procedures = false;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => {
                    *id = map
                        .next_value::<IdValue>()
                        .map_err(|e| field_error("id", e))?
                        .0;
                }
                Key::Sex => {
                    record.sex = map
                        .next_value::<LenientSex>()
                        .map_err(|e| field_error("sex", e))?
                        .0;
                }
                Key::AgeYears => {
                    record.age_years = map
                        .next_value::<LenientInt>()
                        .map_err(|e| field_error("age_years", e))?
                        .0;
                }
                Key::AgeDays => {
                    record.age_days = map
                        .next_value::<LenientInt>()
                        .map_err(|e| field_error("age_days", e))?
                        .0;
                }
                Key::BirthWeightG => {
                    record.birth_weight_g = map
                        .next_value::<LenientInt>()
                        .map_err(|e| field_error("birth_weight_g", e))?
                        .0;
                }
                Key::Diagnoses => {
                    map.next_value_seed(CodeListSeed {
                        codes: &mut record.diagnoses,
                        spare,
                    })
                    .map_err(|e| field_error("diagnoses", e))?;
                    seen_diagnoses = true;
                }
                Key::Procedures => {
                    map.next_value_seed(CodeListSeed {
                        codes: &mut record.procedures,
                        spare,
                    })
                    .map_err(|e| field_error("procedures", e))?;
                    seen_procedures = true;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_diagnoses {
            shorten_codes(&mut record.diagnoses, spare, 0);
        }
        if !seen_procedures {
            shorten_codes(&mut record.procedures, spare, 0);
        }
        Ok(())
    }
}

const FIELD_NAMES: [&str; 7] = [
    "id",
    "sex",
    "age_years",
    "age_days",
    "birth_weight_g",
    "diagnoses",
    "procedures",
];

fn record_error(error: serde_json::Error) -> RecordError {
    let message = error.to_string();
    let mut parts = message.splitn(3, FIELD_MARK);
    if let (Some(_), Some(field), Some(reason)) = (parts.next(), parts.next(), parts.next()) {
        if let Some(field) = FIELD_NAMES.iter().find(|name| **name == field) {
            // serde_json appends " at line L column C"; the reason reads better without it.
            let reason = match reason.rfind(" at line ") {
                Some(cut) => &reason[..cut],
                None => reason,
            };
            return RecordError::Field {
                field,
                reason: reason.to_string(),
            };
        }
    }
    RecordError::Syntax(message)
}

/// Parses one JSON object (one line of a JSONL file) into a case. Unknown fields are ignored;
/// a field of the wrong kind is an error that names it.
pub fn parse_case_json(text: &str) -> Result<CaseInput, RecordError> {
    let mut input = CaseInput::default();
    parse_case_json_into(text, &mut input)?;
    Ok(input)
}

/// Like [`parse_case_json`], but overwrites `input`, reusing its allocations: a stream parsed
/// line by line into one `CaseInput` allocates only when a line has more codes than any before.
/// After an error `input` holds a partial record and must not be grouped.
pub fn parse_case_json_into(text: &str, input: &mut CaseInput) -> Result<(), RecordError> {
    // The common, plain line without serde; anything else (and every error) through serde_json.
    if crate::record_fast::parse_simple(text, input) {
        return Ok(());
    }
    parse_case_json_serde(text, input)
}

/// [`parse_case_json_into`] through serde_json alone (the reference for the plain-line path).
#[doc(hidden)]
pub fn parse_case_json_serde(text: &str, input: &mut CaseInput) -> Result<(), RecordError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    CaseSeed(input)
        .deserialize(&mut deserializer)
        .map_err(record_error)?;
    deserializer.end().map_err(record_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_testcase_line_and_ignores_other_fields() {
        let input = parse_case_json(
            r#"{"id": "D00001", "sex": 1, "age_years": 40, "age_days": 14868, "birth_weight_g": null,
                "dept": "0402", "los_days": 19, "diagnoses": ["S62.410", "D23.506"],
                "procedures": ["81.0601"], "expected": {"status": "分组成功"}}"#,
        )
        .unwrap();
        assert_eq!(input.id, Some(CaseId::Text("D00001".into())));
        assert_eq!(
            input.record,
            CaseRecord {
                diagnoses: vec!["S62.410".into(), "D23.506".into()],
                procedures: vec!["81.0601".into()],
                sex: Some(Sex::Male),
                age_years: Some(40),
                age_days: Some(14868),
                birth_weight_g: None,
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"age_years": "forty"}"#, "age_years"),
            (r#"{"age_days": 1.5}"#, "age_days"),
            (r#"{"birth_weight_g": [1]}"#, "birth_weight_g"),
            (r#"{"diagnoses": "A00.000"}"#, "diagnoses"),
            (r#"{"procedures": [1, 2]}"#, "procedures"),
            (r#"{"id": {"x": 1}}"#, "id"),
        ];
        for (text, field) in cases {
            match parse_case_json(text) {
                Err(RecordError::Field { field: named, .. }) => assert_eq!(named, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_case_json("[1, 2]"),
            Err(RecordError::Syntax(_))
        ));
        assert!(matches!(
            parse_case_json("{\"sex\": 1"),
            Err(RecordError::Syntax(_))
        ));
    }

    #[test]
    fn parsing_into_a_used_record_overwrites_every_field() {
        let mut input = parse_case_json(
            r#"{"id": "a", "sex": 2, "age_years": 0, "age_days": 3, "birth_weight_g": 3000,
                "diagnoses": ["P07.200", "P22.000", "Q21.000"], "procedures": ["96.0401"]}"#,
        )
        .unwrap();
        let line = r#"{"age_years": 50, "diagnoses": ["I21.000"]}"#;
        parse_case_json_into(line, &mut input).unwrap();
        assert_eq!(input, parse_case_json(line).unwrap());
        assert_eq!(input.record.procedures, Vec::<String>::new());
        assert_eq!(input.id, None);
    }

    /// Lists that grow and shrink from line to line, on the plain path and through serde (an
    /// escaped code), come out as a fresh parse gives them: strings handed back by a shorter
    /// list are emptied before a longer one reuses them, whichever list takes them.
    #[test]
    fn spare_code_strings_never_leak_into_a_later_record() {
        let lines = [
            r#"{"diagnoses": ["A01.000", "B02.000", "C03.000", "D04.000"], "procedures": []}"#,
            r#"{"diagnoses": ["E05.000"], "procedures": ["01.0001", "02.0002", "03.0003"]}"#,
            r#"{"diagnoses": ["F\u0030.000", "G07.000"], "procedures": null}"#,
            r#"{"procedures": ["04.0004", "05.0005", "06.0006", "07.0007", "08.0008"]}"#,
            r#"{"diagnoses": ["H08.000", "I09.000", "J10.000"], "procedures": ["09.0009"]}"#,
            r#"{"diagnoses": ["K11.000", "L12.000", "M13.000", "N14.000", "O15.000", "P16.000"]}"#,
        ];
        let mut input = CaseInput::default();
        for round in 0..2 {
            for line in lines {
                parse_case_json_into(line, &mut input).unwrap();
                assert_eq!(
                    input,
                    parse_case_json(line).unwrap(),
                    "round {round}: {line}"
                );
            }
        }
        assert!(input
            .spare_codes
            .iter()
            .all(|code| code.capacity() >= CODE_CAPACITY));
    }

    #[test]
    fn lenient_values() {
        let input = parse_case_json(
            r#"{"id": 7, "sex": "女", "age_years": "0", "age_days": 3.0, "birth_weight_g": "",
                "diagnoses": null}"#,
        )
        .unwrap();
        assert_eq!(input.id, Some(CaseId::Number(7)));
        assert_eq!(input.record.sex, Some(Sex::Female));
        assert_eq!(input.record.age_years, Some(0));
        assert_eq!(input.record.age_days, Some(3));
        assert_eq!(input.record.birth_weight_g, None);
        assert!(input.record.diagnoses.is_empty());
        assert_eq!(parse_case_json(r#"{"sex": 3}"#).unwrap().record.sex, None);
    }
}
