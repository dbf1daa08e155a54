// Settings: your own model/GitHub keys (BYOK; only their hints are ever
// shown), personal access tokens (the secret shown once), MCP servers
// (add, check, remove) and your usage against your limits.

import { del, get, post, put } from '../api.js';
import { field, h, mount, toast } from '../dom.js';
import { limitsList, usageTable } from './usage.js';

const PROVIDERS = [['anthropic', 'Anthropic'], ['openai', 'OpenAI'], ['github', 'GitHub']];

export function settingsView() {
  const creds = h('ul', { class: 'creds', 'aria-label': 'Keys' });
  const tokens = h('ul', { class: 'tokens', 'aria-label': 'Tokens' });
  const mcp = h('ul', { class: 'mcp-servers', 'aria-label': 'MCP servers' });
  const usage = h('div', { class: 'my-usage' });
  const act = (fn) => async () => { try { await fn(); } catch (e) { toast(e.message); } };

  const loadCreds = async () => {
    try {
      const { credentials } = await get('/api/v1/credentials');
      creds.replaceChildren(...PROVIDERS.map(([p, label]) => {
        const have = credentials.find((c) => c.provider === p);
        const input = h('input', { type: 'password', autocomplete: 'off', 'aria-label': `${label} key`, placeholder: have ? 'replace…' : 'paste a key' });
        const save = async () => {
          if (!input.value) return;
          await put(`/api/v1/credentials/${p}`, { secret: input.value });
          input.value = '';
          toast(`${label} key saved.`, 'info');
          loadCreds();
        };
        input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') act(save)(); });
        return h('li', { class: 'cred', dataset: { provider: p } }, h('strong', {}, label), ' ',
          h('span', { class: 'hint muted' }, have ? `…${have.hint}` : 'not set'), ' ', input,
          h('button', { type: 'button', 'aria-label': `Save ${label} key`, onclick: act(save) }, 'Save'),
          have ? h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${label} key`, onclick: act(async () => { await del(`/api/v1/credentials/${p}`); loadCreds(); }) }, 'Remove') : null);
      }));
    } catch (e) { creds.replaceChildren(h('li', { class: 'muted' }, e.message)); }
  };

  const tokenName = h('input', { 'aria-label': 'New token name', placeholder: 'name', autocomplete: 'off' });
  const tokenScope = h('select', { 'aria-label': 'Scope' }, ['read', 'write'].map((s) => h('option', { value: s }, s)));
  const created = h('p', { class: 'secret', role: 'status' });
  const loadTokens = async () => {
    try {
      const list = await get('/api/v1/tokens');
      tokens.replaceChildren(...list.tokens.map((t) => h('li', { dataset: { name: t.name } }, h('strong', {}, t.name), ` ${t.scope} `,
        h('span', { class: 'muted' }, t.last_used_at ? `used ${new Date(t.last_used_at).toLocaleString()}` : 'never used'), ' ',
        t.revoked_at ? h('span', { class: 'status s-cancelled' }, 'revoked')
          : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: act(async () => { await del(`/api/v1/tokens/${t.id}`); created.textContent = ''; loadTokens(); }) }, 'Revoke'))));
      if (!list.tokens.length) tokens.replaceChildren(h('li', { class: 'muted' }, 'No tokens.'));
    } catch (e) { tokens.replaceChildren(h('li', { class: 'muted' }, e.message)); }
  };

  const mcpName = h('input', { placeholder: 'letters, digits, - and _', autocomplete: 'off', autocapitalize: 'none', required: true });
  const mcpTarget = h('input', { placeholder: 'npx some-server  or  https://…', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true });
  const check = (s, out) => act(async () => {
    out.textContent = 'Checking…';
    const r = await post(`/api/v1/mcp/servers/${s.id}/check`);
    out.className = r.ok ? 'check ok' : 'check error';
    out.textContent = r.ok ? `OK: ${r.tools.length} tools (${r.tools.slice(0, 5).map((t) => t.name).join(', ')}${r.tools.length > 5 ? ', …' : ''})` : `Failed: ${r.error}`;
  });
  const loadMcp = async () => {
    try {
      const { servers } = await get('/api/v1/mcp/servers');
      mcp.replaceChildren(...servers.map((s) => {
        const out = h('span', { class: 'check', role: 'status' });
        return h('li', { dataset: { name: s.name } }, h('strong', {}, s.name), ` ${s.transport} `,
          h('code', {}, s.url || [s.command, ...(s.args || [])].join(' ')),
          h('button', { type: 'button', 'aria-label': `Check ${s.name}`, onclick: check(s, out) }, 'Check'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${s.name}`, onclick: act(async () => { await del(`/api/v1/mcp/servers/${s.id}`); loadMcp(); }) }, 'Remove'),
          out);
      }));
      if (!servers.length) mcp.replaceChildren(h('li', { class: 'muted' }, 'No MCP servers.'));
    } catch (e) { mcp.replaceChildren(h('li', { class: 'muted' }, e.message)); }
  };

  const loadUsage = async () => {
    try {
      const mine = await get('/api/v1/usage');
      usage.replaceChildren(usageTable([mine], 'Your usage'), h('h3', {}, 'Your limits'), limitsList(mine.limits));
    } catch (e) { usage.replaceChildren(h('p', { class: 'muted' }, e.message)); }
  };

  mount(
    h('h1', {}, 'Settings'),
    h('section', { class: 'card' }, h('h2', {}, 'Your API keys'), h('p', { class: 'muted' }, 'Sessions you start use these instead of the server’s keys. Stored encrypted; only the last characters are ever shown.'), creds),
    h('section', { class: 'card' }, h('h2', {}, 'Personal access tokens'), tokens,
      h('form', { class: 'row', 'aria-label': 'New token', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const t = await post('/api/v1/tokens', { name: tokenName.value || 'token', scope: tokenScope.value });
          created.textContent = `New token (copy it now, it is not shown again): ${t.token}`;
          tokenName.value = '';
          loadTokens();
        } catch (e) { toast(e.message); }
      } }, tokenName, tokenScope, h('button', { type: 'submit' }, 'Create token')), created),
    h('section', { class: 'card' }, h('h2', {}, 'MCP servers'), mcp,
      h('form', { class: 'row', 'aria-label': 'New MCP server', onsubmit: async (ev) => {
        ev.preventDefault();
        const [command, ...args] = mcpTarget.value.trim().split(/\s+/);
        const body = /^https?:\/\//.test(command) ? { name: mcpName.value.trim(), url: command } : { name: mcpName.value.trim(), command, args };
        try { await post('/api/v1/mcp/servers', body); mcpName.value = ''; mcpTarget.value = ''; loadMcp(); } catch (e) { toast(e.message); }
      } }, field('Server name', mcpName), field('Command or URL', mcpTarget), h('button', { type: 'submit' }, 'Add server'))),
    h('section', { class: 'card' }, h('h2', {}, 'Your usage'), usage),
  );
  loadCreds(); loadTokens(); loadMcp(); loadUsage();
  return null;
}
