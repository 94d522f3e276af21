/**
 * The Yjs update that makes a live document's content become a version's content — as a
 * forward edit: nothing is undone in Yjs terms, the current content is deleted and clones of
 * the version's content are inserted, in ONE transaction. The caller applies the update to
 * the room with the server origin, so it is stored, relayed to every client of both
 * protocols on every instance, and can itself be undone by restoring the version taken
 * just before it.
 *
 * The update is computed on a copy of the live document (copy-change.ts): the live Y.Doc
 * only changes through Room.apply.
 *
 * Unchanged parts are kept rather than replaced, so whatever points into them (comment
 * anchors, carets) stays attached: the paper's leading and trailing blocks that equal the
 * version's, and map entries whose value equals the version's.
 */
import * as Y from 'yjs';
import type { DocumentKind } from '../persistence/documents.js';
import { SHARED_ROOTS } from './content.js';
import { sameBytes } from '../same-bytes.js';
import { changeOnCopy } from './copy-change.js';

/** The update, or null when the live content already equals the version's. */
export function restoreUpdate(kind: DocumentKind, live: Y.Doc, versionState: Uint8Array): Uint8Array | null {
  const version = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(version, versionState);
    return changeOnCopy(live, (copy) =>
      copy.transact(() => {
        for (const root of SHARED_ROOTS[kind]) {
          if (root.type === 'fragment') replaceFragment(copy.getXmlFragment(root.name), version.getXmlFragment(root.name));
          else replaceMap(copy.getMap(root.name), version.getMap(root.name));
        }
      }),
    ).update;
  } finally {
    version.destroy();
  }
}

type Block = Y.XmlElement | Y.XmlText;

/** Keeps the common leading and trailing blocks, replaces the middle with clones. */
function replaceFragment(target: Y.XmlFragment, source: Y.XmlFragment): void {
  const have = target.toArray() as Block[];
  const want = source.toArray() as Block[];
  const haveKeys = have.map(blockKey);
  const wantKeys = want.map(blockKey);
  let prefix = 0;
  while (prefix < have.length && prefix < want.length && haveKeys[prefix] === wantKeys[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < have.length - prefix &&
    suffix < want.length - prefix &&
    haveKeys[have.length - 1 - suffix] === wantKeys[want.length - 1 - suffix]
  ) {
    suffix++;
  }
  const removeCount = have.length - prefix - suffix;
  const inserted = want.slice(prefix, want.length - suffix);
  if (removeCount > 0) target.delete(prefix, removeCount);
  if (inserted.length > 0)
    target.insert(
      prefix,
      inserted.map((block) => block.clone()),
    );
}

/** A block's full content, attributes and formatting included (Yjs' own XML rendering). */
function blockKey(block: Block): string {
  return `${block.constructor.name}:${block.toString()}`;
}

/** Sets every entry whose value differs from the version's, deletes the ones it lacks. */
function replaceMap(target: Y.Map<unknown>, source: Y.Map<unknown>): void {
  for (const key of [...target.keys()]) {
    if (!source.has(key)) target.delete(key);
  }
  for (const [key, value] of source.entries()) {
    if (target.has(key) && sameValue(plain(target.get(key)), plain(value))) continue;
    target.set(key, value instanceof Y.AbstractType ? value.clone() : value);
  }
}

function plain(value: unknown): unknown {
  return value instanceof Y.AbstractType ? { type: value.constructor.name, value: value.toJSON() as unknown } : value;
}

/** Deep equality of JSON-like values (key order ignored; bytes compared by content). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && sameBytes(a, b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
