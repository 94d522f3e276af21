/**
 * Sibling order: one total order over numbers, fractional-index strings and junk (ties by
 * id), and new positions that land where they were asked for, with numbers and strings mixed.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { compareSiblings, placeAt } from '../../server/research-trees/order.js';
import { createNode, moveNode, reorderNode } from '../../server/research-trees/operations.js';
import { renderTree } from '../../server/research-trees/render.js';

function sorted(items: { id: string; order: unknown }[]): string[] {
  return [...items].sort(compareSiblings).map((i) => i.id);
}

describe('research tree sibling order', () => {
  it('numbers before strings before junk; numbers by value, strings by code unit; ties by id', () => {
    const items = [
      { id: 'j', order: null },
      { id: 's2', order: 'a1' },
      { id: 'n10', order: 10 },
      { id: 's1', order: 'Zz' }, // 'Z' < 'a' in code units, as fractional-indexing means it
      { id: 'n2', order: 2 },
      { id: 'nan', order: Number.NaN },
      { id: 'n2b', order: 2 },
      { id: 'neg', order: -1.5 },
    ];
    expect(sorted(items)).toEqual(['neg', 'n2', 'n2b', 'n10', 's1', 's2', 'j', 'nan']);
  });

  it('places with strings where they fit and numbers only between numbers', () => {
    const siblings = [
      { id: 'a', order: 1 },
      { id: 'b', order: 2 },
      { id: 'c', order: 'a0' },
      { id: 'd', order: 'a1' },
    ];
    const check = (index: number, count: number) => {
      const ids = Array.from({ length: count }, (_, i) => `new${i}`);
      const writes = placeAt(siblings, index, ids);
      const after: { id: string; order: unknown }[] = siblings.map((s) => ({ id: s.id, order: writes.get(s.id) ?? s.order }));
      after.splice(index, 0, ...ids.map((id) => ({ id, order: writes.get(id) })));
      expect(sorted(after)).toEqual(after.map((s) => s.id));
      return writes;
    };
    expect(typeof check(0, 1).get('new0')).toBe('number'); // before the first number
    expect(typeof check(1, 3).get('new0')).toBe('number'); // between 1 and 2
    expect(typeof check(2, 2).get('new0')).toBe('string'); // after the last number
    expect(typeof check(3, 1).get('new0')).toBe('string');
    expect(typeof check(4, 1).get('new0')).toBe('string');
    for (const writes of [check(1, 1), check(3, 2), check(4, 1)]) expect(writes.size).toBeLessThanOrEqual(2);
  });

  it('rekeys the whole sibling list when nothing fits (equal keys, invalid keys, junk)', () => {
    for (const orders of [
      ['a0', 'a0'],
      ['hello', 'world'],
      [null, 'a0'],
    ] as unknown[][]) {
      const siblings = orders.map((order, i) => ({ id: `s${i}`, order }));
      const sortedSiblings = [...siblings].sort(compareSiblings);
      const writes = placeAt(sortedSiblings, 1, ['x']);
      const ids = sortedSiblings.map((s) => s.id);
      ids.splice(1, 0, 'x');
      expect(sorted(ids.map((id) => ({ id, order: writes.get(id) })))).toEqual(ids);
    }
  });

  it('operations keep the asked positions among siblings with number orders from another client', () => {
    const doc = new Y.Doc();
    createNode(doc, { id: 'root' });
    const nodes = doc.getMap<unknown>('nodes');
    for (const [id, order] of [
      ['one', 0],
      ['two', 1],
      ['three', 2],
    ] as const) {
      nodes.set(id, new Y.Map<unknown>(Object.entries({ title: id, parentId: 'root', order })));
    }
    createNode(doc, { id: 'first', parentId: 'root', index: 0 });
    createNode(doc, { id: 'mid', parentId: 'root', index: 2 });
    createNode(doc, { id: 'last', parentId: 'root' });
    const children = () => renderTree(doc).nodes.find((n) => n.id === 'root')!.children;
    expect(children()).toEqual(['first', 'one', 'mid', 'two', 'three', 'last']);
    reorderNode(doc, 'three', 0);
    expect(children()).toEqual(['three', 'first', 'one', 'mid', 'two', 'last']);
    moveNode(doc, 'last', 'root', 3);
    expect(children()).toEqual(['three', 'first', 'one', 'last', 'mid', 'two']);
  });

  it('concurrent inserts at the same place keep a stable order on every replica', () => {
    const a = new Y.Doc();
    a.clientID = 1;
    createNode(a, { id: 'p' });
    createNode(a, { id: 'x', parentId: 'p' });
    createNode(a, { id: 'y', parentId: 'p' });
    const b = new Y.Doc();
    b.clientID = 2;
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    createNode(a, { id: 'fromA', parentId: 'p', index: 1 });
    createNode(b, { id: 'fromB', parentId: 'p', index: 1 });
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const kids = renderTree(a).nodes.find((n) => n.id === 'p')!.children;
    expect(renderTree(b).nodes.find((n) => n.id === 'p')!.children).toEqual(kids);
    expect(kids).toEqual(['x', 'fromA', 'fromB', 'y']); // same key: by id
    createNode(a, { id: 'between', parentId: 'p', index: 2 }); // between two equal keys: rekeyed
    expect(renderTree(a).nodes.find((n) => n.id === 'p')!.children).toEqual(['x', 'fromA', 'between', 'fromB', 'y']);
  });
});
