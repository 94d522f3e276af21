/**
 * What decode-before-apply validation costs: times Y.applyUpdate alone against
 * Y.decodeUpdate + Y.applyUpdate over the same keystroke-sized updates.
 * Run: npm run build && node dist/bench/apply-cost.js [updates]
 */
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/apply-cost.js',
  summary: `What decode-before-apply validation costs: times Y.applyUpdate alone against
Y.decodeUpdate + Y.applyUpdate over the same keystroke-sized updates (best of three runs).`,
  arguments: [{ name: 'updates', description: 'keystroke updates to generate and apply (default: 20000)' }],
});
const count = cli.number(cli.positionals[0], 'updates', { integer: true, min: 1 }) ?? 20_000;
const source = new Y.Doc();
const updates: Uint8Array[] = [];
source.on('update', (update: Uint8Array) => updates.push(update));
const text = source.getText('default');
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
for (let i = 0; i < count; i++) text.insert(Math.floor(random() * (text.length + 1)), 'x');

function perUpdateMicros(apply: (doc: Y.Doc, update: Uint8Array) => void): number {
  const doc = new Y.Doc();
  const started = performance.now();
  for (const update of updates) apply(doc, update);
  return ((performance.now() - started) * 1000) / updates.length;
}

const applyOnly = (doc: Y.Doc, update: Uint8Array) => Y.applyUpdate(doc, update);
const validated = (doc: Y.Doc, update: Uint8Array) => {
  Y.decodeUpdate(update);
  Y.applyUpdate(doc, update);
};
// Warm up both paths, then take the best of three to damp noise on a shared machine.
perUpdateMicros(applyOnly);
perUpdateMicros(validated);
const best = (fn: typeof applyOnly) => Math.min(perUpdateMicros(fn), perUpdateMicros(fn), perUpdateMicros(fn));
const plain = best(applyOnly);
const checked = best(validated);
const bytes = updates.reduce((sum, update) => sum + update.length, 0) / updates.length;
console.log(`${updates.length} updates, ${bytes.toFixed(1)} bytes on average`);
console.log(`apply only:           ${plain.toFixed(2)} µs/update`);
console.log(`decode + apply:       ${checked.toFixed(2)} µs/update`);
console.log(`validation overhead:  ${(checked - plain).toFixed(2)} µs/update (${(((checked - plain) / plain) * 100).toFixed(0)}%)`);
