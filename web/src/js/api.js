// api.js -- fetch wrapper for the JSON API. The session is the HttpOnly cookie set by
// /api/login; writes send the CSRF value (from /api/login or /api/me) as X-CSRF-Token.
let csrf = sessionStorage.getItem('mf_csrf') || '';
export let me = null;

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    if (r.status === 401 && path !== '/api/login' && me) { /* a session that expired */
      me = null;
      window.dispatchEvent(new Event('mf-unauthorized'));
    }
    throw new ApiError(r.status, (data && data.error) || r.statusText);
  }
  return data;
}

export const get = (path, params) => {
  const q = params ? '?' + new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return api('GET', path + (q === '?' ? '' : q));
};

export async function login(username, password) {
  const r = await api('POST', '/api/login', { username, password });
  csrf = r.csrf;
  sessionStorage.setItem('mf_csrf', csrf);
  me = { user: r.user, role: r.role };
  return me;
}

export async function whoami() {
  const r = await api('GET', '/api/me');
  csrf = r.csrf;
  sessionStorage.setItem('mf_csrf', csrf);
  me = { user: r.user, role: r.role };
  return me;
}

export async function logout() {
  try { await api('POST', '/api/logout'); } finally {
    me = null; csrf = '';
    sessionStorage.removeItem('mf_csrf');
  }
}

const rank = { viewer: 1, operator: 2, admin: 3 };
export const can = (role) => me && rank[me.role] >= rank[role];
