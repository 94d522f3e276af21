/**
 * A document's content over HTTP, read and written by programs (docs/contracts.md
 * "Programmable documents"):
 *   GET  /api/documents/:name/content?format=  json (default), markdown, html, text or yjs
 *   POST /api/documents/:name/updates          one Yjs v1 update (application/octet-stream) → {stateVector}
 *   POST /api/documents/:name/edits {ops}      edit ops, all or nothing → {applied, ids, stateVector}; 422 {error, op}
 * and the initial content of `POST /api/documents {content}` (document-api.ts creates the document).
 * The same authentication and access rule as every route (request-auth.ts): reading needs
 * read access, writing write access (a viewer gets 403). Reads come from DocumentRequests,
 * the one implementation of a document's content; writes go through DocumentWrites and are
 * answered once committed, stored with the caller's user and a session of the request's own.
 */
import { z } from 'zod';
import type { Principal } from '../auth/authorizer.js';
import type { DocumentWrites } from '../documents/document-writes.js';
import { MAX_EDIT_OPS } from '../documents/edit-requests.js';
import { paperEditOp } from '../documents/paper-edit-ops.js';
import { treeEditOp } from '../research-trees/tree-edit-ops.js';
import { contentFormat } from '../documents/formats/content-formats.js';
import { initialPaperUpdate, type ImportFormat } from '../documents/formats/content-import.js';
import type { ServerUpdateAuthor } from '../documents/server-update.js';
import { nextSessionId } from '../protocol/session-id.js';
import type { HttpRequest } from '../transport/transport.js';
import type { DocumentRequests } from '../versions/document-requests.js';
import type { DocumentRef } from '../persistence/storage.js';
import type { ApiDependencies } from './api-dependencies.js';
import type { EditAnswer, EditRefusal, UpdateAnswer } from './api-types.js';
import { octetStreamBody, parseBody, queryObject, validate } from './body.js';
import { apiRoute, HttpError } from './http-error.js';
import { authenticateRequest, authorizeDocument, type AuthorizedDocument } from './request-auth.js';
import { json, type RouteTable } from './routes.js';

const contentQuery = z.object({ format: contentFormat });
// Each op is parsed on its own by the document's kind (edit-requests.ts), so a bad one is named by its index.
const editsBody = z.strictObject({ ops: z.array(z.unknown()).min(1).max(MAX_EDIT_OPS) });
// What the OpenAPI document shows: the same body with each op as the kind's parser (paper or tree) takes it.
// The answers' shapes for the OpenAPI document, held to the answer types the routes return.
const updateAnswer = z.object({
  stateVector: z.string().describe("the document's state vector after the commit, base64"),
}) satisfies z.ZodType<UpdateAnswer>;
const editAnswer = updateAnswer.extend({
  applied: z.number().int(),
  ids: z.record(z.string(), z.string()).describe('the id each creating op made, by the op index'),
}) satisfies z.ZodType<EditAnswer>;
const editRefusal = z.object({
  error: z.string(),
  op: z.number().int().describe('the index of the op that cannot apply'),
}) satisfies z.ZodType<EditRefusal>;
const documentedEditsBody = editsBody.extend({
  ops: z
    .array(z.union([paperEditOp, treeEditOp]))
    .min(1)
    .max(MAX_EDIT_OPS),
});

/**
 * Who a write over HTTP is stored for: the caller's user, and a session of this request's
 * own (a request is to the log what a connection is), marked `http:` in the history.
 */
export function httpAuthor(principal: Principal, operationType: string): ServerUpdateAuthor {
  return { userId: principal.userId, sessionId: `http:${nextSessionId()}`, operationType };
}

/**
 * A new document's initial content (`POST /api/documents {content, format?}`) as one update,
 * checked before the document is created (400 when it is not valid); null without content.
 */
export function initialContentUpdate(body: {
  readonly kind: DocumentRef['kind'];
  readonly content?: unknown;
  readonly format?: ImportFormat | undefined;
}): Uint8Array | null {
  if (body.content === undefined) return null;
  if (body.kind !== 'paper') throw new HttpError(400, 'content: only a paper is created with content (add tree nodes with POST …/edits)');
  const initial = initialPaperUpdate(body.content, body.format);
  if ('error' in initial) throw new HttpError(400, initial.error);
  return initial.update;
}

/** Writes a created document's initial content, stored as the caller's `import`; a refusal says the document exists without it. */
export async function writeInitialContent(
  writes: DocumentWrites,
  document: DocumentRef,
  principal: Principal,
  update: Uint8Array,
): Promise<void> {
  try {
    await writes.initialize(document, httpAuthor(principal, 'import'), update);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new HttpError(
      error.status,
      `${JSON.stringify(document.name)} was created, but without its content: ${error.message}`,
      error.headers,
    );
  }
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function contentRoutes(deps: ApiDependencies, requests: DocumentRequests, writes: DocumentWrites): RouteTable[] {
  const authorized = async (
    request: HttpRequest,
    name: string,
    action: 'read' | 'write',
  ): Promise<AuthorizedDocument & { principal: Principal }> => {
    const principal = await authenticateRequest(deps, request);
    return { principal, ...(await authorizeDocument(deps, request, principal, name, action)) };
  };
  return [
    {
      method: 'GET',
      pattern: '/api/documents/:name/content',
      description: {
        summary: "The document's content in a format: json (default), markdown, html (sanitized), text or yjs (one update)",
        caller: 'user',
        query: contentQuery,
        responses: {
          200: {
            description: 'the content',
            contentTypes: ['application/json', 'text/markdown', 'text/html', 'text/plain', 'application/octet-stream'],
          },
        },
      },
      handler: apiRoute(async (request, params) => {
        const { document } = await authorized(request, params.name!, 'read');
        const { format } = validate(contentQuery, queryObject(request), 'query');
        const exported = await requests.exported(document, format);
        // Never sniffed into something else; the HTML, sanitized already, runs no script even when opened directly.
        const headers: Record<string, string> = { 'content-type': exported.contentType, 'x-content-type-options': 'nosniff' };
        if (format === 'html') headers['content-security-policy'] = 'sandbox';
        return { status: 200, headers, body: exported.body };
      }),
    },
    {
      method: 'POST',
      pattern: '/api/documents/:name/updates',
      description: {
        summary: 'Apply one Yjs v1 update, answered once committed: `{stateVector}` (base64)',
        caller: 'user',
        body: { binary: 'application/octet-stream' },
        responses: { 200: { description: 'applied and committed', schema: updateAnswer } },
      },
      handler: apiRoute(async (request, params) => {
        const { principal, document } = await authorized(request, params.name!, 'write');
        const { stateVector } = await writes.update(document, httpAuthor(principal, 'update'), octetStreamBody(request));
        return json(200, { stateVector: base64(stateVector) } satisfies UpdateAnswer);
      }),
    },
    {
      method: 'POST',
      pattern: '/api/documents/:name/edits',
      description: {
        summary: 'Apply edit ops, all or nothing, answered once committed: `{applied, ids, stateVector}`',
        caller: 'user',
        body: { json: documentedEditsBody },
        responses: {
          200: { description: 'applied and committed', schema: editAnswer },
          422: { description: 'an op cannot apply (e.g. anchor not found): `{error, op}`, nothing changed', schema: editRefusal },
        },
      },
      handler: apiRoute(async (request, params) => {
        const { principal, document } = await authorized(request, params.name!, 'write');
        const { ops } = parseBody(editsBody, request);
        const result = await writes.edit(document, httpAuthor(principal, 'edit'), ops);
        if ('error' in result) return json(422, { error: result.error, op: result.op } satisfies EditRefusal);
        return json(200, { applied: result.applied, ids: result.ids, stateVector: base64(result.stateVector) } satisfies EditAnswer);
      }),
    },
  ];
}
