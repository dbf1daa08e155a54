// A few DOM helpers: `h` builds elements without innerHTML, so text from the
// server is always text. The only HTML inserted is the server's sanitized
// Markdown (`html(el, safe)`).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function html(el, sanitized) { el.innerHTML = sanitized; return el; }

export function mount(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children.flat().filter(Boolean));
  return main;
}

export function toast(message, kind = 'error') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: 'toast ' + kind }, message);
  box.append(t);
  setTimeout(() => t.remove(), 6000);
}

export function money(usd) {
  if (!usd) return '$0.00';
  return usd < 0.01 ? '<$0.01' : '$' + usd.toFixed(2);
}

export function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return new Date(iso).toLocaleDateString();
}

export function statusBadge(status) {
  return h('span', { class: 'status s-' + status }, status.replaceAll('_', ' '));
}

export function repoOf(session) {
  const w = session.workspace || {};
  return w.git ? w.git.url + (w.git.branch ? ' @ ' + w.git.branch : '') : (w.path || '');
}

export function field(label, input, hint) {
  const id = input.id || ('f-' + Math.random().toString(36).slice(2));
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}
