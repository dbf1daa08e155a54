// The conversation as a pure function of the event log: each event updates
// the DOM in place (a message, a tool card, an approval…), so replaying the
// log after a reload or a reconnect builds exactly the same page.

import { post } from '../api.js';
import { h, html, money } from '../dom.js';

const RENDER_EVERY_MS = 400;

export class Conversation {
  constructor(root, handlers) {
    this.root = root; // role=log container
    this.handlers = handlers; // {onApproval(req), onResolved(res), onStatus, onUsage, onFile, onResult}
    this.messages = new Map(); // message_id → {el, text, textEl, thinkingEl, rendered, timer}
    this.tools = new Map(); // call_id → {el, out, started}
    this.queuedInputs = [];
  }

  apply(env) {
    const d = env.data;
    switch (env.type) {
      case 'turn.started': return this.userTurn(d);
      case 'input.queued': return this.inputQueued(d);
      case 'message.started': return d.role === 'assistant' ? this.message(d.message_id) : null;
      case 'text.delta': return this.text(d.message_id, d.text);
      case 'thinking.delta': return this.thinking(d.message_id, d.text);
      case 'message.completed': return this.completed(d);
      case 'tool.started': return this.toolStarted(d, env.ts);
      case 'tool.output': return this.toolOutput(d);
      case 'tool.completed': return this.toolCompleted(d);
      case 'permission.requested': return this.handlers.onApproval(d, env);
      case 'permission.resolved': return this.resolved(d);
      case 'file.changed': return this.handlers.onFile(d);
      case 'usage': return this.handlers.onUsage(d.totals);
      case 'session.status': return this.handlers.onStatus(d, env);
      case 'task.result': return this.handlers.onResult(d);
      case 'budget.exceeded': this.handlers.onBudget(d); return this.note(`Paused: ${d.message}`, 'budget');
      case 'turn.completed': return this.note(`Turn ${d.turn} ended: ${d.stop_reason.replaceAll('_', ' ')}${d.denied ? `, ${d.denied} refused` : ''}`, 'turn-end');
      case 'checkpoint.created': return null;
      case 'checkpoint.restored': return this.note(`Workspace restored to turn ${d.turn}`);
      case 'error': return this.error(d);
      default: return null;
    }
  }

  add(el) {
    const stick = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 80;
    this.root.append(el);
    if (stick) el.scrollIntoView({ block: 'end' });
    return el;
  }

  userTurn(d) {
    // A follow-up announced by input.queued becomes this turn's bubble.
    const i = this.queuedInputs.findIndex((q) => q.text === d.input && q.kind === 'message');
    if (i >= 0) {
      const [q] = this.queuedInputs.splice(i, 1);
      q.el.classList.remove('queued');
      q.el.querySelector('.tag')?.remove();
      return q.el;
    }
    return this.add(h('div', { class: 'msg user' }, h('div', { class: 'body' }, d.input)));
  }

  inputQueued(d) {
    const el = this.add(h('div', { class: 'msg user queued', dataset: { input: d.input_id } },
      h('span', { class: 'tag' }, d.kind === 'steer' ? 'steer' : 'queued'), h('div', { class: 'body' }, d.text)));
    if (d.kind === 'steer') el.classList.add('steer');
    else this.queuedInputs.push({ text: d.text, kind: d.kind, el });
  }

  message(id) {
    let m = this.messages.get(id);
    if (!m) {
      const el = this.add(h('div', { class: 'msg assistant', dataset: { message: id } }));
      m = { el, text: '', textEl: null, thinkingEl: null, rendered: '', timer: null };
      this.messages.set(id, m);
    }
    return m;
  }

  text(id, delta) {
    const m = this.message(id);
    if (!m.textEl) m.textEl = m.el.appendChild(h('div', { class: 'body md streaming' }));
    m.text += delta;
    // Plain text at once, Markdown a moment later (throttled).
    if (!m.rendered) m.textEl.textContent = m.text;
    else m.textEl.append(delta);
    if (!m.timer) m.timer = setTimeout(() => { m.timer = null; this.render(m); }, RENDER_EVERY_MS);
  }

  async render(m, final = false) {
    const text = m.text;
    if (!text || (text === m.rendered && !final)) return;
    try {
      const { html: safe } = await post('/api/v1/render/markdown', { text });
      if (m.text !== text && !final) return; // a newer render follows
      html(m.textEl, safe);
      m.rendered = text;
      if (m.text.length > text.length) m.textEl.append(m.text.slice(text.length));
    } catch {
      m.textEl.textContent = m.text; // offline: plain text is fine
    }
  }

  thinking(id, delta) {
    const m = this.message(id);
    if (!m.thinkingEl) {
      const pre = h('div', { class: 'thinking-text' });
      const box = h('details', { class: 'thinking' }, h('summary', {}, 'Thinking'), pre);
      m.el.prepend(box);
      m.thinkingEl = pre;
    }
    m.thinkingEl.textContent += delta;
  }

  completed(d) {
    if (d.role !== 'assistant') return;
    const m = this.messages.get(d.message_id);
    if (!m) return;
    clearTimeout(m.timer);
    m.timer = null;
    const text = d.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n\n');
    if (text && m.textEl) {
      m.text = text;
      m.textEl.classList.remove('streaming');
      this.render(m, true);
    }
  }

  toolStarted(d, ts) {
    const out = h('pre', { class: 'output', 'aria-label': 'Output' });
    const status = h('span', { class: 'tool-status running' }, 'running');
    const el = this.add(h('section', { class: 'tool', dataset: { call: d.call_id }, 'aria-label': `Tool ${d.tool}` },
      h('header', {}, h('strong', { class: 'tool-name' }, d.tool), status, h('span', { class: 'duration muted' }),
        typeof d.input?.command === 'string' ? h('code', { class: 'command' }, d.input.command) : null),
      h('details', { class: 'input', open: true }, h('summary', {}, 'Input'), h('pre', {}, summarize(d.tool, d.input))),
      out));
    this.tools.set(d.call_id, { el, out, status, started: Date.parse(ts) });
    const edit = editOf(d.input);
    if (edit) this.diff(el, edit);
  }

  // An edit's diff, made by the server from the tool's input.
  async diff(card, edit) {
    try {
      const { diff } = await post('/api/v1/render/diff', edit);
      const view = diffView(diff);
      card.querySelector('details.input').after(h('details', { class: 'diff', open: true }, h('summary', {}, `Diff of ${edit.path}`), view));
      this.handlers.onDiff?.(edit.path, diff);
    } catch { /* the input above still shows the change */ }
  }

  toolOutput(d) {
    const t = this.tools.get(d.call_id);
    if (!t) return;
    const span = h('span', { class: d.stream }, d.chunk);
    t.out.append(span);
    t.out.scrollTop = t.out.scrollHeight;
  }

  toolCompleted(d) {
    const t = this.tools.get(d.call_id);
    if (!t) return;
    t.status.textContent = d.ok ? 'done' : 'failed';
    t.status.className = 'tool-status ' + (d.ok ? 'ok' : 'failed');
    t.el.querySelector('.duration').textContent = formatMs(d.duration_ms);
    t.el.querySelector('details.input').open = false;
    if (!t.out.textContent && d.output) t.out.textContent = d.output;
    t.el.classList.add('done');
  }

  resolved(d) {
    this.handlers.onResolved(d);
    const t = this.tools.get(d.call_id);
    const text = `${d.decision.replaceAll('_', ' ')} by ${d.by === 'timeout' ? 'timeout' : 'a person'}`;
    if (t) t.el.querySelector('header').append(h('span', { class: 'decision muted' }, text));
    else this.note(`Approval: ${text}`);
  }

  note(text, cls = '') { return this.add(h('p', { class: 'note ' + cls }, text)); }

  error(d) {
    return this.add(h('p', { class: 'note error-note', role: 'status' },
      d.retryable ? `The model stream broke (${d.message}); retrying.` : `Error: ${d.message}`));
  }
}

// {path, old, new} for the builtin and Claude Code edit and write tools.
function editOf(input) {
  if (!input || typeof input !== 'object') return null;
  const path = input.path || input.file_path;
  if (typeof path !== 'string') return null;
  if (typeof input.old_string === 'string' && typeof input.new_string === 'string') {
    return { path, old: input.old_string, new: input.new_string };
  }
  if (typeof input.content === 'string') return { path, old: '', new: input.content };
  return null;
}

export function diffView(diff) {
  return h('pre', { class: 'diff-lines' }, diff.split('\n').filter((l, i, all) => l || i < all.length - 1).map((line) => {
    const cls = line.startsWith('+++') || line.startsWith('---') ? 'file'
      : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'ctx';
    return h('span', { class: 'line ' + cls }, line + '\n');
  }));
}

function summarize(tool, input) {
  if (input && typeof input.command === 'string') return input.command;
  return JSON.stringify(input, null, 2);
}

export function formatMs(ms) {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function meterText(u) {
  const tokens = (u.input_tokens || 0) + (u.cache_read_tokens || 0) + (u.cache_write_tokens || 0);
  return `${tokens.toLocaleString()} in · ${(u.output_tokens || 0).toLocaleString()} out · ${money(u.cost_usd)}`;
}
