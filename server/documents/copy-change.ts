/**
 * A change to a live document, made on a copy. The live Y.Doc changes only through
 * Room.apply, so every change is stored, relayed and acknowledged the same way; a writer on
 * the server (a version restore, edit ops, a raw update checked before it is applied)
 * therefore makes its change on a copy of the live state and hands Room.apply what that
 * change was, as one v1 update: `encodeStateAsUpdate(copy, stateVectorBefore)`.
 * Pure.
 */
import * as Y from 'yjs';

export interface CopyChange<T> {
  /** What `change` returned. */
  readonly result: T;
  /** What it changed, as one v1 update for the live document; null when it changed nothing. */
  readonly update: Uint8Array | null;
}

/** Runs `change` on a copy of `live` (which is only read); whatever `change` throws is thrown after the copy is freed. */
export function changeOnCopy<T>(live: Y.Doc, change: (copy: Y.Doc) => T): CopyChange<T> {
  const copy = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(live));
    const before = Y.encodeStateVector(copy);
    // Yjs emits `update` only for a transaction that changed something.
    let changed = false;
    const observe = (): void => {
      changed = true;
    };
    copy.on('update', observe);
    const result = change(copy);
    copy.off('update', observe);
    return { result, update: changed ? Y.encodeStateAsUpdate(copy, before) : null };
  } finally {
    copy.destroy();
  }
}
