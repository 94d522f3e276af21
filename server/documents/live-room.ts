/**
 * The live room of a document for one API request (a read, a write, a restore): the one
 * this instance already has open, or one opened through the registry for the request and
 * released after. Reads then see edits other instances have relayed but not yet stored, and
 * a write reaches every client of both protocols on every instance (the bus relay hears
 * everything applied to a room).
 */
import { DocumentDeletedError, type DocumentRef } from '../persistence/storage.js';
import { HttpError } from '../http/http-error.js';
import { RegistryClosedError, RenamedWhileLoadingError, type RoomRegistry } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';

/**
 * Runs `use` with the document's live room; 503 while the server shuts down or the document is
 * renamed as it loads, 404 when it went to the trash since it was found.
 */
export async function withLiveRoom<T>(rooms: RoomRegistry, document: DocumentRef, use: (room: Room) => Promise<T>): Promise<T> {
  let room: Room;
  try {
    room = await rooms.acquire(document);
  } catch (error) {
    if (error instanceof RegistryClosedError) throw new HttpError(503, 'server shutting down', { 'retry-after': '5' });
    if (error instanceof RenamedWhileLoadingError)
      throw new HttpError(503, 'the document is being renamed; try again', { 'retry-after': '1' });
    if (error instanceof DocumentDeletedError) throw new HttpError(404, `no document named ${JSON.stringify(document.name)}`);
    throw error;
  }
  try {
    return await use(room);
  } finally {
    rooms.release(room);
  }
}
