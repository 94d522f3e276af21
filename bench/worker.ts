/**
 * One loader worker: owns the clients of a subset of the documents (all clients of a document
 * live in the same worker, so loss can be checked locally) and drives their writers.
 * Runs either in a forked child process (see worker-main.ts) or in-process (smoke test).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Protocol } from './frames.js';
import { type ClientContext, type Counters, type BenchClient, Probe, Reader, Writer, emptyCounters } from './clients.js';
import { Histogram, type HistogramJson, nowMs } from './stats.js';

export interface WorkloadConfig {
  protocol: Protocol;
  /** Server base URLs; clients are spread across them round-robin. */
  urls: string[];
  token: string;
  /** y-websocket: send the token as `?token=` too (token-mode servers); Hocuspocus always sends it in Auth. */
  tokenInUrl?: boolean;
  docPrefix: string;
  clientsPerDoc: number;
  writersPerDoc: number;
  probesPerDoc: number;
  /** Updates per second per writer. */
  rate: number;
  /** Cursor moves per second per writer (0 = no awareness traffic). */
  awarenessRate: number;
  /** Connections being opened at once per worker. */
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** Bulk readers on raw sockets (cheap) instead of `ws`. */
  rawReaders: boolean;
  /**
   * How a document's clients are spread over several URLs:
   * - `round-robin` (default): consecutive clients on consecutive URLs;
   * - `writers-together`: all writers of document d on URL d mod n, its other clients k = 0, 1, …
   *   on URL (d + k) mod n — with two URLs, probe 0 shares the writers' server and probe 1 does
   *   not, so every document yields same- and cross-instance latency samples.
   */
  placement?: Placement;
  /**
   * Presence updates per second from every client that is not a writer, each stamped with its
   * send time (presence.ts); the probes measure their delivery and loss. 0/absent: none.
   */
  presenceRate?: number;
  /** Readers time the writers' edits they receive and count them (every observer, not only the probes). */
  timedReaders?: boolean;
  /**
   * Probes spread evenly over a document's clients in connection order instead of right after
   * the writers: a server reaching its members in subscription order would favour early ones.
   */
  spreadProbes?: boolean;
}

export type Placement = 'round-robin' | 'writers-together';

export type ToWorker =
  | { type: 'init'; config: WorkloadConfig; docs: number[] }
  | { type: 'start'; startAt: number; windowStart: number; windowEnd: number; stopAt: number }
  | { type: 'finish'; drainMs: number }
  | { type: 'close' };

export interface ConnectReport {
  connected: number;
  failed: number;
  firstError: string | null;
  connectMs: HistogramJson;
  /**
   * Per URL: (writer, other client) pairs whose other client is connected there — each edit is
   * delivered once per such pair, so this is the share of the deliveries each server makes.
   */
  deliveryPairs: number[];
}

export interface FinishReport {
  /** Counters at window start and window end, for rates over the window. */
  atWindowStart: Counters;
  atWindowEnd: Counters;
  final: Counters;
  latency: HistogramJson;
  sameLatency: HistogramJson;
  crossLatency: HistogramJson;
  ack: HistogramJson;
  sendLag: HistogramJson;
  expectedEdits: number;
  missingEdits: number;
  probes: number;
  unacked: number;
  /** With timedReaders: edit latency at every reader, and the edits readers did not receive. */
  observerLatency: HistogramJson;
  observerEdits: { readers: number; expected: number; missing: number };
  /**
   * With a presence rate: delivery at the probes, presence updates they never caught up with,
   * and clients no probe heard from at all (refused by a bound, say, rather than late).
   */
  presenceLatency: HistogramJson;
  presence: { expected: number; missing: number; unheard: number };
  /** Loader CPU seconds (user+system) spent inside the window. */
  cpuWindowSec: number;
  /** Event-loop delay of this worker during the run (ms): high with low CPU = CPU stolen by others. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type FromWorker =
  | { type: 'connected'; report: ConnectReport }
  | { type: 'progress'; counters: Counters; cpuSec: number; latencyCount: number }
  | { type: 'finished'; report: FinishReport }
  | { type: 'closed' };

function cpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export class LoadWorker {
  private readonly ctx: ClientContext;
  private readonly clients: BenchClient[] = [];
  private readonly writersByDoc = new Map<string, Writer[]>();
  private readonly probesByDoc = new Map<string, Probe[]>();
  private readonly readersByDoc = new Map<string, Reader[]>();
  /** Clients that send presence (every one but the writers), by document. */
  private readonly presentByDoc = new Map<string, BenchClient[]>();
  private readonly writers: Writer[] = [];
  private config: WorkloadConfig | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private progress: NodeJS.Timeout | null = null;
  private readonly sendLag = new Histogram();
  private atWindowStart: Counters = emptyCounters();
  private atWindowEnd: Counters = emptyCounters();
  private cpuAtStart = 0;
  private cpuAtEnd = 0;
  private windowOpen = false;
  private windowClosed = false;
  private loopDelay: IntervalHistogram | null = null;

  constructor(private readonly post: (msg: FromWorker) => void) {
    this.ctx = {
      protocol: 'hocuspocus',
      token: '',
      counters: emptyCounters(),
      windowStart: Infinity,
      windowEnd: -Infinity,
      latency: new Histogram(),
      sameLatency: new Histogram(),
      crossLatency: new Histogram(),
      ack: new Histogram(),
      closing: false,
      rawReaders: true,
    };
  }

  async handle(msg: ToWorker): Promise<void> {
    switch (msg.type) {
      case 'init':
        this.post({ type: 'connected', report: await this.connect(msg.config, msg.docs) });
        return;
      case 'start':
        this.start(msg.startAt, msg.windowStart, msg.windowEnd, msg.stopAt);
        return;
      case 'finish':
        this.post({ type: 'finished', report: await this.finish(msg.drainMs) });
        return;
      case 'close':
        this.ctx.closing = true;
        this.stopTimers();
        for (const c of this.clients) c.close();
        this.post({ type: 'closed' });
        return;
    }
  }

  private async connect(config: WorkloadConfig, docs: number[]): Promise<ConnectReport> {
    this.config = config;
    this.ctx.protocol = config.protocol;
    this.ctx.token = config.token;
    this.ctx.tokenInUrl = config.tokenInUrl ?? false;
    this.ctx.rawReaders = config.rawReaders;
    if (config.timedReaders) this.ctx.observerLatency = new Histogram();
    if ((config.presenceRate ?? 0) > 0) this.ctx.presenceLatency = new Histogram();
    const probes = Math.max(0, Math.min(config.probesPerDoc, config.clientsPerDoc - config.writersPerDoc));
    // Client indices of the probes: right after the writers, or spread over the others.
    const others = config.clientsPerDoc - config.writersPerDoc;
    const probeIndices = new Set(
      Array.from(
        { length: probes },
        (_, k) => config.writersPerDoc + (config.spreadProbes ? Math.floor(((k + 0.5) * others) / probes) : k),
      ),
    );
    const urls = config.urls;
    const deliveryPairs = urls.map(() => 0);
    let urlIndex = 0;
    for (const d of docs) {
      const name = `${config.docPrefix}${d}`;
      const ws: Writer[] = [];
      const ps: Probe[] = [];
      const rs: Reader[] = [];
      const placed: number[] = [];
      for (let i = 0; i < config.clientsPerDoc; i++) {
        // Round robin: consecutive clients of a document go to different servers, so with several
        // URLs every document has writers and probes on different instances.
        const u =
          config.placement === 'writers-together'
            ? (d + (i < config.writersPerDoc ? 0 : i - config.writersPerDoc)) % urls.length
            : (d + urlIndex++) % urls.length;
        placed.push(u);
        const url = urls[u]!;
        let client: BenchClient;
        if (i < config.writersPerDoc) {
          const w = new Writer(this.ctx, name, url, i);
          ws.push(w);
          client = w;
        } else if (probeIndices.has(i)) {
          const p = new Probe(
            this.ctx,
            name,
            url,
            placed.slice(0, config.writersPerDoc).map((wu) => wu !== u),
          );
          ps.push(p);
          client = p;
        } else {
          const r = new Reader(this.ctx, name, url);
          rs.push(r);
          client = r;
        }
        this.clients.push(client);
      }
      for (let w = 0; w < config.writersPerDoc; w++) {
        placed.forEach((u, i) => {
          if (i !== w) deliveryPairs[u]!++;
        });
      }
      this.writersByDoc.set(name, ws);
      this.probesByDoc.set(name, ps);
      this.readersByDoc.set(name, rs);
      this.presentByDoc.set(name, [...ps, ...rs]);
      this.writers.push(...ws);
    }

    const connectMs = new Histogram();
    let failed = 0;
    let firstError: string | null = null;
    let next = 0;
    const openNext = async (): Promise<void> => {
      while (next < this.clients.length) {
        const client = this.clients[next++]!;
        try {
          connectMs.record(await client.open(config.connectTimeoutMs));
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, config.connectConcurrency) }, openNext));
    return { connected: this.clients.length - failed, failed, firstError, connectMs: connectMs.toJSON(), deliveryPairs };
  }

  private start(startAt: number, windowStart: number, windowEnd: number, stopAt: number): void {
    const config = this.config!;
    this.ctx.windowStart = windowStart;
    this.ctx.windowEnd = windowEnd;
    const period = config.rate > 0 ? 1000 / config.rate : Infinity;
    const aPeriod = config.awarenessRate > 0 ? 1000 / config.awarenessRate : Infinity;
    // Random phases spread the writers over the period instead of firing them in lockstep.
    for (const w of this.writers) {
      w.nextAt = startAt + Math.random() * period;
      w.nextAwarenessAt = startAt + Math.random() * aPeriod;
    }
    // Every writer has the same period, so the writers fall due in the same cyclic order forever:
    // each tick walks from a cursor over the writers that are due instead of scanning all of them
    // (200+ writers every 2 ms). After a tick every writer's next time lies within one period
    // ahead, so the walk stops at the first writer that is not due.
    const edits = [...this.writers].sort((a, b) => a.nextAt - b.nextAt);
    const moves = [...this.writers].sort((a, b) => a.nextAwarenessAt - b.nextAwarenessAt);
    let nextEdit = 0;
    let nextMove = 0;
    // Presence: the same cyclic walk over every non-writer, each at its own random phase.
    const pPeriod = (config.presenceRate ?? 0) > 0 ? 1000 / config.presenceRate! : Infinity;
    const present =
      pPeriod === Infinity
        ? []
        : [...this.presentByDoc.values()].flat().map((client, index) => ({ client, index, at: startAt + Math.random() * pPeriod }));
    present.sort((a, b) => a.at - b.at);
    let nextPresent = 0;
    this.loopDelay = monitorEventLoopDelay({ resolution: 5 });
    this.ticker = setInterval(() => {
      const now = nowMs();
      if (!this.windowOpen && now >= windowStart) this.openWindow();
      if (!this.windowClosed && now >= windowEnd) this.closeWindow();
      if (now >= stopAt) {
        this.stopTimers();
        return;
      }
      const inWindow = now >= windowStart && now <= windowEnd;
      for (let i = 0; i < edits.length; i++) {
        const w = edits[nextEdit]!;
        if (!(w.nextAt <= now)) break; // (NaN-safe: a zero rate gives no schedule)
        // How late the loader is behind its own schedule: large values mean the loader,
        // not the server, is the bottleneck.
        if (inWindow) this.sendLag.record(now - w.nextAt);
        while (w.nextAt <= now) {
          w.edit();
          w.nextAt += period;
        }
        nextEdit = (nextEdit + 1) % edits.length;
      }
      for (let i = 0; i < moves.length; i++) {
        const w = moves[nextMove]!;
        if (!(w.nextAwarenessAt <= now)) break;
        w.moveCursor();
        while (w.nextAwarenessAt <= now) w.nextAwarenessAt += aPeriod;
        nextMove = (nextMove + 1) % moves.length;
      }
      for (let i = 0; i < present.length; i++) {
        const p = present[nextPresent]!;
        if (!(p.at <= now)) break;
        p.client.announcePresence(p.index);
        while (p.at <= now) p.at += pPeriod;
        nextPresent = (nextPresent + 1) % present.length;
      }
    }, 2);
    this.progress = setInterval(() => {
      this.post({
        type: 'progress',
        counters: { ...this.ctx.counters },
        cpuSec: cpuSec(),
        latencyCount: this.ctx.latency.count,
      });
    }, 1000);
  }

  private openWindow(): void {
    this.windowOpen = true;
    this.atWindowStart = { ...this.ctx.counters };
    this.cpuAtStart = cpuSec();
    this.loopDelay?.enable();
  }

  private closeWindow(): void {
    if (!this.windowOpen) this.openWindow();
    this.windowClosed = true;
    this.atWindowEnd = { ...this.ctx.counters };
    this.cpuAtEnd = cpuSec();
    this.loopDelay?.disable();
  }

  private stopTimers(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.progress) clearInterval(this.progress);
    this.ticker = null;
    this.progress = null;
  }

  /** After the writers stop: wait until every probe holds every edit, or the drain time is up. */
  private async finish(drainMs: number): Promise<FinishReport> {
    // A lagging event loop may see this message before its ticker saw the window end.
    if (!this.windowClosed) this.closeWindow();
    this.stopTimers();
    const expectedOf = (doc: string): number[] => (this.writersByDoc.get(doc) ?? []).map((w) => w.seq);
    const countMissing = (): { expected: number; missing: number; probes: number } => {
      let expected = 0;
      let missing = 0;
      let probes = 0;
      for (const [doc, ps] of this.probesByDoc) {
        const exp = expectedOf(doc);
        const total = exp.reduce((a, b) => a + b, 0);
        for (const p of ps) {
          probes++;
          expected += total;
          missing += p.missing(exp);
        }
      }
      return { expected, missing, probes };
    };
    const unacked = (): number => (this.config?.protocol === 'hocuspocus' ? this.writers.reduce((a, w) => a + w.unacked, 0) : 0);
    // Readers that count edits (timedReaders): each should get every edit of its document once.
    const readerEdits = (): { readers: number; expected: number; missing: number } => {
      let readers = 0;
      let expected = 0;
      let missing = 0;
      if (!this.config?.timedReaders) return { readers, expected, missing };
      for (const [doc, rs] of this.readersByDoc) {
        const total = expectedOf(doc).reduce((a, b) => a + b, 0);
        for (const r of rs) {
          readers++;
          expected += total;
          missing += Math.max(0, total - r.editsIn);
        }
      }
      return { readers, expected, missing };
    };
    // Each probe against every other present client of its document.
    const presenceMissing = (): { expected: number; missing: number; unheard: number } => {
      let expected = 0;
      let missing = 0;
      let unheard = 0;
      if (!this.ctx.presenceLatency) return { expected, missing, unheard };
      for (const [doc, ps] of this.probesByDoc) {
        const senders = this.presentByDoc.get(doc) ?? [];
        for (const s of senders) {
          let heard = false;
          for (const p of ps) {
            if (s === p) continue;
            expected += s.presenceClock;
            const lost = p.presence.missing(s.presenceId, s.presenceClock);
            missing += lost;
            if (lost < s.presenceClock) heard = true;
          }
          if (!heard && s.presenceClock > 0) unheard++;
        }
      }
      return { expected, missing, unheard };
    };
    const outstanding = (): number => countMissing().missing + unacked() + readerEdits().missing + presenceMissing().missing;
    // Wait while edits or acks are still arriving: `drainMs` is the longest quiet spell
    // tolerated (an overloaded server may still be working off a backlog), with a hard cap of
    // 60 s. What is missing after that counts as lost.
    let lastProgress = nowMs();
    let left = outstanding();
    const hardDeadline = nowMs() + 60_000;
    while (left > 0 && nowMs() < Math.min(hardDeadline, lastProgress + drainMs)) {
      await new Promise((r) => setTimeout(r, 100));
      const now = outstanding();
      if (now < left) lastProgress = nowMs();
      left = now;
    }
    const m = countMissing();
    return {
      atWindowStart: this.atWindowStart,
      atWindowEnd: this.atWindowEnd,
      final: { ...this.ctx.counters },
      latency: this.ctx.latency.toJSON(),
      sameLatency: this.ctx.sameLatency.toJSON(),
      crossLatency: this.ctx.crossLatency.toJSON(),
      ack: this.ctx.ack.toJSON(),
      sendLag: this.sendLag.toJSON(),
      expectedEdits: m.expected,
      missingEdits: m.missing,
      probes: m.probes,
      unacked: unacked(),
      observerLatency: (this.ctx.observerLatency ?? new Histogram()).toJSON(),
      observerEdits: readerEdits(),
      presenceLatency: (this.ctx.presenceLatency ?? new Histogram()).toJSON(),
      presence: presenceMissing(),
      cpuWindowSec: this.cpuAtEnd - this.cpuAtStart,
      loopDelayP99Ms: this.loopDelay ? this.loopDelay.percentile(99) / 1e6 : 0,
      loopDelayMaxMs: this.loopDelay ? this.loopDelay.max / 1e6 : 0,
    };
  }
}
