/**
 * Socket denials in the audit log, bounded. Anyone can open a socket and send Auth messages
 * with a garbage token for many documents; one row per denial let an unauthenticated client
 * write rows as fast as it could send frames. So denials are aggregated per actor — the
 * token's user when it is known (a valid token denied a document, an expired or revoked one),
 * else the peer address — and per window (a minute):
 *
 * - the first denial of an actor in a window is written at once, as before (`details.count` 1);
 * - the actor's further denials in that window become one row at the window's end
 *   (`details.aggregated` true, `count`, `reasons` with their counts, up to
 *   MAX_LISTED documents);
 * - at most `perSecond` actors a second get a row of their own on this instance (a token
 *   bucket, burst `perSecond`); the denials of actors beyond it are only counted, in one
 *   `permission.denied.suppressed` row per window (actor `system`: `count`, `reasons`, up to
 *   MAX_LISTED of their sources).
 *
 * So every denial is counted and the rows are bounded: at most `perSecond` a second written at
 * once, at most as many aggregate rows per window (one statement), and one suppressed row.
 * What is dropped: for the aggregated and suppressed denials, which document and session each
 * one concerned beyond the listed ones, and their individual times (the window is recorded).
 * Writes never block or fail the socket: a failed one is logged.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../persistence/db.js';
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { AccessDenial } from '../protocol/context.js';
import { TokenBucket } from '../protocol/token-bucket.js';

/** Documents, sources and reasons listed in an aggregate row, at most. */
export const MAX_LISTED = 20;
export const DENIAL_WINDOW_MS = 60_000;

interface Row {
  readonly actor: 'user' | 'system';
  readonly resourceType: 'document' | null;
  readonly actorUserId: string | null;
  readonly action: string;
  readonly resourceId: string | null;
  readonly details: Record<string, unknown>;
}

/** What an actor's denials after its first one in the window add up to. */
interface Tally {
  count: number;
  readonly reasons: Map<string, number>;
  readonly listed: Set<string>;
}

interface ActorWindow extends Tally {
  readonly actorUserId: string | null;
  readonly source: string | null;
}

export interface DenialAuditOptions {
  /** Actors a second that get a row of their own (AUDIT_DENIALS_PER_SECOND). */
  readonly perSecond: number;
  readonly windowMs?: number;
  readonly clock?: Clock;
}

export class DenialAudit {
  private actors = new Map<string, ActorWindow>();
  private suppressed: Tally = newTally();
  private windowStart: number;
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  private readonly cancel: () => void;
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly db: Queryable | null,
    private readonly logger: Logger,
    private readonly options: DenialAuditOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.bucket = new TokenBucket(options.perSecond, options.perSecond, this.clock);
    this.windowStart = this.clock.now();
    this.cancel = this.clock.every(options.windowMs ?? DENIAL_WINDOW_MS, () => void this.flush());
  }

  /** Records one denial (never throws, never waits). */
  record(denial: AccessDenial, via = 'socket'): void {
    if (!this.db) return;
    const source = denial.source || null;
    const key = denial.userId !== null ? `user:${denial.userId}` : `source:${source ?? 'unknown'}`;
    const known = this.actors.get(key);
    if (known) {
      tally(known, denial.reason, denial.document);
      return;
    }
    if (!this.bucket.take()) {
      tally(this.suppressed, denial.reason, denial.userId ?? source ?? 'unknown');
      return;
    }
    this.actors.set(key, { ...newTally(), actorUserId: denial.userId, source });
    this.write([
      {
        actor: 'user',
        resourceType: 'document',
        actorUserId: denial.userId,
        action: 'permission.denied',
        resourceId: denial.document,
        details: { reason: denial.reason, sessionId: denial.tokenSession, via, source, count: 1 },
      },
    ]);
  }

  /** Ends the window: writes its aggregate rows (one statement) and starts the next. */
  flush(): Promise<void> {
    const from = new Date(this.windowStart).toISOString();
    const to = new Date((this.windowStart = this.clock.now())).toISOString();
    const actors = this.actors;
    const suppressed = this.suppressed;
    this.actors = new Map();
    this.suppressed = newTally();
    const rows: Row[] = [];
    for (const actor of actors.values()) {
      if (actor.count === 0) continue;
      const documents = [...actor.listed];
      rows.push({
        actor: 'user',
        resourceType: 'document',
        actorUserId: actor.actorUserId,
        action: 'permission.denied',
        // One document: every denial was for it (the list is complete below MAX_LISTED).
        resourceId: documents.length === 1 ? documents[0]! : null,
        details: {
          aggregated: true,
          count: actor.count,
          reasons: Object.fromEntries(actor.reasons),
          documents,
          source: actor.source,
          via: 'socket',
          from,
          to,
        },
      });
    }
    if (suppressed.count > 0) {
      this.logger.warn(
        { suppressed: suppressed.count, limit: this.options.perSecond },
        'socket denials over AUDIT_DENIALS_PER_SECOND: counted in one audit row',
      );
      rows.push({
        actor: 'system',
        resourceType: null,
        actorUserId: null,
        action: 'permission.denied.suppressed',
        resourceId: null,
        details: {
          count: suppressed.count,
          reasons: Object.fromEntries(suppressed.reasons),
          actors: [...suppressed.listed],
          limitPerSecond: this.options.perSecond,
          via: 'socket',
          from,
          to,
        },
      });
    }
    if (rows.length > 0) this.write(rows);
    return this.settled();
  }

  /** Stops the window timer and writes what is held back (shutdown). */
  async close(): Promise<void> {
    this.cancel();
    await this.flush();
  }

  /** Resolves once every write started so far has finished. */
  async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  private write(rows: readonly Row[]): void {
    const db = this.db!;
    const write = insert(db, rows).then(
      () => undefined,
      (error: unknown) => this.logger.error({ err: error, audit: rows }, 'audit entry could not be written'),
    );
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}

function newTally(): Tally {
  return { count: 0, reasons: new Map(), listed: new Set() };
}

function tally(into: Tally, reason: string, listed: string): void {
  into.count++;
  if (into.reasons.has(reason) || into.reasons.size < MAX_LISTED) into.reasons.set(reason, (into.reasons.get(reason) ?? 0) + 1);
  else into.reasons.set('other', (into.reasons.get('other') ?? 0) + 1);
  if (into.listed.size < MAX_LISTED) into.listed.add(listed);
}

/**
 * One statement for any number of rows. The actor is kept only when the user still exists:
 * an expired token of a deleted user must not make the write fail on the foreign key.
 */
async function insert(db: Queryable, rows: readonly Row[]): Promise<void> {
  await db.query(
    `insert into audit_logs (actor, actor_user_id, action, resource_type, resource_id, details)
     select r.actor, u.id, r.action, r.resource_type, r.resource_id, r.details
       from unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) as r(actor, user_id, action, resource_type, resource_id, details)
       left join users u on u.id = r.user_id`,
    [
      rows.map((r) => r.actor),
      rows.map((r) => r.actorUserId),
      rows.map((r) => r.action),
      rows.map((r) => r.resourceType),
      rows.map((r) => r.resourceId),
      rows.map((r) => JSON.stringify(r.details)),
    ],
  );
}
