/**
 * Writing events to the outbox (`webhook_deliveries`, one row per event and subscribed webhook)
 * inside the transaction of the change that caused them, so an event exists exactly when its
 * change committed: a crash, a failed commit or a database outage loses or invents none.
 *
 * Each change writes its events in the statement that makes the change (a data-modifying CTE)
 * or in the caller's open transaction, and the SQL for both is built here:
 * - a version inserted (`version-store.ts`): its statement ends with `versionCreatedSql`'s CTE;
 * - a change made in a transaction of its own (a document created by `documents.ts`, a delete):
 *   `recordEvent(tx, …)` in that transaction;
 * - edits through the update log (`update-log.ts`): its commit statement marks the documents
 *   changed (`markChangedSql`), and the dispatcher turns marks into debounced events later
 *   (change-events.ts) — the log's hot path writes one small row per document and commit, and
 *   none at all while no webhook subscribes to those events.
 * A change with no subscribed webhook writes nothing but the (empty) join.
 */
import type { Queryable } from '../persistence/db.js';
import { EDIT_EVENTS, type WebhookEvent } from './webhook-events.js';

/** A timestamptz as JSON, in JavaScript's ISO 8601 form (`…T…Z`, milliseconds) like every other time of the API. */
export function isoSql(expression: string): string {
  return `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** `data.document` from a relation with the `documents` columns id, name, kind and project_id. */
export function documentJsonSql(alias: string): string {
  return `jsonb_build_object('id', ${alias}.id, 'name', ${alias}.name, 'kind', ${alias}.kind, 'projectId', ${alias}.project_id)`;
}

/**
 * The statement writing the deliveries of `events`: a query with the columns `event` (text),
 * `document_id`, `project_id` (uuid), `data` (jsonb, with `document`) and `created_at`; one row
 * per event and webhook subscribed to it (its project's or a global one). Usable as a CTE.
 */
export function enqueueSql(events: string): string {
  return `insert into webhook_deliveries (webhook_id, event, document_id, data, created_at)
    select w.id, e.event, e.document_id, e.data, e.created_at
      from (${events}) as e
      join webhooks w on e.event = any (w.events) and (w.project_id is null or w.project_id = e.project_id)`;
}

/**
 * CTEs announcing the versions `inserted` returns (columns id, document_id, version, label, kind,
 * created_by, created_at of `document_versions`).
 */
export function versionCreatedSql(inserted: string): string {
  return `webhook_version_created as (${enqueueSql(
    `select 'version.created'::text as event, d.id as document_id, d.project_id,
            jsonb_build_object('document', ${documentJsonSql('d')},
                               'version', jsonb_build_object('id', v.id, 'version', v.version, 'label', v.label, 'kind', v.kind,
                                                             'createdBy', v.created_by, 'createdAt', ${isoSql('v.created_at')})) as data,
            v.created_at
       from ${inserted} v join documents d on d.id = v.document_id`,
  )})`;
}

/**
 * The statement marking as changed the documents whose ids `documentIds` (a uuid[] expression,
 * duplicates allowed) holds, in the committing transaction — only while some webhook subscribes
 * to an event told from edits, so a server without one writes nothing more per commit.
 */
export function markChangedSql(documentIds: string): string {
  return `insert into webhook_changes (document_id)
    select distinct c.document_id from unnest(${documentIds}) as c(document_id)
     where exists (select from webhooks where events && '{${EDIT_EVENTS.join(',')}}'::text[])`;
}

export interface RecordedEvent {
  readonly event: WebhookEvent;
  /** The document it is about: it must still exist (a deleted one in the trash does). */
  readonly documentId: string;
  /** More of the body's `data`, beside `document` (which it cannot replace). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * Writes an event of an existing document to the outbox. Pass the handle of the transaction that
 * makes the change (`db.transaction(tx => …)`), so the event commits with it or not at all.
 * `document.updated` and the comment events come from the update log (see above), never from here.
 */
export async function recordEvent(db: Queryable, event: RecordedEvent): Promise<void> {
  if (EDIT_EVENTS.includes(event.event)) {
    throw new Error(`${event.event} is derived from the update log, not recorded`);
  }
  await writeEvents(db, event.documentId, [{ event: event.event, data: event.data ?? {} }]);
}

/**
 * Events of one existing document, in one statement (`document` is added to each one's data),
 * written at `createdAt` (ms since the epoch; default: the transaction's time).
 */
export async function writeEvents(
  db: Queryable,
  documentId: string,
  events: ReadonlyArray<{ readonly event: WebhookEvent; readonly data: Readonly<Record<string, unknown>> }>,
  createdAt?: number,
): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    enqueueSql(
      `select e.event, d.id as document_id, d.project_id,
              e.data || jsonb_build_object('document', ${documentJsonSql('d')}) as data,
              coalesce($3::timestamptz, now()) as created_at
         from documents d, jsonb_to_recordset($2::jsonb) as e(event text, data jsonb)
        where d.id = $1`,
    ),
    [documentId, JSON.stringify(events), createdAt === undefined ? null : new Date(createdAt)],
  );
}
