import type * as Y from 'yjs';
import { listComments, type CommentView } from '../../../../server/documents/comments.js';

/**
 * Listing the comments indexes the whole paper (BENCHMARKS.md, `listComments` in
 * bench/paper-render.ts): too much for every keystroke of a large paper. While changes keep coming, the next recomputation waits ten
 * times as long as the last one took (at most this long), so it holds the main thread at most
 * about a tenth of the time; a small paper, or one without comments, is recomputed at once.
 */
const MAX_RECOMPUTE_WAIT_MS = 250;

/**
 * The paper's comments as `listComments` gives them, recomputed after Yjs transactions (text or
 * `comments` changed, local or remote) and handed to the listeners. Deferred at least to a
 * microtask: the editor binding may be mid-update when the transaction ends.
 */
export class CommentList {
  private views: CommentView[] = [];
  private detachedIds = new Set<string>();
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextRecompute = -Infinity;
  private destroyed = false;
  private readonly listeners = new Set<() => void>();
  private readonly onTransaction = (transaction?: Y.Transaction) => {
    // The binding wraps every editor update in a transaction, most change nothing (and the
    // highlights' own refresh is one of them): only real changes count, or it would loop.
    if (transaction !== undefined && transaction.changed.size === 0) return;
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.nextRecompute - performance.now();
    if (wait <= 0) queueMicrotask(() => this.recompute());
    else this.timer = setTimeout(() => this.recompute(), wait);
  };

  constructor(private readonly doc: Y.Doc) {
    doc.on('afterTransaction', this.onTransaction);
    this.onTransaction();
  }

  current(): readonly CommentView[] {
    return this.views;
  }

  isDetached(id: string): boolean {
    return this.detachedIds.has(id);
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private recompute(): void {
    this.scheduled = false;
    this.timer = null;
    if (this.destroyed) return;
    const started = performance.now();
    const next = listComments(this.doc);
    const ended = performance.now();
    this.nextRecompute = ended + Math.min(MAX_RECOMPUTE_WAIT_MS, 10 * (ended - started));
    // No comments before or after (most transactions of most papers): nothing to tell.
    if (next.length === 0 && this.views.length === 0) return;
    this.views = next;
    this.detachedIds = new Set(this.views.filter((view) => view.detached).map((view) => view.id));
    this.listeners.forEach((listener) => listener());
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.listeners.clear();
    this.doc.off('afterTransaction', this.onTransaction);
  }
}
