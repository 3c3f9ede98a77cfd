//! The command line: `serve` (the default) and the store-admin commands
//! (links, users and keys).

mod accounts;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::analytics::rollup::Deriver;
use crate::config::{Config, ConfigLayer};
use crate::domain::UserId;
use crate::links::import::{ImportFormat, ImportOptions};
use crate::links::input::CreateBody;
use crate::links::view::now_ms;
use crate::links::LinkService;
use crate::shutdown::shutdown_signal;
use crate::startup::Application;
use crate::store;
use crate::users::UserService;

/// Command-line arguments; config flags are accepted before or after the command.
#[derive(Parser, Debug)]
#[command(
    name = "shorty",
    version,
    about = "A fast, self-contained URL shortener"
)]
pub struct Cli {
    /// Config file [default: ./shorty.toml when it exists]
    #[arg(long = "config", env = "SHORTY_CONFIG", global = true)]
    pub config_file: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigLayer,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Create or update the database schema
    Migrate,
    /// Create a link
    Create {
        url: String,
        #[arg(long)]
        alias: Option<String>,
    },
    /// Show a link as JSON
    Get { code: String },
    /// Delete a link
    Delete { code: String },
    /// Write all live links to stdout as JSON lines
    Export,
    /// Import links: shorty's JSON lines, or another shortener's export
    Import {
        /// File to read [default: stdin]
        file: Option<PathBuf>,
        /// jsonl (shorty export), shlink (CSV), bitly (CSV), yourls (CSV of
        /// yourls_url) or chhoto (JSON)
        #[arg(long, default_value = "jsonl", value_parser = parse_format)]
        format: ImportFormat,
        /// Report what would be imported without writing anything
        #[arg(long)]
        dry_run: bool,
        /// User id to own every imported link that names no owner itself
        #[arg(long, value_parser = parse_owner)]
        owner: Option<UserId>,
    },
    /// Print the effective configuration, secrets redacted
    PrintConfig,
    /// Manage users: put, get, list, delete
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Manage API keys: issue, list, revoke
    #[command(subcommand)]
    Key(accounts::KeyCommand),
}

impl Cli {
    /// The command to run, `serve` when none was given.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
    }

    /// The effective configuration from flags, environment and file.
    pub fn load_config(&self) -> Result<Config, String> {
        Config::load(self.config.clone(), self.config_file.as_deref())
    }
}

/// Runs `command`; errors are printed to stderr and give exit code 1.
pub async fn run(command: Command, config: Config) -> ExitCode {
    match execute(command, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shorty: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let signal = shutdown_signal();
            let app = Application::build(config).await?;
            app.run_until_stopped(signal).await?;
        }
        Command::PrintConfig => print!("{}", config.to_redacted_toml()),
        Command::Migrate => {
            let store = store::connect(&config.database_url, &config.store_options()).await?;
            store.migrate().await?;
            store.close().await;
            eprintln!("migrations applied to {}", redacted_db(&config));
        }
        Command::Create { url, alias } => {
            let links = open(&config).await?;
            let body = CreateBody {
                url: Some(url),
                alias,
                ..CreateBody::default()
            };
            let created = async {
                let spec = body.validate(links.rules(), now_ms())?;
                links.create(spec, None).await
            };
            let record = created.await.map_err(describe)?;
            println!("{}", serde_json::to_string_pretty(&links.view(&record))?);
            warn_if_unannounced(&links).await;
            links.store().close().await;
        }
        Command::Get { code } => {
            let links = open(&config).await?;
            let record = links.get(&code).await.map_err(describe)?;
            println!("{}", serde_json::to_string_pretty(&links.view(&record))?);
        }
        Command::Delete { code } => {
            let links = open(&config).await?;
            links.delete(&code).await.map_err(describe)?;
            warn_if_unannounced(&links).await;
            links.store().close().await;
            eprintln!("deleted {code}");
        }
        Command::Export => {
            let links = open(&config).await?;
            transfer::export(&links).await?;
        }
        Command::User(command) => {
            let (links, users) = open_users(&config).await?;
            accounts::user(&users, command).await?;
            links.store().close().await;
        }
        Command::Key(command) => {
            let (links, users) = open_users(&config).await?;
            accounts::key(&users, command).await?;
            links.store().close().await;
        }
        Command::Import {
            file,
            format,
            dry_run,
            owner,
        } => {
            let links = open(&config).await?;
            let options = ImportOptions {
                format,
                dry_run,
                owner,
            };
            let report = transfer::import(&links, file.as_deref(), &options).await;
            if !dry_run {
                warn_if_unannounced(&links).await;
            }
            links.store().close().await;
            if report?.rejected > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_format(name: &str) -> Result<ImportFormat, String> {
    ImportFormat::parse(name).ok_or_else(|| {
        let names: Vec<&str> = ImportFormat::ALL.iter().map(|(_, n)| *n).collect();
        format!("one of {}", names.join(", "))
    })
}

fn parse_owner(id: &str) -> Result<UserId, String> {
    UserId::parse(id)
}

/// Running servers learn about a CLI write through Redis; if Redis could
/// not be told within a few seconds, says so rather than exiting quietly.
async fn warn_if_unannounced(links: &LinkService) {
    if !links.finish_announcements(Duration::from_secs(3)).await {
        eprintln!(
            "warning: Redis could not be told about this change; running \
             instances may serve their cached copy for up to 5 minutes"
        );
    }
}

async fn open(config: &Config) -> anyhow::Result<LinkService> {
    let store = store::connect(&config.database_url, &config.store_options()).await?;
    store.migrate().await?;
    LinkService::start(config, store, Deriver::without_geoip())
        .await
        .map_err(anyhow::Error::msg)
}

/// The user service over the configured store and Redis (the link
/// service is opened too, as it owns the Redis connection).
async fn open_users(config: &Config) -> anyhow::Result<(LinkService, UserService)> {
    let links = open(config).await?;
    let users = UserService::new(Arc::clone(links.store()), links.redis().cloned());
    Ok((links, users))
}

fn redacted_db(config: &Config) -> String {
    config
        .to_redacted_toml()
        .lines()
        .find_map(|l| l.strip_prefix("database_url = ").map(str::to_owned))
        .unwrap_or_default()
}

/// Turns an API error into a one-line CLI message, field errors included.
fn describe(e: crate::error::AppError) -> anyhow::Error {
    let problem = e.problem();
    let fields: Vec<String> = problem
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", problem.detail)
    } else {
        anyhow::anyhow!("{} ({})", problem.detail, fields.join("; "))
    }
}
