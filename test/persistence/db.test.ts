/** Db conformance: both implementations must behave the same for the SQL we run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../persistence/db.js';
import { isTransientDbError, openDb } from '../../persistence/db.js';
import { createTestDatabase, logger, makeTempDir } from './helpers.js';

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
      expect(isTransientDbError(error)).toBe(false);
      expect((await db.query('select k from u where k = $1', ['before-dup'])).rows).toHaveLength(0);
      // the Db is still usable afterwards
      expect((await db.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
    });

    it('exec runs several statements', async () => {
      await db.exec(`insert into u (k) values ('e1'); insert into u (k) values ('e2');`);
      expect((await db.query(`select k from u where k in ('e1', 'e2')`)).rows).toHaveLength(2);
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

describe('isTransientDbError', () => {
  it('treats connection errors as transient and data errors as permanent', () => {
    expect(isTransientDbError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('shutdown'), { code: '57P01' }))).toBe(true);
    expect(isTransientDbError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error('fk'), { code: '23503' }))).toBe(false);
    expect(isTransientDbError(Object.assign(new Error('bad'), { code: '22P02' }))).toBe(false);
  });
});
