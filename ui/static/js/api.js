// The UI's only way to the server: the public HTTP API under /v1/.
// The token lives in sessionStorage (this tab only, gone when it closes),
// travels in the X-Vault-Token header, and never in a cookie.

const TOKEN_KEY = 'vaultd.token';

export class APIError extends Error {
  constructor(status, errors) {
    super((errors && errors.length ? errors.join('; ') : '') || (status ? 'HTTP ' + status : 'request failed'));
    this.status = status;
    this.errors = errors || [];
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event('vaultd-session'));
}

// call sends one request. node is an origin ("http://10.0.0.2:8200") or ''
// for the node serving the UI. With raw the HTTP status is returned instead
// of thrown (sys/health answers 429/501/503 by design). opts.token sends
// that token instead of the stored one (checking a token before keeping it).
export async function call(method, path, opts = {}) {
  const { body, node = '', auth = true, query, raw = false } = opts;
  let url = node + '/v1/' + path;
  if (query) url += '?' + new URLSearchParams(query).toString();
  const headers = { 'X-Vault-Request': 'true' };
  const t = opts.token !== undefined ? opts.token : (auth ? token() : '');
  if (t) headers['X-Vault-Token'] = t;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new APIError(0, ['cannot reach ' + (node || 'this node') + ': ' + e.message]);
  }
  const text = await resp.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (raw) return { status: resp.status, json };
  if (!resp.ok) {
    const errs = json && Array.isArray(json.errors) ? json.errors : [text.trim() || resp.statusText];
    throw new APIError(resp.status, errs.length ? errs : [resp.status === 404 ? 'not found' : 'HTTP ' + resp.status]);
  }
  return json;
}

export const get = (path, o = {}) => call('GET', path, o);
export const list = (path, o = {}) => call('GET', path, { ...o, query: { ...(o.query || {}), list: 'true' } });
export const post = (path, body, o = {}) => call('POST', path, { ...o, body: body || {} });
export const del = (path, o = {}) => call('DELETE', path, o);

// listKeys returns a LIST's keys, or [] when there is nothing (404).
export async function listKeys(path) {
  try {
    const r = await list(path);
    return (r && r.data && r.data.keys) || [];
  } catch (e) {
    if (e.status === 404) return [];
    throw e;
  }
}

// mountsOf returns the secrets mounts of the given type that the token
// may use (sys/internal/ui/mounts: no policy on sys/mounts needed), sorted.
export async function mountsOf(type) {
  const r = await get('sys/internal/ui/mounts');
  const data = (r && r.data && r.data.secret) || {};
  return Object.entries(data)
    .filter(([, m]) => m && typeof m === 'object' && m.type === type)
    .map(([path, m]) => ({ path: path.replace(/\/$/, ''), version: (m.options && m.options.version) || '1', description: m.description }))
    .sort((a, b) => a.path.localeCompare(b.path));
}
