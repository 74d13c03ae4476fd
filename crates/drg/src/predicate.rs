//! Compiled predicates: the scheme's closed vocabulary with every list reference resolved to a
//! set id and every field to an enum, evaluated against the looked-up facts of a case's codes.

use crate::codes::Facts;

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

/// A necessary condition of a [`Pred`], tested before it: one code-list membership, without the
/// recursion of a full evaluation. Grouping tries most MDCs and many ADRGs that fail on their
/// principal diagnosis or main procedure, so most are turned down by their guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Nothing cheap is known: evaluate the predicate.
    Open,
    /// The principal diagnosis must be in the set.
    PrincipalDxIn(SetIdx),
    /// The main procedure (in any-position mode: some procedure) must be in the set.
    MainProcedureIn(SetIdx),
}

impl Guard {
    /// False only when the predicate it was taken from is false for `case` in `mode`.
    #[inline(always)]
    pub(crate) fn admits(self, case: &CaseView<'_>, mode: EvalMode) -> bool {
        match self {
            Guard::Open => true,
            Guard::PrincipalDxIn(set) => case.dx[0].in_set(set.0),
            Guard::MainProcedureIn(set) => {
                if mode.main_procedure_any_position {
                    case.px.iter().any(|code| code.in_set(set.0))
                } else {
                    case.px.first().is_some_and(|code| code.in_set(set.0))
                }
            }
        }
    }
}

/// A case as the predicates see it: each code's facts, numbers as they came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CaseView<'a> {
    /// Diagnoses; element 0 is the principal diagnosis. Never empty.
    pub(crate) dx: &'a [Facts<'a>],
    /// Procedures; element 0 is the main procedure.
    pub(crate) px: &'a [Facts<'a>],
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
    /// A necessary condition of this predicate: itself when it is a principal-diagnosis or
    /// main-procedure test, or the first such test among the arguments of an `all`.
    pub(crate) fn guard(&self) -> Guard {
        match self {
            Pred::PrincipalDxIn(set) => Guard::PrincipalDxIn(*set),
            Pred::MainProcedureIn(set) => Guard::MainProcedureIn(*set),
            Pred::All(args) => args
                .iter()
                .map(Pred::guard)
                .find(|guard| *guard != Guard::Open)
                .unwrap_or(Guard::Open),
            _ => Guard::Open,
        }
    }

    pub(crate) fn eval(&self, case: &CaseView<'_>, mode: EvalMode) -> bool {
        match self {
            Pred::True => true,
            Pred::All(args) => args.iter().all(|arg| arg.eval(case, mode)),
            Pred::Any(args) => args.iter().any(|arg| arg.eval(case, mode)),
            Pred::Not(arg) => !arg.eval(case, mode),
            Pred::PrincipalDxIn(set) => case.dx[0].in_set(set.0),
            Pred::AnyDxIn(set) => case.dx.iter().any(|code| code.in_set(set.0)),
            Pred::MainProcedureIn(set) => {
                if mode.main_procedure_any_position {
                    case.px.iter().any(|code| code.in_set(set.0))
                } else {
                    case.px.first().is_some_and(|code| code.in_set(set.0))
                }
            }
            Pred::AnyProcedureIn(set) => case.px.iter().any(|code| code.in_set(set.0)),
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
                for code in case.dx {
                    if code.info.trauma_region_plus_one != 0 {
                        regions |= 1 << (code.info.trauma_region_plus_one - 1);
                    }
                }
                regions.count_ones() >= *needed
            }
        }
    }
}
