// The offline outbox: every message, new session and new task is written to
// IndexedDB first, with an Idempotency-Key, then sent. What could not be sent
// (offline, server away) stays and is sent again on reconnect with the same
// key, so the server acts on it exactly once however often it is retried.

import { ApiFailure, newKey, request } from './api.js';

const DB = 'agentd';
const STORE = 'outbox';
const changed = new Set();
let flushing = null;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => { db.close(); resolve(result && 'result' in result ? result.result : undefined); };
    t.onerror = () => { db.close(); reject(t.error); };
  });
}

export async function pending() {
  const all = (await tx('readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => a.created - b.created);
}

export function onChange(fn) { changed.add(fn); return () => changed.delete(fn); }
function notify() { pending().then((items) => changed.forEach((fn) => fn(items))).catch(() => {}); }

// Queue `{path, body, kind, sessionId, label}` and try to send it now.
// Resolves with the server's answer when it was sent, or null when it waits.
export async function submit(item) {
  const entry = { ...item, key: newKey(), created: Date.now() };
  await tx('readwrite', (s) => s.put(entry));
  notify();
  const results = await flush();
  return results.get(entry.key) ?? null;
}

// Send everything queued, oldest first, one at a time; stop at the first
// network failure. Only one flush runs at a time.
export function flush() {
  if (!flushing) {
    flushing = run().finally(() => { flushing = null; notify(); });
  }
  return flushing;
}

async function run() {
  const results = new Map();
  for (const entry of await pending()) {
    try {
      const answer = await request(entry.path, { method: 'POST', body: entry.body, idempotencyKey: entry.key });
      results.set(entry.key, answer);
      await tx('readwrite', (s) => s.delete(entry.key));
    } catch (e) {
      if (!(e instanceof ApiFailure) || e.offline || e.status >= 500 || e.status === 409 || e.status === 401) {
        break; // try again later, with the same key
      }
      // Refused for good (validation, gone): drop it and say why.
      await tx('readwrite', (s) => s.delete(entry.key));
      results.set(entry.key, e);
      window.dispatchEvent(new CustomEvent('outbox-refused', { detail: { entry, error: e } }));
    }
  }
  return results;
}

export function start() {
  window.addEventListener('online', () => flush());
  setInterval(() => { if (navigator.onLine) flush(); }, 5000);
  flush();
}
