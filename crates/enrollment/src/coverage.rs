//! The yearly coverage line of one person (spec enrollment.md §9): insured or not, and for the
//! uninsured the provisional reason a grid worker starts from (§9.2 step 4).

use chrono::{Months, NaiveDate};

use crate::params::{NewbornWindow, Params};
use crate::Category;

/// Why a person of the base population is not insured (§9.2 step 4), most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UninsuredReason {
    /// A death was reported but not (yet) confirmed (§8.3): check before anything else.
    PossiblyDead,
    /// Holds a subsidy category and should have been enrolled without applying: a defect of
    /// the automatic enrollment, to be alerted on at once.
    CategoryNotEnrolled,
    /// Born in the year and still inside the region's newborn window.
    NewbornPending,
    /// Insured last year (here), not this year: 断保.
    Lapsed,
    /// Assessed for the year but the individual part is not paid.
    Unpaid,
    /// No insurance here this year or last.
    NeverInsured,
}

impl UninsuredReason {
    /// Every reason, in the order of [`UninsuredReason::code`]'s report columns.
    pub const ALL: [UninsuredReason; 6] = [
        UninsuredReason::PossiblyDead,
        UninsuredReason::CategoryNotEnrolled,
        UninsuredReason::NewbornPending,
        UninsuredReason::Lapsed,
        UninsuredReason::Unpaid,
        UninsuredReason::NeverInsured,
    ];

    /// The stored and printed code (`lapsed`, `never_insured` …).
    pub fn code(self) -> &'static str {
        match self {
            UninsuredReason::PossiblyDead => "possibly_dead",
            UninsuredReason::CategoryNotEnrolled => "category_not_enrolled",
            UninsuredReason::NewbornPending => "newborn_pending",
            UninsuredReason::Lapsed => "lapsed",
            UninsuredReason::Unpaid => "unpaid",
            UninsuredReason::NeverInsured => "never_insured",
        }
    }
}

/// What the registry knows of one person for one year's check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageFacts {
    /// Birth date (when it reads).
    pub born: Option<NaiveDate>,
    /// A basic relation (`310`/`390`) in status 1 overlaps the year up to the reference date.
    pub relation_this_year: bool,
    /// The year's resident assessment has an individual part not (fully) paid.
    pub unpaid_this_year: bool,
    /// A basic relation in status 1 overlapped the year before.
    pub insured_last_year: bool,
    /// A death was reported and not confirmed.
    pub death_reported: bool,
    /// Categories held at some time in the year up to the reference date.
    pub categories: Vec<Category>,
}

/// The person's coverage for `year` at `reference`: `None` when insured, else the reason.
/// `params` is the region's set for the year (newborn window, subsidies); without one no
/// category counts as subsidised and no newborn as pending.
pub fn uninsured_reason(
    facts: &CoverageFacts,
    year: i32,
    reference: NaiveDate,
    params: Option<&Params>,
) -> Option<UninsuredReason> {
    if facts.relation_this_year && !facts.unpaid_this_year {
        return None;
    }
    if facts.death_reported {
        return Some(UninsuredReason::PossiblyDead);
    }
    let resident = params.and_then(|p| p.resident.as_ref());
    let subsidised = resident.is_some_and(|r| {
        r.subsidies
            .iter()
            .any(|rule| rule.categories.iter().any(|c| facts.categories.contains(c)))
    });
    if subsidised {
        return Some(UninsuredReason::CategoryNotEnrolled);
    }
    if let (Some(born), Some(r)) = (facts.born, resident) {
        let window_ends = match r.newborn.window {
            NewbornWindow::Days(days) => born.checked_add_days(chrono::Days::new(u64::from(days))),
            NewbornWindow::Months(months) => born.checked_add_months(Months::new(months)),
        };
        if born.format("%Y").to_string() == format!("{year:04}")
            && window_ends.is_some_and(|end| reference <= end)
        {
            return Some(UninsuredReason::NewbornPending);
        }
    }
    if facts.unpaid_this_year {
        return Some(if facts.insured_last_year {
            UninsuredReason::Lapsed
        } else {
            UninsuredReason::Unpaid
        });
    }
    Some(if facts.insured_last_year {
        UninsuredReason::Lapsed
    } else {
        UninsuredReason::NeverInsured
    })
}

/// The reference date of a check of `year` run on `today`: today, held inside the year.
pub fn reference_date(year: i32, today: NaiveDate) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31)?;
    Some(today.clamp(first, last))
}

/// A coverage rate in basis points (1/10,000), rounded down: `covered / base`, integer
/// arithmetic only; `None` when the base is empty.
pub fn rate_bp(covered: u64, base: u64) -> Option<u64> {
    (base > 0).then(|| covered.saturating_mul(10_000) / base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin_params;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_reasons_follow_the_evidence_most_specific_first() {
        let set = builtin_params().unwrap();
        let p = set.get("140500", 2025).expect("the reference set");
        let reference = day("2025-11-30");
        let base = CoverageFacts {
            born: Some(day("1980-03-01")),
            ..Default::default()
        };
        let reason = |f: &CoverageFacts| uninsured_reason(f, 2025, reference, Some(p));
        // Insured and paid: no reason.
        let insured = CoverageFacts {
            relation_this_year: true,
            ..base.clone()
        };
        assert_eq!(reason(&insured), None);
        // A relation with the year unpaid: not insured; lapsed when insured last year.
        let unpaid = CoverageFacts {
            unpaid_this_year: true,
            ..insured.clone()
        };
        assert_eq!(reason(&unpaid), Some(UninsuredReason::Unpaid));
        let lapsed_unpaid = CoverageFacts {
            insured_last_year: true,
            ..unpaid.clone()
        };
        assert_eq!(reason(&lapsed_unpaid), Some(UninsuredReason::Lapsed));
        assert_eq!(reason(&base), Some(UninsuredReason::NeverInsured));
        // A subsidy category outranks the lapse: the automatic enrollment missed someone.
        let dibao = CoverageFacts {
            categories: vec![Category::Dibao],
            insured_last_year: true,
            ..base.clone()
        };
        assert_eq!(reason(&dibao), Some(UninsuredReason::CategoryNotEnrolled));
        // An unconfirmed death outranks everything.
        let dead = CoverageFacts {
            death_reported: true,
            ..dibao.clone()
        };
        assert_eq!(reason(&dead), Some(UninsuredReason::PossiblyDead));
        // Without a parameter set no category counts as subsidised.
        assert_eq!(
            uninsured_reason(&dibao, 2025, reference, None),
            Some(UninsuredReason::Lapsed)
        );
    }

    #[test]
    fn a_newborn_is_pending_only_inside_the_window_of_the_year_of_birth() {
        let set = builtin_params().unwrap();
        let p = set.get("140500", 2025).expect("the reference set");
        let window_end = match p.resident.as_ref().unwrap().newborn.window {
            NewbornWindow::Days(d) => day("2025-09-01") + chrono::Days::new(u64::from(d)),
            NewbornWindow::Months(m) => day("2025-09-01") + Months::new(m),
        };
        let baby = CoverageFacts {
            born: Some(day("2025-09-01")),
            ..Default::default()
        };
        let at = |reference: NaiveDate| uninsured_reason(&baby, 2025, reference, Some(p));
        assert_eq!(at(day("2025-09-02")), Some(UninsuredReason::NewbornPending));
        if window_end < day("2025-12-31") {
            assert_eq!(
                at(window_end.succ_opt().unwrap()),
                Some(UninsuredReason::NeverInsured)
            );
        }
        // Born the year before: never a pending newborn of this year.
        let older = CoverageFacts {
            born: Some(day("2024-12-30")),
            ..Default::default()
        };
        assert_eq!(
            uninsured_reason(&older, 2025, day("2025-01-02"), Some(p)),
            Some(UninsuredReason::NeverInsured)
        );
    }

    #[test]
    fn the_reference_date_stays_in_the_year_and_rates_are_exact() {
        assert_eq!(
            reference_date(2026, day("2025-11-01")),
            Some(day("2026-01-01"))
        );
        assert_eq!(
            reference_date(2025, day("2026-03-01")),
            Some(day("2025-12-31"))
        );
        assert_eq!(
            reference_date(2026, day("2026-06-15")),
            Some(day("2026-06-15"))
        );
        assert_eq!(rate_bp(2, 3), Some(6_666));
        assert_eq!(rate_bp(5, 5), Some(10_000));
        assert_eq!(rate_bp(0, 0), None);
    }
}
