/**
 * The one rendering rule of a research tree (server and browser app): whatever the shared
 * state holds, a forest in which every node is reachable from a root.
 *
 * Layout (docs/contracts.md "Yjs layout"): `Y.Map` `nodes` (id → `Y.Map` {title, parentId, order,
 * status, …}) and `Y.Map` `edges` (id → {from, to, type}). `parentId` is a plain
 * last-writer-wins field (null: a root); a move is one write of it. A node value may also be a
 * plain object (a client that writes JSON); any other value is not a node and is ignored.
 *
 * The rule, applied to the merged state (so every replica with the same state renders the
 * same forest — nothing depends on map iteration order or on which replica renders):
 *   1. A node whose `parentId` names no node (its parent was deleted, or junk) is a root:
 *      re-rooted, never lost (`repair: 'orphan'`).
 *   2. The parent links form a functional graph, so each connected part holds at most one
 *      cycle (concurrent cross-moves: A under B while B goes under A, also deep in the
 *      tree). Each cycle loses exactly one link — every link that is not part of a cycle is
 *      kept. The cut node is the one whose move is the latest by its `moveClock` (a Lamport
 *      clock our operations write with every move), ties by the greater id. It goes back to
 *      `previousParentId` (its parent before that move, written with it) when that node exists
 *      and is not below it; otherwise it becomes a root (`repair: 'cycle'`).
 *   3. Siblings sort by `order` then id (order.ts); the output is the depth-first pre-order.
 *
 * Why this rule (chosen with the plain-`parentId` contract in mind):
 * - Kleppmann et al., "A highly-available move operation for replicated trees" (IEEE TPDS
 *   2021) keep a log of timestamped move operations and, on every remote move, undo and
 *   redo the log so that a move that would make a cycle is skipped. That needs every client
 *   to write moves into such a log; a bare `Y.Map` write of `parentId` is not a logged move,
 *   and Yjs gives no total order of writes to replay. We keep its outcome for the common
 *   case instead: the later move (by Lamport clock) of a cycle is the one skipped, and the
 *   node stays where it was before (`previousParentId`).
 * - Evan Wallace's mutable-tree-hierarchy CRDT (ported to Yjs by yjs-orderedtree) stores a
 *   per-node map of parents with counters and re-attaches cycle nodes deterministically at
 *   read time to their most recent parent that is in the tree. Its read-time resolution is
 *   what we do; its per-node parent history is not available when any client may write
 *   `parentId` alone, so we keep a single fallback (`previousParentId`), treated as a hint
 *   that is checked, never trusted. Its "affirm" step (write the parent you see) is
 *   `affirmParents` in operations.ts, which every move also runs, so a cut that the user
 *   has seen does not revive when the cycle is later broken elsewhere.
 * - Loro's movable tree orders siblings with fractional indexes plus a peer tie-break: that
 *   is our sibling order (fractional-indexing keys, ties by node id).
 * Clients that know nothing of `moveClock`/`previousParentId` still move nodes correctly
 * and can never make the forest cyclic or lose a node; their moves just count as old when a
 * cycle has to be cut.
 *
 * Pure and deterministic: imports only `yjs` and `fractional-indexing`, no I/O.
 */
import * as Y from 'yjs';
import { compareIds, orderValue, type OrderValue } from './order.js';

/** Names of the shared types (docs/contracts.md "Yjs layout"). */
export const NODES_MAP = 'nodes';
export const EDGES_MAP = 'edges';

/** Edge type when the stored one is missing or not a string. */
export const DEFAULT_EDGE_TYPE = 'related';

/** Why a node's effective parent differs from its stored `parentId`. */
export type TreeRepair = 'orphan' | 'cycle';

export interface TreeNodeView {
  readonly id: string;
  readonly title: string;
  /** The effective parent after cycle breaking and re-rooting (null: a root). */
  readonly parentId: string | null;
  /** The stored sibling order value (number or fractional-index string); null when missing or junk. */
  readonly order: OrderValue;
  readonly status: string | null;
  /** 0 for a root. */
  readonly depth: number;
  /** Position among its siblings (0-based). */
  readonly index: number;
  /** Child ids, in sibling order. */
  readonly children: readonly string[];
  /** Set when the stored `parentId` was not used (null: the stored link is kept). */
  readonly repair: TreeRepair | null;
}

export interface TreeEdgeView {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly type: string;
}

/**
 * `GET /api/documents/:name` content of a research tree: nodes in depth-first pre-order
 * (an outline, top to bottom), root ids in order, and the explicit edges whose two
 * endpoints exist (an edge to a deleted node is left out; it stays in the state and
 * reappears if the node comes back).
 */
export interface TreeContent {
  readonly nodes: readonly TreeNodeView[];
  readonly edges: readonly TreeEdgeView[];
  readonly roots: readonly string[];
}

/**
 * The nodes as stored, read leniently, in parallel arrays (one index per node): the
 * renderer runs on every change in the browser and over 10,000-node trees on the server,
 * so it keeps per-node objects to the output.
 */
interface StoredNodes {
  readonly ids: string[];
  readonly titles: string[];
  readonly parents: unknown[];
  readonly orders: unknown[];
  readonly statuses: (string | null)[];
  /** The stored values, for the fields only cycle breaking reads (moveClock, previousParentId). */
  readonly values: unknown[];
}

/** A field of a node or edge value: a `Y.Map` or a plain object. */
function field(value: unknown, key: string): unknown {
  if (value instanceof Y.Map) return value.get(key);
  return (value as Record<string, unknown>)[key];
}

/** Whether a map value is a node/edge record at all. */
function isRecord(value: unknown): boolean {
  if (value instanceof Y.Map) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Y.AbstractType) &&
    !(value instanceof Uint8Array)
  );
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Y.Text) return value.toString();
  return '';
}

function readNodes(doc: Y.Doc): StoredNodes {
  const out: StoredNodes = { ids: [], titles: [], parents: [], orders: [], statuses: [], values: [] };
  doc.getMap<unknown>(NODES_MAP).forEach((value, id) => {
    let title: unknown, parentId: unknown, order: unknown, status: unknown;
    if (value instanceof Y.Map) {
      title = value.get('title');
      parentId = value.get('parentId');
      order = value.get('order');
      status = value.get('status');
    } else if (isRecord(value)) {
      ({ title, parentId, order, status } = value as Record<string, unknown>);
    } else return;
    out.ids.push(id);
    out.titles.push(text(title));
    out.parents.push(parentId);
    out.orders.push(order);
    out.statuses.push(typeof status === 'string' ? status : null);
    out.values.push(value);
  });
  return out;
}

/** The node's Lamport move clock (0 when missing or junk). */
function moveClockOf(value: unknown): number {
  const clock = field(value, 'moveClock');
  return typeof clock === 'number' && Number.isFinite(clock) ? clock : 0;
}

/** The rendered forest of a research-tree document (see the rule above). */
export function renderTree(doc: Y.Doc): TreeContent {
  const stored = readNodes(doc);
  const { ids } = stored;
  const n = ids.length;
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) index.set(ids[i]!, i);

  // Candidate parents: the stored link when it names another existing node.
  const parent = new Int32Array(n).fill(-1);
  const repair: (TreeRepair | null)[] = new Array<TreeRepair | null>(n).fill(null);
  for (let i = 0; i < n; i++) {
    const p = stored.parents[i];
    if (p === null || p === undefined) continue;
    const j = typeof p === 'string' ? index.get(p) : undefined;
    if (j === undefined) repair[i] = 'orphan';
    else if (j === i) repair[i] = 'cycle';
    else parent[i] = j;
  }

  // Cycles of the functional graph: walk up from every node; a walk that meets its own
  // path closes a cycle. Each node is walked once (0 new, 1 on the current path, 2 done).
  // The latest move of a cycle (Lamport clock, then the greater id) loses its link.
  const state = new Uint8Array(n);
  const path = new Int32Array(n);
  const cut: number[] = [];
  for (let first = 0; first < n; first++) {
    if (state[first] !== 0) continue;
    let length = 0;
    let i = first;
    while (i !== -1 && state[i] === 0) {
      state[i] = 1;
      path[length++] = i;
      i = parent[i]!;
    }
    if (i !== -1 && state[i] === 1) {
      let victim = i;
      let victimClock = moveClockOf(stored.values[i]);
      for (let k = path.lastIndexOf(i, length - 1) + 1; k < length; k++) {
        const c = path[k]!;
        const clock = moveClockOf(stored.values[c]);
        if (clock > victimClock || (clock === victimClock && ids[c]! > ids[victim]!)) {
          victim = c;
          victimClock = clock;
        }
      }
      parent[victim] = -1;
      repair[victim] = 'cycle';
      cut.push(victim);
    }
    for (let k = 0; k < length; k++) state[path[k]!] = 2;
  }

  // A cut node goes back to where it was before its move, when that is safe.
  cut.sort((a, b) => compareIds(ids[a]!, ids[b]!));
  for (const c of cut) {
    const hint = field(stored.values[c], 'previousParentId');
    const h = typeof hint === 'string' ? index.get(hint) : undefined;
    if (h === undefined || h === c) continue;
    let up = h;
    while (up !== -1 && up !== c) up = parent[up]!;
    if (up === c) continue; // the hint is below the node: attaching would close a cycle
    parent[c] = h;
  }

  // Children in one array, grouped by parent (roots last, as "parent" n), each group in
  // sibling order: compareSiblings, on precomputed keys.
  const start = new Int32Array(n + 2);
  for (let i = 0; i < n; i++) start[(parent[i] === -1 ? n : parent[i]!) + 2]!++;
  for (let p = 2; p < n + 2; p++) start[p] += start[p - 1]!;
  const grouped = new Int32Array(n);
  for (let i = 0; i < n; i++) grouped[start[(parent[i] === -1 ? n : parent[i]!) + 1]!++] = i;
  // Now group p spans [start[p], start[p + 1]).
  const rank = new Uint8Array(n);
  const numeric = new Float64Array(n);
  const keys: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const order = stored.orders[i];
    if (typeof order === 'number' && Number.isFinite(order)) numeric[i] = order;
    else if (typeof order === 'string') {
      rank[i] = 1;
      keys[i] = order;
    } else rank[i] = 2;
  }
  const bySibling = (a: number, b: number): number => {
    const ra = rank[a]!;
    if (ra !== rank[b]) return ra - rank[b]!;
    if (ra === 0) {
      const d = numeric[a]! - numeric[b]!;
      if (d !== 0) return d;
    } else if (ra === 1) {
      const ka = keys[a]!;
      const kb = keys[b]!;
      if (ka !== kb) return ka < kb ? -1 : 1;
    }
    return compareIds(ids[a]!, ids[b]!);
  };
  for (let p = 0; p <= n; p++) if (start[p + 1]! - start[p]! > 1) grouped.subarray(start[p]!, start[p + 1]!).sort(bySibling);

  // Depth-first pre-order.
  const nodes: TreeNodeView[] = [];
  const depth = new Int32Array(n);
  const position = new Int32Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  for (let k = start[n + 1]! - 1; k >= start[n]!; k--) {
    stack[top++] = grouped[k]!;
    position[grouped[k]!] = k - start[n]!;
  }
  while (top > 0) {
    const node = stack[--top]!;
    const from = start[node]!;
    const to = start[node + 1]!;
    const children: string[] = new Array<string>(to - from);
    for (let k = to - 1; k >= from; k--) {
      const child = grouped[k]!;
      children[k - from] = ids[child]!;
      depth[child] = depth[node]! + 1;
      position[child] = k - from;
      stack[top++] = child;
    }
    const p = parent[node]!;
    nodes.push({
      id: ids[node]!,
      title: stored.titles[node]!,
      parentId: p === -1 ? null : ids[p]!,
      order: orderValue(stored.orders[node]),
      status: stored.statuses[node]!,
      depth: depth[node]!,
      index: position[node]!,
      children,
      repair: repair[node]!,
    });
  }

  const roots: string[] = [];
  for (let k = start[n]!; k < start[n + 1]!; k++) roots.push(ids[grouped[k]!]!);
  return { nodes, edges: renderEdges(doc, index), roots };
}

function renderEdges(doc: Y.Doc, nodes: ReadonlyMap<string, number>): TreeEdgeView[] {
  const edges: TreeEdgeView[] = [];
  doc.getMap<unknown>(EDGES_MAP).forEach((value, id) => {
    if (!isRecord(value)) return;
    const from = field(value, 'from');
    const to = field(value, 'to');
    if (typeof from !== 'string' || typeof to !== 'string' || !nodes.has(from) || !nodes.has(to)) return;
    const type = field(value, 'type');
    edges.push({ id, from, to, type: typeof type === 'string' ? type : DEFAULT_EDGE_TYPE });
  });
  edges.sort((a, b) => compareIds(a.id, b.id));
  return edges;
}
