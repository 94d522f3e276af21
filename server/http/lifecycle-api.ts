/**
 * A document's lifecycle over HTTP (docs/contracts.md "Programmable documents"):
 *   DELETE /api/documents/:name                 to the trash (204); its sockets close on every instance
 *   PATCH  /api/documents/:name {name}          rename (200 {id,name}); the old name stays an alias
 *   POST   /api/documents/:name/duplicate {name} a copy of the current content, no history (201)
 *   GET    /api/trash?projectId=                the trash of the caller's projects (owners)
 *   POST   /api/trash/:id/restore               back out of the trash (200; 409 if its name is taken)
 * Access is the one rule (request-auth.ts, auth/authorizer.ts): deleting and renaming write the
 * document (owners and editors), duplicating reads it and creates in its project, the trash
 * is managed by the project's owners. Each route needs the database (501 with STORAGE=memory).
 */
import { z } from 'zod';
import { mayManage } from '../auth/roles.js';
import type { Principal } from '../auth/authorizer.js';
import { findProject, projectAccess } from '../persistence/accounts.js';
import { recordAuditSafely, type AuditEntry } from '../persistence/audit.js';
import type { Db } from '../persistence/db.js';
import {
  findTrashed,
  listTrash,
  renameDocument,
  restoreDocument,
  trashDocument,
  type TrashedDocument,
} from '../persistence/document-lifecycle.js';
import { createDocument } from '../persistence/documents.js';
import type { DocumentRef } from '../persistence/storage.js';
import { withLiveRoom } from '../documents/live-room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { HttpRequest } from '../transport/transport.js';
import type { ApiDependencies } from './api-dependencies.js';
import type { CreatedDocument, DocumentNameBody, RenamedDocument, RestoredDocument, TrashedDocumentSummary } from './api-types.js';
import { documentName, parseBody, queryObject, uuid, validate } from './body.js';
import { apiRoute, HttpError, noContent } from './http-error.js';
import { authenticateRequest, authorizeCreation, authorizeDocument, authorizeFoundDocument, deniedRequest } from './request-auth.js';
import { json, type RouteTable } from './routes.js';
import { recordEvent } from '../webhooks/outbox.js';

const nameBody = z.strictObject({ name: documentName() }) satisfies z.ZodType<DocumentNameBody>;
const trashQuery = z.object({ projectId: uuid().optional() });
const trashParams = z.object({ id: uuid() });

export function lifecycleRoutes(deps: ApiDependencies, rooms: RoomRegistry): RouteTable[] {
  return [
    {
      method: 'DELETE',
      pattern: '/api/documents/:name',
      description: {
        summary: 'Move the document to the trash; its sockets close on every instance',
        caller: 'user',
        responses: { 204: { description: 'in the trash' }, 501: { description: 'STORAGE=memory' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const { document } = await authorizeDocument(deps, request, principal, params.name!, 'write');
        const db = requireDb(deps);
        const trashed = await db.transaction(async (tx) => {
          const moved = await trashDocument(tx, document.id, principal.userId, new Date(deps.clock.now()));
          // The webhook event commits with the move, or neither does.
          if (moved) {
            const data = { deletedBy: moved.deletedBy, deletedAt: moved.deletedAt.toISOString() };
            await recordEvent(tx, { event: 'document.deleted', documentId: document.id, data });
          }
          return moved;
        });
        if (!trashed) throw new HttpError(404, `no document named ${JSON.stringify(params.name!)}`);
        // Its sessions close on every instance (LiveSessions), its rooms take no one in (RoomRegistry).
        deps.accessEvents.publish({ type: 'document-deleted', documentId: document.id });
        await audit(deps, principal, 'document.delete', document, {});
        return noContent();
      }),
    },
    {
      method: 'PATCH',
      pattern: '/api/documents/:name',
      description: {
        summary: 'Rename: `{id, name}`; the old name stays an alias',
        caller: 'user',
        body: { json: nameBody },
        responses: {
          200: { description: 'renamed (or unchanged)' },
          409: { description: 'the name is taken, or the document was renamed too often' },
          501: { description: 'STORAGE=memory' },
        },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const body = parseBody(nameBody, request);
        const { document } = await authorizeDocument(deps, request, principal, params.name!, 'write');
        const result = await renameDocument(requireDb(deps), document.id, body.name);
        switch (result.status) {
          case 'gone':
            throw new HttpError(404, `no document named ${JSON.stringify(params.name!)}`);
          case 'taken':
            throw new HttpError(409, `a document named ${JSON.stringify(body.name)} already exists`);
          case 'too-many-names':
            throw new HttpError(
              409,
              `${JSON.stringify(document.name)} has been renamed too often: it keeps at most its current name and a bounded number of former ones`,
            );
          case 'unchanged':
            break;
          case 'renamed':
            // Every instance reloads a live room of it under the new name (its bus channel is named after it).
            deps.accessEvents.publish({ type: 'document-renamed', documentId: document.id });
            await audit(deps, principal, 'document.rename', document, { from: result.formerName, to: result.document.name });
            break;
        }
        return json(200, { id: result.document.id, name: result.document.name } satisfies RenamedDocument);
      }),
    },
    {
      method: 'POST',
      pattern: '/api/documents/:name/duplicate',
      description: {
        summary: 'A copy of the current content under a new name, without history: 201 `{id, name, kind}`',
        caller: 'user',
        body: { json: nameBody },
        responses: { 201: { description: 'copied' }, 409: { description: 'the name is taken' }, 501: { description: 'STORAGE=memory' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const body = parseBody(nameBody, request);
        const { document: source } = await authorizeDocument(deps, request, principal, params.name!, 'read');
        const { create } = await authorizeCreation(deps, request, principal, {
          name: body.name,
          kind: source.kind,
          projectId: source.projectId,
        });
        const db = requireDb(deps);
        // The content as the live room holds it (edits not stored yet included).
        const state = await withLiveRoom(rooms, source, (room) => Promise.resolve(room.fullState()));
        const { document, created } = await createDocument(db, body.name, create.kind, create.projectId ?? source.projectId, state);
        if (!created) throw new HttpError(409, `a document named ${JSON.stringify(body.name)} already exists`);
        await audit(deps, principal, 'document.duplicate', document, { from: source.id });
        return json(201, { id: document.id, name: document.name, kind: document.kind } satisfies CreatedDocument);
      }),
    },
    {
      method: 'GET',
      pattern: '/api/trash',
      description: {
        summary: "The trash of the caller's projects (owners): `[{id, name, kind, projectId, deletedAt, deletedBy}]`",
        caller: 'user',
        query: trashQuery,
        responses: { 200: { description: 'the trashed documents' }, 501: { description: 'STORAGE=memory' } },
      },
      handler: apiRoute(async (request) => {
        const principal = await authenticateRequest(deps, request);
        const { projectId } = validate(trashQuery, queryObject(request), 'query');
        const db = requireDb(deps);
        if (principal.userId !== null && projectId !== undefined) await requireOwner(deps, db, request, principal, projectId);
        const trashed = await listTrash(db, { ownerId: principal.userId, projectId });
        return json(200, trashed.map(trashedJson));
      }),
    },
    {
      method: 'POST',
      pattern: '/api/trash/:id/restore',
      description: {
        summary: 'Restore a document from the trash: `{id, name, kind, projectId}`',
        caller: 'user',
        params: trashParams,
        responses: {
          200: { description: 'restored' },
          404: { description: 'not in the trash' },
          409: { description: 'its name belongs to another document now' },
          501: { description: 'STORAGE=memory' },
        },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const { id } = validate(trashParams, { id: params.id }, 'path');
        const db = requireDb(deps);
        const trashed = await findTrashed(db, id);
        if (!trashed) throw new HttpError(404, `no document with id ${id} in the trash`);
        await authorizeFoundDocument(deps, request, principal, trashed, 'manage');
        const result = await restoreDocument(db, id);
        if (result.status === 'not-in-trash') throw new HttpError(404, `no document with id ${id} in the trash`);
        if (result.status === 'name-taken')
          throw new HttpError(409, `the name ${JSON.stringify(trashed.name)} belongs to another document now`);
        const { document } = result;
        await audit(deps, principal, 'document.restore', document, {});
        return json(200, {
          id: document.id,
          name: document.name,
          kind: document.kind,
          projectId: document.projectId,
        } satisfies RestoredDocument);
      }),
    },
  ];
}

function requireDb(deps: ApiDependencies): Db {
  if (!deps.db) throw new HttpError(501, 'this server runs with STORAGE=memory: documents cannot be deleted, renamed or duplicated');
  return deps.db;
}

/** 404 for an unknown project, 403 (audited) unless the caller owns it (roles.ts `mayManage`). */
async function requireOwner(deps: ApiDependencies, db: Db, request: HttpRequest, principal: Principal, projectId: string): Promise<void> {
  if (!(await findProject(db, projectId))) throw new HttpError(404, `no project with id ${projectId}`);
  const access = await projectAccess(db, projectId, principal.userId!);
  if (!mayManage(access?.role ?? null)) {
    throw await deniedRequest(
      deps,
      request,
      principal,
      { type: 'project', id: projectId },
      'the trash of a project is visible to its owners only',
    );
  }
}

const trashedJson = (document: TrashedDocument): TrashedDocumentSummary => ({
  id: document.id,
  name: document.name,
  kind: document.kind,
  projectId: document.projectId,
  deletedAt: document.deletedAt.toISOString(),
  deletedBy: document.deletedBy,
});

/** Token mode records who changed which document (open mode has no users to name). */
async function audit(
  deps: ApiDependencies,
  principal: Principal,
  action: string,
  document: DocumentRef,
  details: AuditEntry['details'],
): Promise<void> {
  if (principal.userId === null) return;
  await recordAuditSafely(deps.db, deps.logger, {
    actor: 'user',
    actorUserId: principal.userId,
    action,
    resourceType: 'document',
    resourceId: document.id,
    details: { name: document.name, projectId: document.projectId, ...details },
  });
}
