//! Accounts: users, passwords and tokens, and the audit log of what was
//! done to them. The rules live here once; the API's routes and the
//! `agentd admin` command line (which works on the database directly) both
//! call them, each naming its `Actor`.
//!
//! *Invariant: no HTTP.* The server maps `AccountError` to its answers.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod accounts;
pub mod audit;
pub mod logins;
pub mod secret;

pub use accounts::AccountError;
pub use audit::Actor;
