// Settings: your own model/GitHub keys (BYOK), personal access tokens and
// MCP servers.

import { del, get, missingRoute, post, put } from '../api.js';
import { field, h, mount, toast } from '../dom.js';

export function settingsView(app) {
  const creds = h('ul', { 'aria-label': 'Keys' });
  const tokens = h('ul', { 'aria-label': 'Tokens' });
  const mcp = h('ul', { 'aria-label': 'MCP servers' });

  const loadCreds = async () => {
    try {
      const { credentials } = await get('/api/v1/credentials');
      creds.replaceChildren(...['anthropic', 'openai', 'github'].map((p) => {
        const have = credentials.find((c) => c.provider === p);
        const input = h('input', { type: 'password', autocomplete: 'off', 'aria-label': `${p} key` });
        return h('li', { class: 'cred' }, h('strong', {}, p), ' ',
          h('span', { class: 'muted' }, have ? `…${have.hint}` : 'not set'), ' ', input,
          h('button', { type: 'button', onclick: async () => { if (!input.value) return; try { await put(`/api/v1/credentials/${p}`, { secret: input.value }); loadCreds(); } catch (e) { toast(e.message); } } }, 'Save'),
          have ? h('button', { type: 'button', class: 'danger', onclick: async () => { await del(`/api/v1/credentials/${p}`); loadCreds(); } }, 'Remove') : null);
      }));
    } catch (e) { creds.replaceChildren(h('li', { class: 'muted' }, e.message)); }
  };
  const tokenName = h('input', { 'aria-label': 'New token name', placeholder: 'name' });
  const tokenScope = h('select', { 'aria-label': 'Scope' }, ['read', 'write'].map((s) => h('option', { value: s }, s)));
  const created = h('p', { class: 'secret', role: 'status' });
  const loadTokens = async () => {
    try {
      const list = await get('/api/v1/tokens');
      tokens.replaceChildren(...list.tokens.map((t) => h('li', {}, h('strong', {}, t.name), ` ${t.scope} `,
        h('span', { class: 'muted' }, t.last_used_at ? `used ${new Date(t.last_used_at).toLocaleString()}` : 'never used'), ' ',
        h('button', { type: 'button', class: 'danger', onclick: async () => { await del(`/api/v1/tokens/${t.id}`); loadTokens(); } }, 'Revoke'))));
    } catch (e) { tokens.replaceChildren(h('li', { class: 'muted' }, e.message)); }
  };
  const mcpName = h('input', { 'aria-label': 'MCP server name', placeholder: 'name' });
  const mcpTarget = h('input', { 'aria-label': 'Command or URL', placeholder: 'npx some-server  or  https://…' });
  const loadMcp = async () => {
    try {
      const { servers } = await get('/api/v1/mcp/servers');
      mcp.replaceChildren(...servers.map((s) => h('li', {}, h('strong', {}, s.name), ` ${s.transport} `,
        h('code', {}, s.url || [s.command, ...(s.args || [])].join(' ')), ' ',
        h('button', { type: 'button', onclick: async () => { const r = await post(`/api/v1/mcp/servers/${s.id}/check`); toast(r.ok ? `${s.name}: ${r.tools.length} tools` : `${s.name}: ${r.error}`, r.ok ? 'info' : 'error'); } }, 'Check'),
        h('button', { type: 'button', class: 'danger', onclick: async () => { await del(`/api/v1/mcp/servers/${s.id}`); loadMcp(); } }, 'Remove'))));
      if (!servers.length) mcp.replaceChildren(h('li', { class: 'muted' }, 'No MCP servers.'));
    } catch (e) { mcp.replaceChildren(h('li', { class: 'muted' }, missingRoute(e) ? 'MCP servers are not available on this server yet.' : e.message)); }
  };

  mount(
    h('h1', {}, 'Settings'),
    h('section', { class: 'card' }, h('h2', {}, 'Your API keys'), h('p', { class: 'muted' }, 'Sessions you start use these instead of the server’s keys. Stored encrypted; never shown again.'), creds),
    h('section', { class: 'card' }, h('h2', {}, 'Personal access tokens'), tokens,
      h('form', { class: 'row', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const t = await post('/api/v1/tokens', { name: tokenName.value || 'token', scope: tokenScope.value });
          created.textContent = `New token (copy it now, it is not shown again): ${t.token}`;
          tokenName.value = '';
          loadTokens();
        } catch (e) { toast(e.message); }
      } }, tokenName, tokenScope, h('button', { type: 'submit' }, 'Create token')), created),
    h('section', { class: 'card' }, h('h2', {}, 'MCP servers'), mcp,
      h('form', { class: 'row', onsubmit: async (ev) => {
        ev.preventDefault();
        const target = mcpTarget.value.trim();
        const body = /^https?:\/\//.test(target) ? { name: mcpName.value, url: target } : { name: mcpName.value, command: target.split(/\s+/)[0], args: target.split(/\s+/).slice(1) };
        try { await post('/api/v1/mcp/servers', body); mcpName.value = ''; mcpTarget.value = ''; loadMcp(); } catch (e) { toast(e.message); }
      } }, field('Name', mcpName), field('Command or URL', mcpTarget), h('button', { type: 'submit' }, 'Add'))),
  );
  loadCreds(); loadTokens(); loadMcp();
  return null;
}
