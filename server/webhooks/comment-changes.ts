/**
 * Which comments some logged updates created or resolved, read from the document's state and
 * the updates alone (no earlier copy of the comments is kept anywhere): a comment was created
 * by them when the item holding it in the `comments` map came in one of them and replaced no
 * earlier value of its key; resolved when its `resolved` field's current item came in one of
 * them and is true (a plain-object comment: when it was rewritten by them with `resolved`
 * true). An update Yjs delivers twice (a retried commit) may so report a comment twice, which
 * at-least-once receivers already deduplicate for.
 */
import * as Y from 'yjs';
import { COMMENTS_MAP, listComments } from '../documents/comments.js';
import type { WebhookComment } from './webhook-events.js';

/** The ids of the structs some updates carry: per client, clock ranges. */
export class UpdateContents {
  private readonly ranges = new Map<number, Array<readonly [start: number, end: number]>>();
  /** Whether any of them writes a value or a type (what a comment is made of; typing writes neither). */
  readonly writesValues: boolean;

  constructor(updates: readonly Uint8Array[]) {
    let writesValues = false;
    for (const update of updates) {
      let structs: ReturnType<typeof Y.decodeUpdate>['structs'];
      try {
        structs = Y.decodeUpdate(update).structs;
      } catch {
        continue; // a row Yjs cannot read is not in the state either (quarantine)
      }
      for (const struct of structs) {
        if (!(struct instanceof Y.Item)) continue;
        const list = this.ranges.get(struct.id.client) ?? [];
        list.push([struct.id.clock, struct.id.clock + struct.length]);
        this.ranges.set(struct.id.client, list);
        if (struct.content instanceof Y.ContentAny || struct.content instanceof Y.ContentType) writesValues = true;
      }
    }
    this.writesValues = writesValues;
  }

  /** True when the item with this id came in one of the updates. */
  has(id: Y.ID): boolean {
    const list = this.ranges.get(id.client);
    if (list === undefined) return false;
    for (const [start, end] of list) if (id.clock >= start && id.clock < end) return true;
    return false;
  }
}

export interface CommentChanges {
  readonly created: readonly WebhookComment[];
  readonly resolved: readonly WebhookComment[];
}

const NO_CHANGES: CommentChanges = { created: [], resolved: [] };

/** The comments of `doc` (a paper's state, `contents` applied) that `contents` created or resolved. */
export function commentChanges(doc: Y.Doc, contents: UpdateContents): CommentChanges {
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  const created = new Set<string>();
  const resolved = new Set<string>();
  for (const [id, item] of comments._map) {
    if (item.deleted || !contents.has(item.id)) {
      // Unchanged entry: a Y.Map comment may still have been resolved inside it.
      const value = comments.get(id);
      if (!item.deleted && value instanceof Y.Map && resolvedBy(value, contents)) resolved.add(id);
      continue;
    }
    const value = comments.get(id);
    if (item.left === null) created.add(id);
    if (value instanceof Y.Map ? resolvedBy(value, contents) : item.left !== null && isObject(value) && (value as { resolved?: unknown }).resolved === true) {
      resolved.add(id);
    }
  }
  if (created.size === 0 && resolved.size === 0) return NO_CHANGES;
  const views = new Map(listComments(doc).map((view) => [view.id, view]));
  const pick = (ids: Set<string>): WebhookComment[] =>
    [...ids].flatMap((id) => {
      const view = views.get(id);
      if (view === undefined) return []; // not a readable comment (no body)
      return [{ id, body: view.body, authorId: view.authorId, authorName: view.authorName, createdAt: view.createdAt, resolved: view.resolved, quote: view.quote }];
    });
  return { created: pick(created), resolved: pick(resolved) };
}

/** Whether the comment's current `resolved` is true and was written by `contents`. */
function resolvedBy(comment: Y.Map<unknown>, contents: UpdateContents): boolean {
  const item = comment._map.get('resolved');
  return item !== undefined && !item.deleted && contents.has(item.id) && comment.get('resolved') === true;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
