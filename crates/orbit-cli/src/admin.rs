//! `orbit admin`: key management on a data directory.

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
    }
}
