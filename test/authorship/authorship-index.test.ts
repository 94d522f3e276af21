/**
 * The authorship index on log rows made by hand: whatever the rows' size (one keystroke, a
 * session's updates merged into one row as compaction coarsens them), duplicates, catch-up
 * updates that carry other editors' structs and every deletion known, and rows lost to
 * retention, each character keeps the editor who typed it and each deletion the editor who
 * made it first, in whatever order the rows are folded.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AuthorIdentities, UNKNOWN_AUTHOR } from '../../server/authorship/author-identities.js';
import { listAuthors } from '../../server/authorship/authors.js';
import { AuthorshipIndex, INDEX_OPTIONS } from '../../server/authorship/authorship-index.js';
import type { AuthorshipLogRow } from '../../server/authorship/authorship-log.js';
import { paperBlame } from '../../server/authorship/paper-blame.js';

let position = 0;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function row(userId: string | null, sessionId: string, update: Uint8Array, at: number, operationType = 'update'): AuthorshipLogRow {
  return { position: ++position, userId, sessionId, operationType, update, createdAt: new Date(T0 + at), lastAt: new Date(T0 + at) };
}

/** An editor: its own Y.Doc, and every update it makes as a log row (one per transaction). */
class Editor {
  readonly doc = new Y.Doc();
  readonly updates: Uint8Array[] = [];
  constructor(readonly userId: string) {
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') this.updates.push(update);
    });
  }
  receive(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, 'remote');
  }
  text(): Y.XmlText {
    return (this.doc.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText;
  }
}

/** One paragraph with one text node, made by `editor`. */
function startPaper(editor: Editor): void {
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText('')]);
  editor.doc.getXmlFragment('default').insert(0, [paragraph]);
}

function sync(...editors: Editor[]): void {
  for (const from of editors)
    for (const to of editors) if (from !== to) to.receive(Y.encodeStateAsUpdate(from.doc, Y.encodeStateVector(to.doc)));
}

const names = new Map([
  ['ada', 'Ada'],
  ['bob', 'Bob'],
]);

function blameOf(index: AuthorshipIndex, doc: Y.Doc) {
  const identities = new AuthorIdentities(index, names, new Map());
  return paperBlame(doc, (client) => identities.ofClient(client));
}

function textByUser(index: AuthorshipIndex, doc: Y.Doc): Record<string, string> {
  const blame = blameOf(index, doc);
  const out: Record<string, string> = {};
  for (const span of blame.spans) out[span.name ?? 'unknown'] = (out[span.name ?? 'unknown'] ?? '') + blame.text.slice(span.from, span.to);
  return out;
}

describe('the authorship index', () => {
  it('attributes keystroke rows and coarsened rows alike', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    startPaper(ada);
    sync(ada, bob);
    for (const char of 'hello') ada.text().insert(ada.text().length, char);
    sync(ada, bob);
    for (const char of ' world') bob.text().insert(bob.text().length, char);
    sync(ada, bob);
    ada.text().delete(0, 1); // ada deletes her own "h"
    bob.text().delete(bob.text().length - 1, 1); // bob his own "d"
    sync(ada, bob);

    const keystrokes = new AuthorshipIndex(INDEX_OPTIONS.paper);
    let at = 0;
    keystrokes.add([...ada.updates.map((u) => row('ada', 'sa', u, at++)), ...bob.updates.map((u) => row('bob', 'sb', u, 100 + at++))]);
    // The same history as a compaction leaves it: one merged row per session.
    const coarse = new AuthorshipIndex(INDEX_OPTIONS.paper);
    coarse.add([row('ada', 'sa', Y.mergeUpdates(ada.updates), 0), row('bob', 'sb', Y.mergeUpdates(bob.updates), 100)]);

    for (const index of [keystrokes, coarse]) {
      expect(textByUser(index, ada.doc)).toEqual({ Ada: 'ello', Bob: ' worl' });
      const authors = listAuthors(index, new AuthorIdentities(index, names, new Map()));
      expect(authors.map(({ userId, insertedChars, deletedChars }) => ({ userId, insertedChars, deletedChars }))).toEqual([
        { userId: 'bob', insertedChars: 6, deletedChars: 1 },
        { userId: 'ada', insertedChars: 5, deletedChars: 1 },
      ]);
    }
  });

  it('charges a deletion to whoever made it first, not to catch-ups and copies that repeat it', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    startPaper(ada);
    ada.text().insert(0, 'abcdef');
    sync(ada, bob);
    bob.text().delete(1, 2); // bob deletes "bc"
    sync(ada, bob);
    ada.text().insert(0, 'X');
    // Ada's catch-up after a reconnect: everything she has that the server "lacks", with every deletion she knows.
    const catchUp = Y.encodeStateAsUpdate(ada.doc);
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add([
      ...ada.updates.slice(0, 2).map((u, i) => row('ada', 'sa1', u, i)),
      row('bob', 'sb', bob.updates[0]!, 10),
      row('bob', 'sb', bob.updates[0]!, 11), // stored twice (an ambiguous commit retried)
      row('ada', 'sa2', catchUp, 20),
    ]);
    const authors = listAuthors(index, new AuthorIdentities(index, names, new Map()));
    expect(authors.map(({ userId, insertedChars, deletedChars }) => ({ userId, insertedChars, deletedChars }))).toEqual([
      { userId: 'ada', insertedChars: 7, deletedChars: 0 },
      { userId: 'bob', insertedChars: 0, deletedChars: 2 },
    ]);
    expect(textByUser(index, ada.doc)).toEqual({ Ada: 'Xadef' });
  });

  it('gives the same answer whatever order the rows are folded in (pages by position, rewritten rows)', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    startPaper(ada);
    ada.text().insert(0, 'abcdef');
    sync(ada, bob);
    bob.text().delete(1, 2);
    sync(ada, bob);
    ada.text().insert(0, 'X');
    const rows = [
      ...ada.updates.slice(0, 2).map((u, i) => row('ada', 'sa1', u, i)),
      row('bob', 'sb', bob.updates[0]!, 10),
      row('ada', 'sa2', Y.encodeStateAsUpdate(ada.doc), 20), // a catch-up repeating Bob's deletion
    ];
    const answer = (order: AuthorshipLogRow[]) => {
      const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
      for (const one of order) index.add([one]);
      return [listAuthors(index, new AuthorIdentities(index, names, new Map())), textByUser(index, ada.doc)];
    };
    const expected = answer(rows);
    expect(answer([...rows].reverse())).toEqual(expected);
    expect(answer([rows[3]!, rows[0]!, rows[2]!, rows[1]!])).toEqual(expected);
  });

  it('counts a research tree’s titles, also when an overwrite is folded before the value it replaced', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    const node = new Y.Map<unknown>();
    ada.doc.transact(() => {
      ada.doc.getMap('nodes').set('n1', node);
      node.set('title', 'Draft');
      node.set('parentId', 'some-long-parent-id');
      node.set('order', 'a0');
    });
    sync(ada, bob);
    (bob.doc.getMap('nodes').get('n1') as Y.Map<unknown>).set('title', 'Final title');
    const rows = [row('ada', 'sa', ada.updates[0]!, 0), row('bob', 'sb', bob.updates[0]!, 10)];
    for (const order of [rows, [...rows].reverse()]) {
      const index = new AuthorshipIndex(INDEX_OPTIONS.research_tree);
      for (const one of order) index.add([one]);
      const authors = listAuthors(index, new AuthorIdentities(index, names, new Map()));
      expect(authors.map(({ userId, insertedChars, deletedChars }) => ({ userId, insertedChars, deletedChars }))).toEqual([
        { userId: 'bob', insertedChars: 11, deletedChars: 5 },
        { userId: 'ada', insertedChars: 5, deletedChars: 0 },
      ]);
    }
  });

  it('keeps the owner of a client id when another session relays its structs', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    startPaper(ada);
    ada.text().insert(0, 'ada wrote this');
    sync(ada, bob);
    bob.text().insert(0, '> ');
    // Bob's catch-up carries Ada's structs too; stored (relayed) before Ada's own row.
    const bobCatchUp = Y.encodeStateAsUpdate(bob.doc);
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add([row('bob', 'sb', bobCatchUp, 0), ...ada.updates.map((u, i) => row('ada', 'sa', u, 5 + i))]);
    expect(textByUser(index, bob.doc)).toEqual({ Bob: '> ', Ada: 'ada wrote this' });
  });

  it('reports content whose rows were pruned as unknown', () => {
    const ada = new Editor('ada');
    const bob = new Editor('bob');
    startPaper(ada);
    ada.text().insert(0, 'old text');
    sync(ada, bob);
    bob.text().insert(bob.text().length, ' new');
    // Ada's rows were folded into documents.state and deleted by HISTORY_RETENTION_DAYS.
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add(bob.updates.map((u, i) => row('bob', 'sb', u, i)));
    const blame = blameOf(index, bob.doc);
    expect(blame.spans.map(({ from, to, userId, name }) => [blame.text.slice(from, to), userId, name])).toEqual([
      ['old text', UNKNOWN_AUTHOR.userId, UNKNOWN_AUTHOR.name],
      [' new', 'bob', 'Bob'],
    ]);
  });

  it('folds the same rows again without change, and leaves out what it cannot decode', () => {
    const ada = new Editor('ada');
    startPaper(ada);
    ada.text().insert(0, 'twice');
    const rows = ada.updates.map((u, i) => row('ada', 'sa', u, i));
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add(rows);
    const once = listAuthors(index, new AuthorIdentities(index, names, new Map()));
    index.add([...rows, row('ada', 'sa', new Uint8Array([1, 2, 3]), 50)]);
    expect(listAuthors(index, new AuthorIdentities(index, names, new Map()))).toEqual(once);
    expect(index.unreadableRows).toBe(1);
  });

  it('names open-mode editors by the display name of their client id', () => {
    const one = new Editor('x');
    const two = new Editor('y');
    startPaper(one);
    one.text().insert(0, 'first');
    sync(one, two);
    two.text().insert(5, ' second');
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add([...one.updates.map((u, i) => row(null, 's1', u, i)), ...two.updates.map((u, i) => row(null, 's2', u, 10 + i))]);
    const identities = new AuthorIdentities(index, new Map(), new Map([[one.doc.clientID, 'Uno']]));
    sync(one, two);
    const blame = paperBlame(one.doc, (client) => identities.ofClient(client));
    expect(blame.spans.map(({ userId, name }) => [userId, name])).toEqual([
      [null, 'Uno'],
      [null, null],
    ]);
    expect(listAuthors(index, identities).map(({ name, insertedChars }) => [name, insertedChars])).toEqual([
      [null, 7],
      ['Uno', 5],
    ]);
  });
});
