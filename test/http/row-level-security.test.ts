/**
 * Row-level security (migration 007, server/persistence/user-context.ts): the HTTP reads run as
 * `scriptorium_reader` with `app.current_user_id` set, and the policies show a user only
 * rows of their projects and of public projects — even when the handler's own check is
 * skipped. Each test here calls the read functions through `withUserContext` as a handler
 * would, but WITHOUT the handler's authorization (that is the bypass), on PostgreSQL and on
 * PGlite; then one server whose authorizer lets everything through proves the HTTP route
 * itself reads under the user's policies. The writer (the connecting, owning role) sees
 * and writes everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, createUser, listDocuments, listReadableDocuments, setMember } from '../../server/persistence/accounts.js';
import type { Db, Queryable } from '../../server/persistence/db.js';
import { createDocument, DEFAULT_PROJECT_ID, findDocument } from '../../server/persistence/documents.js';
import { listHistory } from '../../server/persistence/history.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { createPgliteDb } from '../../server/persistence/pglite-db.js';
import { readAs, withUserContext } from '../../server/persistence/user-context.js';
import { ProjectAuthorizer } from '../../server/auth/project-authorizer.js';
import { InProcessSessionStore } from '../../server/auth/session-store.js';
import { Tokens } from '../../server/auth/tokens.js';
import type { Authorizer } from '../../server/auth/authorizer.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { logger, makeTempDir } from '../helpers/storage.js';
import { apiClient } from '../helpers/http.js';

interface World {
  users: { alice: string; bob: string; carol: string };
  projects: { alice: string; bob: string; public: string; institution: string };
  documents: { alice: string; bob: string; public: string; institution: string };
}

const NAMES = { alice: 'rls/alice paper', bob: 'rls/bob paper', public: 'rls/public paper', institution: 'rls/institution paper' } as const;

/**
 * alice owns a private project, bob another private one, a public one and an
 * 'institution' one (not readable by non-members: ProjectAuthorizer does not grant it);
 * carol is in nothing. Each project has one document with two log rows, one version and,
 * for the trees table, one projection row. Written as the owner role (the writer).
 */
async function seed(db: Db): Promise<World> {
  const user = async (name: string) => (await createUser(db, { email: `${name}-${crypto.randomUUID()}@example.org`, name }))!.id;
  const users = { alice: await user('alice'), bob: await user('bob'), carol: await user('carol') };
  const project = async (name: string, ownerId: string, visibility: 'private' | 'public' | 'institution') =>
    (await createProject(db, { name, ownerId, visibility }))!.id;
  const projects = {
    alice: await project('alice', users.alice, 'private'),
    bob: await project('bob', users.bob, 'private'),
    public: await project('public', users.bob, 'public'),
    institution: await project('institution', users.bob, 'institution'),
  };
  // bob may read alice's project too (as a viewer): memberships of others must stay hidden from alice.
  expect(await setMember(db, projects.alice, users.bob, 'viewer')).toBe('set');
  const documents = {} as World['documents'];
  for (const key of ['alice', 'bob', 'public', 'institution'] as const) {
    const { document } = await createDocument(db, NAMES[key], key === 'public' ? 'research_tree' : 'paper', projects[key]);
    documents[key] = document.id;
    const author = key === 'alice' ? users.alice : users.bob;
    for (let i = 0; i < 2; i++) {
      await db.query(`insert into collaborations (document_id, user_id, session_id, update, size) values ($1, $2, $3, $4, 2)`, [
        document.id,
        author,
        `session-${key}`,
        new Uint8Array([0, 0]),
      ]);
    }
    await db.query(`insert into document_versions (document_id, version, state, created_by) values ($1, 1, $2, $3)`, [
      document.id,
      new Uint8Array([0, 0]),
      author,
    ]);
    await db.query(`insert into research_trees (project_id, document_id, name) values ($1, $2, $3)`, [
      projects[key],
      document.id,
      NAMES[key],
    ]);
  }
  return { users, projects, documents };
}

const column = async (q: Queryable, sql: string, params: unknown[] = []): Promise<string[]> =>
  (await q.query<{ v: string }>(sql, params)).rows.map((r) => r.v).sort();

function directSuite(kind: string, open: () => Promise<{ db: Db; cleanup(): Promise<void> }>): void {
  describe(`row-level security on ${kind}: reads that skip the handler's check`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    let w: World;
    beforeAll(async () => {
      ({ db, cleanup } = await open());
      await migrateUp(db);
      w = await seed(db);
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    const ours = (...keys: Array<keyof World['documents']>) => keys.map((k) => w.documents[k]).sort();

    it('the writer (the connecting role, which owns the tables) sees every row; RLS is on but not forced', async () => {
      const { rows } = await db.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
        `select relname, relrowsecurity, relforcerowsecurity from pg_class
          where relname in ('projects', 'project_members', 'documents', 'collaborations', 'document_versions', 'research_trees') order by relname`,
      );
      expect(rows).toHaveLength(6);
      expect(rows.every((r) => r.relrowsecurity && !r.relforcerowsecurity)).toBe(true);
      expect(
        await column(db, `select document_id::text as v from collaborations where document_id = any($1::uuid[])`, [
          Object.values(w.documents),
        ]),
      ).toHaveLength(8);
      expect((await listDocuments(db)).map((d) => d.id)).toEqual(expect.arrayContaining(Object.values(w.documents)));
    });

    it('documents: the unfiltered (open-mode) listing shows alice only her and public projects’ documents', async () => {
      const listed = await withUserContext(db, w.users.alice, (tx) => listDocuments(tx));
      expect(listed.map((d) => d.id).sort()).toEqual(ours('alice', 'public'));
      // Filtering on bob's project gives nothing rather than bob's documents.
      expect(await withUserContext(db, w.users.alice, (tx) => listDocuments(tx, { projectId: w.projects.bob }))).toEqual([]);
      // A handler that passed the wrong user id to the listing still cannot widen alice's view.
      const wrongUser = await withUserContext(db, w.users.alice, (tx) => listReadableDocuments(tx, w.users.bob));
      expect(wrongUser.map((d) => d.id).sort()).toEqual(ours('public'));
      expect(await withUserContext(db, w.users.alice, (tx) => findDocument(tx, NAMES.bob))).toBeNull();
      expect(await withUserContext(db, w.users.alice, (tx) => findDocument(tx, NAMES.alice))).toMatchObject({ id: w.documents.alice });
      // bob is a viewer of alice's project, so he sees it; the institution project is his own.
      const bobs = await withUserContext(db, w.users.bob, (tx) => listDocuments(tx));
      expect(bobs.map((d) => d.id).sort()).toEqual(ours('alice', 'bob', 'public', 'institution'));
    });

    it('history (collaborations): another project’s log is empty, not leaked', async () => {
      expect(await withUserContext(db, w.users.alice, (tx) => listHistory(tx, NAMES.bob))).toEqual([]);
      expect(await withUserContext(db, w.users.alice, (tx) => listHistory(tx, NAMES.institution))).toEqual([]);
      expect(await withUserContext(db, w.users.alice, (tx) => listHistory(tx, NAMES.alice))).toHaveLength(2);
      expect(await withUserContext(db, w.users.alice, (tx) => listHistory(tx, NAMES.public))).toHaveLength(2);
      // The same rows as the owner sees them: the policy hides, it does not alter.
      expect(await listHistory(db, NAMES.bob)).toHaveLength(2);
      // A raw read of the whole log.
      const logged = await withUserContext(db, w.users.alice, (tx) =>
        column(tx, 'select distinct document_id::text as v from collaborations'),
      );
      expect(logged).toEqual(ours('alice', 'public'));
    });

    it('projects and memberships: only the user’s own projects, public ones, and their own membership rows', async () => {
      const projects = await withUserContext(db, w.users.alice, (tx) => column(tx, 'select id::text as v from projects'));
      expect(projects).toEqual([w.projects.alice, w.projects.public, DEFAULT_PROJECT_ID].sort());
      const members = await withUserContext(db, w.users.alice, (tx) => column(tx, 'select user_id::text as v from project_members'));
      expect(members).toEqual([w.users.alice]);
    });

    it('versions and research-tree projections follow their project', async () => {
      const versions = await withUserContext(db, w.users.alice, (tx) => column(tx, 'select document_id::text as v from document_versions'));
      expect(versions).toEqual(ours('alice', 'public'));
      const trees = await withUserContext(db, w.users.alice, (tx) => column(tx, 'select document_id::text as v from research_trees'));
      expect(trees).toEqual(ours('alice', 'public'));
    });

    it('a user in no project sees public projects only', async () => {
      expect((await withUserContext(db, w.users.carol, (tx) => listDocuments(tx))).map((d) => d.id)).toEqual(ours('public'));
      expect(await withUserContext(db, w.users.carol, (tx) => column(tx, 'select user_id::text as v from project_members'))).toEqual([]);
    });

    it('the context is read-only and confined to its transaction', async () => {
      const insert = (tx: Queryable) =>
        tx.query(`insert into collaborations (document_id, session_id, update, size) values ($1, 'x', '\\x00', 1)`, [w.documents.alice]);
      await expect(withUserContext(db, w.users.alice, insert)).rejects.toMatchObject({ code: '25006' }); // read-only transaction
      // ...and the role could not write anyway: it holds SELECT only.
      const inside = await withUserContext(db, w.users.alice, (tx) =>
        tx.query<{ role: string; user: string; writes: boolean }>(
          `select current_user as role, current_setting('app.current_user_id') as "user",
                  has_table_privilege(current_user, 'collaborations', 'insert, update, delete') as writes`,
        ),
      );
      expect(inside.rows[0]).toEqual({ role: 'scriptorium_reader', user: w.users.alice, writes: false });
      await expect(withUserContext(db, 'not-a-uuid', () => Promise.resolve())).rejects.toMatchObject({ code: '22P02' });
      await expect(withUserContext(db, w.users.alice, () => Promise.reject(new Error('handler failed')))).rejects.toThrow('handler failed');
      // Afterwards the connection (PGlite has one; the pool here has one) is the owner again.
      const after = await db.query<{ role: string; user: string | null }>(
        `select current_user as role, current_setting('app.current_user_id', true) as "user"`,
      );
      expect(after.rows[0]?.role).not.toBe('scriptorium_reader');
      expect(after.rows[0]?.user ?? '').toBe('');
      expect(await listHistory(db, NAMES.bob)).toHaveLength(2);
    });

    it('open mode (no user) reads on the Db as is: no role switch, everything visible', async () => {
      const listed = await readAs(db, null, (q) => listDocuments(q));
      expect(listed.map((d) => d.id)).toEqual(expect.arrayContaining(Object.values(w.documents)));
      expect((await readAs(db, w.users.alice, (q) => listDocuments(q))).map((d) => d.id).sort()).toEqual(ours('alice', 'public'));
    });
  });
}

let pgDatabase: TestDatabase | undefined;
directSuite('PostgreSQL', async () => {
  pgDatabase = await createTestDatabase('rls');
  // One connection: the "confined to its transaction" test then reads on the very connection the context used.
  const db = createPgDb({ connectionString: pgDatabase.url, logger, max: 1 });
  return { db, cleanup: async () => pgDatabase?.drop() };
});

directSuite('PGlite (superuser postgres)', async () => {
  const tmp = await makeTempDir('rls');
  const db = await createPgliteDb({ dataDir: tmp.dir, logger });
  return { db, cleanup: tmp.remove };
});

describe('row-level security through HTTP, with an authorizer that lets everything through', () => {
  const SECRET = 'test-secret-http-rls-0123456789abcdef';
  const ADMIN = 'admin-http-rls-0123456789abcdef';
  let database: TestDatabase;
  let db: Db;
  let server: RunningServer;
  let w: World;
  const api = apiClient(() => server.port);

  beforeAll(async () => {
    database = await createTestDatabase('httprls');
    db = createPgDb({ connectionString: database.url, logger });
    await migrateUp(db);
    w = await seed(db);
    const sessions = new InProcessSessionStore();
    const real = new ProjectAuthorizer(db, new Tokens(SECRET), sessions);
    // The bug RLS defends against: authentication is real, the document check grants everything.
    const broken: Authorizer = {
      authenticate: (token) => real.authenticate(token),
      revalidate: (principal) => real.revalidate(principal),
      authorize: (principal) => Promise.resolve({ ...principal, scope: 'readonly', create: null }),
    };
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'durable',
        databaseUrl: database.url,
        authSecret: SECRET,
        adminToken: ADMIN,
        transport: 'ws',
        logLevel: 'silent',
      },
      authorizer: broken,
      sessions,
    });
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
    await database?.drop();
  });

  it('alice gets an empty history for bob’s document and her own in full', async () => {
    const minted = await api<{ token: string }>('POST', '/api/admin/tokens', { token: ADMIN, body: { userId: w.users.alice } });
    expect(minted.status).toBe(201);
    const token = minted.body.token;
    const history = (name: string) =>
      api<{ entries: Array<{ position: number }> }>('GET', `/api/documents/${encodeURIComponent(name)}/history`, { token });

    const leaked = await history(NAMES.bob);
    expect(leaked.status).toBe(200); // the broken check let it through...
    expect(leaked.body.entries).toEqual([]); // ...and the database showed nothing
    expect((await history(NAMES.alice)).body.entries).toHaveLength(2);

    const listed = await api<Array<{ id: string }>>('GET', '/api/documents', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.map((d) => d.id).sort()).toEqual([w.documents.alice, w.documents.public].sort());
  });
});
