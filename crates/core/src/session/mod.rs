//! Sessions in memory: the registry of live sessions, each one's queue,
//! steers, approvals and driver, the engine side of the turn seam
//! (`LocalHost`), status changes, the typed engine state stored with a
//! session, and the one teardown path.

pub(crate) mod approvals;
pub(crate) mod driver;
pub(crate) mod host;
pub(crate) mod live;
pub(crate) mod registry;
pub(crate) mod settings;
pub(crate) mod status;
pub(crate) mod teardown;
pub(crate) mod view;
