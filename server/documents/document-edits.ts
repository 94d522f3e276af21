/**
 * Edit requests by document kind, and their result as a Yjs update for `Room.apply`.
 * The live Y.Doc changes only through Room.apply (so every change is stored, relayed and
 * acknowledged the same way): `editUpdate` plans and applies the ops on a copy of the live
 * state and returns what that transaction changed as one update (copy-change.ts).
 * Pure.
 */
import type * as Y from 'yjs';
import type { DocumentKind } from '../persistence/documents.js';
import { applyTreeEdits } from '../research-trees/tree-edits.js';
import { isEditFailure, type EditFailure, type EditOutcome, type EditSuccess } from './edit-requests.js';
import { applyPaperEdits } from './paper-edits.js';
import { changeOnCopy } from './copy-change.js';

/** Applies the ops to `doc` in one transaction with `origin`, or changes nothing (edit-requests.ts). */
export function applyEdits(kind: DocumentKind, doc: Y.Doc, ops: readonly unknown[], origin: unknown = null): EditOutcome {
  return kind === 'paper' ? applyPaperEdits(doc, ops, origin) : applyTreeEdits(doc, ops, origin);
}

export interface EditUpdate extends EditSuccess {
  /** What the ops changed, as one v1 update to apply to the live document (null: they changed nothing). */
  readonly update: Uint8Array | null;
}

/** The update that applies `ops` to the live document, computed on a copy; the live Y.Doc is only read. */
export function editUpdate(kind: DocumentKind, live: Y.Doc, ops: readonly unknown[]): EditUpdate | EditFailure {
  const { result: outcome, update } = changeOnCopy(live, (copy) => applyEdits(kind, copy, ops));
  return isEditFailure(outcome) ? outcome : { ...outcome, update };
}
