/** MemoryStorage follows the same contract as DurableStorage, minus the database. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import { DocumentGoneError } from '../../server/persistence/storage.js';
import { CountingListener, ItemWriter, itemKeys } from '../helpers/storage.js';

describe('MemoryStorage', () => {
  it('find / create / load, refusal after deletion, stats, close', async () => {
    const storage = new MemoryStorage();
    expect(await storage.find('m')).toBeNull();
    expect(await storage.find('m')).toBeNull(); // find never creates
    const ref = await storage.create('m', { kind: 'research_tree' });
    expect(ref).toMatchObject({ name: 'm', kind: 'research_tree', projectId: DEFAULT_PROJECT_ID });
    expect(await storage.create('m', { kind: 'paper', projectId: 'elsewhere' })).toBe(ref);
    expect(await storage.find('m')).toBe(ref);
    expect(await storage.load(ref)).toEqual({ ...ref, state: null });

    const writer = new ItemWriter('m');
    const listener = new CountingListener();
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { key, update } = writer.next();
      keys.push(key);
      expect(storage.admits(update.byteLength)).toBe(true);
      storage.append(ref.id, update, { userId: null, sessionId: 's' }, listener);
    }
    expect(listener.total).toBe(3);
    expect([...itemKeys((await storage.load(ref)).state)].sort()).toEqual(keys.sort());

    expect(storage.delete('m')).toBe(true);
    await expect(storage.load(ref)).rejects.toBeInstanceOf(DocumentGoneError);
    const meta = { userId: null, sessionId: 's' };
    storage.append(ref.id, writer.next().update, meta, listener);
    expect(listener.refusals).toHaveLength(1);
    expect(listener.refusals[0]?.meta).toBe(meta);
    expect(listener.refusals[0]?.error).toBeInstanceOf(DocumentGoneError);
    expect(storage.stats).toMatchObject({
      committedRows: 3,
      refusedRows: 1,
      pending: 0,
      pendingBytes: 0,
      rejectedFull: 0,
      quarantinedRows: 0,
    });
    expect(await storage.close(0)).toBe(true);
  });
});
