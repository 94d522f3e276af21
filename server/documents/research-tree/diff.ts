/**
 * Structured diff of two rendered research trees: added, removed and changed nodes and
 * edges. CONTRACT STUB: the research-tree work fills it in (keep `kind: 'research_tree'`).
 */
import type { TreeContent } from './render.js';

export interface TreeDiff {
  readonly kind: 'research_tree';
  readonly nodes: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly changed: readonly unknown[] };
  readonly edges: { readonly added: readonly unknown[]; readonly removed: readonly unknown[]; readonly changed: readonly unknown[] };
}

export function diffTrees(from: TreeContent, to: TreeContent): TreeDiff {
  void from;
  void to;
  throw new Error('diffTrees: not implemented yet');
}
