// Tiny DOM helpers. Text always goes in as text nodes, never as HTML, so a
// secret, a key name or an error message cannot inject markup.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function replace(el, ...kids) { clear(el); add(el, kids); return el; }

export function notice(kind, ...text) { return h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, ...text); }

export function errorNotice(err) { return notice('error', err && err.message ? err.message : String(err)); }

export function badge(kind, text) { return h('span', { class: 'badge ' + kind }, text); }

export function fmtTime(s) {
  if (!s || s.startsWith('0001-')) return '—';
  const d = new Date(s);
  return isNaN(d) ? s : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// encodePath escapes each segment of a secret path for a URL.
export function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
