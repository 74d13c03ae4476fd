//! Payments from the tax bureau (缴费到账, spec enrollment.md §4.3, §5.5; docs/FEEDS.md "Tax
//! payments") and the residents' benefit periods they buy (§4.2, §5.3; docs/ENROLLMENT.md
//! "Benefit periods in the store").
//!
//! The tax bureau collects what the contribution runs assessed and sends back payment records
//! (CSV `certno,insutype,period,amount,elec_taxrpt_no,clct_date`). Each row is read and checked
//! here without a database, then matched in one transaction by `tax_tx.rs`: to the person by
//! identity number (§8.2) and to the `normal` assessment of the person, insurance type and
//! period, and recorded as a `contribution_payment`. The assessment already posted the income to
//! the ledger when it was made (`tx/contributions.rs`), so a payment moves no money: it says
//! that what was assessed has arrived.
//!
//! When a resident (390) assessment becomes paid — its payments reach its individual part, or
//! the individual part is zero (fully subsidised) — its benefit period is decided once by the
//! enrollment engine ([`yibao_enrollment::waiting`]) and stored in `benefit_period`: from 1
//! January for a collection-period payer, after the waiting months for a late payer or after a
//! lapse, with the region's exemptions (medical-assistance classes, newborns). Settlement reads
//! it ([`resident_coverage`]).
//!
//! Time is an input: the caller gives `today` (dates after it are refused) and the recorded time.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_core_types::Fen;
use yibao_enrollment::params::Exemption;
use yibao_enrollment::waiting::{NewbornStart, PaymentTiming, ResidentPayment};
use yibao_enrollment::{CitizenId, EngineError, ParamSet, Params};

use crate::error::StoreError;
use crate::feed::{FeedParsed, FeedProgress, RefusedRow};
use crate::{limits, Pool, Store};

/// The tax payment file's header.
pub const TAX_HEADER: [&str; 6] = [
    "certno",
    "insutype",
    "period",
    "amount",
    "elec_taxrpt_no",
    "clct_date",
];

/// Who imports a tax payment file and when.
#[derive(Debug, Clone)]
pub struct TaxImport {
    /// The file's name, kept with the batch (not used for matching).
    pub file_name: String,
    /// Who ran the import (an operator name or `cli`); never empty.
    pub actor: String,
    /// Today: a collection date after it is refused.
    pub today: NaiveDate,
    /// When the import is recorded (UTC).
    pub recorded_at: NaiveDateTime,
}

/// What a tax payment import did (or, for a replayed file, what its first import did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxReport {
    /// The batch id: the file's SHA-256 in hex.
    pub batch_id: String,
    /// The same file was imported before: nothing was written, the counts are the first import's.
    pub replayed: bool,
    /// Data rows read (taken + refused).
    pub rows_read: u64,
    /// Rows that passed every check: recorded as payments, or already recorded.
    pub rows_taken: u64,
    /// Rows matched to a person in the registry (taken rows and those refused afterwards for
    /// their assessment or amount).
    pub rows_matched: u64,
    /// Rows refused (each listed in `refusals`).
    pub rows_refused: u64,
    /// Payments written.
    pub payments: u64,
    /// Their total.
    pub amount: Fen,
    /// Benefit periods decided (the assessments these payments completed, and the year's fully
    /// subsidised ones not decided before).
    pub benefit_periods: u64,
    /// Of them, periods with a waiting period (待遇等待期).
    pub waiting: u64,
    /// Each refused row, by line.
    pub refusals: Vec<RefusedRow>,
    /// Paid assessments whose benefit period could not be decided: (person, why).
    pub undecided: Vec<(String, String)>,
}

/// A stored benefit period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitPeriodView {
    /// The person.
    pub psn_no: String,
    /// `390`.
    pub insutype: String,
    /// The benefit year.
    pub year: i32,
    /// The assessment it was decided for.
    pub assessment_id: String,
    /// The day the assessment became paid.
    pub paid_on: NaiveDate,
    /// First day the pooled fund pays.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Months waited.
    pub waiting_months: u32,
    /// The arithmetic, in words.
    pub trace: String,
}

/// What the decision of a year's outstanding benefit periods did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenefitSweep {
    /// Periods decided.
    pub decided: u64,
    /// Of them, periods with a waiting period (待遇等待期).
    pub waiting: u64,
    /// Paid assessments whose period could not be decided: (person, why).
    pub undecided: Vec<(String, String)>,
}

/// A row of the collection list (应征核定推送): what the tax bureau is to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionItem {
    /// The person.
    pub psn_no: String,
    /// The person's identity number.
    pub certno: String,
    /// `310` or `390`.
    pub insutype: String,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// What the tax bureau collects for the assessment (employer and employee shares; a
    /// resident's individual part).
    pub due: Fen,
    /// What has arrived so far.
    pub paid: Fen,
}

/// A row that passed the file checks.
#[derive(Debug, Clone)]
pub(crate) struct TaxRow {
    pub(crate) line: u64,
    pub(crate) certno: String,
    pub(crate) legacy: Option<String>,
    pub(crate) insutype: &'static str,
    pub(crate) period: String,
    pub(crate) amount_fen: i64,
    pub(crate) receipt: String,
    pub(crate) clct_date: NaiveDate,
}

/// Yuan text with at most two decimals, exactly into fen: digits, optionally a point and one or
/// two digits; more than zero.
pub fn parse_yuan(text: &str) -> Result<Fen, String> {
    let (int_part, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty()
        || !digits(int_part)
        || !digits(frac)
        || (text.contains('.') && frac.is_empty())
    {
        return Err(format!("amount `{text}` is not yuan like 400.00"));
    }
    if frac.len() > 2 {
        return Err(format!("amount `{text}` has more than two decimals"));
    }
    let fen = Fen::parse(text).map_err(|e| format!("amount `{text}`: {e}"))?;
    if fen.0 <= 0 {
        return Err(format!("amount `{text}` is not more than zero"));
    }
    Ok(fen)
}

fn check_tax_row(r: &[&str], today: NaiveDate) -> Result<TaxRow, String> {
    let raw = r[0].trim();
    let id = CitizenId::parse(raw, today)
        .map_err(|e| format!("certno `{raw}`: {} ({e})", e.reason()))?;
    let insutype = match r[1].trim() {
        "310" => "310",
        "390" => "390",
        other => return Err(format!("insutype `{other}` is not 310 or 390")),
    };
    let period = r[2].trim();
    let period_ok = match insutype {
        "390" => period.len() == 4 && period.bytes().all(|b| b.is_ascii_digit()),
        _ => {
            period.len() == 7
                && NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_ok()
        }
    };
    if !period_ok {
        return Err(format!(
            "period `{period}` is not {} for insutype {insutype}",
            if insutype == "390" {
                "a year YYYY"
            } else {
                "a month YYYY-MM"
            }
        ));
    }
    let amount = parse_yuan(r[3].trim())?;
    let receipt = r[4].trim();
    if receipt.is_empty() {
        return Err("elec_taxrpt_no is empty".into());
    }
    if receipt.chars().count() > limits::ID_CHARS_MAX {
        return Err(format!(
            "elec_taxrpt_no is longer than {} characters",
            limits::ID_CHARS_MAX
        ));
    }
    let clct_date = crate::feed::parse_date("clct_date", r[5].trim())?;
    if clct_date > today {
        return Err(format!("clct_date {clct_date} is in the future"));
    }
    if insutype == "390" {
        let year: i32 = period.parse().unwrap_or(0);
        if clct_date.year() > year {
            return Err(format!(
                "clct_date {clct_date} is after the benefit year {year}: a resident year is paid before or during it"
            ));
        }
    }
    Ok(TaxRow {
        line: 0,
        legacy: id.legacy(),
        certno: id.as_str().to_owned(),
        insutype,
        period: period.to_owned(),
        amount_fen: amount.0,
        receipt: receipt.to_owned(),
        clct_date,
    })
}

/// Reads and checks a tax payment file: the good rows and the refused ones by line. A wrong
/// header or an unreadable file refuses the whole file. Two rows of one file with the same
/// receipt for the same assessment are one payment sent twice (`repeats line N`) or, with
/// different amounts, both refused.
pub(crate) fn parse_tax(bytes: &[u8], today: NaiveDate) -> Result<FeedParsed<TaxRow>, StoreError> {
    let mut parsed = FeedParsed::default();
    parsed.rows_read =
        crate::feed::read_records(&TAX_HEADER, "tax", bytes, |line, fields, raw| match fields
            .and_then(|f| check_tax_row(&f, today))
        {
            Ok(mut row) => {
                row.line = line;
                parsed.rows.push(row);
            }
            Err(reason) => parsed
                .refused
                .push((RefusedRow { line, reason }, raw.to_owned())),
        })?;
    let mut first: std::collections::HashMap<(String, &str, String, String), (u64, i64)> =
        std::collections::HashMap::new();
    let mut keep = Vec::with_capacity(parsed.rows.len());
    let mut conflicting = std::collections::HashSet::new();
    for row in &parsed.rows {
        let key = (
            row.certno.clone(),
            row.insutype,
            row.period.clone(),
            row.receipt.clone(),
        );
        match first.get(&key) {
            None => {
                first.insert(key, (row.line, row.amount_fen));
                keep.push(true);
            }
            Some(&(line, amount)) if amount == row.amount_fen => {
                parsed.refused.push((
                    RefusedRow {
                        line: row.line,
                        reason: format!("repeats line {line}"),
                    },
                    String::new(),
                ));
                keep.push(false);
            }
            Some(&(line, _)) => {
                conflicting.insert(line);
                parsed.refused.push((
                    RefusedRow {
                        line: row.line,
                        reason: format!(
                            "receipt {} for this assessment is on line {line} with another amount",
                            row.receipt
                        ),
                    },
                    String::new(),
                ));
                keep.push(false);
            }
        }
    }
    let mut idx = 0;
    parsed.rows.retain(|row| {
        idx += 1;
        if conflicting.contains(&row.line) {
            return false;
        }
        keep[idx - 1]
    });
    for line in conflicting {
        parsed.refused.push((
            RefusedRow {
                line,
                reason: "the same receipt for this assessment appears later with another amount"
                    .into(),
            },
            String::new(),
        ));
    }
    parsed.refused.sort_by_key(|(r, _)| r.line);
    Ok(parsed)
}

/// A refusal's reason as stored (at most the feeds' payload length).
pub(crate) fn truncate_reason(reason: &str) -> String {
    reason
        .chars()
        .take(limits::FEED_PAYLOAD_CHARS_MAX)
        .collect()
}

/// What the tax bureau collects for an assessment: a resident's individual part (the other
/// payer lines are finance's and the funds'); an employee month's employer and employee shares.
pub(crate) fn collected_part(insutype: &str, employer_fen: i64, individual_fen: i64) -> i64 {
    if insutype == "390" {
        individual_fen
    } else {
        employer_fen + individual_fen
    }
}

/// The settlement's coverage check for a resident relation on `date` (§4.2): the year's
/// assessment, when there is one, must be paid (`individual_fen` = 0, fully subsidised, or
/// `paid_fen` reaching it) — else `未缴费` — and the year's benefit period, when decided, must
/// have started — else `待遇等待期至` its last waiting day; a year refunded by command (`refunded`)
/// is `未缴费` too. No assessment for the year: covered
/// as the registry says.
pub(crate) fn resident_coverage(
    psn_no: &str,
    date: NaiveDate,
    assessment: Option<(i64, i64)>,
    start: Option<NaiveDate>,
    refunded: bool,
) -> Result<(), StoreError> {
    let year = date.year();
    if refunded {
        return Err(StoreError::refused(
            "insutype",
            format!("未缴费: {psn_no}'s {year} resident contribution was refunded"),
        ));
    }
    if let Some((individual_fen, paid_fen)) = assessment {
        if individual_fen > 0 && paid_fen < individual_fen {
            return Err(StoreError::refused(
                "insutype",
                format!(
                    "未缴费: {psn_no} has not paid the {year} resident contribution (paid {} of {})",
                    Fen(paid_fen),
                    Fen(individual_fen)
                ),
            ));
        }
    }
    if let Some(start) = start.filter(|start| *start > date) {
        let last = start
            .pred_opt()
            .expect("a start after a visit date has a day before");
        return Err(StoreError::refused(
            "insutype",
            format!("待遇等待期至 {last}: {psn_no}'s {year} resident benefits start on {start}"),
        ));
    }
    Ok(())
}

/// What decides a resident's benefit period besides the parameters.
#[derive(Debug, Clone)]
pub(crate) struct BenefitFacts {
    /// The benefit year.
    pub(crate) year: i32,
    /// The day the assessment became paid.
    pub(crate) paid_on: NaiveDate,
    /// The person's birth date, when it reads.
    pub(crate) brdy: Option<NaiveDate>,
    /// Earlier years the person was covered (paid, subsidised, or insured without an assessment).
    pub(crate) covered_years: Vec<i32>,
    /// Medical-assistance classes of the categories the person held on `paid_on`.
    pub(crate) assistance_classes: Vec<u8>,
}

/// The benefit period a paid resident assessment buys, with its arithmetic in words (§5.3):
/// a newborn paid inside the region's window is covered from birth (or from 1 January of the
/// year), everyone else goes to [`yibao_enrollment::resident_benefit`] with the lapsed years
/// before the year (years before birth are not lapsed) and the first medical-assistance class
/// the region exempts.
pub(crate) fn decide_benefit(
    params: &Params,
    facts: &BenefitFacts,
) -> Result<(yibao_enrollment::BenefitPeriod, String), EngineError> {
    let year = facts.year;
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).expect("a valid year");
    if let Some(brdy) = facts
        .brdy
        .filter(|b| b.year() >= year - 1 && *b <= facts.paid_on)
    {
        let newborn = yibao_enrollment::newborn_benefit(params, brdy, facts.paid_on)?;
        if newborn.rule != NewbornStart::OrdinaryLate {
            let mut period = newborn.period;
            period.start = period.start.max(year_start);
            period.end = NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid year");
            let trace = format!(
                "newborn born {brdy}, paid {} ({}; the window ends {}): no wait, from {} to {}",
                facts.paid_on,
                match newborn.rule {
                    NewbornStart::FromBirth => "inside the newborn window: covered from birth",
                    _ => "in the late newborn window: from the month after payment",
                },
                newborn.window_ends,
                period.start,
                period.end
            );
            return Ok((period, trace));
        }
    }
    let resident = params
        .resident
        .as_ref()
        .ok_or_else(|| EngineError::MissingSection {
            params: params.id(),
            section: "resident",
        })?;
    // Years before the person was born are not lapsed.
    let mut covered = facts.covered_years.clone();
    if let Some(brdy) = facts.brdy {
        covered.extend((year - 40).max(0)..brdy.year().min(year));
    }
    let lapsed = yibao_enrollment::waiting::lapsed_years(params, &covered, year);
    let exemption = facts
        .assistance_classes
        .iter()
        .map(|class| Exemption::AssistanceClass(*class))
        .find(|e| resident.waiting_exemptions.contains(e));
    let period = yibao_enrollment::resident_benefit(
        params,
        ResidentPayment {
            benefit_year: year,
            paid_on: facts.paid_on,
            lapsed_years: lapsed,
            repaired_years: 0,
            exemption,
        },
    )?;
    let (window_start, window_end) = resident.collection_window(year);
    let timing = match period.timing {
        PaymentTiming::CollectionPeriod => {
            format!("in the collection window {window_start}..{window_end}")
        }
        PaymentTiming::Extension => "in the extension of the collection window".to_owned(),
        PaymentTiming::Late => {
            format!("late, after the collection window {window_start}..{window_end}")
        }
    };
    let wait = if let Some(exempt) = period.exempt {
        format!("exempt ({}): no wait", exempt.key())
    } else if period.waiting_months == 0 {
        "no wait".to_owned()
    } else {
        format!(
            "wait fixed {} + variable {} - repaired {} + floor {} = {} months{}",
            period.fixed_months,
            period.variable_months,
            period.repaired_months,
            period.floor_added_months,
            period.waiting_months,
            match period.timing {
                PaymentTiming::CollectionPeriod => " from 1 January".to_owned(),
                _ if resident.payment_month_counts => {
                    " counted from the payment month (it counts)".to_owned()
                }
                _ => " counted from the month after payment".to_owned(),
            }
        )
    };
    let trace = format!(
        "paid {} ({timing}); lapsed years {lapsed}; {wait}; from {} to {}{}",
        facts.paid_on,
        period.start,
        period.end,
        if period.is_empty() {
            " (no benefit days this year)"
        } else {
            ""
        }
    );
    Ok((period, trace))
}

impl Store {
    /// Imports a tax payment file (`bytes`, the whole file): bad rows are refused and listed by
    /// line; each good row is matched to the person (canonical identity number and aliases) and
    /// to the person's `normal` assessment for the insurance type and period, and recorded as a
    /// payment, all in one transaction with the benefit periods the payments complete (decided
    /// under `params`). A file imported before (same SHA-256) writes nothing and reports its
    /// first import. A bad header or an unreadable file is an error and writes nothing.
    pub async fn import_tax(
        &self,
        imp: &TaxImport,
        bytes: &[u8],
        params: &ParamSet,
        progress: &(dyn Fn(FeedProgress) + Sync),
    ) -> Result<TaxReport, StoreError> {
        if imp.actor.trim().is_empty() || imp.actor.chars().count() > limits::ID_CHARS_MAX {
            return Err(StoreError::bad(
                "actor",
                format!(
                    "is empty or longer than {} characters",
                    limits::ID_CHARS_MAX
                ),
            ));
        }
        progress(FeedProgress {
            stage: "read",
            done: 0,
            total: 0,
        });
        let batch_id = crate::feed::digest(bytes);
        macro_rules! run {
            ($m:ident, $pool:expr) => {{
                if let Some(report) = $m::tax_replay($pool, &batch_id).await? {
                    return Ok(report);
                }
                let parsed = parse_tax(bytes, imp.today)?;
                $m::tax_import($pool, imp, &batch_id, parsed, params, progress).await
            }};
        }
        on_backend_writing!(self, TaxReport, run)
    }

    /// Decides the benefit period of every resident assessment of `year` that is paid (fully
    /// subsidised, or its payments reach the individual part) and has none yet, under `params`;
    /// a fully subsidised assessment counts as paid on the day its run assessed it.
    pub async fn decide_benefit_periods(
        &self,
        year: i32,
        params: &ParamSet,
        now: NaiveDateTime,
    ) -> Result<BenefitSweep, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::tax_decide_year(p, year, params, now).await,
            Pool::Sq { pool, write_lock } => {
                let _guard = write_lock.lock().await;
                crate::sq::tax_decide_year(pool, year, params, now).await
            }
        }
    }

    /// A person's benefit periods, by year.
    pub async fn benefit_periods(
        &self,
        psn_no: &str,
    ) -> Result<Vec<BenefitPeriodView>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::tax_benefit_periods(p, psn_no).await,
            Pool::Sq { pool, .. } => crate::sq::tax_benefit_periods(pool, psn_no).await,
        }
    }

    /// The collection list of `period` (`YYYY` residents, `YYYY-MM` employees): every `normal`
    /// assessment with something for the tax bureau to collect, with what has arrived, by
    /// identity number.
    pub async fn collection_list(&self, period: &str) -> Result<Vec<CollectionItem>, StoreError> {
        match &self.inner.pool {
            Pool::Pg(p) => crate::pg::tax_collection_list(p, period).await,
            Pool::Sq { pool, .. } => crate::sq::tax_collection_list(pool, period).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_exactly() {
        for (text, fen) in [
            ("400", 40_000),
            ("400.5", 40_050),
            ("0.01", 1),
            ("12.34", 1234),
        ] {
            assert_eq!(parse_yuan(text), Ok(Fen(fen)), "{text}");
        }
        for bad in [
            "", "-1", "1.", ".5", "1.234", "1,00", "0", "0.00", "1e3", "+5",
        ] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_checked_and_repeats_found() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let file = "certno,insutype,period,amount,elec_taxrpt_no,clct_date\n\
            11010519491231002X,390,2026,400.00,R1,2025-10-01\n\
            11010519491231002X,390,2026,400.00,R1,2025-10-01\n\
            11010519491231002X,391,2026,400.00,R2,2025-10-01\n\
            11010519491231002X,390,2026-01,400.00,R3,2025-10-01\n\
            11010519491231002X,390,2026,400.001,R4,2025-10-01\n\
            11010519491231002X,390,2026,400.00,R5,2026-07-01\n\
            11010519491231002X,390,2025,400.00,R6,2026-01-01\n\
            110105194912310021,390,2026,400.00,R7,2025-10-01\n";
        let p = parse_tax(file.as_bytes(), today).unwrap();
        assert_eq!(p.rows_read, 8);
        assert_eq!(p.rows.len(), 1);
        let reasons: Vec<(u64, &str)> = p
            .refused
            .iter()
            .map(|(r, _)| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], (3, "repeats line 2"));
        assert!(reasons[1].1.contains("insutype `391`"), "{reasons:?}");
        assert!(reasons[2].1.contains("a year YYYY"), "{reasons:?}");
        assert!(
            reasons[3].1.contains("more than two decimals"),
            "{reasons:?}"
        );
        assert!(reasons[4].1.contains("in the future"), "{reasons:?}");
        assert!(
            reasons[5].1.contains("after the benefit year"),
            "{reasons:?}"
        );
        assert!(reasons[6].1.contains("bad_check_digit"), "{reasons:?}");
    }
}
