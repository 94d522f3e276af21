/**
 * Client operations on a research tree: what each one writes (a move is one parentId write
 * plus an order), what delete does to children and edges, and what is refused.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addEdge,
  affirmParents,
  createNode,
  deleteNode,
  moveNode,
  removeEdge,
  renameNode,
  setStatus,
  TreeOperationError,
} from '../../server/research-trees/operations.js';
import { renderTree } from '../../server/research-trees/render.js';

function tree() {
  const doc = new Y.Doc();
  createNode(doc, { id: 'root', title: 'Question' });
  createNode(doc, { id: 'h1', parentId: 'root', title: 'Hypothesis 1' });
  createNode(doc, { id: 'h2', parentId: 'root', title: 'Hypothesis 2' });
  createNode(doc, { id: 'e1', parentId: 'h1', title: 'Experiment 1' });
  createNode(doc, { id: 'e2', parentId: 'h1', title: 'Experiment 2' });
  return doc;
}

const view = (doc: Y.Doc, id: string) => renderTree(doc).nodes.find((n) => n.id === id);

describe('research tree operations', () => {
  it('create writes a Y.Map node with the contract fields', () => {
    const doc = tree();
    const node = doc.getMap('nodes').get('e1');
    expect(node).toBeInstanceOf(Y.Map);
    expect((node as Y.Map<unknown>).toJSON()).toMatchObject({ title: 'Experiment 1', parentId: 'h1', status: null });
    expect(typeof (node as Y.Map<unknown>).get('order')).toBe('string');
    expect(createNode(doc)).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => createNode(doc, { id: 'h1' })).toThrow(TreeOperationError);
  });

  it('ids are UUIDs also where crypto.randomUUID is missing (a browser on plain http)', () => {
    const doc = tree();
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      const ids = [createNode(doc), createNode(doc)];
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(ids[0]).not.toBe(ids[1]);
    } finally {
      delete (globalThis.crypto as { randomUUID?: unknown }).randomUUID;
    }
    expect(typeof globalThis.crypto.randomUUID).toBe('function');
  });

  it('a move is one transaction writing parentId, order and the move clock', () => {
    const doc = tree();
    const writes: string[][] = [];
    doc.on('afterTransaction', (tr: Y.Transaction) =>
      writes.push([...tr.changed.values()].flatMap((keys) => [...keys].filter((k): k is string => k !== null)).sort()),
    );
    moveNode(doc, 'e2', 'h2');
    expect(writes).toEqual([['moveClock', 'order', 'parentId', 'previousParentId']]);
    expect(view(doc, 'e2')).toMatchObject({ parentId: 'h2', depth: 2 });
    expect((doc.getMap('nodes').get('e2') as Y.Map<unknown>).toJSON()).toMatchObject({ previousParentId: 'h1', moveClock: 1 });
    moveNode(doc, 'e1', null, 0);
    expect(renderTree(doc).roots).toEqual(['e1', 'root']);
  });

  it('refuses a move under the node itself or its descendant, and unknown nodes, writing nothing', () => {
    const doc = tree();
    const before = Y.encodeStateVector(doc);
    expect(() => moveNode(doc, 'h1', 'e1')).toThrow(TreeOperationError);
    expect(() => moveNode(doc, 'h1', 'h1')).toThrow(TreeOperationError);
    expect(() => moveNode(doc, 'nope', 'h1')).toThrow(TreeOperationError);
    expect(() => moveNode(doc, 'h1', 'nope')).toThrow(TreeOperationError);
    expect(() => moveNode(doc, 'h1', 'root', -1)).toThrow(TreeOperationError);
    expect(Y.encodeStateVector(doc)).toEqual(before);
  });

  it('rename and status', () => {
    const doc = tree();
    renameNode(doc, 'h2', 'Null hypothesis');
    setStatus(doc, 'h2', 'refuted');
    expect(view(doc, 'h2')).toMatchObject({ title: 'Null hypothesis', status: 'refuted' });
    expect(() => renameNode(doc, 'nope', 'x')).toThrow(TreeOperationError);
  });

  it('delete removes the subtree and the edges touching it', () => {
    const doc = tree();
    addEdge(doc, { id: 'link', from: 'e2', to: 'h2', type: 'supports' });
    addEdge(doc, { id: 'keep', from: 'root', to: 'h2', type: 'related' });
    deleteNode(doc, 'h1');
    expect(renderTree(doc).nodes.map((n) => n.id)).toEqual(['root', 'h2']);
    expect(doc.getMap('nodes').size).toBe(2);
    expect([...doc.getMap('edges').keys()]).toEqual(['keep']);
  });

  it("delete with children: 'lift' moves them up to the deleted node's place, in order", () => {
    const doc = tree();
    deleteNode(doc, 'h1', { children: 'lift' });
    expect(view(doc, 'root')!.children).toEqual(['e1', 'e2', 'h2']);
  });

  it('edges need existing ends; removeEdge deletes one', () => {
    const doc = tree();
    expect(() => addEdge(doc, { from: 'h1', to: 'gone', type: 'x' })).toThrow(TreeOperationError);
    const id = addEdge(doc, { from: 'h1', to: 'h2', type: 'contradicts' });
    expect(renderTree(doc).edges).toEqual([{ id, from: 'h1', to: 'h2', type: 'contradicts' }]);
    removeEdge(doc, id);
    expect(renderTree(doc).edges).toEqual([]);
  });

  it('affirmParents writes the rendered parent of repaired nodes, then nothing', () => {
    const doc = tree();
    const nodes = doc.getMap<Y.Map<unknown>>('nodes');
    nodes.get('h1')!.set('parentId', 'e1'); // a bare client's cycle
    nodes.get('h2')!.set('parentId', 'deleted-node');
    const rendered = renderTree(doc);
    expect(affirmParents(doc)).toBe(2);
    const after = renderTree(doc);
    expect(after.nodes.map((n) => [n.id, n.parentId])).toEqual(rendered.nodes.map((n) => [n.id, n.parentId]));
    expect(after.nodes.every((n) => n.repair === null)).toBe(true);
    expect(affirmParents(doc)).toBe(0);
  });

  it('operations work on nodes a client stored as plain objects', () => {
    const doc = tree();
    doc.getMap<unknown>('nodes').set('plain', { title: 'Plain', parentId: 'root', order: 'Z0' });
    moveNode(doc, 'plain', 'h2');
    expect(doc.getMap('nodes').get('plain')).toBeInstanceOf(Y.Map);
    expect(view(doc, 'plain')).toMatchObject({ title: 'Plain', parentId: 'h2' });
  });
});
