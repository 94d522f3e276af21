/**
 * Anchored comments of a paper (the platform's annotations). They live in the document, in
 * the `comments` Y.Map, so they sync, persist and version like the text:
 *
 *   comments: Y.Map  id → Y.Map {
 *     anchor:     { start, end, startPath?, endPath? }  (RelativePositionJSON each)
 *     body:       string
 *     authorId:   string | null
 *     authorName: string | null
 *     createdAt:  ISO 8601 string
 *     resolved:   boolean
 *     replies:    Y.Array<{ id, body, authorId, authorName, createdAt }>
 *   }
 *
 * A plain object with the same fields is read too (a client that knows nothing of Y.Map
 * nesting). Anchors are Yjs relative positions in the `default` fragment, stored as
 * `Y.relativePositionToJSON` objects: JSON-able inside a Y.Map, readable in the API, and
 * turned back with `Y.createRelativePositionFromJSON` (e.g. by y-tiptap's
 * `relativePositionToAbsolutePosition` in the editor).
 *
 * Anchoring rule: `start` is tied to the first commented character (association right) and
 * `end` to the last one (association left). Text typed at either edge stays outside, text
 * typed inside widens the range, deletions inside shrink it. When every character between
 * the two is gone the comment is detached (`range: null`): it never jumps to other text.
 * Pure: no Node APIs, usable in the browser.
 */
import * as Y from 'yjs';
import { uuidv4 } from 'lib0/random';
import { paperFragment } from './paper-fragment.js';
import { indexPaperPositions, type PaperPositionIndex } from './paper-positions.js';

/** Name of the Y.Map that holds a paper's comments. */
export const COMMENTS_MAP = 'comments';

export const MAX_COMMENT_BODY = 10_000;
export const MAX_AUTHOR_FIELD = 255;

/** `Y.relativePositionToJSON` output. */
export interface RelativePositionJSON {
  readonly type?: { readonly client: number; readonly clock: number };
  readonly tname?: string;
  readonly item?: { readonly client: number; readonly clock: number };
  readonly assoc?: number;
}

export interface CommentAnchor {
  /** Tied to the first commented character (association right). */
  readonly start: RelativePositionJSON;
  /** Tied to the last commented character (association left). */
  readonly end: RelativePositionJSON;
  /**
   * Fallbacks when a whole block holding an end goes (its items are garbage-collected):
   * the same side tied to each enclosing node, innermost first. Optional on read.
   */
  readonly startPath?: readonly RelativePositionJSON[];
  readonly endPath?: readonly RelativePositionJSON[];
}

export interface CommentReply {
  readonly id: string;
  readonly body: string;
  readonly authorId: string | null;
  readonly authorName: string | null;
  readonly createdAt: string;
}

export interface CommentView {
  readonly id: string;
  readonly body: string;
  readonly authorId: string | null;
  readonly authorName: string | null;
  readonly createdAt: string;
  readonly resolved: boolean;
  /** The stored anchor (null when what is stored is not a valid anchor: then detached). */
  readonly anchor: CommentAnchor | null;
  /** Absolute positions in the rendered text, or null when the anchored text was deleted whole. */
  readonly range: { readonly from: number; readonly to: number } | null;
  /** `text.slice(range.from, range.to)`, or null when detached. */
  readonly quote: string | null;
  readonly detached: boolean;
  readonly replies: readonly CommentReply[];
}

export interface CommentAuthor {
  readonly id: string | null;
  readonly name: string | null;
}

/**
 * Where a new comment goes: offsets in the plain text of `renderPaper` (`to` exclusive), or
 * relative positions an editor computed itself (y-tiptap `absolutePositionToRelativePosition`).
 * Either way the anchor is re-tied to the first and last commented characters.
 */
export type CommentAnchorInput =
  | { readonly from: number; readonly to: number }
  | { readonly start: Y.RelativePosition | RelativePositionJSON; readonly end: Y.RelativePosition | RelativePositionJSON };

export interface NewComment {
  readonly anchor: CommentAnchorInput;
  readonly body: string;
  readonly author: CommentAuthor;
  /** Defaults to a random UUID. */
  readonly id?: string;
  /** Defaults to now. */
  readonly createdAt?: string;
}

export interface NewReply {
  readonly body: string;
  readonly author: CommentAuthor;
  readonly id?: string;
  readonly createdAt?: string;
}

export type CommentErrorCode = 'not_found' | 'invalid_anchor' | 'invalid_input' | 'exists';

/** Bad input to a comment operation; the document is left unchanged. */
export class CommentError extends Error {
  constructor(
    readonly code: CommentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CommentError';
  }
}

/** Adds a comment on a passage; returns its id. `origin` is the Yjs transaction origin. */
export function addComment(doc: Y.Doc, input: NewComment, origin?: unknown): string {
  const body = checkBody(input.body);
  const author = checkAuthor(input.author);
  const id = input.id ?? uuidv4();
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_AUTHOR_FIELD)
    throw new CommentError('invalid_input', 'comment id must be a non-empty string');
  const createdAt = checkTimestamp(input.createdAt);
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  if (comments.has(id)) throw new CommentError('exists', `comment ${id} already exists`);
  const anchor = anchorFor(indexPaperPositions(paperFragment(doc)), input.anchor);
  doc.transact(() => {
    const comment = new Y.Map<unknown>();
    comment.set('anchor', anchor);
    comment.set('body', body);
    comment.set('authorId', author.id);
    comment.set('authorName', author.name);
    comment.set('createdAt', createdAt);
    comment.set('resolved', false);
    comment.set('replies', new Y.Array<CommentReply>());
    comments.set(id, comment);
  }, origin);
  return id;
}

/** Adds a reply to a comment; returns the reply's id. */
export function replyToComment(doc: Y.Doc, commentId: string, input: NewReply, origin?: unknown): string {
  const reply: CommentReply = {
    id: input.id ?? uuidv4(),
    body: checkBody(input.body),
    ...authorFields(checkAuthor(input.author)),
    createdAt: checkTimestamp(input.createdAt),
  };
  if (typeof reply.id !== 'string' || reply.id.length === 0 || reply.id.length > MAX_AUTHOR_FIELD)
    throw new CommentError('invalid_input', 'reply id must be a non-empty string');
  doc.transact(() => {
    const comment = editableComment(doc, commentId);
    const replies = comment.get('replies');
    if (replies instanceof Y.Array) replies.push([reply]);
    // Replies written as a plain array by another client: keep them, in a Y.Array from now on.
    else comment.set('replies', Y.Array.from<CommentReply>([...readReplies(replies), reply]));
  }, origin);
  return reply.id;
}

/**
 * Ties a comment to a new passage (same anchor input as addComment). For the editor: the
 * binding turns a paragraph split or join into deleting the moved text and inserting a copy,
 * which detaches comments on it; an editor that maps the comment's range through such a
 * transaction (ProseMirror's `tr.mapping`) re-ties it here. Last writer wins.
 */
export function setCommentAnchor(doc: Y.Doc, commentId: string, anchor: CommentAnchorInput, origin?: unknown): void {
  const resolved = anchorFor(indexPaperPositions(paperFragment(doc)), anchor);
  doc.transact(() => editableComment(doc, commentId).set('anchor', resolved), origin);
}

/** Resolves (true) or reopens (false) a comment. */
export function setCommentResolved(doc: Y.Doc, commentId: string, resolved: boolean, origin?: unknown): void {
  if (typeof resolved !== 'boolean') throw new CommentError('invalid_input', 'resolved must be a boolean');
  doc.transact(() => editableComment(doc, commentId).set('resolved', resolved), origin);
}

export function deleteComment(doc: Y.Doc, commentId: string, origin?: unknown): void {
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  if (!comments.has(commentId)) throw new CommentError('not_found', `no comment ${commentId}`);
  doc.transact(() => comments.delete(commentId), origin);
}

/**
 * Every comment with its anchor resolved against the current text: attached ones by
 * position, then detached ones; ties by creation time and id. Entries that are not
 * comments at all are skipped; a comment with an unreadable anchor is reported detached.
 */
export function listComments(doc: Y.Doc): CommentView[] {
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  if (comments.size === 0) return [];
  const index = indexPaperPositions(paperFragment(doc));
  const views: CommentView[] = [];
  comments.forEach((value, id) => {
    const view = readComment(id, value, index);
    if (view !== null) views.push(view);
  });
  return views.sort(compareViews);
}

/** One comment by id, or null. */
export function getComment(doc: Y.Doc, commentId: string): CommentView | null {
  const value = doc.getMap<unknown>(COMMENTS_MAP).get(commentId);
  if (value === undefined) return null;
  return readComment(commentId, value, indexPaperPositions(paperFragment(doc)));
}

function compareViews(a: CommentView, b: CommentView): number {
  if (a.range !== null && b.range !== null && a.range.from !== b.range.from) return a.range.from - b.range.from;
  if ((a.range === null) !== (b.range === null)) return a.range === null ? 1 : -1;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function anchorFor(index: PaperPositionIndex, input: CommentAnchorInput): CommentAnchor {
  let from: number;
  let to: number;
  if (isObject(input) && 'from' in input && 'to' in input) {
    ({ from, to } = input);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > index.text.length || from >= to) {
      throw new CommentError('invalid_anchor', `anchor must satisfy 0 <= from < to <= ${index.text.length}`);
    }
  } else if (isObject(input) && 'start' in input && 'end' in input) {
    const start = toRelativePosition(input.start);
    const end = toRelativePosition(input.end);
    const resolvedFrom = start === null ? null : index.offsetOf(start);
    const resolvedTo = end === null ? null : index.offsetOf(end);
    if (resolvedFrom === null || resolvedTo === null || resolvedFrom >= resolvedTo) {
      throw new CommentError('invalid_anchor', 'anchor positions do not resolve to a passage of the paper');
    }
    from = resolvedFrom;
    to = resolvedTo;
  } else {
    throw new CommentError('invalid_anchor', 'anchor must be {from, to} or {start, end}');
  }
  const start = index.relativePositionAt(from, 0);
  const end = index.relativePositionAt(to, -1);
  if (start === null || end === null || start.offset >= end.offset) {
    throw new CommentError('invalid_anchor', 'anchor must cover at least one character of text');
  }
  return {
    start: toPlainJSON(start.position),
    end: toPlainJSON(end.position),
    startPath: start.path.map(toPlainJSON),
    endPath: end.path.map(toPlainJSON),
  };
}

function readComment(id: string, value: unknown, index: PaperPositionIndex): CommentView | null {
  const field = fieldReader(value);
  if (field === null) return null;
  const body = field('body');
  if (typeof body !== 'string') return null;
  const anchor = readAnchor(field('anchor'));
  let range: { from: number; to: number } | null = null;
  if (anchor !== null) {
    const from = resolveEnd(index, anchor.start, anchor.startPath);
    const to = resolveEnd(index, anchor.end, anchor.endPath);
    // Only characters of text count: a range left holding nothing but line breaks is detached.
    if (from !== null && to !== null && from < to) range = index.textRange(from, to);
  }
  return {
    id,
    body,
    authorId: stringOrNull(field('authorId')),
    authorName: stringOrNull(field('authorName')),
    createdAt: typeof field('createdAt') === 'string' ? (field('createdAt') as string) : '',
    resolved: field('resolved') === true,
    anchor,
    range,
    quote: range === null ? null : index.text.slice(range.from, range.to),
    detached: range === null,
    replies: readReplies(field('replies')),
  };
}

function fieldReader(value: unknown): ((key: string) => unknown) | null {
  if (value instanceof Y.Map) return (key) => value.get(key);
  if (isObject(value) && !(value instanceof Y.AbstractType) && !Array.isArray(value)) {
    return (key) => (value as Record<string, unknown>)[key];
  }
  return null;
}

function readReplies(value: unknown): CommentReply[] {
  const items = value instanceof Y.Array ? (value.toArray() as unknown[]) : Array.isArray(value) ? (value as unknown[]) : [];
  const replies: CommentReply[] = [];
  for (const item of items) {
    const field = fieldReader(item);
    if (field === null || typeof field('body') !== 'string') continue;
    replies.push({
      id: typeof field('id') === 'string' ? (field('id') as string) : '',
      body: field('body') as string,
      authorId: stringOrNull(field('authorId')),
      authorName: stringOrNull(field('authorName')),
      createdAt: typeof field('createdAt') === 'string' ? (field('createdAt') as string) : '',
    });
  }
  return replies;
}

/** The comment as a Y.Map ready for field writes (a plain-object comment is converted once). */
function editableComment(doc: Y.Doc, commentId: string): Y.Map<unknown> {
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  const value = comments.get(commentId);
  if (value instanceof Y.Map) return value as Y.Map<unknown>;
  const field = fieldReader(value);
  if (field === null || typeof field('body') !== 'string') throw new CommentError('not_found', `no comment ${commentId}`);
  const converted = new Y.Map<unknown>();
  for (const key of ['anchor', 'body', 'authorId', 'authorName', 'createdAt', 'resolved']) {
    const fieldValue = field(key);
    if (fieldValue !== undefined) converted.set(key, fieldValue);
  }
  converted.set('replies', Y.Array.from<CommentReply>(readReplies(field('replies'))));
  comments.set(commentId, converted);
  return converted;
}

function resolveEnd(
  index: PaperPositionIndex,
  position: RelativePositionJSON,
  path: readonly RelativePositionJSON[] | undefined,
): number | null {
  return index.offsetOf(
    Y.createRelativePositionFromJSON(position),
    (path ?? []).map((level) => Y.createRelativePositionFromJSON(level)),
  );
}

function readAnchor(value: unknown): CommentAnchor | null {
  if (!isObject(value)) return null;
  const { start, end, startPath, endPath } = value as { start?: unknown; end?: unknown; startPath?: unknown; endPath?: unknown };
  if (!isRelativePositionJSON(start) || !isRelativePositionJSON(end)) return null;
  return { start, end, startPath: readPath(startPath), endPath: readPath(endPath) };
}

function readPath(value: unknown): RelativePositionJSON[] {
  return Array.isArray(value) ? value.filter(isRelativePositionJSON) : [];
}

function isRelativePositionJSON(value: unknown): value is RelativePositionJSON {
  if (!isObject(value)) return false;
  const { type, tname, item, assoc } = value as Record<string, unknown>;
  if (assoc !== undefined && assoc !== null && !Number.isFinite(assoc)) return false;
  if (item !== undefined && item !== null) return isId(item);
  if (type !== undefined && type !== null) return isId(type);
  return typeof tname === 'string';
}

function isId(value: unknown): boolean {
  if (!isObject(value)) return false;
  const { client, clock } = value as Record<string, unknown>;
  return Number.isSafeInteger(client) && (client as number) >= 0 && Number.isSafeInteger(clock) && (clock as number) >= 0;
}

function toRelativePosition(value: Y.RelativePosition | RelativePositionJSON): Y.RelativePosition | null {
  if (value instanceof Y.RelativePosition) return value;
  return isRelativePositionJSON(value) ? Y.createRelativePositionFromJSON(value) : null;
}

/** `Y.relativePositionToJSON` keeps ID instances; store plain `{client, clock}` objects. */
function toPlainJSON(position: Y.RelativePosition): RelativePositionJSON {
  const json: { type?: { client: number; clock: number }; tname?: string; item?: { client: number; clock: number }; assoc?: number } = {};
  if (position.type !== null) json.type = { client: position.type.client, clock: position.type.clock };
  if (position.tname !== null) json.tname = position.tname;
  if (position.item !== null) json.item = { client: position.item.client, clock: position.item.clock };
  json.assoc = position.assoc;
  return json;
}

function checkBody(body: unknown): string {
  if (typeof body !== 'string' || body.trim().length === 0) throw new CommentError('invalid_input', 'body must be a non-empty string');
  if (body.length > MAX_COMMENT_BODY) throw new CommentError('invalid_input', `body is longer than ${MAX_COMMENT_BODY} characters`);
  return body;
}

function checkAuthor(author: unknown): CommentAuthor {
  if (!isObject(author)) throw new CommentError('invalid_input', 'author must be {id, name}');
  const { id, name } = author as { id?: unknown; name?: unknown };
  const ok = (value: unknown): boolean =>
    value === null || value === undefined || (typeof value === 'string' && value.length <= MAX_AUTHOR_FIELD);
  if (!ok(id) || !ok(name))
    throw new CommentError('invalid_input', `author id and name must be strings of at most ${MAX_AUTHOR_FIELD} characters, or null`);
  return { id: (id as string | undefined) ?? null, name: (name as string | undefined) ?? null };
}

function authorFields(author: CommentAuthor): { authorId: string | null; authorName: string | null } {
  return { authorId: author.id, authorName: author.name };
}

function checkTimestamp(value: string | undefined): string {
  if (value === undefined) return new Date().toISOString();
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
    throw new CommentError('invalid_input', 'createdAt must be an ISO 8601 date');
  return value;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
