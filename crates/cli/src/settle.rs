//! `yibao settle FILE.json`: settle one bill offline from a settle file (the settlement spec,
//! section 10) and print the 2207-shaped answer as JSON, or the trace as text with `--explain`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use yibao_policy::{builtin_policy, parse_policy, Policy};
use yibao_settlement::settle;
use yibao_settlement::settle_file::{parse_settle_file, render_settlement_json};

/// Arguments of `yibao settle`.
#[derive(clap::Args)]
pub struct Args {
    /// The settle file (JSON).
    pub file: PathBuf,
    /// Print the trace as text a bureau clerk can read instead of JSON.
    #[arg(long)]
    pub explain: bool,
    /// Use this policy file (TOML) instead of the shipped policy the settle file names; its id
    /// must match the settle file's `policy`.
    #[arg(long, value_name = "POLICY.toml")]
    pub policy_file: Option<PathBuf>,
}

fn load_policy(args: &Args, policy_id: &str) -> anyhow::Result<Policy> {
    let policy = match &args.policy_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read policy file {}", path.display()))?;
            parse_policy(&path.display().to_string(), &text)?
        }
        None => match builtin_policy(policy_id) {
            Some(parsed) => parsed?,
            None => {
                bail!("policy: no shipped policy {policy_id:?} (use --policy-file to give one)")
            }
        },
    };
    if policy.id != policy_id {
        bail!(
            "policy: the settle file asks for {policy_id:?} but the policy file is {:?}",
            policy.id
        );
    }
    Ok(policy)
}

/// Runs the subcommand: exit 0 with the answer on stdout, or an error naming the field.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file_name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read settle file {file_name}"))?;
    let settle_file =
        parse_settle_file(&text).with_context(|| format!("{file_name}: bad settle file"))?;
    let policy = load_policy(&args, &settle_file.policy_id)
        .with_context(|| format!("{file_name}: cannot load the policy"))?;
    let input = settle_file.input_for(&policy);
    let settlement =
        settle(&policy, &input).with_context(|| format!("{file_name}: cannot settle"))?;
    if args.explain {
        print!("{}", settlement.trace.render_text());
    } else {
        print!("{}", render_settlement_json(&input, &settlement));
    }
    Ok(ExitCode::SUCCESS)
}
