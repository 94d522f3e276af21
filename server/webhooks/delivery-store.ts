/**
 * The dispatcher's side of the outbox: taking due deliveries and recording how their attempts
 * went. A delivery is taken with a lease (`next_attempt_at` moves past the attempt's end) by one
 * statement that skips rows another instance is taking at the same moment, so exactly one
 * instance at a time attempts it; an instance that dies mid-attempt only delays it until the
 * lease ends. All times are the dispatcher's Clock's.
 */
import type { Queryable } from '../persistence/db.js';
import type { WebhookDeliveryBody, WebhookEvent, WebhookEventData } from './webhook-events.js';

/** A delivery taken for one attempt. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  /** Attempts so far, this one included. */
  readonly attempts: number;
  /** Of the first attempt (ms since the epoch): the retry window counts from it. */
  readonly firstAttemptAt: number;
  /** The body, the same on every attempt. */
  readonly body: WebhookDeliveryBody;
}

interface RawClaim {
  id: string;
  url: string;
  secret: string;
  event: WebhookEvent;
  data: WebhookEventData;
  created_at: Date;
  attempts: number;
  first_attempt_at: Date;
}

const CLAIM_SQL = `
with due as (
  select id from webhook_deliveries
   where status = 'pending' and (next_attempt_at is null or next_attempt_at <= $1)
   order by next_attempt_at nulls first, created_at
   limit $3
   for update skip locked)
update webhook_deliveries d
   set attempts = d.attempts + 1, last_attempt_at = $1, first_attempt_at = coalesce(d.first_attempt_at, $1), next_attempt_at = $2
  from due, webhooks w
 where d.id = due.id and w.id = d.webhook_id
returning d.id, w.url, w.secret, d.event, d.data, d.created_at, d.attempts, d.first_attempt_at`;

/** Takes up to `limit` due deliveries for an attempt each, leased until `leaseUntil`. */
export async function claimDue(db: Queryable, now: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<RawClaim>(CLAIM_SQL, [new Date(now), new Date(leaseUntil), limit]);
  return rows.map((row) => ({
    id: row.id,
    url: row.url,
    secret: row.secret,
    attempts: row.attempts,
    firstAttemptAt: row.first_attempt_at.getTime(),
    body: { id: row.id, event: row.event, createdAt: row.created_at.toISOString(), data: row.data },
  }));
}

/** How an attempt ended, as recorded. */
export type AttemptRecord =
  | { readonly outcome: 'delivered'; readonly at: number; readonly responseStatus: number }
  /** `retryAt` null: the retry window is over, the delivery is given up. */
  | { readonly outcome: 'failed'; readonly retryAt: number | null; readonly responseStatus: number | null; readonly error: string };

/** Longest error text kept per delivery. */
const MAX_ERROR_LENGTH = 500;

/** Records an attempt's end (only while the delivery is still pending: a removed webhook's are gone). */
export async function recordAttempt(db: Queryable, id: string, attempt: AttemptRecord): Promise<void> {
  if (attempt.outcome === 'delivered') {
    await db.query(
      `update webhook_deliveries set status = 'delivered', delivered_at = $2, next_attempt_at = null, response_status = $3, last_error = null
        where id = $1 and status = 'pending'`,
      [id, new Date(attempt.at), attempt.responseStatus],
    );
    return;
  }
  await db.query(
    `update webhook_deliveries
        set status = case when $2::timestamptz is null then 'failed' else 'pending' end,
            next_attempt_at = $2, response_status = $3, last_error = $4
      where id = $1 and status = 'pending'`,
    [id, attempt.retryAt === null ? null : new Date(attempt.retryAt), attempt.responseStatus, attempt.error.slice(0, MAX_ERROR_LENGTH)],
  );
}

/** Rows one purge deletes at most, so it never holds the table long. */
const PURGE_BATCH = 10_000;

/** Deletes delivered and given-up deliveries written before `before`; returns how many. */
export async function purgeFinished(db: Queryable, before: number): Promise<number> {
  const { rows } = await db.query<{ purged: number }>(
    `with purged as (
       delete from webhook_deliveries where id in (
         select id from webhook_deliveries where status <> 'pending' and created_at < $1 limit $2)
       returning 1)
     select count(*)::int as purged from purged`,
    [new Date(before), PURGE_BATCH],
  );
  return rows[0]?.purged ?? 0;
}
