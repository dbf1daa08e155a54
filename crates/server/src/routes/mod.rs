pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod ws;
