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

  constructor(
    events: AccessEvents,
    private readonly connections: () => Iterable<SessionHolder>,
  ) {
    this.unsubscribe = events.subscribe((event) => this.handle(event));
  }

  stop(): void {
    this.unsubscribe();
  }

  private handle(event: AccessEvent): void {
    const affected: Recheckable[] = [];
    for (const connection of this.connections()) {
      for (const session of connection.sessions()) if (concerns(event, session)) affected.push(session);
    }
    for (const session of affected) session.recheck();
  }
}

function concerns(event: AccessEvent, session: Recheckable): boolean {
  return event.type === 'session-revoked'
    ? session.tokenSession === event.sessionId
    : session.userId === event.userId && session.projectId === event.projectId;
}
