/** Shared fixtures for the persistence tests: throwaway databases, Yjs writers, listeners. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import * as Y from 'yjs';
import type { Db, Queryable, QueryResult } from '../../persistence/db.js';
import type { CommitListener } from '../../persistence/storage.js';

/** Maintenance connection of the shared test server (trust auth). */
export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named database on the shared server; drop() removes it. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `scr_test_${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `scr-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A Yjs client that produces one update per call, each setting a unique key in
 * the map "items". Updates of one writer depend on each other (consecutive
 * clocks), so a single missing update also hides every later one of that writer.
 */
export class ItemWriter {
  readonly doc = new Y.Doc();
  private readonly items = this.doc.getMap<number>('items');
  private last: Uint8Array | undefined;
  private n = 0;

  constructor(readonly tag: string) {
    this.doc.on('update', (update: Uint8Array) => {
      this.last = update;
    });
  }

  next(): { key: string; update: Uint8Array } {
    const key = `${this.tag}:${this.n++}`;
    this.items.set(key, this.n);
    const update = this.last;
    if (!update) throw new Error('no update produced');
    this.last = undefined;
    return { key, update };
  }
}

/** Keys present in the "items" map of a state (null state: none). */
export function itemKeys(state: Uint8Array | null): Set<string> {
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  return new Set(doc.getMap('items').keys());
}

/** Records committed() calls. */
export class CountingListener implements CommitListener {
  total = 0;
  calls: number[] = [];
  committed(count: number): void {
    this.total += count;
    this.calls.push(count);
  }
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wraps a Db and counts statements sent outside transactions, by SQL prefix. */
export function countingDb(inner: Db): Db & { statements: string[] } {
  const statements: string[] = [];
  return {
    kind: inner.kind,
    statements,
    query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      statements.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
      return inner.query<T>(sql, params);
    },
    exec: (sql: string) => inner.exec(sql),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => inner.transaction(fn),
    close: () => inner.close(),
  };
}
