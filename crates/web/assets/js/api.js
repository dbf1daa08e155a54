// The one way the page talks to /api/v1: same-origin cookies, the CSRF
// header on every state-changing request, errors as ApiFailure with the
// server's stable code. A 401 means the browser session ended: the app
// shows the login page with a note instead of failing silently.

const listeners = { unauthorized: [] };

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // The network was unreachable (offline), as opposed to an answer.
  get offline() { return this.status === 0; }
}

export function onUnauthorized(fn) { listeners.unauthorized.push(fn); }

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)agentd_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

// `opts`: {method, body (JSON-encoded unless raw), raw, headers, idempotencyKey}.
export async function request(path, opts = {}) {
  const method = opts.method || 'GET';
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  let res;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiFailure(0, 'offline', 'The server cannot be reached; check the connection.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: 'http_' + res.status, message: res.statusText };
    const failure = new ApiFailure(res.status, err.code, err.message);
    if (res.status === 401 && !path.startsWith('/api/v1/auth/session')) {
      listeners.unauthorized.forEach((fn) => fn(failure));
    }
    throw failure;
  }
  return data;
}

export const get = (path) => request(path);
export const post = (path, body, extra = {}) => request(path, { method: 'POST', body, ...extra });
export const put = (path, body) => request(path, { method: 'PUT', body });
export const del = (path) => request(path, { method: 'DELETE' });

// A route another part of agentd has not shipped yet answers 404 "no such
// route"; screens use this to say so rather than show an error.
export function missingRoute(err) {
  return err instanceof ApiFailure && err.status === 404 && /no such route/.test(err.message);
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
