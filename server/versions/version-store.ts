/**
 * `document_versions`: full Yjs states of a document, numbered 1, 2, 3… per document,
 * each pointing at the version before it (`parent_version_id`).
 *
 * Race safety rests on two unique constraints, never on a lock: (document_id, version)
 * makes two writers that computed the same next number collide, and
 * (document_id, content_hash) (migration 008) makes the same state impossible to store
 * twice. `insertVersion` inserts with `on conflict do nothing`; when nothing was
 * inserted it tells the two apart: the state is already stored (that version is the
 * answer) or the number was taken (compute it again and retry). A stored version's
 * `version.created` webhook event is written by the same statement.
 */
import type { Queryable } from '../persistence/db.js';
import { versionCreatedSql } from '../webhooks/outbox.js';

export type VersionKind = 'auto' | 'named';

/** A version without its state (lists, answers). */
export interface VersionInfo {
  readonly id: string;
  readonly version: number;
  readonly label: string | null;
  readonly kind: VersionKind;
  /** The version before it (its number), or null for the first. */
  readonly parentVersion: number | null;
  /** `users.id` of who took it (a named version, a restore) or whose edit led to it (auto); null when anonymous. */
  readonly createdBy: string | null;
  readonly createdByName: string | null;
  readonly createdAt: Date;
  /** Bytes of the stored Yjs state. */
  readonly size: number;
  /** Identity of the state (null for rows from before migration 008). */
  readonly hash: Uint8Array | null;
}

export interface StoredVersion extends VersionInfo {
  readonly state: Uint8Array;
}

export interface NewVersion {
  readonly documentId: string;
  readonly kind: VersionKind;
  readonly label: string | null;
  readonly createdBy: string | null;
  readonly state: Uint8Array;
  readonly hash: Uint8Array;
}

export interface InsertedVersion {
  /** The version's row id. */
  readonly id: string;
  /** False when that state was already stored: `id` is the existing version's. */
  readonly created: boolean;
}

interface RawVersion {
  id: string;
  version: number;
  label: string | null;
  kind: VersionKind;
  parent_version: number | null;
  created_by: string | null;
  created_by_name: string | null;
  created_at: Date;
  size: number | null;
  content_hash: Uint8Array | null;
  state?: Uint8Array;
}

const INFO_COLUMNS = `v.id, v.version, v.label, v.kind, p.version as parent_version, v.created_by,
  u.name as created_by_name, v.created_at, coalesce(v.size, octet_length(v.state)) as size, v.content_hash`;
const FROM = `document_versions v
  left join document_versions p on p.id = v.parent_version_id
  left join users u on u.id = v.created_by`;

function toInfo(row: RawVersion): VersionInfo {
  return {
    id: row.id,
    version: row.version,
    label: row.label,
    kind: row.kind,
    parentVersion: row.parent_version,
    createdBy: row.created_by,
    createdByName: row.created_by_name,
    createdAt: row.created_at,
    size: row.size ?? 0,
    hash: row.content_hash,
  };
}

/** The document's newest version (no state), or null when it has none. */
export async function latestVersion(db: Queryable, documentId: string): Promise<VersionInfo | null> {
  const { rows } = await db.query<RawVersion>(
    `select ${INFO_COLUMNS} from ${FROM} where v.document_id = $1 order by v.version desc limit 1`,
    [documentId],
  );
  return rows[0] ? toInfo(rows[0]) : null;
}

const INSERT_VERSION_SQL = `with latest as (
         select id, version from document_versions where document_id = $1 order by version desc limit 1
       ),
       inserted as (
         insert into document_versions (document_id, version, label, state, kind, parent_version_id, created_by, content_hash, size)
         select $1, coalesce((select version from latest), 0) + 1, $2, $3, $4, (select id from latest), $5, $6, $7
         on conflict do nothing
         returning id, document_id, version, label, kind, created_by, created_at
       ),
       ${versionCreatedSql('inserted')}
       select id from inserted`;

const VERSION_WITH_HASH_SQL = `select id from document_versions where document_id = $1 and content_hash = $2`;

/** Numbers taken by concurrent writers in a row before giving up (each retry sees a newer maximum). */
const INSERT_ATTEMPTS = 10;

/** A version (no state) by its row id, or null. */
export async function versionById(db: Queryable, id: string): Promise<VersionInfo | null> {
  const { rows } = await db.query<RawVersion>(`select ${INFO_COLUMNS} from ${FROM} where v.id = $1`, [id]);
  return rows[0] ? toInfo(rows[0]) : null;
}

/**
 * Stores the state as the document's next version (parent: the newest one), unless
 * that state is already stored, in which case the existing version's id is returned with
 * `created: false`. Safe against any number of concurrent writers on any instance.
 */
export async function insertVersion(db: Queryable, input: NewVersion): Promise<InsertedVersion> {
  for (let attempt = 0; attempt < INSERT_ATTEMPTS; attempt++) {
    const { rows } = await db.query<{ id: string }>(INSERT_VERSION_SQL, [
      input.documentId,
      input.label,
      input.state,
      input.kind,
      input.createdBy,
      input.hash,
      input.state.byteLength,
    ]);
    if (rows[0]) return { id: rows[0].id, created: true };
    const existing = await db.query<{ id: string }>(VERSION_WITH_HASH_SQL, [input.documentId, input.hash]);
    if (existing.rows[0]) return { id: existing.rows[0].id, created: false };
    // The number was taken by a concurrent writer (a different state): take the next one.
  }
  throw new Error(`could not number a new version of document ${input.documentId} after ${INSERT_ATTEMPTS} attempts`);
}

/** Gives the version a label and makes it a named version (naming a state that is already stored). */
export async function labelVersion(db: Queryable, id: string, label: string | null, createdBy: string | null): Promise<VersionInfo> {
  await db.query(
    `update document_versions set kind = 'named', label = coalesce($2, label), created_by = coalesce(created_by, $3) where id = $1`,
    [id, label, createdBy],
  );
  const updated = await versionById(db, id);
  if (!updated) throw new Error(`version ${id} vanished while being labelled`);
  return updated;
}

export interface VersionQuery {
  /** Page size (default 100, at most VERSIONS_MAX_LIMIT). */
  readonly limit?: number | undefined;
  /** Only versions numbered below this (the previous page's last one). */
  readonly before?: number | undefined;
}

export const VERSIONS_MAX_LIMIT = 1000;

/** Newest first, without states. */
export async function listVersions(db: Queryable, documentId: string, query: VersionQuery = {}): Promise<VersionInfo[]> {
  const limit = Math.max(1, Math.min(VERSIONS_MAX_LIMIT, Math.trunc(query.limit ?? 100)));
  const before = query.before !== undefined && Number.isFinite(query.before) ? Math.trunc(query.before) : null;
  const { rows } = await db.query<RawVersion>(
    `select ${INFO_COLUMNS} from ${FROM}
      where v.document_id = $1 and ($2::integer is null or v.version < $2::integer)
      order by v.version desc limit $3`,
    [documentId, before, limit],
  );
  return rows.map(toInfo);
}

/** One version with its state, or null. */
export async function readVersion(db: Queryable, documentId: string, version: number): Promise<StoredVersion | null> {
  const { rows } = await db.query<RawVersion>(`select ${INFO_COLUMNS}, v.state from ${FROM} where v.document_id = $1 and v.version = $2`, [
    documentId,
    version,
  ]);
  const row = rows[0];
  return row && row.state ? { ...toInfo(row), state: row.state } : null;
}
