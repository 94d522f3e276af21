/**
 * The `join-storm` scenario (y/hub's Y2.4): N clients join one document of a given Yjs state
 * size all at once — a deploy, a failover, everyone opening the paper at 09:00.
 *
 * The document is a generated paper (paper-fixture.ts sizedPaper), written beforehand by one
 * client that stays connected (warm: the server holds it, as Hocuspocus must). A server with
 * storage is then restarted and stormed again (cold: its first joiner makes it load the
 * paper). Each joiner's time runs from its connect to its SyncStep2 received (y/hub's
 * definition); the client's own apply is measured once, on the joiners that keep the state
 * (the first and the last to connect), which also check that it is the whole paper. Synced =
 * received + apply, what a provider waits for. The server's CPU and peak RSS cover the storm.
 */
import { type ClientContext, Writer, standaloneContext } from './clients.js';
import { Joiner, applyState, missingClients } from './joiner.js';
import { type SizedPaper, sizedPaper } from './paper-fixture.js';
import { readCpuSeconds, readMachineBusySeconds, readMemory, resetPeakRss } from './proc.js';
import { busyMachineNote, formatNumber, targetCell, withRatio } from './report.js';
import type { ScenarioArgs, ScenarioResult, Target } from './scenarios.js';
import { Histogram, type LatencySummary, nowMs, summarize } from './stats.js';
import { PAPER_FRAGMENT } from '../server/documents/paper.js';

const MiB = 1024 * 1024;
/** Document sizes of a full run (y/hub's 4mb and 20mb fixtures), and of `--ci`. */
export const JOIN_STORM_SIZES = [4 * MiB, 20 * MiB];
export const JOIN_STORM_CI_SIZES = [256 * 1024];
/** y/hub's scale.joinStormMax, and the `--ci` crowd. */
export const JOIN_STORM_CLIENTS = 150;
export const JOIN_STORM_CI_CLIENTS = 10;
const SEED = 20260824;
/** The paper is written in updates of about this size (under any server's message limit). */
const CHUNK_BYTES = MiB;
/** Target p99 of synced by document size (issue 20); other sizes have none. */
const TARGETS_MS: ReadonlyArray<[bytes: number, ms: number]> = [
  [4 * MiB, 1500],
  [20 * MiB, 6000],
];
/** Peak server RSS target over a storm (issue 20). */
export const JOIN_STORM_RSS_TARGET_KB = 2 * 1024 * 1024;

export function joinStormTargetMs(documentBytes: number): number | null {
  return TARGETS_MS.find(([bytes]) => Math.abs(documentBytes - bytes) < bytes * 0.1)?.[1] ?? null;
}

export interface JoinStormRow {
  /** The paper's Yjs state: the bytes of the updates that wrote it. */
  documentBytes: number;
  /** warm: the server holds the document; cold: just restarted on its storage. */
  start: 'warm' | 'cold';
  clients: number;
  synced: number;
  failed: number;
  firstError: string | null;
  /** Connect → SyncStep2 received, every joiner (y/hub's syncTime). */
  receivedMs: LatencySummary;
  /** Y.applyUpdate of the received state at a client (the keeping joiners' median), ms. */
  applyMs: number | null;
  /** received + apply: p50 and p99 of what a provider waits for. */
  syncedMs: { p50: number | null; p99: number | null };
  /** SyncStep2 bytes the joiners received: fewest and most. */
  stateBytes: { min: number; max: number } | null;
  /** null: the keeping joiners hold the whole paper; else what differs. */
  contentProblem: string | null;
  /** First connect → last SyncStep2. */
  wallMs: number;
  serverCpuSec: number | null;
  /** Server RSS before the storm and its peak during it (VmHWM reset at the start, or sampled every 50 ms). */
  rssBeforeKb: number | null;
  peakRssKb: number | null;
  loaderCpuSec: number;
  /** CPU the rest of the machine used during the storm, % of one core. */
  otherCpuPct: number | null;
}

export interface JoinStormReport {
  rows: JoinStormRow[];
}

/** Papers of this process, by size: generated once for every server of a run (at most a few sizes). */
const papers = new Map<number, SizedPaper>();
const PAPERS_KEPT = 4;

function paperOf(bytes: number): SizedPaper {
  let paper = papers.get(bytes);
  if (!paper) {
    if (papers.size >= PAPERS_KEPT) papers.delete(papers.keys().next().value!);
    paper = sizedPaper(bytes, CHUNK_BYTES, SEED);
    papers.set(bytes, paper);
  }
  return paper;
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

/**
 * Writes the paper through `writer`, paced under a per-connection byte budget (Scriptorium
 * allows a 16 MiB burst, then 4 MiB/s: here 8 MiB, then 3 MiB/s), and waits for every
 * acknowledgement (y-websocket has none: a pause instead).
 */
async function writePaper(writer: Writer, ctx: ClientContext, paper: SizedPaper, timeoutMs: number): Promise<void> {
  const started = nowMs();
  let sent = 0;
  for (const update of paper.updates) {
    while (sent + update.byteLength - ((nowMs() - started) / 1000) * 3 * MiB > 8 * MiB) await sleep(50);
    writer.sendUpdate(update);
    sent += update.byteLength;
  }
  if (ctx.protocol !== 'hocuspocus') return sleep(2000);
  const deadline = nowMs() + timeoutMs;
  while (writer.unacked > 0) {
    if (nowMs() > deadline) throw new Error(`the paper's ${writer.unacked} last updates not acknowledged after ${timeoutMs} ms`);
    await sleep(50);
  }
  if (ctx.counters.nacks > 0) throw new Error(`${ctx.counters.nacks} of the paper's updates refused`);
}

async function storm(
  target: Target,
  ctx: ClientContext,
  name: string,
  paper: SizedPaper,
  start: JoinStormRow['start'],
  clients: number,
  timeoutMs: number,
): Promise<JoinStormRow> {
  const pids = target.pids();
  const rssBeforeKb = sum(pids, (p) => readMemory(p)?.rssKb ?? null);
  const hwmReset = pids.length > 0 && pids.every(resetPeakRss);
  let sampledPeakKb = rssBeforeKb ?? 0;
  const sampler = setInterval(() => {
    const rss = sum(pids, (p) => readMemory(p)?.rssKb ?? null);
    if (rss !== null && rss > sampledPeakKb) sampledPeakKb = rss;
  }, 50);
  const cpu0 = sum(pids, readCpuSeconds);
  const busy0 = readMachineBusySeconds();
  const self0 = process.cpuUsage();
  // The first and the last to connect keep the state they receive, to check it afterwards.
  const joiners = Array.from(
    { length: clients },
    (_, i) => new Joiner(ctx, name, target.urls[i % target.urls.length]!, i === 0 || i === clients - 1),
  );
  const started = nowMs();
  const outcomes = await Promise.allSettled(joiners.map((j) => j.open(timeoutMs)));
  const wallMs = nowMs() - started;
  const cpu1 = sum(pids, readCpuSeconds);
  const busy1 = readMachineBusySeconds();
  const self = process.cpuUsage(self0);
  clearInterval(sampler);
  const hwmKb = hwmReset ? sum(pids, (p) => readMemory(p)?.hwmKb ?? null) : null;

  const received = new Histogram();
  let failed = 0;
  let firstError: string | null = null;
  for (const o of outcomes) {
    if (o.status === 'fulfilled') received.record(o.value);
    else {
      failed++;
      firstError ??= o.reason instanceof Error ? o.reason.message : String(o.reason);
    }
  }
  const sizes = joiners.filter((j) => j.stateBytes > 0).map((j) => j.stateBytes);
  // The keeping joiners apply what they received, one after the other, with the loader idle.
  const applyTimes: number[] = [];
  const problems: string[] = [];
  for (const j of joiners) {
    if (!j.state) continue;
    const { doc, ms } = applyState(j.state);
    applyTimes.push(ms);
    const missing = missingClients(doc, paper.stateVector);
    const blocks = doc.getXmlFragment(PAPER_FRAGMENT).length;
    if (missing > 0 || blocks !== paper.blocks)
      problems.push(`${missing} of the paper's ${paper.stateVector.size} writers missing, ${blocks}/${paper.blocks} blocks`);
    doc.destroy();
  }
  if (failed === 0 && applyTimes.length === 0) problems.push('no state kept to check');
  ctx.closing = true;
  for (const j of joiners) j.close();
  ctx.closing = false;
  applyTimes.sort((a, b) => a - b);
  const applyMs = applyTimes.length > 0 ? applyTimes[Math.floor(applyTimes.length / 2)]! : null;
  const summary = summarize(received);
  const plus = (v: number | null): number | null => (v === null || applyMs === null ? null : v + applyMs);
  const serverCpuSec = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  const loaderCpuSec = (self.user + self.system) / 1e6;
  return {
    documentBytes: paper.bytes,
    start,
    clients,
    synced: clients - failed,
    failed,
    firstError,
    receivedMs: summary,
    applyMs,
    syncedMs: { p50: plus(summary.p50), p99: plus(summary.p99) },
    stateBytes: sizes.length > 0 ? { min: Math.min(...sizes), max: Math.max(...sizes) } : null,
    contentProblem: problems.length > 0 ? problems.join('; ') : null,
    wallMs,
    serverCpuSec,
    rssBeforeKb,
    peakRssKb: hwmKb !== null ? Math.max(hwmKb, sampledPeakKb) : rssBeforeKb === null ? null : sampledPeakKb,
    loaderCpuSec,
    otherCpuPct: busy0 !== null && busy1 !== null ? ((busy1 - busy0 - loaderCpuSec - (serverCpuSec ?? 0)) / (wallMs / 1000)) * 100 : null,
  };
}

export async function runJoinStorm(target: Target, a: ScenarioArgs): Promise<ScenarioResult> {
  const sizes = a.sizes ?? (a.ci ? JOIN_STORM_CI_SIZES : JOIN_STORM_SIZES);
  const clients = a.clients ?? (a.ci ? JOIN_STORM_CI_CLIENTS : JOIN_STORM_CLIENTS);
  const token = target.auth?.token ?? a.token ?? 'bench';
  const log = (s: string): void => {
    if (a.progress ?? true) process.stderr.write(`[${target.label} join-storm] ${s}\n`);
  };
  // A cold storm needs a server that keeps documents over a restart.
  const durable = target.restart !== undefined && ((await target.storageBytes?.()) ?? null) !== null;
  const rows: JoinStormRow[] = [];
  for (const size of sizes) {
    const generated = nowMs();
    const paper = paperOf(size);
    log(
      `paper of ${(paper.bytes / MiB).toFixed(1)} MiB (${paper.updates.length} updates, ${paper.blocks} blocks) ready in ${((nowMs() - generated) / 1000).toFixed(1)} s`,
    );
    const timeoutMs = Math.max(30_000, (30_000 * paper.bytes) / MiB);
    const name = `bench-join-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
    await target.auth?.addDocuments([name]);
    const ctx = standaloneContext(target.protocol, token, Boolean(target.auth) || a.token !== undefined);
    const writer = new Writer(ctx, name, target.urls[0]!, 0);
    await writer.open(timeoutMs);
    const written = nowMs();
    await writePaper(writer, ctx, paper, timeoutMs);
    log(`paper written and acknowledged in ${((nowMs() - written) / 1000).toFixed(1)} s`);
    // Whatever the server does after a write (storing, compacting) settles before the storm.
    await sleep(a.ci ? 500 : 3000);
    const warm = await storm(target, ctx, name, paper, 'warm', clients, timeoutMs);
    log(describeRow(warm));
    rows.push(warm);
    ctx.closing = true;
    writer.close();
    ctx.closing = false;
    if (durable) {
      await target.restart!();
      const cold = await storm(target, ctx, name, paper, 'cold', clients, timeoutMs);
      log(describeRow(cold));
      rows.push(cold);
    }
  }
  return { scenario: 'join-storm', label: target.label, protocol: target.protocol, main: null, joinStorm: { rows } };
}

const ms = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(0));

function describeRow(r: JoinStormRow): string {
  return (
    `${(r.documentBytes / MiB).toFixed(1)} MiB ${r.start}: ${r.synced}/${r.clients} synced, received p50/p99 ${ms(r.receivedMs.p50)}/${ms(r.receivedMs.p99)} ms, ` +
    `apply ${ms(r.applyMs)} ms, server CPU ${r.serverCpuSec?.toFixed(1) ?? 'n/a'} s, peak RSS ${r.peakRssKb === null ? 'n/a' : (r.peakRssKb / 1024).toFixed(0)} MB` +
    (r.contentProblem ? `, content: ${r.contentProblem}` : '') +
    (r.firstError ? `, first error: ${r.firstError}` : '')
  );
}

export function renderJoinStorm(rows: ScenarioResult[]): string {
  const mib = (bytes: number): string => `${formatNumber(bytes / MiB, bytes < 10 * MiB ? 2 : 1)} MiB`;
  const _mb = (kb: number | null): string => formatNumber(kb === null ? null : kb / 1024, 0);
  const refOf = (bytes: number): JoinStormRow | undefined =>
    rows.find((r) => r.label === 'hocuspocus')?.joinStorm?.rows.find((x) => x.documentBytes === bytes && x.start === 'warm');
  let out =
    '| server | document | start | synced (failed) | received p50 / p99 ms | apply at the client ms | synced p50 / p99 ms | target p99 | state received MB, least / most | content | server CPU s | server peak RSS MB | target RSS ≤ 2 GB | loader CPU s | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    if (!row.joinStorm) {
      out += `| ${row.label} | no result |||||||||||||\n`;
      continue;
    }
    for (const r of row.joinStorm.rows) {
      const ref = row.label === 'hocuspocus' ? undefined : refOf(r.documentBytes);
      const target = joinStormTargetMs(r.documentBytes);
      const ok = r.failed === 0 && r.contentProblem === null;
      const met = target === null || r.syncedMs.p99 === null ? null : ok && r.syncedMs.p99 <= target;
      const rssMet = r.peakRssKb === null ? null : r.peakRssKb <= JOIN_STORM_RSS_TARGET_KB;
      out +=
        `| ${row.label} | ${mib(r.documentBytes)} | ${r.start} | ${r.synced} (${r.failed}) | ${formatNumber(r.receivedMs.p50, 0)} / ${formatNumber(r.receivedMs.p99, 0)} | ` +
        `${formatNumber(r.applyMs, 0)} | ${formatNumber(r.syncedMs.p50, 0)} / ${withRatio(r.syncedMs.p99, ref?.syncedMs.p99, 0)} | ` +
        `${target === null ? '–' : `≤ ${formatNumber(target / 1000, 1)} s: ${targetCell(met)}`} | ` +
        `${r.stateBytes ? `${formatNumber(r.stateBytes.min / 1e6, 2)} / ${formatNumber(r.stateBytes.max / 1e6, 2)}` : '–'} | ` +
        `${r.contentProblem === null ? 'whole paper' : `**${r.contentProblem}**`} | ${withRatio(r.serverCpuSec, ref?.serverCpuSec, 1)} | ` +
        `${withRatio(r.peakRssKb === null ? null : r.peakRssKb / 1024, ref?.peakRssKb === null || ref === undefined ? null : ref.peakRssKb / 1024, 0)} | ${targetCell(rssMet)} | ` +
        `${formatNumber(r.loaderCpuSec, 1)} | ${formatNumber(r.otherCpuPct, 0)} % |\n`;
      if (r.firstError) out += `| | | | first error: ${r.firstError} ||||||||||||\n`;
    }
  }
  const first = rows.find((r) => r.joinStorm)?.joinStorm?.rows[0];
  out +=
    `\n${first?.clients ?? JOIN_STORM_CLIENTS} clients connect at once to one paper (a generated paper of that Yjs state size, written beforehand by a client that stays connected: warm; ` +
    "a server with storage is then restarted and stormed again: cold). Received: connect → SyncStep2 received, every joiner (y/hub's syncTime). " +
    "Apply: a client's Y.applyUpdate of the state, measured on the first and last joiner, which also check it is the whole paper. " +
    'Synced = received + apply, what a provider waits for; the targets (p99 ≤ 1.5 s at 4 MB, ≤ 6 s at 20 MB) apply to it. ' +
    'Server CPU and peak RSS (VmHWM, reset when the storm starts) cover the storm; ratios against Hocuspocus (warm).\n' +
    busyMachineNote(
      rows.flatMap((r) => r.joinStorm?.rows ?? []).map((r) => r.otherCpuPct),
      0,
      'storms',
      'the servers got a share of their core, and the times describe the machine as much as the servers',
    ) +
    '\ny/hub, published (yjs/yhub benchmarks/RESULTS.md Y2.4, 2026-08, i7-1370P with 20 threads, Node 24; received, not applied): ' +
    '150 joiners, 4 MB p50 4,539 ms, p99 6,556 ms, server CPU 28.7 s, peak RSS 1,648 MB; 20 MB p50 19,114 ms, p99 30,187 ms, server CPU 123.3 s, peak RSS 6,521 MB.\n';
  return out;
}
