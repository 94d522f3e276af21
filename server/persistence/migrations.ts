/**
 * Migration runner: schema/migrations/NNN_name.sql (up) + NNN_name.down.sql (down).
 *
 * Each migration runs in its own transaction together with its schema_migrations
 * row, which also stores the rollback SQL: `down` executes what was recorded when
 * the migration was applied, so it still works after the files changed or moved.
 * A transaction-scoped advisory lock serialises instances that start at once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../config.js';
import type { Db, Queryable } from './db.js';

export interface Migration {
  readonly version: number;
  /** From the file name: `002_documents.sql` → "documents". */
  readonly description: string;
  readonly upSql: string;
  readonly downSql: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly description: string;
  readonly appliedAt: Date;
}

export interface MigrationStatusEntry {
  readonly version: number;
  readonly description: string;
  /** Null while pending. */
  readonly appliedAt: Date | null;
  /** Applied in the database but no longer present as a file. */
  readonly missingFile: boolean;
}

/** Arbitrary constant shared by every instance: "the migration lock". */
const MIGRATION_LOCK_KEY = 7_262_118_001;

const CREATE_TABLE_SQL = `
create table if not exists schema_migrations (
  version      integer primary key,
  description  text not null,
  applied_at   timestamptz not null default now(),
  rollback_sql text not null
)`;

/** schema/ is not compiled: it is read from the package root, from source and from dist/ alike. */
export function defaultMigrationsDir(): string {
  const dir = path.join(packageRoot(), 'schema', 'migrations');
  if (!existsSync(dir)) throw new Error(`schema/migrations not found (looked in ${dir})`);
  return dir;
}

const FILE_PATTERN = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;

/**
 * Reads and validates the migration files, ordered by version. Read synchronously: this runs
 * at start, when nothing else waits, and a few dozen small files read one by one through the
 * thread pool each wait for a free core on a busy machine.
 */
export async function loadMigrations(dir: string = defaultMigrationsDir()): Promise<Migration[]> {
  const files = new Set(readdirSync(dir));
  const migrations: Migration[] = [];
  for (const file of files) {
    if (file.endsWith('.down.sql')) continue;
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const [, digits = '', name = ''] = match;
    const downFile = `${digits}_${name}.down.sql`;
    if (!files.has(downFile)) throw new Error(`migration ${file} has no ${downFile}`);
    migrations.push({
      version: Number(digits),
      description: name.replace(/_/g, ' '),
      upSql: readFileSync(path.join(dir, file), 'utf8'),
      downSql: readFileSync(path.join(dir, downFile), 'utf8'),
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`two migrations with version ${migrations[i]?.version}`);
    }
  }
  return migrations;
}

async function lockAndReadApplied(tx: Queryable): Promise<Map<number, { description: string; appliedAt: Date; rollbackSql: string }>> {
  await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  const { rows } = await tx.query<{ version: number; description: string; applied_at: Date; rollback_sql: string }>(
    'select version, description, applied_at, rollback_sql from schema_migrations order by version',
  );
  return new Map(rows.map((r) => [r.version, { description: r.description, appliedAt: r.applied_at, rollbackSql: r.rollback_sql }]));
}

async function ensureTable(db: Db): Promise<void> {
  // Concurrent "create table if not exists" can still race on the catalog; the
  // advisory lock makes the first start of several instances safe.
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(CREATE_TABLE_SQL);
  });
}

/**
 * True when every one of `migrations` is recorded as applied. Read without the lock: each
 * migration commits together with its row, so a row seen means that migration is complete.
 */
async function allApplied(db: Db, migrations: readonly Migration[]): Promise<boolean> {
  const table = await db.query<{ present: boolean }>(`select to_regclass('schema_migrations') is not null as present`);
  if (!table.rows[0]?.present) return false;
  const { rows } = await db.query<{ version: number }>('select version from schema_migrations');
  const recorded = new Set(rows.map((row) => row.version));
  return migrations.every((migration) => recorded.has(migration.version));
}

/** Applies every pending migration in order; returns the versions applied. */
export async function migrateUp(db: Db, migrations?: readonly Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  // Every start runs this: a current schema costs two reads, not a locked transaction per migration.
  if (await allApplied(db, all)) return [];
  await ensureTable(db);
  const applied: number[] = [];
  for (const migration of all) {
    const did = await db.transaction(async (tx) => {
      const done = await lockAndReadApplied(tx);
      if (done.has(migration.version)) return false; // another instance got there first
      await tx.exec(migration.upSql);
      await tx.query('insert into schema_migrations (version, description, rollback_sql) values ($1, $2, $3)', [
        migration.version,
        migration.description,
        migration.downSql,
      ]);
      return true;
    });
    if (did) applied.push(migration.version);
  }
  return applied;
}

/**
 * Rolls back the `steps` most recently applied migrations (newest first) using
 * their recorded rollback SQL; returns the versions rolled back.
 */
export async function migrateDown(db: Db, steps = 1): Promise<number[]> {
  await ensureTable(db);
  const rolledBack: number[] = [];
  for (let i = 0; i < steps; i++) {
    const version = await db.transaction(async (tx) => {
      const done = await lockAndReadApplied(tx);
      const newest = [...done.keys()].pop();
      if (newest === undefined) return undefined;
      await tx.exec(done.get(newest)?.rollbackSql ?? '');
      await tx.query('delete from schema_migrations where version = $1', [newest]);
      return newest;
    });
    if (version === undefined) break;
    rolledBack.push(version);
  }
  return rolledBack;
}

/** Every known migration (files and database), applied or pending. */
export async function migrationStatus(db: Db, migrations?: readonly Migration[]): Promise<MigrationStatusEntry[]> {
  const all = migrations ?? (await loadMigrations());
  await ensureTable(db);
  const { rows } = await db.query<{ version: number; description: string; applied_at: Date }>(
    'select version, description, applied_at from schema_migrations order by version',
  );
  const applied = new Map(rows.map((r) => [r.version, r]));
  const entries: MigrationStatusEntry[] = all.map((m) => ({
    version: m.version,
    description: m.description,
    appliedAt: applied.get(m.version)?.applied_at ?? null,
    missingFile: false,
  }));
  const known = new Set(all.map((m) => m.version));
  for (const row of rows) {
    if (!known.has(row.version)) {
      entries.push({ version: row.version, description: row.description, appliedAt: row.applied_at, missingFile: true });
    }
  }
  return entries.sort((a, b) => a.version - b.version);
}
