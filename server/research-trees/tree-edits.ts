/**
 * High-level edits of a research tree, atomic: every op is parsed and planned against a
 * model of the rendered tree (parents, sibling order, node and edge ids), each op seeing the
 * ops before it; only when all of them can apply are they carried out, by the tree's own
 * operations (operations.ts), in one `doc.transact(…, origin)`. An op that cannot apply
 * (bad shape, unknown node or edge, a taken id, a move under the node itself) leaves the
 * Y.Doc untouched, byte for byte, and names the op.
 * Pure: no I/O.
 */
import type * as Y from 'yjs';
import { EditOpError, isEditFailure, parseOps, type EditOutcome } from '../documents/edit-requests.js';
import { addEdge, createNode, deleteNode, moveNode, removeEdge, renameNode, setStatus } from './operations.js';
import { EDGES_MAP, NODES_MAP, renderTree } from './render.js';
import { treeEditOp, type TreeEditOp } from './tree-edit-ops.js';

/** The tree as the ops so far leave it: what planning needs, nothing more. */
class TreeDraft {
  /** Rendered parent of each node (null: a root). */
  readonly parentOf = new Map<string, string | null>();
  /** Children in sibling order; the key null holds the roots. */
  readonly childrenOf = new Map<string | null, string[]>();
  /** Every key of the `nodes` map (a key holding junk is still taken). */
  readonly takenNodeIds: Set<string>;
  /** Every key of the `edges` map → its endpoints when it is a rendered edge. */
  readonly edges = new Map<string, { from: string; to: string } | null>();

  constructor(doc: Y.Doc) {
    const tree = renderTree(doc);
    this.childrenOf.set(null, [...tree.roots]);
    for (const node of tree.nodes) {
      this.parentOf.set(node.id, node.parentId);
      this.childrenOf.set(node.id, [...node.children]);
    }
    this.takenNodeIds = new Set(doc.getMap<unknown>(NODES_MAP).keys());
    for (const key of doc.getMap<unknown>(EDGES_MAP).keys()) this.edges.set(key, null);
    for (const edge of tree.edges) this.edges.set(edge.id, { from: edge.from, to: edge.to });
  }

  mustExist(id: string, field: string): void {
    if (!this.parentOf.has(id)) throw new EditOpError(`${field}: no node ${JSON.stringify(id)} in the tree`);
  }

  /** The index among `parentId`'s children (without `moving`) where a node placed after `after` goes. */
  indexAfter(parentId: string | null, after: string | null | undefined, moving: string | null): number {
    const siblings = this.childrenOf.get(parentId)!.filter((id) => id !== moving);
    if (after === undefined) return siblings.length;
    if (after === null) return 0;
    const at = siblings.indexOf(after);
    if (at === -1)
      throw new EditOpError(
        `after: ${JSON.stringify(after)} is not a child of ${parentId === null ? 'the roots' : JSON.stringify(parentId)}`,
      );
    return at + 1;
  }

  place(id: string, parentId: string | null, index: number): void {
    this.parentOf.set(id, parentId);
    this.childrenOf.get(parentId)!.splice(index, 0, id);
  }

  unplace(id: string): void {
    const siblings = this.childrenOf.get(this.parentOf.get(id)!)!;
    siblings.splice(siblings.indexOf(id), 1);
  }
}

/** A planned op: carried out inside the transaction. */
type Step = (doc: Y.Doc) => void;

/**
 * Applies `ops` (unknown JSON, each parsed here) to the research tree of `doc` in one
 * transaction with `origin`, or changes nothing and answers which op failed. `ids` maps the
 * index of each addNode/addEdge op to the id it created.
 */
export function applyTreeEdits(doc: Y.Doc, ops: readonly unknown[], origin: unknown = null): EditOutcome {
  const parsed = parseOps(treeEditOp, ops);
  if (isEditFailure(parsed)) return parsed;
  const draft = new TreeDraft(doc);
  const steps: Step[] = [];
  const ids: Record<string, string> = {};
  for (let index = 0; index < parsed.ops.length; index++) {
    try {
      const planned = planOp(draft, parsed.ops[index]!);
      steps.push(planned.step);
      if (planned.created !== undefined) ids[String(index)] = planned.created;
    } catch (error) {
      if (error instanceof EditOpError) return { error: error.message, op: index };
      throw error;
    }
  }
  doc.transact(() => {
    for (const step of steps) step(doc);
  }, origin);
  return { applied: steps.length, ids };
}

function planOp(draft: TreeDraft, op: TreeEditOp): { step: Step; created?: string } {
  switch (op.op) {
    case 'addNode': {
      const id = op.id ?? globalThis.crypto.randomUUID();
      if (draft.takenNodeIds.has(id)) throw new EditOpError(`id: node ${JSON.stringify(id)} already exists`);
      const parentId = op.parentId ?? null;
      if (parentId !== null) draft.mustExist(parentId, 'parentId');
      const index = draft.indexAfter(parentId, op.after, null);
      draft.place(id, parentId, index);
      draft.childrenOf.set(id, []);
      draft.takenNodeIds.add(id);
      const { title } = op;
      const status = op.status ?? null;
      return { step: (doc) => void createNode(doc, { id, title, parentId, index, status }), created: id };
    }
    case 'updateNode': {
      draft.mustExist(op.id, 'id');
      const { id, title, status } = op;
      return {
        step: (doc) => {
          if (title !== undefined) renameNode(doc, id, title);
          if (status !== undefined) setStatus(doc, id, status);
        },
      };
    }
    case 'moveNode': {
      const { id, parentId } = op;
      draft.mustExist(id, 'id');
      if (parentId !== null) {
        draft.mustExist(parentId, 'parentId');
        for (let up: string | null = parentId; up !== null; up = draft.parentOf.get(up)!) {
          if (up === id)
            throw new EditOpError(
              `parentId: cannot move ${JSON.stringify(id)} under itself or its own descendant ${JSON.stringify(parentId)}`,
            );
        }
      }
      if (op.after === id) throw new EditOpError('after: a node cannot be placed after itself');
      const index = draft.indexAfter(parentId, op.after, id);
      draft.unplace(id);
      draft.place(id, parentId, index);
      return { step: (doc) => moveNode(doc, id, parentId, index) };
    }
    case 'deleteNode': {
      const { id } = op;
      draft.mustExist(id, 'id');
      const parentId = draft.parentOf.get(id)!;
      const siblings = draft.childrenOf.get(parentId)!;
      const children = draft.childrenOf.get(id)!;
      siblings.splice(siblings.indexOf(id), 1, ...children);
      for (const child of children) draft.parentOf.set(child, parentId);
      draft.parentOf.delete(id);
      draft.childrenOf.delete(id);
      draft.takenNodeIds.delete(id);
      for (const [edgeId, ends] of draft.edges) if (ends !== null && (ends.from === id || ends.to === id)) draft.edges.delete(edgeId);
      return { step: (doc) => deleteNode(doc, id, { children: 'lift' }) };
    }
    case 'addEdge': {
      const id = op.id ?? globalThis.crypto.randomUUID();
      const { from, to, type } = op;
      draft.mustExist(from, 'from');
      draft.mustExist(to, 'to');
      if (draft.edges.has(id)) throw new EditOpError(`id: edge ${JSON.stringify(id)} already exists`);
      draft.edges.set(id, { from, to });
      return { step: (doc) => void addEdge(doc, { id, from, to, type }), created: id };
    }
    case 'deleteEdge': {
      const { id } = op;
      if (!draft.edges.has(id)) throw new EditOpError(`id: no edge ${JSON.stringify(id)} in the tree`);
      draft.edges.delete(id);
      return { step: (doc) => removeEdge(doc, id) };
    }
  }
}
