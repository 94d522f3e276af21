/**
 * The one rendering rule of a research tree (server and browser app): whatever the
 * shared state holds, a forest in which every node is reachable from a root.
 * CONTRACT STUB: the research-tree work fills it in and may add fields.
 */
import type * as Y from 'yjs';

export interface TreeNodeView {
  readonly id: string;
  readonly title: string;
  /** The effective parent after cycle breaking and re-rooting (null: a root). */
  readonly parentId: string | null;
  readonly status: string | null;
}

export interface TreeEdgeView {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly type: string;
}

/** `GET /api/documents/:name` content of a research tree. */
export interface TreeContent {
  readonly nodes: readonly TreeNodeView[];
  readonly edges: readonly TreeEdgeView[];
}

export function renderTree(doc: Y.Doc): TreeContent {
  void doc;
  throw new Error('renderTree: not implemented yet');
}
