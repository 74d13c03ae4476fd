//! The demo city's enrollment year (issue 13): its departments' feeds into the registry (the
//! police population file and the civil-affairs identity list, with the automatic decisions the
//! categories give), its employers' wage declarations, the employees' contributions for every
//! month of the year so far and the residents' contributions for the year, all posted to the
//! ledger — so the demo's funds have income as well as the settlements' payments — and the tax
//! bureau's payments of the residents' year: most paid in the collection window, a few late (they
//! wait for their benefits), a few never (settlement refuses them `未缴费`; the simulator's
//! hospitals count those refusals as expected, not as errors).

use anyhow::Context as _;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use yibao_city::feeds::{Feeds, ResidentDue};
use yibao_city::CityConfig;
use yibao_store::contributions::{Employer, RunOptions, WageDeclaration};
use yibao_store::feed::{FeedImport, FeedKind};
use yibao_store::tax::TaxImport;
use yibao_store::Store;

/// Writes the feeds beside the registry files, imports them and runs the year's contributions.
pub async fn run(
    store: &Store,
    config: &CityConfig,
    dir: &std::path::Path,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let today = config.as_of;
    let feeds: Feeds = yibao_city::feeds::feeds(config)?;
    std::fs::write(dir.join("police.csv"), &feeds.police).context("writing police.csv")?;
    std::fs::write(dir.join("identity.csv"), &feeds.identity).context("writing identity.csv")?;
    let params = yibao_enrollment::builtin_params().context("the shipped enrollment parameters")?;
    for (kind, file, bytes) in [
        (FeedKind::Police, "police.csv", feeds.police.as_bytes()),
        (
            FeedKind::Identity,
            "identity.csv",
            feeds.identity.as_bytes(),
        ),
    ] {
        let imp = FeedImport {
            kind,
            file_name: file.to_owned(),
            source_dept: kind.default_dept().to_owned(),
            actor: "demo".to_owned(),
            today,
            recorded_at: now,
        };
        let r = store
            .import_feed(&imp, bytes, &|_| {})
            .await
            .with_context(|| format!("importing the demo's {file}"))?;
        println!(
            "== {file}: taken {}, matched {}, refused {}, created {}, cases {}",
            r.rows_taken, r.rows_matched, r.rows_refused, r.persons_created, r.cases_opened
        );
        for refusal in r.refusals.iter().take(5) {
            println!("  line {}: {}", refusal.line, refusal.reason);
        }
        if !r.replayed {
            let auto = store
                .decide_on_batch(&r.batch_id, &params, today, now)
                .await
                .context("the automatic decisions (免申即享)")?;
            println!(
                "== 免申即享: {} decisions (subsidies {}, assistance {}, enrollments {}, newborns {})",
                auto.decided, auto.subsidies, auto.assistance, auto.enrollments, auto.newborns
            );
        }
    }

    let employers: Vec<Employer> = feeds
        .employers
        .iter()
        .map(|e| Employer {
            emp_no: e.emp_no.clone(),
            emp_name: e.emp_name.clone(),
            insu_admdvs: e.insu_admdvs.clone(),
        })
        .collect();
    store.record_employers(&employers).await?;
    let year = today.year();
    let declarations: Vec<WageDeclaration> = feeds
        .wages
        .iter()
        .map(|w| WageDeclaration {
            psn_no: w.psn_no.clone(),
            year,
            emp_no: w.emp_no.clone(),
            wage: yibao_core_types::Fen(w.wage_fen),
            source: "demo".to_owned(),
        })
        .collect();
    let declared = store.declare_wages(&declarations, now).await?;
    println!(
        "== {} employers declared {declared} wages for {year}",
        employers.len()
    );

    let options = RunOptions::default();
    let mut totals = [yibao_core_types::Fen::ZERO; 3];
    let mut assessed = 0;
    for month in 1..=today.month() {
        let ym =
            yibao_enrollment::YearMonth::new(year, month).context("a month of the demo year")?;
        let r = store
            .run_employee_month(ym, &params, &options, now, &|_, _| {})
            .await
            .with_context(|| format!("the employees' run for {year}-{month:02}"))?;
        assessed += r.assessed;
        totals[0] += r.employer;
        totals[1] += r.individual;
        totals[2] += r.into_accounts;
    }
    println!(
        "== employees' contributions {year}-01..{year}-{:02}: {assessed} assessments; employers {}, employees {}, into personal accounts {}",
        today.month(),
        totals[0],
        totals[1],
        totals[2]
    );
    let assessed_on = NaiveDate::from_ymd_opt(year, 1, 1).context("1 January")?;
    let r = store
        .run_resident_year(year, assessed_on, &params, &options, now, &|_, _| {})
        .await
        .with_context(|| format!("the residents' run for {year}"))?;
    println!(
        "== residents' contributions {year}: {} assessments; individuals {}, other payers {}, into the pooled fund {}; {} cases",
        r.assessed, r.individual, r.other_payers, r.into_pool, r.cases
    );

    // The tax bureau collects the residents' individual parts and sends its payments back.
    let period = format!("{year:04}");
    let dues: Vec<ResidentDue> = store
        .collection_list(&period)
        .await
        .context("the residents' collection list")?
        .into_iter()
        .filter(|item| item.insutype == "390" && item.paid < item.due)
        .map(|item| ResidentDue {
            certno: item.certno,
            due_fen: (item.due - item.paid).0,
        })
        .collect();
    let tax = yibao_city::feeds::tax_payments(config, year, &dues);
    std::fs::write(dir.join("tax.csv"), &tax).context("writing tax.csv")?;
    let imp = TaxImport {
        file_name: "tax.csv".to_owned(),
        actor: "demo".to_owned(),
        today,
        recorded_at: now,
    };
    let started = std::time::Instant::now();
    let r = store
        .import_tax(&imp, tax.as_bytes(), &params, &|_| {})
        .await
        .context("importing the demo's tax.csv")?;
    println!(
        "== tax.csv: taken {}, matched {}, refused {}, payments {} ({}); benefit periods {}, waiting {}; {} of {} residents with something to pay have not paid (未缴费); in {} ms",
        r.rows_taken,
        r.rows_matched,
        r.rows_refused,
        r.payments,
        r.amount,
        r.benefit_periods,
        r.waiting,
        dues.len() as u64 - r.payments,
        dues.len(),
        started.elapsed().as_millis()
    );
    for refusal in r.refusals.iter().take(5) {
        println!("  line {}: {}", refusal.line, refusal.reason);
    }

    // The year's registry check: who is not insured and why, by county (§9.2).
    let check = store
        .registry_check(year, today, &params)
        .await
        .context("the registry check")?;
    let total = check.total();
    let reasons: Vec<String> = total
        .uninsured
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    let percent = |bp: Option<u64>| {
        bp.map_or("-".to_owned(), |bp| {
            format!("{}.{:02}%", bp / 100, bp % 100)
        })
    };
    println!(
        "== registry check {year} (as of {}): base {}, insured {} ({} employees, {} residents), coverage {}, subsidy-category persons enrolled {}/{}; uninsured {}{}",
        check.reference,
        total.base,
        total.insured(),
        total.insured_employee,
        total.insured_resident,
        percent(total.coverage_bp()),
        total.category_insured,
        total.category_persons,
        total.uninsured_total(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    Ok(())
}
