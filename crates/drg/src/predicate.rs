//! Compiled predicates: the scheme's closed vocabulary with every list reference resolved to a
//! [`crate::codes::CodeSet`] and every field to an enum, evaluated against interned case codes.

use crate::scheme::{DxInfo, Scheme};

/// Index of a compiled code set in the scheme's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetIdx(pub(crate) u32);

/// A record field a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Sex,
    AgeYears,
    AgeDays,
    BirthWeightG,
}

impl Field {
    pub(crate) fn parse(name: &str) -> Option<Field> {
        match name {
            "sex" => Some(Field::Sex),
            "age_years" => Some(Field::AgeYears),
            "age_days" => Some(Field::AgeDays),
            "birth_weight_g" => Some(Field::BirthWeightG),
            _ => None,
        }
    }
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub(crate) fn parse(name: &str) -> Option<CmpOp> {
        match name {
            "lt" => Some(CmpOp::Lt),
            "le" => Some(CmpOp::Le),
            "gt" => Some(CmpOp::Gt),
            "ge" => Some(CmpOp::Ge),
            "eq" => Some(CmpOp::Eq),
            "ne" => Some(CmpOp::Ne),
            _ => None,
        }
    }

    #[inline]
    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
        }
    }
}

/// A compiled predicate. `procedure_class_present` compiles to [`Pred::AnyProcedureIn`] over the
/// codes whose first class is that class.
#[derive(Debug)]
pub(crate) enum Pred {
    True,
    All(Box<[Pred]>),
    Any(Box<[Pred]>),
    Not(Box<Pred>),
    PrincipalDxIn(SetIdx),
    AnyDxIn(SetIdx),
    MainProcedureIn(SetIdx),
    AnyProcedureIn(SetIdx),
    Cmp { field: Field, op: CmpOp, value: i64 },
    TraumaRegionsGe(u32),
}

/// A case as the predicates see it: codes as interned ids, numbers as they came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaseView<'a> {
    /// Diagnosis ids; element 0 is the principal diagnosis. Never empty.
    pub(crate) dx: &'a [u32],
    /// Procedure ids; element 0 is the main procedure.
    pub(crate) px: &'a [u32],
    pub(crate) sex: Option<i64>,
    pub(crate) age_years: Option<i64>,
    pub(crate) age_days: Option<i64>,
    pub(crate) birth_weight_g: Option<i64>,
}

/// Evaluation switches that depend on where a predicate sits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EvalMode {
    /// `main_procedure_in` looks at every procedure, not just element 0.
    pub(crate) main_procedure_any_position: bool,
}

impl Pred {
    pub(crate) fn eval(&self, scheme: &Scheme, case: &CaseView<'_>, mode: EvalMode) -> bool {
        match self {
            Pred::True => true,
            Pred::All(args) => args.iter().all(|arg| arg.eval(scheme, case, mode)),
            Pred::Any(args) => args.iter().any(|arg| arg.eval(scheme, case, mode)),
            Pred::Not(arg) => !arg.eval(scheme, case, mode),
            Pred::PrincipalDxIn(set) => scheme.set(*set).contains(case.dx[0]),
            Pred::AnyDxIn(set) => scheme.set(*set).contains_any(case.dx),
            Pred::MainProcedureIn(set) => {
                if mode.main_procedure_any_position {
                    scheme.set(*set).contains_any(case.px)
                } else {
                    case.px
                        .first()
                        .is_some_and(|&id| scheme.set(*set).contains(id))
                }
            }
            Pred::AnyProcedureIn(set) => scheme.set(*set).contains_any(case.px),
            Pred::Cmp { field, op, value } => {
                let left = match field {
                    Field::Sex => case.sex,
                    Field::AgeYears => case.age_years,
                    Field::AgeDays => case.age_days,
                    // The reference treats a birth weight of 0 as absent.
                    Field::BirthWeightG => case.birth_weight_g.filter(|&grams| grams != 0),
                };
                left.is_some_and(|left| op.holds(left, *value))
            }
            Pred::TraumaRegionsGe(needed) => {
                let mut regions = 0u32;
                for &id in case.dx {
                    if let Some(info) = dx_info(scheme, id) {
                        if info.trauma_region != u8::MAX {
                            regions |= 1 << info.trauma_region;
                        }
                    }
                }
                regions.count_ones() >= *needed
            }
        }
    }
}

/// The scheme's facts about a diagnosis id, `None` for a code the scheme does not know.
#[inline]
pub(crate) fn dx_info(scheme: &Scheme, id: u32) -> Option<&DxInfo> {
    scheme.dx_info.get(id as usize)
}
