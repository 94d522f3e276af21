/**
 * Anchored comments of a paper: a `comments` Y.Map in the document, each comment anchored
 * by Yjs relative positions in the `default` fragment. CONTRACT STUB: the comments work
 * fills it in and may add fields to CommentView.
 */
import type * as Y from 'yjs';

export interface CommentView {
  readonly id: string;
  readonly body: string;
  readonly authorId: string | null;
  readonly authorName: string | null;
  readonly createdAt: string;
  readonly resolved: boolean;
  /** Absolute positions in the rendered text, or null when the anchored text was deleted whole. */
  readonly range: { readonly from: number; readonly to: number } | null;
  readonly quote: string | null;
  readonly detached: boolean;
  readonly replies: readonly unknown[];
}

export function listComments(doc: Y.Doc): CommentView[] {
  void doc;
  return [];
}
