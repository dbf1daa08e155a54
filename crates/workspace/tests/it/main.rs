//! Integration tests against real git: temp dirs, local bare remotes, no network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checkpoint;
mod cleanup;
mod common;
mod finish;
mod prepare;
mod remote;
