//! Benefit start and waiting periods (spec enrollment.md §5.3, §5.1 gaps, §12): residents who pay
//! in the collection period, late, after a lapse (with repair and the floor), the exemptions,
//! newborns; and the employee gap rule.

use chrono::{Datelike, Months, NaiveDate};

use crate::error::EngineError;
use crate::params::{Exemption, NewbornWindow, Params, ResidentParams};

/// When a resident paid, relative to the collection window of the benefit year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTiming {
    /// In (or before) the collection window in the year before.
    CollectionPeriod,
    /// In the extension at the start of the benefit year, where the region has one.
    Extension,
    /// Later, in the benefit year.
    Late,
}

/// A resident's payment for a benefit year, with the history that decides the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidentPayment {
    /// The benefit year paid for.
    pub benefit_year: i32,
    /// When the payment (or the subsidy that completed it) arrived.
    pub paid_on: NaiveDate,
    /// Consecutive years without contributions just before the benefit year (see
    /// [`lapsed_years`]).
    pub lapsed_years: u32,
    /// Missed years repaired at the current individual standard.
    pub repaired_years: u32,
    /// A reason the person may not wait, if any (it applies only if the region lists it).
    pub exemption: Option<Exemption>,
}

/// The benefit period a payment buys, with the arithmetic that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitPeriod {
    /// First day the pooled fund pays.
    pub start: NaiveDate,
    /// Last day (31 December of the benefit year, or later for a newborn whose window crossed
    /// the year end).
    pub end: NaiveDate,
    /// When the payment was made.
    pub timing: PaymentTiming,
    /// Fixed waiting months.
    pub fixed_months: u32,
    /// Variable waiting months before repair.
    pub variable_months: u32,
    /// Months removed by repair.
    pub repaired_months: u32,
    /// Months added to reach the floor after a long lapse.
    pub floor_added_months: u32,
    /// The total wait in months.
    pub waiting_months: u32,
    /// The exemption that removed the wait, if one did.
    pub exempt: Option<Exemption>,
    /// How many repair years would still shorten the wait (what the registry offers).
    pub repair_years_useful: u32,
}

impl BenefitPeriod {
    /// True when the wait runs past the year: the payment buys no benefit days.
    pub fn is_empty(&self) -> bool {
        self.start > self.end
    }
}

fn resident_section(params: &Params) -> Result<&ResidentParams, EngineError> {
    params
        .resident
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "resident",
        })
}

/// The first day of the month `months` after the month of `date`.
pub fn first_of_month_after(date: NaiveDate, months: u32) -> NaiveDate {
    date.with_day(1)
        .expect("day 1 exists")
        .checked_add_months(Months::new(months))
        .expect("a date far from the calendar's end")
}

/// Consecutive unpaid years just before `benefit_year`, counted back no further than the
/// region's `count_from_year` (zero where the region has no lapse rule).
pub fn lapsed_years(params: &Params, paid_years: &[i32], benefit_year: i32) -> u32 {
    let Some(lapse) = params.resident.as_ref().and_then(|r| r.lapse.as_ref()) else {
        return 0;
    };
    let mut count = 0;
    let mut year = benefit_year - 1;
    while year >= lapse.count_from_year && !paid_years.contains(&year) {
        count += 1;
        year -= 1;
    }
    count
}

/// When a resident's benefits start for the year paid (§5.3):
/// - collection-period payer, no lapse: 1 January;
/// - after a lapse: fixed + (lapsed − 1) variable months, minus repaired years, at least the
///   floor after a long lapse, counted from 1 January or from the payment month;
/// - late payer: the fixed wait from the payment month (which counts where the region says so);
/// - extension payer without waiting: the payment date;
/// - an exemption the region lists: no wait.
pub fn resident_benefit(
    params: &Params,
    payment: ResidentPayment,
) -> Result<BenefitPeriod, EngineError> {
    let resident = resident_section(params)?;
    let year = payment.benefit_year;
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).expect("a valid year");
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid year");
    if payment.paid_on > year_end {
        return Err(EngineError::PaidAfterYear {
            paid_on: payment.paid_on,
            benefit_year: year,
        });
    }
    let (_, window_end) = resident.collection_window(year);
    let timing = if payment.paid_on <= window_end {
        PaymentTiming::CollectionPeriod
    } else if resident
        .extension_end
        .is_some_and(|end| payment.paid_on <= end.in_year(year))
    {
        PaymentTiming::Extension
    } else {
        PaymentTiming::Late
    };
    let exempt = payment
        .exemption
        .filter(|exemption| resident.waiting_exemptions.contains(exemption));
    let lapsed = if resident.lapse.is_some() {
        payment.lapsed_years
    } else {
        0
    };
    let needs_fixed = lapsed > 0
        || match timing {
            PaymentTiming::CollectionPeriod => false,
            PaymentTiming::Extension => resident.extension_waiting,
            PaymentTiming::Late => true,
        };
    let mut period = BenefitPeriod {
        start: year_start,
        end: year_end,
        timing,
        fixed_months: 0,
        variable_months: 0,
        repaired_months: 0,
        floor_added_months: 0,
        waiting_months: 0,
        exempt,
        repair_years_useful: 0,
    };
    if exempt.is_some() || !needs_fixed {
        period.start = payment.paid_on.max(year_start);
        if timing == PaymentTiming::CollectionPeriod {
            period.start = year_start;
        }
        return Ok(period);
    }
    period.fixed_months = resident.late_waiting_months;
    if let Some(lapse) = &resident.lapse {
        period.variable_months = lapsed.saturating_sub(1) * lapse.variable_months_per_year;
        let repair_step = lapse.repair_months_per_year.max(1);
        period.repaired_months =
            (payment.repaired_years * lapse.repair_months_per_year).min(period.variable_months);
        let before_floor = period.fixed_months + period.variable_months - period.repaired_months;
        let floor_applies = lapsed >= lapse.floor_after_lapsed_years;
        if floor_applies && before_floor < lapse.floor_months {
            period.floor_added_months = lapse.floor_months - before_floor;
        }
        // Repair can remove the variable part, but never below the floor.
        let reducible = if floor_applies {
            period.variable_months.min(
                (period.fixed_months + period.variable_months).saturating_sub(lapse.floor_months),
            )
        } else {
            period.variable_months
        };
        let already = period.repaired_months.min(reducible);
        period.repair_years_useful = (reducible - already).div_ceil(repair_step);
    }
    period.waiting_months = period.fixed_months + period.variable_months - period.repaired_months
        + period.floor_added_months;
    period.start = match timing {
        PaymentTiming::CollectionPeriod => first_of_month_after(year_start, period.waiting_months),
        // A region without a fixed wait pays from the payment date.
        PaymentTiming::Extension | PaymentTiming::Late if period.waiting_months == 0 => {
            payment.paid_on
        }
        PaymentTiming::Extension | PaymentTiming::Late => {
            let skip = if resident.payment_month_counts { 0 } else { 1 };
            first_of_month_after(payment.paid_on, period.waiting_months + skip)
        }
    };
    assert!(
        period.start >= year_start,
        "benefits never start before the year"
    );
    assert!(
        period.start >= payment.paid_on,
        "benefits never start before the payment"
    );
    Ok(period)
}

/// How a newborn's coverage was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewbornStart {
    /// Paid inside the window: covered from birth.
    FromBirth,
    /// Paid in the late window: covered from the month after payment.
    MonthAfterPayment,
    /// Paid after every window: an ordinary late payer.
    OrdinaryLate,
}

/// A newborn's coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewbornBenefit {
    /// Which rule applied.
    pub rule: NewbornStart,
    /// The benefit period.
    pub period: BenefitPeriod,
    /// The years the family pays: both when the window crossed the year end.
    pub years_to_pay: Vec<i32>,
    /// The last day of the from-birth window.
    pub window_ends: NaiveDate,
}

/// A newborn's coverage (§5.3): inside the window, from birth (across the year end if the window
/// crosses it); in a late window, from the month after payment; afterwards, an ordinary late
/// payer.
pub fn newborn_benefit(
    params: &Params,
    birth: NaiveDate,
    paid_on: NaiveDate,
) -> Result<NewbornBenefit, EngineError> {
    let resident = resident_section(params)?;
    if paid_on < birth {
        return Err(EngineError::DateOrder {
            earlier: "birth",
            earlier_date: birth,
            later: "payment",
            later_date: paid_on,
        });
    }
    let window_ends = match resident.newborn.window {
        NewbornWindow::Days(days) => birth + chrono::Days::new(u64::from(days)),
        NewbornWindow::Months(months) => birth
            .checked_add_months(Months::new(months))
            .expect("a date far from the calendar's end"),
    };
    let late_ends = resident.newborn.late_window_months.map(|months| {
        birth
            .checked_add_months(Months::new(months))
            .expect("a date far from the calendar's end")
    });
    let year_end = |year: i32| NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid year");
    let empty_period = |start: NaiveDate, end: NaiveDate, timing: PaymentTiming| BenefitPeriod {
        start,
        end,
        timing,
        fixed_months: 0,
        variable_months: 0,
        repaired_months: 0,
        floor_added_months: 0,
        waiting_months: 0,
        exempt: Some(Exemption::Newborn),
        repair_years_useful: 0,
    };
    if paid_on <= window_ends {
        return Ok(NewbornBenefit {
            rule: NewbornStart::FromBirth,
            period: empty_period(birth, year_end(paid_on.year()), PaymentTiming::Late),
            years_to_pay: (birth.year()..=paid_on.year()).collect(),
            window_ends,
        });
    }
    if late_ends.is_some_and(|late| paid_on <= late) {
        let start = first_of_month_after(paid_on, 1);
        return Ok(NewbornBenefit {
            rule: NewbornStart::MonthAfterPayment,
            period: empty_period(start, year_end(start.year()), PaymentTiming::Late),
            years_to_pay: vec![start.year()],
            window_ends,
        });
    }
    let period = resident_benefit(
        params,
        ResidentPayment {
            benefit_year: paid_on.year(),
            paid_on,
            lapsed_years: 0,
            repaired_years: 0,
            exemption: None,
        },
    )?;
    Ok(NewbornBenefit {
        rule: NewbornStart::OrdinaryLate,
        years_to_pay: vec![paid_on.year()],
        period,
        window_ends,
    })
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// The year.
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl YearMonth {
    /// A month; refused outside 1–12.
    pub fn new(year: i32, month: u32) -> Result<YearMonth, EngineError> {
        if !(1..=12).contains(&month) {
            return Err(EngineError::BadMonth(format!(
                "{month} is not a month 1–12"
            )));
        }
        Ok(YearMonth { year, month })
    }

    /// Months since year 0, for arithmetic.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// The month `index` names.
    pub fn from_index(index: i64) -> YearMonth {
        YearMonth {
            year: i32::try_from(index.div_euclid(12)).expect("a year in range"),
            month: u32::try_from(index.rem_euclid(12) + 1).expect("1–12"),
        }
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a valid month")
    }
}

impl std::fmt::Display for YearMonth {
    /// `YYYY-MM`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What an employee's contribution gap means (§5.1, §12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmployeeGap {
    /// No gap: the new months follow the last paid one.
    None,
    /// A short gap: the months may be back-paid under the new region's rules and are then
    /// covered retroactively; benefits resume from the month of payment.
    BackPay {
        /// The missing months.
        months: Vec<YearMonth>,
    },
    /// A longer gap: the region may set a waiting period of at most this many months.
    Waiting {
        /// The number of missing months.
        gap_months: u32,
        /// The longest wait the region may set.
        waiting_months_max: u32,
    },
}

/// The gap between the last paid month and the month contributions resume.
pub fn employee_gap(
    params: &Params,
    last_paid: YearMonth,
    resumed: YearMonth,
) -> Result<EmployeeGap, EngineError> {
    let employee = params
        .employee
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "employee",
        })?;
    if resumed <= last_paid {
        return Err(EngineError::BadMonth(format!(
            "contributions resume in {resumed}, not after the last paid month {last_paid}"
        )));
    }
    let gap = resumed.index() - last_paid.index() - 1;
    if gap == 0 {
        return Ok(EmployeeGap::None);
    }
    let gap_months = u32::try_from(gap).unwrap_or(u32::MAX);
    if gap_months <= employee.gap_backpay_months_max {
        let months = (last_paid.index() + 1..resumed.index())
            .map(YearMonth::from_index)
            .collect();
        return Ok(EmployeeGap::BackPay { months });
    }
    Ok(EmployeeGap::Waiting {
        gap_months,
        waiting_months_max: employee.gap_waiting_months_max,
    })
}
