/** Looking up and creating rows in `documents`. */
import type { DocumentKind } from '../http/api-types.js';
import type { Queryable } from './db.js';

/** Project that open-mode documents belong to (seeded by migration 003). */
export const DEFAULT_PROJECT_ID = '00000000-0000-4000-8000-000000000001';

/** Declared with the API's types (the web client's too); the `documents.kind` check lists the same. */
export type { DocumentKind };

export interface DocumentRow {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly kind: DocumentKind;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface RawDocumentRow {
  id: string;
  name: string;
  project_id: string;
  kind: DocumentKind;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, project_id, kind, created_at, updated_at';

function toDocument(row: RawDocumentRow): DocumentRow {
  return {
    id: row.id,
    name: row.name,
    projectId: row.project_id,
    kind: row.kind,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findDocument(db: Queryable, name: string): Promise<DocumentRow | null> {
  const { rows } = await db.query<RawDocumentRow>(`select ${COLUMNS} from documents where name = $1`, [name]);
  return rows[0] ? toDocument(rows[0]) : null;
}

export interface CreatedDocument {
  readonly document: DocumentRow;
  /** False when a document of that name already existed (it is returned unchanged). */
  readonly created: boolean;
}

/**
 * Creates the document in `projectId`, or returns the existing one of that name.
 * Safe when several instances create the same name at once (unique name): the
 * insert does nothing for all but one, and the others read the winner's row.
 */
export async function createDocument(
  db: Queryable,
  name: string,
  kind: DocumentKind,
  projectId: string = DEFAULT_PROJECT_ID,
): Promise<CreatedDocument> {
  const { rows } = await db.query<RawDocumentRow>(
    `insert into documents (project_id, name, kind) values ($1, $2, $3)
     on conflict (name) do nothing returning ${COLUMNS}`,
    [projectId, name, kind],
  );
  if (rows[0]) return { document: toDocument(rows[0]), created: true };
  const existing = await findDocument(db, name);
  // Deleted between our insert and this read: rare enough to report rather than loop.
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
                     (select c.created_at from collaborations c where c.document_id = d.id order by c.position desc limit 1)) as updated_at
       from documents d where d.id = $1`,
    [documentId],
  );
  return rows[0]?.updated_at ?? null;
}
