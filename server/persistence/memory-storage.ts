import * as Y from 'yjs';
import { DEFAULT_PROJECT_ID } from './documents.js';
import {
  DocumentGoneError,
  type AppendMeta,
  type CommitListener,
  type CreateDocumentOptions,
  type DocumentRef,
  type DocumentStorage,
  type StorageStats,
  type StoredDocument,
} from './storage.js';

interface MemoryDocument {
  readonly ref: DocumentRef;
  updates: Uint8Array[];
}

/**
 * In-process storage: updates are "durable" as soon as they are appended. Used by
 * tests and as the in-memory reference in benchmarks (`STORAGE=memory`); it keeps
 * documents across room reloads but not across process restarts.
 */
export class MemoryStorage implements DocumentStorage {
  readonly healthy = true;
  private appended = 0;
  private refused = 0;
  private readonly byName = new Map<string, MemoryDocument>();
  private readonly byId = new Map<string, MemoryDocument>();

  /** Every append is its own instant "commit". */
  get stats(): StorageStats {
    return {
      pending: 0,
      pendingBytes: 0,
      committedRows: this.appended,
      committedBatches: this.appended,
      failedAttempts: 0,
      refusedRows: this.refused,
      rejectedFull: 0,
      quarantinedRows: 0,
    };
  }

  async find(name: string): Promise<DocumentRef | null> {
    return this.byName.get(name)?.ref ?? null;
  }

  async create(name: string, options: CreateDocumentOptions): Promise<DocumentRef> {
    const existing = this.byName.get(name);
    if (existing) return existing.ref;
    const ref: DocumentRef = { id: crypto.randomUUID(), name, kind: options.kind, projectId: options.projectId ?? DEFAULT_PROJECT_ID };
    const doc: MemoryDocument = { ref, updates: [] };
    this.byName.set(name, doc);
    this.byId.set(ref.id, doc);
    return ref;
  }

  async load(document: DocumentRef): Promise<StoredDocument> {
    const doc = this.byId.get(document.id);
    if (!doc) throw new DocumentGoneError(`document ${JSON.stringify(document.name)} no longer exists`);
    if (doc.updates.length > 1) doc.updates = [Y.mergeUpdates(doc.updates)];
    return { ...doc.ref, state: doc.updates[0] ?? null };
  }

  /** Every document (GET /api/documents with STORAGE=memory, which has no database to ask). */
  list(): DocumentRef[] {
    return [...this.byName.values()].map((doc) => doc.ref);
  }

  /** Removes a document, as an admin deleting it would (tests of DocumentGoneError). */
  delete(name: string): boolean {
    const doc = this.byName.get(name);
    if (!doc) return false;
    this.byName.delete(name);
    this.byId.delete(doc.ref.id);
    return true;
  }

  /** Nothing is ever queued. */
  admits(_bytes: number): boolean {
    return true;
  }

  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    const doc = this.byId.get(documentId);
    if (!doc) {
      this.refused++;
      listener.refused(meta, new DocumentGoneError(`document ${documentId} no longer exists`));
      return;
    }
    doc.updates.push(update);
    this.appended++;
    listener.committed(1);
  }

  async release(documentId: string): Promise<void> {
    const doc = this.byId.get(documentId);
    if (doc && doc.updates.length > 1) doc.updates = [Y.mergeUpdates(doc.updates)];
  }

  async flush(): Promise<void> {}

  async close(_timeoutMs: number): Promise<boolean> {
    return true;
  }
}
