// Usage and limits, shared by Settings (your own, GET /api/v1/usage) and
// Admin (everyone's, GET /api/v1/admin/usage; quotas per user).

import { field, h, money, toast } from '../dom.js';

// The Limits fields, in the order people think of them.
const LIMITS = [
  ['daily_tokens', 'Tokens per day', 'int'],
  ['daily_cost_usd', 'Cost per day (USD)', 'usd'],
  ['monthly_tokens', 'Tokens per month', 'int'],
  ['monthly_cost_usd', 'Cost per month (USD)', 'usd'],
  ['session_tokens', 'Tokens per session', 'int'],
  ['session_cost_usd', 'Cost per session (USD)', 'usd'],
  ['max_running_sessions', 'Running sessions at once', 'int'],
  ['max_sessions', 'Sessions kept', 'int'],
];

const num = (n) => (n ?? 0).toLocaleString('en-US');
const limitText = (v, kind) => (v === null || v === undefined ? 'no limit' : kind === 'usd' ? money(v) : num(v));

function windowText(w, tokenLimit, costLimit) {
  const of = (v, limit, fmt) => (limit === null || limit === undefined ? fmt(v) : `${fmt(v)} of ${fmt(limit)}`);
  return `${of(w.tokens, tokenLimit, num)} tokens · ${of(w.cost_usd, costLimit, money)}`;
}

// A table of UserUsage rows.
export function usageTable(rows, caption) {
  return h('table', { class: 'usage-table' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ['User', 'Today', 'This month', 'Sessions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { user: r.name } },
      h('th', { scope: 'row' }, r.name),
      h('td', { class: 'today' }, windowText(r.today, r.limits.daily_tokens, r.limits.daily_cost_usd)),
      h('td', { class: 'month' }, windowText(r.month, r.limits.monthly_tokens, r.limits.monthly_cost_usd)),
      h('td', { class: 'counts' }, `${r.running_sessions} running · ${r.sessions} kept`)))));
}

// The limits that apply, as a definition list.
export function limitsList(limits) {
  return h('dl', { class: 'limits' }, LIMITS.flatMap(([key, label, kind]) => [h('dt', {}, label), h('dd', { dataset: { limit: key } }, limitText(limits[key], kind))]));
}

// A form editing a user's overrides (empty: the server default, shown as
// the placeholder). `onSave(limits)` resolves to the new QuotaView.
export function limitsForm(title, overrides, effective, onSave, onClose) {
  const inputs = LIMITS.map(([key, label, kind]) => {
    const input = h('input', {
      type: 'number', min: '0', step: kind === 'usd' ? '0.01' : '1', inputmode: kind === 'usd' ? 'decimal' : 'numeric',
      name: key, value: overrides[key] ?? '', placeholder: overrides[key] == null ? `default: ${limitText(effective[key], kind)}` : 'server default',
    });
    return [key, kind, label, input];
  });
  const form = h('form', {
    class: 'card limits-form', 'aria-label': title,
    onsubmit: async (ev) => {
      ev.preventDefault();
      const limits = {};
      for (const [key, kind, , input] of inputs) {
        const v = input.value.trim();
        limits[key] = v === '' ? null : kind === 'usd' ? Number(v) : Math.round(Number(v));
      }
      try { await onSave(limits); onClose(); } catch (e) { toast(e.message); }
    },
  }, h('h3', {}, title), h('div', { class: 'grid' }, inputs.map(([, , label, input]) => field(label, input))),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save quotas'), h('button', { type: 'button', onclick: onClose }, 'Close')));
  return form;
}
