/**
 * `npm run bench -- [options]`: runs one scenario against Scriptorium and the peers, one server
 * after another on the same machine with the same load, prints a Markdown table with ratios vs
 * Hocuspocus and writes JSON + Markdown to bench/results/. Options: `npm run bench -- --help`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseCli } from '../server/command-line.js';
import type { Protocol } from './frames.js';
import { renderMarkdown } from './report.js';
import { type ScenarioArgs, type ScenarioName, type ScenarioResult, type Target, SCENARIOS, runScenario } from './scenarios.js';
import { REPO_ROOT, SCRIPTORIUM_MAIN, SERVER_KINDS, type RunningServer, type ServerKind, pinSelf, startServer } from './servers.js';
import { gitCommit, machineDescription } from './run-info.js';
import { assertSmoke, runSmoke } from './smoke.js';
import { describe } from './loader.js';
import { SCALEOUT_CONFIGURATIONS, SCALEOUT_KINDS, runScaleout } from './scaleout.js';
import { TRACE_CI_KEYSTROKES, TRACE_DEFAULT_WINDOW, renderTraceMarkdown } from './trace-scenario.js';
import { renderJoinStorm } from './join-storm.js';
import { renderObservers, renderPresence } from './crowd-scenarios.js';
import { AGENTS, AGENTS_CI, FLUSH_BYTES, FLUSH_BYTES_CI, renderAgentFlush } from './agent-flush.js';
import { renderStorageMarkdown, runStorage } from './storage-scenario.js';

const PROTOCOLS: Protocol[] = ['hocuspocus', 'y-websocket'];
/** Scenarios with their own tables; the others render through report.ts. */
const RENDERERS: Partial<Record<string, (rows: ScenarioResult[]) => string>> = {
  trace: renderTraceMarkdown,
  'join-storm': renderJoinStorm,
  observers: renderObservers,
  presence: renderPresence,
  'agent-flush': renderAgentFlush,
  storage: renderStorageMarkdown,
};

const cli = parseCli({
  command: 'npm run bench --',
  summary: `Runs one scenario against Scriptorium and the peer servers (Hocuspocus, y-websocket, the
relay-only floor), one server after another on this machine with the same load; prints a
Markdown table with ratios against Hocuspocus and writes bench/results/<scenario>-<time>.{json,md}.
Unset load options take the scenario's defaults (see BENCHMARKS.md).`,
  options: {
    scenario: { type: 'string', default: 'fanout', value: 'NAME', description: `${SCENARIOS.join(' | ')}` },
    servers: {
      type: 'string',
      value: 'LIST',
      description:
        `comma-separated servers to run, one after another, of:\n${SERVER_KINDS.join(', ')}\n(default: scriptorium-pg,scriptorium-mem,hocuspocus,y-websocket;\ncold-load: scriptorium-pg; trace, join-storm: scriptorium-pg,hocuspocus;\n` +
        'observers, presence, agent-flush: scriptorium-pg,hocuspocus,floor)',
    },
    url: {
      type: 'string',
      multiple: true,
      value: 'URL',
      description: 'load a running deployment (ws:// or wss://), start no servers;\nseveral URLs: clients are split across them',
    },
    protocol: { type: 'string', default: 'hocuspocus', value: 'NAME', description: 'protocol spoken to --url: hocuspocus | y-websocket' },
    'server-pid': { type: 'string', multiple: true, value: 'PID', description: "with --url: sample this process's CPU and memory" },
    docs: { type: 'string', value: 'N', description: 'documents' },
    clients: {
      type: 'string',
      value: 'N',
      description: 'clients per document (join-storm: joiners; observers: observers;\npresence: present clients)',
    },
    writers: { type: 'string', value: 'N', description: 'writers per document' },
    probes: { type: 'string', value: 'N', description: 'latency probes per document' },
    rate: {
      type: 'string',
      value: 'N',
      description: "updates per second per writer (saturation: the starting rate;\nagent-flush: the person's keystrokes)",
    },
    awareness: {
      type: 'string',
      value: 'N',
      description: 'cursor moves per second per writer (observers, presence: presence\nupdates per second per client)',
    },
    duration: { type: 'string', value: 'S', description: 'measurement window in seconds' },
    warmup: { type: 'string', value: 'S', description: 'warm-up in seconds' },
    workers: { type: 'string', value: 'N', description: 'loader worker processes (0: in this process)' },
    connections: { type: 'string', value: 'N', description: 'density: idle connections' },
    history: { type: 'string', value: 'N', description: 'cold-load: logged updates per document' },
    shape: { type: 'string', value: 'NAME', description: 'cold-load document shape: text | map' },
    concurrency: { type: 'string', value: 'N', description: 'connections opened at once' },
    keystrokes: {
      type: 'string',
      value: 'N',
      description: `trace: keystrokes of the automerge-paper trace to replay, or all\n(default: all 259,778; --ci: ${TRACE_CI_KEYSTROKES})`,
    },
    window: {
      type: 'string',
      value: 'N',
      description: `trace: unacknowledged edits in flight before the next keystroke\nwaits (default: ${TRACE_DEFAULT_WINDOW})`,
    },
    sizes: {
      type: 'string',
      value: 'LIST',
      description: 'join-storm: document sizes in MiB, comma-separated (default: 4,20;\n--ci: 0.25)',
    },
    agents: { type: 'string', value: 'N', description: `agent-flush: agents flushing at once (default: ${AGENTS}; --ci: ${AGENTS_CI})` },
    'flush-kb': {
      type: 'string',
      value: 'N',
      description: `agent-flush: KiB of each agent's update (default: ${(FLUSH_BYTES / 1024).toFixed(1)};\n--ci: ${(FLUSH_BYTES_CI / 1024).toFixed(1)})`,
    },
    token: {
      type: 'string',
      value: 'TOKEN',
      description:
        'token the clients send: Hocuspocus Auth, and ?token= for y-websocket\n(default: bench, in Auth only; scriptorium-pg-auth: a token it mints)',
    },
    'scriptorium-protocol': {
      type: 'string',
      default: 'hocuspocus',
      value: 'NAME',
      description: 'protocol spoken to Scriptorium: hocuspocus | y-websocket (/y/<doc>)\n',
    },
    transport: { type: 'string', value: 'NAME', description: "Scriptorium's TRANSPORT: uws | ws | auto" },
    pg: {
      type: 'string',
      default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      value: 'URL',
      description: 'PostgreSQL admin URL; scriptorium-pg gets a throwaway database in it\n',
    },
    ci: { type: 'boolean', default: false, description: 'small and quick defaults (CI)' },
    smoke: {
      type: 'boolean',
      default: false,
      description: 'tiny fan-out against scriptorium-mem (or the first --url);\nexit code 1 on any loss',
    },
    'no-pin': { type: 'boolean', default: false, description: 'do not pin servers and loader to separate cores' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results'), value: 'DIR', description: 'where results are written' },
    quiet: { type: 'boolean', default: false, description: 'no progress lines' },
    instances: {
      type: 'string',
      value: 'N',
      description:
        'N servers of each kind, clients split across them (scriptorium-pg\ninstances share one database); CPU and RSS are summed (default: 1)',
    },
    'ws-readers': {
      type: 'boolean',
      default: false,
      description: "bulk readers on `ws` instead of raw sockets (shows the loader's own cost)",
    },
    configurations: {
      type: 'string',
      value: 'LIST',
      description: `scaleout: which of ${SCALEOUT_CONFIGURATIONS.join(', ')} to run\n(default: all three, in that order)`,
    },
    'redis-server': {
      type: 'string',
      default: 'redis-server',
      value: 'PATH',
      description: 'scaleout: the redis-server binary it starts a throwaway Redis with',
    },
    'redis-cpu': {
      type: 'string',
      default: '1',
      value: 'N',
      description: "scaleout: core Redis is pinned to (the loader's; the servers have core 0)",
    },
  },
  environment: [
    { name: 'BENCH_PG_URL', description: 'default for --pg' },
    { name: 'BENCH_WORKER_CPU_PROF', description: 'directory: write a CPU profile of each loader worker' },
    {
      name: 'BENCH_SERVER_CPU_PROF',
      description:
        'directory: write a CPU profile of each server it starts (when it stops or restarts;\nsummarise one with node dist/bench/cpu-profile-summary.js)',
    },
  ],
  notes: `Examples:
  npm run bench -- --scenario saturation --servers scriptorium-mem,hocuspocus
  npm run bench -- --scenario density --connections 10000
  npm run bench -- --url ws://10.0.0.5:1234/ --url ws://10.0.0.6:1234/ --protocol hocuspocus
  npm run bench -- --scenario scaleout          # 1 instance, 1 with Redis, 2 over Redis (PostgreSQL)
  npm run bench -- --scenario trace             # the automerge-paper editing trace, scriptorium-pg vs hocuspocus
  npm run bench -- --scenario join-storm        # 150 clients join a 4 and a 20 MiB paper at once
  npm run bench -- --scenario observers         # 1 writer, 100/500/1,500 observers, without and with awareness
  npm run bench -- --scenario presence          # 500 and 1,500 clients present at 1 Hz, no edits
  npm run bench -- --scenario agent-flush       # 50 agents flush 413 KiB each while a person types
  npm run bench -- --scenario storage           # database bytes, write amplification, cold loads (storage layer)
  npm run bench -- --smoke`,
});
const { values } = cli;

// Every argument is checked here, before any server starts.
const count = (name: keyof typeof values, min = 0) => cli.number(values[name] as string | undefined, `--${name}`, { integer: true, min });
const amount = (name: keyof typeof values) => cli.number(values[name] as string | undefined, `--${name}`, { min: 0 });
const scenario: ScenarioName = cli.oneOf(values.scenario, '--scenario', SCENARIOS)!;
const protocol: Protocol = cli.oneOf(values.protocol, '--protocol', PROTOCOLS)!;
const scriptoriumProtocol: Protocol = cli.oneOf(values['scriptorium-protocol'], '--scriptorium-protocol', PROTOCOLS)!;
const transport = cli.oneOf(values.transport, '--transport', ['uws', 'ws', 'auto']);
const kinds: ServerKind[] | undefined = values.servers?.split(',').map((kind) => cli.oneOf(kind.trim(), '--servers', SERVER_KINDS)!);
const urls = values.url ?? [];
for (const url of urls) {
  let ok = false;
  try {
    ok = ['ws:', 'wss:'].includes(new URL(url).protocol);
  } catch {
    // reported below
  }
  if (!ok) cli.fail(`--url: expected a ws:// or wss:// URL, got '${url}'`);
}
const configurations = values.configurations?.split(',').map((c) => cli.oneOf(c.trim(), '--configurations', SCALEOUT_CONFIGURATIONS)!);
if (scenario === 'scaleout') {
  // It starts its own instances and Redis, always over the Hocuspocus protocol.
  if (urls.length > 0) cli.fail('--url: scaleout starts its own servers');
  if (values.smoke) cli.fail('--smoke: not with --scenario scaleout');
  if (values.instances !== undefined) cli.fail('--instances: scaleout runs one and two instances itself');
  if (values['scriptorium-protocol'] !== 'hocuspocus') cli.fail('--scriptorium-protocol: scaleout speaks hocuspocus only');
  if (kinds && (kinds.length !== 1 || !(SCALEOUT_KINDS as readonly string[]).includes(kinds[0]!))) {
    cli.fail(`--servers: scaleout takes one of ${SCALEOUT_KINDS.join(', ')}`);
  }
} else if (configurations) {
  cli.fail('--configurations: only with --scenario scaleout');
}
// Checked against this machine's cores only where it is used (one core: nothing is pinned).
const redisCpu = cli.number(values['redis-cpu'], '--redis-cpu', {
  integer: true,
  min: 0,
  ...(scenario === 'scaleout' ? { max: Math.max(1, availableParallelism() - 1) } : {}),
})!;
const serverPids = (values['server-pid'] ?? []).map((pid) => cli.number(pid, '--server-pid', { integer: true, min: 1 })!);
const instances = count('instances', 1) ?? 1;
const args: ScenarioArgs = {
  docs: count('docs', 1),
  clients: count('clients', 1),
  writers: count('writers'),
  probes: count('probes'),
  rate: amount('rate'),
  awareness: amount('awareness'),
  duration: amount('duration'),
  warmup: amount('warmup'),
  workers: count('workers'),
  connections: count('connections', 1),
  history: count('history'),
  shape: cli.oneOf(values.shape, '--shape', ['text', 'map'] as const),
  concurrency: count('concurrency', 1),
  token: values.token,
  ci: values.ci,
  progress: !values.quiet,
  wsReaders: values['ws-readers'],
  keystrokes: values.keystrokes === 'all' ? Number.MAX_SAFE_INTEGER : count('keystrokes', 1),
  window: count('window'),
  sizes: values.sizes?.split(',').map((mb) => Math.round(cli.number(mb.trim(), '--sizes', { min: 0.001 })! * 2 ** 20)),
  agents: count('agents', 1),
  flushBytes: values['flush-kb'] === undefined ? undefined : Math.round(cli.number(values['flush-kb'], '--flush-kb', { min: 0.1 })! * 1024),
};

async function main(): Promise<number> {
  const pin = !values['no-pin'] && availableParallelism() >= 2;

  if (scenario === 'scaleout') {
    if (!existsSync(SCRIPTORIUM_MAIN)) throw new Error(`${SCRIPTORIUM_MAIN} not built (npm run build)`);
    if (pin && !pinSelf(1)) process.stderr.write('warning: could not pin the loader (taskset missing?)\n');
    const rows = await runScaleout({
      kind: (kinds?.[0] ?? 'scriptorium-pg') as (typeof SCALEOUT_KINDS)[number],
      pgAdminUrl: values.pg,
      cpu: pin ? 0 : null,
      redisCpu: pin ? redisCpu : null,
      redisServer: values['redis-server'],
      args,
      configurations,
      transport,
    });
    return report(scenario, rows);
  }

  if (scenario === 'storage') {
    // The storage layer alone, in throwaway databases of --pg's server.
    return report(scenario, [await runStorage(values.pg, args, { trace: true, growth: true })]);
  }

  // External target(s): a user's deployment. No spawning, pids only if given.
  if (urls.length > 0) {
    if (values.smoke) {
      const r = await runSmoke({ url: urls[0]!, protocol, serverPid: serverPids[0], token: values.token });
      console.log(describe(r));
      assertSmoke(r);
      console.log('smoke OK');
      return 0;
    }
    const target: Target = { label: urls.join(' + '), protocol, urls, pids: () => serverPids };
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
    scenario === 'cold-load'
      ? ['scriptorium-pg']
      : scenario === 'trace' || scenario === 'join-storm'
        ? ['scriptorium-pg', 'hocuspocus']
        : scenario === 'observers' || scenario === 'presence' || scenario === 'agent-flush'
          ? ['scriptorium-pg', 'hocuspocus', 'floor']
          : ['scriptorium-pg', 'scriptorium-mem', 'hocuspocus', 'y-websocket'];
  const rows: ScenarioResult[] = [];
  for (const kind of kinds ?? defaults) {
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
      const target: Target = {
        label,
        protocol: first.protocol,
        urls: servers.map((s) => s.url),
        pids: () => servers.map((s) => s.pid()),
        restart,
        // scriptorium-pg-auth: instances share one database, so the first one's set-up serves all.
        auth: first.auth,
        storageBytes: () => first.storageBytes(),
      };
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
    transport,
    scriptoriumProtocol,
    pgAdminUrl: values.pg,
  };
}

function report(scenario: string, rows: ScenarioResult[]): number {
  const md = (RENDERERS[scenario] ?? ((r: ScenarioResult[]) => renderMarkdown(scenario, r)))(rows);
  const when = new Date().toISOString();
  const machine = machineDescription();
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
