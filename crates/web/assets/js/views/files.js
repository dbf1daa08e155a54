// A session's workspace files: browse, upload, download, and share links
// (create, list, revoke). Built against the files API; says so plainly when
// this server does not have it yet.

import { csrfToken, del, get, missingRoute, post } from '../api.js';
import { h, mount, toast } from '../dom.js';

export async function filesView(app, id) {
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': 'Folder' });
  const list = h('ul', { class: 'entries', 'aria-label': 'Files' });
  const shares = h('ul', { class: 'shares', 'aria-label': 'Share links' });
  const error = h('p', { class: 'error', role: 'alert' });
  const upload = h('input', { type: 'file', id: 'upload', 'aria-label': 'Upload a file' });
  let dir = '';

  const url = (p, extra = '') => `/api/v1/sessions/${id}/files/content?path=${encodeURIComponent(p)}${extra}`;
  const load = async () => {
    error.textContent = '';
    try {
      // The root is the default; an empty `path=` is not sent.
      const listing = await get(`/api/v1/sessions/${id}/files${dir ? `?path=${encodeURIComponent(dir)}` : ''}`);
      const parts = dir ? dir.split('/') : [];
      crumbs.replaceChildren(h('a', { href: '#', onclick: (e) => { e.preventDefault(); dir = ''; load(); } }, 'workspace'),
        ...parts.map((p, i) => [' / ', h('a', { href: '#', onclick: (e) => { e.preventDefault(); dir = parts.slice(0, i + 1).join('/'); load(); } }, p)]).flat());
      list.replaceChildren(...listing.entries.map((e) => h('li', { class: 'entry ' + e.kind },
        e.kind === 'dir'
          ? h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); dir = e.path; load(); } }, e.name + '/')
          : h('a', { href: url(e.path, '&download=1'), download: e.name, class: 'download' }, e.name),
        h('span', { class: 'muted' }, e.kind === 'file' ? `${e.size} B` : ''),
        e.kind === 'file' ? h('button', { type: 'button', class: 'share', onclick: () => share(e.path) }, 'Share') : null)));
      if (!listing.entries.length) list.replaceChildren(h('li', { class: 'muted' }, 'Empty folder.'));
    } catch (e) {
      list.replaceChildren();
      error.textContent = missingRoute(e) ? 'File browsing is not available on this server yet.' : e.message;
    }
    loadShares();
  };
  const created = new Map();
  const loadShares = async () => {
    try {
      const { shares: all } = await get(`/api/v1/sessions/${id}/shares`);
      // The server keeps only a hash of each link's token: a link's URL is
      // known only to the page that created it.
      shares.replaceChildren(...all.filter((s) => !s.revoked_at).map((s) => h('li', { class: 'share-link' },
        created.has(s.id)
          ? h('a', { href: created.get(s.id), target: '_blank', rel: 'noopener' }, s.path)
          : h('span', { title: 'The link was shown when it was created' }, s.path), ' ',
        h('span', { class: 'muted' }, `until ${new Date(s.expires_at).toLocaleString()}`), ' ',
        h('button', { type: 'button', class: 'danger', onclick: async () => { await del(`/api/v1/sessions/${id}/shares/${s.id}`); loadShares(); } }, 'Revoke'))));
    } catch (e) {
      shares.replaceChildren(h('li', { class: 'muted' }, missingRoute(e) ? 'Share links are not available on this server yet.' : e.message));
    }
  };
  const share = async (path) => {
    try {
      const s = await post(`/api/v1/sessions/${id}/shares`, { path, expires_in_secs: 86400 });
      const link = new URL(s.url, location.href).href;
      created.set(s.id, link);
      toast(`Share link: ${link}`, 'info');
      navigator.clipboard?.writeText(link).catch(() => {});
      loadShares();
    } catch (e) { toast(e.message); }
  };
  upload.addEventListener('change', async () => {
    const file = upload.files[0];
    if (!file) return;
    const path = (dir ? dir + '/' : '') + file.name;
    const res = await fetch(url(path), { method: 'PUT', body: file, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken() } }).catch(() => null);
    if (!res || !res.ok) toast(res ? `Upload failed (${res.status})` : 'Offline: upload failed');
    else toast(`Uploaded ${path}`, 'info');
    upload.value = '';
    load();
  });

  mount(
    h('div', { class: 'session-head' }, h('a', { href: `#/s/${id}`, class: 'back', 'aria-label': 'Back to the session' }, '←'), h('h1', {}, 'Files')),
    crumbs, error, list,
    h('div', { class: 'field' }, h('label', { for: 'upload' }, 'Upload to this folder'), upload),
    h('h2', {}, 'Share links'), shares,
  );
  load();
  return null;
}
