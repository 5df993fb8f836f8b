// Cluster: every node's own view of itself, polled once a second from the
// node itself (sys/seal-status, sys/health, sys/leader), plus, with a
// token, the cluster's view (sys/ha-status, sys/storage/raft/configuration)
// and a step-down button on the active node.
import { h, replace, badge, errorNotice, notice } from '../dom.js';
import { call, token } from '../api.js';
import * as nodes from '../nodes.js';

// Kept while the tab lives so a failover seen on another page still counts.
const history = { active: '', changes: 0, events: [] };

function note(text) {
  history.events.unshift({ at: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'), text });
  history.events.length = Math.min(history.events.length, 50);
}

export async function render(root) {
  const table = h('tbody', { id: 'cluster-nodes' });
  const summary = h('div', { id: 'cluster-summary' });
  const raftBox = h('div', { id: 'cluster-raft' });
  const events = h('ul', { class: 'plain events', id: 'cluster-events' });
  const msg = h('div');
  replace(root,
    h('h1', null, 'Cluster'),
    summary,
    h('table', null,
      h('thead', null, h('tr', null, ['Node', 'Address', 'State', 'Unseal progress', 'Role', 'Raft applied / committed', 'Lag', 'Version', 'Leader', ''].map((t) => h('th', null, t)))),
      table),
    msg,
    h('p', { class: 'muted' }, 'Each node is asked directly from this browser. The list holds this node, its retry_join leaders and every node advertised in the cluster\'s storage; to see a node that is missing, open the UI on that node.'),
    h('h2', null, 'Raft configuration'), raftBox,
    h('h2', null, 'Leader changes'), events);

  let stopped = false;
  let timer = null;
  async function tick() {
    clearTimeout(timer);
    const list = await nodes.list();
    const sts = await Promise.all(list.map(nodes.status));
    if (stopped) return;
    let ha = null, raft = null;
    if (token()) {
      [ha, raft] = await Promise.all([
        call('GET', 'sys/ha-status').catch(() => null),
        call('GET', 'sys/storage/raft/configuration').catch(() => null),
      ]);
    }
    if (stopped) return;
    draw(sts, ha, raft);
    timer = setTimeout(tick, 1000);
  }

  function draw(sts, ha, raft) {
    const idByAddr = {};
    for (const n of (ha && ha.nodes) || []) if (n.api_address) idByAddr[nodes.originOf(n.api_address)] = n.node_id;
    const active = sts.find((s) => nodes.roleOf(s) === 'active');
    const activeAddr = active ? active.node : '';
    if (activeAddr && activeAddr !== history.active) {
      if (history.active) {
        history.changes++;
        note(`active node changed: ${idByAddr[history.active] || history.active} → ${idByAddr[activeAddr] || activeAddr}`);
      } else {
        note(`active node: ${idByAddr[activeAddr] || activeAddr}`);
      }
      history.active = activeAddr;
    }
    const committed = Math.max(0, ...sts.map((s) => (s.leader && s.leader.raft_committed_index) || 0));
    replace(summary, h('p', null,
      'Active node: ', h('strong', { id: 'active-node' }, activeAddr ? (idByAddr[activeAddr] || activeAddr) : 'none'),
      ' · leader changes seen: ', h('strong', { id: 'leader-changes' }, String(history.changes)),
      ' · nodes: ', String(sts.length)));
    replace(table, sts.map((s) => {
      const state = nodes.stateOf(s);
      const role = nodes.roleOf(s);
      const stateKind = { unsealed: 'ok', sealed: 'warn', uninitialized: 'muted' }[state] || 'bad';
      const li = s.leader || {};
      const applied = li.raft_applied_index || 0;
      const lag = s.reachable && !s.seal.sealed && committed ? Math.max(0, committed - applied) : '';
      const canStepDown = role === 'active' && token();
      return h('tr', { dataset: { node: s.node, state, role } },
        h('td', { class: 'node-id' }, idByAddr[s.node] || (s.node === location.origin ? 'this node' : '')),
        h('td', { class: 'mono' }, s.node),
        h('td', { class: 'state' }, badge(stateKind, state), s.error ? h('div', { class: 'error' }, s.error) : null),
        h('td', { class: 'progress' }, s.reachable && s.seal.sealed && s.seal.t ? `${s.seal.progress} / ${s.seal.t}` : ''),
        h('td', { class: 'role' }, role ? badge(role === 'active' ? 'ok' : 'muted', role) : ''),
        h('td', { class: 'mono' }, s.leader ? `${applied} / ${li.raft_committed_index || 0}` : ''),
        h('td', { class: 'lag' }, String(lag)),
        h('td', null, (s.seal && s.seal.version) || ''),
        h('td', { class: 'mono' }, li.leader_address || ''),
        h('td', null, canStepDown ? h('button', { class: 'secondary step-down', onclick: () => stepDown(s.node) }, 'Step down') : ''));
    }));
    if (raft && raft.data && raft.data.config) {
      replace(raftBox, h('table', null,
        h('thead', null, h('tr', null, ['Node ID', 'Raft address', 'Leader', 'Voter'].map((t) => h('th', null, t)))),
        h('tbody', null, raft.data.config.servers.map((sv) => h('tr', null,
          h('td', null, sv.node_id), h('td', { class: 'mono' }, sv.address),
          h('td', null, sv.leader ? badge('ok', 'leader') : ''), h('td', null, sv.voter ? 'yes' : 'no'))))));
    } else {
      replace(raftBox, h('p', { class: 'muted' }, token() ? 'Not available (sealed, no active node, or no permission).' : 'Log in to see the raft configuration.'));
    }
    replace(events, history.events.map((e) => h('li', null, h('span', { class: 'muted' }, e.at + ' '), e.text)));
  }

  async function stepDown(node) {
    replace(msg);
    try {
      await call('PUT', 'sys/step-down', { node: nodes.base(node) });
      replace(msg, notice('ok', 'Step-down requested; watching for the new active node…'));
    } catch (e) {
      replace(msg, errorNotice(e));
    }
    tick();
  }

  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

