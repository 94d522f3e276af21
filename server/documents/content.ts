/**
 * A document's content by its kind, for the API and versions: rendering (paper: ProseMirror
 * JSON, text and comments; research tree: `{nodes, edges}`) and structured diffs of two
 * renderings. The models themselves live in paper.ts / paper-diff.ts and research-tree/.
 * Diffs compare rendered content, never Yjs snapshots: live documents are garbage-collected.
 */
import * as Y from 'yjs';
import type { DocumentKind } from '../persistence/documents.js';
import { renderPaper, type PaperContent } from './paper.js';
import { diffPapers, type PaperDiff } from './paper-diff.js';
import { diffTrees, type TreeDiff } from '../research-trees/diff.js';
import { renderTree, type TreeContent } from '../research-trees/render.js';

export type DocumentContent = PaperContent | TreeContent;
export type ContentDiff = PaperDiff | TreeDiff;

export function renderContent(kind: DocumentKind, doc: Y.Doc): DocumentContent {
  return kind === 'paper' ? renderPaper(doc) : renderTree(doc);
}

/** Renders a stored state (a version) on a throwaway Y.Doc. */
export function renderState(kind: DocumentKind, state: Uint8Array): DocumentContent {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state);
    return renderContent(kind, doc);
  } finally {
    doc.destroy();
  }
}

export function diffContent(kind: DocumentKind, from: DocumentContent, to: DocumentContent): ContentDiff {
  return kind === 'paper' ? diffPapers(from as PaperContent, to as PaperContent) : diffTrees(from as TreeContent, to as TreeContent);
}

/** The shared types a document of each kind is made of (docs/contracts.md "Yjs layout"): what a restore replaces. */
export type SharedRoot = { readonly name: string; readonly type: 'fragment' | 'map' };

export const SHARED_ROOTS: Readonly<Record<DocumentKind, readonly SharedRoot[]>> = {
  paper: [
    { name: 'default', type: 'fragment' },
    { name: 'comments', type: 'map' },
  ],
  research_tree: [
    { name: 'nodes', type: 'map' },
    { name: 'edges', type: 'map' },
  ],
};
