//! `shorty user …` and `shorty key …`: users and their API keys, straight
//! on the store, printed as the API shows them.

use clap::Subcommand;

use super::describe;
use crate::domain::UserId;
use crate::links::view::now_ms;
use crate::users::input::{KeyBody, UserBody};
use crate::users::view::{IssuedKeyView, KeyView, UserView};
use crate::users::UserService;

/// Users per store round trip of `user list`.
const PAGE: u32 = 1000;

/// `shorty user …`.
#[derive(Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// Create or update a user
    Put {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// Show a user as JSON
    Get { id: String },
    /// Write every user to stdout as JSON lines, in id order
    List,
    /// Delete a user and revoke their keys (their links stay)
    Delete { id: String },
}

/// `shorty key …`.
#[derive(Subcommand, Debug, Clone)]
pub enum KeyCommand {
    /// Issue an API key; its secret is printed this once
    Issue {
        user: String,
        #[arg(long)]
        name: Option<String>,
        /// RFC 3339; the key never expires without it
        #[arg(long)]
        expires_at: Option<String>,
        /// links:read, links:write or stats:read; repeat for more [default: all]
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Write a user's keys (not revoked ones) as JSON lines, no secrets
    List { user: String },
    /// Revoke a key
    Revoke { user: String, key_id: String },
}

fn user_id(raw: &str) -> anyhow::Result<UserId> {
    UserId::parse(raw).map_err(|e| anyhow::anyhow!("{raw:?} is not a user id: {e}"))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Says so when a revocation could not be announced to running servers.
fn warn_if_unannounced(announced: bool) {
    if !announced {
        eprintln!(
            "warning: Redis could not be told about this revocation; running \
             instances may accept the key for up to 30 s"
        );
    }
}

/// Runs a `user` command.
pub async fn user(users: &UserService, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Put { id, name, email } => {
            let body = UserBody {
                name: Some(name),
                email: Some(email),
            };
            let (user_id, name, email) = body.validate(&id).map_err(describe)?;
            let (user, created) = users.put(user_id, name, email).await.map_err(describe)?;
            print_json(&UserView::of(user))?;
            eprintln!("{} user {id}", if created { "created" } else { "updated" });
        }
        UserCommand::Get { id } => {
            let user = users.get(user_id(&id)?.as_str()).await.map_err(describe)?;
            print_json(&UserView::of(user))?;
        }
        UserCommand::List => {
            let mut after: Option<String> = None;
            loop {
                let page = users.list(after.as_deref(), PAGE).await.map_err(describe)?;
                let full = page.len() == PAGE as usize;
                after = page.last().map(|u| u.id.clone());
                for user in page {
                    print_json(&UserView::of(user))?;
                }
                if !full {
                    break;
                }
            }
        }
        UserCommand::Delete { id } => {
            let announced = users
                .delete(user_id(&id)?.as_str())
                .await
                .map_err(describe)?;
            warn_if_unannounced(announced);
            eprintln!("deleted user {id} and revoked their keys");
        }
    }
    Ok(())
}

/// Runs a `key` command.
pub async fn key(users: &UserService, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Issue {
            user,
            name,
            expires_at,
            scopes,
        } => {
            let body = KeyBody {
                name,
                expires_at,
                scopes: (!scopes.is_empty()).then_some(scopes),
            };
            let spec = body.validate(now_ms()).map_err(describe)?;
            let issued = users
                .issue_key(
                    user_id(&user)?.as_str(),
                    spec.name,
                    spec.expires_at,
                    spec.scopes,
                )
                .await
                .map_err(describe)?;
            print_json(&IssuedKeyView {
                info: KeyView::of(&issued.record),
                key: issued.secret,
            })?;
            eprintln!(
                "issued key {} to {user}; its secret is shown only now",
                issued.record.id
            );
        }
        KeyCommand::List { user } => {
            let keys = users
                .list_keys(user_id(&user)?.as_str())
                .await
                .map_err(describe)?;
            for key in &keys {
                print_json(&KeyView::of(key))?;
            }
        }
        KeyCommand::Revoke { user, key_id } => {
            let announced = users
                .revoke_key(user_id(&user)?.as_str(), &key_id)
                .await
                .map_err(describe)?;
            warn_if_unannounced(announced);
            eprintln!("revoked key {key_id}");
        }
    }
    Ok(())
}
