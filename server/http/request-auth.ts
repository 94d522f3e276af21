/**
 * Who is asking, for every API route — the same Authorizer the sockets use, in the same
 * two steps: `authenticate(token)` (no, bad, expired, revoked token → 401), once per
 * request, and `authorizeDocumentAction` for a document to read, write or create (no
 * access → 403, recorded in the audit log). The admin API has its own credential,
 * ADMIN_TOKEN, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { recordAuditSafely } from '../persistence/audit.js';
import type { DocumentRef } from '../persistence/storage.js';
import {
  AuthenticationError,
  authorizeDocumentAction,
  PermissionDeniedError,
  type CreateGrant,
  type DocumentAction,
  type Grant,
  type NewDocument,
  type Principal,
} from '../auth/authorizer.js';
import type { HttpRequest } from '../transport/transport.js';
import type { ApiDependencies } from './api-dependencies.js';
import { HttpError } from './http-error.js';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;
const CHALLENGE = { 'www-authenticate': 'Bearer' };

/** 401 with the reason and a Bearer challenge. */
export const unauthenticated = (reason: string): HttpError => new HttpError(401, reason, CHALLENGE);

/**
 * The token of `Authorization: Bearer <token>`; '' when there is no header (the
 * authorizer decides what that means: anonymous in open mode, 401 with tokens).
 */
export function bearerToken(request: HttpRequest): string {
  const header = request.header('authorization');
  if (header === undefined || header.trim() === '') return '';
  const match = BEARER.exec(header);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

/**
 * Each request's authentication, shared by whoever asks first and the rest: the rate
 * limit (which counts per verified user) and the route. Bounded by the requests in flight:
 * an entry goes with its request object.
 */
const authentications = new WeakMap<HttpRequest, Promise<Principal>>();

/** The request's principal, or HttpError 401 with the reason the token was refused. Authenticates once per request. */
export function authenticateRequest(deps: ApiDependencies, request: HttpRequest): Promise<Principal> {
  let authentication = authentications.get(request);
  if (authentication === undefined) {
    authentication = authenticate(deps, request);
    authentications.set(request, authentication);
  }
  return authentication;
}

async function authenticate(deps: ApiDependencies, request: HttpRequest): Promise<Principal> {
  const token = bearerToken(request);
  try {
    return await deps.authorizer.authenticate(token);
  } catch (error) {
    // authenticate() speaks only of the token: any refusal from it is a 401.
    if (error instanceof PermissionDeniedError) throw unauthenticated(error.message);
    throw error;
  }
}

/**
 * The verified user a request counts against (the rate limit's key), from the request's one
 * authentication; null when anonymous or when authentication fails (the route answers that:
 * 401 for the token, 500 for a database that could not be asked).
 */
export function authenticatedUserOf(deps: ApiDependencies, request: HttpRequest): Promise<string | null> {
  return authenticateRequest(deps, request).then(
    (principal) => principal.userId,
    () => null,
  );
}

export interface AuthorizedDocument {
  readonly document: DocumentRef;
  readonly grant: Grant;
}

/**
 * The named document (by its current or a former name) and what the principal may do on it:
 * 404 when there is no such document (or it is in the trash), 403 (audited) when the
 * authorizer refuses it (for `write`, also a read-only grant).
 */
export async function authorizeDocument(
  deps: ApiDependencies,
  request: HttpRequest,
  principal: Principal,
  name: string,
  action: DocumentAction = 'read',
): Promise<AuthorizedDocument> {
  const document = await deps.storage.find(name);
  if (!document) throw new HttpError(404, `no document named ${JSON.stringify(name)}`);
  return { document, grant: await authorizeFoundDocument(deps, request, principal, document, action) };
}

/** What the principal may do on a document found otherwise (by id, in the trash): 403 (audited) when refused. */
export function authorizeFoundDocument(
  deps: ApiDependencies,
  request: HttpRequest,
  principal: Principal,
  document: DocumentRef,
  action: DocumentAction,
): Promise<Grant> {
  return answeringRefusals(deps, request, principal, { type: 'document', id: document.id, name: document.name }, () =>
    authorizeDocumentAction(deps.authorizer, principal, document, action),
  );
}

/** The grant to create `document` (it says in which project), or 401 / 403 (audited: the project, or the name when none was named). */
export function authorizeCreation(
  deps: ApiDependencies,
  request: HttpRequest,
  principal: Principal,
  document: NewDocument,
): Promise<CreateGrant> {
  const resource =
    document.projectId !== null
      ? { type: 'project', id: document.projectId }
      : { type: 'document', id: document.name, name: document.name };
  return answeringRefusals(deps, request, principal, resource, () =>
    authorizeDocumentAction(deps.authorizer, principal, document, 'create'),
  );
}

export type AuditedResource = { readonly type: string; readonly id: string; readonly name?: string };

/** Runs an authorization: a refused token becomes 401, a refused request 403 (audited). */
async function answeringRefusals<T>(
  deps: ApiDependencies,
  request: HttpRequest,
  principal: Principal,
  resource: AuditedResource,
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof AuthenticationError) throw unauthenticated(error.message);
    if (error instanceof PermissionDeniedError) throw await deniedRequest(deps, request, principal, resource, error.message);
    throw error;
  }
}

/**
 * Records a refused request in the audit log and returns the 403 to throw. Every HTTP
 * permission denial goes through here, so none is missing from the trail.
 */
export async function deniedRequest(
  deps: ApiDependencies,
  request: HttpRequest,
  principal: Principal,
  resource: AuditedResource,
  reason: string,
): Promise<HttpError> {
  await recordAuditSafely(deps.db, deps.logger, {
    actor: 'user',
    actorUserId: principal.userId,
    action: 'permission.denied',
    resourceType: resource.type,
    resourceId: resource.id,
    details: {
      reason,
      method: request.method,
      path: request.path,
      sessionId: principal.sessionId,
      ...(resource.name !== undefined ? { name: resource.name } : {}),
    },
  });
  return new HttpError(403, reason);
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Constant-time comparison: both sides are hashed first, so the buffers timingSafeEqual
 * compares always have the same length and the time taken says nothing about the secret,
 * not even its length.
 */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Admin routes: 404 when no ADMIN_TOKEN is configured (the admin API does not exist
 * then), 401 when the request does not carry it.
 */
export function requireAdmin(deps: ApiDependencies, request: HttpRequest): void {
  if (deps.adminToken === null) throw new HttpError(404, 'no such endpoint');
  const token = bearerToken(request);
  if (token === '') throw unauthenticated('the admin API needs "Authorization: Bearer <ADMIN_TOKEN>"');
  if (!sameSecret(token, deps.adminToken)) throw unauthenticated('invalid admin token');
}
