// Init: choose shares and threshold (and optionally one OpenPGP public key
// per share and one for the root token), initialise one node, and show the
// shares and root token once, with a download. Nothing is kept: leaving
// the page or pressing "Done" drops them. A node with an auto seal
// (seal-status recovery_seal) gets recovery shares instead of unseal
// shares, as Vault's init does.
import { h, replace, errorNotice, notice } from '../dom.js';
import { call } from '../api.js';
import * as nodes from '../nodes.js';

// dearmor turns an ASCII-armored public key into base64 of the binary
// key, which is what pgp_keys takes; a binary file is base64-encoded.
async function keyFileToB64(file) {
  const buf = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder().decode(buf);
  if (text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    const lines = text.split(/\r?\n/);
    const start = lines.findIndex((l) => l.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'));
    let i = start + 1;
    while (i < lines.length && lines[i].trim() !== '') i++; // armor headers
    const body = [];
    for (i++; i < lines.length && !lines[i].startsWith('-----END'); i++) {
      const l = lines[i].trim();
      if (l && !l.startsWith('=')) body.push(l);
    }
    return body.join('');
  }
  let bin = '';
  for (const b of buf) bin += String.fromCharCode(b);
  return btoa(bin);
}

export async function render(root) {
  const list = await nodes.list();
  const sts = await Promise.all(list.map(nodes.status));
  const target = h('select', { id: 'init-node' }, sts.map((s) =>
    h('option', { value: s.node, disabled: !s.reachable || s.seal.initialized }, `${s.node} (${nodes.stateOf(s)})`)));
  const firstUninit = sts.find((s) => s.reachable && !s.seal.initialized);
  if (firstUninit) target.value = firstUninit.node;
  const shares = h('input', { id: 'init-shares', type: 'number', min: 1, max: 255, value: '5' });
  const threshold = h('input', { id: 'init-threshold', type: 'number', min: 1, max: 255, value: '3' });
  const pgp = h('input', { id: 'init-pgp-keys', type: 'file', multiple: true, accept: '.asc,.gpg,.pub,.key' });
  const rootPgp = h('input', { id: 'init-root-pgp', type: 'file', accept: '.asc,.gpg,.pub,.key' });
  const msg = h('div');
  const out = h('div', { id: 'init-result' });

  // recoveryOf: the chosen node has an auto seal (recovery keys).
  const recoveryOf = (node) => {
    const s = sts.find((x) => x.node === node);
    return !!(s && s.seal && s.seal.recovery_seal);
  };

  async function submit(ev) {
    ev.preventDefault();
    replace(msg);
    const recovery = recoveryOf(target.value);
    const n = Number(shares.value);
    const t = Number(threshold.value);
    const body = recovery ? { recovery_shares: n, recovery_threshold: t } : { secret_shares: n, secret_threshold: t };
    try {
      if (pgp.files.length) {
        if (pgp.files.length !== n) throw new Error(`choose one public key per share: ${pgp.files.length} keys for ${n} shares`);
        body[recovery ? 'recovery_pgp_keys' : 'pgp_keys'] = await Promise.all([...pgp.files].map(keyFileToB64));
      }
      if (rootPgp.files.length) body.root_token_pgp_key = await keyFileToB64(rootPgp.files[0]);
      const r = await call('PUT', 'sys/init', { node: nodes.base(target.value), body, auth: false });
      form.classList.add('hidden');
      show(r, { recovery, n, t, pgp: pgp.files.length > 0 }, target.value);
    } catch (e) {
      replace(msg, errorNotice(e));
    }
  }

  function show(r, o, node) {
    let url = null;
    const keysHex = (o.recovery ? r.recovery_keys : r.keys) || [];
    const keysB64 = (o.recovery ? r.recovery_keys_base64 : r.keys_base64) || [];
    const what = o.recovery ? 'recovery key' : 'key';
    const dl = h('a', { class: 'button secondary', id: 'init-download', download: 'vaultd-init.json' }, 'Download keys (JSON)');
    const saved = o.recovery
      ? { recovery_keys_hex: keysHex, recovery_keys_b64: keysB64, recovery_keys_shares: o.n, recovery_keys_threshold: o.t, root_token: r.root_token }
      : { unseal_keys_hex: keysHex, unseal_keys_b64: keysB64, unseal_shares: o.n, unseal_threshold: o.t, root_token: r.root_token };
    url = URL.createObjectURL(new Blob([JSON.stringify(saved, null, 2)], { type: 'application/json' }));
    dl.href = url;
    const done = () => {
      if (url) URL.revokeObjectURL(url);
      url = null;
      if (o.recovery) {
        replace(out, notice('ok', 'Initialised. The recovery shares are no longer shown. The nodes unseal themselves with their auto seal.'));
      } else {
        replace(out, notice('ok', 'Initialised. The shares are no longer shown. Continue with the '), h('a', { href: '#/unseal' }, 'unseal ceremony'), '.');
      }
    };
    replace(out,
      notice('warn', `Node ${node} is initialised with ${o.n} ${what} shares and a threshold of ${o.t}. `,
        'These are shown once: hand each share to its keyholder now. ',
        o.recovery ? 'Recovery shares authorise generate-root and rekey; they cannot unseal or decrypt anything. ' : '',
        o.pgp ? 'Each share is encrypted to its keyholder\'s OpenPGP key.' : ''),
      h('ol', { id: 'init-keys', class: 'card' }, keysB64.map((k, i) =>
        h('li', { class: 'share mono' }, h('code', { class: 'key-b64' }, k), h('div', { class: 'muted' }, 'hex: ', h('code', { class: 'key-hex' }, keysHex[i]))))),
      h('p', null, 'Initial root token: ', h('code', { id: 'init-root-token' }, r.root_token)),
      h('div', { class: 'actions' }, dl, h('button', { id: 'init-done', onclick: done }, 'Done: hide the keys')));
    cleanupFns.push(done);
  }

  const cleanupFns = [];
  const form = h('form', { class: 'card stack', id: 'init-form', onsubmit: submit },
    h('label', { for: 'init-node' }, 'Node to initialise'), target,
    h('div', { class: 'grid2' },
      h('div', null, h('label', { for: 'init-shares' }, 'Key shares'), shares),
      h('div', null, h('label', { for: 'init-threshold' }, 'Key threshold'), threshold)),
    h('label', { for: 'init-pgp-keys' }, 'OpenPGP public keys, one per share (optional)'), pgp,
    h('label', { for: 'init-root-pgp' }, 'OpenPGP public key for the root token (optional)'), rootPgp,
    h('p', null, h('button', { type: 'submit', id: 'init-submit' }, 'Initialise')));
  replace(root, h('h1', null, 'Initialise'),
    firstUninit ? form : notice('ok', 'Every reachable node is initialised. Other nodes join the cluster through retry_join; unseal them on the ', h('a', { href: '#/unseal' }, 'unseal page'), '.'),
    msg, out);
  return () => cleanupFns.forEach((f) => f());
}
