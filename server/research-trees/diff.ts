/**
 * Structured diff of two rendered research trees: added, removed and changed nodes and
 * edges, matched by id. A node changed when one of its own fields did (title, effective
 * parent, order, status); depth, position and children lists follow from those and are not
 * compared, so moving one node reports that node only. Pure (browser app and server).
 */
import { compareIds } from './order.js';
import type { TreeContent, TreeEdgeView, TreeNodeView } from './render.js';

/** The node fields a diff compares. */
export const NODE_DIFF_FIELDS = ['title', 'parentId', 'order', 'status'] as const;
export type NodeDiffField = (typeof NODE_DIFF_FIELDS)[number];

export const EDGE_DIFF_FIELDS = ['from', 'to', 'type'] as const;
export type EdgeDiffField = (typeof EDGE_DIFF_FIELDS)[number];

export interface Change<T, F extends string> {
  readonly id: string;
  /** The fields that differ, in the order of the *_DIFF_FIELDS list. */
  readonly fields: readonly F[];
  readonly before: T;
  readonly after: T;
}

export interface TreeDiff {
  readonly kind: 'research_tree';
  readonly nodes: {
    readonly added: readonly TreeNodeView[];
    readonly removed: readonly TreeNodeView[];
    readonly changed: readonly Change<TreeNodeView, NodeDiffField>[];
  };
  readonly edges: {
    readonly added: readonly TreeEdgeView[];
    readonly removed: readonly TreeEdgeView[];
    readonly changed: readonly Change<TreeEdgeView, EdgeDiffField>[];
  };
}

export function diffTrees(from: TreeContent, to: TreeContent): TreeDiff {
  return {
    kind: 'research_tree',
    nodes: diffById(from.nodes, to.nodes, NODE_DIFF_FIELDS),
    edges: diffById(from.edges, to.edges, EDGE_DIFF_FIELDS),
  };
}

function diffById<T extends { readonly id: string }, F extends keyof T & string>(
  from: readonly T[],
  to: readonly T[],
  fields: readonly F[],
): { added: T[]; removed: T[]; changed: Change<T, F>[] } {
  const before = new Map(from.map((item) => [item.id, item]));
  const after = new Map(to.map((item) => [item.id, item]));
  const added: T[] = [];
  const removed: T[] = [];
  const changed: Change<T, F>[] = [];
  for (const item of to) if (!before.has(item.id)) added.push(item);
  for (const item of from) {
    const next = after.get(item.id);
    if (!next) {
      removed.push(item);
      continue;
    }
    const differing = fields.filter((f) => !Object.is(item[f], next[f]));
    if (differing.length > 0) changed.push({ id: item.id, fields: differing, before: item, after: next });
  }
  const byId = (a: { id: string }, b: { id: string }) => compareIds(a.id, b.id);
  return { added: added.sort(byId), removed: removed.sort(byId), changed: changed.sort(byId) };
}
