// KV v1 and v2 browser: mounts, list, read with click-to-reveal, write,
// and for v2 versions (delete, undelete, destroy) and metadata.
import { h, replace, errorNotice, notice, encodePath, fmtTime, badge } from '../dom.js';
import { get, post, del, listKeys, mountsOf, call } from '../api.js';

export async function render(root, rest) {
  if (!rest.length || !rest[0]) return mounts(root);
  const mount = rest[0];
  const path = rest.slice(1).join('/');
  const all = await mountsOf('kv');
  const m = all.find((x) => x.path === mount);
  if (!m) { replace(root, h('h1', null, 'Secrets'), notice('error', `no KV mount at ${mount}/`)); return; }
  if (path === '' || path.endsWith('/')) return listing(root, m, path);
  return secret(root, m, path);
}

function crumbs(m, path) {
  const parts = path.split('/').filter(Boolean);
  const out = [h('a', { href: '#/kv' }, 'Secrets'), ' / ', h('a', { href: `#/kv/${m.path}/` }, m.path)];
  let acc = '';
  parts.forEach((p, i) => {
    acc += p + (i < parts.length - 1 || path.endsWith('/') ? '/' : '');
    out.push(' / ', h('a', { href: `#/kv/${m.path}/${encodePath(acc)}` }, p));
  });
  return h('div', { class: 'crumbs' }, out);
}

async function mounts(root) {
  const all = await mountsOf('kv');
  replace(root, h('h1', null, 'Secrets engines (KV)'),
    all.length ? h('table', { id: 'kv-mounts' },
      h('thead', null, h('tr', null, h('th', null, 'Mount'), h('th', null, 'Version'), h('th', null, 'Description'))),
      h('tbody', null, all.map((m) => h('tr', null,
        h('td', null, h('a', { href: `#/kv/${m.path}/`, class: 'kv-mount' }, m.path + '/')),
        h('td', null, 'v' + m.version), h('td', null, m.description || '')))))
      : notice('warn', 'No KV mount is visible to this token.'));
}

async function listing(root, m, path) {
  const keys = await listKeys(m.version === '2' ? `${m.path}/metadata/${encodePath(path)}` : `${m.path}/${encodePath(path)}`);
  const name = h('input', { id: 'kv-new-path', placeholder: 'path/of/secret', size: 40 });
  replace(root, h('h1', null, `${m.path}/${path}`), crumbs(m, path),
    h('form', { class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      const p = name.value.replace(/^\/+/, '');
      if (p && !p.endsWith('/')) location.hash = `#/kv/${m.path}/${encodePath(path + p)}?new`;
    } }, h('label', { for: 'kv-new-path' }, 'New secret at ' + path), name, h('button', { type: 'submit', id: 'kv-create' }, 'Create')),
    keys.length ? h('ul', { class: 'plain card', id: 'kv-list' }, keys.map((k) =>
      h('li', null, h('a', { href: `#/kv/${m.path}/${encodePath(path + k)}`, class: 'kv-key', dataset: { key: k } }, k))))
      : h('p', { class: 'muted', id: 'kv-empty' }, 'Nothing here yet.'));
}

function dataPath(m, path) { return m.version === '2' ? `${m.path}/data/${encodePath(path)}` : `${m.path}/${encodePath(path)}`; }

async function secret(root, m, rawPath) {
  const isNew = rawPath.endsWith('?new');
  const path = rawPath.replace(/\?new$/, '');
  const version = (location.hash.match(/[?&]version=(\d+)/) || [])[1];
  const cleanPath = path.replace(/\?version=\d+$/, '');
  const msg = h('div', { id: 'kv-msg' });
  const view = h('div', { id: 'kv-view' });
  const meta = h('div', { id: 'kv-meta' });
  const editor = h('textarea', { id: 'kv-data', spellcheck: 'false', placeholder: '{"key": "value"}' });
  const cas = h('input', { id: 'kv-cas', type: 'number', min: 0, size: 6, placeholder: 'optional' });
  const parent = cleanPath.includes('/') ? cleanPath.slice(0, cleanPath.lastIndexOf('/') + 1) : '';
  let current = null;

  async function load() {
    replace(view);
    replace(meta);
    if (isNew) { replace(view, h('p', { class: 'muted' }, 'New secret: write its first version below.')); return; }
    try {
      const r = await get(dataPath(m, cleanPath), version ? { query: { version } } : {});
      current = m.version === '2' ? r.data : { data: r.data, metadata: null };
      showData(current);
    } catch (e) {
      if (e.status === 404) {
        current = null;
        replace(view, notice('warn', m.version === '2' ? 'This version is deleted or destroyed, or the secret does not exist.' : 'No secret at this path.'));
      } else throw e;
    }
    if (m.version === '2') await loadMeta();
  }

  function showData(d) {
    const data = d.data || {};
    const md = d.metadata;
    replace(view,
      md ? h('p', { class: 'muted' }, `version ${md.version} · created ${fmtTime(md.created_time)}`) : null,
      h('table', { id: 'kv-values' }, h('thead', null, h('tr', null, h('th', null, 'Key'), h('th', null, 'Value'), h('th', null, ''))),
        h('tbody', null, Object.entries(data).map(([k, v]) => {
          const cell = h('td', { class: 'value masked' }, '••••••••');
          let shown = false;
          const btn = h('button', { class: 'secondary reveal', dataset: { key: k }, onclick: () => {
            shown = !shown;
            cell.className = shown ? 'value mono' : 'value masked';
            replace(cell, shown ? (typeof v === 'string' ? v : JSON.stringify(v)) : '••••••••');
            replace(btn, shown ? 'Hide' : 'Reveal');
          } }, 'Reveal');
          return h('tr', { dataset: { key: k } }, h('td', { class: 'mono' }, k), cell, h('td', null, btn));
        }))),
      h('div', { class: 'actions' },
        h('button', { class: 'secondary', id: 'kv-load-editor', onclick: () => { editor.value = JSON.stringify(data, null, 2); } }, 'Copy values into the editor'),
        m.version === '2'
          ? h('button', { class: 'danger', id: 'kv-delete-latest', onclick: () => act(() => del(`${m.path}/data/${encodePath(cleanPath)}`), 'Latest version deleted (it can be undeleted).') }, 'Delete this version')
          : h('button', { class: 'danger', id: 'kv-delete', onclick: () => act(() => del(`${m.path}/${encodePath(cleanPath)}`), 'Deleted.', true) }, 'Delete')));
  }

  async function loadMeta() {
    let md;
    try { md = (await get(`${m.path}/metadata/${encodePath(cleanPath)}`)).data; } catch (e) { if (e.status === 404) return; throw e; }
    const versions = Object.entries(md.versions || {}).sort((a, b) => Number(b[0]) - Number(a[0]));
    const maxv = h('input', { id: 'kv-max-versions', type: 'number', min: 0, value: String(md.max_versions || 0) });
    const casReq = h('input', { id: 'kv-cas-required', type: 'checkbox', checked: !!md.cas_required });
    const dva = h('input', { id: 'kv-delete-after', value: md.delete_version_after || '0s' });
    const custom = h('textarea', { id: 'kv-custom-metadata', spellcheck: 'false' });
    custom.value = JSON.stringify(md.custom_metadata || {}, null, 2);
    const vpath = (what) => `${m.path}/${what}/${encodePath(cleanPath)}`;
    replace(meta,
      h('h2', null, 'Versions'),
      h('table', { id: 'kv-versions' }, h('thead', null, h('tr', null, ['Version', 'Created', 'Deleted', 'Destroyed', ''].map((t) => h('th', null, t)))),
        h('tbody', null, versions.map(([v, info]) => h('tr', { dataset: { version: v } },
          h('td', null, h('a', { href: `#/kv/${m.path}/${encodePath(cleanPath)}?version=${v}` }, v), Number(v) === md.current_version ? [' ', badge('ok', 'current')] : ''),
          h('td', null, fmtTime(info.created_time)),
          h('td', null, fmtTime(info.deletion_time)),
          h('td', null, info.destroyed ? badge('bad', 'destroyed') : ''),
          h('td', null, h('div', { class: 'actions' },
            !info.destroyed && fmtTime(info.deletion_time) === '—' ? h('button', { class: 'secondary v-delete', onclick: () => act(() => post(vpath('delete'), { versions: [Number(v)] }), `Version ${v} deleted.`) }, 'Delete') : '',
            !info.destroyed && fmtTime(info.deletion_time) !== '—' ? h('button', { class: 'secondary v-undelete', onclick: () => act(() => post(vpath('undelete'), { versions: [Number(v)] }), `Version ${v} restored.`) }, 'Undelete') : '',
            !info.destroyed ? h('button', { class: 'danger v-destroy', onclick: () => confirm(`Destroy version ${v} for good?`) && act(() => post(vpath('destroy'), { versions: [Number(v)] }), `Version ${v} destroyed.`) }, 'Destroy') : '')))))),
      h('h2', null, 'Metadata'),
      h('form', { class: 'card stack', id: 'kv-meta-form', onsubmit: (ev) => {
        ev.preventDefault();
        let cm;
        try { cm = JSON.parse(custom.value || '{}'); } catch (e) { replace(msg, errorNotice('custom metadata: ' + e.message)); return; }
        act(() => post(`${m.path}/metadata/${encodePath(cleanPath)}`, { max_versions: Number(maxv.value), cas_required: casReq.checked, delete_version_after: dva.value, custom_metadata: cm }), 'Metadata saved.');
      } },
        h('div', { class: 'grid2' },
          h('div', null, h('label', { for: 'kv-max-versions' }, 'Max versions (0: mount default)'), maxv),
          h('div', null, h('label', { for: 'kv-delete-after' }, 'Delete versions after'), dva)),
        h('label', null, casReq, ' Require check-and-set'),
        h('label', { for: 'kv-custom-metadata' }, 'Custom metadata (JSON object of strings)'), custom,
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save metadata'),
          h('button', { type: 'button', class: 'danger', id: 'kv-delete-all', onclick: () => confirm('Delete this secret, all its versions and metadata?') && act(() => del(`${m.path}/metadata/${encodePath(cleanPath)}`), 'Secret and all versions deleted.', true) }, 'Delete all versions and metadata'))));
  }

  async function act(fn, okText, gone) {
    replace(msg);
    try {
      await fn();
      replace(msg, notice('ok', okText));
      if (gone) { location.hash = `#/kv/${m.path}/${encodePath(parent)}`; return; }
      await load();
    } catch (e) {
      replace(msg, errorNotice(e));
    }
  }

  async function write(ev) {
    ev.preventDefault();
    let data;
    try {
      data = JSON.parse(editor.value);
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('the secret must be a JSON object');
    } catch (e) { replace(msg, errorNotice('invalid JSON: ' + e.message)); return; }
    const body = m.version === '2' ? { data, ...(cas.value !== '' ? { options: { cas: Number(cas.value) } } : {}) } : data;
    replace(msg);
    try {
      const r = await call('POST', dataPath(m, cleanPath), { body });
      editor.value = '';
      cas.value = '';
      replace(msg, notice('ok', m.version === '2' && r && r.data ? `Saved as version ${r.data.version}.` : 'Saved.'));
      if (isNew || version) { location.hash = `#/kv/${m.path}/${encodePath(cleanPath)}`; return; }
      await load();
    } catch (e) { replace(msg, errorNotice(e)); }
  }

  replace(root, h('h1', null, `${m.path}/${cleanPath}`), crumbs(m, cleanPath), msg, view,
    h('h2', null, isNew ? 'Create' : 'Write a new version'),
    h('form', { class: 'card stack', id: 'kv-write-form', onsubmit: write },
      h('label', { for: 'kv-data' }, 'Data (JSON object)'), editor,
      m.version === '2' ? [h('label', { for: 'kv-cas' }, 'Check-and-set version'), cas] : null,
      h('p', null, h('button', { type: 'submit', id: 'kv-save' }, 'Save'))),
    meta);
  await load();
  return () => { editor.value = ''; };
}
