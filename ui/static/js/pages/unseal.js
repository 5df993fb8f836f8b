// The unseal ceremony. A keyholder enters a share once; the tab delivers
// it, straight from the browser, to each node chosen below (and to no
// other), as soon as that node can take it: a node that joins through
// retry_join can only after its join challenge arrived. Shares are held in
// this page's memory only (never in any browser storage) and dropped as
// soon as every chosen node is unsealed, on "Forget shares", or when the
// page is left. Progress of every node is polled live.
import { h, replace, badge, errorNotice, notice } from '../dom.js';
import { call } from '../api.js';
import * as nodes from '../nodes.js';

export async function render(root) {
  const shares = []; // strings, this page's memory only
  const delivered = new Map(); // node → Set of share indexes sent
  const chosen = new Map(); // node → bool (operator's choice)
  const errors = new Map(); // node → last error text
  const tbody = h('tbody', { id: 'unseal-nodes' });
  const pending = h('div', { id: 'unseal-pending' });
  const msg = h('div');
  const input = h('input', { id: 'unseal-share', type: 'password', autocomplete: 'off', size: 60, placeholder: 'unseal key share (base64 or hex)' });
  let last = [];
  let stopped = false;
  let timer = null;
  let busy = false;

  function forget() {
    for (let i = 0; i < shares.length; i++) shares[i] = '';
    shares.length = 0;
    delivered.clear();
  }

  async function deliver(sts) {
    if (!shares.length) return;
    for (const s of sts) {
      if (!chosen.get(s.node) || !s.reachable || !s.seal.sealed) continue;
      if (!s.seal.initialized || !s.seal.t) continue; // a joiner still waiting for its challenge
      const sent = delivered.get(s.node) || new Set();
      delivered.set(s.node, sent);
      for (let i = 0; i < shares.length; i++) {
        if (sent.has(i) || !shares[i]) continue;
        sent.add(i);
        try {
          const r = await call('PUT', 'sys/unseal', { node: nodes.base(s.node), body: { key: shares[i] }, auth: false });
          errors.delete(s.node);
          if (r && !r.sealed) break;
        } catch (e) {
          errors.set(s.node, e.message);
          if (e.status === 0) sent.delete(i); // never arrived: try again next round
          break;
        }
      }
    }
  }

  async function tick() {
    clearTimeout(timer);
    if (busy) return;
    busy = true;
    try {
      const list = await nodes.list();
      let sts = await Promise.all(list.map(nodes.status));
      for (const s of sts) if (!chosen.has(s.node)) chosen.set(s.node, nodes.stateOf(s) === 'sealed' || nodes.stateOf(s) === 'uninitialized');
      if (shares.length) {
        await deliver(sts);
        sts = await Promise.all(list.map(nodes.status));
        const waiting = sts.filter((s) => chosen.get(s.node) && s.reachable && s.seal.sealed);
        if (!waiting.length) forget();
      }
      if (stopped) return;
      last = sts;
      draw();
    } finally {
      busy = false;
      if (!stopped) timer = setTimeout(tick, 1000);
    }
  }

  function draw() {
    replace(tbody, last.map((s) => {
      const state = nodes.stateOf(s);
      const box = h('input', { type: 'checkbox', class: 'unseal-target', checked: !!chosen.get(s.node),
        disabled: state === 'unsealed' || state === 'unreachable',
        onchange: (ev) => { chosen.set(s.node, ev.target.checked); } });
      const waitingChallenge = s.reachable && s.seal.sealed && !s.seal.initialized;
      const sent = delivered.get(s.node);
      return h('tr', { dataset: { node: s.node, state } },
        h('td', null, box),
        h('td', { class: 'mono' }, s.node),
        h('td', { class: 'state' }, badge({ unsealed: 'ok', sealed: 'warn', uninitialized: 'muted' }[state] || 'bad', state)),
        h('td', { class: 'progress' }, s.reachable && s.seal.sealed && s.seal.t ? `${s.seal.progress} / ${s.seal.t}` : (state === 'unsealed' ? 'done' : '')),
        h('td', null, sent && sent.size ? `${sent.size} from this tab` : ''),
        h('td', { class: 'note' }, waitingChallenge ? 'waiting to join the cluster (retry_join)' : '', errors.has(s.node) ? h('div', { class: 'error' }, errors.get(s.node)) : ''),
        h('td', null, s.reachable && s.seal.sealed && s.seal.progress > 0
          ? h('button', { class: 'secondary', onclick: () => resetNode(s.node) }, 'Reset progress') : ''));
    }));
    const waitingFor = last.filter((s) => chosen.get(s.node) && s.reachable && s.seal.sealed).map((s) => s.node);
    replace(pending, shares.length
      ? notice('warn', `${shares.length} share(s) held in this tab's memory until ${waitingFor.join(', ')} ${waitingFor.length === 1 ? 'is' : 'are'} unsealed. `,
        h('button', { class: 'secondary', id: 'unseal-forget', onclick: () => { forget(); draw(); } }, 'Forget shares'))
      : (last.length && last.every((s) => !s.reachable || !s.seal.sealed)
        ? notice('ok', 'Every reachable node is unsealed.') : ''));
  }

  async function resetNode(node) {
    try {
      await call('PUT', 'sys/unseal', { node: nodes.base(node), body: { reset: true }, auth: false });
      delivered.delete(node);
    } catch (e) { replace(msg, errorNotice(e)); }
    tick();
  }

  function submit(ev) {
    ev.preventDefault();
    replace(msg);
    const v = input.value.trim();
    input.value = '';
    if (!v) return;
    if (!/^[0-9a-fA-F]+$/.test(v) && !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) { replace(msg, errorNotice('a share is hex or base64')); return; }
    if (![...chosen.values()].some(Boolean)) { replace(msg, errorNotice('choose at least one node to unseal')); return; }
    shares.push(v);
    tick();
  }

  replace(root,
    h('h1', null, 'Unseal'),
    h('p', { class: 'muted' }, 'Each keyholder enters a share once. It goes only to the ticked nodes, directly from this browser, and is kept in this page\'s memory only until they are unsealed.'),
    h('form', { class: 'card inline', id: 'unseal-form', onsubmit: submit },
      h('label', { for: 'unseal-share' }, 'Key share'), input, h('button', { type: 'submit', id: 'unseal-submit' }, 'Submit share')),
    msg, pending,
    h('table', null, h('thead', null, h('tr', null, ['Unseal', 'Node', 'State', 'Progress', 'Shares sent', '', ''].map((t) => h('th', null, t)))), tbody));
  tick();
  return () => { stopped = true; clearTimeout(timer); forget(); };
}
