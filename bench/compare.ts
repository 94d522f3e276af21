/**
 * `npm run bench -- [options]`: runs one scenario against Scriptorium and the peers, one server
 * after another on the same machine with the same load, prints a Markdown table with ratios vs
 * Hocuspocus and writes JSON + Markdown to bench/results/.
 *
 *   --scenario fanout|saturation|density|cold-load   (default fanout)
 *   --servers scriptorium-pg,scriptorium-mem,hocuspocus,y-websocket  (also: scriptorium-pglite)
 *   --url ws://host:port/ [--url ...] --protocol hocuspocus|y-websocket [--server-pid N]
 *                       load an existing deployment instead (several URLs: clients are split)
 *   --docs --clients --writers --probes --rate --awareness --duration --warmup --workers
 *   --connections (density) --history --shape text|map (cold-load) --concurrency --token
 *   --scriptorium-protocol hocuspocus|y-websocket   --transport uws|ws
 *   --pg postgres://postgres@127.0.0.1:5432/postgres  (admin URL for throwaway databases)
 *   --ci (small and quick)   --smoke (tiny fan-out, asserts zero loss; exit code 1 on failure)
 *   --ws-readers (bulk readers on `ws` instead of raw sockets: shows the loader's own cost)
 *   --instances N (N servers of each kind, clients split across them; scriptorium-pg instances
 *                  share one database)
 *   --no-pin   --out DIR   --quiet
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Protocol } from './frames.js';
import { renderMarkdown } from './report.js';
import { type ScenarioArgs, type ScenarioName, type ScenarioResult, type Target, SCENARIOS, runScenario } from './scenarios.js';
import { REPO_ROOT, SCRIPTORIUM_MAIN, SERVER_KINDS, type RunningServer, type ServerKind, pinSelf, startServer } from './servers.js';
import { assertSmoke, runSmoke } from './smoke.js';
import { describe } from './loader.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'fanout' },
    servers: { type: 'string' },
    url: { type: 'string', multiple: true },
    protocol: { type: 'string', default: 'hocuspocus' },
    'server-pid': { type: 'string', multiple: true },
    docs: { type: 'string' },
    clients: { type: 'string' },
    writers: { type: 'string' },
    probes: { type: 'string' },
    rate: { type: 'string' },
    awareness: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    workers: { type: 'string' },
    connections: { type: 'string' },
    history: { type: 'string' },
    shape: { type: 'string' },
    concurrency: { type: 'string' },
    token: { type: 'string' },
    'scriptorium-protocol': { type: 'string', default: 'hocuspocus' },
    transport: { type: 'string' },
    pg: { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    ci: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results') },
    quiet: { type: 'boolean', default: false },
    instances: { type: 'string' },
    'ws-readers': { type: 'boolean', default: false },
  },
  strict: true,
});

const num = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new Error(`not a number: ${v}`);
  return x;
};
const asProtocol = (v: string): Protocol => {
  if (v === 'hocuspocus' || v === 'y-websocket') return v;
  throw new Error(`unknown protocol ${v} (hocuspocus | y-websocket)`);
};

async function main(): Promise<number> {
  const scenario = values.scenario as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario} (${SCENARIOS.join(' | ')})`);
  const args: ScenarioArgs = {
    docs: num(values.docs), clients: num(values.clients), writers: num(values.writers), probes: num(values.probes),
    rate: num(values.rate), awareness: num(values.awareness), duration: num(values.duration), warmup: num(values.warmup),
    workers: num(values.workers), connections: num(values.connections), history: num(values.history),
    shape: values.shape === undefined ? undefined : values.shape === 'map' || values.shape === 'text' ? values.shape : fail(`--shape must be text or map, got ${values.shape}`),
    concurrency: num(values.concurrency), token: values.token, ci: values.ci, progress: !values.quiet,
    wsReaders: values['ws-readers'],
  };
  const pin = !values['no-pin'] && availableParallelism() >= 2;

  // External target(s): a user's deployment. No spawning, pids only if given.
  if (values.url?.length) {
    const protocol = asProtocol(values.protocol);
    const pids = (values['server-pid'] ?? []).map(Number);
    if (values.smoke) {
      const r = await runSmoke({ url: values.url[0]!, protocol, serverPid: pids[0], token: values.token });
      console.log(describe(r));
      assertSmoke(r);
      console.log('smoke OK');
      return 0;
    }
    const target: Target = { label: values.url.join(' + '), protocol, urls: values.url, pids: () => pids };
    return report(scenario, [await runScenario(scenario, target, args)]);
  }

  if (values.smoke) {
    const server = await startServer('scriptorium-mem', serverOptions(null));
    try {
      const r = await runSmoke({ url: server.url, protocol: server.protocol, serverPid: server.pid() });
      console.log(describe(r));
      assertSmoke(r);
      console.log('smoke OK');
      return 0;
    } finally {
      await server.stop();
    }
  }

  // Loader on core 1 (inherited by its worker processes), servers on core 0.
  if (pin && !pinSelf(1)) process.stderr.write('warning: could not pin the loader (taskset missing?)\n');
  const defaults: ServerKind[] =
    scenario === 'cold-load' ? ['scriptorium-pg'] : ['scriptorium-pg', 'scriptorium-mem', 'hocuspocus', 'y-websocket'];
  const kinds = (values.servers ? values.servers.split(',') : defaults) as ServerKind[];
  for (const k of kinds) if (!SERVER_KINDS.includes(k)) throw new Error(`unknown server ${k} (${SERVER_KINDS.join(' | ')})`);

  const instances = Math.max(1, Math.trunc(num(values.instances) ?? 1));
  const rows: ScenarioResult[] = [];
  for (const kind of kinds) {
    if (kind.startsWith('scriptorium') && !existsSync(SCRIPTORIUM_MAIN)) {
      process.stderr.write(`skipping ${kind}: ${SCRIPTORIUM_MAIN} not built\n`);
      continue;
    }
    // --instances N: N servers of this kind (sharing one database for scriptorium-pg), clients
    // split across them; CPU and RSS are summed over all of them.
    const servers: RunningServer[] = [];
    try {
      for (let i = 0; i < instances; i++) {
        servers.push(await startServer(kind, { ...serverOptions(pin ? 0 : null), database: servers[0]?.database ?? null }));
      }
      const first = servers[0]!;
      const label = instances > 1 ? `${first.label} ×${instances}` : first.label;
      const restart = instances > 1 ? undefined : () => first.restart();
      const target: Target = { label, protocol: first.protocol, urls: servers.map((s) => s.url), pids: () => servers.map((s) => s.pid()), restart };
      rows.push(await runScenario(scenario, target, args));
    } catch (err) {
      process.stderr.write(`${kind} failed: ${(err as Error).stack}\n${servers.map((s) => s.tail()).join('\n')}\n`);
    } finally {
      // The first instance owns the throwaway database: stop it last.
      for (const server of servers.reverse()) {
        await server.stop().catch((e: Error) => process.stderr.write(`stopping ${kind}: ${e.message}\n`));
      }
    }
  }
  return report(scenario, rows);
}

function serverOptions(cpu: number | null) {
  return {
    cpu,
    transport: values.transport,
    scriptoriumProtocol: asProtocol(values['scriptorium-protocol']),
    pgAdminUrl: values.pg,
  };
}

/** The commit the figures belong to (`+dirty` when the work tree has changes). */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT }).toString().trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

function report(scenario: string, rows: ScenarioResult[]): number {
  const md = renderMarkdown(scenario, rows);
  const when = new Date().toISOString();
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${hostname()}, Node ${process.version}`;
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const header = `## ${scenario} — ${when}\n\nMachine: ${machine}\nCommit: ${gitCommit()}\nCommand: \`${command}\`\n\n`;
  console.log('\n' + header + md);
  mkdirSync(values.out, { recursive: true });
  const stamp = when.replace(/[:.]/g, '-');
  writeFileSync(
    join(values.out, `${scenario}-${stamp}.json`),
    JSON.stringify({ scenario, when, machine, commit: gitCommit(), command, rows }, null, 2),
  );
  writeFileSync(join(values.out, `${scenario}-${stamp}.md`), header + md);
  process.stderr.write(`results written to ${values.out}/${scenario}-${stamp}.{json,md}\n`);
  return rows.length > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
