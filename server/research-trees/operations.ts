/**
 * Small operations on a research-tree document for clients (the browser app, tests, the
 * server). Each is one Yjs transaction on the layout in docs/contracts.md ("Yjs layout") and acts on the tree as
 * rendered (render.ts): positions are indexes among the rendered siblings.
 *
 * - create: a `Y.Map` node {title, parentId, order, status}.
 * - move: one write of `parentId` plus a new `order`, and the move's `moveClock` (Lamport
 *   clock: 1 + the largest in the document) and `previousParentId` (the parent it leaves),
 *   which the rendering rule uses to decide which move of a concurrent cycle is skipped.
 *   Moving a node under itself or its own descendant is refused. A move also affirms the
 *   parents of repaired nodes (see affirmParents).
 * - reorder: a new `order` only. New positions are fractional-index strings (order.ts).
 * - delete: removes the node, its whole rendered subtree and the edges touching them
 *   (`children: 'lift'` instead moves the children up to the deleted node's parent, at its
 *   place). A child added concurrently under a deleted node is re-rooted by the rule.
 * - rename, set status, add/remove edge.
 * - affirmParents: writes the rendered parent into `parentId` wherever the rule did not use
 *   the stored one (a cut cycle, a deleted parent), so the state says what users see and a
 *   cut cannot revive later when the cycle is broken elsewhere. It competes (last writer
 *   wins) with concurrent moves of those same nodes, which is why it touches only them.
 *
 * Pure: imports only `yjs` and `fractional-indexing`.
 */
import * as Y from 'yjs';
import { placeAt } from './order.js';
import { EDGES_MAP, NODES_MAP, renderTree, type TreeContent, type TreeNodeView } from './render.js';

/** A refused operation (unknown node, a move into its own subtree, bad argument): nothing was written. */
export class TreeOperationError extends Error {}

export interface CreateNodeOptions {
  /** Default: a random UUID. */
  readonly id?: string;
  readonly title?: string;
  /** Default: null (a root). */
  readonly parentId?: string | null;
  /** Position among the new siblings; default: last. */
  readonly index?: number;
  readonly status?: string | null;
}

export interface DeleteNodeOptions {
  /** 'delete' (default): the subtree goes too. 'lift': the children move up to the deleted node's parent. */
  readonly children?: 'delete' | 'lift';
}

export interface AddEdgeOptions {
  readonly id?: string;
  readonly from: string;
  readonly to: string;
  readonly type: string;
}

function nodesOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(NODES_MAP);
}

/** A random UUID v4. `crypto.randomUUID` exists only in secure contexts (https, localhost); `getRandomValues` everywhere. */
function newId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Lookup of the rendered nodes by id. */
function viewIndex(tree: TreeContent): Map<string, TreeNodeView> {
  return new Map(tree.nodes.map((node) => [node.id, node]));
}

function mustFind(views: ReadonlyMap<string, TreeNodeView>, id: string): TreeNodeView {
  const node = views.get(id);
  if (!node) throw new TreeOperationError(`no node ${JSON.stringify(id)} in the tree`);
  return node;
}

/** The node's `Y.Map`; a node stored as a plain object (a JSON-writing client) is turned into one. */
function nodeMap(doc: Y.Doc, id: string): Y.Map<unknown> {
  const nodes = nodesOf(doc);
  const value = nodes.get(id);
  if (value instanceof Y.Map) return value;
  if (typeof value !== 'object' || value === null) throw new TreeOperationError(`no node ${JSON.stringify(id)} in the tree`);
  const map = new Y.Map<unknown>(Object.entries(value as Record<string, unknown>));
  nodes.set(id, map);
  return map;
}

/** Sibling ids of a rendered parent (null: the roots), in order, without `exclude`. */
function siblingsOf(tree: TreeContent, views: ReadonlyMap<string, TreeNodeView>, parentId: string | null, exclude: string) {
  const ids = parentId === null ? tree.roots : mustFind(views, parentId).children;
  const out: { id: string; order: unknown }[] = [];
  for (const id of ids) if (id !== exclude) out.push({ id, order: views.get(id)!.order });
  return out;
}

/** Writes the orders that place `ids` at `index` among `siblings` (see placeAt). */
function writePlacement(doc: Y.Doc, siblings: readonly { id: string; order: unknown }[], index: number, ids: readonly string[]): void {
  for (const [id, order] of placeAt(siblings, index, ids)) nodeMap(doc, id).set('order', order);
}

function checkIndex(index: number | undefined): void {
  if (index !== undefined && (!Number.isInteger(index) || index < 0))
    throw new TreeOperationError(`index must be a whole number >= 0, got ${index}`);
}

/** Creates a node; returns its id. */
export function createNode(doc: Y.Doc, options: CreateNodeOptions = {}): string {
  const id = options.id ?? newId();
  const parentId = options.parentId ?? null;
  checkIndex(options.index);
  const tree = renderTree(doc);
  const views = viewIndex(tree);
  if (views.has(id) || nodesOf(doc).has(id)) throw new TreeOperationError(`node ${JSON.stringify(id)} already exists`);
  const siblings = siblingsOf(tree, views, parentId, id);
  doc.transact(() => {
    const node = new Y.Map<unknown>();
    node.set('title', options.title ?? '');
    node.set('parentId', parentId);
    node.set('status', options.status ?? null);
    nodesOf(doc).set(id, node);
    writePlacement(doc, siblings, options.index ?? siblings.length, [id]);
  });
  return id;
}

export function renameNode(doc: Y.Doc, id: string, title: string): void {
  mustFind(viewIndex(renderTree(doc)), id);
  doc.transact(() => nodeMap(doc, id).set('title', title));
}

export function setStatus(doc: Y.Doc, id: string, status: string | null): void {
  mustFind(viewIndex(renderTree(doc)), id);
  doc.transact(() => nodeMap(doc, id).set('status', status));
}

/**
 * Moves a node under `parentId` (null: to the roots) at `index` among its new siblings
 * (default: last). Refused when the new parent is the node or one of its descendants.
 */
export function moveNode(doc: Y.Doc, id: string, parentId: string | null, index?: number): void {
  checkIndex(index);
  const tree = renderTree(doc);
  const views = viewIndex(tree);
  const node = mustFind(views, id);
  if (parentId !== null) {
    for (let up: string | null = parentId; up !== null; up = mustFind(views, up).parentId) {
      if (up === id)
        throw new TreeOperationError(`cannot move ${JSON.stringify(id)} under itself or its own descendant ${JSON.stringify(parentId)}`);
    }
  }
  const siblings = siblingsOf(tree, views, parentId, id);
  const clock = maxMoveClock(doc) + 1;
  doc.transact(() => {
    writeAffirmations(doc, tree, id);
    const map = nodeMap(doc, id);
    map.set('parentId', parentId);
    map.set('previousParentId', node.parentId);
    map.set('moveClock', clock);
    writePlacement(doc, siblings, index ?? siblings.length, [id]);
  });
}

/** Moves a node to `index` among its current siblings. */
export function reorderNode(doc: Y.Doc, id: string, index: number): void {
  checkIndex(index);
  const tree = renderTree(doc);
  const views = viewIndex(tree);
  const node = mustFind(views, id);
  const siblings = siblingsOf(tree, views, node.parentId, id);
  doc.transact(() => writePlacement(doc, siblings, index, [id]));
}

export function deleteNode(doc: Y.Doc, id: string, options: DeleteNodeOptions = {}): void {
  const tree = renderTree(doc);
  const views = viewIndex(tree);
  const node = mustFind(views, id);
  const mode = options.children ?? 'delete';
  const doomed = new Set<string>([id]);
  if (mode === 'delete') {
    const stack = [...node.children];
    while (stack.length > 0) {
      const next = stack.pop()!;
      doomed.add(next);
      stack.push(...views.get(next)!.children);
    }
  }
  doc.transact(() => {
    if (mode === 'lift') {
      // The children take the deleted node's place, in their order.
      for (const child of node.children) nodeMap(doc, child).set('parentId', node.parentId);
      writePlacement(doc, siblingsOf(tree, views, node.parentId, id), node.index, node.children);
    }
    const nodes = nodesOf(doc);
    for (const gone of doomed) nodes.delete(gone);
    const edges = doc.getMap<unknown>(EDGES_MAP);
    for (const edge of tree.edges) if (doomed.has(edge.from) || doomed.has(edge.to)) edges.delete(edge.id);
  });
}

/**
 * Writes the rendered parent of every repaired node (cut cycle, deleted parent) into its
 * `parentId`. Returns how many nodes it wrote. Idempotent once the state is repaired.
 */
export function affirmParents(doc: Y.Doc): number {
  const tree = renderTree(doc);
  let written = 0;
  doc.transact(() => {
    written = writeAffirmations(doc, tree, null);
  });
  return written;
}

function writeAffirmations(doc: Y.Doc, tree: TreeContent, except: string | null): number {
  let written = 0;
  for (const node of tree.nodes) {
    if (node.repair === null || node.id === except) continue;
    nodeMap(doc, node.id).set('parentId', node.parentId);
    written++;
  }
  return written;
}

/** The largest `moveClock` in the document (0 when none): moves write one more. */
export function maxMoveClock(doc: Y.Doc): number {
  let max = 0;
  nodesOf(doc).forEach((value) => {
    const clock =
      value instanceof Y.Map
        ? value.get('moveClock')
        : typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)['moveClock']
          : undefined;
    if (typeof clock === 'number' && Number.isFinite(clock) && clock > max) max = clock;
  });
  return max;
}

/** Adds an explicit edge between two existing nodes; returns its id. */
export function addEdge(doc: Y.Doc, options: AddEdgeOptions): string {
  const views = viewIndex(renderTree(doc));
  mustFind(views, options.from);
  mustFind(views, options.to);
  const id = options.id ?? newId();
  const edges = doc.getMap<unknown>(EDGES_MAP);
  if (edges.has(id)) throw new TreeOperationError(`edge ${JSON.stringify(id)} already exists`);
  doc.transact(() => {
    const edge = new Y.Map<unknown>();
    edge.set('from', options.from);
    edge.set('to', options.to);
    edge.set('type', options.type);
    edges.set(id, edge);
  });
  return id;
}

export function removeEdge(doc: Y.Doc, id: string): void {
  doc.transact(() => doc.getMap<unknown>(EDGES_MAP).delete(id));
}
