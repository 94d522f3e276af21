/**
 * Who may do what with a document: the one Authorizer, asked the same way by every path —
 * the sockets when they open a document (and create it, when the grant allows), their
 * Stateless requests, and the HTTP API, document creation included. Authentication (the
 * token) and authorization (the document) are separate steps, so HTTP can answer 401 and
 * 403 apart and a socket can re-check a document later without its token.
 */
import { DEFAULT_PROJECT_ID } from '../persistence/documents.js';
import type { CreateDocumentOptions, DocumentKind, DocumentRef } from '../persistence/storage.js';
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

/**
 * What is asked of a document: `read` it (open it, read its content, history and versions —
 * the grant's scope then says whether edits are accepted), `write` it (name or restore a
 * version, rename or delete it), `manage` it (see it in the trash and restore it: the
 * project's owners), or `create` it.
 */
export type AccessAction = 'read' | 'write' | 'manage' | 'create';
/** The actions on a document that exists. */
export type DocumentAction = Exclude<AccessAction, 'create'>;

/** A document someone asks to create: its project is the one they named, or null when they named none. */
export interface NewDocument {
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string | null;
}

/** What a principal may do on one document. */
export interface Grant extends Principal {
  readonly scope: Scope;
  /** Granted `create`: how the document is created (its kind and project). Null otherwise. */
  readonly create: CreateDocumentOptions | null;
}

/** A grant to create a document: it says how. */
export interface CreateGrant extends Grant {
  readonly create: CreateDocumentOptions;
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
 * The access policy: open mode or project roles (project-authorizer.ts); tests plug in their
 * own. Callers ask through `authorizeDocumentAction`, which holds every answer to what was asked.
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
   * Runs after the name is resolved and before anything is loaded or created. `document`
   * is the existing document for `read` and `write`, the one to create for `create`.
   * Resolves with a grant — read-write for `write`; for `create`, one that says how — or
   * rejects with PermissionDeniedError.
   */
  authorize(principal: Principal, name: string, document: DocumentRef | NewDocument, action: AccessAction): Promise<Grant>;
}

/**
 * Asks the authorizer, and refuses a grant that does not allow what was asked: a write
 * needs read-write, a creation needs the grant's `create`. Resolves with the grant, or
 * rejects with PermissionDeniedError (AuthenticationError for the token).
 */
export function authorizeDocumentAction(
  authorizer: Authorizer,
  principal: Principal,
  document: DocumentRef,
  action: DocumentAction,
): Promise<Grant>;
export function authorizeDocumentAction(
  authorizer: Authorizer,
  principal: Principal,
  document: NewDocument,
  action: 'create',
): Promise<CreateGrant>;
export async function authorizeDocumentAction(
  authorizer: Authorizer,
  principal: Principal,
  document: DocumentRef | NewDocument,
  action: AccessAction,
): Promise<Grant> {
  const grant = await authorizer.authorize(principal, document.name, document, action);
  if ((action === 'write' || action === 'manage') && grant.scope !== 'read-write') {
    throw new PermissionDeniedError(`this needs the owner or editor role (your access to ${JSON.stringify(document.name)} is read-only)`);
  }
  // What a socket that opens a missing document is told (the web app shows "not found").
  if (action === 'create' && grant.create === null) throw new PermissionDeniedError(`no document named ${JSON.stringify(document.name)}`);
  return grant;
}

const ANONYMOUS: Principal = { userId: null, sessionId: null, expiresAt: null };
const ANONYMOUS_EDITOR: Grant = { ...ANONYMOUS, scope: 'read-write', create: null };

/**
 * Open mode (no AUTH_SECRET): every connection is an anonymous editor; documents are created
 * on first use, in the project asked for or else the default one.
 */
export const openAuthorizer: Authorizer = {
  authenticate: () => Promise.resolve(ANONYMOUS),
  revalidate: () => Promise.resolve(),
  authorize: (_principal, _name, document, action) =>
    Promise.resolve(
      action === 'create'
        ? { ...ANONYMOUS_EDITOR, create: { kind: document.kind, projectId: document.projectId ?? DEFAULT_PROJECT_ID } }
        : ANONYMOUS_EDITOR,
    ),
};
