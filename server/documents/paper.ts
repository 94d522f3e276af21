/**
 * A paper: the `default` Y.XmlFragment (Tiptap / ProseMirror convention) rendered as
 * ProseMirror JSON plus its plain text and its anchored comments.
 * CONTRACT STUB: the signatures are fixed; the paper work fills in the bodies.
 */
import type * as Y from 'yjs';
import type { CommentView } from './comments.js';

/** A ProseMirror node as JSON (what `Node.toJSON()` gives). */
export interface ProseMirrorNode {
  readonly type: string;
  readonly attrs?: Readonly<Record<string, unknown>>;
  readonly content?: readonly ProseMirrorNode[];
  readonly text?: string;
  readonly marks?: readonly { readonly type: string; readonly attrs?: Readonly<Record<string, unknown>> }[];
}

/** `GET /api/documents/:name` content of a paper: the ProseMirror doc JSON plus `text` and `comments`. */
export interface PaperContent {
  readonly type: 'doc';
  readonly content: readonly ProseMirrorNode[];
  readonly text: string;
  readonly comments: readonly CommentView[];
}

export function renderPaper(doc: Y.Doc): PaperContent {
  void doc;
  throw new Error('renderPaper: not implemented yet');
}
