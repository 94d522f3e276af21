/**
 * Turning the update log's change marks (`webhook_changes`, written by its commits) into
 * `document.updated`, `comment.created` and `comment.resolved` events, at most once per document
 * per debounce period.
 *
 * A document's marks are read, then what the events need (authors, and for comment events the
 * document's stored state and the marked transactions' updates) — all committed before the marks
 * were visible, so all of it is seen. Then ONE transaction deletes exactly those marks, stamps
 * the document's `notified_at` (only if the debounce period has passed since the last stamp) and
 * writes the events. If another instance took any of those marks first, or stamped the document
 * meanwhile, it rolls back and nothing is written: an event is written once per mark, and a mark
 * is deleted only with its events. A mark committed after the read is left for the next round.
 */
import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { Clock } from '../clock.js';
import { readStoredUpdates } from '../persistence/compaction.js';
import type { Db, Queryable } from '../persistence/db.js';
import { mergeUpdates } from '../persistence/merge.js';
import { commentChanges, UpdateContents, type CommentChanges } from './comment-changes.js';
import { writeEvents } from './outbox.js';
import { COMMENT_EVENTS, type WebhookAuthor, type WebhookEvent } from './webhook-events.js';

/** Authors listed in one `document.updated` at most. */
export const MAX_AUTHORS = 100;

/** One document's marks: the committing transactions (as text, int8 as PostgreSQL prints it). */
interface ChangedDocument {
  readonly documentId: string;
  readonly txs: readonly string[];
}

interface DocumentSubscriptions {
  readonly kind: string;
  /** The events some webhook covering the document's project subscribes to. */
  readonly events: readonly WebhookEvent[];
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
  const { rows } = await db.query<{ kind: string; events: WebhookEvent[] }>(
    `select d.kind, array(select distinct unnest(w.events) from webhooks w
                           where w.project_id is null or w.project_id = d.project_id) as events
       from documents d where d.id = $1`,
    [documentId],
  );
  return rows[0] ?? null;
}

/** Who wrote the marked transactions' rows, in order of their first row. */
async function authorsOf(db: Queryable, change: ChangedDocument): Promise<WebhookAuthor[]> {
  const { rows } = await db.query<{ user_id: string | null; name: string | null }>(
    `select c.user_id, u.name from collaborations c left join users u on u.id = c.user_id
      where c.document_id = $1 and c.tx = any($2::bigint[])
      group by c.user_id, u.name order by min(c.position) limit $3`,
    [change.documentId, change.txs, MAX_AUTHORS],
  );
  return rows.map((row) => ({ userId: row.user_id, name: row.name }));
}

/** The comments the marked transactions created or resolved, from the stored state. */
async function commentChangesOf(db: Queryable, change: ChangedDocument): Promise<CommentChanges> {
  const { rows } = await db.query<{ update: Uint8Array }>(
    'select update from collaborations where document_id = $1 and tx = any($2::bigint[]) order by position',
    [change.documentId, change.txs],
  );
  const contents = new UpdateContents(rows.map((row) => row.update));
  // Typing and formatting write no value a comment is made of: no need to read the document.
  if (!contents.writesValues) return { created: [], resolved: [] };
  const parts = await readStoredUpdates(db, change.documentId);
  const { state } = mergeUpdates(parts ?? []);
  const doc = new Y.Doc();
  try {
    if (state !== null) Y.applyUpdate(doc, state);
    return commentChanges(doc, contents);
  } finally {
    doc.destroy();
  }
}

/** Thrown inside the transaction to roll it back: another instance got there first. */
class TakenElsewhere extends Error {}

/**
 * Turns the marks of up to `limit` documents whose debounce period is over into events; returns
 * how many documents it did. Time (the stamps, the events' `createdAt`) is the Clock's.
 */
export async function convertChanges(db: Db, clock: Pick<Clock, 'now'>, debounceMs: number, limit: number, logger: Logger): Promise<number> {
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
  const events: Array<{ event: WebhookEvent; data: Record<string, unknown> }> = [];
  if (subscriptions !== null) {
    const subscribed = new Set(subscriptions.events);
    if (subscribed.has('document.updated')) events.push({ event: 'document.updated', data: { authors: await authorsOf(db, change) } });
    if (subscriptions.kind === 'paper' && COMMENT_EVENTS.some((event) => subscribed.has(event))) {
      const comments = await commentChangesOf(db, change);
      if (subscribed.has('comment.created')) for (const comment of comments.created) events.push({ event: 'comment.created', data: { comment } });
      if (subscribed.has('comment.resolved')) for (const comment of comments.resolved) events.push({ event: 'comment.resolved', data: { comment } });
    }
  }
  // Read when the events are written, not when the round began: the stamps, and so the
  // events' times, are then a whole period apart however long the reads above took.
  const now = clock.now();
  try {
    await db.transaction(async (tx) => {
      const taken = await tx.query<{ tx: string }>('delete from webhook_changes where document_id = $1 and tx = any($2::bigint[]) returning tx', [
        change.documentId,
        change.txs,
      ]);
      if (taken.rows.length !== change.txs.length) throw new TakenElsewhere();
      // A purged document has no row to stamp, nor events: its marks just go.
      if (subscriptions === null) return;
      const stamped = await tx.query(
        `insert into webhook_documents (document_id, notified_at) values ($1, $2)
         on conflict (document_id) do update set notified_at = excluded.notified_at
          where webhook_documents.notified_at <= $3
         returning document_id`,
        [change.documentId, new Date(now), new Date(now - debounceMs)],
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
