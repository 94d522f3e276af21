/**
 * The access rule for actions on a document, written once for every way of asking: the HTTP
 * API (request-auth.ts `authorizeDocument`) and requests over a socket (the versions'
 * Stateless protocol). Reading needs any grant the Authorizer gives (owner, editor, viewer,
 * public project); writing — naming a version, restoring one — needs read-write (owner or
 * editor), as editing does.
 */
import type { DocumentRef } from '../persistence/storage.js';
import { PermissionDeniedError, type Authorizer, type Grant, type Principal } from './authorizer.js';

export type DocumentAction = 'read' | 'write';

/** Resolves with the grant, or rejects with PermissionDeniedError (AuthenticationError for the token). */
export async function authorizeDocumentAction(
  authorizer: Authorizer,
  principal: Principal,
  document: DocumentRef,
  action: DocumentAction,
): Promise<Grant> {
  const grant = await authorizer.authorize(principal, document.name, document);
  if (action === 'write' && grant.scope !== 'read-write') {
    throw new PermissionDeniedError(`this needs the owner or editor role (your access to ${JSON.stringify(document.name)} is read-only)`);
  }
  return grant;
}
