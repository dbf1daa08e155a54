// The app: checks who is logged in, routes `#/…` hashes to screens, and
// starts the outbox and the service worker.

import { get, onUnauthorized, post } from './api.js';
import { mount, toast } from './dom.js';
import * as outbox from './outbox.js';
import { askPermission } from './notify.js';
import { loginView } from './views/login.js';
import { sessionsView } from './views/sessions.js';
import { newView } from './views/new.js';
import { sessionView } from './views/session.js';
import { filesView } from './views/files.js';
import { settingsView } from './views/settings.js';
import { adminView } from './views/admin.js';

export const app = { me: null, cleanup: null };
let routeGeneration = 0;

const routes = [
  [/^#\/sessions$/, () => sessionsView(app)],
  [/^#\/new$/, () => newView(app)],
  [/^#\/s\/([^/]+)$/, (id) => sessionView(app, id)],
  [/^#\/s\/([^/]+)\/files$/, (id) => filesView(app, id)],
  [/^#\/settings$/, () => settingsView(app)],
  [/^#\/admin$/, () => adminView(app)],
];

async function route() {
  if (app.cleanup) { app.cleanup(); app.cleanup = null; }
  const generation = ++routeGeneration;
  if (!app.me) {
    app.cleanup = loginView(app, loggedIn) || null;
    return;
  }
  const hash = location.hash || '#/sessions';
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) {
      markNav(hash);
      const cleanup = (await view(...m.slice(1))) || null;
      // A later navigation finished first: this view is already gone.
      if (generation !== routeGeneration) { if (cleanup) cleanup(); return; }
      app.cleanup = cleanup;
      document.getElementById('main').focus({ preventScroll: true });
      return;
    }
  }
  location.hash = '#/sessions';
}

function markNav(hash) {
  document.querySelectorAll('#nav a').forEach((a) => {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

function loggedIn(me) {
  app.me = me;
  document.getElementById('nav').hidden = false;
  document.getElementById('nav-admin').hidden = me.user.role !== 'admin';
  askPermission();
  outbox.flush();
  if (!location.hash || location.hash === '#/login') location.hash = '#/sessions';
  else route();
}

function loggedOut(note) {
  app.me = null;
  app.note = note;
  document.getElementById('nav').hidden = true;
  route();
}

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  }
  onUnauthorized(() => { if (app.me) loggedOut('Your session has expired. Log in again.'); });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await post('/api/v1/auth/logout'); } catch { /* ended anyway */ }
    loggedOut('You are logged out.');
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('outbox-refused', (e) => {
    toast(`Not sent: ${e.detail.entry.label}: ${e.detail.error.message}`);
  });
  const badge = document.getElementById('outbox-badge');
  outbox.onChange((items) => {
    badge.hidden = items.length === 0;
    badge.textContent = items.length ? `${items.length} waiting to send` : '';
  });
  outbox.start();
  try {
    const me = await get('/api/v1/auth/me');
    loggedIn(me);
  } catch (e) {
    if (e.offline) mount(document.createTextNode('Offline: agentd cannot be reached. Messages you queue are kept.'));
    loggedOut(e.offline ? 'The server cannot be reached.' : null);
  }
}

start();
