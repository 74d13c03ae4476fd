//! `yibao staff add`: creates a staff account from the command line (the first administrator
//! of a real deployment), and the demo's staff accounts.

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::Context as _;
use yibao_store::{NewStaff, Role, Store};

/// The environment variable `yibao staff add` reads the password from (else standard input).
pub const PASSWORD_ENV: &str = "YIBAO_STAFF_PASSWORD";

/// Arguments of `yibao staff add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// Database URL (migrated on open).
    #[arg(long, default_value = yibao_store::DEFAULT_DB_URL)]
    db: String,
    /// Login name: 3–64 characters of a-z, 0-9, '.', '_' and '-'.
    #[arg(long)]
    username: String,
    /// A role (repeat for several): reviewer, senior_reviewer, final_reviewer, auditor, admin,
    /// finance, institution.
    #[arg(long = "role", required = true, value_parser = parse_role)]
    roles: Vec<Role>,
    /// The name shown to people (default: the username).
    #[arg(long)]
    display_name: Option<String>,
    /// The region the account works in (six digits).
    #[arg(long)]
    admdvs: String,
    /// The institution of an institution user.
    #[arg(long)]
    fixmedins_code: Option<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|role| role.code()).collect();
        format!("`{text}` is not a role: one of {}", all.join(", "))
    })
}

/// Runs `yibao staff add`: the password comes from `YIBAO_STAFF_PASSWORD` or, when it is not
/// set, from the first line of standard input (never from an argument, which other users of
/// the machine can see).
pub fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(password) => password,
        Err(_) => {
            eprintln!("password (one line on standard input):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("opening the database {}", args.db))?;
        let new = NewStaff {
            display_name: args.display_name.unwrap_or_else(|| args.username.clone()),
            username: args.username,
            password,
            roles: args.roles,
            fixmedins_code: args.fixmedins_code,
            admdvs: args.admdvs,
        };
        let account = store
            .staff_create(&new, None, now_ms())
            .await
            .context("creating the account")?;
        store.close().await;
        let roles: Vec<&str> = account.roles.iter().map(|role| role.code()).collect();
        println!(
            "created staff {} `{}` with roles {}",
            account.staff_id,
            account.username,
            roles.join(", ")
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// The time now, UTC milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One demo account, as the sample file lists it.
#[derive(Debug, Clone)]
pub struct DemoStaff {
    /// Login name.
    pub username: String,
    /// Its generated password.
    pub password: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// An institution user's institution.
    pub fixmedins_code: Option<String>,
}

impl DemoStaff {
    /// The sample file's shape: `{"username", "password", "roles": […]}` and, for an
    /// institution user, `"fixmedins_code"`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({
            "username": self.username,
            "password": self.password,
            "roles": self.roles.iter().map(|role| role.code()).collect::<Vec<_>>(),
        });
        if let Some(code) = &self.fixmedins_code {
            value["fixmedins_code"] = serde_json::Value::from(code.as_str());
        }
        value
    }
}

/// Creates two demo accounts for every bureau role and one institution user for each of
/// `institutions` (two or more), with random passwords, in region `admdvs`.
pub async fn create_demo_staff(
    store: &Store,
    admdvs: &str,
    institutions: &[String],
) -> anyhow::Result<Vec<DemoStaff>> {
    let mut wanted: Vec<(String, Role, Option<String>)> = Vec::new();
    for role in Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Institution)
    {
        for n in 1..=2 {
            wanted.push((format!("{}-{n}", role.code().replace('_', "-")), role, None));
        }
    }
    for (n, code) in institutions.iter().enumerate() {
        wanted.push((
            format!("institution-{}", n + 1),
            Role::Institution,
            Some(code.clone()),
        ));
    }
    let mut created = Vec::with_capacity(wanted.len());
    let now = now_ms();
    for (username, role, fixmedins_code) in wanted {
        let password = yibao_store::staff::random_password()?;
        let new = NewStaff {
            display_name: format!("demo {username}"),
            username: username.clone(),
            password: password.clone(),
            roles: vec![role],
            fixmedins_code: fixmedins_code.clone(),
            admdvs: admdvs.to_owned(),
        };
        store
            .staff_create(&new, None, now)
            .await
            .with_context(|| format!("creating the demo staff account {username}"))?;
        created.push(DemoStaff {
            username,
            password,
            roles: vec![role],
            fixmedins_code,
        });
    }
    Ok(created)
}
