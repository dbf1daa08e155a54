//! The OpenAI fake's memory: the shared [`Script`] of replies (its replies
//! carry quirks), plus quirks for every turn and the auth switch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::model::{Script, Scripted};
use crate::openai::script::{OpenAiReply, Quirk};

pub(crate) struct OpenAiShared {
    pub script: Script<OpenAiReply>,
    /// Applied to every turn, on top of the turn's own.
    quirks: Mutex<Vec<Quirk>>,
    require_auth: AtomicBool,
}

impl OpenAiShared {
    pub fn new(script: Script<OpenAiReply>) -> Self {
        Self {
            script,
            quirks: Mutex::new(Vec::new()),
            require_auth: AtomicBool::new(true),
        }
    }

    pub fn set_quirks(&self, quirks: Vec<Quirk>) {
        // A panicking test thread must not take every later request down with it.
        *self.quirks.lock().unwrap_or_else(PoisonError::into_inner) = quirks;
    }

    pub fn quirks(&self) -> Vec<Quirk> {
        self.quirks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_require_auth(&self, required: bool) {
        self.require_auth.store(required, Ordering::Relaxed);
    }

    pub fn require_auth(&self) -> bool {
        self.require_auth.load(Ordering::Relaxed)
    }
}

impl Scripted for OpenAiShared {
    type Reply = OpenAiReply;

    fn script(&self) -> &Script<OpenAiReply> {
        &self.script
    }

    /// Forgets replies, the default, quirks, recorded requests and counters
    /// (not whether auth is required).
    fn reset(&self) {
        self.script.reset();
        self.set_quirks(Vec::new());
    }
}
