/**
 * The research-tree rendering rule on specific states: concurrent cross-moves (shallow and
 * deep), deleted parents, junk values, plain-object nodes, edges to missing nodes, and the
 * same output whatever the order updates were merged in.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { moveNode, createNode, affirmParents } from '../../server/research-trees/operations.js';
import { renderTree, type TreeContent } from '../../server/research-trees/render.js';

function replica(clientID: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  return doc;
}

/** Writes a node the way a bare Y.Map client would. */
function rawNode(doc: Y.Doc, id: string, parentId: string | null, order: number | string = id, extra: Record<string, unknown> = {}): void {
  const node = new Y.Map<unknown>();
  node.set('title', id.toUpperCase());
  node.set('parentId', parentId);
  node.set('order', order);
  for (const [k, v] of Object.entries(extra)) node.set(k, v);
  doc.getMap('nodes').set(id, node);
}

function sync(...docs: Y.Doc[]): void {
  const updates = docs.map((d) => Y.encodeStateAsUpdate(d));
  for (const d of docs) for (const u of updates) Y.applyUpdate(d, u);
}

function parents(tree: TreeContent): Record<string, string | null> {
  return Object.fromEntries(tree.nodes.map((n) => [n.id, n.parentId]));
}

/** Outline as "depth:id" lines, the pre-order the UI shows. */
function outline(tree: TreeContent): string[] {
  return tree.nodes.map((n) => `${n.depth}:${n.id}`);
}

describe('research tree rendering rule', () => {
  it('renders a plain tree in pre-order with siblings by order, then id', () => {
    const doc = replica(1);
    rawNode(doc, 'r', null, 'a0');
    rawNode(doc, 'x', 'r', 'a2');
    rawNode(doc, 'y', 'r', 'a1');
    rawNode(doc, 'z', 'r', 'a1'); // tie with y: by id
    rawNode(doc, 'y1', 'y', 'a0');
    const tree = renderTree(doc);
    expect(outline(tree)).toEqual(['0:r', '1:y', '2:y1', '1:z', '1:x']);
    expect(tree.roots).toEqual(['r']);
    const r = tree.nodes[0]!;
    expect(r).toMatchObject({
      id: 'r',
      title: 'R',
      parentId: null,
      order: 'a0',
      depth: 0,
      index: 0,
      children: ['y', 'z', 'x'],
      repair: null,
    });
    expect(tree.nodes.every((n) => n.repair === null)).toBe(true);
  });

  it('A under B while B goes under A: one link is cut, no cycle, both still there', () => {
    const base = replica(1);
    createNode(base, { id: 'root', title: 'Root' });
    createNode(base, { id: 'A', parentId: 'root' });
    createNode(base, { id: 'B', parentId: 'root' });
    const one = replica(2);
    const two = replica(3);
    sync(base, one, two);
    moveNode(one, 'A', 'B');
    moveNode(two, 'B', 'A');
    sync(one, two);
    const tree = renderTree(one);
    expect(renderTree(two)).toEqual(tree);
    // Equal move clocks: the greater id's move is skipped and B stays where it was (root).
    expect(parents(tree)).toEqual({ root: null, B: 'root', A: 'B' });
    expect(tree.nodes.find((n) => n.id === 'B')!.repair).toBe('cycle');
  });

  it('the later move (Lamport clock) of a cycle is the one skipped', () => {
    const base = replica(1);
    for (const id of ['root', 'A', 'B', 'C']) createNode(base, { id, parentId: id === 'root' ? null : 'root' });
    const one = replica(2);
    const two = replica(3);
    sync(base, one, two);
    moveNode(one, 'C', 'B'); // clock 1
    moveNode(one, 'B', 'A'); // clock 2 on replica one
    moveNode(two, 'A', 'C'); // clock 1 on replica two: older
    sync(one, two);
    // Cycle A → C → B → A: B's move (clock 2) is skipped; B back under root.
    expect(parents(renderTree(one))).toEqual({ root: null, A: 'C', B: 'root', C: 'B' });
    expect(renderTree(two)).toEqual(renderTree(one));
  });

  it('deep cross-moves: each under a descendant of the other, nothing lost, links outside the cycle kept', () => {
    const base = replica(1);
    createNode(base, { id: 'root' });
    for (const [id, parent] of [
      ['A', 'root'],
      ['a1', 'A'],
      ['a2', 'a1'],
      ['a3', 'a2'],
      ['B', 'root'],
      ['b1', 'B'],
      ['b2', 'b1'],
      ['b3', 'b2'],
    ] as const) {
      createNode(base, { id, parentId: parent });
    }
    const one = replica(2);
    const two = replica(3);
    sync(base, one, two);
    moveNode(one, 'A', 'b3');
    moveNode(two, 'B', 'a3');
    sync(one, two);
    const tree = renderTree(one);
    expect(renderTree(two)).toEqual(tree);
    expect(tree.nodes).toHaveLength(9);
    const p = parents(tree);
    // Only one of the two moved nodes lost its new link; the unmoved links are all kept.
    expect(p).toMatchObject({ a1: 'A', a2: 'a1', a3: 'a2', b1: 'B', b2: 'b1', b3: 'b2' });
    expect([p['A'] === 'b3', p['B'] === 'a3'].filter(Boolean)).toHaveLength(1);
    expect(p['B'] === 'a3' ? p['A'] : p['B']).toBe('root');
  });

  it('a cycle written by bare clients (no move clocks) is cut at the greatest id and re-rooted', () => {
    const doc = replica(1);
    rawNode(doc, 'p', 'r');
    rawNode(doc, 'q', 'p');
    rawNode(doc, 'r', 'q');
    rawNode(doc, 'leaf', 'q');
    const tree = renderTree(doc);
    expect(parents(tree)).toEqual({ r: null, p: 'r', q: 'p', leaf: 'q' });
    expect(outline(tree)).toEqual(['0:r', '1:p', '2:q', '3:leaf']);
  });

  it('a node whose parent was deleted is re-rooted with its subtree', () => {
    const base = replica(1);
    createNode(base, { id: 'root' });
    createNode(base, { id: 'P', parentId: 'root' });
    createNode(base, { id: 'X', parentId: 'root' });
    const one = replica(2);
    const two = replica(3);
    sync(base, one, two);
    one.getMap('nodes').delete('P');
    moveNode(two, 'X', 'P');
    createNode(two, { id: 'Y', parentId: 'X' });
    sync(one, two);
    const tree = renderTree(one);
    expect(renderTree(two)).toEqual(tree);
    expect(parents(tree)).toEqual({ root: null, X: null, Y: 'X' });
    expect(tree.nodes.find((n) => n.id === 'X')!.repair).toBe('orphan');
  });

  it('self-parents, junk parents and non-record values do not break it', () => {
    const doc = replica(1);
    rawNode(doc, 'self', 'self');
    rawNode(doc, 'junk', 42 as unknown as string);
    doc.getMap('nodes').set('not-a-node', 'hello');
    doc.getMap('nodes').set('plain', { title: 'Plain', parentId: 'self', order: 1 });
    const tree = renderTree(doc);
    expect(parents(tree)).toEqual({ self: null, junk: null, plain: 'self' });
    expect(tree.nodes.find((n) => n.id === 'plain')!.title).toBe('Plain');
    expect(tree.nodes.find((n) => n.id === 'self')!.repair).toBe('cycle');
    expect(tree.nodes.find((n) => n.id === 'junk')!.repair).toBe('orphan');
  });

  it('a cut node goes back to its previous parent only when that is not below it', () => {
    const doc = replica(1);
    rawNode(doc, 'home', null);
    rawNode(doc, 'A', 'B', 'a0', { moveClock: 1, previousParentId: 'home' });
    rawNode(doc, 'B', 'A', 'a0', { moveClock: 2, previousParentId: 'home' });
    expect(parents(renderTree(doc))).toEqual({ home: null, B: 'home', A: 'B' });
    (doc.getMap('nodes').get('B') as Y.Map<unknown>).set('previousParentId', 'A'); // below B after the cut
    expect(parents(renderTree(doc))).toEqual({ home: null, B: null, A: 'B' });
  });

  it('explicit edges: kept when both ends exist, left out otherwise, sorted by id', () => {
    const doc = replica(1);
    rawNode(doc, 'a', null);
    rawNode(doc, 'b', null);
    const edges = doc.getMap<unknown>('edges');
    const e = new Y.Map<unknown>();
    e.set('from', 'a');
    e.set('to', 'b');
    e.set('type', 'supports');
    edges.set('e2', e);
    edges.set('e1', { from: 'b', to: 'a' });
    edges.set('e3', { from: 'a', to: 'gone', type: 'x' });
    edges.set('e4', 7);
    expect(renderTree(doc).edges).toEqual([
      { id: 'e1', from: 'b', to: 'a', type: 'related' },
      { id: 'e2', from: 'a', to: 'b', type: 'supports' },
    ]);
  });

  it('the same state renders the same whatever order the updates arrived in', () => {
    const writers = [replica(11), replica(12), replica(13)];
    rawNode(writers[0]!, 'a', 'c');
    rawNode(writers[1]!, 'b', 'a', 3);
    rawNode(writers[2]!, 'c', 'b', 'a0');
    rawNode(writers[2]!, 'd', null, 1.5);
    const updates = writers.map((w) => Y.encodeStateAsUpdate(w));
    const renders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ].map((order) => {
      const doc = replica(99);
      for (const i of order) Y.applyUpdate(doc, updates[i]!);
      return renderTree(doc);
    });
    expect(renders[1]).toEqual(renders[0]);
    expect(renders[2]).toEqual(renders[0]);
  });

  it('a move affirms repaired parents so a cut does not revive when the cycle breaks elsewhere', () => {
    const doc = replica(1);
    rawNode(doc, 'home', null);
    rawNode(doc, 'A', 'B', 'a0');
    rawNode(doc, 'B', 'A', 'a1'); // B is cut (greater id), a root
    rawNode(doc, 'Z', null, 'a2');
    expect(parents(renderTree(doc))).toMatchObject({ B: null, A: 'B' });
    moveNode(doc, 'A', 'Z'); // without affirming, B would now follow A under Z
    expect(parents(renderTree(doc))).toMatchObject({ B: null, A: 'Z' });
    expect(affirmParents(doc)).toBe(0);
  });
});
