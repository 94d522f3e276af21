/**
 * The research-tree projection in SQL: `research_trees` rows, one per tree version of a
 * research-tree document, so the platform can query trees (`structure` is the rendered
 * `{nodes, edges, roots}`, JSONB).
 *
 * Rows of one document form a chain: version 1, 2, … each with `parent_version_id` the row
 * before it. The row with the highest version is the live one; edits update it in place
 * (`writeLiveTree`). Taking a document version (`takeTreeVersion`) writes the version's tree
 * into the live row, which freezes it as that version's record, and starts the next live row
 * (version + 1, parent = the frozen row) with the same tree.
 *
 * Correct without any lock (the document lock only saves duplicate work):
 * - a live write is a compare-and-set on the row's `revision`, and is skipped when the
 *   stored `source_snapshot` already covers the writer's state (another instance wrote a
 *   newer or equal tree): a slow writer never puts an older tree back;
 * - freezing locks the live row (`for update`), and (document_id, version) is unique, so two
 *   concurrent writers cannot both extend the chain from the same row: the loser retries.
 * The caller decides "covers" (Yjs snapshots, server/documents/snapshot-covers.ts): this
 * module stores bytes and knows nothing of Yjs.
 */
import { sqlState, type Db, type Queryable } from '../persistence/db.js';

/** What one write stores: the rendered tree and the Yjs snapshot it was rendered from. */
export interface TreeProjectionInput {
  /** JSON-serialisable `{nodes, edges, …}`. */
  readonly structure: unknown;
  readonly snapshot: Uint8Array;
  /** True when the stored snapshot already holds everything `snapshot` does (skip the write). */
  readonly storedCovers: (stored: Uint8Array | null) => boolean;
}

export interface TreeProjectionRow {
  readonly id: string;
  readonly version: number;
  readonly parentVersionId: string | null;
  readonly structure: unknown;
  readonly revision: number;
  readonly sourceSnapshot: Uint8Array | null;
}

/**
 * - `written`: the live row now holds this tree (inserted when the document had none);
 * - `unchanged`: the live row already held this state or a newer one;
 * - `no-document`: no such document (deleted meanwhile).
 */
export type LiveTreeResult = 'written' | 'unchanged' | 'no-document';

/** Compare-and-set attempts before giving up for now (each loss means another writer progressed). */
const ATTEMPTS = 5;

/** The live row (highest version) of a document, or null. */
export async function readLiveTree(db: Queryable, documentId: string): Promise<TreeProjectionRow | null> {
  const { rows } = await db.query<RowFields>(
    `select id, version, parent_version_id, structure, revision, source_snapshot
       from research_trees where document_id = $1 order by version desc limit 1`,
    [documentId],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

/** Every row of a document's chain, oldest first. */
export async function readTreeVersions(db: Queryable, documentId: string): Promise<TreeProjectionRow[]> {
  const { rows } = await db.query<RowFields>(
    `select id, version, parent_version_id, structure, revision, source_snapshot
       from research_trees where document_id = $1 order by version`,
    [documentId],
  );
  return rows.map(toRow);
}

/** Updates the live row with a tree rendered after edits (inserts version 1 when there is none). */
export async function writeLiveTree(db: Queryable, documentId: string, input: TreeProjectionInput): Promise<LiveTreeResult> {
  const structure = JSON.stringify(input.structure);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const live = await db.query<{ id: string; revision: number; source_snapshot: Uint8Array | null }>(
      `select id, revision, source_snapshot from research_trees where document_id = $1 order by version desc limit 1`,
      [documentId],
    );
    const row = live.rows[0];
    if (!row) {
      const inserted = await insertFirst(db, documentId, structure, input.snapshot);
      if (inserted !== 'conflict') return inserted;
      continue;
    }
    if (input.storedCovers(row.source_snapshot)) return 'unchanged';
    const { rows } = await db.query(
      `update research_trees
          set structure = $2::jsonb, source_snapshot = $3, revision = revision + 1, updated_at = now()
        where id = $1 and revision = $4
       returning id`,
      [row.id, structure, input.snapshot, row.revision],
    );
    if (rows.length === 1) return 'written';
  }
  throw new TreeProjectionConflictError(`research_trees of ${documentId}: still contended after ${ATTEMPTS} attempts`);
}

export interface TakenTreeVersion {
  /** The row that now records the version (frozen). */
  readonly frozen: TreeProjectionRow;
  /** The new live row (frozen.version + 1). */
  readonly live: TreeProjectionRow;
}

/**
 * A document version was taken: the live row gets the version's tree and is frozen; a new
 * live row follows it. Null when the document does not exist.
 */
export async function takeTreeVersion(
  db: Db,
  documentId: string,
  input: Pick<TreeProjectionInput, 'structure' | 'snapshot'>,
): Promise<TakenTreeVersion | null> {
  const structure = JSON.stringify(input.structure);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const live = await tx.query<{ id: string; version: number }>(
          `select id, version from research_trees where document_id = $1 order by version desc limit 1 for update`,
          [documentId],
        );
        let frozen: RowFields | undefined;
        if (live.rows[0]) {
          ({
            rows: [frozen],
          } = await tx.query<RowFields>(
            `update research_trees
                set structure = $2::jsonb, source_snapshot = $3, revision = revision + 1, updated_at = now()
              where id = $1
             returning id, version, parent_version_id, structure, revision, source_snapshot`,
            [live.rows[0].id, structure, input.snapshot],
          ));
        } else {
          ({
            rows: [frozen],
          } = await tx.query<RowFields>(
            `insert into research_trees (project_id, document_id, name, structure, version, source_snapshot)
             select project_id, id, name, $2::jsonb, 1, $3 from documents where id = $1
             returning id, version, parent_version_id, structure, revision, source_snapshot`,
            [documentId, structure, input.snapshot],
          ));
        }
        if (!frozen) return null;
        const {
          rows: [next],
        } = await tx.query<RowFields>(
          `insert into research_trees (project_id, document_id, name, structure, version, parent_version_id, source_snapshot)
           select project_id, document_id, name, structure, version + 1, id, source_snapshot from research_trees where id = $1
           returning id, version, parent_version_id, structure, revision, source_snapshot`,
          [frozen.id],
        );
        return { frozen: toRow(frozen), live: toRow(next!) };
      });
    } catch (error) {
      // Another writer extended the chain from the same row first: start again from its row.
      if (sqlState(error) !== '23505') throw error;
    }
  }
  throw new TreeProjectionConflictError(`research_trees of ${documentId}: version still contended after ${ATTEMPTS} attempts`);
}

/** Other writers kept winning; the projection is retried later. */
export class TreeProjectionConflictError extends Error {}

async function insertFirst(
  db: Queryable,
  documentId: string,
  structure: string,
  snapshot: Uint8Array,
): Promise<LiveTreeResult | 'conflict'> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `with doc as (select project_id, id, name from documents where id = $1),
     inserted as (
       insert into research_trees (project_id, document_id, name, structure, version, source_snapshot)
       select project_id, id, name, $2::jsonb, 1, $3 from doc
       on conflict (document_id, version) do nothing
       returning id)
     select exists (select 1 from inserted) as inserted, exists (select 1 from doc) as found`,
    [documentId, structure, snapshot],
  );
  const result = rows[0] as unknown as { inserted: boolean; found: boolean } | undefined;
  if (!result?.found) return 'no-document';
  return result.inserted ? 'written' : 'conflict';
}

interface RowFields {
  id: string;
  version: number;
  parent_version_id: string | null;
  structure: unknown;
  revision: number;
  source_snapshot: Uint8Array | null;
}

function toRow(r: RowFields): TreeProjectionRow {
  return {
    id: r.id,
    version: r.version,
    parentVersionId: r.parent_version_id,
    structure: r.structure,
    revision: Number(r.revision),
    sourceSnapshot: r.source_snapshot,
  };
}
