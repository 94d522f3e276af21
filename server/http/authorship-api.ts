/**
 * Authorship over HTTP (docs/contracts.md "Authorship"):
 *   GET /api/documents/:name/authors   who wrote and deleted how much, first and last edit
 *   GET /api/documents/:name/blame     a paper: who wrote each span of its text; a tree: who
 *                                      created and who last changed each node
 * Read access, checked as for every read route (401, 403 audited, 404). Both derive from the
 * update log (server/authorship/), so they need the database (501 with STORAGE=memory). The
 * log is read as the caller under row-level security, as the history is.
 */
import { readAuthorshipLog } from '../authorship/authorship-log.js';
import { Authorship, type LogReader } from '../authorship/authorship.js';
import type { PaperBlame, TreeBlame } from '../authorship/authorship-types.js';
import type { AwarenessNames } from '../authorship/awareness-names.js';
import type { Principal } from '../auth/authorizer.js';
import type { Db } from '../persistence/db.js';
import type { DocumentRef } from '../persistence/storage.js';
import { readAs } from '../persistence/user-context.js';
import { withLiveRoom } from '../documents/live-room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { ApiDependencies } from './api-dependencies.js';
import { apiRoute, HttpError } from './http-error.js';
import { authenticateRequest, authorizeDocument } from './request-auth.js';
import { json, type RouteTable } from './routes.js';

/** `names`: the open-mode display names the rooms' awareness taught (a room extension of the same object). */
export function authorshipRoutes(deps: ApiDependencies, rooms: RoomRegistry, names: AwarenessNames): RouteTable[] {
  const authorship = deps.db ? new Authorship({ db: deps.db, names }) : null;
  const need = (): { db: Db; authorship: Authorship } => {
    if (!deps.db || !authorship)
      throw new HttpError(501, 'this server runs with STORAGE=memory: it keeps no log to derive authorship from');
    return { db: deps.db, authorship };
  };
  const logOf =
    (db: Db, principal: Principal, document: DocumentRef): LogReader =>
    (since, fold) =>
      readAs(db, principal.userId, (q) => readAuthorshipLog(q, document.id, since, fold));
  return [
    {
      method: 'GET',
      pattern: '/api/documents/:name/authors',
      description: {
        summary: "Each user's inserted and deleted characters and first and last edit",
        caller: 'user',
        responses: { 200: { description: 'the authors' }, 501: { description: 'STORAGE=memory keeps no log' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const { document } = await authorizeDocument(deps, request, principal, params.name!);
        const { db, authorship } = need();
        return json(200, await authorship.authors(document, logOf(db, principal, document), liveRoom(rooms, document)));
      }),
    },
    {
      method: 'GET',
      pattern: '/api/documents/:name/blame',
      description: {
        summary: 'A paper: `{text, spans}` who wrote each span; a tree: `{nodes}` who created and last edited each node',
        caller: 'user',
        responses: { 200: { description: 'the blame' }, 501: { description: 'STORAGE=memory keeps no log' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const { document } = await authorizeDocument(deps, request, principal, params.name!);
        const { db, authorship } = need();
        const blame = await withLiveRoom(rooms, document, (room) => authorship.blame(document, logOf(db, principal, document), room));
        if ('nodes' in blame) return json(200, { nodes: blame.nodes } satisfies TreeBlame);
        if (!blame.attributed)
          deps.logger.warn({ document: document.name }, 'blame: the walk of the paper did not give its rendered text; no spans given');
        return json(200, { text: blame.text, spans: blame.spans } satisfies PaperBlame);
      }),
    },
  ];
}

/** The document's room if it is live on this instance (not opened for the request). */
function liveRoom(rooms: RoomRegistry, document: DocumentRef): Room | null {
  for (const room of rooms.rooms()) if (room.id === document.id) return room;
  return null;
}
