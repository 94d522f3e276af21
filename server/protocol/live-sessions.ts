import type { AccessEvent, AccessEvents } from '../auth/access-events.js';
import type { PresentSession } from '../cluster/session-presence.js';

/** A session whose access can be checked again (DocumentSession). */
export interface Recheckable {
  /** `users.id` of the session's principal (null in open mode). */
  readonly userId: string | null;
  /** The token's session (`jti`), null in open mode. */
  readonly tokenSession: string | null;
  /** The open document's project. */
  readonly projectId: string | null;
  /** Authorizes the session again (its principal, or a new token); it closes or downgrades itself if access changed. */
  recheck(): void;
}

/** A connection whose document sessions can be listed (both protocol connections). */
export interface SessionHolder {
  sessions(): Iterable<Recheckable & PresentSession>;
}

/**
 * Re-checks the open document sessions an access event (a revoked session, a removed or
 * changed membership) concerns, at once rather than at the next reconnect. Events are
 * rare admin actions, so it scans the live connections instead of keeping an index:
 * an idle connection pays nothing for being revocable.
 */
export class LiveSessions {
  private readonly unsubscribe: () => void;
  /** Paced re-checks still to run (a `recheck-all` of a busy instance). */
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    events: AccessEvents,
    private readonly connections: () => Iterable<SessionHolder>,
  ) {
    this.unsubscribe = events.subscribe((event) => this.handle(event));
  }

  stop(): void {
    this.unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private handle(event: AccessEvent): void {
    const affected: Recheckable[] = [];
    for (const connection of this.connections()) {
      for (const session of connection.sessions()) if (concerns(event, session)) affected.push(session);
    }
    this.recheck(affected, 0);
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
  }
}
