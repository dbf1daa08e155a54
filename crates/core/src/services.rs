//! What the engine is built from, made once at start and shared read-only:
//! the store, the event log and bus, and the runner kit turns run with.
//!
//! Sessions and turns hold an `Arc<Services>`; none of them reaches back
//! into the `SessionManager`.

use std::sync::Arc;

use agentd_llm::ModelClient;
use agentd_store::Store;
use agentd_tools::Registry;
use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::config::EngineConfig;
use crate::event_log::EventLog;
use crate::turn::RunnerKit;

pub(crate) struct Services {
    pub(crate) config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) log: EventLog,
    pub(crate) bus: Arc<EventBus>,
    /// What turns run with (model, tools, sandbox, workspaces, the Claude
    /// Code CLI); the part of the engine a remote worker also has.
    pub(crate) kit: Arc<RunnerKit>,
    /// Cancelled on shutdown: running turns end as `interrupted`.
    pub(crate) shutdown: CancellationToken,
}

impl Services {
    pub(crate) async fn start(
        config: EngineConfig,
        store: Store,
        model: Arc<dyn ModelClient>,
        tools: Registry,
    ) -> Self {
        let bus = Arc::new(EventBus::new(config.subscriber_buffer));
        let log = EventLog::start(store.clone(), bus.clone());
        let sandbox = crate::sandbox::detect(config.sandbox).await;
        let kit = Arc::new(RunnerKit::new(&config, model, tools, sandbox));
        Self {
            config,
            store,
            log,
            bus,
            kit,
            shutdown: CancellationToken::new(),
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }
}
