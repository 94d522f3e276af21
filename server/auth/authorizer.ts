import { DEFAULT_PROJECT_ID } from '../../persistence/documents.js';
import type { CreateDocumentOptions, DocumentRef } from '../../persistence/storage.js';
import type { Scope } from '../codec/message-types.js';

/** What a token grants on one document. */
export interface Grant {
  /** `users.id`, or null for an anonymous editor in open mode. */
  readonly userId: string | null;
  readonly scope: Scope;
  /**
   * For a document that does not exist yet: how the caller may create it, or null
   * when it may not (then opening it is denied).
   */
  readonly create: CreateDocumentOptions | null;
}

/** The token is invalid or does not give access to this document; the message is the reason shown. */
export class PermissionDeniedError extends Error {}

/** Decides, per document, what a connection or request may do. */
export interface Authorizer {
  /**
   * Runs after the name is resolved and before anything is loaded or created.
   * `document` is null when no document has that name. Resolves with a grant or
   * rejects with PermissionDeniedError.
   */
  authorize(token: string, name: string, document: DocumentRef | null): Promise<Grant>;
}

const ANONYMOUS_EDITOR: Grant = { userId: null, scope: 'read-write', create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID } };

/** Open mode (no AUTH_SECRET): every connection is an anonymous editor; documents are created on first use. */
export const openAuthorizer: Authorizer = {
  authorize: () => Promise.resolve(ANONYMOUS_EDITOR),
};
