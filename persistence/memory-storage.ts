import * as Y from 'yjs';
import type { AppendMeta, CommitListener, DocumentStorage, StorageStats, StoredDocument } from './storage.js';

/**
 * In-process storage: updates are "durable" as soon as they are appended. Used by
 * tests and as the in-memory reference in benchmarks (`STORAGE=memory`); it keeps
 * documents across room reloads but not across process restarts.
 */
export class MemoryStorage implements DocumentStorage {
  readonly healthy = true;
  private appended = 0;
  private readonly byName = new Map<string, { id: string; updates: Uint8Array[] }>();
  private readonly byId = new Map<string, { id: string; updates: Uint8Array[] }>();

  /** Every append is its own instant "commit". */
  get stats(): StorageStats {
    return { pending: 0, committedRows: this.appended, committedBatches: this.appended, failedAttempts: 0, droppedRows: 0 };
  }

  async load(name: string): Promise<StoredDocument> {
    let doc = this.byName.get(name);
    if (!doc) {
      doc = { id: crypto.randomUUID(), updates: [] };
      this.byName.set(name, doc);
      this.byId.set(doc.id, doc);
    }
    if (doc.updates.length > 1) doc.updates = [Y.mergeUpdates(doc.updates)];
    return { id: doc.id, name, state: doc.updates[0] ?? null };
  }

  append(documentId: string, update: Uint8Array, _meta: AppendMeta, listener: CommitListener): void {
    this.byId.get(documentId)?.updates.push(update);
    this.appended++;
    listener.committed(1);
  }

  async release(documentId: string): Promise<void> {
    const doc = this.byId.get(documentId);
    if (doc && doc.updates.length > 1) doc.updates = [Y.mergeUpdates(doc.updates)];
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}
