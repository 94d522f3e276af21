/**
 * The load coordinator: splits documents across worker processes, connects every client,
 * runs warm-up + measurement window, collects histograms and counters, and samples the
 * server processes' CPU and memory from /proc around the window.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { emptyCounters, type Counters } from './clients.js';
import { readCpuSeconds, readMachineBusySeconds, readMemory } from './proc.js';
import { Histogram, type LatencySummary, nowMs, summarize } from './stats.js';
import { LoadWorker, type ConnectReport, type FinishReport, type FromWorker, type ToWorker, type WorkloadConfig } from './worker.js';

export interface LoadOptions extends WorkloadConfig {
  label: string;
  docs: number;
  warmupSec: number;
  durationSec: number;
  /** After the writers stop, how long edits and acks may stop arriving before the rest counts as lost. */
  drainMs: number;
  /** Worker processes; 0 runs one worker inside this process (tests). */
  workers: number;
  /** Server processes to sample in /proc (optional: a remote deployment has none). */
  serverPids: number[];
  /** Print a progress line every second (stderr). */
  progress: boolean;
  /** Told about the run's phases, to sample other processes alongside (Redis in the scale-out scenario). */
  observers?: LoadObserver[];
}

/**
 * Hooks at the edges of a run. The load phase (every client connected → every edit delivered or
 * given up on) brackets all the edits of the run; the window brackets the measured ones.
 */
export interface LoadObserver {
  /** Clients connected and settled; the writers start right after this resolves. */
  loadStarting?(): Promise<void> | void;
  /** At the measurement window's edges, next to the servers' CPU samples (synchronous). */
  windowOpened?(): void;
  windowClosed?(): void;
  /** Every worker has drained (all edits arrived, or the drain gave up). */
  drained?(): Promise<void> | void;
}

export interface LoadResult {
  label: string;
  protocol: string;
  shape: {
    docs: number;
    clientsPerDoc: number;
    writersPerDoc: number;
    probesPerDoc: number;
    rate: number;
    awarenessRate: number;
    urls: number;
  };
  windowSec: number;
  connections: {
    attempted: number;
    connected: number;
    failed: number;
    firstError: string | null;
    wallMs: number;
    connectMs: LatencySummary;
    disconnects: number;
    authDenied: number;
  };
  updatesPerSec: number;
  /** Logical deliveries: edits sent in the window × (clients per document − 1). */
  deliveriesPerSec: number;
  framesInPerSec: number;
  updateFramesInPerSec: number;
  awarenessSentPerSec: number;
  awarenessFramesInPerSec: number;
  bytesInPerSec: number;
  loss: { expectedEdits: number; missingEdits: number; ratio: number; probes: number; unacked: number; nacks: number };
  latencyMs: LatencySummary;
  /**
   * With timedReaders: edit latency at every reader (the probes' `latencyMs` samples a few
   * clients), and the edits readers never received.
   */
  observers: { latencyMs: LatencySummary; readers: number; expectedEdits: number; missingEdits: number };
  /**
   * With a presence rate: awareness updates sent over the whole run (writers' cursor moves
   * included), the presence states' delivery at the probes, the presence updates a probe
   * never caught up with (no later one of the same sender arrived either), and the clients no
   * probe heard from at all.
   */
  presence: { sent: number; latencyMs: LatencySummary; expected: number; missing: number; unheard: number };
  /** Latency split by whether the writer was on the probe's server (same) or another (cross: relayed). */
  latencyByPlacement: { same: LatencySummary; cross: LatencySummary };
  /** Over the whole run (warm-up and drain included), not only the window. */
  totals: { updatesSent: number; awarenessSent: number };
  ackMs: LatencySummary | null;
  sendLagMs: LatencySummary;
  server: {
    cpuSec: number | null;
    cpuPct: number | null;
    cpuSecPerMillionDeliveries: number | null;
    /** Each server's CPU seconds in the window, in the order of `serverPids` (null if not sampled). */
    cpuSecByPid: number[] | null;
    rssBaselineKb: number | null;
    rssConnectedKb: number | null;
    peakRssKb: number | null;
    rssPerConnKb: number | null;
  };
  loader: {
    workers: number;
    cores: number;
    cpuSec: number;
    cpuPct: number;
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
    bottleneck: boolean;
    note: string | null;
  };
  /**
   * Share of the deliveries each URL's server makes (clients connected there, per writer's edit),
   * in the order of `urls`; sums to 1.
   */
  deliveryShareByUrl: number[];
  /** CPU used on this machine by neither the server nor the loader during the window (% of one core). */
  otherCpuPct: number | null;
}

interface WorkerLink {
  send(msg: ToWorker): void;
  /** Wait for the worker to exit by itself (up to the grace period), then kill it. */
  kill(graceMs: number): Promise<void>;
}

function spawnWorker(inProcess: boolean, onMessage: (msg: FromWorker) => void): WorkerLink {
  if (inProcess) {
    const worker = new LoadWorker((msg) => setImmediate(() => onMessage(msg)));
    return { send: (msg) => void worker.handle(msg), kill: async () => {} };
  }
  // BENCH_WORKER_CPU_PROF=<dir> profiles the workers (is the loader the bottleneck, and where?).
  const profDir = process.env.BENCH_WORKER_CPU_PROF;
  const child: ChildProcess = fork(fileURLToPath(new URL('./worker-main.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
  });
  child.on('message', (msg) => onMessage(msg as FromWorker));
  return {
    send: (msg) => child.send(msg),
    kill: async (graceMs) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function sumCounters(list: Counters[]): Counters {
  const total = emptyCounters();
  for (const c of list) for (const k of Object.keys(total) as Array<keyof Counters>) total[k] += c[k];
  return total;
}

function sumOf(pids: number[], read: (pid: number) => number | null): number | null {
  if (pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    const v = read(pid);
    if (v === null) return null;
    total += v;
  }
  return total;
}

const serverCpu = (pids: number[]): number | null => sumOf(pids, readCpuSeconds);
const cpuByPid = (pids: number[]): number[] | null => {
  const each = pids.map(readCpuSeconds);
  return each.some((v) => v === null) ? null : (each as number[]);
};
const serverRss = (pids: number[]): number | null => sumOf(pids, (p) => readMemory(p)?.rssKb ?? null);
const serverHwm = (pids: number[]): number | null => sumOf(pids, (p) => readMemory(p)?.hwmKb ?? null);

const fmt = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const nWorkers = Math.max(1, opts.workers);
  const inProcess = opts.workers === 0;
  const observers = opts.observers ?? [];
  const rssBaselineKb = serverRss(opts.serverPids);

  // Route worker messages into per-type waiters.
  const connectReports: ConnectReport[] = [];
  const finishReports: FinishReport[] = [];
  const progress = new Map<number, { counters: Counters; cpuSec: number; latencyCount: number }>();
  let closed = 0;
  let wake: () => void = () => {};
  const links: WorkerLink[] = [];
  for (let i = 0; i < nWorkers; i++) {
    links.push(
      spawnWorker(inProcess, (msg) => {
        if (msg.type === 'connected') connectReports.push(msg.report);
        else if (msg.type === 'finished') finishReports.push(msg.report);
        else if (msg.type === 'progress') progress.set(i, msg);
        else if (msg.type === 'closed') closed++;
        wake();
      }),
    );
  }
  const until = async (cond: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = nowMs() + timeoutMs;
    while (!cond()) {
      if (nowMs() > deadline) throw new Error(`loader: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  };

  try {
    // Whole documents per worker, round-robin.
    const slices: number[][] = Array.from({ length: nWorkers }, () => []);
    for (let d = 0; d < opts.docs; d++) slices[d % nWorkers]!.push(d);
    const config: WorkloadConfig = {
      protocol: opts.protocol,
      urls: opts.urls,
      token: opts.token,
      tokenInUrl: opts.tokenInUrl,
      docPrefix: opts.docPrefix,
      clientsPerDoc: opts.clientsPerDoc,
      writersPerDoc: opts.writersPerDoc,
      probesPerDoc: opts.probesPerDoc,
      rate: opts.rate,
      awarenessRate: opts.awarenessRate,
      connectConcurrency: opts.connectConcurrency,
      connectTimeoutMs: opts.connectTimeoutMs,
      rawReaders: opts.rawReaders,
      placement: opts.placement,
      presenceRate: opts.presenceRate,
      timedReaders: opts.timedReaders,
      spreadProbes: opts.spreadProbes,
    };
    const connectStarted = nowMs();
    links.forEach((l, i) => l.send({ type: 'init', config, docs: slices[i]! }));
    await until(() => connectReports.length === nWorkers, opts.connectTimeoutMs + 600_000, 'connections');
    const connectWallMs = nowMs() - connectStarted;
    const connectMs = new Histogram();
    for (const r of connectReports) connectMs.merge(r.connectMs);
    const connected = connectReports.reduce((a, r) => a + r.connected, 0);
    const failed = connectReports.reduce((a, r) => a + r.failed, 0);
    if (opts.progress) {
      process.stderr.write(
        `[${opts.label}] connected ${connected}/${connected + failed} in ${fmt(connectWallMs / 1000, 1)} s` +
          (failed ? ` (first error: ${connectReports.find((r) => r.firstError)?.firstError})` : '') +
          '\n',
      );
    }
    // Let the server settle (GC after the connection burst) before sampling its memory.
    await new Promise((r) => setTimeout(r, 500));
    const rssConnectedKb = serverRss(opts.serverPids);
    for (const o of observers) await o.loadStarting?.();

    const startAt = nowMs() + 200;
    const windowStart = startAt + opts.warmupSec * 1000;
    const windowEnd = windowStart + opts.durationSec * 1000;
    links.forEach((l) => l.send({ type: 'start', startAt, windowStart, windowEnd, stopAt: windowEnd }));

    let cpuAtStart: number | null = null;
    let cpuAtEnd: number | null = null;
    let byPidAtStart: number[] | null = null;
    let byPidAtEnd: number[] | null = null;
    const selfCpu = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    let selfCpuStart = 0;
    let selfCpuEnd = 0;
    let sysAtStart: number | null = null;
    let sysAtEnd: number | null = null;
    const t1 = setTimeout(
      () => {
        sysAtStart = readMachineBusySeconds();
        cpuAtStart = serverCpu(opts.serverPids);
        byPidAtStart = cpuByPid(opts.serverPids);
        selfCpuStart = selfCpu();
        for (const o of observers) o.windowOpened?.();
      },
      Math.max(0, windowStart - nowMs()),
    );
    const t2 = setTimeout(
      () => {
        sysAtEnd = readMachineBusySeconds();
        cpuAtEnd = serverCpu(opts.serverPids);
        byPidAtEnd = cpuByPid(opts.serverPids);
        selfCpuEnd = selfCpu();
        for (const o of observers) o.windowClosed?.();
      },
      Math.max(0, windowEnd - nowMs()),
    );

    // Progress line: rates over the last second, summed over workers.
    let last = {
      t: nowMs(),
      counters: emptyCounters(),
      cpu: null as number | null,
      srv: serverCpu(opts.serverPids),
      sys: readMachineBusySeconds(),
    };
    const ticker = opts.progress
      ? setInterval(() => {
          const now = nowMs();
          const all = [...progress.values()];
          const counters = sumCounters(all.map((p) => p.counters));
          const cpu = all.reduce((a, p) => a + p.cpuSec, 0);
          const srv = serverCpu(opts.serverPids);
          const sys = readMachineBusySeconds();
          const dt = (now - last.t) / 1000;
          const phase = now < windowStart ? 'warm-up' : 'measure';
          process.stderr.write(
            `[${opts.label}] t=${fmt((now - startAt) / 1000, 0)}s ${phase} ` +
              `updates/s=${fmt((counters.updatesSent - last.counters.updatesSent) / dt, 0)} ` +
              `frames-in/s=${fmt((counters.framesIn - last.counters.framesIn) / dt, 0)} ` +
              `acks/s=${fmt((counters.acks - last.counters.acks) / dt, 0)} ` +
              `latency-samples=${all.reduce((a, p) => a + p.latencyCount, 0)} ` +
              `loader-cpu=${last.cpu === null ? 'n/a' : fmt(((cpu - last.cpu) / dt) * 100, 0) + '%'} ` +
              `server-cpu=${srv !== null && last.srv !== null ? fmt(((srv - last.srv) / dt) * 100, 0) + '%' : 'n/a'} ` +
              `other-cpu=${sys !== null && last.sys !== null && last.cpu !== null ? fmt(((sys - last.sys - (cpu - last.cpu) - (srv !== null && last.srv !== null ? srv - last.srv : 0)) / dt) * 100, 0) + '%' : 'n/a'} ` +
              `disconnects=${counters.disconnects}\n`,
          );
          last = { t: now, counters, cpu, srv, sys };
        }, 1000)
      : null;

    await until(() => nowMs() >= windowEnd + 50, windowEnd - nowMs() + 60_000, 'the run');
    clearTimeout(t1);
    clearTimeout(t2);
    if (ticker) clearInterval(ticker);
    links.forEach((l) => l.send({ type: 'finish', drainMs: opts.drainMs }));
    await until(() => finishReports.length === nWorkers, opts.drainMs + 120_000, 'the drain');
    const peakRssKb = serverHwm(opts.serverPids);
    for (const o of observers) await o.drained?.();

    // Aggregate.
    const windowSec = opts.durationSec;
    const start = sumCounters(finishReports.map((r) => r.atWindowStart));
    const end = sumCounters(finishReports.map((r) => r.atWindowEnd));
    const final = sumCounters(finishReports.map((r) => r.final));
    const latency = new Histogram();
    const sameLatency = new Histogram();
    const crossLatency = new Histogram();
    const ack = new Histogram();
    const sendLag = new Histogram();
    const observerLatency = new Histogram();
    const presenceLatency = new Histogram();
    for (const r of finishReports) {
      observerLatency.merge(r.observerLatency);
      presenceLatency.merge(r.presenceLatency);
      latency.merge(r.latency);
      sameLatency.merge(r.sameLatency);
      crossLatency.merge(r.crossLatency);
      ack.merge(r.ack);
      sendLag.merge(r.sendLag);
    }
    const updates = end.updatesSent - start.updatesSent;
    const deliveries = updates * (opts.clientsPerDoc - 1);
    const expectedEdits = finishReports.reduce((a, r) => a + r.expectedEdits, 0);
    const missingEdits = finishReports.reduce((a, r) => a + r.missingEdits, 0);
    const srvCpu = cpuAtStart !== null && cpuAtEnd !== null ? (cpuAtEnd as number) - (cpuAtStart as number) : null;
    const loaderCpu = finishReports.reduce((a, r) => a + r.cpuWindowSec, 0) + (selfCpuEnd - selfCpuStart);
    const cores = availableParallelism();
    const loaderPct = (loaderCpu / windowSec) * 100;
    const lag = summarize(sendLag);
    // The loader is the bottleneck when its core(s) are nearly full or it falls behind its own
    // send schedule; then the figures describe the loader, not the server.
    const busy = loaderPct > 85 * Math.min(cores, nWorkers);
    const late = (lag.p99 ?? 0) > 50;
    const loopP99 = Math.max(0, ...finishReports.map((r) => r.loopDelayP99Ms));
    const loopMax = Math.max(0, ...finishReports.map((r) => r.loopDelayMaxMs));
    const rate = (n: number): number => n / windowSec;
    const pairs = opts.urls.map((_, u) => connectReports.reduce((a, r) => a + (r.deliveryPairs[u] ?? 0), 0));
    const allPairs = pairs.reduce((a, b) => a + b, 0);
    const startBy = byPidAtStart as number[] | null;
    const endBy = byPidAtEnd as number[] | null;
    const result: LoadResult = {
      label: opts.label,
      protocol: opts.protocol,
      shape: {
        docs: opts.docs,
        clientsPerDoc: opts.clientsPerDoc,
        writersPerDoc: opts.writersPerDoc,
        probesPerDoc: opts.probesPerDoc,
        rate: opts.rate,
        awarenessRate: opts.awarenessRate,
        urls: opts.urls.length,
      },
      windowSec,
      connections: {
        attempted: connected + failed,
        connected,
        failed,
        firstError: connectReports.find((r) => r.firstError)?.firstError ?? null,
        wallMs: connectWallMs,
        connectMs: summarize(connectMs),
        disconnects: final.disconnects,
        authDenied: final.authDenied,
      },
      updatesPerSec: rate(updates),
      deliveriesPerSec: rate(deliveries),
      framesInPerSec: rate(end.framesIn - start.framesIn),
      updateFramesInPerSec: rate(end.updateFramesIn - start.updateFramesIn),
      awarenessSentPerSec: rate(end.awarenessSent - start.awarenessSent),
      awarenessFramesInPerSec: rate(end.awarenessFramesIn - start.awarenessFramesIn),
      bytesInPerSec: rate(end.bytesIn - start.bytesIn),
      loss: {
        expectedEdits,
        missingEdits,
        ratio: expectedEdits ? missingEdits / expectedEdits : 0,
        probes: finishReports.reduce((a, r) => a + r.probes, 0),
        unacked: finishReports.reduce((a, r) => a + r.unacked, 0),
        nacks: final.nacks,
      },
      latencyMs: summarize(latency),
      observers: {
        latencyMs: summarize(observerLatency),
        readers: finishReports.reduce((a, r) => a + r.observerEdits.readers, 0),
        expectedEdits: finishReports.reduce((a, r) => a + r.observerEdits.expected, 0),
        missingEdits: finishReports.reduce((a, r) => a + r.observerEdits.missing, 0),
      },
      presence: {
        sent: final.awarenessSent,
        latencyMs: summarize(presenceLatency),
        expected: finishReports.reduce((a, r) => a + r.presence.expected, 0),
        missing: finishReports.reduce((a, r) => a + r.presence.missing, 0),
        unheard: finishReports.reduce((a, r) => a + r.presence.unheard, 0),
      },
      latencyByPlacement: { same: summarize(sameLatency), cross: summarize(crossLatency) },
      totals: { updatesSent: final.updatesSent, awarenessSent: final.awarenessSent },
      ackMs: opts.protocol === 'hocuspocus' ? summarize(ack) : null,
      sendLagMs: lag,
      server: {
        cpuSec: srvCpu,
        cpuPct: srvCpu === null ? null : (srvCpu / windowSec) * 100,
        cpuSecPerMillionDeliveries: srvCpu === null || deliveries === 0 ? null : srvCpu / (deliveries / 1e6),
        cpuSecByPid: startBy && endBy ? endBy.map((v, i) => v - startBy[i]!) : null,
        rssBaselineKb,
        rssConnectedKb,
        peakRssKb,
        rssPerConnKb:
          rssBaselineKb !== null && rssConnectedKb !== null && connected > 0 ? (rssConnectedKb - rssBaselineKb) / connected : null,
      },
      loader: {
        workers: nWorkers,
        cores,
        cpuSec: loaderCpu,
        cpuPct: loaderPct,
        loopDelayP99Ms: loopP99,
        loopDelayMaxMs: loopMax,
        bottleneck: busy || late,
        // Late without being busy: something else took the loader's core (shared machine).
        note: busy
          ? 'loader CPU saturated'
          : late
            ? `loader behind its send schedule (event-loop delay p99 ${loopP99.toFixed(0)} ms, CPU ${loaderPct.toFixed(0)} %: ${loaderPct < 70 ? 'CPU taken by other processes' : 'loader busy'})`
            : null,
      },
      deliveryShareByUrl: pairs.map((p) => (allPairs > 0 ? p / allPairs : 0)),
      otherCpuPct:
        sysAtStart !== null && sysAtEnd !== null
          ? (((sysAtEnd as number) - (sysAtStart as number) - loaderCpu - (srvCpu ?? 0)) / windowSec) * 100
          : null,
    };
    return result;
  } finally {
    links.forEach((l) => {
      try {
        l.send({ type: 'close' });
      } catch {
        /* worker already gone */
      }
    });
    await until(() => closed === nWorkers, 5000, 'workers to close').catch(() => {});
    await Promise.all(links.map((l) => l.kill(closed === nWorkers ? 5000 : 0)));
  }
}

/** One-line human summary of a result. */
export function describe(r: LoadResult): string {
  return (
    `${r.label}: ${r.connections.connected} conns, ${fmt(r.updatesPerSec, 0)} updates/s, ` +
    `${fmt(r.deliveriesPerSec, 0)} deliveries/s, loss ${r.loss.missingEdits}/${r.loss.expectedEdits}, ` +
    `latency p50/p99/max ${fmt(r.latencyMs.p50, 2)}/${fmt(r.latencyMs.p99, 2)}/${fmt(r.latencyMs.max, 1)} ms, ` +
    `ack p99 ${fmt(r.ackMs?.p99, 2)} ms, server CPU ${fmt(r.server.cpuSecPerMillionDeliveries, 1)} s/M deliveries, ` +
    `loader CPU ${fmt(r.loader.cpuPct, 0)}%, other CPU ${fmt(r.otherCpuPct, 0)}%${r.loader.bottleneck ? ' [LOADER-BOUND: ' + r.loader.note + ']' : ''}`
  );
}
