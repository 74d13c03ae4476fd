//! The scheme files as they are written (serde shapes of `mdc.json`, `adrg.json`, `mcc_cc.json`,
//! `exclusions.json` and the two CSVs). Nothing here is used after [`crate::Scheme::load`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// A JSON object read with its keys in file order (the scheme gives meaning to that order:
/// "a code's class is the first class listing it").
#[derive(Debug)]
pub(crate) struct Ordered<V>(pub(crate) Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

/// `mdc.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct MdcFile {
    pub(crate) mdc_order: Vec<String>,
    pub(crate) mdcs: Vec<RawMdc>,
}

/// One MDC of `mdc.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawMdc {
    pub(crate) mdc: String,
    pub(crate) entry_condition: RawPred,
    pub(crate) adrg_order: Vec<String>,
    pub(crate) ambiguous_group_check: Option<RawQy>,
    #[serde(default)]
    pub(crate) principal_diagnoses: Vec<String>,
    #[serde(default)]
    pub(crate) trauma_regions: Option<Ordered<Vec<String>>>,
}

/// The QY (歧义组) check of one MDC.
#[derive(Debug, Deserialize)]
pub(crate) struct RawQy {
    pub(crate) enabled: bool,
    pub(crate) position_after: Option<String>,
    pub(crate) condition: RawPred,
    pub(crate) result_code: String,
}

/// A predicate of the scheme's closed vocabulary.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum RawPred {
    True,
    All {
        args: Vec<RawPred>,
    },
    Any {
        args: Vec<RawPred>,
    },
    Not {
        arg: Box<RawPred>,
    },
    PrincipalDxIn {
        list: String,
    },
    AnyDxIn {
        list: String,
    },
    MainProcedureIn {
        list: Option<String>,
        table: Option<String>,
    },
    AnyProcedureIn {
        list: Option<String>,
        table: Option<String>,
    },
    ProcedureClassPresent {
        class: String,
    },
    Cmp {
        field: String,
        cmp: String,
        value: i64,
    },
    DistinctTraumaRegionsGe {
        value: u32,
    },
}

/// `adrg.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct AdrgFile {
    pub(crate) adrgs: Vec<RawAdrg>,
}

/// One ADRG of `adrg.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawAdrg {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) name: String,
    pub(crate) mdc: String,
    pub(crate) section: String,
    #[serde(default)]
    pub(crate) rule_text: String,
    pub(crate) condition: RawPred,
    #[serde(default)]
    pub(crate) lists: RawLists,
    pub(crate) drgs: Vec<RawDrg>,
}

/// The code lists an ADRG's condition refers to by name.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLists {
    #[serde(default)]
    pub(crate) diagnoses: Vec<String>,
    #[serde(default)]
    pub(crate) procedures: Vec<String>,
    #[serde(default)]
    pub(crate) procedures2: Vec<String>,
    #[serde(default)]
    pub(crate) procedure_classes: Option<Ordered<Vec<String>>>,
}

/// One DRG of an ADRG.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDrg {
    pub(crate) code: String,
    pub(crate) split: String,
}

/// `mcc_cc.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct MccCcFile {
    pub(crate) mcc: Ordered<String>,
    pub(crate) cc: Ordered<String>,
}

/// `exclusions.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct ExclusionsFile {
    pub(crate) principal_dx_table: Ordered<String>,
}

/// A row of `drg_names.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct DrgNameRow {
    pub(crate) drg: String,
    pub(crate) adrg: String,
    pub(crate) mdc: String,
    pub(crate) suffix: String,
    pub(crate) split: String,
    pub(crate) name: String,
}

/// A row of `or_procedures.csv`, and of the code maps' `from_code,to_code` files.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeNameRow {
    pub(crate) code: String,
    pub(crate) name: String,
}

/// A row of `diagnosis_code_map.csv` / `procedure_code_map.csv`.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeMapRow {
    pub(crate) from_code: String,
    pub(crate) to_code: String,
}
