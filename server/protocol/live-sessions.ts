import type { AccessEvent, AccessEvents } from '../auth/access-events.js';

/** A session whose access can be checked again (DocumentSession). */
export interface Recheckable {
  /** `users.id` of the session's principal (null in open mode). */
  readonly userId: string | null;
  /** The token's session (`jti`), null in open mode. */
  readonly tokenSession: string | null;
  /** The open document's project. */
  readonly projectId: string | null;
  /** Authorizes the session again with its token; it closes or downgrades itself if access changed. */
  recheck(): void;
}

/**
 * Open document sessions by token session and by user, so an access event (a revoked
 * session, a removed membership) re-checks exactly the sessions it concerns — within
 * the event's delivery time, not at the next reconnect. Only principals with a user are
 * indexed (token mode); open mode keeps nothing here.
 */
export class LiveSessions {
  private readonly byTokenSession = new Map<string, Set<Recheckable>>();
  private readonly byUser = new Map<string, Set<Recheckable>>();
  private readonly unsubscribe: () => void;

  constructor(events: AccessEvents) {
    this.unsubscribe = events.subscribe((event) => this.handle(event));
  }

  add(session: Recheckable): void {
    if (session.tokenSession !== null) addTo(this.byTokenSession, session.tokenSession, session);
    if (session.userId !== null) addTo(this.byUser, session.userId, session);
  }

  remove(session: Recheckable): void {
    if (session.tokenSession !== null) removeFrom(this.byTokenSession, session.tokenSession, session);
    if (session.userId !== null) removeFrom(this.byUser, session.userId, session);
  }

  stop(): void {
    this.unsubscribe();
  }

  private handle(event: AccessEvent): void {
    const affected =
      event.type === 'session-revoked'
        ? [...(this.byTokenSession.get(event.sessionId) ?? [])]
        : [...(this.byUser.get(event.userId) ?? [])].filter((session) => session.projectId === event.projectId);
    for (const session of affected) session.recheck();
  }
}

function addTo(index: Map<string, Set<Recheckable>>, key: string, session: Recheckable): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(session);
}

function removeFrom(index: Map<string, Set<Recheckable>>, key: string, session: Recheckable): void {
  const set = index.get(key);
  if (set?.delete(session) && set.size === 0) index.delete(key);
}
