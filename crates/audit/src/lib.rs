//! Smart audit (智能审核): rule records and effective-dated, region-scoped knowledge tables as
//! data, and the executors that check an audit input against them. Pure: values in, findings
//! out; no I/O, no clock. Reference: `spec/smart-audit.md` §3 and §5.

mod builtin;
mod encounter;
mod load;
mod model;
pub mod review;
mod run;

pub use builtin::{builtin, Builtin, KNOWLEDGE_FILES, RULES_FILE};
pub use load::{
    load_knowledge, load_rules, LoadError, ENTRIES_MAX, RULES_MAX, SCENES, SCOPE_COLUMNS,
    TAG_COLUMN,
};
pub use model::*;
pub use run::{age_years, audit};
