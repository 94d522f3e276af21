/**
 * Versions over the Hocuspocus socket, without HTTP: a Stateless request/response.
 *
 * A Stateless payload that is a JSON object whose FIRST key is "scriptorium" is a request to
 * the server, answered to the sender only and never relayed; every other payload is relayed
 * as before. Request: `{"scriptorium":"<op>","requestId":"<1-100 chars>", …parameters}`;
 * answer: `{"scriptorium":"<op>","requestId":"…","status":<http status>,"body":<the HTTP
 * API's body for the same request>}` (errors: `body: {error}`). The ops and their parameters
 * are in docs/contracts.md ("Requests over Stateless"). The document is the one the Stateless message
 * was sent on; access is checked with the same rule as HTTP (auth/authorizer.ts), after
 * the session's principal is revalidated (expiry, revocation). A viewer's reads are
 * answered, its writes refused with 403.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { AuthenticationError, authorizeDocumentAction, PermissionDeniedError, type Authorizer } from '../auth/authorizer.js';
import { statelessFrame } from '../codec/frames.js';
import { versionLabel } from '../http/body.js';
import { HttpError } from '../http/http-error.js';
import type { AccessDenial, SocketRequests } from '../protocol/context.js';
import type { DocumentSession } from '../protocol/document-session.js';
import { identify } from '../protocol/open-document.js';
import { settle } from '../settle.js';
import { describeIssues } from '../zod-issues.js';
import { actionOf, type Answer, type DocumentRequest, type DocumentRequests } from './document-requests.js';

const ENVELOPE = /^\s*\{\s*"scriptorium"\s*:/;
const REQUEST_ID = /"requestId"\s*:\s*"((?:[^"\\]|\\.){1,100})"/;
const OP = /^\s*\{\s*"scriptorium"\s*:\s*"([a-z.]{1,40})"/;

/** Requests one document session may have unanswered at once; beyond it: 429. */
export const MAX_REQUESTS_IN_FLIGHT = 4;

const requestId = z.string().min(1).max(100);
const number = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);
const envelope = z.discriminatedUnion('scriptorium', [
  z.strictObject({ scriptorium: z.literal('document.get'), requestId }),
  z.strictObject({
    scriptorium: z.literal('versions.list'),
    requestId,
    limit: z.number().int().min(1).max(1000).optional(),
    before: number.optional(),
  }),
  z.strictObject({ scriptorium: z.literal('versions.get'), requestId, version: number }),
  z.strictObject({
    scriptorium: z.literal('versions.diff'),
    requestId,
    version: number,
    to: z.union([number, z.literal('current')]).optional(),
  }),
  z.strictObject({ scriptorium: z.literal('versions.create'), requestId, label: versionLabel().optional() }),
  z.strictObject({ scriptorium: z.literal('versions.restore'), requestId, version: number }),
]);
type Envelope = z.output<typeof envelope>;

function toRequest(message: Envelope): DocumentRequest {
  switch (message.scriptorium) {
    case 'document.get':
      return { op: 'document.get' };
    case 'versions.list':
      return { op: 'versions.list', limit: message.limit, before: message.before };
    case 'versions.get':
      return { op: 'versions.get', version: message.version };
    case 'versions.diff':
      return { op: 'versions.diff', version: message.version, to: message.to ?? 'current' };
    case 'versions.create':
      return { op: 'versions.create', label: message.label ?? null };
    case 'versions.restore':
      return { op: 'versions.restore', version: message.version };
  }
}

export interface StatelessRequestDependencies {
  readonly requests: DocumentRequests;
  readonly authorizer: Authorizer;
  readonly logger: Logger;
  /** Denials are audited like the HTTP ones. */
  readonly denied: (denial: AccessDenial) => void;
}

export class StatelessDocumentRequests implements SocketRequests {
  private readonly inFlight = new WeakMap<DocumentSession, number>();

  constructor(private readonly deps: StatelessRequestDependencies) {}

  accepts(payload: string): boolean {
    return ENVELOPE.test(payload);
  }

  refuse(session: DocumentSession, payload: string, status: number, reason: string): void {
    // Not parsed (too large, or over the rate): the op and id are picked out, as far as they can be.
    this.answer(session, OP.exec(payload)?.[1] ?? 'error', unescapedRequestId(REQUEST_ID.exec(payload)?.[1]), {
      status,
      body: { error: reason },
    });
  }

  handle(session: DocumentSession, payload: string): void {
    let message: Envelope;
    try {
      const parsed: unknown = JSON.parse(payload);
      const result = envelope.safeParse(parsed);
      if (!result.success) {
        const id = typeof parsed === 'object' && parsed !== null ? (parsed as { requestId?: unknown }).requestId : undefined;
        const op = typeof parsed === 'object' && parsed !== null ? (parsed as { scriptorium?: unknown }).scriptorium : undefined;
        this.answer(session, typeof op === 'string' ? op.slice(0, 40) : 'error', typeof id === 'string' ? id.slice(0, 100) : null, {
          status: 400,
          body: { error: describeIssues(result.error, parsed, 'request') },
        });
        return;
      }
      message = result.data;
    } catch {
      this.refuse(session, payload, 400, 'request: not valid JSON');
      return;
    }
    const pending = this.inFlight.get(session) ?? 0;
    if (pending >= MAX_REQUESTS_IN_FLIGHT) {
      this.answer(session, message.scriptorium, message.requestId, {
        status: 429,
        body: { error: `at most ${MAX_REQUESTS_IN_FLIGHT} requests at once per document` },
      });
      return;
    }
    this.inFlight.set(session, pending + 1);
    const done = (answer: Answer) => {
      this.inFlight.set(session, (this.inFlight.get(session) ?? 1) - 1);
      this.answer(session, message.scriptorium, message.requestId, answer);
    };
    settle(
      this.run(session, toRequest(message)),
      done,
      (error: unknown) => done(this.failure(session, error)),
      this.deps.logger,
      'answering a socket request',
    );
  }

  private async run(session: DocumentSession, request: DocumentRequest): Promise<Answer> {
    const { authorizer, requests } = this.deps;
    const room = session.room;
    const principal = session.principal;
    if (room === null || principal === null) throw new HttpError(409, 'the document is not open on this connection');
    // The same check as an HTTP request: the principal is still valid, and may do this here.
    const current = await identify(authorizer, principal);
    await authorizeDocumentAction(authorizer, current, room, actionOf(request));
    return requests.run(room, { principal: current, sessionId: session.sessionId }, request);
  }

  private failure(session: DocumentSession, error: unknown): Answer {
    if (error instanceof HttpError) return { status: error.status, body: { error: error.message } };
    if (error instanceof AuthenticationError) return { status: 401, body: { error: error.message } };
    if (error instanceof PermissionDeniedError) {
      this.deps.denied({
        userId: session.userId,
        tokenSession: session.tokenSession,
        document: session.documentName,
        reason: error.message,
      });
      return { status: 403, body: { error: error.message } };
    }
    this.deps.logger.error({ err: error, document: session.documentName }, 'socket request failed (answered 500)');
    return { status: 500, body: { error: 'internal error' } };
  }

  private answer(session: DocumentSession, op: string, id: string | null, answer: Answer): void {
    if (session.state !== 'open' || session.socket.closed) return;
    const payload = JSON.stringify({ scriptorium: op, requestId: id, status: answer.status, body: answer.body });
    session.send(statelessFrame(session.prefix, payload));
  }
}

function unescapedRequestId(id: string | undefined): string | null {
  if (id === undefined) return null;
  try {
    return JSON.parse(`"${id}"`) as string;
  } catch {
    return null;
  }
}
