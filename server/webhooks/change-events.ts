/**
 * Turning the update log's change marks (`webhook_changes`, written by its commits) into
 * `document.updated`, `comment.created` and `comment.resolved` events, at most once per document
 * per debounce period.
 *
 * A document's marks are read, then what the events need: the authors of the marked
 * transactions' rows, and for comment events the document's stored state, compared with the
 * state vector of the state looked at last time (comment-changes.ts) — all committed before the
 * marks were visible, so all of it is seen. Then ONE transaction deletes exactly those marks,
 * stamps the document (`notified_at`, and the new `comments_seen`) only if the debounce period
 * has passed and nobody stamped it since the read, and writes the events. If another instance
 * took any of those marks first, or stamped the document meanwhile, it rolls back and nothing is
 * written: an event is written once, and a mark is deleted only with its events. A mark
 * committed after the read is left for the next round.
 *
 * Compaction may coarsen a marked transaction's rows into a row of a later transaction (its tx
 * the highest of the rows it replaces): such rows are read too, so an author is named at the
 * latest with the next event; the comments do not depend on rows at all.
 */
import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { Clock } from '../clock.js';
import { readStoredUpdates } from '../persistence/compaction.js';
import type { Db, Queryable } from '../persistence/db.js';
import { mergeUpdates } from '../persistence/merge.js';
import { commentChanges, laterStateVector, writesValues } from './comment-changes.js';
import { writeEvents } from './outbox.js';
import { COMMENT_EVENTS, type WebhookAuthor, type WebhookEvent } from './webhook-events.js';

/** Authors listed in one `document.updated` at most. */
export const MAX_AUTHORS = 100;
/** Never looked at, comments created up to this long before their webhook are still announced (clients' clocks differ). */
const CREATED_AT_SKEW_MS = 10 * 60_000;

/** One document's marks: the committing transactions (as text, int8 as PostgreSQL prints it). */
interface ChangedDocument {
  readonly documentId: string;
  readonly txs: readonly string[];
}

interface DocumentSubscriptions {
  readonly kind: string;
  /** The events some webhook covering the document's project subscribes to. */
  readonly events: readonly WebhookEvent[];
  /** When the first webhook covering it with comment events was registered (null: none). */
  readonly commentsSince: Date | null;
}

interface Stamp {
  readonly notifiedAt: Date;
  readonly commentsSeen: Uint8Array | null;
}

/** The marks of documents whose debounce period ended by `cutoff`, oldest mark first. */
async function changedDocuments(db: Queryable, cutoff: number, limit: number): Promise<ChangedDocument[]> {
  const { rows } = await db.query<{ document_id: string; txs: string[] }>(
    `select c.document_id, array_agg(c.tx::text) as txs
       from webhook_changes c
       left join webhook_documents n on n.document_id = c.document_id
      where n.notified_at is null or n.notified_at <= $1
      group by c.document_id
      order by min(c.tx)
      limit $2`,
    [new Date(cutoff), limit],
  );
  return rows.map((row) => ({ documentId: row.document_id, txs: row.txs }));
}

async function subscriptionsOf(db: Queryable, documentId: string): Promise<DocumentSubscriptions | null> {
  const { rows } = await db.query<{ kind: string; events: WebhookEvent[]; comments_since: Date | null }>(
    `select d.kind,
            array(select distinct unnest(w.events) from webhooks w
                   where w.project_id is null or w.project_id = d.project_id) as events,
            (select min(w.created_at) from webhooks w
              where w.events && $2::text[] and (w.project_id is null or w.project_id = d.project_id)) as comments_since
       from documents d where d.id = $1`,
    [documentId, COMMENT_EVENTS],
  );
  const row = rows[0];
  return row ? { kind: row.kind, events: row.events, commentsSince: row.comments_since } : null;
}

async function stampOf(db: Queryable, documentId: string): Promise<Stamp | null> {
  const { rows } = await db.query<{ notified_at: Date; comments_seen: Uint8Array | null }>(
    'select notified_at, comments_seen from webhook_documents where document_id = $1',
    [documentId],
  );
  return rows[0] ? { notifiedAt: rows[0].notified_at, commentsSeen: rows[0].comments_seen } : null;
}

/**
 * The log rows of the marked transactions: their own, and coarsened rows that may have taken
 * them in (a coarsened row's tx is the highest of those it replaced, so not below the lowest mark).
 */
function markedRowsSql(alias: string): string {
  return `${alias}.document_id = $1 and ${alias}.tx >= (select min(m.t) from unnest($2::bigint[]) as m(t))
     and (${alias}.tx = any($2::bigint[]) or ${alias}.merged_updates is not null)`;
}

/** Who wrote the marked transactions' rows, in order of their first row. */
async function authorsOf(db: Queryable, change: ChangedDocument): Promise<WebhookAuthor[]> {
  const { rows } = await db.query<{ user_id: string | null; name: string | null }>(
    `select c.user_id, u.name from collaborations c left join users u on u.id = c.user_id
      where ${markedRowsSql('c')}
      group by c.user_id, u.name order by min(c.position) limit $3`,
    [change.documentId, change.txs, MAX_AUTHORS],
  );
  return rows.map((row) => ({ userId: row.user_id, name: row.name }));
}

/** Whether the marked transactions may have written a comment (see writesValues). */
async function mayTouchComments(db: Queryable, change: ChangedDocument): Promise<boolean> {
  const { rows } = await db.query<{ update: Uint8Array }>(
    `select c.update from collaborations c where ${markedRowsSql('c')} order by c.position`,
    [change.documentId, change.txs],
  );
  return writesValues(rows.map((row) => row.update));
}

/** The document's stored state as a Y.Doc (the caller destroys it). */
async function storedDoc(db: Queryable, documentId: string): Promise<Y.Doc> {
  const { state } = mergeUpdates((await readStoredUpdates(db, documentId)) ?? []);
  const doc = new Y.Doc();
  if (state !== null) Y.applyUpdate(doc, state);
  return doc;
}

/** Thrown inside the transaction to roll it back: another instance got there first. */
class TakenElsewhere extends Error {}

/**
 * Turns the marks of up to `limit` documents whose debounce period is over into events; returns
 * how many documents it did. Time (the stamps, the events' `createdAt`) is the Clock's.
 */
export async function convertChanges(
  db: Db,
  clock: Pick<Clock, 'now'>,
  debounceMs: number,
  limit: number,
  logger: Logger,
): Promise<number> {
  const changes = await changedDocuments(db, clock.now() - debounceMs, limit);
  let done = 0;
  for (const change of changes) {
    if (await convertChange(db, change, clock, debounceMs)) done++;
    else logger.debug({ documentId: change.documentId }, 'webhook changes taken by another instance');
  }
  return done;
}

async function convertChange(db: Db, change: ChangedDocument, clock: Pick<Clock, 'now'>, debounceMs: number): Promise<boolean> {
  const subscriptions = await subscriptionsOf(db, change.documentId);
  const stamp = await stampOf(db, change.documentId);
  const events: Array<{ event: WebhookEvent; data: Record<string, unknown> }> = [];
  /** The state vector looked at now; null: comments not looked at this time. */
  let seenNow: Uint8Array | null = null;
  if (subscriptions !== null) {
    const subscribed = new Set(subscriptions.events);
    if (subscribed.has('document.updated')) events.push({ event: 'document.updated', data: { authors: await authorsOf(db, change) } });
    const since = subscriptions.commentsSince;
    if (subscriptions.kind === 'paper' && since !== null && (await mayTouchComments(db, change))) {
      const doc = await storedDoc(db, change.documentId);
      try {
        const comments = commentChanges(doc, { seen: stamp?.commentsSeen ?? null, announceFrom: since.getTime() - CREATED_AT_SKEW_MS });
        if (subscribed.has('comment.created'))
          for (const comment of comments.created) events.push({ event: 'comment.created', data: { comment } });
        if (subscribed.has('comment.resolved'))
          for (const comment of comments.resolved) events.push({ event: 'comment.resolved', data: { comment } });
        seenNow = laterStateVector(stamp?.commentsSeen ?? null, Y.encodeStateVector(doc));
      } finally {
        doc.destroy();
      }
    }
  }
  // Read when the events are written, not when the round began: the stamps, and so the
  // events' times, are then a whole period apart however long the reads above took.
  const now = clock.now();
  try {
    await db.transaction(async (tx) => {
      const taken = await tx.query<{ tx: string }>(
        'delete from webhook_changes where document_id = $1 and tx = any($2::bigint[]) returning tx',
        [change.documentId, change.txs],
      );
      if (taken.rows.length !== change.txs.length) throw new TakenElsewhere();
      // A purged document has no row to stamp, nor events: its marks just go.
      if (subscriptions === null) return;
      const stamped = await tx.query(
        `insert into webhook_documents (document_id, notified_at, comments_seen) values ($1, $2, $4)
         on conflict (document_id) do update
           set notified_at = excluded.notified_at, comments_seen = coalesce(excluded.comments_seen, webhook_documents.comments_seen)
          where webhook_documents.notified_at <= $3 and webhook_documents.comments_seen is not distinct from $5
         returning document_id`,
        [change.documentId, new Date(now), new Date(now - debounceMs), seenNow, stamp?.commentsSeen ?? null],
      );
      if (stamped.rows.length === 0) throw new TakenElsewhere();
      await writeEvents(tx, change.documentId, events, now);
    });
  } catch (error) {
    if (error instanceof TakenElsewhere) return false;
    throw error;
  }
  return true;
}
