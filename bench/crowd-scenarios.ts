/**
 * Crowds in one document, on the loader (loader.ts runLoad) with y/hub's definitions:
 *
 * - `observers` (Y4.1, Y4.2): one writer at 50 edits/s and N observers, without and with
 *   awareness. Every observer times every edit it receives (the writer's send time is in the
 *   edit) and counts them; a few probes spread over the crowd apply everything with Yjs and
 *   prove nothing is lost. Server CPU per update per observer = CPU s per million deliveries,
 *   in µs. With awareness, every observer is present at 1 Hz (the presence scenario's rate;
 *   y/hub's Y4.2 sent presence with every edit, 50 Hz per observer) and the writer moves its
 *   cursor with every edit.
 * - `presence` (Y4.3): N clients present at 1 Hz, no edits: the server's CPU (% of one core),
 *   and at probes spread over the crowd the delivery of the others' states and any update they
 *   never caught up with — with the server's awareness bounds at their defaults.
 */
import type { LoadResult } from './loader.js';
import { busyMachineNote, formatNumber, targetCell, withRatios } from './report.js';
import { type ScenarioArgs, type ScenarioResult, type Target, baseOptions, load } from './scenarios.js';

/** One load of the crowd: its size, whether it was present, and what the loader measured. */
export interface CrowdRun {
  /** Observers (observers) or present clients (presence). */
  clients: number;
  awareness: boolean;
  result: LoadResult;
}

/** y/hub's observer counts (scale.observers, above 10), and `--ci`'s. */
export const OBSERVER_COUNTS = [100, 500, 1500];
export const OBSERVER_CI_COUNTS = [20];
/** y/hub's Y4.1 writer: 50 edits, 20 ms apart. */
const OBSERVER_EDIT_RATE = 50;
export const PRESENCE_COUNTS = [500, 1500];
export const PRESENCE_CI_COUNTS = [30];
const PRESENCE_RATE = 1;
/** The crowd the targets are set for (issue 20), and the targets. */
const TARGET_CROWD = 1500;
const OBSERVER_P99_TARGET_MS = 50;
const PRESENCE_P99_TARGET_MS = 100;
const PRESENCE_CPU_TARGET_PCT = 50;

const log = (a: ScenarioArgs, s: string): void => {
  if (a.progress ?? true) process.stderr.write(`${s}\n`);
};

function describeRun(label: string, run: CrowdRun): string {
  const r = run.result;
  return (
    `${label} ${run.clients}${run.awareness ? ' +awareness' : ''}: ${r.connections.connected}/${r.connections.attempted} connected, ` +
    `edit delivery p99 ${formatNumber(r.observers.latencyMs.p99, 1)} ms, not received ${r.observers.missingEdits}/${r.observers.expectedEdits}, ` +
    `presence p99 ${formatNumber(r.presence.latencyMs.p99, 1)} ms, presence lost ${r.presence.missing}/${r.presence.expected}, ` +
    `server CPU ${formatNumber(r.server.cpuPct, 0)} %, loader CPU ${formatNumber(r.loader.cpuPct, 0)} %${r.loader.bottleneck ? ` [LOADER-BOUND: ${r.loader.note}]` : ''}`
  );
}

export async function runObservers(target: Target, a: ScenarioArgs): Promise<ScenarioResult> {
  const counts = a.clients !== undefined ? [a.clients] : a.ci ? OBSERVER_CI_COUNTS : OBSERVER_COUNTS;
  const runs: CrowdRun[] = [];
  for (const awareness of [false, true]) {
    for (const observers of counts) {
      const o = baseOptions(target, a, `${target.label} observers ${observers}${awareness ? ' +awareness' : ''}`);
      const rate = a.rate ?? OBSERVER_EDIT_RATE;
      Object.assign(o, {
        docs: 1,
        clientsPerDoc: observers + 1,
        writersPerDoc: 1,
        probesPerDoc: a.probes ?? 4,
        rate,
        awarenessRate: awareness ? rate : 0,
        presenceRate: awareness ? (a.awareness ?? PRESENCE_RATE) : 0,
        timedReaders: true,
        spreadProbes: true,
        warmupSec: a.warmup ?? (a.ci ? 1 : 2),
        durationSec: a.duration ?? (a.ci ? 1.5 : 10),
        workers: a.workers ?? 1,
      });
      const run: CrowdRun = { clients: observers, awareness, result: await load(target, o) };
      log(a, describeRun(target.label, run));
      runs.push(run);
    }
  }
  return { scenario: 'observers', label: target.label, protocol: target.protocol, main: null, observers: runs };
}

export async function runPresence(target: Target, a: ScenarioArgs): Promise<ScenarioResult> {
  const counts = a.clients !== undefined ? [a.clients] : a.ci ? PRESENCE_CI_COUNTS : PRESENCE_COUNTS;
  const runs: CrowdRun[] = [];
  for (const clients of counts) {
    const o = baseOptions(target, a, `${target.label} presence ${clients}`);
    Object.assign(o, {
      docs: 1,
      clientsPerDoc: clients,
      writersPerDoc: 0,
      probesPerDoc: a.probes ?? 10,
      rate: 0,
      awarenessRate: 0,
      presenceRate: a.awareness ?? PRESENCE_RATE,
      spreadProbes: true,
      // Every client has announced itself before the window opens.
      warmupSec: a.warmup ?? (a.ci ? 1.5 : 3),
      durationSec: a.duration ?? (a.ci ? 2 : 10),
      workers: a.workers ?? 1,
    });
    const run: CrowdRun = { clients, awareness: true, result: await load(target, o) };
    log(a, describeRun(target.label, run));
    runs.push(run);
  }
  return { scenario: 'presence', label: target.label, protocol: target.protocol, main: null, presence: runs };
}

/** The Hocuspocus and floor runs of the same crowd, for ratios. */
function references(
  rows: ScenarioResult[],
  runsOf: (r: ScenarioResult) => CrowdRun[] | undefined,
  run: CrowdRun,
  label: string,
): Array<[string, LoadResult | undefined]> {
  const of = (peer: string): LoadResult | undefined => {
    const row = peer === label ? undefined : rows.find((r) => r.label === peer);
    return row ? runsOf(row)?.find((x) => x.clients === run.clients && x.awareness === run.awareness)?.result : undefined;
  };
  return [
    ['H', of('hocuspocus')],
    ['F', of('floor')],
  ];
}

/** The busy-machine warning over every run of the table. */
function busyNote(rows: ScenarioResult[], runsOf: (r: ScenarioResult) => CrowdRun[] | undefined): string {
  const runs = rows.flatMap((r) => runsOf(r) ?? []).map((run) => run.result);
  return busyMachineNote(
    runs.map((r) => r.otherCpuPct),
    runs.filter((r) => r.loader.bottleneck).length,
    'runs',
    'the servers got a share of their core, and latencies and throughput describe the machine as much as the servers',
  );
}

const lossCell = (missing: number, expected: number): string => `${missing.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')}`;
const loaderCell = (r: LoadResult): string => `${formatNumber(r.loader.cpuPct, 0)} %${r.loader.bottleneck ? ' **loader-bound**' : ''}`;

export function renderObservers(rows: ScenarioResult[]): string {
  let out =
    '| server | observers | awareness | connected (failed) | edits/s | delivery p50 / p99 / max ms, every observer | probes p99 ms | target p99 ≤ 50 ms, nothing lost | edits not received, observers / probes | server CPU µs per update per observer | server CPU | loader CPU | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    if (!row.observers) {
      out += `| ${row.label} | no result |||||||||||\n`;
      continue;
    }
    for (const run of row.observers) {
      const r = run.result;
      const refs = references(rows, (x) => x.observers, run, row.label);
      const lat = r.observers.latencyMs;
      const lost = r.observers.missingEdits + r.loss.missingEdits + r.connections.failed + r.connections.disconnects;
      const met = run.clients !== TARGET_CROWD || lat.p99 === null ? null : lat.p99 <= OBSERVER_P99_TARGET_MS && lost === 0;
      out +=
        `| ${row.label} | ${run.clients.toLocaleString('en-US')} | ${run.awareness ? 'yes' : 'no'} | ${r.connections.connected} (${r.connections.failed}) | ${formatNumber(r.updatesPerSec, 0)} | ` +
        `${formatNumber(lat.p50, 2)} / ${withRatios(
          lat.p99,
          refs.map(([l, x]) => [l, x?.observers.latencyMs.p99]),
          2,
        )} / ${formatNumber(lat.max, 1)} | ${formatNumber(r.latencyMs.p99, 2)} | ` +
        `${targetCell(met)} | ${lossCell(r.observers.missingEdits, r.observers.expectedEdits)} / ${lossCell(r.loss.missingEdits, r.loss.expectedEdits)} | ` +
        `${withRatios(
          r.server.cpuSecPerMillionDeliveries,
          refs.map(([l, x]) => [l, x?.server.cpuSecPerMillionDeliveries]),
          1,
        )} | ${formatNumber(r.server.cpuPct, 0)} % | ` +
        `${loaderCell(r)} | ${formatNumber(r.otherCpuPct, 0)} % |\n`;
    }
  }
  out +=
    "\nOne writer sends 50 edits/s into one document with N observers (plus a few probes spread over them). Delivery: the writer's send → arrival at each observer, " +
    'every observer (the time is in the edit); not received: edits an observer never got (observers count them, the probes prove it with Yjs). ' +
    "Awareness: every observer present at 1 Hz and the writer's cursor moving with each edit (y/hub's Y4.2 sent presence with every edit). " +
    'Server CPU per update per observer: its CPU over the window / (edits × observers). Ratios against Hocuspocus (H) and the relay-only floor (F).\n' +
    busyNote(rows, (r) => r.observers) +
    '\ny/hub, published (yjs/yhub benchmarks/RESULTS.md Y4.1, 2026-08, i7-1370P with 20 threads, Node 24; 50 edits, propagation of 20 separate edits): ' +
    '100 observers p99 7.4 ms, 40.2 µs per update per observer; 500: p99 28.3 ms, 15.8 µs; 1,500: p99 44.3 ms, 14.4 µs, nothing lost.\n';
  return out;
}

export function renderPresence(rows: ScenarioResult[]): string {
  let out =
    '| server | clients | connected (failed) | presence updates sent/s | server CPU, % of a core | target ≤ 50 % | delivery p50 / p99 / max ms | target p99 ≤ 100 ms | lost | target nothing lost | awareness frames received/s, all clients | server CPU µs per delivery | loader CPU | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    if (!row.presence) {
      out += `| ${row.label} | no result |||||||||||||\n`;
      continue;
    }
    for (const run of row.presence) {
      const r = run.result;
      const refs = references(rows, (x) => x.presence, run, row.label);
      const lat = r.presence.latencyMs;
      const atTarget = run.clients === TARGET_CROWD;
      const lost = r.presence.missing + r.connections.failed;
      const delivered = lost === 0 && lat.p99 !== null;
      const deliveries = r.awarenessSentPerSec * r.windowSec * (run.clients - 1);
      const usPerDelivery = r.server.cpuSec === null || deliveries === 0 ? null : (r.server.cpuSec * 1e6) / deliveries;
      out +=
        `| ${row.label} | ${run.clients.toLocaleString('en-US')} | ${r.connections.connected} (${r.connections.failed}) | ${formatNumber(r.awarenessSentPerSec, 0)} | ` +
        `${withRatios(
          r.server.cpuPct,
          refs.map(([l, x]) => [l, x?.server.cpuPct]),
          0,
        )} | ${targetCell(atTarget && delivered && r.server.cpuPct !== null ? r.server.cpuPct <= PRESENCE_CPU_TARGET_PCT : null)} | ` +
        `${formatNumber(lat.p50, 1)} / ${withRatios(
          lat.p99,
          refs.map(([l, x]) => [l, x?.presence.latencyMs.p99]),
          1,
        )} / ${formatNumber(lat.max, 0)} | ` +
        `${targetCell(atTarget && lat.p99 !== null ? lat.p99 <= PRESENCE_P99_TARGET_MS : null)} | ${lossCell(r.presence.missing, r.presence.expected)}` +
        `${r.presence.unheard > 0 ? ` (${r.presence.unheard.toLocaleString('en-US')} clients never heard)` : ''} | ${targetCell(atTarget ? lost === 0 : null)} | ` +
        `${formatNumber(r.awarenessFramesInPerSec, 0)} | ${formatNumber(usPerDelivery, 2)} | ${loaderCell(r)} | ${formatNumber(r.otherCpuPct, 0)} % |\n`;
    }
  }
  out +=
    '\nN clients in one document each send a presence state (a Tiptap caret: name, colour, anchor and head) once a second, at random phases, no edits; ' +
    "the server's awareness bounds at their defaults (server/config.ts MAX_AWARENESS_*). Delivery and loss at 10 probes spread over the crowd: " +
    "a state's send time (in the state) → its arrival; lost: updates of another client a probe never caught up with (no later one of that client arrived either); " +
    'never heard: clients no probe received anything from (refused by a bound rather than late). The CPU target counts only where every update was delivered. ' +
    'Server CPU per delivery: its CPU / (updates × (N − 1)). Ratios against Hocuspocus (H) and the relay-only floor (F).\n' +
    busyNote(rows, (r) => r.presence) +
    '\ny/hub, published (yjs/yhub benchmarks/RESULTS.md Y4.3, 2026-08, i7-1370P with 20 threads, Node 24; 5 ticks at 1 Hz, large state): ' +
    '500 clients 132.6 % of a core (small state: 103.4 %), event-loop p99 1,653 ms; 1,500 clients 175.6 % (small: 152.3 %), event-loop p99 7,667 ms. ' +
    'Y4.2 (presence with every edit), 1,500 observers: 30,000 of 30,000 propagation samples never delivered.\n';
  return out;
}
