//! The `agentd` binary: argument parsing and wiring. The only crate that
//! prints to stdout and uses `anyhow`.

mod admin;
mod approve;
mod auth_args;
mod config;
mod redact;
mod render;
mod run;
mod serve;
mod serve_options;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "agentd", version, about = "Run AI coding agents as a service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server: API, event streams and (soon) the web UI.
    Serve(Box<serve::ServeArgs>),
    /// Run one agent task in the terminal and stream its events.
    Run(run::RunArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Manage users and tokens directly on the data dir or database.
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agentd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::serve(*args).await.map(|()| ExitCode::SUCCESS),
            Command::Run(args) => run::run(args).await,
            Command::Admin(args) => admin::admin(args).await,
            Command::Openapi => {
                println!("{}", agentd_server::openapi_json());
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    // Do not wait for blocking threads still busy (a render past its budget,
    // an archive being written): `serve` has already had its deadline.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("agentd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
