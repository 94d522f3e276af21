/**
 * The `agent-flush` scenario (y/hub's Y3.5): M agents each flush one large update into one
 * document at the same moment — a section of a paper of about 413 KB, the size of y/hub's
 * 10,000-cell batch — while a person types there a few keystrokes a second.
 *
 * Measured: each keystroke's arrival at a second client of the document (y/hub's propagation:
 * what a collaborator, or the person's other tab, sees), the person's own acknowledgements,
 * each agent's acknowledgement (Scriptorium acknowledges once the update is committed), and
 * whether every flush is kept: a fresh client loads the document while it is open, and, on a
 * server with storage, again after a restart.
 */
import * as Y from 'yjs';
import { type ClientContext, Reader, Writer, standaloneContext } from './clients.js';
import { Joiner, applyState, missingClients } from './joiner.js';
import type { RawLinkOptions } from './links.js';
import { sizedPaper } from './paper-fixture.js';
import { readCpuSeconds, readMachineBusySeconds, readMemory, resetPeakRss } from './proc.js';
import { busyMachineNote, formatNumber, targetCell, withRatios } from './report.js';
import type { ScenarioArgs, ScenarioResult, Target } from './scenarios.js';
import { Histogram, type LatencySummary, nowMs, summarize } from './stats.js';

/** y/hub's Y3.5: 50 agents, each flushing 10,000 cells (413.4 KiB). */
export const AGENTS = 50;
export const FLUSH_BYTES = Math.round(413.4 * 1024);
export const AGENTS_CI = 5;
export const FLUSH_BYTES_CI = Math.round(41.3 * 1024);
/** The person's keystrokes per second. */
const TYPING_RATE = 5;
const DELIVERY_P99_TARGET_MS = 500;
const SEED = 20260825;
/** The others' flushes an agent receives are counted, not assembled. */
const PASS_OVER: RawLinkOptions = { keepFramesUpTo: 64 * 1024 };

export interface AgentFlushReport {
  agents: number;
  /** Bytes of one agent's update (their mean). */
  flushBytes: number;
  /** Bytes the agents sent, and received (the others' flushes: the broadcast). */
  bytesIn: number;
  bytesOut: number;
  /** First flush sent → last agent acknowledgement (or the time-out). */
  flushToLastAckMs: number;
  /** Each agent's flush → its acknowledgement. */
  agentAckMs: LatencySummary;
  acked: number;
  refused: number;
  /** The person's keystrokes while the agents flush, and their arrival at the person's second client. */
  keystrokes: number;
  deliveryMs: LatencySummary;
  /** Keystrokes the second client never received. */
  undelivered: number;
  personAckMs: LatencySummary | null;
  /** Agents whose flush a fresh client loads while the document is open (null: the load failed). */
  held: number | null;
  /** The same after a restart; null when the server keeps documents in memory (or cannot be restarted). */
  stored: number | null;
  loadProblem: string | null;
  serverCpuSec: number | null;
  peakRssKb: number | null;
  loaderCpuSec: number;
  otherCpuPct: number | null;
}

class Agent extends Writer {
  protected override linkOptions(): RawLinkOptions {
    return PASS_OVER;
  }
}

/** Each agent's update, by run shape: generated once for every server of a run (a couple of shapes at most). */
const flushes = new Map<string, Uint8Array[]>();
const FLUSH_SETS_KEPT = 2;

function flushesOf(agents: number, bytes: number): Uint8Array[] {
  const key = `${agents}:${bytes}`;
  let set = flushes.get(key);
  if (!set) {
    if (flushes.size >= FLUSH_SETS_KEPT) flushes.delete(flushes.keys().next().value!);
    // One client per agent; a paper that came out in two updates is sent as one.
    set = Array.from({ length: agents }, (_, i) => Y.mergeUpdates(sizedPaper(bytes, bytes, SEED + i).updates));
    flushes.set(key, set);
  }
  return set;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sum(pids: number[], read: (pid: number) => number | null): number | null {
  let total = 0;
  for (const pid of pids) {
    const v = read(pid);
    if (v === null) return null;
    total += v;
  }
  return pids.length > 0 ? total : null;
}

/** A fresh client's load of the document: how many of the agents' flushes (each one's state vector) it holds whole. */
async function loadHeld(
  ctx: ClientContext,
  name: string,
  url: string,
  agents: ReadonlyArray<ReadonlyMap<number, number>>,
  timeoutMs: number,
): Promise<number> {
  const joiner = new Joiner(ctx, name, url, true);
  try {
    await joiner.open(timeoutMs);
    if (!joiner.state) throw new Error('no state received');
    const { doc } = applyState(joiner.state);
    const held = agents.filter((flush) => missingClients(doc, flush) === 0).length;
    doc.destroy();
    return held;
  } finally {
    ctx.closing = true;
    joiner.close();
    ctx.closing = false;
  }
}

export async function runAgentFlush(target: Target, a: ScenarioArgs): Promise<ScenarioResult> {
  const agents = a.agents ?? (a.ci ? AGENTS_CI : AGENTS);
  const bytes = a.flushBytes ?? (a.ci ? FLUSH_BYTES_CI : FLUSH_BYTES);
  const rate = a.rate ?? TYPING_RATE;
  const timeoutMs = a.ci ? 30_000 : 300_000;
  const token = target.auth?.token ?? a.token ?? 'bench';
  const tokenInUrl = Boolean(target.auth) || a.token !== undefined;
  const log = (s: string): void => {
    if (a.progress ?? true) process.stderr.write(`[${target.label} agent-flush] ${s}\n`);
  };
  const generated = nowMs();
  const updates = flushesOf(agents, bytes);
  log(`${agents} flushes of ${formatNumber(updates[0]!.byteLength / 1024, 1)} KiB ready in ${((nowMs() - generated) / 1000).toFixed(1)} s`);
  const agentClocks = updates.map((u) => Y.decodeStateVector(Y.encodeStateVectorFromUpdate(u)));

  const name = `bench-agents-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  await target.auth?.addDocuments([name]);
  const url = (i: number): string => target.urls[i % target.urls.length]!;
  const agentCtx = standaloneContext(target.protocol, token, tokenInUrl);
  const personCtx = standaloneContext(target.protocol, token, tokenInUrl);
  personCtx.observerLatency = new Histogram();
  const crowd = Array.from({ length: agents }, (_, i) => new Agent(agentCtx, name, url(i), i));
  const person = new Writer(personCtx, name, url(0), 0);
  // Whole messages: a server may merge a keystroke into a flush (forEachEdit finds it there).
  const secondView = new Reader(personCtx, name, url(1));
  await Promise.all([...crowd, person, secondView].map((c) => c.open(timeoutMs)));
  log(`${agents} agents, the person and their second view connected`);

  const agentAcks = new Histogram();
  let acked = 0;
  let refused = 0;
  let lastAckAt = 0;
  for (const agent of crowd) {
    agent.onAck = (sentAt, applied) => {
      const now = nowMs();
      agentAcks.record(now - sentAt);
      lastAckAt = now;
      if (applied) acked++;
      else refused++;
    };
  }

  // The person types from a little before the flush to a little after the last acknowledgement.
  const pids = target.pids();
  personCtx.windowStart = nowMs();
  const typing = setInterval(() => person.edit(), 1000 / rate);
  await sleep(a.ci ? 500 : 1000);
  const hwmReset = pids.length > 0 && pids.every(resetPeakRss);
  const cpu0 = sum(pids, readCpuSeconds);
  const busy0 = readMachineBusySeconds();
  const self0 = process.cpuUsage();
  const flushedAt = nowMs();
  crowd.forEach((agent, i) => agent.sendUpdate(updates[i]!));
  const deadline = flushedAt + timeoutMs;
  const answered = (): number => (target.protocol === 'hocuspocus' ? acked + refused : agents);
  while (answered() < agents && nowMs() < deadline) await sleep(20);
  const flushToLastAckMs = (answered() === agents ? lastAckAt || nowMs() : nowMs()) - flushedAt;
  log(`${acked} of ${agents} flushes acknowledged (${refused} refused) ${formatNumber(flushToLastAckMs, 0)} ms after the flush`);
  await sleep(a.ci ? 1000 : 2000);
  clearInterval(typing);
  personCtx.windowEnd = nowMs();
  // The last keystrokes arrive and are acknowledged.
  const drainUntil = nowMs() + 10_000;
  while ((secondView.editsIn < person.seq || person.unacked > 0) && nowMs() < drainUntil) await sleep(20);
  const cpu1 = sum(pids, readCpuSeconds);
  const busy1 = readMachineBusySeconds();
  const self = process.cpuUsage(self0);
  const elapsedSec = (nowMs() - flushedAt) / 1000;
  const peakRssKb = hwmReset ? sum(pids, (p) => readMemory(p)?.hwmKb ?? null) : null;

  // Whether every flush is kept: loaded while the document is open, and after a restart.
  const checkCtx = standaloneContext(target.protocol, token, tokenInUrl);
  let loadProblem: string | null = null;
  const held = await loadHeld(checkCtx, name, url(0), agentClocks, timeoutMs).catch((e: Error) => {
    loadProblem = `open document: ${e.message}`;
    return null;
  });
  for (const ctx of [agentCtx, personCtx]) ctx.closing = true;
  for (const c of [...crowd, person, secondView]) c.close();
  let stored: number | null = null;
  const durable = target.restart !== undefined && ((await target.storageBytes?.()) ?? null) !== null;
  if (durable) {
    await target.restart!();
    stored = await loadHeld(checkCtx, name, url(0), agentClocks, timeoutMs).catch((e: Error) => {
      loadProblem = `${loadProblem ? `${loadProblem}; ` : ''}after a restart: ${e.message}`;
      return 0;
    });
  }
  const serverCpuSec = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  const loaderCpuSec = (self.user + self.system) / 1e6;
  const report: AgentFlushReport = {
    agents,
    flushBytes: updates.reduce((s, u) => s + u.byteLength, 0) / agents,
    bytesIn: updates.reduce((s, u) => s + u.byteLength, 0),
    bytesOut: agentCtx.counters.bytesIn,
    flushToLastAckMs,
    agentAckMs: summarize(agentAcks),
    acked,
    refused,
    keystrokes: person.seq,
    deliveryMs: summarize(personCtx.observerLatency),
    undelivered: Math.max(0, person.seq - secondView.editsIn),
    personAckMs: target.protocol === 'hocuspocus' ? summarize(personCtx.ack) : null,
    held,
    stored,
    loadProblem,
    serverCpuSec,
    peakRssKb,
    loaderCpuSec,
    otherCpuPct: busy0 !== null && busy1 !== null ? ((busy1 - busy0 - loaderCpuSec - (serverCpuSec ?? 0)) / elapsedSec) * 100 : null,
  };
  log(
    `keystroke delivery p50/p99/max ${formatNumber(report.deliveryMs.p50, 1)}/${formatNumber(report.deliveryMs.p99, 1)}/${formatNumber(report.deliveryMs.max, 1)} ms, ` +
      `${report.undelivered} of ${report.keystrokes} not delivered; flushes held ${held ?? 'n/a'}, stored ${stored ?? 'n/a'} of ${agents}`,
  );
  return { scenario: 'agent-flush', label: target.label, protocol: target.protocol, main: null, agentFlush: report };
}

export function renderAgentFlush(rows: ScenarioResult[]): string {
  const refOf = (peer: string, label: string): AgentFlushReport | undefined =>
    peer === label ? undefined : rows.find((r) => r.label === peer)?.agentFlush;
  let out =
    "| server | agents × flush KiB | in / out MB | flush → last ack ms | agent ack p50 / p99 ms | acked (refused) | keystrokes | keystroke delivery p50 / p99 / max ms | target p99 ≤ 500 ms | not delivered | person's ack p99 ms | flushes held open / stored after a restart | target every flush stored | server CPU s | server peak RSS MB | loader CPU s | other CPU |\n" +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    const f = row.agentFlush;
    if (!f) {
      out += `| ${row.label} | no result ||||||||||||||||\n`;
      continue;
    }
    const peers: Array<[string, AgentFlushReport | undefined]> = [
      ['H', refOf('hocuspocus', row.label)],
      ['F', refOf('floor', row.label)],
    ];
    const refs = (pick: (r: AgentFlushReport) => number | null | undefined): Array<[string, number | null | undefined]> =>
      peers.map(([label, r]) => [label, r ? pick(r) : undefined]);
    // y-websocket has no acknowledgements: there, stored is the load after the restart alone.
    const everyAcked = row.protocol !== 'hocuspocus' || f.acked === f.agents;
    const p99 = f.deliveryMs.p99;
    const stored = f.stored === null ? 'in memory' : `${f.stored}`;
    out +=
      `| ${row.label} | ${f.agents} × ${formatNumber(f.flushBytes / 1024, 1)} | ${formatNumber(f.bytesIn / 1e6, 1)} / ${formatNumber(f.bytesOut / 1e6, 0)} | ` +
      `${withRatios(
        f.flushToLastAckMs,
        refs((r) => r.flushToLastAckMs),
        0,
      )} | ${formatNumber(f.agentAckMs.p50, 0)} / ${formatNumber(f.agentAckMs.p99, 0)} | ${f.acked} (${f.refused}) | ${f.keystrokes} | ` +
      `${formatNumber(f.deliveryMs.p50, 1)} / ${withRatios(
        p99,
        refs((r) => r.deliveryMs.p99),
        1,
      )} / ${formatNumber(f.deliveryMs.max, 0)} | ` +
      `${targetCell(p99 === null ? null : p99 <= DELIVERY_P99_TARGET_MS && f.undelivered === 0)} | ${f.undelivered} | ${formatNumber(f.personAckMs?.p99, 1)} | ` +
      `${f.held ?? 'n/a'} / ${stored} of ${f.agents}${f.loadProblem ? ` (**${f.loadProblem}**)` : ''} | ${targetCell(f.stored === null ? null : f.stored === f.agents && everyAcked)} | ` +
      `${withRatios(
        f.serverCpuSec,
        refs((r) => r.serverCpuSec),
        1,
      )} | ${formatNumber(f.peakRssKb === null ? null : f.peakRssKb / 1024, 0)} | ${formatNumber(f.loaderCpuSec, 1)} | ${formatNumber(f.otherCpuPct, 0)} % |\n`;
  }
  out +=
    '\nM agents each send one update (a generated section of a paper, its own client) into one document at the same moment; a person types ' +
    `${TYPING_RATE} keystrokes/s there from 1 s before to 2 s after the last acknowledgement. Keystroke delivery: sent → arrival at the person's second client ` +
    '(what a collaborator sees; the target applies to it). Held / stored: agents whose whole flush a fresh client loads while the document is open, and after a ' +
    'restart (a server with storage; "in memory": none). Server CPU from the flush to the last keystroke delivered. Ratios against Hocuspocus (H) and the relay-only floor (F), ' +
    'which acknowledges without storing.\n' +
    busyMachineNote(
      rows.map((r) => r.agentFlush?.otherCpuPct ?? null),
      0,
      'runs',
      'the servers got a share of their core, and the times describe the machine as much as the servers',
    ) +
    '\ny/hub, published (yjs/yhub benchmarks/RESULTS.md Y3.5, 2026-08, i7-1370P with 20 threads, Node 24): 50 agents × 413.4 KiB, ' +
    'total out 1,009 MB, 55.5 s, server CPU 92.0 s, propagation p50 3.6 ms, p99 7,297 ms, 3 of 20 edits not delivered.\n';
  return out;
}
