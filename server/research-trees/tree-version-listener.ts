/**
 * Every version of a research tree freezes its row in `research_trees` (the research-tree
 * projection, server/research-trees/tree-projection.ts): rendered from the version's own state, so the
 * row holds exactly what the version holds.
 */
import * as Y from 'yjs';
import type { TreeProjection } from './tree-projection.js';
import type { StoredVersionEvent, VersionListener } from '../versions/versions.js';

export function treeProjectionListener(projection: TreeProjection): VersionListener {
  return {
    async versionStored({ document, state }: StoredVersionEvent): Promise<void> {
      if (document.kind !== 'research_tree') return;
      const doc = new Y.Doc();
      try {
        Y.applyUpdate(doc, state);
        await projection.refresh(document.id, doc, { versionTaken: true });
      } finally {
        doc.destroy();
      }
    },
  };
}
