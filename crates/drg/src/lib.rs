//! `yibao-drg`: the CHS-DRG 1.1 grouper (国家医疗保障疾病诊断相关分组 CHS-DRG 分组方案 1.1 版).
//!
//! The scheme is data: [`Scheme::load`] reads the text of the scheme's tables (the project keeps
//! them in `data/chs-drg-1.1/`), checks them and compiles them into integer code sets and
//! predicate trees. [`group`] then groups one [`CaseRecord`] following the scheme README's
//! evaluation order: validate, try the MDCs in order (entry condition, then the ADRGs in order,
//! with the optional QY check), pick the first DRG whose CC/MCC split holds, and fall through to
//! the next MDC when no ADRG matches. [`GroupConfig`]'s defaults reproduce the reference grouper.
//!
//! The crate is pure: it never touches the file system or the clock. Callers read the files.
//!
//! ```
//! use yibao_drg::{group, parse_case_json, GroupConfig, Scheme, SchemeError, SchemeFiles};
//!
//! fn drg_of_one_case(files: &SchemeFiles<'_>) -> Result<String, SchemeError> {
//!     let scheme = Scheme::load(files)?;
//!     let case = parse_case_json(
//!         r#"{"sex": 1, "age_years": 40, "diagnoses": ["S62.410"], "procedures": ["81.0601"]}"#,
//!     )
//!     .expect("a well-formed line");
//!     let result = group(&case.record, &scheme, &GroupConfig::default());
//!     Ok(format!("{} {}", result.status.as_str(), result.drg_code(&scheme)))
//! }
//! ```

mod code_map;
mod codes;
mod group;
mod predicate;
mod raw;
mod record;
mod record_fast;
mod scheme;

pub use code_map::{CodeMap, CodeMapFiles, TranslateError, UnmappedCodes};
pub use group::{
    group, validate, AmbiguousCheck, CcExclusion, CcLevel, CcSource, GroupConfig, GroupResult,
    GroupStatus, InvalidReason, Trace,
};
pub use record::{
    parse_case_json, parse_case_json_into, parse_case_json_serde, CaseId, CaseInput, CaseRecord,
    RecordError, Sex, CODES_PER_LIST_MAX,
};
pub use scheme::{
    AdrgIdx, AdrgInfo, AdrgLists, DrgIdx, DrgInfo, ExclusionTable, MdcIdx, MdcInfo, OrProcedure,
    Scheme, SchemeError, SchemeFiles, Section, Split,
};
