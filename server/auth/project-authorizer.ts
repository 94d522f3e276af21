/**
 * Token mode (AUTH_SECRET set): a JWT names a user and a session; the user's role in the
 * document's project decides (roles.ts `mayWrite`): owner/editor read-write, viewer
 * read-only, no membership denied unless the project is public (read-only); managing a
 * document (its trash) is the owners' (`mayManage`). Creating a
 * document needs a writing role in the project the caller names; a socket names none, so
 * documents are never created from a socket in this mode — the HTTP API creates them.
 */
import { systemClock, type Clock } from '../clock.js';
import { projectAccess, userExists } from '../persistence/accounts.js';
import type { Queryable } from '../persistence/db.js';
import type { DocumentRef } from '../persistence/storage.js';
import {
  AuthenticationError,
  PermissionDeniedError,
  type AccessAction,
  type Authorizer,
  type Grant,
  type NewDocument,
  type Principal,
} from './authorizer.js';
import { mayManage, mayWrite } from './roles.js';
import type { SessionStore } from './session-store.js';
import { TokenRefusedError, type Tokens } from './tokens.js';

const PRINCIPAL_CACHE_SIZE = 10_000;

export class ProjectAuthorizer implements Authorizer {
  private readonly principals = new Map<string, Principal>();

  constructor(
    private readonly db: Queryable,
    private readonly tokens: Tokens,
    private readonly sessions: SessionStore,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    let claims;
    try {
      claims = await this.tokens.verify(token);
    } catch (error) {
      throw new AuthenticationError((error as Error).message, error instanceof TokenRefusedError ? error.subject : null);
    }
    // Both at once: the revocation check may be a PostgreSQL round trip too (DurableSessionStore).
    const user = this.requireUser(claims.userId);
    user.catch(() => {}); // awaited below, after the revocation check (which answers first)
    if (await this.sessions.isRevoked(claims.sessionId)) throw new AuthenticationError('session revoked', claims.userId);
    await user;
    await this.sessions.touch(claims.sessionId, claims.userId, claims.expiresAt);
    return this.shared(claims.userId, claims.sessionId, claims.expiresAt);
  }

  async revalidate(principal: Principal): Promise<void> {
    if (principal.userId === null || principal.sessionId === null) throw new AuthenticationError('authentication required');
    if (principal.expiresAt !== null && principal.expiresAt <= this.clock.now())
      throw new AuthenticationError('token expired', principal.userId);
    if (await this.sessions.isRevoked(principal.sessionId)) throw new AuthenticationError('session revoked', principal.userId);
    await this.requireUser(principal.userId);
  }

  private async requireUser(userId: string): Promise<void> {
    if (!(await userExists(this.db, userId))) throw new AuthenticationError('unknown user');
  }

  /**
   * One principal object per token session, shared by every document and socket that
   * authenticated with it: an idle connection then holds a pointer, not its own copies
   * of the ids. Bounded; the oldest entry goes first.
   */
  private shared(userId: string, sessionId: string, expiresAt: number): Principal {
    const known = this.principals.get(sessionId);
    if (known && known.userId === userId && known.expiresAt === expiresAt) return known;
    if (this.principals.size >= PRINCIPAL_CACHE_SIZE) this.principals.delete(this.principals.keys().next().value!);
    const principal: Principal = { userId, sessionId, expiresAt };
    this.principals.set(sessionId, principal);
    return principal;
  }

  /** Read and write get the role's scope (authorizeDocumentAction holds a write to read-write). */
  async authorize(principal: Principal, name: string, document: DocumentRef | NewDocument, action: AccessAction): Promise<Grant> {
    if (principal.userId === null) throw new AuthenticationError('authentication required');
    if (document.projectId === null) throw new PermissionDeniedError(`no document named ${JSON.stringify(name)}`);
    const access = await projectAccess(this.db, document.projectId, principal.userId);
    const role = access?.role ?? null;
    if (action === 'create') {
      if (mayWrite(role)) return { ...principal, scope: 'read-write', create: { kind: document.kind, projectId: document.projectId } };
      throw new PermissionDeniedError(
        `creating documents needs the owner or editor role in the project (you are ${role === 'viewer' ? 'a viewer' : 'not a member'})`,
      );
    }
    if (action === 'manage') {
      if (mayManage(role)) return { ...principal, scope: 'read-write', create: null };
      throw new PermissionDeniedError(
        `the trash of a project is its owners' (you are ${role === null ? 'not a member' : role === 'viewer' ? 'a viewer' : 'an editor'})`,
      );
    }
    if (mayWrite(role)) return { ...principal, scope: 'read-write', create: null };
    if (role === 'viewer' || access?.visibility === 'public') return { ...principal, scope: 'readonly', create: null };
    throw new PermissionDeniedError(`no access to document ${JSON.stringify(name)}`);
  }
}
