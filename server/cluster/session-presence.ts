import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { PresenceSink } from '../protocol/context.js';
import { PRESENCE_RENEW_MS, presenceSessionKey, type Presence, type PresenceEntry } from './presence.js';

/** What presence reads of a live document session. */
export interface PresentSession {
  readonly documentName: string;
  readonly sessionId: string;
  readonly address: string | null;
  readonly userId: string | null;
  readonly state: string;
  /** When it opened the document (ms since the epoch). */
  readonly openedAt: number;
}

/**
 * Publishes this instance's open document sessions to the shared Presence: a join when
 * one opens, a leave when it closes, and every PRESENCE_RENEW_MS one renewal of all of
 * them, gathered by scanning the live connections — so an idle connection keeps no
 * presence state of its own. Writes are fire and forget (the Presence implementations
 * log their failures); the next renewal re-writes what was lost. A user's key goes
 * offline by expiry, 5 minutes after their last session here was renewed.
 */
export class SessionPresence implements PresenceSink {
  private readonly cancel: () => void;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly presence: Presence,
    private readonly instanceId: string,
    private readonly sessions: () => Iterable<PresentSession>,
    clock: Clock,
    private readonly logger: Logger,
  ) {
    this.cancel = clock.every(PRESENCE_RENEW_MS, () => this.renew());
  }

  opened(session: PresentSession): void {
    if (!this.stopped) this.track(this.presence.join(this.entry(session)), 'join');
  }

  closed(session: PresentSession): void {
    if (!this.stopped) this.track(this.presence.leave(session.documentName, key(session)), 'leave');
  }

  /** Renews every open session held here (the timer calls it; also after an outage). */
  renew(): void {
    if (this.stopped) return;
    const entries: PresenceEntry[] = [];
    for (const session of this.sessions()) if (session.state === 'open') entries.push(this.entry(session));
    if (entries.length > 0) this.track(this.presence.renew(entries), 'renewal');
  }

  /** Graceful shutdown: stops renewing and waits for the writes in flight (the leaves of the closing sockets). */
  async close(): Promise<void> {
    this.cancel();
    this.stopped = true;
    await Promise.allSettled([...this.pending]);
  }

  private entry(session: PresentSession): PresenceEntry {
    return {
      document: session.documentName,
      sessionKey: key(session),
      userId: session.userId,
      name: null,
      instanceId: this.instanceId,
      since: session.openedAt,
    };
  }

  private track(write: Promise<void>, what: string): void {
    const tracked = write
      .catch((error: unknown) => this.logger.warn({ err: error }, `presence ${what} failed`))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}

const key = (session: PresentSession) => presenceSessionKey(session.sessionId, session.address, session.documentName);

/**
 * Presence of a single instance (no Redis): read straight from the live sessions, so it
 * costs no memory per session and can never disagree with them. Writes are not needed.
 */
export function livePresence(instanceId: string, sessions: () => Iterable<PresentSession>, clock: Pick<Clock, 'now'>): Presence {
  const open = function* () {
    for (const session of sessions()) if (session.state === 'open') yield session;
  };
  const entry = (session: PresentSession): PresenceEntry => ({
    document: session.documentName,
    sessionKey: key(session),
    userId: session.userId,
    name: null,
    instanceId,
    since: session.openedAt,
  });
  return {
    join: () => Promise.resolve(),
    leave: () => Promise.resolve(),
    renew: () => Promise.resolve(),
    userOffline: () => Promise.resolve(),
    async list(document) {
      const entries: PresenceEntry[] = [];
      for (const session of open()) if (session.documentName === document) entries.push(entry(session));
      return entries.sort((a, b) => a.since - b.since || (a.sessionKey < b.sessionKey ? -1 : a.sessionKey > b.sessionKey ? 1 : 0));
    },
    async user(userId) {
      let latest: PresentSession | null = null;
      for (const session of open())
        if (session.userId === userId && (latest === null || session.openedAt > latest.openedAt)) latest = session;
      return latest ? { status: 'online', lastSeen: clock.now(), document: latest.documentName } : null;
    },
  };
}

/** No shared store to tell: the single-instance presence reads the sessions themselves. */
export const NO_PRESENCE_SINK: PresenceSink = { opened: () => {}, closed: () => {} };
