// The sessions list: live status (refreshed every few seconds), repository,
// title, cost and last activity, filtered by status.

import { get } from '../api.js';
import { ago, h, money, mount, repoOf, statusBadge } from '../dom.js';
import * as outbox from '../outbox.js';

const STATUSES = ['', 'queued', 'running', 'blocked_on_approval', 'idle', 'completed', 'failed', 'cancelled', 'interrupted', 'paused'];
const REFRESH_MS = 3000;

export function sessionsView() {
  const filter = h('select', { id: 'status-filter', 'aria-label': 'Filter by status' },
    STATUSES.map((s) => h('option', { value: s }, s ? s.replaceAll('_', ' ') : 'all statuses')));
  const list = h('ul', { class: 'sessions', 'aria-label': 'Sessions', 'aria-busy': 'true' });
  const queued = h('ul', { class: 'sessions queued', 'aria-label': 'Waiting to send' });
  const error = h('p', { class: 'error', role: 'alert' });
  mount(
    h('div', { class: 'toolbar' },
      h('h1', {}, 'Sessions'),
      filter,
      h('a', { href: '#/new', class: 'button primary' }, 'New session')),
    error, queued, list,
  );

  let timer = null;
  let stopped = false;
  const load = async () => {
    clearTimeout(timer);
    try {
      const q = filter.value ? `?status=${filter.value}` : '';
      const page = await get('/api/v1/sessions' + q);
      if (stopped) return;
      error.textContent = '';
      list.replaceChildren(...(page.sessions.length ? page.sessions.map(row)
        : [h('li', { class: 'empty muted' }, 'No sessions yet. Start one with “New session”.')]));
      list.setAttribute('aria-busy', 'false');
    } catch (e) {
      if (!stopped) error.textContent = e.offline ? 'Offline: showing the last list.' : e.message;
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
  };
  const showQueued = (items) => queued.replaceChildren(...items
    .filter((i) => i.kind !== 'message')
    .map((i) => h('li', { class: 'session pending' }, h('span', { class: 'title' }, i.label), h('span', { class: 'status s-queued' }, 'waiting for network'))));
  filter.addEventListener('change', load);
  const off = outbox.onChange(showQueued);
  outbox.pending().then(showQueued).catch(() => {});
  load();
  return () => { stopped = true; clearTimeout(timer); off(); };
}

function row(s) {
  return h('li', { class: 'session', dataset: { id: s.id, status: s.status } },
    h('a', { href: `#/s/${s.id}`, class: 'title' }, s.title || '(untitled)'),
    statusBadge(s.status),
    h('span', { class: 'repo muted' }, repoOf(s)),
    h('span', { class: 'cost' }, money(s.usage?.cost_usd)),
    h('time', { datetime: s.updated_at, class: 'muted' }, ago(s.updated_at)));
}
