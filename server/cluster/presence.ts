import { systemClock, type Clock } from '../clock.js';

/**
 * Who is in which document, across every instance (docs/contracts.md "Redis keys": `doc:presence:{name}`,
 * `user:presence:{userId}` TTL 5 min). One entry per open document session (one per
 * connection per document), keyed by its session key within the document, written by
 * the instance that holds the session. Entries carry their own expiry: the holder renews
 * them (PresenceTracker, every PRESENCE_RENEW_MS), so the entries of an instance that
 * died vanish within PRESENCE_TTL_MS without anyone cleaning up after it.
 *
 * Implementations: in process (one instance, or several in one process sharing the
 * object) and Redis (redis-presence.ts). Not the hot path: join, leave and renew only.
 */
export interface Presence {
  /** Records an open document session (again: replaced) and marks its user online. */
  join(entry: PresenceEntry): Promise<void>;
  /** Removes one session's entry (its user's key is left to userOffline / expiry). */
  leave(document: string, sessionKey: string): Promise<void>;
  /**
   * Renews (re-writes, so an entry lost meanwhile comes back) the given entries for
   * another PRESENCE_TTL_MS, and marks their users online in the document they opened
   * last. Called by the holding instance for all its live sessions.
   */
  renew(entries: readonly PresenceEntry[]): Promise<void>;
  /** The unexpired entries of a document, oldest first (expired ones are removed on the way). */
  list(document: string): Promise<PresenceEntry[]>;
  /** Marks a user offline (their last session on this instance closed); the key expires in PRESENCE_TTL_MS. */
  userOffline(userId: string, document: string): Promise<void>;
  /** `user:presence:{userId}`; null once it expired. */
  user(userId: string): Promise<UserPresence | null>;
}

export interface PresenceEntry {
  readonly document: string;
  /** Unique among the document's open sessions (see presenceSessionKey). */
  readonly sessionKey: string;
  /** `users.id`; null for an anonymous open-mode session. */
  readonly userId: string | null;
  /** A display name when the server knows one (it usually does not: the API looks up users.name). */
  readonly name: string | null;
  /** The instance holding the session. */
  readonly instanceId: string;
  /** When the session opened the document (ms since the epoch). */
  readonly since: number;
}

export interface UserPresence {
  readonly status: 'online' | 'offline';
  /** Last join, renewal or leave (ms since the epoch). */
  readonly lastSeen: number;
  /** The document the user opened last. */
  readonly document: string;
}

/** How long an entry or a user key lives without renewal (docs/contracts.md "Redis keys": 5 min). */
export const PRESENCE_TTL_MS = 5 * 60_000;
/** How often an instance renews its entries: a few renewals may be lost before any expires. */
export const PRESENCE_RENEW_MS = 60_000;

/** Presence could not be read (Redis unreachable): the API answers 503 rather than a wrong answer. */
export class PresenceUnavailableError extends Error {}

/**
 * The key of a document session within its document. A Hocuspocus socket shares one
 * session id (`DocumentSession.sessionId`) among all its documents, and may open the same
 * document twice under two addresses (`name` and `name\0x`), so the address tells them
 * apart; y-websocket sessions (address null) have their own session id.
 */
export function presenceSessionKey(sessionId: string, address: string | null, document: string): string {
  return address === null || address === document ? sessionId : `${sessionId}\0${address.slice(document.length + 1)}`;
}

/** Per user, the document of their most recently opened entry. */
export function latestDocumentPerUser(entries: readonly PresenceEntry[]): Map<string, string> {
  const latest = new Map<string, PresenceEntry>();
  for (const entry of entries) {
    if (entry.userId === null) continue;
    const seen = latest.get(entry.userId);
    if (!seen || entry.since >= seen.since) latest.set(entry.userId, entry);
  }
  return new Map([...latest].map(([userId, entry]) => [userId, entry.document]));
}

/** Oldest first, then by session key: the same order on every instance. */
export function byAge(a: PresenceEntry, b: PresenceEntry): number {
  return a.since - b.since || (a.sessionKey < b.sessionKey ? -1 : a.sessionKey > b.sessionKey ? 1 : 0);
}

export interface PresentUser {
  readonly userId: string | null;
  readonly name: string | null;
  /** The earliest of the user's sessions in the document. */
  readonly since: number;
  /** The instance holding that earliest session. */
  readonly instanceId: string;
}

/**
 * One row per user (a user with three sockets appears once, since its earliest session);
 * anonymous sessions cannot be told apart by user, so each is its own row. Oldest first.
 */
export function presentUsers(entries: readonly PresenceEntry[]): PresentUser[] {
  const rows: PresentUser[] = [];
  const seen = new Set<string>();
  for (const entry of [...entries].sort(byAge)) {
    if (entry.userId !== null) {
      if (seen.has(entry.userId)) continue;
      seen.add(entry.userId);
    }
    rows.push({ userId: entry.userId, name: entry.name, since: entry.since, instanceId: entry.instanceId });
  }
  return rows;
}

interface Stored {
  readonly entry: PresenceEntry;
  readonly expiresAt: number;
}

/**
 * Presence in process, with the Redis implementation's semantics: entries expire
 * PRESENCE_TTL_MS after their last join or renewal unless renewed, user keys likewise.
 * Several servers in one process share one object to stand in for several instances.
 * Swept as it is consulted, so it stays bounded by the live sessions.
 */
export class InProcessPresence implements Presence {
  private readonly documents = new Map<string, Map<string, Stored>>();
  private readonly users = new Map<string, UserPresence & { readonly expiresAt: number }>();

  constructor(
    private readonly clock: Pick<Clock, 'now'> = systemClock,
    private readonly ttlMs: number = PRESENCE_TTL_MS,
  ) {}

  async join(entry: PresenceEntry): Promise<void> {
    this.put(entry);
    if (entry.userId !== null) this.setUser(entry.userId, 'online', entry.document);
  }

  async leave(document: string, sessionKey: string): Promise<void> {
    const sessions = this.documents.get(document);
    if (!sessions) return;
    sessions.delete(sessionKey);
    if (sessions.size === 0) this.documents.delete(document);
  }

  async renew(entries: readonly PresenceEntry[]): Promise<void> {
    for (const entry of entries) this.put(entry);
    for (const [userId, document] of latestDocumentPerUser(entries)) this.setUser(userId, 'online', document);
    this.sweepUsers();
  }

  async list(document: string): Promise<PresenceEntry[]> {
    const sessions = this.documents.get(document);
    if (!sessions) return [];
    const now = this.clock.now();
    const live: PresenceEntry[] = [];
    for (const [key, stored] of sessions) {
      if (stored.expiresAt > now) live.push(stored.entry);
      else sessions.delete(key);
    }
    if (sessions.size === 0) this.documents.delete(document);
    return live.sort(byAge);
  }

  async userOffline(userId: string, document: string): Promise<void> {
    this.setUser(userId, 'offline', document);
  }

  async user(userId: string): Promise<UserPresence | null> {
    const user = this.users.get(userId);
    if (!user) return null;
    if (user.expiresAt <= this.clock.now()) {
      this.users.delete(userId);
      return null;
    }
    return { status: user.status, lastSeen: user.lastSeen, document: user.document };
  }

  private put(entry: PresenceEntry): void {
    let sessions = this.documents.get(entry.document);
    if (!sessions) this.documents.set(entry.document, (sessions = new Map()));
    sessions.set(entry.sessionKey, { entry, expiresAt: this.clock.now() + this.ttlMs });
  }

  private setUser(userId: string, status: UserPresence['status'], document: string): void {
    const now = this.clock.now();
    this.users.set(userId, { status, lastSeen: now, document, expiresAt: now + this.ttlMs });
  }

  /** Documents nobody lists are swept at renewal, as Redis expires their keys. */
  private sweepUsers(): void {
    const now = this.clock.now();
    for (const [id, user] of this.users) if (user.expiresAt <= now) this.users.delete(id);
    for (const [name, sessions] of this.documents) {
      for (const [key, stored] of sessions) if (stored.expiresAt <= now) sessions.delete(key);
      if (sessions.size === 0) this.documents.delete(name);
    }
  }
}
