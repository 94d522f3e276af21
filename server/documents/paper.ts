/**
 * A paper: the `default` Y.XmlFragment (Tiptap / ProseMirror convention) rendered as
 * ProseMirror JSON plus its plain text and its anchored comments.
 * The JSON comes from y-prosemirror (the library the editors' binding is forked from), so
 * the server reads the fragment exactly as an editor does. Pure: usable in the browser.
 */
import * as Y from 'yjs';
import { yXmlFragmentToProsemirrorJSON } from 'y-prosemirror';
import { listComments, type CommentView } from './comments.js';
import { holdsEditorContent, paperFragment, PAPER_FRAGMENT } from './paper-fragment.js';
import { paperTextOf } from './paper-text.js';

export { PAPER_FRAGMENT };

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
  const fragment = paperFragment(doc);
  let content: ProseMirrorNode[];
  if (fragment === null) content = paragraphsOf(plainTextOfForeignRoot(doc));
  else if (holdsEditorContent(fragment)) content = editorJSON(fragment);
  else content = foreignContent(fragment);
  return { type: 'doc', content, text: paperTextOf(content), comments: listComments(doc) };
}

function editorJSON(fragment: Y.XmlFragment): ProseMirrorNode[] {
  const json = yXmlFragmentToProsemirrorJSON(fragment) as { content?: unknown[] };
  const content: ProseMirrorNode[] = [];
  for (const node of json.content ?? []) {
    // A text node directly in the fragment (not valid ProseMirror, a client may still write it)
    // comes out as an array of text runs: one paragraph, one line, as the text rule counts it.
    if (Array.isArray(node)) {
      if (node.length > 0) content.push({ type: 'paragraph', content: (node as ProseMirrorNode[]).map(normalizeNode) });
    } else content.push(normalizeNode(node as ProseMirrorNode));
  }
  return content;
}

/**
 * A `default` some client wrote as a Y.Text (raw characters in the fragment, maybe mixed with
 * elements): rendered rather than refused, its characters as paragraphs split at newlines.
 * Comments cannot anchor in such content (comments.ts).
 */
function foreignContent(fragment: Y.XmlFragment): ProseMirrorNode[] {
  const content: ProseMirrorNode[] = [];
  let run = '';
  for (let item = fragment._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const value = item.content;
    if (value instanceof Y.ContentString) {
      run += value.str;
      continue;
    }
    if (!(value instanceof Y.ContentType)) continue; // embeds
    if (run !== '') content.push(...paragraphsOf(run));
    run = '';
    if (value.type instanceof Y.XmlElement) {
      const element = value.type;
      const attrs = element.getAttributes();
      content.push(normalizeNode({ type: element.nodeName, attrs, content: editorJSONOfChildren(element) }));
    } else if (value.type instanceof Y.XmlText) {
      content.push(
        ...paragraphsOf(
          value.type
            .toDelta()
            .map((op: { insert: unknown }) => (typeof op.insert === 'string' ? op.insert : ''))
            .join(''),
        ),
      );
    }
  }
  if (run !== '') content.push(...paragraphsOf(run));
  return content;
}

function editorJSONOfChildren(element: Y.XmlElement): ProseMirrorNode[] {
  return holdsEditorContent(element) ? editorJSON(element) : [];
}

function plainTextOfForeignRoot(doc: Y.Doc): string {
  const root = doc.share.get(PAPER_FRAGMENT);
  return root instanceof Y.Text ? root.toString() : '';
}

function paragraphsOf(value: string): ProseMirrorNode[] {
  if (value === '') return [];
  return value
    .split('\n')
    .map((line) => (line === '' ? { type: 'paragraph' } : { type: 'paragraph', content: [{ type: 'text', text: line }] }));
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
