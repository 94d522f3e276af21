/**
 * Webhook registrations (`webhooks`) and their delivery log, as the admin API reads and writes
 * them. The secret is stored as given (the dispatcher signs with it) and never read back out.
 */
import type { Db, Queryable } from '../persistence/db.js';
import { COMMENT_EVENTS, type WebhookEvent } from './webhook-events.js';

/** Registrations at most: each one multiplies the outbox rows every change writes. */
export const MAX_WEBHOOKS = 100;
/** Deliveries one listing returns at most. */
export const DELIVERIES_MAX_LIMIT = 1000;

export interface NewWebhook {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  /** Null: documents of every project. */
  readonly projectId: string | null;
  readonly secret: string;
}

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  readonly projectId: string | null;
  readonly createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** An entry of the delivery log (`id` is the delivery id a receiver sees). */
export interface DeliveryRecord {
  readonly id: string;
  readonly event: WebhookEvent;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: string;
  readonly lastAttemptAt: string | null;
  readonly deliveredAt: string | null;
  /** While pending: when it is tried (again); null: now. */
  readonly nextAttemptAt: string | null;
  /** The receiver's HTTP status at the last attempt (null: none, e.g. connection refused). */
  readonly responseStatus: number | null;
  readonly lastError: string | null;
}

interface RawWebhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  project_id: string | null;
  created_at: Date;
}

interface RawDelivery {
  id: string;
  event: WebhookEvent;
  status: DeliveryStatus;
  attempts: number;
  created_at: Date;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  next_attempt_at: Date | null;
  response_status: number | null;
  last_error: string | null;
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

function toWebhook(row: RawWebhook): Webhook {
  return { id: row.id, url: row.url, events: row.events, projectId: row.project_id, createdAt: row.created_at.toISOString() };
}

/**
 * Registers a webhook; null when MAX_WEBHOOKS exist already. With comment events, the documents
 * it is the first to cover with them forget which comments were looked at (comment-changes.ts):
 * nobody looked while none covered them, and the next look starts afresh.
 */
export async function createWebhook(db: Db, webhook: NewWebhook): Promise<Webhook | null> {
  return db.transaction(async (tx) => {
    if (webhook.events.some((event) => COMMENT_EVENTS.includes(event))) {
      await tx.query(
        `update webhook_documents s set comments_seen = null from documents d
          where d.id = s.document_id and s.comments_seen is not null and ($1::uuid is null or d.project_id = $1)
            and not exists (select 1 from webhooks w
                             where w.events && $2::text[] and (w.project_id is null or w.project_id = d.project_id))`,
        [webhook.projectId, COMMENT_EVENTS],
      );
    }
    const { rows } = await tx.query<RawWebhook>(
      `insert into webhooks (url, events, project_id, secret)
       select $1, $2::text[], $3, $4 where (select count(*) from webhooks) < $5
       returning id, url, events, project_id, created_at`,
      [webhook.url, webhook.events, webhook.projectId, webhook.secret, MAX_WEBHOOKS],
    );
    return rows[0] ? toWebhook(rows[0]) : null;
  });
}

/** Every registration, oldest first, without secrets. */
export async function listWebhooks(db: Queryable): Promise<Webhook[]> {
  const { rows } = await db.query<RawWebhook>('select id, url, events, project_id, created_at from webhooks order by created_at, id');
  return rows.map(toWebhook);
}

/** Removes a registration and its deliveries, pending ones included; false when there is none. */
export async function deleteWebhook(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>('delete from webhooks where id = $1 returning id', [id]);
  return rows.length > 0;
}

/** A webhook's most recent deliveries, newest first; null when there is no such webhook. */
export async function listDeliveries(db: Queryable, webhookId: string, limit: number): Promise<DeliveryRecord[] | null> {
  const { rows } = await db.query<RawDelivery & { webhook_exists: boolean }>(
    `select w.id is not null as webhook_exists, d.id, d.event, d.status, d.attempts, d.created_at, d.last_attempt_at,
            d.delivered_at, d.next_attempt_at, d.response_status, d.last_error
       from (select $1::uuid as id) as wanted
       left join webhooks w on w.id = wanted.id
       left join lateral (
         select * from webhook_deliveries where webhook_id = w.id order by created_at desc, id limit $2
       ) d on true`,
    [webhookId, Math.max(1, Math.min(DELIVERIES_MAX_LIMIT, Math.trunc(limit)))],
  );
  if (!rows[0]?.webhook_exists) return null;
  return rows
    .filter((row) => row.id !== null)
    .map((row) => ({
      id: row.id,
      event: row.event,
      status: row.status,
      attempts: row.attempts,
      createdAt: row.created_at.toISOString(),
      lastAttemptAt: iso(row.last_attempt_at),
      deliveredAt: iso(row.delivered_at),
      nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
      responseStatus: row.response_status,
      lastError: row.last_error,
    }));
}
