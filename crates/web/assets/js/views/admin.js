// Admin: users (create, disable, unlock, quotas), everyone's usage against
// their limits, and the audit log with filters and NDJSON/CSV export.

import { get, post, put } from '../api.js';
import { field, h, mount, toast } from '../dom.js';
import { limitsForm, usageTable } from './usage.js';

export function adminView(app) {
  if (app.me?.user.role !== 'admin') {
    mount(h('p', { class: 'error' }, 'This page is for admins.'));
    return null;
  }
  const users = h('ul', { class: 'users', 'aria-label': 'Users' });
  const quotas = h('div', { class: 'quotas' });
  const usage = h('div', { class: 'usage' });
  const audit = h('ul', { class: 'audit', 'aria-label': 'Audit log' });
  const name = h('input', { autocomplete: 'off', required: true });
  const password = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const role = h('select', {}, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'));

  const act = (fn) => async () => { try { await fn(); } catch (e) { toast(e.message); } };
  const editQuotas = async (u) => {
    const view = await get(`/api/v1/users/${u.id}/quotas`);
    quotas.replaceChildren(limitsForm(`Quotas of ${u.name}`, view.overrides, view.effective, async (limits) => {
      const saved = await put(`/api/v1/users/${u.id}/quotas`, limits);
      toast(`Quotas of ${u.name} saved.`, 'info');
      loadUsage();
      return saved;
    }, () => quotas.replaceChildren()));
    quotas.querySelector('input')?.focus();
  };
  const loadUsers = async () => {
    try {
      const list = await get('/api/v1/users');
      users.replaceChildren(...list.users.map((u) => h('li', { dataset: { name: u.name } }, h('strong', {}, u.name), ` ${u.role} `,
        u.disabled ? h('span', { class: 'status s-failed' }, 'disabled') : null,
        u.locked_until ? h('button', { type: 'button', onclick: act(async () => { await post(`/api/v1/users/${u.id}/unlock`); loadUsers(); }) }, `Unlock ${u.name}`) : null,
        h('button', { type: 'button', onclick: act(() => editQuotas(u)), 'aria-label': `Quotas of ${u.name}` }, 'Quotas'),
        !u.disabled && u.id !== app.me.user.id ? h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${u.name}`, onclick: act(async () => { await post(`/api/v1/users/${u.id}/disable`); loadUsers(); }) }, 'Disable') : null)));
    } catch (e) { users.replaceChildren(h('li', {}, e.message)); }
  };
  const loadUsage = async () => {
    try {
      const data = await get('/api/v1/admin/usage');
      usage.replaceChildren(usageTable(data.users, 'Usage of every user'));
    } catch (e) { usage.replaceChildren(h('p', { class: 'muted' }, e.message)); }
  };

  const actor = h('input', { autocomplete: 'off', placeholder: 'any' });
  const action = h('input', { autocomplete: 'off', placeholder: 'e.g. session.cancel', autocapitalize: 'none' });
  const ndjson = h('a', { class: 'button', download: 'audit.ndjson' }, 'Export NDJSON');
  const csv = h('a', { class: 'button', download: 'audit.csv' }, 'Export CSV');
  const auditQuery = () => {
    const q = new URLSearchParams();
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (action.value.trim()) q.set('action', action.value.trim());
    return q;
  };
  const loadAudit = async () => {
    const q = auditQuery();
    const exportQ = new URLSearchParams(q);
    exportQ.set('limit', '100000');
    exportQ.set('format', 'ndjson');
    ndjson.href = `/api/v1/audit?${exportQ}`;
    exportQ.set('format', 'csv');
    csv.href = `/api/v1/audit?${exportQ}`;
    q.set('limit', '50');
    try {
      const page = await get(`/api/v1/audit?${q}`);
      audit.replaceChildren(...page.entries.map((a) => h('li', { dataset: { action: a.action } }, h('time', { datetime: a.ts, class: 'muted' }, new Date(a.ts).toLocaleString()), ' ',
        h('strong', {}, a.actor_name), ' ', h('code', {}, a.action), a.target ? ` ${a.target}` : '')));
      if (!page.entries.length) audit.replaceChildren(h('li', { class: 'muted' }, 'No entries match.'));
    } catch (e) { audit.replaceChildren(h('li', {}, e.message)); }
  };

  mount(
    h('h1', {}, 'Admin'),
    h('section', { class: 'card' }, h('h2', {}, 'Users'), users, quotas,
      h('form', { class: 'row', 'aria-label': 'New user', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await post('/api/v1/users', { name: name.value, password: password.value, role: role.value }); name.value = ''; password.value = ''; loadUsers(); loadUsage(); } catch (e) { toast(e.message); }
      } }, field('Name', name), field('Password', password), field('Role', role), h('button', { type: 'submit' }, 'Create user'))),
    h('section', { class: 'card' }, h('h2', {}, 'Usage'), usage),
    h('section', { class: 'card' }, h('h2', {}, 'Audit log'),
      h('form', { class: 'row', 'aria-label': 'Filter the audit log', onsubmit: (ev) => { ev.preventDefault(); loadAudit(); } },
        field('Actor', actor), field('Action', action), h('button', { type: 'submit' }, 'Filter'), ndjson, csv),
      audit),
  );
  loadUsers(); loadUsage(); loadAudit();
  return null;
}
