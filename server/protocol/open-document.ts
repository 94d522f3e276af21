/**
 * Opening a document for a connection, the same for both protocols:
 * resolve the name → authorize → (create, if the grant allows) → load and join.
 * Authorization runs before anything is loaded or created, so a caller without the
 * right to create a document never creates one.
 */
import { authorizeDocumentAction, PermissionDeniedError, type Authorizer, type Grant, type Principal } from '../auth/authorizer.js';
import type { Room } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { documentNameProblem } from '../document-name.js';

// The one rule for names (code points, no NUL), shared with the HTTP API.
export { documentNameProblem, MAX_DOCUMENT_NAME_LENGTH } from '../document-name.js';

export interface OpenedDocument {
  readonly room: Room;
  readonly grant: Grant;
  /** Who opened it (the object `authenticate` returned, shared per token session). */
  readonly principal: Principal;
}

/**
 * Checks who is asking: a token is authenticated; a principal kept from an earlier
 * authentication (a reopen, a re-check) is revalidated (expiry, revocation).
 */
export async function identify(authorizer: Authorizer, credentials: string | Principal): Promise<Principal> {
  if (typeof credentials === 'string') return authorizer.authenticate(credentials);
  await authorizer.revalidate(credentials);
  return credentials;
}

/**
 * Resolves with the acquired room (pair it with `rooms.release`). Rejects with
 * PermissionDeniedError (the reason is for the client) or with whatever loading threw.
 */
export async function openDocument(
  rooms: RoomRegistry,
  authorizer: Authorizer,
  name: string,
  credentials: string | Principal,
  /** Told who is asking once the token is checked (a later denial is recorded with them). */
  identified?: (principal: Principal) => void,
): Promise<OpenedDocument> {
  const problem = documentNameProblem(name);
  if (problem) throw new PermissionDeniedError(problem);
  const principal = await identify(authorizer, credentials);
  identified?.(principal);
  const found = await rooms.find(name);
  if (found) {
    const grant = await authorizeDocumentAction(authorizer, principal, found, 'read');
    return { room: await rooms.acquire(found), grant, principal };
  }
  // A socket names no project: the authorizer says where, if it lets this caller create here at all.
  const grant = await authorizeDocumentAction(authorizer, principal, { name, kind: 'paper', projectId: null }, 'create');
  return { room: await rooms.acquire(await rooms.create(name, grant.create)), grant, principal };
}
