//! `yibao drg_simulate` (placeholder until its issue lands; replaced by the owning work).

/// Arguments of this subcommand.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("not built yet")
}
