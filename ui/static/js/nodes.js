// The cluster's nodes as this tab knows them: the node serving the UI,
// the nodes it reports in /ui/nodes.json (its api_addr, its retry_join
// leaders, the nodes advertised in storage). The page's Content-Security-
// Policy lets it connect to exactly these.
import { call } from './api.js';

let known = null;

export function originOf(addr) {
  try {
    const u = new URL(addr);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    return u.origin;
  } catch { return ''; }
}

async function load() {
  let self = '', nodes = [];
  try {
    const r = await fetch('/ui/nodes.json', { cache: 'no-store', credentials: 'omit' });
    if (r.ok) ({ self, nodes } = await r.json());
  } catch { /* the serving node alone */ }
  known = { self, nodes: nodes || [] };
}

// list returns node origins; the serving node first, as location.origin.
export async function list() {
  if (!known) await load();
  const out = [location.origin];
  const add = (a) => { const o = originOf(a); if (o && o !== known.self && !out.includes(o)) out.push(o); };
  known.nodes.forEach(add);
  return out;
}

export async function refresh() { await load(); return list(); }

// base turns a node origin into the prefix for call(): '' for this node.
export function base(node) { return node === location.origin ? '' : node; }

// status queries one node's public endpoints: seal-status, health, leader.
export async function status(node) {
  const b = base(node);
  const st = { node, reachable: true };
  try {
    const [seal, health, leader] = await Promise.all([
      call('GET', 'sys/seal-status', { node: b, auth: false }),
      call('GET', 'sys/health', { node: b, auth: false, raw: true }),
      call('GET', 'sys/leader', { node: b, auth: false, raw: true }),
    ]);
    st.seal = seal;
    st.health = health.json || {};
    st.leader = leader.status === 200 ? leader.json : null;
  } catch (e) {
    st.reachable = false;
    st.error = e.message;
  }
  return st;
}

export function stateOf(st) {
  if (!st.reachable) return 'unreachable';
  if (st.health.removed_from_cluster) return 'removed';
  if (!st.seal.initialized) return 'uninitialized';
  if (st.seal.sealed) return 'sealed';
  return 'unsealed';
}

export function roleOf(st) {
  if (!st.reachable || !st.seal || st.seal.sealed || !st.seal.initialized) return '';
  return st.health.standby ? 'standby' : 'active';
}
