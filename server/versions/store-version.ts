/**
 * Storing a version from storage: a document's stored updates are read, merged into one
 * Yjs state, identified (state-identity.ts) and inserted as its next version
 * (version-store.ts: race-safe numbering, unique state per document), unless the state is
 * empty (when the request says so) or is the newest version's. So a version only ever holds
 * committed edits.
 *
 * One function for both places it runs: the version worker thread on its own PostgreSQL
 * connection (version-worker-thread.ts), and the main thread on PGlite, whose one connection
 * lives there, with only the merge handed to the worker (`encode`).
 */
import * as Y from 'yjs';
import { readStoredUpdates } from '../persistence/compaction.js';
import type { Queryable } from '../persistence/db.js';
import { sameBytes } from '../same-bytes.js';
import { isEmptyState, stateHash } from './state-identity.js';
import { insertVersion, type VersionKind } from './version-store.js';

export interface EncodedState {
  /** The merged state (one update). */
  readonly state: Uint8Array;
  /** Its `stateHash`. */
  readonly hash: Uint8Array;
  /** No operation at all. */
  readonly empty: boolean;
}

/** Merges `parts` (applied in order) into one state with its identity. */
export type StateEncoder = (parts: Uint8Array[]) => EncodedState | Promise<EncodedState>;

export interface StoreRequest {
  readonly documentId: string;
  /** The newest version's identity: a state with it is not inserted (outcome `unchanged`). */
  readonly latestHash: Uint8Array | null;
  /** An empty state is not inserted (outcome `empty`): automatic versions. */
  readonly skipEmpty: boolean;
  readonly kind: VersionKind;
  readonly label: string | null;
  readonly createdBy: string | null;
}

export type StoreOutcome =
  /** The document no longer exists. */
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'empty' }
  | { readonly outcome: 'unchanged' }
  /** Inserted (`created`), or that state was already stored as version `versionId`. */
  | {
      readonly outcome: 'stored';
      readonly versionId: string;
      readonly created: boolean;
      readonly state: Uint8Array;
      readonly hash: Uint8Array;
    };

/**
 * `parts` merged in one Y.Doc; a part that does not apply is left out, as a load leaves it
 * out (quarantine). The state and hash are buffers of their own, so they can be transferred
 * between threads.
 */
export function encodeStoredState(parts: readonly Uint8Array[]): EncodedState {
  const doc = new Y.Doc();
  Y.transact(doc, () => {
    for (const part of parts) {
      try {
        Y.applyUpdate(doc, part);
      } catch {
        // Left out, see above.
      }
    }
  });
  const state = Y.encodeStateAsUpdate(doc);
  const hash = new Uint8Array(stateHash(doc));
  const empty = isEmptyState(doc);
  doc.destroy();
  return { state, hash, empty };
}

export async function storeVersion(db: Queryable, request: StoreRequest, encode: StateEncoder): Promise<StoreOutcome> {
  const parts = await readStoredUpdates(db, request.documentId);
  if (parts === null) return { outcome: 'gone' };
  const { state, hash, empty } = await encode(parts);
  if (request.skipEmpty && empty) return { outcome: 'empty' };
  // Edits of other instances not stored yet can make the stored state the newest version's.
  if (sameBytes(request.latestHash, hash)) return { outcome: 'unchanged' };
  const inserted = await insertVersion(db, {
    documentId: request.documentId,
    kind: request.kind,
    label: request.label,
    createdBy: request.createdBy,
    state,
    hash,
  });
  return { outcome: 'stored', versionId: inserted.id, created: inserted.created, state, hash };
}
