import type * as Y from 'yjs';
import { listComments, type CommentView } from '../../../../server/documents/comments.js';

/**
 * The paper's comments as `listComments` gives them, recomputed once after each Yjs
 * transaction (text or `comments` changed, local or remote) and handed to the listeners.
 * Deferred to a microtask: the editor binding may be mid-update when the transaction ends.
 */
export class CommentList {
  private views: CommentView[] = [];
  private detachedIds = new Set<string>();
  private scheduled = false;
  private destroyed = false;
  private readonly listeners = new Set<() => void>();
  private readonly onTransaction = (transaction?: Y.Transaction) => {
    // The binding wraps every editor update in a transaction, most change nothing (and the
    // highlights' own refresh is one of them): only real changes count, or it would loop.
    if (transaction !== undefined && transaction.changed.size === 0) return;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.recompute());
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
    if (this.destroyed) return;
    const next = listComments(this.doc);
    // No comments before or after (most transactions of most papers): nothing to tell.
    if (next.length === 0 && this.views.length === 0) return;
    this.views = next;
    this.detachedIds = new Set(this.views.filter((view) => view.detached).map((view) => view.id));
    this.listeners.forEach((listener) => listener());
  }

  destroy(): void {
    this.destroyed = true;
    this.listeners.clear();
    this.doc.off('afterTransaction', this.onTransaction);
  }
}
