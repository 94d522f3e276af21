import type { Scope } from '../protocol/message-types.js';

/** What a token grants on one document. */
export interface Grant {
  /** `users.id`, or null for an anonymous editor in open mode. */
  readonly userId: string | null;
  readonly scope: Scope;
}

/** The token is valid but does not give access to this document (or is invalid). */
export class PermissionDeniedError extends Error {}

/** Decides, per document, what a connection may do. */
export interface Authorizer {
  /** Resolves with a grant or rejects with PermissionDeniedError. */
  authorize(token: string, documentName: string): Promise<Grant>;
}

const ANONYMOUS_EDITOR: Grant = { userId: null, scope: 'read-write' };

/** Open mode (no AUTH_SECRET): every connection is an anonymous editor. */
export const openAuthorizer: Authorizer = {
  authorize: () => Promise.resolve(ANONYMOUS_EDITOR),
};
