/**
 * The `trace` scenario: a real editing trace (automerge-paper, 259,778 keystrokes; CC BY 4.0, see
 * test/fixtures/traces/ATTRIBUTION.md) typed into one paper through a real provider, as an editor
 * would send it: every keystroke one Yjs update, seeded formatting steps (bold, italic, links,
 * their removal) in between (bench/trace-replay.ts), and at most `window` edits not yet
 * acknowledged (Hocuspocus SyncStatus) before the next keystroke waits. y-websocket has no
 * acknowledgements: there an edit counts once a second client (the reader) has it.
 *
 * Reports acknowledged edits per second, the server's CPU seconds over the replay, the bytes the
 * server's storage holds afterwards, a fresh client's load time on the running server (warm) and
 * after a restart (cold, twice: the second after the server could compact), and whether the
 * reader and every fresh load hold exactly the writer's formatted paper.
 */
import { HocuspocusProvider } from '@hocuspocus/provider';
import { join } from 'node:path';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { Protocol } from './frames.js';
import { readCpuSeconds, readMachineBusySeconds } from './proc.js';
import { REPO_ROOT } from './run-info.js';
import type { ScenarioArgs, ScenarioResult, Target } from './scenarios.js';
import type { StorageBytes } from './servers.js';
import { nowMs } from './stats.js';
import { PaperReplay, TRACE_FIXTURE, firstDifference, loadTrace, paperDelta, paperPlainText, traceTextAfter } from './trace-replay.js';

/** Keystrokes replayed with `--ci` (the bench test's short prefix). */
export const TRACE_CI_KEYSTROKES = 2000;
/** Default for `--window`: unacknowledged edits a writer may have in flight. */
export const TRACE_DEFAULT_WINDOW = 32;
const SEED = 20261207;

export interface TraceLoad {
  /** Connect → the provider's sync done (SyncStep2 applied), ms (warm: the median); null if it could not be measured. */
  ms: number | null;
  /** Each load's time, ms (warm: three loads one after another). */
  samples: number[];
  /** The loaded paper is exactly the writer's (null: nothing to compare, see `note`). */
  matches: boolean | null;
  note: string | null;
}

export interface TraceReport {
  keystrokes: number;
  /** Formatting steps taken between keystrokes (each its own update). */
  formats: number;
  /** Yjs updates the writer's provider sent (a formatting step that changed nothing sends none). */
  updatesSent: number;
  window: number;
  /** `acks`: Hocuspocus SyncStatus; `delivered`: y-websocket, an edit counts once the reader has it. */
  ackedBy: 'acks' | 'delivered';
  /** First keystroke → last edit acknowledged. */
  replaySec: number;
  /** Keystrokes and formatting steps acknowledged per second. */
  ackedEditsPerSec: number;
  serverCpuSec: number | null;
  loaderCpuSec: number;
  /** Busy CPU of the rest of the machine during the replay, % of one core (a noisy run shows here). */
  otherCpuPct: number | null;
  /** The writer's whole document as one Yjs update (what the data is worth, uncompressed). */
  yjsStateBytes: number;
  characters: number;
  paragraphs: number;
  /** The writer's plain text is the trace's text. */
  textMatches: boolean;
  /** The reader holds exactly the writer's formatted paper. */
  readerMatches: boolean;
  mismatch: string | null;
  storageAfterRun: StorageBytes | null;
  storageAfterReloads: StorageBytes | null;
  /** Why there are no storage figures: `in memory` (the server has no storage) or `not measured` (--url). */
  storageNote: string | null;
  warmLoad: TraceLoad;
  coldLoad: TraceLoad;
  secondColdLoad: TraceLoad;
}

interface Client {
  doc: Y.Doc;
  /** Edits sent and not acknowledged (Hocuspocus only). */
  unacked(): number;
  synced(): boolean;
  /** Resolves on the client's next sign of progress (an ack or an update), or after `ms`. */
  progress(ms: number): Promise<void>;
  destroy(): void;
}

function openClient(protocol: Protocol, baseUrl: string, name: string, token: string, tokenInUrl: boolean): Client {
  const doc = new Y.Doc();
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const progress = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  doc.on('update', wake);
  if (protocol === 'hocuspocus') {
    const provider = new HocuspocusProvider({
      url: baseUrl,
      name,
      document: doc,
      token,
      WebSocketPolyfill: WebSocket,
    } as ConstructorParameters<typeof HocuspocusProvider>[0]);
    provider.on('unsyncedChanges', wake);
    provider.on('synced', wake);
    return {
      doc,
      unacked: () => provider.unsyncedChanges,
      synced: () => provider.synced,
      progress,
      destroy: () => provider.destroy(),
    };
  }
  const provider = new WebsocketProvider(baseUrl.replace(/\/+$/, ''), name, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: tokenInUrl ? { token } : {},
    // Node has a global BroadcastChannel: the writer and the reader (same room, same process)
    // would otherwise sync through it instead of through the server.
    disableBc: true,
  });
  provider.on('sync', wake);
  return { doc, unacked: () => 0, synced: () => provider.synced, progress, destroy: () => provider.destroy() };
}

async function until(client: Client, condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (!condition()) {
    if (nowMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await client.progress(50);
  }
}

const sumCpu = (pids: number[]): number | null => {
  let total = 0;
  for (const pid of pids) {
    const s = readCpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return pids.length > 0 ? total : null;
};

const stateVector = (doc: Y.Doc): string => Buffer.from(Y.encodeStateVector(doc)).toString('base64');

export async function runTrace(target: Target, a: ScenarioArgs): Promise<ScenarioResult> {
  const trace = loadTrace(join(REPO_ROOT, TRACE_FIXTURE));
  const keystrokes = Math.min(a.keystrokes ?? (a.ci ? TRACE_CI_KEYSTROKES : trace.txns.length), trace.txns.length);
  const window = a.window ?? TRACE_DEFAULT_WINDOW;
  const token = target.auth?.token ?? a.token ?? 'bench';
  const tokenInUrl = Boolean(target.auth) || a.token !== undefined;
  const name = `bench-trace-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const url = target.urls[0]!;
  const protocol = target.protocol;
  const log = (s: string): void => {
    if (a.progress ?? true) process.stderr.write(`[${target.label} trace] ${s}\n`);
  };
  await target.auth?.addDocuments([name]);
  const open = (): Client => openClient(protocol, url, name, token, tokenInUrl);

  const writer = open();
  const reader = open();
  await until(writer, () => writer.synced() && reader.synced(), 30_000, 'writer and reader to sync');

  // Counts the writer's updates; for y-websocket, which of them the reader has (by the writer's clock).
  let updatesSent = 0;
  const clocks: number[] = [];
  let delivered = 0;
  const writerId = writer.doc.clientID;
  writer.doc.on('update', (_u: Uint8Array, origin: unknown) => {
    // Remote updates arrive with the provider as origin; the writer's own have none.
    if (origin !== null && origin !== undefined) return;
    updatesSent++;
    clocks.push(Y.getState(writer.doc.store, writerId));
  });
  reader.doc.on('update', () => {
    const seen = Y.getState(reader.doc.store, writerId);
    while (delivered < clocks.length && clocks[delivered]! <= seen) delivered++;
  });
  const inFlight = protocol === 'hocuspocus' ? () => writer.unacked() : () => clocks.length - delivered;
  const waitOn = protocol === 'hocuspocus' ? writer : reader;

  const replay = new PaperReplay(trace, { seed: SEED });
  replay.attach(writer.doc);
  const pids = target.pids();
  const cpu0 = sumCpu(pids);
  const busy0 = readMachineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = nowMs();
  let lastLog = t0;
  for (let i = 0; i < keystrokes; i++) {
    replay.keystroke(i);
    while (inFlight() > window) await waitOn.progress(1000);
    if (nowMs() - lastLog > 5000) {
      lastLog = nowMs();
      log(`${i + 1}/${keystrokes} keystrokes, ${(((i + 1) / (lastLog - t0)) * 1000).toFixed(0)}/s`);
    }
  }
  await until(waitOn, () => inFlight() === 0, 300_000, 'the last edits to be acknowledged');
  const t1 = nowMs();
  const cpu1 = sumCpu(pids);
  const busy1 = readMachineBusySeconds();
  const self = process.cpuUsage(self0);
  const replaySec = (t1 - t0) / 1000;
  const loaderCpuSec = (self.user + self.system) / 1e6;
  const serverCpuSec = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
  const edits = replay.counts.keystrokes + replay.counts.formats;
  log(
    `replayed ${keystrokes} keystrokes and ${replay.counts.formats} formatting steps in ${replaySec.toFixed(1)} s (${(edits / replaySec).toFixed(0)} acked edits/s)`,
  );

  // The reader converges on the writer (formatting cleanups may still be under way).
  let mismatch: string | null = null;
  const readerConverged = await until(
    reader,
    () =>
      stateVector(reader.doc) === stateVector(writer.doc) &&
      JSON.stringify(paperDelta(reader.doc)) === JSON.stringify(paperDelta(writer.doc)),
    60_000,
    "the reader to hold the writer's paper",
  ).then(
    () => true,
    (error: Error) => {
      mismatch = `reader: ${error.message}; ${firstDifference(paperDelta(writer.doc), paperDelta(reader.doc))}`;
      return false;
    },
  );
  // Cleanups the writer made while converging are acknowledged too before anything is measured.
  await until(waitOn, () => inFlight() === 0, 60_000, "the writer's last changes to be acknowledged").catch(() => {});
  const expected = paperDelta(writer.doc);
  const text = paperPlainText(writer.doc);
  const textMatches = text === traceTextAfter(trace, keystrokes);
  if (!textMatches) mismatch = `${mismatch ?? ''} writer's text is not the trace's`.trim();
  const yjsStateBytes = Y.encodeStateAsUpdate(writer.doc).byteLength;
  const storageAfterRun = (await target.storageBytes?.()) ?? null;

  const load = async (): Promise<TraceLoad> => {
    const started = nowMs();
    const fresh = open();
    try {
      await until(fresh, () => fresh.synced(), 120_000, 'a fresh client to sync');
      const ms = nowMs() - started;
      if (fresh.doc.getXmlFragment('default').length === 0) {
        return { ms: null, samples: [], matches: null, note: 'in memory: empty after a restart' };
      }
      const diff = firstDifference(expected, paperDelta(fresh.doc));
      if (diff) mismatch = `${mismatch ?? ''} fresh load: ${diff}`.trim();
      return { ms, samples: [ms], matches: diff === null, note: null };
    } catch (error) {
      return { ms: null, samples: [], matches: false, note: (error as Error).message };
    } finally {
      fresh.destroy();
    }
  };
  // Three warm loads, the median reported: one load of a large paper is at the mercy of the shared machine.
  const warmLoads = [await load(), await load(), await load()];
  const warmSamples = warmLoads.flatMap((l) => l.samples).sort((x, y) => x - y);
  const warmLoad: TraceLoad = {
    ms: warmSamples.length > 0 ? warmSamples[Math.floor(warmSamples.length / 2)]! : null,
    samples: warmLoads.flatMap((l) => l.samples),
    matches: warmLoads.every((l) => l.matches === true) ? true : warmLoads.some((l) => l.matches === false) ? false : null,
    note: warmLoads.find((l) => l.note)?.note ?? null,
  };
  log(`warm load ${warmLoad.ms?.toFixed(1)} ms${warmLoad.matches === false ? ' CONTENT DIFFERS' : ''}`);
  writer.destroy();
  reader.destroy();
  const noRestart: TraceLoad = { ms: null, samples: [], matches: null, note: 'the target cannot be restarted (--url)' };
  let coldLoad = noRestart;
  let secondColdLoad = noRestart;
  let storageAfterReloads: StorageBytes | null = null;
  if (target.restart) {
    await target.restart();
    coldLoad = await load();
    log(
      `cold load ${coldLoad.ms?.toFixed(1) ?? 'n/a'} ms${coldLoad.note ? ` (${coldLoad.note})` : ''}${coldLoad.matches === false ? ' CONTENT DIFFERS' : ''}`,
    );
    if (coldLoad.ms !== null) {
      // Give the server a moment to release (and compact) the document the fresh client left.
      await new Promise((r) => setTimeout(r, 2000));
      await target.restart();
      secondColdLoad = await load();
    } else {
      secondColdLoad = coldLoad;
    }
    log(`second cold load ${secondColdLoad.ms?.toFixed(1) ?? 'n/a'} ms${secondColdLoad.matches === false ? ' CONTENT DIFFERS' : ''}`);
    await new Promise((r) => setTimeout(r, 2000));
    storageAfterReloads = (await target.storageBytes?.()) ?? null;
  }

  const report: TraceReport = {
    keystrokes,
    formats: replay.counts.formats,
    updatesSent,
    window,
    ackedBy: protocol === 'hocuspocus' ? 'acks' : 'delivered',
    replaySec,
    ackedEditsPerSec: edits / replaySec,
    serverCpuSec,
    loaderCpuSec,
    otherCpuPct: busy0 !== null && busy1 !== null ? ((busy1 - busy0 - loaderCpuSec - (serverCpuSec ?? 0)) / replaySec) * 100 : null,
    yjsStateBytes,
    characters: text.length,
    paragraphs: expected.length,
    textMatches,
    readerMatches: readerConverged,
    mismatch,
    storageAfterRun,
    storageAfterReloads,
    storageNote: storageAfterRun ? null : target.storageBytes ? 'in memory' : 'not measured (--url)',
    warmLoad,
    coldLoad,
    secondColdLoad,
  };
  return { scenario: 'trace', label: target.label, protocol, main: null, trace: report };
}

/** Every edit arrived and every load holds the writer's paper (what the bench test asserts). */
export function traceIntact(r: TraceReport): boolean {
  const loads = [r.warmLoad, r.coldLoad, r.secondColdLoad];
  return r.textMatches && r.readerMatches && loads.every((l) => l.matches !== false);
}

const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number | null | undefined): string =>
  bytes === null || bytes === undefined ? 'n/a' : bytes < 2 ** 20 ? `${fmt(bytes / 1024, 0)} KB` : `${fmt(bytes / 2 ** 20, 1)} MB`;
const storage = (s: StorageBytes | null, note: string | null): string =>
  s === null
    ? `n/a${note ? ` (${note})` : ''}`
    : s.tablesBytes === null
      ? mb(s.databaseBytes)
      : `${mb(s.databaseBytes)} (tables ${mb(s.tablesBytes)}${s.logRows !== undefined ? `; ${s.logRows.toLocaleString('en-US')} log rows, compacted state ${mb(s.stateBytes)}` : ''})`;
const loadCell = (l: TraceLoad): string =>
  l.ms !== null ? `${fmt(l.ms, 1)}${l.matches === false ? ' **differs**' : ''}` : l.matches === false ? `**failed**: ${l.note}` : 'n/a';

export function renderTraceMarkdown(rows: ScenarioResult[]): string {
  const ref = rows.find((r) => r.label === 'hocuspocus')?.trace ?? null;
  const ratio = (v: number | null, r: number | null | undefined): string => (v !== null && r ? ` (×${(v / r).toFixed(2)})` : '');
  let out =
    '| server | keystrokes + marks (updates) | window | acked edits/s | replay s | server CPU s | loader CPU s | other CPU | Yjs state | storage after the run | after the reloads | warm load ms (median of 3) | cold load ms, first / second | content |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  const notes = new Set<string>();
  for (const row of rows) {
    const t = row.trace;
    for (const l of t ? [t.warmLoad, t.coldLoad, t.secondColdLoad] : [])
      if (l.ms === null && l.matches !== false && l.note) notes.add(`${row.label}: load n/a, ${l.note}`);
    if (!t) {
      out += `| ${row.label} | no result |||||||||||||\n`;
      continue;
    }
    out +=
      `| ${row.label} | ${t.keystrokes.toLocaleString('en-US')} + ${t.formats.toLocaleString('en-US')} (${t.updatesSent.toLocaleString('en-US')}) | ${t.window}${t.ackedBy === 'delivered' ? ' (delivered)' : ''} | ` +
      `${fmt(t.ackedEditsPerSec, 0)}${ratio(t.ackedEditsPerSec, ref?.ackedEditsPerSec)} | ${fmt(t.replaySec, 1)} | ` +
      `${fmt(t.serverCpuSec, 1)}${ratio(t.serverCpuSec, ref?.serverCpuSec)} | ${fmt(t.loaderCpuSec, 1)} | ${fmt(t.otherCpuPct, 0)} % | ${mb(t.yjsStateBytes)} | ` +
      `${storage(t.storageAfterRun, t.storageNote)} | ${storage(t.storageAfterReloads, t.storageNote)} | ${loadCell(t.warmLoad)} | ${loadCell(t.coldLoad)} / ${loadCell(t.secondColdLoad)} | ` +
      `${traceIntact(t) ? 'identical' : `**${t.mismatch ?? 'differs'}**`} |\n`;
  }
  const first = rows.find((r) => r.trace)?.trace;
  if (first) {
    out +=
      `\nThe paper: ${first.characters.toLocaleString('en-US')} characters in ${first.paragraphs.toLocaleString('en-US')} paragraphs. ` +
      'Acked edits/s: keystrokes and formatting steps from the first keystroke to the last acknowledgement (Hocuspocus SyncStatus; ' +
      'y-websocket: received by a second client), with at most `window` unacknowledged. Storage: PostgreSQL `pg_database_size` ' +
      "(an empty database is about 7.5 MB) and the tables' `pg_total_relation_size` (dead row versions included until a vacuum reuses them), " +
      "the update log's rows (kept as history) and `documents.state`'s bytes; PGlite: its data folder. " +
      "Loads: a fresh provider's connect → synced; cold = after a restart on the same storage, the second after the server could compact.\n";
  }
  if (notes.size > 0) out += `\n${[...notes].join('; ')}.\n`;
  return out;
}
