/**
 * Where a process's time went, from a V8 CPU profile (`node --cpu-prof`, or a bench server
 * started with BENCH_SERVER_CPU_PROF): the functions with the most self time, and with the most
 * time including what they called, as a share of the sampled time.
 */
import { readFileSync } from 'node:fs';
import { parseCli } from '../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/cpu-profile-summary.js',
  synopsis: '[options] <file.cpuprofile>',
  summary: `Prints the functions of a V8 CPU profile with the most self time and the most total time
(self plus what they called), each as milliseconds and a share of the sampled time.`,
  arguments: [{ name: 'file', description: 'a .cpuprofile written by node --cpu-prof' }],
  options: {
    top: { type: 'string', default: '25', value: 'N', description: 'functions listed in each table' },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = cli.positionals[0] ?? cli.fail('which profile? (a .cpuprofile file)');
const top = cli.number(cli.values.top, '--top', { integer: true, min: 1 })!;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
// Sampled time per node: each sample's delta is the time until the next sample.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (n: ProfileNode): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const short = url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
  return `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
};
const self = new Map<string, number>();
const total = new Map<string, number>();
for (const [id, us] of selfUs) {
  self.set(where(byId.get(id)!), (self.get(where(byId.get(id)!)) ?? 0) + us);
  // Counted once per function on the stack, also when it recurses.
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) onStack.add(where(byId.get(at)!));
  for (const name of onStack) total.set(name, (total.get(name) ?? 0) + us);
}

const table = (title: string, values: Map<string, number>): string =>
  `${title}\n\n| ms | share | function |\n|---|---|---|\n` +
  [...values]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => `| ${(us / 1000).toFixed(0)} | ${((us / totalUs) * 100).toFixed(1)} % | ${name.replace(/\|/g, '\\|')} |`)
    .join('\n');

console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms sampled\n`);
console.log(table('Self time', self));
console.log('');
console.log(table('Total time (self and callees)', total));
