/**
 * Which comments of a paper were created or resolved since an earlier look at it, told from its
 * current state and the state vector of the state looked at then (`seen`): a comment was created
 * since when the item holding it in the `comments` map is newer than `seen` and replaced no
 * earlier value of its key; resolved since when its `resolved` field's current item is newer
 * than `seen` and true (a plain-object comment: when it was rewritten since with `resolved`
 * true). Nothing else is kept between looks, and which log rows brought the changes does not
 * matter, so compaction rewriting the log changes nothing here.
 *
 * Never looked at (`seen` null: the document predates its comment webhooks): every comment is
 * newer, so only those whose `createdAt` is not before `announceFrom` are announced, and a
 * resolution only with its comment's creation (a resolution carries no time).
 */
import * as Y from 'yjs';
import { COMMENTS_MAP, listComments } from '../documents/comments.js';
import type { WebhookComment } from './webhook-events.js';

export interface CommentBaseline {
  /** Y.encodeStateVector of the state last looked at; null: never looked at. */
  readonly seen: Uint8Array | null;
  /** With `seen` null: announce comments created (their `createdAt`, ms) from this time on. */
  readonly announceFrom: number;
}

export interface CommentChanges {
  readonly created: readonly WebhookComment[];
  readonly resolved: readonly WebhookComment[];
}

const NO_CHANGES: CommentChanges = { created: [], resolved: [] };

/** The comments of `doc` (a paper's current state) created or resolved since `baseline`. */
export function commentChanges(doc: Y.Doc, baseline: CommentBaseline): CommentChanges {
  const seen = baseline.seen === null ? new Map<number, number>() : Y.decodeStateVector(baseline.seen);
  const isNew = (id: Y.ID): boolean => id.clock >= (seen.get(id.client) ?? 0);
  const comments = doc.getMap<unknown>(COMMENTS_MAP);
  const created = new Set<string>();
  const resolved = new Set<string>();
  for (const [id, item] of comments._map) {
    if (item.deleted) continue;
    const value = comments.get(id);
    const isCreated = isNew(item.id) && item.left === null;
    if (isCreated) created.add(id);
    const isResolved =
      value instanceof Y.Map
        ? newlyTrue(value as Y.Map<unknown>, 'resolved', isNew)
        : isNew(item.id) && (item.left !== null || isCreated) && isObject(value) && (value as { resolved?: unknown }).resolved === true;
    if (isResolved) resolved.add(id);
  }
  if (created.size === 0 && resolved.size === 0) return NO_CHANGES;
  const views = new Map(listComments(doc).map((view) => [view.id, view]));
  const announced = (id: string): boolean => {
    if (baseline.seen !== null) return true;
    const createdAt = Date.parse(views.get(id)?.createdAt ?? '');
    return Number.isFinite(createdAt) && createdAt >= baseline.announceFrom;
  };
  const pick = (ids: Iterable<string>): WebhookComment[] =>
    [...ids].flatMap((id) => {
      const view = views.get(id);
      if (view === undefined) return []; // not a readable comment (no body)
      return [
        {
          id,
          body: view.body,
          authorId: view.authorId,
          authorName: view.authorName,
          createdAt: view.createdAt,
          resolved: view.resolved,
          quote: view.quote,
        },
      ];
    });
  const createdIds = [...created].filter(announced);
  const resolvedIds = baseline.seen === null ? [...resolved].filter((id) => createdIds.includes(id)) : [...resolved];
  return { created: pick(createdIds), resolved: pick(resolvedIds) };
}

/** Whether the map's `key` is true and was written since (its current item is new). */
function newlyTrue(map: Y.Map<unknown>, key: string, isNew: (id: Y.ID) => boolean): boolean {
  const item = map._map.get(key);
  return item !== undefined && !item.deleted && isNew(item.id) && map.get(key) === true;
}

/** The state vector that covers both (per client the higher clock): a look never moves `seen` back. */
export function laterStateVector(a: Uint8Array | null, b: Uint8Array): Uint8Array {
  if (a === null) return b;
  const merged = Y.decodeStateVector(a);
  for (const [client, clock] of Y.decodeStateVector(b)) merged.set(client, Math.max(clock, merged.get(client) ?? 0));
  // Y.encodeStateVector takes a Doc or a decoded state vector.
  return Y.encodeStateVector(merged);
}

/**
 * Whether any of `updates` writes a value or a type — what comments are made of; typing and
 * formatting write neither, so a look at the state can be skipped after them (`seen` then stays
 * where it was, and the next look still finds whatever was missed).
 */
export function writesValues(updates: readonly Uint8Array[]): boolean {
  for (const update of updates) {
    let structs: ReturnType<typeof Y.decodeUpdate>['structs'];
    try {
      structs = Y.decodeUpdate(update).structs;
    } catch {
      continue; // a row Yjs cannot read is not in the state either (quarantine)
    }
    for (const struct of structs) {
      if (struct instanceof Y.Item && (struct.content instanceof Y.ContentAny || struct.content instanceof Y.ContentType)) return true;
    }
  }
  return false;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
