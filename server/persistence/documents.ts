/**
 * Looking up and creating rows in `documents`. A document is found by its current name or
 * by a former one (`document_aliases`, kept by a rename: document-lifecycle.ts); a document
 * in the trash is found by neither, but keeps its names taken.
 */
import type { DocumentKind } from '../http/api-types.js';
import { recordEvent } from '../webhooks/outbox.js';
import type { Db, Queryable } from './db.js';

/** Project that open-mode documents belong to (seeded by migration 003). */
export const DEFAULT_PROJECT_ID = '00000000-0000-4000-8000-000000000001';

/** Declared with the API's types (the web client's too); the `documents.kind` check lists the same. */
export type { DocumentKind };

export interface DocumentRow {
  readonly id: string;
  /** The current name (a former one resolves to the same row). */
  readonly name: string;
  readonly projectId: string;
  readonly kind: DocumentKind;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When it was moved to the trash; null for a live document. */
  readonly deletedAt: Date | null;
}

export interface RawDocumentRow {
  id: string;
  name: string;
  project_id: string;
  kind: DocumentKind;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** The columns `toDocument` reads (prefixed with `d.` where the query names the table so). */
export const DOCUMENT_COLUMNS = 'id, name, project_id, kind, created_at, updated_at, deleted_at';
const D_COLUMNS = DOCUMENT_COLUMNS.split(', ')
  .map((column) => `d.${column}`)
  .join(', ');

export function toDocument(row: RawDocumentRow): DocumentRow {
  return {
    id: row.id,
    name: row.name,
    projectId: row.project_id,
    kind: row.kind,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

/**
 * The document that holds `name`, as its current name or a former one. A name belongs to
 * one document only (creation and rename keep it so); should a race ever leave it as both
 * a current name and an alias, the current name wins.
 */
function holderSql(liveOnly: boolean): string {
  return `select ${D_COLUMNS} from documents d
     where (d.name = $1 or d.id = (select a.document_id from document_aliases a where a.name = $1))
       ${liveOnly ? 'and d.deleted_at is null' : ''}
     order by (d.name = $1) desc
     limit 1`;
}

/** The live document of that name (current or former); null when there is none or it is in the trash. */
export async function findDocument(db: Queryable, name: string): Promise<DocumentRow | null> {
  const { rows } = await db.query<RawDocumentRow>(holderSql(true), [name]);
  return rows[0] ? toDocument(rows[0]) : null;
}

/** The document holding the name, live or in the trash (a trashed document keeps its names taken). */
export async function findNameHolder(db: Queryable, name: string): Promise<DocumentRow | null> {
  const { rows } = await db.query<RawDocumentRow>(holderSql(false), [name]);
  return rows[0] ? toDocument(rows[0]) : null;
}

export interface CreatedDocument {
  /** The new document; when not `created`, the one that holds the name (live or in the trash: see `deletedAt`). */
  readonly document: DocumentRow;
  /** False when the name was taken already (the document returned is unchanged). */
  readonly created: boolean;
}

/** `db`'s own transaction, or the caller's when `db` is one already. */
function inTransaction<T>(db: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return 'transaction' in db ? (db as Db).transaction(fn) : fn(db);
}

/**
 * Creates the document in `projectId`, or returns the document that already holds the name
 * (as its current name or a former one, live or in the trash). Safe when several instances
 * create the same name at once (unique name): the insert does nothing for all but one, and
 * the others read the winner's row. `initialState` (one Yjs update) becomes its stored
 * state, with no log row: content without history.
 *
 * A name is never both a document's name and another's alias: the alias is checked again
 * after the insert, in the same transaction, because the insert may have waited for a
 * rename that freed the name and made it an alias (its snapshot predates that alias).
 * The `document.created` webhook event is written in that transaction too.
 */
export async function createDocument(
  db: Queryable,
  name: string,
  kind: DocumentKind,
  projectId: string = DEFAULT_PROJECT_ID,
  initialState: Uint8Array | null = null,
): Promise<CreatedDocument> {
  const inserted = await inTransaction(db, async (tx) => {
    const { rows } = await tx.query<RawDocumentRow>(
      `insert into documents (project_id, name, kind, state)
       select $1, $2, $3, $4 where not exists (select 1 from document_aliases where name = $2)
       on conflict (name) do nothing returning ${DOCUMENT_COLUMNS}`,
      [projectId, name, kind, initialState],
    );
    const row = rows[0];
    if (!row) return null;
    const alias = await tx.query('select 1 from document_aliases where name = $1', [name]);
    if (alias.rows.length === 0) {
      await recordEvent(tx, { event: 'document.created', documentId: row.id });
      return toDocument(row);
    }
    await tx.query('delete from documents where id = $1', [row.id]);
    return null;
  });
  if (inserted) return { document: inserted, created: true };
  const existing = await findNameHolder(db, name);
  // Purged between our insert and this read: rare enough to report rather than loop.
  if (!existing) throw new Error(`document ${JSON.stringify(name)} vanished while being created`);
  return { document: existing, created: false };
}

/**
 * When the document last changed: its latest stored edit, or its last compaction or
 * creation when later (null: no such document).
 */
export async function documentUpdatedAt(db: Queryable, documentId: string): Promise<Date | null> {
  const { rows } = await db.query<{ updated_at: Date }>(
    `select greatest(d.updated_at,
                     (select coalesce(c.merged_until, c.created_at) from collaborations c
                       where c.document_id = d.id order by c.position desc limit 1)) as updated_at
       from documents d where d.id = $1`,
    [documentId],
  );
  return rows[0]?.updated_at ?? null;
}
