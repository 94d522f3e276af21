/**
 * A paper: the `default` Y.XmlFragment (Tiptap / ProseMirror convention) rendered as
 * ProseMirror JSON plus its plain text and its anchored comments.
 * The JSON comes from y-prosemirror (the library the editors' binding is forked from), so
 * the server reads the fragment exactly as an editor does. Pure: usable in the browser.
 */
import type * as Y from 'yjs';
import { yXmlFragmentToProsemirrorJSON } from 'y-prosemirror';
import { listComments, type CommentView } from './comments.js';
import { paperTextOf } from './paper-text.js';

/** Name of the Y.XmlFragment that holds a paper (Tiptap's default field). */
export const PAPER_FRAGMENT = 'default';

/** A ProseMirror mark as JSON. */
export interface ProseMirrorMark {
  readonly type: string;
  readonly attrs?: Readonly<Record<string, unknown>>;
}

/** A ProseMirror node as JSON (what `Node.toJSON()` gives). */
export interface ProseMirrorNode {
  readonly type: string;
  readonly attrs?: Readonly<Record<string, unknown>>;
  readonly content?: readonly ProseMirrorNode[];
  readonly text?: string;
  readonly marks?: readonly ProseMirrorMark[];
}

/** `GET /api/documents/:name` content of a paper: the ProseMirror doc JSON plus `text` and `comments`. */
export interface PaperContent {
  readonly type: 'doc';
  readonly content: readonly ProseMirrorNode[];
  /** Plain text by the rule in paper-text.ts: lines (leaf blocks) joined by "\n". */
  readonly text: string;
  readonly comments: readonly CommentView[];
}

export function renderPaper(doc: Y.Doc): PaperContent {
  const json = yXmlFragmentToProsemirrorJSON(doc.getXmlFragment(PAPER_FRAGMENT)) as { content?: unknown[] };
  const content = (json.content ?? []).map((node) => normalizeNode(node as ProseMirrorNode));
  return { type: 'doc', content, text: paperTextOf(content), comments: listComments(doc) };
}

/**
 * y-prosemirror gives every mark an `attrs` object, empty ones included; ProseMirror's own
 * `toJSON` leaves empty mark attrs out. Normalize so the JSON matches what an editor would
 * serialize, and equal content compares equal in diffs.
 */
function normalizeNode(node: ProseMirrorNode): ProseMirrorNode {
  if (node.text !== undefined) {
    if (!node.marks || node.marks.length === 0) return { type: node.type, text: node.text };
    return { type: node.type, text: node.text, marks: node.marks.map(normalizeMark) };
  }
  const out: { type: string; attrs?: Readonly<Record<string, unknown>>; content?: ProseMirrorNode[] } = { type: node.type };
  if (node.attrs && Object.keys(node.attrs).length > 0) out.attrs = node.attrs;
  if (node.content && node.content.length > 0) out.content = node.content.map(normalizeNode);
  return out;
}

function normalizeMark(mark: ProseMirrorMark): ProseMirrorMark {
  return mark.attrs && Object.keys(mark.attrs).length > 0 ? { type: mark.type, attrs: mark.attrs } : { type: mark.type };
}
