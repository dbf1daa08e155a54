//! The only place tool types are erased: name → `Arc<dyn Tool>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::builtin;
use crate::tool::{Tool, ToolSpec};

/// Tools by name. A `BTreeMap` so [`Registry::specs`] has a stable order,
/// which keeps the model's prompt (and its cache) identical across turns.
#[derive(Clone, Default)]
pub struct Registry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every built-in tool.
    pub fn builtin() -> Self {
        let mut registry = Self::new();
        for tool in builtin::all() {
            registry.register(tool);
        }
        registry
    }

    /// Adds `tool` under its spec's name, returning any tool it replaced.
    pub fn register(&mut self, tool: Arc<dyn Tool>) -> Option<Arc<dyn Tool>> {
        self.tools.insert(tool.spec().name, tool)
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools.get(name).cloned()
    }

    /// Specs sorted by name.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|tool| tool.spec()).collect()
    }

    /// Names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.tools.keys().cloned().collect()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("tools", &self.names())
            .finish()
    }
}
