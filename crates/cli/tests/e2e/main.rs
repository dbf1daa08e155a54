#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The end-to-end suite: real `agentd serve` and `agentd run` processes,
//! the testkit's fakes for the services they talk to, and assertions made
//! only through what a client sees (HTTP, SSE, WebSocket, a browser, the
//! process's output and files). One test binary, so the harness in
//! [`common`] compiles once; one module per area of the product.
//!
//! One area: `cargo nextest run -p agentd-cli --test e2e -E 'test(/^sessions::/)'`
//! (or `cargo test -p agentd-cli --test e2e sessions::`).

#[macro_use]
mod common;

// Sessions, their events and their streams.
mod replay;
mod sessions;
mod streams;

// What a turn may do: approvals, hooks, the sandbox, MCP, model failures.
mod approvals;
mod hooks;
mod mcp;
mod model_faults;
mod sandbox_escape;

// Work without a person: tasks, GitHub webhooks, `agentd run`.
mod run_cli;
mod tasks;
mod webhooks;

// Files and workspaces.
mod files;
mod workspace_ttl;

// Accounts, credentials and who may see what.
mod auth;
mod authz_matrix;
mod credentials;
mod github_login;
mod login_throttle;
mod secrets_in_logs;
mod tenancy;
mod web_login;

// Limits: quotas, idempotency, the API's edges, hostile input.
mod api;
mod hostile_input;
mod idempotency;
mod quotas;

// The web UI in a real browser.
mod web_ui;

// Reliability: connections, crashes, long runs.
mod connections;
mod crash;
mod crash_loop;
mod soak;
