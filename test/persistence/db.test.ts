/** Db conformance: both implementations must behave the same for the SQL we run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/persistence/db.js';
import pg from 'pg';
import { classifyDbError, openDb, sqlState } from '../../server/persistence/db.js';
import { createTestDatabase, logger, makeTempDir, type TestDatabase } from '../helpers/storage.js';

/** The error `run` rejects with (fails the test if it resolves). */
async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected the statement to fail');
}

function conformance(kind: 'postgres' | 'pglite', open: () => Promise<{ db: Db; cleanup(): Promise<void> }>): void {
  describe(`Db conformance: ${kind}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await open());
      await db.exec(`
        create table t (id bigint generated always as identity primary key, b bytea, u uuid, j jsonb, ts timestamptz default now(), n int);
        create table u (k text primary key)`);
    });
    afterAll(async () => {
      await db?.close();
      await db?.close(); // idempotent
      await cleanup?.();
    });

    it('reports its kind', () => {
      expect(db.kind).toBe(kind);
    });

    it('round-trips bytea as Uint8Array, also through bytea[]', async () => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      const { rows } = await db.query<{ id: number; b: Uint8Array }>('insert into t (b) values ($1) returning id, b', [bytes]);
      expect(rows[0]?.b).toBeInstanceOf(Uint8Array);
      expect(Array.from(rows[0]?.b ?? [])).toEqual(Array.from(bytes));
      expect(typeof rows[0]?.id).toBe('number');

      const many = [new Uint8Array([0]), new Uint8Array([]), new Uint8Array([255, 0, 92, 34, 123])];
      const out = await db.query<{ b: Uint8Array; o: number }>(
        'select b, o::int as o from unnest($1::bytea[]) with ordinality as x(b, o) order by o',
        [many],
      );
      expect(out.rows.map((r) => Array.from(r.b))).toEqual(many.map((m) => Array.from(m)));
    });

    it('passes params of every type we use, including nulls in arrays', async () => {
      const { rows } = await db.query<{ u: string | null; j: unknown; n: number; big: number; ts: Date }>(
        `select ($1::uuid[])[2] as u, $2::jsonb as j, $3::int as n, $4::bigint as big, $5::timestamptz as ts`,
        [[null, '00000000-0000-4000-8000-000000000001'], JSON.stringify({ a: [1, 'x'] }), 42, 2 ** 40, new Date('2024-01-02T03:04:05Z')],
      );
      expect(rows[0]?.u).toBe('00000000-0000-4000-8000-000000000001');
      expect(rows[0]?.j).toEqual({ a: [1, 'x'] });
      expect(rows[0]?.n).toBe(42);
      expect(rows[0]?.big).toBe(2 ** 40);
      expect(rows[0]?.ts).toBeInstanceOf(Date);
      expect(rows[0]?.ts.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    });

    it('commits a transaction and returns its value', async () => {
      const value = await db.transaction(async (tx) => {
        await tx.query('insert into u (k) values ($1)', ['committed']);
        return 7;
      });
      expect(value).toBe(7);
      expect((await db.query('select k from u where k = $1', ['committed'])).rows).toHaveLength(1);
    });

    it('rolls a transaction back when the function throws', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query('insert into u (k) values ($1)', ['rolled-back']);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await db.query('select k from u where k = $1', ['rolled-back'])).rows).toHaveLength(0);
    });

    it('rolls back on SQL errors and surfaces SQLSTATE codes', async () => {
      await db.query('insert into u (k) values ($1)', ['dup']);
      const error = await db
        .transaction(async (tx) => {
          await tx.query('insert into u (k) values ($1)', ['before-dup']);
          await tx.query('insert into u (k) values ($1)', ['dup']);
        })
        .catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('23505');
      expect(classifyDbError(error)).toBe('permanent');
      expect((await db.query('select k from u where k = $1', ['before-dup'])).rows).toHaveLength(0);
      // the Db is still usable afterwards
      expect((await db.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
    });

    it('exec runs several statements', async () => {
      await db.exec(`insert into u (k) values ('e1'); insert into u (k) values ('e2');`);
      expect((await db.query(`select k from u where k in ('e1', 'e2')`)).rows).toHaveLength(2);
    });

    it('classifies the errors it really raises', async () => {
      await db.exec(`
        create table parent (id int primary key);
        create table child (p int references parent (id), x int check (x > 0));
        create table base (id int);
        create view on_base as select * from base;`);
      const cases: [string, string, string][] = [
        ['select 1 / 0', '22012', 'permanent'],
        [`select 'x'::int`, '22P02', 'permanent'],
        ['insert into child values (5, 1)', '23503', 'permanent'],
        ['insert into child values (null, -1)', '23514', 'permanent'],
        ['select * from no_such_table', '42P01', 'permanent'],
        ['select no_such_column from base', '42703', 'permanent'],
        ['selec 1', '42601', 'permanent'],
        ['select count(*) from base for update', '0A000', 'permanent'],
        ['drop table base', '2BP01', 'permanent'],
        [`do $$ begin raise exception 'custom'; end $$`, 'P0001', 'unknown'],
      ];
      for (const [sql, code, kind] of cases) {
        const error = await failure(() => db.query(sql));
        expect([sql, sqlState(error)]).toEqual([sql, code]);
        expect([sql, classifyDbError(error)]).toEqual([sql, kind]);
      }
    });

    it('supports the transaction-id functions compaction relies on', async () => {
      const { rows } = await db.query<{ xmin: number; cur: number }>(
        'select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as xmin, pg_current_xact_id()::text::bigint as cur',
      );
      expect(rows[0]?.xmin).toBeGreaterThan(0);
      expect(rows[0]?.cur).toBeGreaterThanOrEqual(rows[0]?.xmin ?? Infinity);
    });
  });
}

conformance('postgres', async () => {
  const database = await createTestDatabase('db');
  const db = await openDb({ databaseUrl: database.url, dataDir: 'unused', logger });
  return { db, cleanup: () => database.drop() };
});

conformance('pglite', async () => {
  const tmp = await makeTempDir('db');
  const db = await openDb({ dataDir: tmp.dir, logger });
  return { db, cleanup: tmp.remove };
});

describe('classifyDbError on a live PostgreSQL (errors PGlite cannot raise)', () => {
  let database: TestDatabase;
  const clients: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: database.url });
    c.on('error', () => undefined); // a terminated backend also emits on the client
    await c.connect();
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    database = await createTestDatabase('classify');
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await database?.drop();
  });

  it('statement timeout, lock not available and a terminated backend are transient', async () => {
    const a = await connect();
    await a.query('create table t (id int primary key)');
    await a.query('insert into t values (1)');

    const timeout = await failure(() => a.query(`set statement_timeout = 50; select pg_sleep(2)`));
    expect([sqlState(timeout), classifyDbError(timeout)]).toEqual(['57014', 'transient']);
    await a.query('set statement_timeout = 0');

    const b = await connect();
    await a.query('begin');
    await a.query('select * from t for update');
    const locked = await failure(() => b.query('select * from t for update nowait'));
    expect([sqlState(locked), classifyDbError(locked)]).toEqual(['55P03', 'transient']);
    await a.query('rollback');

    const victim = await connect();
    const { rows } = await victim.query<{ pid: number }>('select pg_backend_pid() as pid');
    const terminated = failure(() => victim.query('select pg_sleep(5)'));
    await a.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
    const shutdown = await terminated;
    expect([sqlState(shutdown), classifyDbError(shutdown)]).toEqual(['57P01', 'transient']);
    // The connection is gone now: the next statement fails without any SQLSTATE.
    const gone = await failure(() => victim.query('select 1'));
    expect([sqlState(gone), classifyDbError(gone)]).toEqual([undefined, 'transient']);
  });

  it('a refused connection is transient', async () => {
    const url = new URL(database.url);
    url.port = '1';
    const c = new pg.Client({ connectionString: url.toString() });
    const error = await failure(() => c.connect());
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classifyDbError(error)).toBe('transient');
  });
});

describe('classifyDbError by SQLSTATE', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it('follows the documented classes', () => {
    for (const code of ['08006', '08001', '40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '53100', '53200']) {
      expect([code, classifyDbError(withCode(code))]).toEqual([code, 'transient']);
    }
    for (const code of ['22001', '22P02', '23503', '23505', '42501', '42P01', '42703', '54000', '54001', '2BP01', '0A000']) {
      expect([code, classifyDbError(withCode(code))]).toEqual([code, 'permanent']);
    }
    for (const code of ['XX000', 'XX001', 'P0001', '25P02', '58030', '57P04', 'F0000', 'HV000']) {
      expect([code, classifyDbError(withCode(code))]).toEqual([code, 'unknown']);
    }
  });
  it('errors without a SQLSTATE are transient, including five-letter errno codes', () => {
    expect(classifyDbError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyDbError(new Error('timeout exceeded when trying to connect'))).toBe('transient');
    expect(classifyDbError(withCode('ECONNRESET'))).toBe('transient');
    expect(classifyDbError(withCode('EPIPE'))).toBe('transient');
    expect(sqlState(withCode('EPIPE'))).toBeUndefined();
    expect(classifyDbError('not even an error')).toBe('transient');
  });
});
