//! `agentd admin`: account management working directly on the data dir or
//! database, with no server running (and safe while one is).

use std::io::Read;
use std::process::ExitCode;

use agentd_accounts::accounts::{self, Bootstrap};
use agentd_accounts::audit::Actor;
use agentd_protocol::{Scope, UserRole};
use agentd_store::{Store, TokenKind};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};

use crate::config::{CommonArgs, Config};

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage personal access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; prints a generated password unless --password-stdin.
    Create {
        name: String,
        #[arg(long, default_value = "member", value_parser = parse_role)]
        role: UserRole,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Disable a user: their tokens stop working at once.
    Disable {
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Clear a user's failed logins and lock.
    Unlock {
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a personal access token and print it (only the token).
    Create {
        #[arg(long)]
        user: String,
        /// read, write or admin (default: write, admin for admins).
        #[arg(long, value_parser = parse_scope)]
        scope: Option<Scope>,
        /// Expire after this many days, 1 to 3650 (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(agentd_accounts::accounts::MAX_TOKEN_DAYS)))]
        expires_in_days: Option<u32>,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn parse_role(s: &str) -> Result<UserRole, String> {
    s.parse().map_err(|_| "admin or member".to_owned())
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse().map_err(|_| "read, write or admin".to_owned())
}

pub async fn admin(args: AdminArgs) -> Result<ExitCode> {
    match args.command {
        AdminCommand::User(UserCommand::Create {
            name,
            role,
            password_stdin,
            common,
        }) => {
            let store = open(&common).await?;
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (generate_password(), true)
            };
            let user =
                accounts::create_user_as(&store, Actor::cli(), &name, role, Some(password.clone()))
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
            println!("created {} {} ({})", user.role, user.name, user.id);
            if generated {
                println!("password: {password}");
            }
        }
        AdminCommand::User(UserCommand::List { common }) => {
            let store = open(&common).await?;
            for u in store.list_users().await? {
                let state = match (&u.disabled_at, &u.locked_until) {
                    (Some(_), _) => "disabled",
                    (None, Some(_)) => "locked",
                    (None, None) => "active",
                };
                println!("{}\t{}\t{}\t{}", u.name, u.role, state, u.id);
            }
        }
        AdminCommand::User(UserCommand::Disable { name, common }) => {
            let store = open(&common).await?;
            let user = find_user(&store, &name).await?;
            accounts::disable_user(&store, Actor::cli(), &user.id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("disabled {name}");
        }
        AdminCommand::User(UserCommand::Unlock { name, common }) => {
            let store = open(&common).await?;
            let user = find_user(&store, &name).await?;
            accounts::unlock_user(&store, Actor::cli(), &user.id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            println!("unlocked {name}");
        }
        AdminCommand::Token(TokenCommand::Create {
            user,
            scope,
            expires_in_days,
            name,
            common,
        }) => {
            let store = open(&common).await?;
            let user = find_user(&store, &user).await?;
            let scope = scope.unwrap_or(user.role.max_scope());
            let (secret, _) = accounts::create_personal_token(
                &store,
                Actor::cli(),
                &user,
                &name,
                scope,
                expires_in_days,
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            println!("{secret}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `admin` on a first start with no users; prints its one-time
/// password if it was generated (never to the log).
pub async fn bootstrap(store: &Store) -> Result<()> {
    let given = std::env::var("AGENTD_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match accounts::bootstrap_admin(store, given)
        .await
        .map_err(|e| anyhow!("cannot create the admin user: {e}"))?
    {
        Bootstrap::Existing => {}
        Bootstrap::CreatedWithGivenPassword => {
            println!("agentd: created user admin (password from AGENTD_ADMIN_PASSWORD)");
        }
        Bootstrap::CreatedWithGeneratedPassword(password) => {
            println!("agentd: created user admin with one-time password: {password}");
            println!("agentd: log in and create a token; this password is not shown again");
        }
    }
    Ok(())
}

async fn open(common: &CommonArgs) -> Result<Store> {
    let config = Config::load(common, None)?;
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    }
    Store::connect(&config.database())
        .await
        .context("cannot open the database")
}

async fn find_user(store: &Store, name: &str) -> Result<agentd_store::UserRecord> {
    store
        .get_user_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name}"))
}

fn read_password() -> Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("cannot read the password from standard input")?;
    let password = input.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn generate_password() -> String {
    let token = agentd_accounts::secret::generate(TokenKind::Ticket);
    token[agentd_accounts::secret::prefix(TokenKind::Ticket).len()..][..24].to_owned()
}
