import { DEFAULT_PROJECT_ID } from '../persistence/documents.js';
import type { CreateDocumentOptions, DocumentRef } from '../persistence/storage.js';
import type { Scope } from '../codec/message-types.js';

/** Who is asking: the token's user and session, or nobody in open mode. */
export interface Principal {
  /** `users.id`, or null for an anonymous editor in open mode. */
  readonly userId: string | null;
  /** The token's session (`jti`), or null in open mode. */
  readonly sessionId: string | null;
  /** When the token expires (ms since the epoch); null in open mode. */
  readonly expiresAt: number | null;
}

/** What a principal may do on one document. */
export interface Grant extends Principal {
  readonly scope: Scope;
  /**
   * For a document that does not exist yet: how the caller may create it, or null
   * when it may not (then opening it is denied).
   */
  readonly create: CreateDocumentOptions | null;
}

/** Access is refused; the message is the reason shown to the client (socket PermissionDenied, HTTP 403). */
export class PermissionDeniedError extends Error {}

/** The token itself is missing, invalid, expired, revoked or names no user (HTTP 401). */
export class AuthenticationError extends PermissionDeniedError {
  constructor(
    message: string,
    /** The token's user when its signature verified (an expired or revoked token): the audit log's actor. */
    readonly userId: string | null = null,
  ) {
    super(message);
  }
}

/**
 * Decides what a connection or request may do — one mechanism for sockets and HTTP.
 * Authentication (the token) and authorization (the document) are separate steps so
 * HTTP can answer 401 and 403 apart and a socket can re-check a document later.
 */
export interface Authorizer {
  /** Resolves with the principal or rejects with AuthenticationError. */
  authenticate(token: string): Promise<Principal>;
  /**
   * Checks a principal from an earlier `authenticate` again (expired, revoked, user
   * deleted?) without its token — sessions keep the principal, not the token.
   */
  revalidate(principal: Principal): Promise<void>;
  /**
   * Runs after the name is resolved and before anything is loaded or created.
   * `document` is null when no document has that name. Resolves with a grant or
   * rejects with PermissionDeniedError.
   */
  authorize(principal: Principal, name: string, document: DocumentRef | null): Promise<Grant>;
}

const ANONYMOUS: Principal = { userId: null, sessionId: null, expiresAt: null };
const ANONYMOUS_EDITOR: Grant = { ...ANONYMOUS, scope: 'read-write', create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID } };

/** Open mode (no AUTH_SECRET): every connection is an anonymous editor; documents are created on first use. */
export const openAuthorizer: Authorizer = {
  authenticate: () => Promise.resolve(ANONYMOUS),
  revalidate: () => Promise.resolve(),
  authorize: () => Promise.resolve(ANONYMOUS_EDITOR),
};
