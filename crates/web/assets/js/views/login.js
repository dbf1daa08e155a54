// Login: name and password (a browser session in HttpOnly cookies), or
// GitHub when the server has it configured.

import { ApiFailure, post } from '../api.js';
import { field, h, mount } from '../dom.js';

export function loginView(app, done) {
  const name = h('input', { name: 'name', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', {
    class: 'card narrow',
    'aria-label': 'Log in',
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      try {
        const session = await post('/api/v1/auth/session', { name: name.value.trim(), password: password.value });
        done({ user: session.user });
      } catch (e) {
        error.textContent = e instanceof ApiFailure && e.status === 429
          ? 'Too many failed attempts; wait a moment and try again.'
          : (e.message || 'Login failed');
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h1', {}, 'Log in to agentd'),
  app.note ? h('p', { class: 'note', role: 'status' }, app.note) : null,
  field('Name', name),
  field('Password', password),
  error,
  submit,
  h('p', { class: 'or' }, h('a', { href: '/api/v1/auth/github/start', class: 'button' }, 'Sign in with GitHub')));
  mount(form);
  name.focus();
}
