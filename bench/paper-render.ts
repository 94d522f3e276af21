/**
 * Rendering and diffing a large paper: renderPaper (y-prosemirror JSON + text + comments),
 * a version's load-and-render, and diffPapers between a version and the paper after a light
 * and a heavy editing session.
 * Run: npm run build && node dist/bench/paper-render.js [--size MB] [--iterations N]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { addComment, listComments } from '../server/documents/comments.js';
import { diffPapers } from '../server/documents/paper-diff.js';
import { renderPaper } from '../server/documents/paper.js';
import { editPaper, generatePaper, paperDocument, seededRandom } from './paper-fixture.js';
import { gitCommit, machineDescription, otherCpuMeter, REPO_ROOT } from './run-info.js';

const cli = parseCli({
  command: 'node dist/bench/paper-render.js',
  synopsis: '[options]',
  summary: `Times rendering and diffing a large paper built the way a Tiptap client builds it
(headings, paragraphs with marks, lists, quotes, code blocks): renderPaper, loading a stored
version and rendering it, renderPaper with anchored comments, and diffPapers against the paper
after a light and a heavy editing session. Prints median / p95 / max in ms and writes
bench/results/paper-render-<time>.{json,md}.`,
  options: {
    size: { type: 'string', default: '1', value: 'MB', description: 'plain text of the paper, in millions of characters' },
    iterations: { type: 'string', default: '15', value: 'N', description: 'timed runs of each measurement (after 2 warm-up runs)' },
    edits: { type: 'string', default: '50', value: 'N', description: 'edits in the light session (the heavy one makes 20 times as many)' },
    comments: { type: 'string', default: '100', value: 'N', description: 'anchored comments for the "render with comments" measurement' },
    seed: { type: 'string', default: '42', value: 'N', description: 'seed of the generated paper and edits' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results'), value: 'DIR', description: 'where results are written' },
  },
});
const sizeMB = cli.number(cli.values.size, '--size', { min: 0.001, max: 50 })!;
const iterations = cli.number(cli.values.iterations, '--iterations', { integer: true, min: 1, max: 10_000 })!;
const edits = cli.number(cli.values.edits, '--edits', { integer: true, min: 0, max: 1_000_000 })!;
const commentCount = cli.number(cli.values.comments, '--comments', { integer: true, min: 0, max: 100_000 })!;
const seed = cli.number(cli.values.seed, '--seed', { integer: true, min: 0 })!;

interface Row {
  readonly measurement: string;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

function time(measurement: string, run: () => unknown): Row {
  for (let i = 0; i < 2; i++) run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  return { measurement, medianMs: at(0.5), p95Ms: at(0.95), maxMs: samples[samples.length - 1]! };
}

const random = seededRandom(seed);
const blocks = generatePaper(Math.round(sizeMB * 1_000_000), random);
const doc = paperDocument(blocks);
const state = Y.encodeStateAsUpdate(doc);
const version = renderPaper(doc);

const light = new Y.Doc();
Y.applyUpdate(light, state);
editPaper(light, edits, random);
const heavy = new Y.Doc();
Y.applyUpdate(heavy, state);
editPaper(heavy, edits * 20, random);
const again = renderPaper(doc);
const lightContent = renderPaper(light);
const heavyContent = renderPaper(heavy);

const commented = new Y.Doc();
Y.applyUpdate(commented, state);
for (let i = 0; i < commentCount; i++) {
  const from = Math.floor((version.text.length - 60) * (i / Math.max(1, commentCount)));
  addComment(commented, { anchor: { from, to: from + 40 }, body: `Comment ${i}`, author: { id: 'u', name: 'Reviewer' }, id: `c${i}` });
}

const meter = otherCpuMeter();
const rows: Row[] = [
  time('renderPaper', () => renderPaper(doc)),
  time('load version state + renderPaper', () => {
    const loaded = new Y.Doc();
    Y.applyUpdate(loaded, state);
    return renderPaper(loaded);
  }),
  time(`renderPaper with ${commentCount} comments`, () => renderPaper(commented)),
  // What the app's comments panel recomputes after changes (clients/web/src/paper/comment-list.ts).
  time(`listComments, ${commentCount} comments`, () => listComments(commented)),
  time(`diffPapers, light session (${edits} edits)`, () => diffPapers(version, lightContent)),
  time(`diffPapers, heavy session (${edits * 20} edits)`, () => diffPapers(version, heavyContent)),
  time('diffPapers, identical', () => diffPapers(version, again)),
];
const otherCpu = meter();

const lightDiff = diffPapers(version, lightContent);
const heavyDiff = diffPapers(version, heavyContent);
const describe = [
  `Paper: ${version.text.length.toLocaleString('en')} characters of text, ${blocks.length.toLocaleString('en')} top-level blocks,`,
  `Yjs state ${(state.length / 1e6).toFixed(2)} MB, content JSON ${(JSON.stringify(version.content).length / 1e6).toFixed(2)} MB.`,
  `Light session: ${JSON.stringify(lightDiff.stats)}; heavy session: ${JSON.stringify(heavyDiff.stats)} (blocks).`,
  `Other CPU during the timed runs: ${otherCpu === null ? 'unknown' : `${otherCpu.toFixed(2)} cores`} (the machine is shared).`,
].join('\n');
const table = [
  '| Measurement | median ms | p95 ms | max ms |',
  '|---|---:|---:|---:|',
  ...rows.map((row) => `| ${row.measurement} | ${row.medianMs.toFixed(1)} | ${row.p95Ms.toFixed(1)} | ${row.maxMs.toFixed(1)} |`),
].join('\n');
const when = new Date().toISOString();
const command = `node dist/bench/paper-render.js ${process.argv.slice(2).join(' ')}`.trim();
const header = `## paper-render — ${when}\n\nMachine: ${machineDescription()}\nCommit: ${gitCommit()}\nCommand: \`${command}\`\n\n`;
const markdown = `${header}${describe}\n\n${table}\n`;
console.log(markdown);
mkdirSync(cli.values.out, { recursive: true });
const stamp = when.replace(/[:.]/g, '-');
writeFileSync(join(cli.values.out, `paper-render-${stamp}.md`), markdown);
writeFileSync(
  join(cli.values.out, `paper-render-${stamp}.json`),
  JSON.stringify(
    {
      scenario: 'paper-render',
      when,
      machine: machineDescription(),
      commit: gitCommit(),
      command,
      iterations,
      otherCpu,
      paper: { chars: version.text.length, blocks: blocks.length, stateBytes: state.length },
      light: lightDiff.stats,
      heavy: heavyDiff.stats,
      rows,
    },
    null,
    2,
  ),
);
process.stderr.write(`results written to ${cli.values.out}/paper-render-${stamp}.{json,md}\n`);
