/**
 * The identity of a document's Yjs state, to never store the same state twice.
 *
 * Why not hash the state update (`Y.encodeStateAsUpdate`): two instances holding the same
 * document encode it differently (structs split and merged in another way, garbage-collected
 * content in another shape), so equal states would hash apart. Why not hash the rendered
 * content: it only sees what a renderer shows, and changes meaning when the renderer changes.
 *
 * A Yjs state is exactly "which operations it contains" (the state vector: each client's
 * clock) and "which of them are deleted" (the delete set). A Yjs snapshot is those two, and
 * its encoding is canonical: clients sorted, delete ranges sorted and merged. So the sha-256
 * of `Y.encodeSnapshot(Y.snapshot(doc))` is equal for equal states on every instance, differs
 * for any change, and costs a walk over the structs' ids, not their content (no rendering,
 * no full encode). A Yjs state only ever grows (clocks and deletions never go back), so a
 * state once left never comes back: comparing with the newest version is enough, and the
 * unique index on (document_id, content_hash) can never refuse a legitimate version.
 */
import { createHash } from 'node:crypto';
import * as Y from 'yjs';

export function stateHash(doc: Y.Doc): Uint8Array {
  return createHash('sha256')
    .update(Y.encodeSnapshot(Y.snapshot(doc)))
    .digest();
}

/** True when the document holds nothing at all (no operation was ever applied). */
export function isEmptyState(doc: Y.Doc): boolean {
  return doc.store.clients.size === 0;
}
