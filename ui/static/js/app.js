// vaultd web UI: hash routes, one module per page. Each page's render
// returns an optional cleanup function (stops its polling, forgets any
// share or secret it held).
import { h, replace, errorNotice } from './dom.js';
import { token, setToken, get } from './api.js';
import * as cluster from './pages/cluster.js';
import * as init from './pages/init.js';
import * as unseal from './pages/unseal.js';
import * as login from './pages/login.js';
import * as kv from './pages/kv.js';
import * as policies from './pages/policies.js';
import * as transit from './pages/transit.js';

const pages = { cluster, init, unseal, login, kv, policies, transit };
const needsLogin = new Set(['kv', 'policies', 'transit']);
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = raw.split('/');
  return { page: page || 'cluster', rest: rest.map(decodeURIComponent) };
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* page gone */ } cleanup = null; }
  const { page, rest } = parseHash();
  const mod = pages[page];
  const root = document.getElementById('app');
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.page === page);
  if (!mod) { replace(root, h('h1', null, 'Not found'), h('p', null, 'No page ', h('code', null, page), '.')); return; }
  if (needsLogin.has(page) && !token()) {
    sessionStorage.setItem('vaultd.after-login', location.hash);
    go('#/login');
    return;
  }
  replace(root);
  try {
    cleanup = (await mod.render(root, rest)) || null;
  } catch (e) {
    root.append(errorNotice(e));
  }
}

async function renderSession() {
  const el = document.getElementById('session');
  const t = token();
  if (!t) { replace(el, h('a', { href: '#/login', id: 'login-link' }, 'Log in')); return; }
  let who = 'token';
  try {
    const r = await get('auth/token/lookup-self');
    who = (r.data && (r.data.display_name || r.data.id && 'token')) || 'token';
  } catch (e) {
    if (e.status === 403) { setToken(''); return; }
  }
  replace(el, h('span', { id: 'session-user' }, who),
    h('button', { id: 'logout', class: 'secondary', onclick: () => { setToken(''); go('#/login'); } }, 'Log out'));
}

window.addEventListener('hashchange', route);
window.addEventListener('vaultd-session', renderSession);
renderSession();
route();
