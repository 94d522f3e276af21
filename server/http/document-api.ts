/**
 * The read/write API (docs/contracts.md "HTTP API"): who am I, which documents can I read,
 * create one, read a document's history, who is in a document. Every route authenticates
 * and asks for access through request-auth.ts — the Authorizer the sockets use, which also
 * decides who may create a document — so a token means the same on both.
 */
import { z } from 'zod';
import { findProject, findUser, listDocuments, listReadableDocuments, listUserProjects, userNames } from '../persistence/accounts.js';
import { recordAuditSafely } from '../persistence/audit.js';
import { createDocument, DEFAULT_PROJECT_ID } from '../persistence/documents.js';
import { HISTORY_MAX_LIMIT, listHistory } from '../persistence/history.js';
import { MemoryStorage } from '../persistence/memory-storage.js';
import type { DocumentRef } from '../persistence/storage.js';
import { readAs } from '../persistence/user-context.js';
import type { Principal } from '../auth/authorizer.js';
import { presentUsers, PresenceUnavailableError, type PresenceEntry } from '../cluster/presence.js';
import type { DocumentWrites } from '../documents/document-writes.js';
import { importFormat } from '../documents/formats/content-import.js';
import { adminRoutes } from './admin-api.js';
import type { ApiDependencies } from './api-dependencies.js';
import type { CreatedDocument, DocumentPresence, DocumentSummary, Me, NewDocumentBody, ProjectSummary } from './api-types.js';
import { initialContentUpdate, writeInitialContent } from './content-api.js';
import { documentKind, documentName, parseBody, positiveIntegerParam, queryObject, uuid, validate } from './body.js';
import { apiRoute, HttpError } from './http-error.js';
import { authenticateRequest, authorizeCreation, authorizeDocument, unauthenticated } from './request-auth.js';
import { json, type RouteTable } from './routes.js';

const listQuery = z.object({ projectId: uuid().optional() });
const createBody = z.strictObject({
  name: documentName(),
  kind: documentKind(),
  projectId: uuid().optional(),
  content: z.unknown().optional(),
  format: importFormat.optional(),
}) satisfies z.ZodType<NewDocumentBody>;
const historyQuery = z.object({
  limit: positiveIntegerParam(HISTORY_MAX_LIMIT).optional(),
  before: positiveIntegerParam(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * The whole JSON API, as startServer mounts it: these routes and the admin API
 * (admin-api.ts), which share the dependencies.
 */
export function documentRoutes(deps: ApiDependencies, writes: DocumentWrites): RouteTable[] {
  return [...readWriteRoutes(deps, writes), ...adminRoutes(deps)];
}

function readWriteRoutes(deps: ApiDependencies, writes: DocumentWrites): RouteTable[] {
  const { db } = deps;
  return [
    {
      method: 'GET',
      pattern: '/api/me',
      description: {
        summary: 'The caller: `{id, name, email}`, or `{id: null, name: null}` in open mode',
        caller: 'user',
        responses: { 200: { description: 'the caller' }, 501: { description: 'STORAGE=memory has no users' } },
      },
      handler: apiRoute(async (request) => {
        const principal = await authenticateRequest(deps, request);
        if (principal.userId === null) return json(200, { id: null, name: null } satisfies Me);
        if (!db) throw new HttpError(501, 'this server runs with STORAGE=memory: it has no users');
        const user = await findUser(db, principal.userId);
        // Deleted after the token was checked.
        if (!user) throw unauthenticated('unknown user');
        return json(200, { id: user.id, name: user.name, email: user.email } satisfies Me);
      }),
    },
    {
      method: 'GET',
      pattern: '/api/documents',
      description: {
        summary: 'The documents the caller can read: `[{id, name, kind, projectId, updatedAt}]`',
        caller: 'user',
        query: listQuery,
        responses: { 200: { description: 'the readable documents' }, 501: { description: 'no database to list documents from' } },
      },
      handler: apiRoute(async (request) => {
        const principal = await authenticateRequest(deps, request);
        const { projectId } = validate(listQuery, queryObject(request), 'query');
        const documents = await readableDocuments(deps, principal, projectId);
        return json(
          200,
          documents.map(({ id, name, kind, projectId, updatedAt }): DocumentSummary => ({ id, name, kind, projectId, updatedAt })),
        );
      }),
    },
    {
      method: 'GET',
      pattern: '/api/projects',
      description: {
        summary: "The caller's projects: `[{id, name, role}]`",
        caller: 'user',
        responses: { 200: { description: 'the projects' }, 501: { description: 'STORAGE=memory has no projects' } },
      },
      handler: apiRoute(async (request) => {
        const principal = await authenticateRequest(deps, request);
        return json(200, await callerProjects(deps, principal));
      }),
    },
    {
      method: 'POST',
      pattern: '/api/documents',
      description: {
        summary: 'Create a document, optionally with initial content: 201 `{id, name, kind}`',
        caller: 'user',
        body: { json: createBody },
        responses: {
          201: { description: 'created' },
          404: { description: 'no such project' },
          409: { description: 'the name is taken' },
        },
      },
      handler: apiRoute(async (request) => {
        const principal = await authenticateRequest(deps, request);
        const body = parseBody(createBody, request);
        // A user names the project; an anonymous (open-mode) document goes to the default one unless named.
        if (principal.userId !== null && body.projectId === undefined)
          throw new HttpError(400, 'projectId: Required (the project the document belongs to)');
        if (body.projectId !== undefined && db && !(await findProject(db, body.projectId)))
          throw new HttpError(404, `no project with id ${body.projectId}`);
        const { create } = await authorizeCreation(deps, request, principal, {
          name: body.name,
          kind: body.kind,
          projectId: body.projectId ?? null,
        });
        const initialContent = initialContentUpdate(body);
        const document = await createNamed(deps, body.name, create.kind, create.projectId ?? DEFAULT_PROJECT_ID);
        if (principal.userId !== null) {
          await recordAuditSafely(db, deps.logger, {
            actor: 'user',
            actorUserId: principal.userId,
            action: 'document.create',
            resourceType: 'document',
            resourceId: document.id,
            details: { name: document.name, kind: document.kind, projectId: document.projectId },
          });
        }
        if (initialContent !== null) await writeInitialContent(writes, document, principal, initialContent);
        return json(201, { id: document.id, name: document.name, kind: document.kind } satisfies CreatedDocument);
      }),
    },
    {
      method: 'GET',
      pattern: '/api/documents/:name/history',
      description: {
        summary: "A page of the document's update log, newest first: `{document, entries, nextBefore}`",
        caller: 'user',
        query: historyQuery,
        responses: { 200: { description: 'the page' }, 501: { description: 'STORAGE=memory keeps no history' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const { limit, before } = validate(historyQuery, queryObject(request), 'query');
        const name = params.name!;
        // Found by its current or a former name: the log is read under the current one.
        const { document } = await authorizeDocument(deps, request, principal, name);
        if (!db) throw new HttpError(501, 'this server runs with STORAGE=memory: there is no history to read');
        // The check above decides; row-level security (readAs) is the second line: with a
        // token the log is read as the user, so it shows nothing of a document they may not read.
        const entries = await readAs(db, principal.userId, (q) => listHistory(q, document.name, { limit, before }));
        return json(200, {
          document: name,
          entries,
          // Cursor for the next (older) page, absent on the last one.
          nextBefore: entries.length > 0 && entries.length === (limit ?? 100) ? entries[entries.length - 1]!.position : null,
        });
      }),
    },
    {
      method: 'GET',
      pattern: '/api/documents/:name/presence',
      description: {
        summary: 'Who is in the document, on every instance: `{document, users: [{id, name, since, instance}]}`',
        caller: 'user',
        responses: { 200: { description: 'the present users' }, 503: { description: 'presence is unavailable (Redis): retry' } },
      },
      handler: apiRoute(async (request, params) => {
        const principal = await authenticateRequest(deps, request);
        const name = params.name!;
        await authorizeDocument(deps, request, principal, name);
        let entries: PresenceEntry[];
        try {
          entries = await deps.presence.list(name);
        } catch (error) {
          if (error instanceof PresenceUnavailableError) throw new HttpError(503, error.message, { 'retry-after': '5' });
          throw error;
        }
        const users = presentUsers(entries);
        // Token mode: names from the users table, one query for all; open mode has no users.
        const names =
          deps.tokens && db
            ? await userNames(
                db,
                users.map((user) => user.userId),
              )
            : new Map<string, string>();
        return json(200, {
          document: name,
          users: users.map((user) => ({
            id: user.userId,
            name: (user.userId !== null ? names.get(user.userId.toLowerCase()) : undefined) ?? user.name,
            since: new Date(user.since).toISOString(),
            instance: user.instanceId,
          })),
        } satisfies DocumentPresence);
      }),
    },
  ];
}

/**
 * What the caller can read. Anonymous (open mode): everything, as the open authorizer
 * lets it open everything. A user: documents of projects they are a member of, plus
 * public projects — the rule ProjectAuthorizer applies to each socket. The query says
 * so itself and also runs under the user's row-level security (server/persistence/user-context.ts),
 * which enforces the same rule in the database.
 */
async function readableDocuments(deps: ApiDependencies, principal: Principal, projectId: string | undefined): Promise<DocumentSummary[]> {
  if (deps.db) {
    const userId = principal.userId;
    if (userId === null) return listDocuments(deps.db, { projectId });
    return readAs(deps.db, userId, (q) => listReadableDocuments(q, userId, { projectId }));
  }
  // STORAGE=memory runs in open mode only (token mode needs the users table).
  if (principal.userId === null && deps.storage instanceof MemoryStorage) {
    return deps.storage
      .list()
      .filter((document) => projectId === undefined || document.projectId === projectId)
      .map((document) => ({ ...document, updatedAt: null }));
  }
  throw new HttpError(501, 'this server has no database to list documents from');
}

/**
 * The caller's projects: with a token, their memberships and the public projects (read under
 * row-level security); open mode, the default project, where everyone is an editor.
 */
async function callerProjects(deps: ApiDependencies, principal: Principal): Promise<ProjectSummary[]> {
  const userId = principal.userId;
  if (userId !== null) {
    if (!deps.db) throw new HttpError(501, 'this server runs with STORAGE=memory: it has no projects');
    return readAs(deps.db, userId, (q) => listUserProjects(q, userId));
  }
  const project = deps.db ? await findProject(deps.db, DEFAULT_PROJECT_ID) : null;
  return [{ id: DEFAULT_PROJECT_ID, name: project?.name ?? 'Open mode', role: 'editor' }];
}

/** Creates the document; 409 when the name is taken (also when another request just took it). */
async function createNamed(deps: ApiDependencies, name: string, kind: DocumentRef['kind'], projectId: string): Promise<DocumentRef> {
  const taken = (): HttpError => new HttpError(409, `a document named ${JSON.stringify(name)} already exists`);
  if (deps.db) {
    const { document, created } = await createDocument(deps.db, name, kind, projectId);
    if (!created) throw taken();
    return document;
  }
  if (await deps.storage.find(name)) throw taken();
  return deps.storage.create(name, { kind, projectId });
}
