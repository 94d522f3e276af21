/**
 * Writes to a document's content from the API, whatever the instance (docs/contracts.md
 * "Programmable documents"): one raw Yjs update (`POST …/updates`), high-level edit ops
 * (`POST …/edits`, document-edits.ts) and a new document's initial content (`POST
 * /api/documents {content}`, formats/content-import.ts). Each is checked on a copy of the
 * live state first (copy-change.ts), so a write that cannot apply changes nothing and does
 * not disturb the live room, then applied to the live room as one server-made change
 * (server-update.ts), answered once committed. The caller has checked write access.
 */
import type { Logger } from 'pino';
import * as Y from 'yjs';
import { HttpError } from '../http/http-error.js';
import type { DocumentRef } from '../persistence/storage.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { sameBytes } from '../same-bytes.js';
import { changeOnCopy } from './copy-change.js';
import { editUpdate } from './document-edits.js';
import type { EditFailure, EditSuccess } from './edit-requests.js';
import { withLiveRoom } from './live-room.js';
import { commitServerUpdate, type ServerUpdateAuthor } from './server-update.js';

export interface DocumentWritesDependencies {
  readonly rooms: RoomRegistry;
  readonly logger: Logger;
}

export interface Written {
  /** The document's state vector once the write is committed (it covers the write). */
  readonly stateVector: Uint8Array;
}

export class DocumentWrites {
  constructor(private readonly deps: DocumentWritesDependencies) {}

  /**
   * Applies one Yjs v1 update. 400, with nothing changed, when it does not decode or
   * integrate, or when it builds on changes the document does not have (it would wait in
   * the document unseen: its sender should send what it depends on first). An update the
   * document already holds changes nothing and is answered like any other.
   */
  update(document: DocumentRef, author: ServerUpdateAuthor, update: Uint8Array): Promise<Written> {
    return withLiveRoom(this.deps.rooms, document, async (room) => {
      let missing: string | null;
      try {
        missing = changeOnCopy(room.doc, (copy) => missingDependencies(copy, update)).result;
      } catch (error) {
        throw new HttpError(400, `invalid Yjs update: ${(error as Error).message}`);
      }
      if (missing !== null) throw new HttpError(400, `the update depends on ${missing} the document does not have`);
      // The update itself, not what it changed on the copy: the room then decides, as for a
      // socket's update, whether a duplicate must be stored again to cover relayed edits.
      await commitServerUpdate(room, update, author, 'the update', this.deps.logger);
      return { stateVector: Y.encodeStateVector(room.doc) };
    });
  }

  /** Applies the ops as one transaction, or answers which op cannot apply (nothing changed then). */
  edit(document: DocumentRef, author: ServerUpdateAuthor, ops: readonly unknown[]): Promise<(EditSuccess & Written) | EditFailure> {
    return withLiveRoom(this.deps.rooms, document, async (room) => {
      const planned = editUpdate(document.kind, room.doc, ops);
      if ('error' in planned) return planned;
      await commitServerUpdate(room, planned.update, author, 'the edit', this.deps.logger);
      return { applied: planned.applied, ids: planned.ids, stateVector: Y.encodeStateVector(room.doc) };
    });
  }

  /** Writes a new document's initial content (one update holding its whole state). */
  initialize(document: DocumentRef, author: ServerUpdateAuthor, update: Uint8Array): Promise<void> {
    return withLiveRoom(this.deps.rooms, document, (room) => commitServerUpdate(room, update, author, 'the content', this.deps.logger));
  }
}

/**
 * Applies `update` to `doc` (a copy) and says what of it had to wait for changes `doc` lacks —
 * `changes` (structs) or `deletions` — or null when all of it applied. Throws when it does not
 * decode or integrate.
 */
function missingDependencies(doc: Y.Doc, update: Uint8Array): string | null {
  const store = doc.store;
  const pendingBefore = store.pendingStructs?.update ?? null;
  const pendingDsBefore = store.pendingDs;
  Y.applyUpdate(doc, update);
  const pending = store.pendingStructs?.update ?? null;
  if (pending !== null && pending !== pendingBefore) return 'changes';
  if (store.pendingDs !== null && !sameBytes(store.pendingDs, pendingDsBefore)) return 'deletions';
  return null;
}
