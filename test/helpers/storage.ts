/** Shared fixtures for the persistence tests: throwaway databases, Yjs writers, listeners. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import * as Y from 'yjs';
import type { Db, Queryable, QueryResult } from '../../server/persistence/db.js';
import type { AppendMeta, CommitListener, DocumentStorage, StoredDocument } from '../../server/persistence/storage.js';

export { ADMIN_URL, createTestDatabase, type TestDatabase } from './databases.js';

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

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

/** Records committed() and refused() calls; `events` keeps their order ("c<count>", "r"). */
export class CountingListener implements CommitListener {
  total = 0;
  calls: number[] = [];
  refusals: { meta: AppendMeta; error: Error; at: number }[] = [];
  events: string[] = [];
  committed(count: number): void {
    this.total += count;
    this.calls.push(count);
    this.events.push(`c${count}`);
  }
  refused(meta: AppendMeta, error: Error): void {
    this.refusals.push({ meta, error, at: performance.now() });
    this.events.push('r');
  }
  /** Updates reported either way. */
  get reported(): number {
    return this.total + this.refusals.length;
  }
}

/** What a room does to open a document in open mode: create (or find) it, then load it. */
export async function openDocument(storage: DocumentStorage, name: string): Promise<StoredDocument> {
  return storage.load(await storage.create(name, { kind: 'paper' }));
}

export { sleep, waitFor } from './wait.js';

/** Wraps a Db and records the statements sent outside transactions, whitespace collapsed. */
export function countingDb(inner: Db): Db & { statements: string[] } {
  const statements: string[] = [];
  return {
    kind: inner.kind,
    statements,
    query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      statements.push(sql.trim().split(/\s+/).join(' '));
      return inner.query<T>(sql, params);
    },
    exec: (sql: string) => inner.exec(sql),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => inner.transaction(fn),
    close: () => inner.close(),
  };
}
