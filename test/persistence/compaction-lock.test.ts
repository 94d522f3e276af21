/**
 * DurableStorage with a compaction lock (`locks`, the server's Locks): with several
 * instances one at a time compacts a document; a document locked elsewhere is skipped
 * (the compare-and-set keeps compaction correct either way, the lock saves duplicate work).
 * Without the option nothing changes. On PGlite: the logic does not depend on the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocumentState } from '../../server/persistence/compaction.js';
import type { Db, QueryResult } from '../../server/persistence/db.js';
import { DurableStorage } from '../../server/persistence/durable-storage.js';
import { openStorage } from '../../server/persistence/open-storage.js';
import { InProcessLocks, UNLOCKED, type Locks } from '../../server/cluster/locks.js';
import { CountingListener, ItemWriter, itemKeys, logger, makeTempDir, openDocument } from '../helpers/storage.js';

const meta = { userId: null, sessionId: 's1' };

describe('DurableStorage compaction lock', () => {
  let db: Db;
  let base: DurableStorage;
  let remove: () => Promise<void>;
  const opened: DurableStorage[] = [];
  const storage = (options: ConstructorParameters<typeof DurableStorage>[1] = {}) => {
    const s = new DurableStorage(db, { logger, ...options });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    const tmp = await makeTempDir('compaction-lock');
    remove = tmp.remove;
    ({ db, storage: base } = await openStorage({ dataDir: tmp.dir, logger }));
  });
  afterAll(async () => {
    for (const s of opened) await s.close(10_000);
    await base?.close(10_000);
    await remove?.();
  });

  /** Opens a document on `s` and commits `count` updates to it; returns its id and keys. */
  const written = async (s: DurableStorage, name: string, count = 5) => {
    const doc = await openDocument(s, name);
    const writer = new ItemWriter(name);
    const keys: string[] = [];
    const listener = new CountingListener();
    for (let i = 0; i < count; i++) {
      const { key, update } = writer.next();
      keys.push(key);
      s.append(doc.id, update, meta, listener);
    }
    await s.flush();
    expect(listener.total).toBe(count);
    return { id: doc.id, keys };
  };
  const tailRows = async (id: string) => (await loadDocumentState(db, id, 0))?.tailRows;

  it('without locks, the compaction queued on release runs (unchanged)', async () => {
    const s = storage();
    const { id } = await written(s, 'no-locks');
    expect(await tailRows(id)).toBe(5);
    await s.release(id);
    expect(await tailRows(id)).toBe(0);
  });

  it('skips the compaction while another instance holds the lock, runs it once free, and frees the lock after', async () => {
    const locks = new InProcessLocks(); // shared by "both instances"
    const s = storage({ locks });
    const { id, keys } = await written(s, 'locked-elsewhere');

    const elsewhere = await locks.acquire(id);
    expect(elsewhere).not.toBeNull();
    await s.release(id);
    expect(await tailRows(id)).toBe(5); // skipped: nothing folded
    expect(await locks.acquire(id)).toBeNull(); // and the other holder's lock untouched

    await elsewhere!.release();
    const again = await openDocument(s, 'locked-elsewhere');
    expect([...itemKeys(again.state)].sort()).toEqual([...keys].sort()); // nothing lost either way
    await s.release(id);
    expect(await tailRows(id)).toBe(0); // compacted under the lock...
    const after = await locks.acquire(id); // ...which it gave back
    expect(after).not.toBeNull();
    await after!.release();
  });

  it('two instances sharing the lock: documents of the same queue are locked one by one', async () => {
    const acquired: string[] = [];
    const released: string[] = [];
    const recordingLocks: Locks = {
      async acquire(documentId) {
        acquired.push(documentId);
        return { ...UNLOCKED, release: async () => void released.push(documentId) };
      },
    };
    const s = storage({ locks: recordingLocks });
    const one = await written(s, 'queue-one', 2);
    const two = await written(s, 'queue-two', 2);
    await Promise.all([s.release(one.id), s.release(two.id)]);
    expect(acquired.sort()).toEqual([one.id, two.id].sort());
    expect(released.sort()).toEqual([one.id, two.id].sort());
    expect(await tailRows(one.id)).toBe(0);
    expect(await tailRows(two.id)).toBe(0);
  });

  it('releases the lock when the compaction fails, and compacts without it when the lock cannot be asked for', async () => {
    const locks = new InProcessLocks();
    let failing = false;
    const flaky: Db = {
      kind: db.kind,
      query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
        if (failing && sql.trimStart().startsWith('select encode(substring(d.state'))
          return Promise.reject(new Error('database went away'));
        return db.query<T>(sql, params);
      },
      exec: (sql) => db.exec(sql),
      transaction: (fn) => db.transaction(fn),
      close: async () => {},
    };
    const s = storage({ locks });
    const failed = new DurableStorage(flaky, { logger, locks });
    opened.push(failed);
    const { id } = await written(s, 'compaction-fails');
    const ref = (await s.find('compaction-fails'))!;
    await failed.load(ref);
    failing = true;
    await failed.release(id); // the compaction fails (logged) ...
    failing = false;
    expect(await tailRows(id)).toBe(5);
    const free = await locks.acquire(id); // ... and its lock was given back
    expect(free).not.toBeNull();
    await free!.release();

    const broken = storage({ locks: { acquire: () => Promise.reject(new Error('lock service broke')) } });
    await broken.load(ref);
    await broken.release(id);
    expect(await tailRows(id)).toBe(0);
  });

  it('openStorage passes the option through', async () => {
    const tmp = await makeTempDir('compaction-lock-open');
    const locks = new InProcessLocks();
    const { storage: s } = await openStorage({ dataDir: tmp.dir, logger, locks });
    try {
      const { id } = await written(s, 'through-open');
      const elsewhere = (await locks.acquire(id))!;
      await s.release(id);
      expect((await loadDocumentState(s.db, id, 0))?.tailRows).toBe(5);
      await elsewhere.release();
      await s.release(id);
      expect((await loadDocumentState(s.db, id, 0))?.tailRows).toBe(0);
    } finally {
      await s.close(10_000);
      await tmp.remove();
    }
  });
});
