import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import type { RedisConnection } from './redis-client.js';
import {
  byAge,
  latestDocumentPerUser,
  PRESENCE_TTL_MS,
  PresenceUnavailableError,
  type Presence,
  type PresenceEntry,
  type UserPresence,
} from './presence.js';

/**
 * Presence in Redis, shared by every instance (docs/contracts.md "Redis keys", braces = Cluster hash tag):
 *
 * - `doc:presence:{name}`: a hash, session key → JSON `{userId, name, instanceId, since,
 *   expiresAt}`. Each entry carries its own expiry (the writer's clock + PRESENCE_TTL_MS);
 *   `list` skips expired entries and removes them (only if unchanged since read, so a
 *   renewal racing the sweep wins). The key itself is PEXPIREd on every write, so a
 *   document whose instances all died disappears whole.
 * - `user:presence:{userId}`: a hash `{status, lastSeen, document}`, PEXPIRE 5 min,
 *   renewed on join and renewal.
 *
 * Every command and pipeline touches one key (Cluster-safe: one slot each). Writes fail soft while Redis is
 * unreachable (logged; the next renewal re-writes everything); `list` throws
 * PresenceUnavailableError, so the API can say so instead of answering "nobody".
 */
export class RedisPresence implements Presence {
  constructor(
    private readonly redis: RedisConnection,
    private readonly logger: Logger,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
    private readonly ttlMs: number = PRESENCE_TTL_MS,
  ) {}

  async join(entry: PresenceEntry): Promise<void> {
    const now = this.clock.now();
    const writes = [
      this.run(
        this.documentWrite(entry.document, [entry.sessionKey, this.encode(entry, now)]),
        'presence not recorded: redis unreachable',
        { document: entry.document },
      ),
    ];
    if (entry.userId !== null)
      writes.push(
        this.run(this.userWrite(entry.userId, 'online', entry.document, now), 'user presence not recorded: redis unreachable', {
          userId: entry.userId,
        }),
      );
    await Promise.all(writes);
  }

  async leave(document: string, sessionKey: string): Promise<void> {
    try {
      await this.redis.hdel(documentKey(document), sessionKey);
    } catch (error) {
      // It expires on its own within the TTL.
      this.logger.warn({ err: error, document }, 'presence not removed: redis unreachable');
    }
  }

  async renew(entries: readonly PresenceEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = this.clock.now();
    const byDocument = new Map<string, string[]>();
    for (const entry of entries) {
      let fields = byDocument.get(entry.document);
      if (!fields) byDocument.set(entry.document, (fields = []));
      fields.push(entry.sessionKey, this.encode(entry, now));
    }
    // One pipeline per key (a Cluster runs a pipeline only within one slot), all queued
    // in the caller's tick, so a leave issued after this call lands after it.
    const writes: Promise<boolean>[] = [];
    for (const [document, fields] of byDocument) writes.push(this.run(this.documentWrite(document, fields)));
    for (const [userId, document] of latestDocumentPerUser(entries)) writes.push(this.run(this.userWrite(userId, 'online', document, now)));
    const failed = (await Promise.all(writes)).filter((ok) => !ok).length;
    if (failed > 0) this.logger.warn({ entries: entries.length, failedKeys: failed }, 'presence not renewed: redis unreachable');
  }

  async list(document: string): Promise<PresenceEntry[]> {
    let stored: Record<string, string>;
    try {
      stored = await this.redis.hgetall(documentKey(document));
    } catch (error) {
      this.logger.warn({ err: error, document }, 'presence not read: redis unreachable');
      throw new PresenceUnavailableError('presence is unavailable: redis unreachable');
    }
    const now = this.clock.now();
    const live: PresenceEntry[] = [];
    const expired: string[] = [];
    for (const [sessionKey, json] of Object.entries(stored)) {
      const entry = decode(document, sessionKey, json);
      if (entry && entry.expiresAt > now) live.push(entry.entry);
      else expired.push(sessionKey, json);
    }
    if (expired.length > 0) {
      // Only entries still as read: one renewed meanwhile stays.
      this.redis.eval(DELETE_IF_UNCHANGED, 1, documentKey(document), ...expired).catch((error: unknown) => {
        this.logger.debug({ err: error, document }, 'expired presence entries not removed');
      });
    }
    return live.sort(byAge);
  }

  async userOffline(userId: string, document: string): Promise<void> {
    await this.run(this.userWrite(userId, 'offline', document, this.clock.now()), 'user presence not recorded: redis unreachable', {
      userId,
    });
  }

  async user(userId: string): Promise<UserPresence | null> {
    let stored: Record<string, string>;
    try {
      stored = await this.redis.hgetall(userKey(userId));
    } catch (error) {
      this.logger.warn({ err: error, userId }, 'user presence not read: redis unreachable');
      throw new PresenceUnavailableError('presence is unavailable: redis unreachable');
    }
    const status = stored.status;
    if ((status !== 'online' && status !== 'offline') || stored.document === undefined) return null;
    return { status, lastSeen: Number(stored.lastSeen), document: stored.document };
  }

  private encode(entry: PresenceEntry, now: number): string {
    const stored: StoredEntry = {
      userId: entry.userId,
      name: entry.name,
      instanceId: entry.instanceId,
      since: entry.since,
      expiresAt: now + this.ttlMs,
    };
    return JSON.stringify(stored);
  }

  /** HSET of `fields` (session key, entry, …) and the key's expiry: one key, one pipeline. */
  private documentWrite(document: string, fields: string[]) {
    return this.redis
      .pipeline()
      .hset(documentKey(document), ...fields)
      .pexpire(documentKey(document), this.ttlMs);
  }

  private userWrite(userId: string, status: UserPresence['status'], document: string, now: number) {
    return this.redis
      .pipeline()
      .hset(userKey(userId), 'status', status, 'lastSeen', String(now), 'document', document)
      .pexpire(userKey(userId), this.ttlMs);
  }

  /** Runs a pipeline; false when it (or any command) failed — logged when `message` is given, never thrown. */
  private async run(
    pipeline: { exec(): Promise<[Error | null, unknown][] | null> },
    message?: string,
    context?: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null)?.[0];
      if (failed) throw failed;
      return true;
    } catch (error) {
      if (message) this.logger.warn({ err: error, ...context }, message);
      return false;
    }
  }
}

interface StoredEntry {
  readonly userId: string | null;
  readonly name: string | null;
  readonly instanceId: string;
  readonly since: number;
  readonly expiresAt: number;
}

/** The entry, or null for a value that is not one (removed like an expired one). */
function decode(document: string, sessionKey: string, json: string): { entry: PresenceEntry; expiresAt: number } | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { userId, name, instanceId, since, expiresAt } = value as Record<string, unknown>;
  if ((userId !== null && typeof userId !== 'string') || (name !== null && typeof name !== 'string')) return null;
  if (typeof instanceId !== 'string' || typeof since !== 'number' || typeof expiresAt !== 'number') return null;
  return { entry: { document, sessionKey, userId, name, instanceId, since }, expiresAt };
}

/** HDEL each field (ARGV pairs: field, value) whose value is still the one read. One key. */
const DELETE_IF_UNCHANGED = `
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed`;

/** The keys of docs/contracts.md "Redis keys"; the braces are a Redis Cluster hash tag (the same slot as the `doc:{name}` channel). */
const documentKey = (document: string) => `doc:presence:{${document}}`;
const userKey = (userId: string) => `user:presence:{${userId}}`;
