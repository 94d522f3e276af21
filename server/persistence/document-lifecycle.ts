/**
 * A document's life after creation, in SQL: rename (the old name stays an alias), the trash
 * (move in, list, restore) and the purge of what stayed in it too long. Every name a document
 * has had stays taken while the document exists, in the trash too; only the purge frees them.
 */
import type { DocumentKind } from '../http/api-types.js';
import { sqlState, type Db, type Queryable } from './db.js';
import { DOCUMENT_COLUMNS, toDocument, type DocumentRow, type RawDocumentRow } from './documents.js';

/** Former names one document may keep; a rename beyond them is refused (each is an audience of its room: protocol/address-limits.ts). */
export const MAX_ALIASES_PER_DOCUMENT = 50;

export type RenameResult =
  | { readonly status: 'renamed'; readonly document: DocumentRow; readonly formerName: string }
  /** Already named so: nothing changed. */
  | { readonly status: 'unchanged'; readonly document: DocumentRow }
  /** No such live document (purged, or moved to the trash meanwhile). */
  | { readonly status: 'gone' }
  /** Another document holds the name (as its name or a former one, live or in the trash). */
  | { readonly status: 'taken' }
  /** The document has MAX_ALIASES_PER_DOCUMENT former names already. */
  | { readonly status: 'too-many-names' };

type RenameRefusal = 'taken' | 'too-many-names';

/** Carries a refusal out of a transaction, which rolls it back. */
class Refusal extends Error {
  constructor(readonly status: RenameRefusal | 'name-taken') {
    super(status);
  }
}

const UNIQUE_VIOLATION = '23505';

/**
 * Renames a live document; its current name becomes an alias of it (renaming back to a former
 * name takes that alias back). The checks against the other table come after the update: the
 * update may have waited for a concurrent rename that freed the name and made it an alias,
 * and this later statement sees that alias (creation checks the same way: documents.ts).
 */
export async function renameDocument(db: Db, documentId: string, newName: string): Promise<RenameResult> {
  try {
    return await db.transaction(async (tx): Promise<RenameResult> => {
      const current = await tx.query<RawDocumentRow>(
        `select ${DOCUMENT_COLUMNS} from documents where id = $1 and deleted_at is null for update`,
        [documentId],
      );
      const before = current.rows[0];
      if (!before) return { status: 'gone' };
      if (before.name === newName) return { status: 'unchanged', document: toDocument(before) };
      const updated = await tx.query<RawDocumentRow>(`update documents set name = $2 where id = $1 returning ${DOCUMENT_COLUMNS}`, [
        documentId,
        newName,
      ]);
      await tx.query('delete from document_aliases where name = $1 and document_id = $2', [newName, documentId]);
      const held = await tx.query('select 1 from document_aliases where name = $1', [newName]);
      if (held.rows.length > 0) throw new Refusal('taken');
      await tx.query('insert into document_aliases (name, document_id) values ($1, $2)', [before.name, documentId]);
      // The research-tree projection carries the document's name for its readers: the new one.
      await tx.query('update research_trees set name = $2 where document_id = $1', [documentId, newName]);
      const { rows } = await tx.query<{ aliases: number }>('select count(*)::int as aliases from document_aliases where document_id = $1', [
        documentId,
      ]);
      if ((rows[0]?.aliases ?? 0) > MAX_ALIASES_PER_DOCUMENT) throw new Refusal('too-many-names');
      return { status: 'renamed', document: toDocument(updated.rows[0]!), formerName: before.name };
    });
  } catch (error) {
    if (error instanceof Refusal && error.status !== 'name-taken') return { status: error.status };
    // The new name is another document's current name (documents.name is unique).
    if (sqlState(error) === UNIQUE_VIOLATION) return { status: 'taken' };
    throw error;
  }
}

/** A document in the trash (`GET /api/trash`). */
export interface TrashedDocument {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
  readonly deletedAt: Date;
  /** Who moved it there (null: anonymous, open mode, or the user was deleted since). */
  readonly deletedBy: string | null;
}

interface RawTrashedRow {
  id: string;
  name: string;
  kind: DocumentKind;
  project_id: string;
  deleted_at: Date;
  deleted_by: string | null;
}

const TRASHED_COLUMNS = 'id, name, kind, project_id, deleted_at, deleted_by';

const toTrashed = (row: RawTrashedRow): TrashedDocument => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  projectId: row.project_id,
  deletedAt: row.deleted_at,
  deletedBy: row.deleted_by,
});

/**
 * Moves a live document to the trash at `at` (the server's clock); null when it is not live
 * (already in the trash, or gone). Takes a transaction, so that whatever records the deletion
 * (the audit trail, an outbox) commits with it.
 */
export async function trashDocument(
  tx: Queryable,
  documentId: string,
  deletedBy: string | null,
  at: Date,
): Promise<TrashedDocument | null> {
  const { rows } = await tx.query<RawTrashedRow>(
    `update documents set deleted_at = $3, deleted_by = $2 where id = $1 and deleted_at is null returning ${TRASHED_COLUMNS}`,
    [documentId, deletedBy, at],
  );
  return rows[0] ? toTrashed(rows[0]) : null;
}

/** The document if it is in the trash, else null. */
export async function findTrashed(db: Queryable, documentId: string): Promise<TrashedDocument | null> {
  const { rows } = await db.query<RawTrashedRow>(`select ${TRASHED_COLUMNS} from documents where id = $1 and deleted_at is not null`, [
    documentId,
  ]);
  return rows[0] ? toTrashed(rows[0]) : null;
}

/** Most entries one trash listing returns (newest first). */
export const TRASH_LIST_LIMIT = 1000;

/**
 * The trash, newest first: of one project, and/or of the projects `ownerId` owns (the role
 * that sees a trash, auth/roles.ts `mayManage`: written here as `role = 'owner'`). Null
 * `ownerId`: every project's (open mode).
 */
export async function listTrash(
  db: Queryable,
  filter: { readonly ownerId: string | null; readonly projectId?: string | undefined },
): Promise<TrashedDocument[]> {
  const { rows } = await db.query<RawTrashedRow>(
    `select ${TRASHED_COLUMNS} from documents d
      where d.deleted_at is not null
        and ($1::uuid is null or d.project_id = $1::uuid)
        and ($2::uuid is null or exists (select 1 from project_members pm
                                          where pm.project_id = d.project_id and pm.user_id = $2::uuid and pm.role = 'owner'))
      order by d.deleted_at desc, d.id
      limit $3`,
    [filter.projectId ?? null, filter.ownerId, TRASH_LIST_LIMIT],
  );
  return rows.map(toTrashed);
}

export type RestoreResult =
  | { readonly status: 'restored'; readonly document: DocumentRow }
  /** Not in the trash (restored meanwhile, purged, or never deleted). */
  | { readonly status: 'not-in-trash' }
  /** Its name belongs to another document now. */
  | { readonly status: 'name-taken' };

/**
 * Takes a document out of the trash. Its names stayed taken while it was there, so this
 * normally just clears the mark; should its name have become another document's alias
 * anyway, nothing changes and the answer says so.
 */
export async function restoreDocument(db: Db, documentId: string): Promise<RestoreResult> {
  try {
    return await db.transaction(async (tx): Promise<RestoreResult> => {
      const { rows } = await tx.query<RawDocumentRow>(
        `update documents set deleted_at = null, deleted_by = null where id = $1 and deleted_at is not null returning ${DOCUMENT_COLUMNS}`,
        [documentId],
      );
      const row = rows[0];
      if (!row) return { status: 'not-in-trash' };
      const held = await tx.query('select 1 from document_aliases where name = $1 and document_id <> $2', [row.name, documentId]);
      if (held.rows.length > 0) throw new Refusal('name-taken');
      return { status: 'restored', document: toDocument(row) };
    });
  } catch (error) {
    if (error instanceof Refusal) return { status: 'name-taken' };
    throw error;
  }
}

/**
 * Deletes for good up to `limit` documents that went to the trash before `cutoff`, with their
 * log, versions, research-tree rows and aliases (all cascade). Safe when several instances
 * run it at once: each takes rows the others have not locked (SKIP LOCKED), and a row deleted
 * meanwhile is simply not deleted twice. Returns the ids purged.
 */
export async function purgeTrash(db: Queryable, cutoff: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `delete from documents where id in (
       select id from documents where deleted_at < $1 order by deleted_at limit $2 for update skip locked)
     returning id`,
    [cutoff, limit],
  );
  return rows.map((row) => row.id);
}
