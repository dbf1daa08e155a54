// Admin: users (create, disable, unlock), usage of everyone, the audit log.

import { get, missingRoute, post } from '../api.js';
import { field, h, money, mount, toast } from '../dom.js';

export function adminView(app) {
  if (app.me?.user.role !== 'admin') {
    mount(h('p', { class: 'error' }, 'This page is for admins.'));
    return null;
  }
  const users = h('ul', { 'aria-label': 'Users' });
  const usage = h('div', { 'aria-label': 'Usage' });
  const audit = h('ul', { class: 'audit', 'aria-label': 'Audit log' });
  const name = h('input', { autocomplete: 'off' });
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const role = h('select', {}, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'));

  const loadUsers = async () => {
    try {
      const list = await get('/api/v1/users');
      users.replaceChildren(...list.users.map((u) => h('li', {}, h('strong', {}, u.name), ` ${u.role}`,
        u.disabled ? h('span', { class: 'status s-failed' }, 'disabled') : null,
        u.locked_until ? h('button', { type: 'button', onclick: async () => { await post(`/api/v1/users/${u.id}/unlock`); loadUsers(); } }, 'Unlock') : null,
        !u.disabled && u.id !== app.me.user.id ? h('button', { type: 'button', class: 'danger', onclick: async () => { await post(`/api/v1/users/${u.id}/disable`); loadUsers(); } }, 'Disable') : null)));
    } catch (e) { users.replaceChildren(h('li', {}, e.message)); }
  };
  const loadUsage = async () => {
    try {
      const data = await get('/api/v1/admin/usage');
      const rows = data.users || data.usage || [];
      usage.replaceChildren(h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Today'), h('th', {}, 'This month'))),
        h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, r.name || r.user_id || ''),
          h('td', {}, money(r.today?.cost_usd)), h('td', {}, money(r.month?.cost_usd)))))));
    } catch (e) { usage.replaceChildren(h('p', { class: 'muted' }, missingRoute(e) ? 'Usage reports are not available on this server yet.' : e.message)); }
  };
  const loadAudit = async () => {
    try {
      const page = await get('/api/v1/audit?limit=50');
      audit.replaceChildren(...page.entries.map((a) => h('li', {}, h('time', { datetime: a.ts, class: 'muted' }, new Date(a.ts).toLocaleString()), ' ',
        h('strong', {}, a.actor_name), ' ', h('code', {}, a.action), a.target ? ` ${a.target}` : '')));
    } catch (e) { audit.replaceChildren(h('li', {}, e.message)); }
  };

  mount(
    h('h1', {}, 'Admin'),
    h('section', { class: 'card' }, h('h2', {}, 'Users'), users,
      h('form', { class: 'row', 'aria-label': 'New user', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await post('/api/v1/users', { name: name.value, password: password.value, role: role.value }); name.value = ''; password.value = ''; loadUsers(); } catch (e) { toast(e.message); }
      } }, field('Name', name), field('Password', password), field('Role', role), h('button', { type: 'submit' }, 'Create user'))),
    h('section', { class: 'card' }, h('h2', {}, 'Usage'), usage),
    h('section', { class: 'card' }, h('h2', {}, 'Audit log'), audit),
  );
  loadUsers(); loadUsage(); loadAudit();
  return null;
}
