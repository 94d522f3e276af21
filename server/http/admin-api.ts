/**
 * The admin API (docs/contracts.md "HTTP API"), behind `Authorization: Bearer $ADMIN_TOKEN`:
 * users, projects, memberships, documents, tokens, session revocation, the audit log and
 * webhooks (docs/contracts.md "Webhooks"). Without ADMIN_TOKEN every route answers 404. Every change is recorded in the audit log;
 * changes that take access away are also published as access events, so live sockets
 * re-check at once instead of at their next reconnect.
 */
import { z } from 'zod';
import {
  createProject,
  createUser,
  findProject,
  findUser,
  PROJECT_VISIBILITIES,
  removeMember,
  setMember,
} from '../persistence/accounts.js';
import { AUDIT_MAX_LIMIT, listAudit, recordAuditSafely, type AuditEntry } from '../persistence/audit.js';
import type { Db } from '../persistence/db.js';
import { createDocument } from '../persistence/documents.js';
import { PROJECT_ROLES } from '../auth/roles.js';
import { CLOCK_SKEW_SECONDS, DEFAULT_MAX_TOKEN_TTL_SECONDS } from '../auth/tokens.js';
import type { HttpRequest, HttpResponse } from '../transport/transport.js';
import { WEBHOOK_EVENTS } from '../webhooks/webhook-events.js';
import {
  createWebhook,
  deleteWebhook,
  DELIVERIES_MAX_LIMIT,
  listDeliveries,
  listWebhooks,
  MAX_WEBHOOKS,
} from '../webhooks/webhook-store.js';
import type { ApiDependencies } from './api-dependencies.js';
import { documentKind, documentName, parseBody, positiveIntegerParam, queryObject, uuid, validate } from './body.js';
import { apiRoute, HttpError, noContent } from './http-error.js';
import { requireAdmin } from './request-auth.js';
import { json, type RouteDescription, type RouteTable } from './routes.js';

/** Open mode has no tokens to revoke, but the route still records what it is given: as long as a default token lives. */
const DEFAULT_REVOCATION_MS = (DEFAULT_MAX_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS) * 1000;

const name = () => z.string().trim().min(1).max(255);

const userBody = z.strictObject({ email: z.string().trim().max(320).pipe(z.email()), name: name() });
const projectBody = z.strictObject({ name: name(), ownerId: uuid(), visibility: z.enum(PROJECT_VISIBILITIES).default('private') });
const memberBody = z.strictObject({ userId: uuid(), role: z.enum(PROJECT_ROLES) });
const documentBody = z.strictObject({ projectId: uuid(), name: documentName(), kind: documentKind() });
// ttlSeconds: at most MAX_TOKEN_TTL_SECONDS (the server's Tokens.maxTtlSeconds), checked in the route.
const tokenBody = z.strictObject({ userId: uuid(), ttlSeconds: z.number().int().min(1).optional() });
const projectParams = z.object({ id: uuid() });
const memberParams = z.object({ id: uuid(), userId: uuid() });
// A session id is the token's `jti`: any string (ours are uuids).
const sessionParams = z.object({ id: z.string().min(1).max(255) });
const auditQuery = z.object({ limit: positiveIntegerParam(AUDIT_MAX_LIMIT).optional(), before: uuid().optional() });
const webhookBody = z.strictObject({
  // http(s) only: a receiver is a web server, and no other scheme reaches a file or a local socket.
  url: z
    .string()
    .trim()
    .max(2048)
    .pipe(z.url({ protocol: /^https?$/, error: 'Invalid URL: expected http:// or https://' })),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .refine((events) => new Set(events).size === events.length, 'must not name an event twice'),
  projectId: uuid().nullable().optional(),
  secret: z.string().min(16).max(1024),
});
const webhookParams = z.object({ id: uuid() });
const deliveriesQuery = z.object({ limit: positiveIntegerParam(DELIVERIES_MAX_LIMIT).optional() });

type AdminHandler = (request: HttpRequest, params: Readonly<Record<string, string>>, db: Db) => Promise<HttpResponse>;
/** An admin route's description: every one is called by the admin and may answer 501 without the database. */
type AdminDescription = Omit<RouteDescription, 'caller'>;

export function adminRoutes(deps: ApiDependencies): RouteTable[] {
  const route = (method: string, pattern: string, description: AdminDescription, handler: AdminHandler): RouteTable => ({
    method,
    pattern,
    description: {
      ...description,
      caller: 'admin',
      responses: { 501: { description: 'STORAGE=memory: the admin API needs the database' }, ...description.responses },
    },
    handler: apiRoute(async (request, params) => {
      requireAdmin(deps, request);
      if (!deps.db) throw new HttpError(501, 'the admin API needs the database: this server runs with STORAGE=memory');
      return handler(request, params, deps.db);
    }),
  });
  const audit = (entry: Omit<AuditEntry, 'actor'>) => recordAuditSafely(deps.db, deps.logger, { actor: 'admin', ...entry });

  return [
    route(
      'POST',
      '/api/admin/users',
      {
        summary: 'Create a user: 201 `{id}`',
        body: { json: userBody },
        responses: { 201: { description: 'created' }, 409: { description: 'the email is taken' } },
      },
      async (request, _params, db) => {
        const body = parseBody(userBody, request);
        const user = await createUser(db, body);
        if (!user) throw new HttpError(409, `email: a user with email ${JSON.stringify(body.email)} already exists`);
        await audit({ action: 'user.create', resourceType: 'user', resourceId: user.id, details: { email: body.email, name: body.name } });
        return json(201, { id: user.id });
      },
    ),

    route(
      'POST',
      '/api/admin/projects',
      {
        summary: 'Create a project: 201 `{id}`',
        body: { json: projectBody },
        responses: { 201: { description: 'created' }, 404: { description: 'no such owner' } },
      },
      async (request, _params, db) => {
        const body = parseBody(projectBody, request);
        const project = await createProject(db, body);
        if (!project) throw new HttpError(404, `ownerId: no user with id ${body.ownerId}`);
        await audit({ action: 'project.create', resourceType: 'project', resourceId: project.id, details: { ...body } });
        return json(201, { id: project.id });
      },
    ),

    route(
      'POST',
      '/api/admin/projects/:id/members',
      {
        summary: "Set a user's role in a project",
        params: projectParams,
        body: { json: memberBody },
        responses: { 204: { description: 'set' }, 404: { description: 'no such project or user' } },
      },
      async (request, params, db) => {
        const { id: projectId } = validate(projectParams, params, 'path');
        const { userId, role } = parseBody(memberBody, request);
        const result = await setMember(db, projectId, userId, role);
        if (result === 'no-project') throw new HttpError(404, `no project with id ${projectId}`);
        if (result === 'no-user') throw new HttpError(404, `userId: no user with id ${userId}`);
        await audit({ action: 'project.member.set', resourceType: 'project', resourceId: projectId, details: { userId, role } });
        // A changed role (e.g. editor → viewer) applies to the user's open documents at once.
        deps.accessEvents.publish({ type: 'membership-changed', userId, projectId });
        return noContent();
      },
    ),

    route(
      'DELETE',
      '/api/admin/projects/:id/members/:userId',
      {
        summary: 'Remove a member; their sockets on the project close',
        params: memberParams,
        responses: { 204: { description: 'removed' }, 404: { description: 'not a member' } },
      },
      async (_request, params, db) => {
        const { id: projectId, userId } = validate(memberParams, params, 'path');
        if (!(await removeMember(db, projectId, userId)))
          throw new HttpError(404, `user ${userId} is not a member of project ${projectId}`);
        // Sockets of this user on this project's documents re-check (and close) now.
        deps.accessEvents.publish({ type: 'membership-removed', userId, projectId });
        await audit({ action: 'project.member.remove', resourceType: 'project', resourceId: projectId, details: { userId } });
        return noContent();
      },
    ),

    route(
      'POST',
      '/api/admin/documents',
      {
        summary: 'Create a document in a project: 201 `{id, name}`',
        body: { json: documentBody },
        responses: { 201: { description: 'created' }, 404: { description: 'no such project' }, 409: { description: 'the name is taken' } },
      },
      async (request, _params, db) => {
        const body = parseBody(documentBody, request);
        if (!(await findProject(db, body.projectId))) throw new HttpError(404, `projectId: no project with id ${body.projectId}`);
        const { document, created } = await createDocument(db, body.name, body.kind, body.projectId);
        if (!created) throw new HttpError(409, `name: a document named ${JSON.stringify(body.name)} already exists`);
        await audit({ action: 'document.create', resourceType: 'document', resourceId: document.id, details: { ...body } });
        return json(201, { id: document.id, name: document.name });
      },
    ),

    route(
      'POST',
      '/api/admin/tokens',
      {
        summary: 'Mint a token for a user: 201 `{token, sessionId, expiresAt}`',
        body: { json: tokenBody },
        responses: {
          201: { description: 'minted' },
          404: { description: 'no such user' },
          409: { description: 'open mode: no AUTH_SECRET' },
        },
      },
      async (request, _params, db) => {
        if (!deps.tokens) throw new HttpError(409, 'AUTH_SECRET is not set: this server runs in open mode and cannot mint tokens');
        const { userId, ttlSeconds } = parseBody(tokenBody, request);
        // No longer than the server accepts (and keeps a revocation): MAX_TOKEN_TTL_SECONDS.
        const maxTtl = deps.tokens.maxTtlSeconds;
        if (ttlSeconds !== undefined && ttlSeconds > maxTtl)
          throw new HttpError(400, `ttlSeconds: Too big: expected number to be <=${maxTtl} (MAX_TOKEN_TTL_SECONDS)`);
        if (!(await findUser(db, userId))) throw new HttpError(404, `userId: no user with id ${userId}`);
        const { token, claims } = await deps.tokens.mint(userId, ttlSeconds ?? maxTtl);
        const expiresAt = new Date(claims.expiresAt).toISOString();
        // The session id, never the token: the trail must not hold credentials.
        await audit({ action: 'token.mint', resourceType: 'session', resourceId: claims.sessionId, details: { userId, expiresAt } });
        // sessionId: what POST /api/admin/sessions/:id/revoke takes.
        return json(201, { token, sessionId: claims.sessionId, expiresAt });
      },
    ),

    route(
      'POST',
      '/api/admin/sessions/:id/revoke',
      {
        summary: "Revoke a session (a token's `jti`); its sockets close",
        params: sessionParams,
        responses: { 204: { description: 'revoked' } },
      },
      async (_request, params) => {
        const { id: sessionId } = validate(sessionParams, params, 'path');
        // Kept as long as a token of the session could still be valid (MAX_TOKEN_TTL_SECONDS and the
        // clock skew of iat), so no token outlasts its revocation; in PostgreSQL, so no restart forgets it.
        const userId = await deps.sessions.revoke(sessionId, deps.clock.now() + (deps.tokens?.longestValidityMs ?? DEFAULT_REVOCATION_MS));
        deps.accessEvents.publish({ type: 'session-revoked', sessionId });
        await audit({ action: 'session.revoke', resourceType: 'session', resourceId: sessionId, details: { userId } });
        return noContent();
      },
    ),

    route(
      'POST',
      '/api/admin/webhooks',
      {
        summary: 'Register a webhook: 201 `{id}`',
        body: { json: webhookBody },
        responses: {
          201: { description: 'registered' },
          404: { description: 'no such project' },
          409: { description: `${MAX_WEBHOOKS} webhooks exist` },
        },
      },
      async (request, _params, db) => {
        const body = parseBody(webhookBody, request);
        const projectId = body.projectId ?? null;
        if (projectId !== null && !(await findProject(db, projectId)))
          throw new HttpError(404, `projectId: no project with id ${projectId}`);
        const webhook = await createWebhook(db, { url: body.url, events: body.events, projectId, secret: body.secret });
        if (!webhook) throw new HttpError(409, `at most ${MAX_WEBHOOKS} webhooks can be registered: delete one first`);
        // Never the secret: the trail must not hold credentials.
        const details = { url: webhook.url, events: webhook.events, projectId };
        await audit({ action: 'webhook.create', resourceType: 'webhook', resourceId: webhook.id, details });
        return json(201, { id: webhook.id });
      },
    ),

    route(
      'GET',
      '/api/admin/webhooks',
      {
        summary: 'The webhooks, oldest first, without secrets: `[{id, url, events, projectId, createdAt}]`',
        responses: { 200: { description: 'the list' } },
      },
      async (_request, _params, db) => json(200, await listWebhooks(db)),
    ),

    route(
      'DELETE',
      '/api/admin/webhooks/:id',
      {
        summary: 'Delete a webhook and its pending deliveries',
        params: webhookParams,
        responses: { 204: { description: 'deleted' }, 404: { description: 'no such webhook' } },
      },
      async (_request, params, db) => {
        const { id } = validate(webhookParams, params, 'path');
        if (!(await deleteWebhook(db, id))) throw new HttpError(404, `no webhook with id ${id}`);
        await audit({ action: 'webhook.delete', resourceType: 'webhook', resourceId: id, details: {} });
        return noContent();
      },
    ),

    route(
      'GET',
      '/api/admin/webhooks/:id/deliveries',
      {
        summary: "A webhook's recent deliveries, newest first: `[{id, event, status, attempts, lastAttemptAt, deliveredAt, …}]`",
        params: webhookParams,
        query: deliveriesQuery,
        responses: { 200: { description: 'the deliveries' }, 404: { description: 'no such webhook' } },
      },
      async (request, params, db) => {
        const { id } = validate(webhookParams, params, 'path');
        const { limit } = validate(deliveriesQuery, queryObject(request), 'query');
        const deliveries = await listDeliveries(db, id, limit ?? 100);
        if (deliveries === null) throw new HttpError(404, `no webhook with id ${id}`);
        return json(200, deliveries);
      },
    ),

    route(
      'GET',
      '/api/admin/audit',
      { summary: 'The audit log, newest first: `{entries, nextBefore}`', query: auditQuery, responses: { 200: { description: 'a page' } } },
      async (request, _params, db) => {
        const { limit, before } = validate(auditQuery, queryObject(request), 'query');
        const entries = await listAudit(db, { limit, before });
        return json(200, {
          entries,
          // Cursor for the next (older) page, null on the last one.
          nextBefore: entries.length > 0 && entries.length === (limit ?? 100) ? entries[entries.length - 1]!.id : null,
        });
      },
    ),
  ];
}
