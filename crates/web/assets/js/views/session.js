// One session: the conversation streaming live, approvals with a countdown,
// files changed, the token/cost meter, the result, cancel, and a composer
// for follow-ups (queued while a turn runs, kept offline) and steering.

import { ApiFailure, get, post } from '../api.js';
import { field, h, mount, repoOf, statusBadge, toast } from '../dom.js';
import * as outbox from '../outbox.js';
import { notify } from '../notify.js';
import { follow } from '../stream.js';
import { Conversation, diffView, meterText } from './conversation.js';

export async function sessionView(app, id) {
  let session;
  // Someone who navigates on while the session loads must not get this
  // page drawn over the next one.
  const stillHere = () => location.hash === `#/s/${id}`;
  try {
    session = await get(`/api/v1/sessions/${id}`);
  } catch (e) {
    if (!stillHere()) return null;
    mount(h('p', { class: 'error', role: 'alert' }, e instanceof ApiFailure && e.status === 404 ? 'No such session.' : e.message),
      h('a', { href: '#/sessions' }, 'Back to sessions'));
    return null;
  }
  if (!stillHere()) return null;
  const historyEnd = session.last_seq;
  const status = h('span', { class: 'status-slot' }, statusBadge(session.status));
  const meter = h('span', { class: 'meter', 'aria-label': 'Tokens and cost' }, meterText(session.usage));
  const cancel = h('button', { type: 'button', class: 'danger', id: 'cancel' }, 'Cancel');
  const approvals = h('section', { class: 'approvals', 'aria-label': 'Approvals', 'aria-live': 'assertive' });
  const log = h('div', { class: 'log', role: 'log', 'aria-label': 'Conversation' });
  const pendingBox = h('div', { class: 'pending-inputs', 'aria-label': 'Waiting to send' });
  const filesList = h('ul', { class: 'files-changed' });
  const files = h('details', { class: 'card files', hidden: true }, h('summary', {}, 'Files changed'), filesList);
  const result = h('section', { class: 'result', 'aria-label': 'Result', hidden: true });
  const text = h('textarea', { id: 'composer', rows: 2, 'aria-label': 'Message', placeholder: 'Send a follow-up…' });
  const send = h('button', { type: 'submit', class: 'primary', id: 'send' }, 'Send');
  const steer = h('button', { type: 'button', id: 'steer', title: 'Inject into the running turn' }, 'Steer');
  // Why a paused session waits (a budget, or a pause by request), and Resume.
  const pausedWhy = h('p', { class: 'paused-why' });
  const raise = h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', placeholder: 'keep the budget' });
  const resume = h('button', { type: 'button', class: 'primary' }, 'Resume');
  const paused = h('section', { class: 'card paused-note', 'aria-label': 'Paused', hidden: true },
    h('h2', {}, 'Paused'), pausedWhy,
    h('div', { class: 'row' }, field("Raise this session's token budget to", raise), resume));
  let budgetMessage = '';
  const showPaused = (reason) => {
    const why = reason === 'budget'
      ? `A budget is used up${budgetMessage ? `: ${budgetMessage}` : '.'}`
      : `Paused${reason ? ` (${reason})` : ''}.`;
    pausedWhy.textContent = why;
  };

  const setStatus = (s, reason) => {
    session.status = s;
    if (reason !== undefined) session.status_reason = reason;
    status.replaceChildren(statusBadge(s));
    const active = ['queued', 'running', 'blocked_on_approval'].includes(s);
    cancel.disabled = !active;
    steer.hidden = !active;
    send.textContent = active ? 'Queue' : 'Send';
    paused.hidden = s !== 'paused';
    if (s === 'paused') showPaused(reason ?? session.status_reason);
  };

  // Approvals: request_id → {el, timer}.
  const waiting = new Map();
  const onApproval = (req, env) => {
    if (waiting.has(req.request_id)) return;
    const left = h('span', { class: 'countdown', role: 'timer' });
    const answer = (decision) => async () => {
      el.querySelectorAll('button').forEach((b) => { b.disabled = true; });
      try {
        await post(`/api/v1/sessions/${id}/approvals/${req.request_id}`, { decision });
      } catch (e) {
        toast(e.message);
        el.querySelectorAll('button').forEach((b) => { b.disabled = false; });
      }
    };
    const el = h('div', { class: 'approval', dataset: { request: req.request_id }, role: 'group', 'aria-label': `Approve ${req.tool}` },
      h('p', { class: 'approval-title' }, h('strong', {}, `${req.tool} wants to run`), left),
      h('pre', {}, req.input && typeof req.input.command === 'string' ? req.input.command : JSON.stringify(req.input, null, 2)),
      h('p', { class: 'muted' }, req.reason),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: answer('accept') }, 'Accept'),
        h('button', { type: 'button', onclick: answer('accept_for_session') }, 'Accept for session'),
        h('button', { type: 'button', class: 'danger', onclick: answer('decline') }, 'Decline')));
    const tick = () => {
      const secs = Math.round((Date.parse(req.expires_at) - Date.now()) / 1000);
      left.textContent = secs > 0 ? `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')} left` : 'expired';
    };
    tick();
    waiting.set(req.request_id, { el, timer: setInterval(tick, 1000) });
    approvals.append(el);
    if (env.seq > historyEnd) notify('Approval needed', `${session.title}: ${req.tool}`, `#/s/${id}`);
  };
  const onResolved = (res) => {
    const w = waiting.get(res.request_id);
    if (!w) return;
    clearInterval(w.timer);
    w.el.remove();
    waiting.delete(res.request_id);
  };
  const changed = new Map();
  const diffs = new Map(); // path → [unified diff, …] of the edits seen
  const showFiles = () => {
    files.hidden = changed.size === 0;
    filesList.replaceChildren(...[...changed.values()].map((c) => h('li', { dataset: { path: c.path } },
      h('span', { class: 'change ' + c.change }, c.change), ' ', h('code', {}, c.path), ' ',
      h('span', { class: 'added' }, `+${c.lines_added}`), ' ', h('span', { class: 'removed' }, `−${c.lines_removed}`),
      ...[...diffs].filter(([p]) => p === c.path || p.endsWith('/' + c.path)).flatMap(([, ds]) => ds.map(diffView)))));
  };
  const onFile = (f) => { changed.set(f.path, f); showFiles(); };
  const onDiff = (path, diff) => {
    diffs.set(path, [...(diffs.get(path) || []), diff]);
    showFiles();
  };
  const onStatus = (d, env) => {
    setStatus(d.status, d.reason ?? null);
    if (env.seq > historyEnd && ['idle', 'completed', 'failed'].includes(d.status)) {
      notify(d.status === 'failed' ? 'Session failed' : 'Session finished', session.title, `#/s/${id}`);
    }
  };
  const onResult = (r) => {
    result.hidden = false;
    result.replaceChildren(h('h2', {}, 'Result'),
      r.branch ? h('p', {}, 'Branch ', h('code', {}, r.branch), r.pushed ? ' (pushed)' : '') : null,
      r.pr_url ? h('p', {}, h('a', { href: r.pr_url, target: '_blank', rel: 'noopener noreferrer' }, 'Pull request')) : null,
      r.error ? h('p', { class: 'error' }, r.error) : null);
  };
  const onBudget = (d) => { budgetMessage = d.message; if (session.status === 'paused') showPaused(session.status_reason); };
  const conversation = new Conversation(log, {
    onBudget, onApproval, onResolved, onFile, onDiff, onStatus, onResult, onUsage: (u) => { meter.textContent = meterText(u); },
  });

  const showPending = (items) => pendingBox.replaceChildren(...items
    .filter((i) => i.sessionId === id)
    .map((i) => h('div', { class: 'msg user queued offline' }, h('span', { class: 'tag' }, 'waiting for network'), h('div', { class: 'body' }, i.body.text))));
  const offPending = outbox.onChange(showPending);
  outbox.pending().then(showPending).catch(() => {});

  const form = h('form', {
    class: 'composer',
    'aria-label': 'Follow-up',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      text.value = '';
      try {
        const answer = await outbox.submit({ path: `/api/v1/sessions/${id}/messages`, kind: 'message', sessionId: id, body: { text: body }, label: body.slice(0, 60) });
        if (answer instanceof Error) toast(answer.message);
      } catch (e) {
        toast(e.message);
      }
    },
  }, text, h('div', { class: 'actions' }, steer, send));
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
  steer.addEventListener('click', async () => {
    const body = text.value.trim();
    if (!body) return;
    try {
      await post(`/api/v1/sessions/${id}/steer`, { text: body });
      text.value = '';
    } catch (e) { toast(e.message); }
  });
  resume.addEventListener('click', async () => {
    const tokens = raise.value.trim();
    resume.disabled = true;
    try {
      const view = await post(`/api/v1/sessions/${id}/resume`, tokens ? { budget: { tokens: Math.round(Number(tokens)) } } : {});
      raise.value = '';
      setStatus(view.status, view.status_reason ?? null);
    } catch (e) {
      toast(e.message);
    } finally {
      resume.disabled = false;
    }
  });
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      const view = await post(`/api/v1/sessions/${id}/cancel`);
      setStatus(view.status);
    } catch (e) {
      toast(e.message);
      cancel.disabled = false;
    }
  });

  mount(
    h('div', { class: 'session-head' },
      h('a', { href: '#/sessions', class: 'back', 'aria-label': 'Back to sessions' }, '←'),
      h('h1', {}, session.title || '(untitled)'),
      status),
    h('p', { class: 'session-meta muted' }, h('span', {}, repoOf(session)), ' · ', meter, ' · ',
      h('a', { href: `#/s/${id}/files` }, 'Files')),
    paused, approvals, log, pendingBox, files, result, form,
    h('div', { class: 'session-actions' }, cancel),
  );
  setStatus(session.status);
  const stream = follow(id, 0, (env) => conversation.apply(env));
  return () => {
    stream.stop();
    offPending();
    waiting.forEach((w) => clearInterval(w.timer));
  };
}
