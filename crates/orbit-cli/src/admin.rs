//! `orbit admin`: keys and console operators, made on a data directory.

use crate::data_dir;
use anyhow::{Context, bail};
use clap::Subcommand;
use orbit_core::{Clock, SourceId, SystemClock, WorkspaceId};
use orbit_store::{KeyKind, Scope};
use orbit_store_sqlite::Durability;
use std::path::PathBuf;

/// Administrative commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Mint a key and print it on the last line of output.
    CreateKey {
        /// `write` (sends events for one source) or `api` (management API, with scopes).
        #[arg(long)]
        kind: String,
        /// Scopes of an API key, comma-separated: profiles:read, profiles:write, events:write, admin.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The source a write key sends as (e.g. web, ios, pos) [default: default].
        #[arg(long)]
        source: Option<String>,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// The workspace the key acts in.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Data directory [env ORBIT_DATA_DIR].
        #[arg(long, env = "ORBIT_DATA_DIR", default_value = "./orbit-data")]
        data_dir: PathBuf,
    },
    /// Add a console operator (the first admin, say). The password is read from
    /// standard input when it is piped; at a terminal a strong one is generated and
    /// printed on the last line.
    CreateUser {
        /// What they log in with: an email address or a name.
        #[arg(long)]
        login: String,
        /// admin, marketer, analyst or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
        /// A name for people [default: the login].
        #[arg(long)]
        name: Option<String>,
        /// The workspace they work in.
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Data directory [env ORBIT_DATA_DIR].
        #[arg(long, env = "ORBIT_DATA_DIR", default_value = "./orbit-data")]
        data_dir: PathBuf,
    },
}

/// Runs an admin command.
pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateKey {
            kind,
            scopes,
            source,
            name,
            workspace,
            data_dir,
        } => {
            let kind = KeyKind::parse(&kind)
                .with_context(|| format!("--kind must be write or api, not {kind:?}"))?;
            let scopes = scopes
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if kind == KeyKind::Api && scopes.is_empty() {
                bail!("an API key needs --scopes (profiles:read, profiles:write, events:write, admin)");
            }
            if kind == KeyKind::Write && !scopes.is_empty() {
                bail!("write keys have no scopes; they only send events");
            }
            let workspace = WorkspaceId::parse(&workspace).map_err(|e| anyhow::anyhow!("--workspace {e}"))?;
            let source = source
                .map(|s| SourceId::parse(&s))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--source {e}"))?;
            if source.as_ref().is_some_and(SourceId::is_system) {
                bail!("--source orbit is reserved for the events Orbit appends itself");
            }
            let (store, hasher) = data_dir::open(&data_dir, Durability::Full).await?;
            let stores = store.clone().into_stores();
            if stores.workspaces.workspace(&workspace).await?.is_none() {
                bail!("workspace {workspace} does not exist");
            }
            let name = name.unwrap_or_else(|| format!("{} key", kind.as_str()));
            let now = SystemClock.now().as_millisecond();
            let spec = orbit_engine::service::keys::KeySpec {
                kind,
                name,
                scopes,
                source,
            };
            let minted = hasher.mint(workspace, spec, now);
            stores.keys.create_key(&minted.record).await?;
            store.close().await;
            println!(
                "created {} key {} in workspace {}",
                kind.as_str(),
                minted.record.id,
                minted.record.workspace_id
            );
            println!("{}", minted.secret);
            Ok(())
        }
        AdminCommand::CreateUser {
            login,
            role,
            name,
            workspace,
            data_dir,
        } => create_user(login, role, name, &workspace, &data_dir).await,
    }
}

async fn create_user(
    login: String,
    role: String,
    name: Option<String>,
    workspace: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let workspace = WorkspaceId::parse(workspace).map_err(|e| anyhow::anyhow!("--workspace {e}"))?;
    let (password, generated) = if std::io::stdin().is_terminal() {
        let random = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        (random[..24].to_owned(), true)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    };
    let (store, hasher) = data_dir::open(data_dir, Durability::Full).await?;
    let stores = store.clone().into_stores();
    if stores.workspaces.workspace(&workspace).await?.is_none() {
        bail!("workspace {workspace} does not exist");
    }
    let operators = orbit_engine::service::Operators::new(
        stores.operators.clone(),
        hasher,
        orbit_engine::service::SessionPolicy::default(),
    );
    let shown = generated.then(|| password.clone());
    let request = orbit_engine::service::operators::NewOperator {
        login,
        name,
        role,
        password,
    };
    let created = operators.create(&workspace, request).await;
    store.close().await;
    let operator = match created {
        Ok(operator) => operator,
        Err(orbit_engine::EngineError::Rejected(problem)) => bail!(
            "{}{}",
            problem.field.map(|f| format!("--{f}: ")).unwrap_or_default(),
            problem.message
        ),
        Err(other) => return Err(other.into()),
    };
    println!(
        "created {} {} ({}) in workspace {}",
        operator.role.as_str(),
        operator.login,
        operator.id,
        workspace
    );
    if let Some(password) = shown {
        println!("password (shown once; change it after logging in):");
        println!("{password}");
    }
    Ok(())
}
