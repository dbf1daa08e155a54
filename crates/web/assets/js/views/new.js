// Start a session or a task: repository URL or local path, branch, prompt,
// runtime, model and permission mode. Sent through the outbox, so a form
// submitted offline starts once the network is back.

import { field, h, mount, toast } from '../dom.js';
import * as outbox from '../outbox.js';

export function newView() {
  const kind = h('select', { name: 'kind' }, h('option', { value: 'session' }, 'Session (interactive)'), h('option', { value: 'task' }, 'Task (ends with a branch / PR)'));
  const repo = h('input', { name: 'repo', required: true, placeholder: 'https://github.com/org/repo.git or /srv/code/repo', autocapitalize: 'none', spellcheck: 'false' });
  const branch = h('input', { name: 'branch', placeholder: 'main', autocapitalize: 'none' });
  const prompt = h('textarea', { name: 'prompt', required: true, rows: 5, placeholder: 'What should the agent do?' });
  const runtime = h('select', { name: 'runtime' }, h('option', { value: 'builtin' }, 'builtin'), h('option', { value: 'claude-code' }, 'claude-code'));
  const model = h('input', { name: 'model', placeholder: 'server default', autocapitalize: 'none' });
  const mode = h('select', { name: 'permission_mode' },
    ['default', 'acceptEdits', 'plan', 'bypassPermissions', 'unattended'].map((m) => h('option', { value: m }, m)));
  const openPr = h('input', { type: 'checkbox', name: 'open_pr', checked: true });
  const prField = h('div', { class: 'field check', hidden: true }, h('label', {}, openPr, ' Open a pull request with the work'));
  kind.addEventListener('change', () => {
    prField.hidden = kind.value !== 'task';
    // Tasks run without a person by default.
    if (kind.value === 'task' && mode.value === 'default') mode.value = 'unattended';
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Start');

  const form = h('form', {
    class: 'card',
    'aria-label': 'New session',
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const where = repo.value.trim();
      const opts = {
        prompt: prompt.value,
        runtime: runtime.value,
        permission_mode: mode.value,
        ...(model.value.trim() ? { model: model.value.trim() } : {}),
      };
      const isUrl = /^[a-z+]+:\/\/|^git@/.test(where);
      const b = branch.value.trim();
      const item = kind.value === 'task'
        ? { path: '/api/v1/tasks', kind: 'task', body: { repo: where, ...(b ? { branch: b } : {}), open_pr: openPr.checked, ...opts } }
        : { path: '/api/v1/sessions', kind: 'session', body: { workspace: isUrl ? { git: { url: where, ...(b ? { branch: b } : {}) } } : { path: where }, ...opts } };
      item.label = (kind.value === 'task' ? 'Task: ' : 'Session: ') + opts.prompt.slice(0, 60);
      submit.disabled = true;
      try {
        const answer = await outbox.submit(item);
        if (answer instanceof Error) { error.textContent = answer.message; return; }
        if (!answer) {
          toast('Offline: it will start when the connection is back.', 'info');
          location.hash = '#/sessions';
          return;
        }
        location.hash = `#/s/${answer.id}`;
      } catch (e) {
        error.textContent = e.message;
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h1', {}, 'New session'),
  field('Kind', kind),
  field('Repository URL or path', repo),
  field('Branch', branch, 'Optional; the default branch otherwise.'),
  field('Prompt', prompt),
  prField,
  h('div', { class: 'row' }, field('Runtime', runtime), field('Model', model), field('Permission mode', mode)),
  error, submit);
  mount(form);
  repo.focus();
}
