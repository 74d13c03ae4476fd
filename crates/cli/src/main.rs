//! `yibao`: the command-line edge of the platform. Each subcommand lives in its own module.

mod accounts;
mod audit;
mod audit_batch;
mod audit_report;
mod contributions;
mod demo;
mod demo_enrollment;
mod drg_group;
mod drg_simulate;
mod export;
mod funds;
mod keys;
mod load;
mod log;
mod maternity;
mod registry;
mod serve;
mod settle;
mod simulate;
mod staff;

use clap::{Parser, Subcommand};

/// yibao (医保): an open-source core platform for public medical insurance.
#[derive(Parser)]
#[command(name = "yibao", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Settle one bill offline from a settle file (spec/settlement.md section 10).
    Settle(settle::Args),
    /// Smart audit: the shipped rules and knowledge tables.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// DRG/DIP: grouping and hospital payment.
    Drg {
        #[command(subcommand)]
        command: DrgCommand,
    },
    /// Build a synthetic demo city, serve it and drive it with a hospital simulator.
    Demo(demo::Args),
    /// Serve the national hospital interface from a database.
    Serve(serve::Args),
    /// Drive a running server with realistic visit chains and print a JSON summary.
    Load(load::Args),
    /// Run the seeded fault simulator against an in-process server and store, checking every
    /// invariant after every step.
    Simulate(simulate::Args),
    /// The registry: department feeds and the uninsured and duplicate check (docs/FEEDS.md).
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Contributions (缴费): the monthly employee run, the residents' annual run, wage declarations.
    Contributions {
        #[command(subcommand)]
        command: ContributionsCommand,
    },
    /// Personal accounts (个人账户): statements, withdrawals and inheritance.
    Accounts {
        #[command(subcommand)]
        command: accounts::Command,
    },
    /// The tamper-evident access log: keys, checkpoints, witnesses, proofs and the verifier.
    Log {
        #[command(subcommand)]
        command: log::Command,
    },
    /// The data keys of encryption at rest: generate, status, rotate, rewrap, retire.
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// Exports for the batch layer: settled claims as Parquet (docs/BATCH.md).
    Export {
        #[command(subcommand)]
        command: export::Command,
    },
    /// Staff accounts of the staff API (/api/v1).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The month end (月度清算): payment runs of every region, clearing between regions and the
    /// funds' statements (docs/FUNDS.md).
    MonthEnd(funds::MonthEndArgs),
    /// The funds' books: monthly statements, budgets and interest (docs/FUNDS.md).
    Funds {
        #[command(subcommand)]
        command: FundsCommand,
    },
}

#[derive(Subcommand)]
enum FundsCommand {
    /// A month's statement of every fund: opening, income, expenditure, adjustments, closing.
    Report(funds::ReportArgs),
    /// Set a fund's annual expenditure budget (for the budget execution rate), or with
    /// `--fund drg` the region's DRG/DIP budget (each month's pool and the year's true-up).
    Budget(funds::BudgetArgs),
    /// Record the interest the bank credited to a fund for a month (from its statement).
    Interest(funds::InterestArgs),
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// Import a department file into the registry.
    Import {
        #[command(subcommand)]
        kind: RegistryImport,
    },
    /// Persons uninsured in a year, and persons insured twice (`certno,finding` CSV).
    Check(registry::CheckArgs),
    /// 转移接续, sending side: end a relation, write the information sheet, send the balance.
    TransferOut(registry::TransferOutArgs),
    /// 转移接续, receiving side: load an information sheet and open the relation.
    TransferIn(registry::TransferInArgs),
    /// 免申即享: propose chronic recognitions from the settlement lists of a period.
    ChronicProposals(registry::ChronicArgs),
}

#[derive(Subcommand)]
enum RegistryImport {
    /// The police population file (`certno,psn_name,gend,brdy,admdvs,hh_id,hh_rel`).
    Police(registry::ImportArgs),
    /// The civil-affairs identity list (`certno,psn_name,idet_type,begn_date,end_date`).
    Identity(registry::ImportArgs),
    /// A department's death list (`certno,psn_name,death_date`; `--dept police|health|civil_affairs`).
    Death(registry::ImportArgs),
    /// Human resources' retirement approvals (`certno,psn_name,retire_date`).
    Retirement(registry::ImportArgs),
    /// The education roster (`certno,psn_name,gend,brdy,school_code,school_admdvs,stu_type,
    /// entry_date,grad_date`); `--region` for the name, birth date and sex fallback.
    Education(registry::ImportArgs),
    /// The disabled persons' federation's certificates (`certno,psn_name,gend,brdy,dsab_type,
    /// dsab_lv,begn_date,end_date`); `--region` for the name, birth date and sex fallback.
    Disability(registry::ImportArgs),
    /// The tax bureau's payments (`certno,insutype,period,amount,elec_taxrpt_no,clct_date`).
    Tax(registry::ImportArgs),
}

#[derive(Subcommand)]
enum ContributionsCommand {
    /// Assess a month of employees (`--month YYYY-MM`) or a year of residents (`--year YYYY
    /// --residents`) and post every fen to the ledger; a second run of a period writes nothing.
    Run(contributions::RunArgs),
    /// Record employers and their wage declarations from CSV files.
    Declare(contributions::DeclareArgs),
    /// Refund one relation's contributions of a period (退费): the individual part to the
    /// person, subsidies reversed between funds; refused after benefits were drawn.
    Refund(contributions::RefundArgs),
    /// Decide and pay the maternity allowances (生育津贴) of a month's settled deliveries.
    Maternity(maternity::Args),
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create an account (the first administrator of a deployment); the password is read from
    /// YIBAO_STAFF_PASSWORD or standard input.
    Add(staff::AddArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// List the rules (`rule_id`, `category`, `sev_deg`, `phases`, `knowledge` …).
    Rules(audit::Args),
    /// Print the knowledge tables as `{"TABLE": [ENTRY, …], …}`.
    Knowledge(audit::Args),
    /// The findings funnel of a database (by rule and category) and, with `--planted`, the
    /// recall on a demo run's planted violations.
    Report(audit_report::Args),
    /// Batch rules (事后) on DataFusion over a Parquet export for one year: hits per rule,
    /// samples, and with `--out` every finding as JSON lines (docs/AUDIT.md).
    Batch(audit_batch::Args),
}

#[derive(Subcommand)]
enum DrgCommand {
    /// Group JSONL inpatient records with CHS-DRG 1.1.
    Group(drg_group::Args),
    /// Generate a region's inpatient year, build weights and a DIP catalogue, and pay hospitals.
    SimulateYear(drg_simulate::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Settle(args) => settle::run(args),
        Command::Audit {
            command: AuditCommand::Rules(args),
        } => audit::rules(args),
        Command::Audit {
            command: AuditCommand::Knowledge(args),
        } => audit::knowledge(args),
        Command::Audit {
            command: AuditCommand::Report(args),
        } => audit_report::run(args),
        Command::Audit {
            command: AuditCommand::Batch(args),
        } => audit_batch::run(args),
        Command::Drg {
            command: DrgCommand::Group(args),
        } => drg_group::run(args),
        Command::Drg {
            command: DrgCommand::SimulateYear(args),
        } => drg_simulate::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Load(args) => load::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Police(args),
                },
        } => registry::import(yibao_store::FeedKind::Police, args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Identity(args),
                },
        } => registry::import(yibao_store::FeedKind::Identity, args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Education(args),
                },
        } => registry::import(yibao_store::FeedKind::Education, args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Disability(args),
                },
        } => registry::import(yibao_store::FeedKind::Disability, args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Death(args),
                },
        } => registry::import_deaths(args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Retirement(args),
                },
        } => registry::import_retirements(args),
        Command::Registry {
            command:
                RegistryCommand::Import {
                    kind: RegistryImport::Tax(args),
                },
        } => registry::import_tax(args),
        Command::Registry {
            command: RegistryCommand::Check(args),
        } => registry::check(args),
        Command::Registry {
            command: RegistryCommand::TransferOut(args),
        } => registry::transfer_out(args),
        Command::Registry {
            command: RegistryCommand::TransferIn(args),
        } => registry::transfer_in(args),
        Command::Registry {
            command: RegistryCommand::ChronicProposals(args),
        } => registry::chronic_proposals(args),
        Command::Contributions {
            command: ContributionsCommand::Run(args),
        } => contributions::run(args),
        Command::Contributions {
            command: ContributionsCommand::Declare(args),
        } => contributions::declare(args),
        Command::Contributions {
            command: ContributionsCommand::Refund(args),
        } => contributions::refund(args),
        Command::Contributions {
            command: ContributionsCommand::Maternity(args),
        } => maternity::run(args),
        Command::Staff {
            command: StaffCommand::Add(args),
        } => staff::add(args),
        Command::MonthEnd(args) => funds::run(args),
        Command::Funds {
            command: FundsCommand::Report(args),
        } => funds::report(args),
        Command::Funds {
            command: FundsCommand::Budget(args),
        } => funds::budget(args),
        Command::Funds {
            command: FundsCommand::Interest(args),
        } => funds::interest(args),
        Command::Accounts { command } => accounts::main(command),
        Command::Log { command } => log::main(command),
        Command::Keys { command } => keys::main(command),
        Command::Export { command } => export::main(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
