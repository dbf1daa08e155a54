//! `agentd-testkit anthropic [--port N] [--token-delay-ms N]`: the fake
//! Anthropic API as a process. Prints `ANTHROPIC_BASE_URL=…` first, then
//! serves until killed; script it through `/__testkit/*`.
//! `agentd-testkit openai [...]` does the same for the OpenAI-compatible
//! fake and prints `OPENAI_BASE_URL=…`.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use agentd_testkit::{FakeAnthropic, FakeOpenAi, FakeOptions};
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
    /// Serve the fake OpenAI-compatible Chat Completions API on 127.0.0.1.
    Openai {
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Delay before every SSE chunk, to simulate generation speed.
        #[arg(long)]
        token_delay_ms: Option<u64>,
        /// Accept requests without `Authorization: Bearer`, like Ollama.
        #[arg(long)]
        no_auth: bool,
    },
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = |token_delay_ms: Option<u64>| FakeOptions {
        token_delay: token_delay_ms.map(Duration::from_millis),
    };
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    // Keep the fake alive (dropping it stops the server) until Ctrl-C.
    let _fake: Box<dyn std::any::Any> = match Cli::parse().command {
        Command::Anthropic {
            port,
            token_delay_ms,
        } => {
            let fake = FakeAnthropic::bind(addr(port), options(token_delay_ms)).await?;
            announce("ANTHROPIC_BASE_URL", &fake.base_url())?;
            Box::new(fake)
        }
        Command::Openai {
            port,
            token_delay_ms,
            no_auth,
        } => {
            let fake = FakeOpenAi::bind(addr(port), options(token_delay_ms)).await?;
            fake.set_require_auth(!no_auth);
            announce("OPENAI_BASE_URL", &fake.base_url())?;
            Box::new(fake)
        }
    };
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The one line scripts wait for before using the server.
fn announce(variable: &str, base_url: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{variable}={base_url}")?;
    stdout.flush()
}
