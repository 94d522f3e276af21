/**
 * Diff of two rendered research trees: added, removed and changed nodes and edges by id,
 * a move reported on the moved node only.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { diffTrees } from '../../server/research-trees/diff.js';
import { addEdge, createNode, deleteNode, moveNode, renameNode } from '../../server/research-trees/operations.js';
import { renderTree } from '../../server/research-trees/render.js';

describe('research tree diff', () => {
  it('reports added, removed and changed nodes and edges', () => {
    const doc = new Y.Doc();
    createNode(doc, { id: 'root' });
    createNode(doc, { id: 'a', parentId: 'root', title: 'A' });
    createNode(doc, { id: 'b', parentId: 'root', title: 'B' });
    createNode(doc, { id: 'c', parentId: 'b', title: 'C' });
    createNode(doc, { id: 'c1', parentId: 'c' });
    addEdge(doc, { id: 'e1', from: 'a', to: 'b', type: 'supports' });
    const before = renderTree(doc);

    moveNode(doc, 'c', 'a');
    renameNode(doc, 'b', 'B2');
    deleteNode(doc, 'root', { children: 'lift' });
    createNode(doc, { id: 'd', parentId: 'a' });
    addEdge(doc, { id: 'e2', from: 'd', to: 'c', type: 'related' });
    (doc.getMap('edges').get('e1') as Y.Map<unknown>).set('type', 'refutes');
    const after = renderTree(doc);

    const diff = diffTrees(before, after);
    expect(diff.kind).toBe('research_tree');
    expect(diff.nodes.added.map((n) => n.id)).toEqual(['d']);
    expect(diff.nodes.removed.map((n) => n.id)).toEqual(['root']);
    const changed = Object.fromEntries(diff.nodes.changed.map((c) => [c.id, c.fields]));
    // c1 moved along with c (depth changed) but its own fields did not: not reported. The
    // lifted a and b keep their keys (first keys among the roots, as under root before).
    expect(changed).toEqual({ a: ['parentId'], b: ['title', 'parentId'], c: ['parentId'] });
    expect(diff.edges.added.map((e) => e.id)).toEqual(['e2']);
    expect(diff.edges.removed).toEqual([]);
    expect(diff.edges.changed).toEqual([
      { id: 'e1', fields: ['type'], before: before.edges[0], after: after.edges.find((e) => e.id === 'e1') },
    ]);
  });

  it('is empty between equal trees', () => {
    const doc = new Y.Doc();
    createNode(doc, { id: 'x' });
    const diff = diffTrees(renderTree(doc), renderTree(doc));
    expect(diff.nodes).toEqual({ added: [], removed: [], changed: [] });
    expect(diff.edges).toEqual({ added: [], removed: [], changed: [] });
  });
});
