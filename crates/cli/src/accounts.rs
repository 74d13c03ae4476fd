//! `yibao accounts …` (guide `docs/PERSONAL-ACCOUNTS.md`): a person's personal-account
//! (个人账户) statement (`show`), a withdrawal (`withdraw`, 支取: settling abroad, a dead
//! person's estate) and an inheritance by heirs by share (`inherit`, 继承). The rules are the
//! region's enrollment parameters (`[personal_account]`); a payout is decided by a staff account
//! with the finance or reviewer role (`--by`), written with its ledger transfers in one
//! transaction, and followed by the ledger check.

use std::process::ExitCode;

use anyhow::{bail, Context as _};
use chrono::NaiveDate;
use serde_json::{json, Value};
use yibao_core_types::Fen;
use yibao_enrollment::personal_account::{HeirClaim, PayoutReason, PAYOUT_REASONS};
use yibao_store::personal_account::{
    AccountStatement, InheritanceRequest, PayoutDone, WithdrawalRequest,
};
use yibao_store::{Role, Store};

/// The `accounts` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a person's personal-account statement (opening, every credit and debit, balance),
    /// checked against the ledger.
    Show(ShowArgs),
    /// Pay out the whole balance where the region's policy allows it (`--reason abroad` once
    /// the employee relation has ended; `--reason death` to the estate after a confirmed death).
    Withdraw(WithdrawArgs),
    /// Pay a dead person's account to heirs by share (`--heir PSN_NO:SHARE`, repeated): an heir
    /// with a personal account is credited there, any other is paid in cash.
    Inherit(InheritArgs),
}

/// Arguments of `yibao accounts show`.
#[derive(clap::Args)]
pub struct ShowArgs {
    /// The person (`psn_no`).
    psn_no: String,
    /// Database URL.
    #[arg(long)]
    db: String,
    /// Print the statement as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `yibao accounts withdraw`.
#[derive(clap::Args)]
pub struct WithdrawArgs {
    /// The account holder (`psn_no`).
    psn_no: String,
    /// Why: `abroad`, `death` or `moved_without_transfer`.
    #[arg(long)]
    reason: String,
    /// The amount in yuan (default the whole balance; less only where the region allows it).
    #[arg(long)]
    amount: Option<String>,
    /// The bank account the payout is paid to.
    #[arg(long)]
    bank_account: String,
    /// The document the payout rests on (a deregistration or death certificate number).
    #[arg(long)]
    evidence: String,
    /// The deciding staff account's user name (finance or reviewer role).
    #[arg(long)]
    by: String,
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The day the rules are judged on and the ledger books it on (default: today in China).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Print the payout as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `yibao accounts inherit`.
#[derive(clap::Args)]
pub struct InheritArgs {
    /// The dead account holder (`psn_no`).
    psn_no: String,
    /// An heir and the heir's share in whole parts (`P0001:2`); repeated for each heir, in the
    /// order that breaks ties of the split.
    #[arg(long = "heir", required = true)]
    heirs: Vec<String>,
    /// The bank account cash parts are paid to (may be left out when every heir has an account).
    #[arg(long, default_value = "")]
    bank_account: String,
    /// The document it rests on (the inheritance certificate).
    #[arg(long)]
    evidence: String,
    /// The deciding staff account's user name (finance or reviewer role).
    #[arg(long)]
    by: String,
    /// Database URL.
    #[arg(long)]
    db: String,
    /// The day the rules are judged on and the ledger books it on (default: today in China).
    #[arg(long)]
    today: Option<NaiveDate>,
    /// Print the payout as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs an `accounts` subcommand.
pub fn main(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Show(args) => show(args),
        Command::Withdraw(args) => withdraw(args),
        Command::Inherit(args) => inherit(args),
    }
}

/// Parses `PSN_NO:SHARE`.
fn parse_heir(text: &str) -> anyhow::Result<HeirClaim> {
    let Some((psn_no, share)) = text.split_once(':') else {
        bail!("--heir `{text}`: expected PSN_NO:SHARE");
    };
    let share: u32 = share
        .trim()
        .parse()
        .with_context(|| format!("--heir `{text}`: the share is not a whole number"))?;
    Ok(HeirClaim {
        psn_no: psn_no.trim().to_owned(),
        share,
    })
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    crate::registry::runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let statement = store.personal_account_statement(&args.psn_no).await;
        store.close().await;
        let statement = statement.context("the statement")?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&statement_json(&statement))?
            );
        } else {
            print_statement(&statement);
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn withdraw(args: WithdrawArgs) -> anyhow::Result<ExitCode> {
    let reason = PayoutReason::from_key(&args.reason).with_context(|| {
        let known: Vec<&str> = PAYOUT_REASONS.iter().map(|r| r.key()).collect();
        format!("--reason `{}`: one of {}", args.reason, known.join(", "))
    })?;
    let amount = args
        .amount
        .as_deref()
        .map(|text| Fen::parse(text).map_err(|err| anyhow::anyhow!("--amount `{text}`: {err}")))
        .transpose()?;
    let now = crate::registry::china_now();
    crate::registry::runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let result = async {
            let actor = decider(&store, &args.by).await?;
            let request = WithdrawalRequest {
                psn_no: args.psn_no.clone(),
                reason,
                amount,
                bank_account: args.bank_account.clone(),
                evidence: args.evidence.clone(),
                actor,
                today: args.today.unwrap_or(now.date()),
            };
            let params =
                yibao_enrollment::builtin_params().context("the shipped parameter sets")?;
            let done = store
                .withdraw_personal_account(&request, &params, now)
                .await
                .context("the withdrawal")?;
            let check = store.check_ledger().await.context("the ledger check")?;
            anyhow::Ok((done, check))
        }
        .await;
        store.close().await;
        let (done, check) = result?;
        report(&done, check.is_balanced(), &check.problems, args.json)
    })
}

fn inherit(args: InheritArgs) -> anyhow::Result<ExitCode> {
    let heirs = args
        .heirs
        .iter()
        .map(|h| parse_heir(h))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = crate::registry::china_now();
    crate::registry::runtime()?.block_on(async {
        let store = open(&args.db).await?;
        let result = async {
            let actor = decider(&store, &args.by).await?;
            let request = InheritanceRequest {
                psn_no: args.psn_no.clone(),
                heirs,
                bank_account: args.bank_account.clone(),
                evidence: args.evidence.clone(),
                actor,
                today: args.today.unwrap_or(now.date()),
            };
            let params =
                yibao_enrollment::builtin_params().context("the shipped parameter sets")?;
            let done = store
                .inherit_personal_account(&request, &params, now)
                .await
                .context("the inheritance")?;
            let check = store.check_ledger().await.context("the ledger check")?;
            anyhow::Ok((done, check))
        }
        .await;
        store.close().await;
        let (done, check) = result?;
        report(&done, check.is_balanced(), &check.problems, args.json)
    })
}

async fn open(db: &str) -> anyhow::Result<Store> {
    Store::connect(db)
        .await
        .with_context(|| format!("opening the database {db}"))
}

/// The deciding staff account (`staff:ID`): active, with the finance or reviewer role.
async fn decider(store: &Store, username: &str) -> anyhow::Result<String> {
    let accounts = store.staff_accounts().await.context("the staff accounts")?;
    let Some(account) = accounts.iter().find(|a| a.username == username) else {
        bail!("--by `{username}`: no such staff account");
    };
    if !account.active {
        bail!("--by `{username}`: the account is deactivated");
    }
    if !(account.has(Role::Finance) || account.has(Role::Reviewer)) {
        bail!("--by `{username}`: a payout needs the finance or reviewer role");
    }
    Ok(format!("staff:{}", account.staff_id))
}

fn report(
    done: &PayoutDone,
    balanced: bool,
    problems: &[String],
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    if as_json {
        let mut value = payout_json(done);
        value["ledger_balanced"] = json!(balanced);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "{} {} ({}, {}) of {}: {}{}",
            done.kind,
            done.payout_id,
            done.reason,
            done.rule,
            done.psn_no,
            done.amount,
            if done.replayed {
                " — made before, nothing paid now"
            } else {
                ""
            }
        );
        for line in &done.lines {
            println!(
                "  {:<12} share {:<4} {:>12}  into {}",
                line.heir_psn_no.as_deref().unwrap_or(&done.psn_no),
                line.share,
                line.amount.to_string(),
                line.paid_to
            );
        }
        println!(
            "ledger check: {}",
            if balanced {
                "balanced".to_owned()
            } else {
                problems.join("; ")
            }
        );
    }
    Ok(if balanced {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn payout_json(done: &PayoutDone) -> Value {
    json!({
        "payout_id": done.payout_id,
        "psn_no": done.psn_no,
        "kind": done.kind,
        "reason": done.reason,
        "rule": done.rule,
        "params_id": done.params_id,
        "amount": done.amount.to_string(),
        "lines": done.lines.iter().map(|l| json!({
            "seq": l.seq,
            "heir_psn_no": l.heir_psn_no,
            "share": l.share,
            "amount": l.amount.to_string(),
            "paid_to": l.paid_to,
        })).collect::<Vec<_>>(),
        "bank_account": done.bank_account,
        "evidence": done.evidence,
        "decided_by": done.decided_by,
        "decided_at": done.decided_at,
        "booked_on": done.booked_on,
        "replayed": done.replayed,
    })
}

fn statement_json(s: &AccountStatement) -> Value {
    json!({
        "psn_no": s.psn_no,
        "account": s.account,
        "opening": s.opening.to_string(),
        "credits": s.credits.to_string(),
        "debits": s.debits.to_string(),
        "balance": s.balance.to_string(),
        "death_date": s.death_date,
        "entries": s.entries.iter().map(|e| json!({
            "at": e.at,
            "ref_id": e.ref_id,
            "seq": e.seq,
            "kind": e.kind,
            "counter_account": e.counter_account,
            "amount": e.amount.to_string(),
            "balance_after": e.balance_after.to_string(),
        })).collect::<Vec<_>>(),
        "payouts": s.payouts.iter().map(payout_json).collect::<Vec<_>>(),
    })
}

fn print_statement(s: &AccountStatement) {
    println!("personal account {} ({})", s.account, s.psn_no);
    if let Some(day) = &s.death_date {
        println!("  died {day}: the account is frozen for payout");
    }
    println!(
        "  {:<19} {:<28} {:>12} {:>12}",
        "",
        "opening",
        "",
        s.opening.to_string()
    );
    for e in &s.entries {
        println!(
            "  {:<19} {:<28} {:>12} {:>12}  {} ({})",
            e.at,
            e.kind,
            e.amount.to_string(),
            e.balance_after.to_string(),
            e.ref_id,
            e.counter_account
        );
    }
    println!(
        "  credits {}  debits {}  balance {} (agrees with the ledger)",
        s.credits, s.debits, s.balance
    );
    for p in &s.payouts {
        println!(
            "  payout {} ({} {}) {} on {} by {}",
            p.payout_id, p.kind, p.reason, p.amount, p.booked_on, p.decided_by
        );
    }
}
