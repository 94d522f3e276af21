/**
 * The authorship indexes of recently asked documents, so a second request reads only the log
 * rows added since (authorship-log.ts) instead of the whole log again.
 *
 * Bounded by documents (MAX_DOCUMENTS) and by the indexes' approximate size (MAX_BYTES). When
 * either is passed, the least recently used index is dropped; that document's next request
 * reads its whole log again (slower, the same answer). An index larger than MAX_BYTES on its
 * own is not kept at all.
 */
import type { LogCursor } from './authorship-log.js';
import type { AuthorshipIndex } from './authorship-index.js';

export const MAX_DOCUMENTS = 64;
export const MAX_BYTES = 64 * 1024 * 1024;

export interface CachedIndex {
  readonly index: AuthorshipIndex;
  /** Where the reads folded into `index` stopped. */
  cursor: LogCursor;
  /** Bytes as last measured. */
  bytes: number;
}

export interface CacheLimits {
  readonly maxDocuments: number;
  readonly maxBytes: number;
}

export class AuthorshipCache {
  /** In use order: the least recently used first. */
  private readonly entries = new Map<string, CachedIndex>();
  private bytes = 0;

  constructor(private readonly limits: CacheLimits = { maxDocuments: MAX_DOCUMENTS, maxBytes: MAX_BYTES }) {}

  /** The cached index of a document (now the most recently used), or undefined. */
  get(documentId: string): CachedIndex | undefined {
    const entry = this.entries.get(documentId);
    if (entry !== undefined) {
      this.entries.delete(documentId);
      this.entries.set(documentId, entry);
    }
    return entry;
  }

  /** Keeps (or re-measures) a document's index, dropping the least recently used ones past the bounds. */
  put(documentId: string, entry: CachedIndex): void {
    const previous = this.entries.get(documentId);
    if (previous !== undefined) {
      this.bytes -= previous.bytes;
      this.entries.delete(documentId);
    }
    entry.bytes = entry.index.approximateBytes();
    if (entry.bytes > this.limits.maxBytes) return;
    this.entries.set(documentId, entry);
    this.bytes += entry.bytes;
    for (const [id, oldest] of this.entries) {
      if (this.entries.size <= this.limits.maxDocuments && this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= oldest.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get approximateBytes(): number {
    return this.bytes;
  }
}
