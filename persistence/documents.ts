/** Looking up and creating rows in `documents`. */
import type { Queryable } from './db.js';

/** Project that open-mode documents belong to (seeded by migration 003). */
export const DEFAULT_PROJECT_ID = '00000000-0000-4000-8000-000000000001';

export type DocumentKind = 'paper' | 'research_tree';

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

/**
 * Returns the document, creating it in `projectId` if it does not exist yet.
 * Safe when several instances create the same name at once (unique name).
 */
export async function ensureDocument(
  db: Queryable,
  name: string,
  projectId: string = DEFAULT_PROJECT_ID,
  kind: DocumentKind = 'paper',
): Promise<DocumentRow> {
  const existing = await findDocument(db, name);
  if (existing) return existing;
  const { rows } = await db.query<RawDocumentRow>(
    `insert into documents (project_id, name, kind) values ($1, $2, $3)
     on conflict (name) do nothing returning ${COLUMNS}`,
    [projectId, name, kind],
  );
  if (rows[0]) return toDocument(rows[0]);
  const raced = await findDocument(db, name);
  if (!raced) throw new Error(`document ${JSON.stringify(name)} vanished while being created`);
  return raced;
}
