/**
 * Property-based fuzz of research-tree convergence (fast-check): three offline replicas of
 * one tree run random concurrent sessions — moves, reorders, creates, deletes through the
 * operations, and bare clients that write `parentId`, `order` and whole nodes straight into
 * the Y.Map (cycles, self-parents, missing parents, junk orders included) — for several
 * rounds. After each round the three sessions' updates are merged in every order (6
 * permutations, on fresh copies of the round's starting state) and on the replicas
 * themselves, and every copy must render the identical tree, which must be:
 * - complete: exactly the node records the state holds, each once;
 * - a forest: every node reaches a root, depths and children lists agree with parentIds;
 * - faithful: every stored link that is not on a cycle is kept, each cycle loses exactly one;
 * - in sibling order.
 *
 * Fixed seed, short in CI; FUZZ_TREE_RUNS=20000 FUZZ_SEED=… for a long run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { compareSiblings } from '../../server/research-trees/order.js';
import {
  affirmParents,
  createNode,
  deleteNode,
  moveNode,
  renameNode,
  reorderNode,
  TreeOperationError,
} from '../../server/research-trees/operations.js';
import { renderTree, type TreeContent } from '../../server/research-trees/render.js';

const RUNS = Number(process.env.FUZZ_TREE_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);

type Op =
  | { kind: 'create'; parent: number; index: number }
  | { kind: 'move'; node: number; parent: number; index: number }
  | { kind: 'reorder'; node: number; index: number }
  | { kind: 'delete'; node: number; lift: boolean }
  | { kind: 'rename'; node: number }
  | { kind: 'affirm' }
  | { kind: 'rawParent'; node: number; parent: number }
  | { kind: 'rawOrder'; node: number; order: number | string | null }
  | { kind: 'rawCreate'; parent: number; plain: boolean; order: number | string }
  | { kind: 'rawDelete'; node: number };

const sel = fc.nat({ max: 1000 });
const junkOrder = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a0', 'a1', 'Zz', 'a0V', 'b', 'hello', ''), fc.constant(null));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), parent: sel, index: sel }),
  { arbitrary: fc.record({ kind: fc.constant('move' as const), node: sel, parent: sel, index: sel }), weight: 4 },
  fc.record({ kind: fc.constant('reorder' as const), node: sel, index: sel }),
  fc.record({ kind: fc.constant('delete' as const), node: sel, lift: fc.boolean() }),
  fc.record({ kind: fc.constant('rename' as const), node: sel }),
  fc.record({ kind: fc.constant('affirm' as const) }),
  { arbitrary: fc.record({ kind: fc.constant('rawParent' as const), node: sel, parent: sel }), weight: 3 },
  fc.record({ kind: fc.constant('rawOrder' as const), node: sel, order: junkOrder }),
  fc.record({
    kind: fc.constant('rawCreate' as const),
    parent: sel,
    plain: fc.boolean(),
    order: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom('a0', 'a5')),
  }),
  fc.record({ kind: fc.constant('rawDelete' as const), node: sel }),
);
const session = fc.array(op, { maxLength: 8 });
const scenario = fc.record({
  initialParents: fc.array(sel, { minLength: 1, maxLength: 12 }),
  rounds: fc.array(fc.tuple(session, session, session), { minLength: 1, maxLength: 3 }),
});

const PERMUTATIONS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
] as const;

function replica(clientID: number, state?: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  if (state) Y.applyUpdate(doc, state);
  return doc;
}

/** Runs one operation on a replica; refused operations (a move into its own subtree) are fine. */
function run(doc: Y.Doc, o: Op, nextId: () => string): void {
  const tree = renderTree(doc);
  const ids = tree.nodes.map((n) => n.id);
  const pick = (k: number) => ids[k % ids.length]!;
  const pickParent = (k: number) => (k % (ids.length + 1) === ids.length ? null : pick(k));
  try {
    switch (o.kind) {
      case 'create':
        createNode(doc, { id: nextId(), parentId: ids.length ? pickParent(o.parent) : null, index: o.index % 5 });
        return;
      case 'affirm':
        affirmParents(doc);
        return;
      case 'rawCreate': {
        const fields = { title: 'raw', parentId: ids.length ? pickParent(o.parent) : null, order: o.order };
        doc.getMap<unknown>('nodes').set(nextId(), o.plain ? fields : new Y.Map<unknown>(Object.entries(fields)));
        return;
      }
    }
    if (ids.length === 0) return;
    const node = pick(o.node);
    switch (o.kind) {
      case 'move':
        moveNode(doc, node, pickParent(o.parent), o.index % 6);
        return;
      case 'reorder':
        reorderNode(doc, node, o.index % 6);
        return;
      case 'delete':
        deleteNode(doc, node, { children: o.lift ? 'lift' : 'delete' });
        return;
      case 'rename':
        renameNode(doc, node, `renamed by ${doc.clientID}`);
        return;
      case 'rawParent': {
        // Anything a bare client could write: another node (even a descendant), itself, null, a missing id.
        const k = o.parent % (ids.length + 2);
        const parent = k < ids.length ? ids[k]! : k === ids.length ? null : 'missing-node';
        writeRaw(doc, node, 'parentId', parent);
        return;
      }
      case 'rawOrder':
        writeRaw(doc, node, 'order', o.order);
        return;
      case 'rawDelete':
        doc.getMap('nodes').delete(node);
        return;
    }
  } catch (error) {
    if (!(error instanceof TreeOperationError)) throw error;
  }
}

function writeRaw(doc: Y.Doc, id: string, key: string, value: unknown): void {
  const nodes = doc.getMap<unknown>('nodes');
  const current = nodes.get(id);
  if (current instanceof Y.Map) current.set(key, value);
  else nodes.set(id, { ...(current as Record<string, unknown>), [key]: value });
}

/** The node records the state holds, with their stored parentId. */
function storedParents(doc: Y.Doc): Map<string, unknown> {
  const out = new Map<string, unknown>();
  doc.getMap<unknown>('nodes').forEach((value, id) => {
    if (value instanceof Y.Map) out.set(id, value.get('parentId'));
    else if (typeof value === 'object' && value !== null) out.set(id, (value as Record<string, unknown>)['parentId']);
  });
  return out;
}

/** Checks the rendered tree against the state (see the file comment). */
function checkTree(doc: Y.Doc, tree: TreeContent): void {
  const stored = storedParents(doc);
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  expect(byId.size).toBe(tree.nodes.length);
  expect([...byId.keys()].sort()).toEqual([...stored.keys()].sort());

  for (const node of tree.nodes) {
    let steps = 0;
    for (let up = node.parentId; up !== null; up = byId.get(up)!.parentId) {
      expect(byId.has(up)).toBe(true);
      expect(++steps).toBeLessThanOrEqual(tree.nodes.length);
    }
    expect(node.depth).toBe(steps);
    const kids = tree.nodes.filter((n) => n.parentId === node.id);
    expect([...node.children].sort()).toEqual(kids.map((k) => k.id).sort());
    const ordered = node.children.map((id) => byId.get(id)!);
    for (let i = 1; i < ordered.length; i++) expect(compareSiblings(ordered[i - 1]!, ordered[i]!)).toBeLessThan(0);
    node.children.forEach((id, i) => expect(byId.get(id)!.index).toBe(i));
  }
  expect(tree.roots).toEqual(
    tree.nodes
      .filter((n) => n.parentId === null)
      .map((n) => n.id)
      .sort((a, b) => compareSiblings(byId.get(a)!, byId.get(b)!)),
  );

  // Links of the stored graph: on a cycle or not.
  const link = (id: string): string | null => {
    const p = stored.get(id);
    return typeof p === 'string' && stored.has(p) ? p : null;
  };
  const onCycle = (id: string): boolean => {
    let up = link(id);
    for (let steps = 0; up !== null && steps <= stored.size; steps++) {
      if (up === id) return true;
      up = link(up);
    }
    return false;
  };
  const cycles = new Map<string, string[]>(); // smallest member → members
  for (const id of stored.keys()) {
    if (!onCycle(id)) {
      if (link(id) !== null) expect(byId.get(id)!.parentId).toBe(link(id));
      continue;
    }
    const members = [id];
    for (let up = link(id)!; up !== id; up = link(up)!) members.push(up);
    cycles.set(members.sort()[0]!, members);
  }
  for (const members of cycles.values()) {
    expect(members.filter((id) => byId.get(id)!.parentId !== link(id))).toHaveLength(1);
  }
}

describe('research tree convergence (property-based)', () => {
  it(
    `${RUNS} generated runs (seed ${SEED}): every replica and merge order renders the identical, acyclic, complete tree`,
    () => {
      const tally = { rounds: 0, cycles: 0, orphans: 0 };
      fc.assert(
        fc.property(scenario, ({ initialParents, rounds }) => {
          const base = replica(1);
          initialParents.forEach((p, i) => {
            createNode(base, { id: `n${i}`, parentId: i === 0 || p % 3 === 0 ? null : `n${p % i}` });
          });
          let state = Y.encodeStateAsUpdate(base);
          const replicas = [replica(10, state), replica(20, state), replica(30, state)];
          let counter = 0;
          for (const sessions of rounds) {
            const start = Y.encodeStateVector(replicas[0]!);
            sessions.forEach((ops, r) => {
              for (const o of ops) run(replicas[r]!, o, () => `r${r}-${counter++}`);
            });
            const updates = replicas.map((doc) => Y.encodeStateAsUpdate(doc, start));
            const merged = PERMUTATIONS.map((order) => {
              const doc = replica(99, state);
              for (const i of order) Y.applyUpdate(doc, updates[i]!);
              return doc;
            });
            const expected = renderTree(merged[0]!);
            checkTree(merged[0]!, expected);
            for (const doc of merged.slice(1)) expect(renderTree(doc)).toEqual(expected);
            for (const doc of replicas) for (const u of updates) Y.applyUpdate(doc, u);
            for (const doc of replicas) expect(renderTree(doc)).toEqual(expected);
            state = Y.encodeStateAsUpdate(replicas[0]!);
            tally.rounds++;
            tally.cycles += expected.nodes.filter((n) => n.repair === 'cycle').length;
            tally.orphans += expected.nodes.filter((n) => n.repair === 'orphan').length;
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // The generator must actually produce the hard cases.
      expect(tally.cycles).toBeGreaterThan(0);
      expect(tally.orphans).toBeGreaterThan(0);
      console.log(`tree convergence fuzz, seed ${SEED}: ${JSON.stringify(tally)}`);
    },
    Math.max(60_000, RUNS * 200),
  );
});
