//! `agentd-testkit anthropic [--port N] [--token-delay-ms N]`: the fake
//! Anthropic API as a process. Prints `ANTHROPIC_BASE_URL=…` first, then
//! serves until killed; script it through `/__testkit/*`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, FakeOptions};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "agentd-testkit",
    about = "Scripted fakes of the services agentd talks to"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the fake Anthropic Messages API on 127.0.0.1.
    Anthropic {
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Delay before every SSE event, to simulate generation speed.
        #[arg(long)]
        token_delay_ms: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Command::Anthropic {
        port,
        token_delay_ms,
    } = Cli::parse().command;
    let options = FakeOptions {
        token_delay: token_delay_ms.map(Duration::from_millis),
    };
    let fake = FakeAnthropic::bind(SocketAddr::from(([127, 0, 0, 1], port)), options).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ANTHROPIC_BASE_URL={}", fake.base_url())?;
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    drop(fake);
    Ok(())
}
