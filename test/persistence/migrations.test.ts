import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/persistence/db.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { createPgliteDb } from '../../server/persistence/pglite-db.js';
import { defaultMigrationsDir, loadMigrations, migrateDown, migrateUp, migrationStatus } from '../../server/persistence/migrations.js';
import { createTestDatabase, logger, makeTempDir, type TestDatabase } from '../helpers/storage.js';

const TABLES = [
  'audit_logs',
  'collaborations',
  'document_aliases',
  'document_versions',
  'documents',
  'institutions',
  'project_members',
  'projects',
  'research_trees',
  'revoked_sessions',
  'users',
  'webhook_changes',
  'webhook_deliveries',
  'webhook_documents',
  'webhooks',
];

/** Tables created by migrations 007 and later (010: revoked_sessions; 012: the webhooks'; 013: document_aliases). */
const TABLES_SINCE_007 = new Set([
  'revoked_sessions',
  'webhook_changes',
  'webhook_deliveries',
  'webhook_documents',
  'webhooks',
  'document_aliases',
]);

/** Row-level security (migration 007): one SELECT policy for the reader role per table the HTTP reads touch. */
const POLICIES = [
  'collaborations.collaborations_reader',
  'document_aliases.document_aliases_reader',
  'document_versions.document_versions_reader',
  'documents.documents_reader',
  'project_members.project_members_reader',
  'projects.projects_reader',
  'research_trees.research_trees_reader',
];

async function policies(db: Db): Promise<{ policies: string[]; rlsTables: string[]; readerGrants: string[] }> {
  const listed = await db.query<{ name: string }>(
    `select tablename || '.' || policyname as name from pg_policies where schemaname = 'public' order by 1`,
  );
  const rls = await db.query<{ relname: string }>(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and c.relrowsecurity order by 1`,
  );
  const grants = await db.query<{ table_name: string }>(
    `select table_name from information_schema.role_table_grants
      where grantee = 'scriptorium_reader' and table_schema = 'public' order by 1`,
  );
  return {
    policies: listed.rows.map((r) => r.name),
    rlsTables: rls.rows.map((r) => r.relname),
    readerGrants: grants.rows.map((r) => r.table_name),
  };
}

const RLS_TABLES = POLICIES.map((p) => p.split('.')[0]!);

async function userTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables
      where table_schema = 'public' and table_name <> 'schema_migrations' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

function suite(kind: string, open: () => Promise<{ db: Db; cleanup(): Promise<void> }>): void {
  describe(`migrations on ${kind}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await open());
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    it('up, down all, up again', async () => {
      const files = await loadMigrations();
      const versions = files.map((m) => m.version);
      expect(versions.length).toBeGreaterThanOrEqual(3);

      expect(await migrateUp(db)).toEqual(versions);
      expect(await userTables(db)).toEqual(TABLES);
      expect(await policies(db)).toEqual({ policies: POLICIES, rlsTables: RLS_TABLES, readerGrants: RLS_TABLES });
      expect(await migrateUp(db)).toEqual([]); // idempotent
      const status = await migrationStatus(db);
      expect(status.every((s) => s.appliedAt instanceof Date && !s.missingFile)).toBe(true);

      // rollback_sql is stored with each applied migration
      const { rows } = await db.query<{ version: number; rollback_sql: string }>(
        'select version, rollback_sql from schema_migrations order by version',
      );
      expect(rows.map((r) => r.rollback_sql)).toEqual(files.map((m) => m.downSql));

      // the open-mode project is seeded
      const seeded = await db.query('select 1 from projects where id = $1', ['00000000-0000-4000-8000-000000000001']);
      expect(seeded.rows).toHaveLength(1);

      // Down to 006: every migration from 007 on rolled back, newest first.
      const from007 = versions.filter((v) => v >= 7).reverse();
      expect(await migrateDown(db, from007.length)).toEqual(from007);
      // 007's down: no policy, no row-level security, no grant left; the cluster-wide role stays.
      expect(await policies(db)).toEqual({ policies: [], rlsTables: [], readerGrants: [] });
      expect((await db.query(`select 1 from pg_roles where rolname = 'scriptorium_reader'`)).rows).toHaveLength(1);
      // Down to 006 also drops the tables of later migrations.
      expect(await userTables(db)).toEqual(TABLES.filter((table) => !TABLES_SINCE_007.has(table)));
      expect(await migrateDown(db, 100)).toEqual(versions.filter((v) => v < 7).reverse());
      expect(await userTables(db)).toEqual([]);
      expect((await migrationStatus(db)).every((s) => s.appliedAt === null)).toBe(true);
      expect(await migrateDown(db, 1)).toEqual([]);

      expect(await migrateUp(db)).toEqual(versions);
      expect(await userTables(db)).toEqual(TABLES);
      // Up again finds the role that the down left and reuses it.
      expect(await policies(db)).toEqual({ policies: POLICIES, rlsTables: RLS_TABLES, readerGrants: RLS_TABLES });
    });

    it('concurrent runners apply each migration once', async () => {
      await migrateDown(db, 100);
      const results = await Promise.all([migrateUp(db), migrateUp(db), migrateUp(db)]);
      const all = results.flat().sort((a, b) => a - b);
      expect(all).toEqual((await loadMigrations()).map((m) => m.version));
    });
  });
}

let pgDatabase: TestDatabase | undefined;
suite('PostgreSQL', async () => {
  pgDatabase = await createTestDatabase('migrations');
  const db = createPgDb({ connectionString: pgDatabase.url, logger });
  return { db, cleanup: async () => pgDatabase?.drop() };
});

suite('PGlite', async () => {
  const tmp = await makeTempDir('migrations');
  const db = await createPgliteDb({ dataDir: tmp.dir, logger });
  return { db, cleanup: tmp.remove };
});

describe('migration files', () => {
  it('are found from source and every one has a down migration', async () => {
    expect(defaultMigrationsDir()).toMatch(/schema[\\/]migrations$/);
    const migrations = await loadMigrations();
    for (const m of migrations) {
      expect(m.upSql.trim().length).toBeGreaterThan(0);
      expect(m.downSql.trim().length).toBeGreaterThan(0);
    }
  });
});
