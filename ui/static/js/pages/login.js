// Login: token, userpass or approle. The resulting client token is kept in
// sessionStorage for this tab only.
import { h, replace, errorNotice, notice } from '../dom.js';
import { call, post, setToken } from '../api.js';

const methods = {
  token: { label: 'Token', fields: [['token', 'Token', 'password']] },
  userpass: { label: 'Username & password', mount: 'userpass', fields: [['username', 'Username', 'text'], ['password', 'Password', 'password']] },
  approle: { label: 'AppRole', mount: 'approle', fields: [['role_id', 'Role ID', 'text'], ['secret_id', 'Secret ID', 'password']] },
};

export function render(root) {
  const msg = h('div');
  const fieldsBox = h('div');
  const sel = h('select', { id: 'login-method', onchange: () => draw() },
    Object.entries(methods).map(([k, m]) => h('option', { value: k }, m.label)));
  const mount = h('input', { id: 'login-mount', name: 'mount' });
  const mountRow = h('div', null, h('label', { for: 'login-mount' }, 'Mount path'), mount);
  let inputs = {};
  function draw() {
    const m = methods[sel.value];
    inputs = {};
    mount.value = m.mount || '';
    mountRow.classList.toggle('hidden', !m.mount);
    replace(fieldsBox, m.fields.map(([name, label, type]) => {
      const id = 'login-' + name.replace('_', '-');
      inputs[name] = h('input', { id, name, type, autocomplete: type === 'password' ? 'current-password' : 'username' });
      return [h('label', { for: id }, label), inputs[name]];
    }));
  }
  async function submit(ev) {
    ev.preventDefault();
    replace(msg);
    const kind = sel.value;
    const v = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]));
    try {
      let tok;
      if (kind === 'token') {
        const r = await call('GET', 'auth/token/lookup-self', { token: v.token });
        tok = v.token;
        if (!r || !r.data) throw new Error('token lookup failed');
      } else {
        const m = mount.value.replace(/^\/+|\/+$/g, '');
        const path = kind === 'userpass' ? `auth/${m}/login/${encodeURIComponent(v.username)}` : `auth/${m}/login`;
        const body = kind === 'userpass' ? { password: v.password } : { role_id: v.role_id, secret_id: v.secret_id };
        const r = await post(path, body, { auth: false });
        tok = r && r.auth && r.auth.client_token;
        if (!tok) throw new Error('the login answer held no token');
      }
      for (const i of Object.values(inputs)) i.value = '';
      setToken(tok);
      const next = sessionStorage.getItem('vaultd.after-login') || '#/kv';
      sessionStorage.removeItem('vaultd.after-login');
      location.hash = next;
    } catch (e) {
      replace(msg, errorNotice(e));
    }
  }
  draw();
  replace(root,
    h('h1', null, 'Log in'),
    h('form', { class: 'card stack', id: 'login-form', onsubmit: submit },
      h('label', { for: 'login-method' }, 'Method'), sel, mountRow, fieldsBox,
      h('p', null, h('button', { type: 'submit', id: 'login-submit' }, 'Log in'))),
    msg,
    notice('warn', 'The token is kept in this browser tab only (sessionStorage) and sent in the X-Vault-Token header.'));
}

