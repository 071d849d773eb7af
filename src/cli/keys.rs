//! `constitutional-rag keys create|list|revoke`: key management on the database directly.

use clap::Subcommand;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::auth::KeyRing;
use crate::auth::exposure::always_required;
use crate::config::Config;
use crate::model::{ApiKey, Role};
use crate::store::Store;

/// Key management subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it; it is shown only this once.
    Create {
        /// A name for humans, e.g. the client that will use it.
        #[arg(long)]
        name: String,
        /// What the key may do.
        #[arg(long, value_parser = role_parser())]
        role: Role,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id; requests with it get 401 from then on.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: String,
    },
}

/// Parses a role name, listing the roles in `--help` and in errors.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str))
        .map(|name| name.parse().expect("one of the listed roles"))
}

/// Runs `command` against the database `config` names.
pub async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.storage).await?;
    let keys = KeyRing::new(store, always_required(config));
    match command {
        KeysCommand::Create { name, role } => {
            let (record, secret) = keys.create(&name, role).await?;
            eprintln!(
                "created key {} '{}' ({}); store it now, it is not shown again:",
                record.id,
                record.name,
                record.role.as_str()
            );
            println!("{secret}");
        }
        KeysCommand::List => {
            println!(
                "{:<36}  {:<7}  {:<20}  {:<20}  name",
                "id", "role", "created", "last used"
            );
            for key in keys.list().await? {
                println!("{}", list_line(&key));
            }
        }
        KeysCommand::Revoke { id } => {
            let record = keys.revoke(&id).await?;
            println!("revoked key {} '{}'", record.id, record.name);
        }
    }
    Ok(())
}

/// One row of `keys list`.
fn list_line(key: &ApiKey) -> String {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(
            || "-".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
    };
    let role = match key.revoked_at {
        Some(_) => "revoked",
        None => key.role.as_str(),
    };
    format!(
        "{:<36}  {:<7}  {:<20}  {:<20}  {}",
        key.id,
        role,
        when(Some(key.created_at)),
        when(key.last_used_at),
        key.name
    )
}
