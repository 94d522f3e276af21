/**
 * A change the server makes to a live document on a caller's behalf (a version restore, a
 * raw update or edit ops over HTTP, a new document's content), applied exactly like a
 * client's edit: through `Room.apply` with the server origin, in one transaction, so it is
 * stored with the caller's user and session, relayed to every client of both protocols on
 * every instance, and answered only once it is committed — the promise an acknowledged
 * socket edit makes (its ack waits for everything applied before it, and so does this).
 */
import type { Logger } from 'pino';
import { HttpError } from '../http/http-error.js';
import type { AppendMeta } from '../persistence/storage.js';
import { InvalidUpdateError, RoomEvictedError, type ApplyResult, type Room } from '../rooms/room.js';
import { serverOrigin } from '../rooms/update-origin.js';

/** Whom the change is stored for (`collaborations.user_id`, `session_id`, `operation_type`). */
export interface ServerUpdateAuthor extends AppendMeta {
  /** `restore`, `update`, `edit`, `import`. */
  readonly operationType: string;
}

/**
 * Applies `update` (null: nothing to apply) and resolves once it and everything applied to the
 * room before it is committed. Refusals are HttpErrors that name `subject` ("the edit"):
 * 503 (storage's queue is full; the document is suspended; it is being reloaded), 413 (the
 * document would outgrow MAX_DOCUMENT_BYTES), 400 (not a valid update), 500 (the database
 * refused it for good, logged). Nothing is applied when it is refused before the commit.
 */
export async function commitServerUpdate(
  room: Room,
  update: Uint8Array | null,
  author: ServerUpdateAuthor,
  subject: string,
  logger: Logger,
): Promise<void> {
  let refusal: Error | null = null;
  if (update !== null) {
    const origin = serverOrigin(author.userId, author.sessionId, author.operationType, (error) => (refusal ??= error));
    let result: ApplyResult;
    try {
      result = room.apply(update, origin);
    } catch (error) {
      if (error instanceof InvalidUpdateError) throw new HttpError(400, error.message);
      if (error instanceof RoomEvictedError)
        throw new HttpError(503, `the document is being reloaded; try ${subject} again`, { 'retry-after': '1' });
      throw error;
    }
    if (result === 'full')
      throw new HttpError(503, `the server is busy storing edits; try ${subject} again shortly`, { 'retry-after': '5' });
    if (result === 'too-large') throw new HttpError(413, `${subject} would make the document larger than MAX_DOCUMENT_BYTES`);
    if (result === 'suspended') {
      throw new HttpError(503, `the document refuses edits for a while after repeated broken updates; try ${subject} again shortly`, {
        'retry-after': '60',
      });
    }
  }
  await room.durability.whenSettled(room.durability.appended);
  if (refusal !== null) {
    logger.error({ err: refusal, document: room.name, operationType: author.operationType }, `the database refused ${subject}`);
    throw new HttpError(500, `${subject} could not be stored`);
  }
}
