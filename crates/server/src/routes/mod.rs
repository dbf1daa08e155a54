pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod sessions;
pub(crate) mod ws;
