// ACL policies: list, read, write. The server validates the HCL; its error
// names a line, which is marked in the listing under the editor.
import { h, replace, errorNotice, notice } from '../dom.js';
import { get, listKeys, call, del } from '../api.js';

export async function render(root, rest) {
  const name = rest[0];
  if (!name) return index(root);
  return editor(root, name);
}

async function index(root) {
  const names = await listKeys('sys/policies/acl');
  const input = h('input', { id: 'policy-new-name', placeholder: 'policy name', pattern: '[A-Za-z0-9_.@-]+' });
  replace(root, h('h1', null, 'ACL policies'),
    h('form', { class: 'inline', onsubmit: (ev) => { ev.preventDefault(); if (input.value) location.hash = '#/policies/' + encodeURIComponent(input.value); } },
      h('label', { for: 'policy-new-name' }, 'New policy'), input, h('button', { type: 'submit', id: 'policy-create' }, 'Create')),
    h('ul', { class: 'plain card', id: 'policy-list' }, names.map((n) => h('li', null, h('a', { href: '#/policies/' + encodeURIComponent(n), class: 'policy-name' }, n)))));
}

// errorLine finds "line N" or "At N:M" in a parse error.
export function errorLine(text) {
  const m = /\bline (\d+)\b/i.exec(text) || /\bAt (\d+):\d+/.exec(text) || /:(\d+):\d+:/.exec(text);
  return m ? Number(m[1]) : 0;
}

async function editor(root, name) {
  let text = '';
  let exists = true;
  try {
    const r = await get('sys/policies/acl/' + encodeURIComponent(name));
    text = (r.data && r.data.policy) || '';
  } catch (e) {
    if (e.status !== 404) throw e;
    exists = false;
  }
  const msg = h('div', { id: 'policy-msg' });
  const area = h('textarea', { id: 'policy-text', spellcheck: 'false', rows: 18 });
  area.value = text;
  const lines = h('div', { class: 'editor-lines', id: 'policy-lines' });
  function drawLines(bad, why) {
    replace(lines, area.value.split('\n').map((l, i) => {
      const n = i + 1;
      const row = h('div', { 'data-n': String(n), class: n === bad ? 'bad' : '' }, l || ' ');
      return n === bad ? [row, h('div', { class: 'msg', id: 'policy-error-line', 'data-line': String(n) }, why)] : row;
    }));
  }
  area.addEventListener('input', () => drawLines(0, ''));
  async function save(ev) {
    ev.preventDefault();
    replace(msg);
    try {
      await call('PUT', 'sys/policies/acl/' + encodeURIComponent(name), { body: { policy: area.value } });
      drawLines(0, '');
      replace(msg, notice('ok', 'Policy saved.'));
    } catch (e) {
      const line = errorLine(e.message);
      drawLines(line, e.message);
      replace(msg, errorNotice(e));
    }
  }
  replace(root, h('h1', null, 'Policy ', h('code', null, name)), h('p', null, h('a', { href: '#/policies' }, '← all policies')),
    exists ? null : notice('warn', 'New policy: write its rules and save.'),
    h('form', { class: 'card stack', id: 'policy-form', onsubmit: save }, area,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'policy-save' }, 'Save'),
        exists && name !== 'root' && name !== 'default' ? h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Delete policy ${name}?`)) return;
          try { await del('sys/policies/acl/' + encodeURIComponent(name)); location.hash = '#/policies'; } catch (e) { replace(msg, errorNotice(e)); }
        } }, 'Delete') : null)),
    msg, lines);
  drawLines(0, '');
}
