import type { AccessEvent, AccessEvents } from '../auth/access-events.js';
import type { Principal } from '../auth/authorizer.js';
import type { Clock } from '../clock.js';
import type { PresentSession } from '../cluster/session-presence.js';

/** A session whose access can be checked again (DocumentSession). */
export interface Recheckable {
  /** `users.id` of the session's principal (null in open mode). */
  readonly userId: string | null;
  /** The token's session (`jti`), null in open mode. */
  readonly tokenSession: string | null;
  /** The open document's project. */
  readonly projectId: string | null;
  /** The open document (`documents.id`); null while it is not open. */
  readonly documentId: string | null;
  /** Authorizes the session again (its principal, or a new token); it closes or downgrades itself if access changed. */
  recheck(): void;
  /** The open document went to the trash: the session closes, telling its client why. */
  documentDeleted(): void;
}

/** An open session whose token expires (DocumentSession). */
export interface Expiring {
  /** Who opened it; its `expiresAt` is the token's `exp` (null in open mode: never expires). */
  readonly principal: Principal | null;
  /** Asks the client for a fresh token before `exp` (Hocuspocus: a token request; y-websocket cannot). */
  requestToken(): void;
  /** `principal`'s token expired: the session stops unless it was refreshed meanwhile. */
  expire(principal: Principal): void;
}

/** The sessions opened with one principal (one token session), and its timer. */
interface ExpiryGroup {
  readonly sessions: Set<Expiring>;
  /** Cancels its timer (null: none armed). */
  cancel: (() => void) | null;
  /** The token request went out: sessions joining later are asked at once. */
  requested: boolean;
}

/** Fresh tokens are asked for this long before `exp` (at most half the time left). */
export const TOKEN_REQUEST_LEAD_MS = 60_000;
/** The longest timer delay (setTimeout's); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A connection whose document sessions can be listed (both protocol connections). */
export interface SessionHolder {
  sessions(): Iterable<Recheckable & PresentSession>;
}

/**
 * Re-checks the open document sessions an access event (a revoked session, a removed or
 * changed membership) concerns, at once rather than at the next reconnect, and closes those
 * of a document that went to the trash. Events are
 * rare admin actions, so it scans the live connections instead of keeping an index:
 * an idle connection pays nothing for being revocable. Token expiry is read and timed on
 * the Clock.
 */
export class LiveSessions {
  private readonly unsubscribe: () => void;
  /** Paced re-checks still to run (a `recheck-all` of a busy instance). */
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * Open sessions by principal (principals are shared per token session), one timer each:
   * at `exp - TOKEN_REQUEST_LEAD_MS` the sessions still on that principal are asked for a
   * fresh token, at `exp` they expire. Thousands of documents opened with one token cost one
   * timer.
   */
  private readonly expiring = new Map<Principal, ExpiryGroup>();

  constructor(
    events: AccessEvents,
    private readonly connections: () => Iterable<SessionHolder>,
    private readonly clock: Clock,
  ) {
    this.unsubscribe = events.subscribe((event) => this.handle(event));
  }

  stop(): void {
    this.unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const group of this.expiring.values()) group.cancel?.();
    this.expiring.clear();
  }

  /** The session holds its (new) principal: expire it at that token's `exp`. Idempotent. */
  track(session: Expiring): void {
    const principal = session.principal;
    if (principal === null || principal.expiresAt === null) return;
    let group = this.expiring.get(principal);
    if (!group) {
      group = { sessions: new Set(), cancel: null, requested: false };
      this.expiring.set(principal, group);
      const expiresAt = principal.expiresAt;
      const left = expiresAt - this.clock.now();
      const requestAt = expiresAt - Math.min(TOKEN_REQUEST_LEAD_MS, left / 2);
      if (left > 0) this.arm(principal, group, requestAt, () => this.requestTokens(principal, group!));
      else this.arm(principal, group, expiresAt, () => this.expire(principal, group!));
    } else if (group.requested && !group.sessions.has(session)) {
      session.requestToken();
    }
    group.sessions.add(session);
  }

  /** The session closed or changed principal (call before it does). */
  untrack(session: Expiring): void {
    const principal = session.principal;
    if (principal === null) return;
    const group = this.expiring.get(principal);
    if (!group || !group.sessions.delete(session) || group.sessions.size > 0) return;
    group.cancel?.();
    this.expiring.delete(principal);
  }

  /** Token sessions with a timer (for tests and metrics). */
  get expiringPrincipals(): number {
    return this.expiring.size;
  }

  private arm(principal: Principal, group: ExpiryGroup, at: number, run: () => void): void {
    const delay = Math.max(0, at - this.clock.now());
    group.cancel = this.clock.after(Math.min(delay, MAX_TIMER_MS), () => {
      group.cancel = null;
      if (this.expiring.get(principal) !== group) return;
      if (this.clock.now() < at) this.arm(principal, group, at, run);
      else run();
    });
  }

  private requestTokens(principal: Principal, group: ExpiryGroup): void {
    group.requested = true;
    for (const session of [...group.sessions]) session.requestToken();
    this.arm(principal, group, principal.expiresAt!, () => this.expire(principal, group));
  }

  private expire(principal: Principal, group: ExpiryGroup): void {
    this.expiring.delete(principal);
    for (const session of group.sessions) session.expire(principal);
  }

  private handle(event: AccessEvent): void {
    if (event.type === 'document-deleted') {
      // No query to pace: each session only closes.
      for (const session of this.sessionsOf(event.documentId)) session.documentDeleted();
      return;
    }
    const affected: Recheckable[] = [];
    for (const connection of this.connections()) {
      for (const session of connection.sessions()) if (concerns(event, session)) affected.push(session);
    }
    this.recheck(affected, 0);
  }

  private sessionsOf(documentId: string): Recheckable[] {
    const sessions: Recheckable[] = [];
    for (const connection of this.connections()) {
      for (const session of connection.sessions()) if (session.documentId === documentId) sessions.push(session);
    }
    return sessions;
  }

  /**
   * At most RECHECK_SLICE sessions per RECHECK_INTERVAL_MS: each re-check queries the
   * database the update log commits to, so re-checking a whole instance (`recheck-all`)
   * is spread out instead of queueing ahead of the commits. Sessions closed meanwhile
   * skip their re-check.
   */
  private recheck(sessions: readonly Recheckable[], from: number): void {
    const end = Math.min(sessions.length, from + RECHECK_SLICE);
    for (let i = from; i < end; i++) sessions[i]!.recheck();
    if (end === sessions.length) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.recheck(sessions, end);
    }, RECHECK_INTERVAL_MS);
    timer.unref();
    this.timers.add(timer);
  }
}

const RECHECK_SLICE = 200;
const RECHECK_INTERVAL_MS = 100;

function concerns(event: AccessEvent, session: Recheckable): boolean {
  switch (event.type) {
    case 'session-revoked':
      return session.tokenSession === event.sessionId;
    case 'membership-removed':
    case 'membership-changed':
      return session.userId === event.userId && session.projectId === event.projectId;
    case 'recheck-all':
      return true;
    // Handled apart (deleted), or by the room registry (renamed: rooms/room-registry.ts).
    case 'document-deleted':
    case 'document-renamed':
      return false;
  }
}
