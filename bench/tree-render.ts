/**
 * Research-tree rendering: times renderTree (the shared rule: forest, cycle breaking,
 * re-rooting, sibling order) on a large tree that went through concurrent cross-moves
 * between replicas, plus diffTrees and the projection's Yjs snapshot on the same tree.
 * Run: npm run build && node dist/bench/tree-render.js --help
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { generateKeyBetween } from 'fractional-indexing';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { diffTrees } from '../server/research-trees/diff.js';
import { moveNode } from '../server/research-trees/operations.js';
import { renderTree, type TreeContent } from '../server/research-trees/render.js';
import { seededRandom } from './paper-fixture.js';

const cli = parseCli({
  command: 'node dist/bench/tree-render.js',
  summary: `Times renderTree on a research tree of --nodes nodes (realistic outline: mostly 2-8
children per node, depth up to about 10, one in ten order values a number written by another
client) after --cycles pairs of concurrent cross-moves between two replicas (each pair a cycle
the rule must break) and --deletes deleted inner nodes (their children re-rooted). Also times
diffTrees between the tree before and after the moves, and Y.snapshot + encodeSnapshot (what
the projection stores). Prints median, p95 and max, and writes bench/results/tree-render-<time>.{json,md}.`,
  options: {
    nodes: { type: 'string', value: 'N', description: 'nodes in the tree (default: 10000)' },
    cycles: { type: 'string', value: 'N', description: 'pairs of concurrent cross-moves (default: 20)' },
    deletes: { type: 'string', value: 'N', description: 'inner nodes deleted, orphaning their children (default: 10)' },
    runs: { type: 'string', value: 'N', description: 'timed runs of each measurement (default: 50)' },
    warmup: { type: 'string', value: 'N', description: 'untimed runs first (default: 10)' },
    seed: { type: 'string', value: 'N', description: 'random seed of the generated tree (default: 42)' },
    'no-save': { type: 'boolean', description: 'print only, write no results file' },
  },
});
const nodeCount = cli.number(cli.values.nodes, '--nodes', { integer: true, min: 10 }) ?? 10_000;
const cycles = cli.number(cli.values.cycles, '--cycles', { integer: true, min: 0 }) ?? 20;
const deletes = cli.number(cli.values.deletes, '--deletes', { integer: true, min: 0 }) ?? 10;
const runs = cli.number(cli.values.runs, '--runs', { integer: true, min: 1 }) ?? 50;
const warmup = cli.number(cli.values.warmup, '--warmup', { integer: true, min: 0 }) ?? 10;
const seed = cli.number(cli.values.seed, '--seed', { integer: true, min: 0 }) ?? 42;
if (cycles * 2 + deletes > nodeCount / 4) cli.fail(`--cycles and --deletes touch too many of ${nodeCount} nodes`);

/** The same tree for the same seed. */
const random = seededRandom(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** An outline: roots, then each node's children drawn until its branching is used up. */
function buildTree(doc: Y.Doc): void {
  const nodes = doc.getMap<Y.Map<unknown>>('nodes');
  const lastKey = new Map<string | null, string | null>();
  const lastNumber = new Map<string | null, number>();
  const depth = new Map<string, number>();
  const open: string[] = []; // nodes that still take children
  let made = 0;
  const add = (parentId: string | null) => {
    const id = `n${made++}`;
    let order: number | string;
    if (random() < 0.1) {
      // Another client appending with numbers (they sort before the strings).
      order = (lastNumber.get(parentId) ?? 0) + 1;
      lastNumber.set(parentId, order);
    } else {
      order = generateKeyBetween(lastKey.get(parentId) ?? null, null);
      lastKey.set(parentId, order);
    }
    const node = new Y.Map<unknown>();
    node.set('title', `Node ${id}: ${pick(['question', 'hypothesis', 'experiment', 'result', 'note'])}`);
    node.set('parentId', parentId);
    node.set('order', order);
    node.set('status', pick(['open', 'open', 'running', 'done', null]));
    nodes.set(id, node);
    const d = parentId === null ? 0 : depth.get(parentId)! + 1;
    depth.set(id, d);
    if (d < 10) for (let k = 2 + Math.floor(random() * 7); k > 0; k--) open.push(id);
  };
  doc.transact(() => {
    for (let r = 0; r < 5; r++) add(null);
    while (made < nodeCount) {
      // Mostly depth-first (recent nodes), sometimes back up the outline.
      const at = random() < 0.7 ? open.length - 1 - Math.floor(random() * Math.min(open.length, 20)) : Math.floor(random() * open.length);
      const [parent] = open.splice(Math.max(0, at), 1);
      add(parent ?? null);
    }
  });
}

function replica(clientID: number, update?: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  if (update) Y.applyUpdate(doc, update);
  return doc;
}

function descendants(tree: TreeContent, id: string): string[] {
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const out: string[] = [];
  const stack = [...byId.get(id)!.children];
  while (stack.length > 0) {
    const next = stack.pop()!;
    out.push(next);
    stack.push(...byId.get(next)!.children);
  }
  return out;
}

const buildStarted = performance.now();
const base = replica(1);
buildTree(base);
const baseState = Y.encodeStateAsUpdate(base);
const before = renderTree(base);
const one = replica(2, baseState);
const two = replica(3, baseState);
// Cross-moves: A under a descendant of B on one replica, B under a descendant of A on the other.
const inner = before.nodes.filter((n) => n.children.length > 0 && n.depth >= 1 && n.depth <= 6);
const used = new Set<string>();
let made = 0;
for (let attempt = 0; made < cycles && attempt < cycles * 50; attempt++) {
  const a = pick(inner);
  const b = pick(inner);
  const underA = descendants(before, a.id);
  const underB = descendants(before, b.id);
  if (a.id === b.id || used.has(a.id) || used.has(b.id) || underA.includes(b.id) || underB.includes(a.id)) continue;
  if ([...underA, ...underB].some((id) => used.has(id))) continue;
  for (const id of [a.id, b.id, ...underA, ...underB]) used.add(id);
  moveNode(one, a.id, pick(underB));
  moveNode(two, b.id, pick(underA));
  made++;
}
for (let k = 0; k < deletes; k++) {
  const victim = pick(inner.filter((n) => !used.has(n.id)));
  used.add(victim.id);
  one.getMap('nodes').delete(victim.id);
}
const merged = replica(4, baseState);
Y.applyUpdate(merged, Y.encodeStateAsUpdate(one));
Y.applyUpdate(merged, Y.encodeStateAsUpdate(two));
const after = renderTree(merged);
const buildMs = performance.now() - buildStarted;

function time(fn: () => unknown): { median: number; p95: number; max: number; mean: number } {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  samples.sort((x, y) => x - y);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  return { median: at(0.5), p95: at(0.95), max: samples[samples.length - 1]!, mean: samples.reduce((s, x) => s + x, 0) / samples.length };
}

const shape = {
  nodes: after.nodes.length,
  roots: after.roots.length,
  maxDepth: Math.max(...after.nodes.map((n) => n.depth)),
  cyclesBroken: after.nodes.filter((n) => n.repair === 'cycle').length,
  orphansReRooted: after.nodes.filter((n) => n.repair === 'orphan').length,
  numberOrders: after.nodes.filter((n) => typeof n.order === 'number').length,
  stateBytes: Y.encodeStateAsUpdate(merged).byteLength,
};
const results = {
  renderTree: time(() => renderTree(merged)),
  diffTrees: time(() => diffTrees(before, after)),
  snapshot: time(() => Y.encodeSnapshot(Y.snapshot(merged))),
};

const fmt = (ms: number) => ms.toFixed(2);
const lines = [
  `tree: ${shape.nodes} nodes, ${shape.roots} roots, depth <= ${shape.maxDepth}, ${shape.cyclesBroken} cycles broken, ${shape.orphansReRooted} orphans re-rooted, ${shape.numberOrders} number orders, state ${shape.stateBytes} bytes (built in ${fmt(buildMs)} ms)`,
  `runs: ${runs} after ${warmup} warm-up, seed ${seed}, node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (a busy machine inflates the tail)`,
  ...Object.entries(results).map(
    ([name, r]) => `${name.padEnd(11)} median ${fmt(r.median)} ms  p95 ${fmt(r.p95)} ms  max ${fmt(r.max)} ms`,
  ),
];
console.log(lines.join('\n'));
if (!cli.values['no-save']) {
  const dir = path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tree-render-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const command = `node dist/bench/tree-render.js ${process.argv.slice(2).join(' ')}`.trim();
  writeFileSync(
    `${file}.json`,
    JSON.stringify({ command, seed, runs, warmup, node: process.version, loadAverage: loadavg(), shape, results }, null, 2) + '\n',
  );
  writeFileSync(`${file}.md`, [`# Research-tree rendering`, '', '```', command, '```', '', ...lines.map((l) => `    ${l}`), ''].join('\n'));
  console.log(`results: ${path.relative(process.cwd(), file)}.{json,md}`);
}
