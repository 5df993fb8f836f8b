// Transit: mounts, keys (list, create, read, rotate), encrypt and decrypt.
import { h, replace, errorNotice, notice, fmtTime } from '../dom.js';
import { get, post, listKeys, mountsOf } from '../api.js';

const keyTypes = ['aes256-gcm96', 'aes128-gcm96', 'chacha20-poly1305', 'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'];

export async function render(root, rest) {
  const [mount, key] = rest;
  if (!mount) return mounts(root);
  if (!key) return keys(root, mount);
  return keyPage(root, mount, key);
}

async function mounts(root) {
  const all = await mountsOf('transit');
  replace(root, h('h1', null, 'Transit'),
    all.length ? h('ul', { class: 'plain card', id: 'transit-mounts' }, all.map((m) => h('li', null, h('a', { href: '#/transit/' + encodeURIComponent(m.path) }, m.path + '/'))))
      : notice('warn', 'No transit mount is visible to this token.'));
}

async function keys(root, mount) {
  const names = await listKeys(`${mount}/keys`);
  const name = h('input', { id: 'transit-new-key', placeholder: 'key name' });
  const type = h('select', { id: 'transit-new-type' }, keyTypes.map((t) => h('option', { value: t }, t)));
  const msg = h('div');
  replace(root, h('h1', null, `Transit keys in ${mount}/`), h('p', null, h('a', { href: '#/transit' }, '← transit mounts')),
    h('form', { class: 'inline', onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await post(`${mount}/keys/${encodeURIComponent(name.value)}`, { type: type.value });
        location.hash = `#/transit/${encodeURIComponent(mount)}/${encodeURIComponent(name.value)}`;
      } catch (e) { replace(msg, errorNotice(e)); }
    } }, h('label', { for: 'transit-new-key' }, 'New key'), name, type, h('button', { type: 'submit', id: 'transit-create' }, 'Create')),
    msg,
    h('ul', { class: 'plain card', id: 'transit-keys' }, names.map((k) => h('li', null, h('a', { href: `#/transit/${encodeURIComponent(mount)}/${encodeURIComponent(k)}`, class: 'transit-key' }, k)))));
}

function b64encode(text) {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function b64decode(b64) {
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

async function keyPage(root, mount, key) {
  const base = `${mount}/keys/${encodeURIComponent(key)}`;
  const info = h('div', { id: 'transit-info' });
  const msg = h('div');
  const plain = h('textarea', { id: 'transit-plaintext', spellcheck: 'false', rows: 4 });
  const cipher = h('textarea', { id: 'transit-ciphertext', spellcheck: 'false', rows: 4 });
  const result = h('div', { id: 'transit-result' });
  async function load() {
    const r = await get(base);
    const d = r.data || {};
    replace(info, h('table', null, h('tbody', null,
      [['Type', d.type], ['Latest version', d.latest_version], ['Min decryption version', d.min_decryption_version],
        ['Min encryption version', d.min_encryption_version], ['Deletion allowed', String(!!d.deletion_allowed)], ['Exportable', String(!!d.exportable)]]
        .map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: k === 'Latest version' ? 'latest-version' : '' }, String(v ?? '')))),
      h('tr', null, h('th', null, 'Versions'), h('td', null, Object.entries(d.keys || {}).map(([v, t]) =>
        h('div', null, `v${v}: `, typeof t === 'number' ? fmtTime(new Date(t * 1000).toISOString()) : (t && t.creation_time ? fmtTime(t.creation_time) : ''))))))));
  }
  async function run(fn) {
    replace(msg);
    try { await fn(); } catch (e) { replace(msg, errorNotice(e)); }
  }
  replace(root, h('h1', null, `Transit key ${key}`), h('p', null, h('a', { href: '#/transit/' + encodeURIComponent(mount) }, `← keys in ${mount}/`)),
    info,
    h('div', { class: 'actions' }, h('button', { id: 'transit-rotate', class: 'secondary', onclick: () => run(async () => { await post(`${base}/rotate`); replace(msg, notice('ok', 'Key rotated.')); await load(); }) }, 'Rotate')),
    msg,
    h('div', { class: 'grid2' },
      h('form', { class: 'card stack', onsubmit: (ev) => { ev.preventDefault(); run(async () => {
        const r = await post(`${mount}/encrypt/${encodeURIComponent(key)}`, { plaintext: b64encode(plain.value) });
        cipher.value = r.data.ciphertext;
        replace(result, notice('ok', 'Encrypted; the ciphertext is in the right-hand box.'));
      }); } }, h('label', { for: 'transit-plaintext' }, 'Plaintext'), plain, h('button', { type: 'submit', id: 'transit-encrypt' }, 'Encrypt →')),
      h('form', { class: 'card stack', onsubmit: (ev) => { ev.preventDefault(); run(async () => {
        const r = await post(`${mount}/decrypt/${encodeURIComponent(key)}`, { ciphertext: cipher.value.trim() });
        plain.value = b64decode(r.data.plaintext);
        replace(result, notice('ok', 'Decrypted; the plaintext is in the left-hand box.'));
      }); } }, h('label', { for: 'transit-ciphertext' }, 'Ciphertext'), cipher, h('button', { type: 'submit', id: 'transit-decrypt' }, '← Decrypt'))),
    result);
  await load();
  return () => { plain.value = ''; cipher.value = ''; };
}
