/**
 * High-level research-tree edits (server/research-trees/tree-edits.ts): each op's behaviour
 * on the rendered tree, placement with `after`, ops seeing the ops before them, the ids of
 * what they created, one transaction with the caller's origin, and atomicity — a request
 * with an op that cannot apply leaves the document byte-identical.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { editUpdate } from '../../server/documents/document-edits.js';
import { isEditFailure, type EditOutcome } from '../../server/documents/edit-requests.js';
import { createNode, addEdge } from '../../server/research-trees/operations.js';
import { renderTree } from '../../server/research-trees/render.js';
import { applyTreeEdits } from '../../server/research-trees/tree-edits.js';

function sample(): Y.Doc {
  const doc = new Y.Doc();
  createNode(doc, { id: 'q', title: 'Question' });
  createNode(doc, { id: 'h1', parentId: 'q', title: 'Hypothesis 1' });
  createNode(doc, { id: 'h2', parentId: 'q', title: 'Hypothesis 2' });
  createNode(doc, { id: 'e1', parentId: 'h1', title: 'Experiment 1', status: 'running' });
  createNode(doc, { id: 'e2', parentId: 'h1', title: 'Experiment 2' });
  addEdge(doc, { id: 'x', from: 'e1', to: 'h2', type: 'supports' });
  return doc;
}

/** The outline: each node as `depth:id`, in order. */
function outline(doc: Y.Doc): string[] {
  return renderTree(doc).nodes.map((node) => `${node.depth}:${node.id}`);
}

function succeeded(outcome: EditOutcome): Readonly<Record<string, string>> {
  if (isEditFailure(outcome)) throw new Error(`op ${outcome.op} failed: ${outcome.error}`);
  return outcome.ids;
}

describe('tree ops', () => {
  test('addNode: under a parent, after a sibling, first, last, or as a root; ids answered by op index', () => {
    const doc = sample();
    const ids = succeeded(
      applyTreeEdits(doc, [
        { op: 'addNode', id: 'h0', title: 'Hypothesis 0', parentId: 'q', after: null },
        { op: 'addNode', id: 'h15', title: 'Hypothesis 1.5', parentId: 'q', after: 'h1', status: 'draft' },
        { op: 'addNode', title: 'Last root' },
        { op: 'addNode', id: 'e3', title: 'Experiment 3', parentId: 'h1' },
      ]),
    );
    expect(ids['0']).toBe('h0');
    expect(ids['1']).toBe('h15');
    expect(ids['2']).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids['3']).toBe('e3');
    expect(outline(doc)).toEqual(['0:q', '1:h0', '1:h1', '2:e1', '2:e2', '2:e3', '1:h15', '1:h2', `0:${ids['2']}`]);
    expect(renderTree(doc).nodes.find((node) => node.id === 'h15')).toMatchObject({ title: 'Hypothesis 1.5', status: 'draft' });
  });

  test('updateNode sets the title, the status, or clears the status', () => {
    const doc = sample();
    succeeded(
      applyTreeEdits(doc, [
        { op: 'updateNode', id: 'e1', title: 'Renamed' },
        { op: 'updateNode', id: 'e2', status: 'done' },
        { op: 'updateNode', id: 'e1', status: null },
      ]),
    );
    const nodes = new Map(renderTree(doc).nodes.map((node) => [node.id, node]));
    expect(nodes.get('e1')).toMatchObject({ title: 'Renamed', status: null });
    expect(nodes.get('e2')).toMatchObject({ title: 'Experiment 2', status: 'done' });
  });

  test('moveNode: to another parent after a sibling, to the roots; never under itself', () => {
    const doc = sample();
    succeeded(
      applyTreeEdits(doc, [
        { op: 'moveNode', id: 'e2', parentId: 'h2' },
        { op: 'moveNode', id: 'e1', parentId: 'h2', after: 'e2' },
        { op: 'moveNode', id: 'h1', parentId: null, after: null },
      ]),
    );
    expect(outline(doc)).toEqual(['0:h1', '0:q', '1:h2', '2:e2', '2:e1']);
    expect(applyTreeEdits(doc, [{ op: 'moveNode', id: 'q', parentId: 'e1' }])).toEqual({
      op: 0,
      error: expect.stringMatching(/under itself or its own descendant/),
    });
    expect(applyTreeEdits(doc, [{ op: 'moveNode', id: 'q', parentId: 'q' }])).toMatchObject({ op: 0 });
    expect(applyTreeEdits(doc, [{ op: 'moveNode', id: 'e1', parentId: 'h2', after: 'e1' }])).toMatchObject({ op: 0 });
  });

  test('deleteNode: its children move up to its place, edges touching it go', () => {
    const doc = sample();
    succeeded(applyTreeEdits(doc, [{ op: 'deleteNode', id: 'h1' }]));
    expect(outline(doc)).toEqual(['0:q', '1:e1', '1:e2', '1:h2']);
    expect(renderTree(doc).edges).toEqual([{ id: 'x', from: 'e1', to: 'h2', type: 'supports' }]);
    succeeded(applyTreeEdits(doc, [{ op: 'deleteNode', id: 'h2' }]));
    expect(renderTree(doc).edges).toEqual([]);
    expect(doc.getMap('edges').has('x')).toBe(false);
  });

  test('addEdge and deleteEdge', () => {
    const doc = sample();
    const ids = succeeded(
      applyTreeEdits(doc, [
        { op: 'addEdge', from: 'h1', to: 'h2', type: 'contradicts' },
        { op: 'deleteEdge', id: 'x' },
      ]),
    );
    expect(renderTree(doc).edges).toEqual([{ id: ids['0'], from: 'h1', to: 'h2', type: 'contradicts' }]);
    expect(applyTreeEdits(doc, [{ op: 'deleteEdge', id: 'x' }])).toEqual({ op: 0, error: 'id: no edge "x" in the tree' });
    expect(applyTreeEdits(doc, [{ op: 'addEdge', from: 'h1', to: 'nobody', type: 't' }])).toEqual({
      op: 0,
      error: 'to: no node "nobody" in the tree',
    });
  });
});

describe('a tree request', () => {
  test('ops see the ops before them, and all land in one transaction with the given origin', () => {
    const doc = sample();
    const origins: unknown[] = [];
    doc.on('afterTransaction', (transaction: Y.Transaction) => origins.push(transaction.origin));
    const origin = Symbol('http edit');
    const ids = succeeded(
      applyTreeEdits(
        doc,
        [
          { op: 'addNode', id: 'n', title: 'New', parentId: 'h2' },
          { op: 'addNode', id: 'm', title: 'Child of new', parentId: 'n' },
          { op: 'addEdge', id: 'nm', from: 'n', to: 'm', type: 'refines' },
          { op: 'moveNode', id: 'm', parentId: 'q', after: 'h1' },
          { op: 'updateNode', id: 'n', title: 'New, renamed' },
          { op: 'deleteNode', id: 'n' },
          { op: 'addNode', id: 'n', title: 'New again', parentId: 'm' },
        ],
        origin,
      ),
    );
    expect(ids).toEqual({ '0': 'n', '1': 'm', '2': 'nm', '6': 'n' });
    expect(origins).toEqual([origin]);
    expect(outline(doc)).toEqual(['0:q', '1:h1', '2:e1', '2:e2', '1:m', '2:n', '1:h2']);
    expect(renderTree(doc).edges.map((edge) => edge.id)).toEqual(['x']);
  });

  test('atomic: a failing op leaves the document byte-identical, and no transaction happens', () => {
    const failing: unknown[][] = [
      [
        { op: 'addNode', id: 'n', title: 'fine' },
        { op: 'updateNode', id: 'nobody', title: 'x' },
      ],
      [
        { op: 'addNode', id: 'n', title: 'fine' },
        { op: 'addNode', id: 'n', title: 'again' },
      ],
      [{ op: 'addNode', id: 'h1', title: 'taken' }],
      [
        { op: 'deleteNode', id: 'h1' },
        { op: 'moveNode', id: 'e1', parentId: 'h1' },
      ],
      [
        { op: 'moveNode', id: 'h2', parentId: 'h1' },
        { op: 'moveNode', id: 'h1', parentId: 'h2' },
      ],
      [{ op: 'addNode', title: 'fine', parentId: 'q', after: 'e1' }],
      [
        { op: 'deleteEdge', id: 'x' },
        { op: 'deleteEdge', id: 'x' },
      ],
      [{ op: 'addEdge', id: 'x', from: 'q', to: 'h1', type: 'dup' }],
      [{ op: 'updateNode', id: 'q' }],
      [
        { op: 'addNode', title: 'fine' },
        { op: 'renameNode', id: 'q', title: 'x' },
      ],
      [{ op: 'addNode', title: 7 }],
      [{ op: 'moveNode', id: 'q' }],
      [],
    ];
    for (const ops of failing) {
      const doc = sample();
      const before = Y.encodeStateAsUpdate(doc);
      let transactions = 0;
      doc.on('afterTransaction', () => transactions++);
      expect(isEditFailure(applyTreeEdits(doc, ops)), JSON.stringify(ops)).toBe(true);
      expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
      expect(transactions).toBe(0);
    }
  });

  test('a failure names the op and says what is wrong', () => {
    const doc = sample();
    expect(
      applyTreeEdits(doc, [
        { op: 'addNode', title: 'ok' },
        { op: 'updateNode', id: 'nobody', title: 'x' },
      ]),
    ).toEqual({ op: 1, error: 'id: no node "nobody" in the tree' });
    expect(applyTreeEdits(doc, [{ op: 'updateNode', id: 'q' }])).toEqual({ op: 0, error: 'op: give title or status (or both)' });
    expect(applyTreeEdits(doc, [{ op: 'addNode', title: 'x', parentId: 'q', after: 'e1' }])).toEqual({
      op: 0,
      error: 'after: "e1" is not a child of "q"',
    });
    expect(applyTreeEdits(doc, [{ op: 'moveNode', id: 'q' }])).toEqual({ op: 0, error: expect.stringMatching(/^parentId: /) });
  });

  test('a tree repaired by the rendering rule is edited as rendered', () => {
    const doc = sample();
    // A client moved h1 under e1 (its own child) without our operations: the rule cuts the cycle.
    (doc.getMap('nodes').get('h1') as Y.Map<unknown>).set('parentId', 'e1');
    const rendered = outline(doc);
    succeeded(
      applyTreeEdits(doc, [
        { op: 'addNode', id: 'n', title: 'New', parentId: 'e1' },
        { op: 'moveNode', id: 'e2', parentId: 'n' },
      ]),
    );
    const after = renderTree(doc);
    expect(after.nodes.find((node) => node.id === 'n')!.parentId).toBe('e1');
    expect(after.nodes.find((node) => node.id === 'e2')!.parentId).toBe('n');
    expect(after.nodes).toHaveLength(rendered.length + 1);
  });

  test('property: a request does what its ops do one request at a time, or fails at the op that fails alone', () => {
    const id = fc.constantFrom('q', 'h1', 'h2', 'e1', 'e2', 'a', 'b', 'c');
    const parent = fc.option(id, { nil: null });
    const after = fc.option(fc.option(id, { nil: null }), { nil: undefined });
    const op = fc.oneof(
      fc.record(
        { op: fc.constant('addNode'), id, title: fc.string({ maxLength: 3 }), parentId: parent, after },
        { requiredKeys: ['op', 'id', 'title', 'parentId'] },
      ),
      fc.record({ op: fc.constant('updateNode'), id, title: fc.string({ maxLength: 3 }) }),
      fc.record({ op: fc.constant('moveNode'), id, parentId: parent, after }, { requiredKeys: ['op', 'id', 'parentId'] }),
      fc.record({ op: fc.constant('deleteNode'), id }),
      fc.record({ op: fc.constant('addEdge'), id: fc.constantFrom('x', 'y', 'z'), from: id, to: id, type: fc.constant('t') }),
      fc.record({ op: fc.constant('deleteEdge'), id: fc.constantFrom('x', 'y', 'z') }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (ops) => {
        const whole = sample();
        const before = Y.encodeStateAsUpdate(whole);
        const outcome = applyTreeEdits(whole, ops);
        const stepwise = sample();
        let failedAt = -1;
        for (let i = 0; i < ops.length && failedAt === -1; i++) if (isEditFailure(applyTreeEdits(stepwise, [ops[i]]))) failedAt = i;
        if (isEditFailure(outcome)) {
          expect(outcome.op).toBe(failedAt);
          expect(Y.encodeStateAsUpdate(whole)).toEqual(before);
        } else {
          expect(failedAt).toBe(-1);
          const view = (doc: Y.Doc) => {
            const tree = renderTree(doc);
            return {
              nodes: tree.nodes.map((node) => [node.id, node.title, node.parentId, node.index, node.repair]),
              edges: tree.edges,
              roots: tree.roots,
            };
          };
          expect(view(whole)).toEqual(view(stepwise));
        }
      }),
      { seed: Number(process.env['TREE_EDITS_SEED'] ?? 20_260_521), numRuns: 300 },
    );
  });

  test('editUpdate computes the change on a copy: the live document is only read', () => {
    const live = sample();
    const before = Y.encodeStateAsUpdate(live);
    const result = editUpdate('research_tree', live, [{ op: 'addNode', id: 'n', title: 'New' }]);
    if (isEditFailure(result)) throw new Error(result.error);
    expect(result.ids).toEqual({ '0': 'n' });
    expect(Y.encodeStateAsUpdate(live)).toEqual(before);
    Y.applyUpdate(live, result.update!);
    expect(outline(live).at(-1)).toBe('0:n');
  });
});
