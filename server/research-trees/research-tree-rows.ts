/**
 * One refresh of the research-tree projection (`research_trees`, server/research-trees/research-tree-store.ts)
 * from a document: render the tree (the shared rule), take the Yjs snapshot it was rendered
 * from, write. Takes no lock: the SQL is correct without one (the scheduler in
 * server/research-trees/tree-projection.ts takes the document lock to save duplicate work).
 */
import * as Y from 'yjs';
import type { Db } from '../persistence/db.js';
import { takeTreeVersion, writeLiveTree, type LiveTreeResult, type TakenTreeVersion } from './research-tree-store.js';
import { renderTree, type TreeContent } from './render.js';
import { snapshotCovers } from '../documents/snapshot-covers.js';

/** A tree rendered together with the snapshot of the state it was rendered from. */
export interface RenderedTree {
  readonly structure: TreeContent;
  readonly snapshot: Y.Snapshot;
}

export function renderForProjection(doc: Y.Doc): RenderedTree {
  return { structure: renderTree(doc), snapshot: Y.snapshot(doc) };
}

/** After edits: the live row gets the tree unless it already holds this state or a newer one. */
export function writeRenderedTree(db: Db, documentId: string, rendered: RenderedTree): Promise<LiveTreeResult> {
  return writeLiveTree(db, documentId, {
    structure: rendered.structure,
    snapshot: Y.encodeSnapshot(rendered.snapshot),
    storedCovers: (stored) => snapshotCovers(stored, rendered.snapshot),
  });
}

/** A document version was taken from `doc`: freeze the live row with its tree and start the next. */
export function takeRenderedTreeVersion(db: Db, documentId: string, rendered: RenderedTree): Promise<TakenTreeVersion | null> {
  return takeTreeVersion(db, documentId, { structure: rendered.structure, snapshot: Y.encodeSnapshot(rendered.snapshot) });
}
