/**
 * Model-based, seeded fuzz of a real editing workload (fast-check): four unmodified clients —
 * two `@hocuspocus/provider` and two y-websocket `WebsocketProvider`s — edit one paper at once
 * across TWO server processes (dist/server/main.js) that share one PostgreSQL database and one
 * Redis (own REDIS_PREFIX). Instance A has one client of each protocol, so has instance B
 * (which commits with COMMIT_DELAY_MS=40, so that a kill -9 finds edits not yet committed).
 *
 * The operations are an editor's (editor-ops.ts), on the layout y-prosemirror / Tiptap write:
 * text inserts and deletes with and without marks, `format` including removing marks (null),
 * y-prosemirror's own re-formatting text update, blocks (paragraph, heading, nested
 * bullet/ordered lists, blockquote, codeBlock, tables, horizontal rules), block attributes,
 * Enter/Backspace splits and joins, block type changes, comments written through
 * server/documents/comments.ts, and Y.UndoManager undo/redo (one per client, over the fragment,
 * tracking the client's edit origin, configured like y-prosemirror's yUndoPlugin). Pauses let
 * the network run; otherwise each op gets one turn of the event loop, so edits overlap.
 *
 * Faults in the middle of each run: a SIGTERM restart of one instance and, later, a kill -9 of
 * one instance, each restarted on the same port while the clients keep editing (providers
 * reconnect and resend what the server lacks). Before a fault the replicas either converge first
 * or not (edits in flight), as generated (FUZZ_QUIESCE=1 / 0 forces it). Longer runs get one such
 * pair per 2,500 ops.
 *
 * Oracles:
 * 1. convergence: before each quiesced fault and at the end every replica has the same state
 *    vector, the same `Y.snapshot` (state vector + delete set), the same fragment `toString()`
 *    and the same comments;
 * 2. durability of what is converged: the stored state (read from PostgreSQL with the server's
 *    own loading code) reaches the converged state; then the clients go, both instances are
 *    killed with -9 and restarted, and a fresh client of each protocol loads exactly it;
 * 3. durability of what was acknowledged: whenever a Hocuspocus client's `unsyncedChanges`
 *    returns to 0, its own updates so far (what it sent) and `Y.snapshot` of its document are
 *    recorded. Right after every kill -9 — before anything reconnects — the database must
 *    contain every update any Hocuspocus client had seen acknowledged (struct ranges and
 *    deletions, read from the raw stored update, so an acknowledged update that builds on an
 *    unacknowledged one of another client still counts); at the end it must also contain the
 *    last acknowledged snapshot of each client. (Not the whole client snapshot after a mid-run
 *    kill: a client's document also holds others' updates relayed before their commit, which
 *    a kill -9 may legitimately lose; their authors resend them.)
 *
 * Undo and Yjs. Without a server (the same vocabulary, four Y.Docs and an in-process hub that
 * relays every update), undo/redo hits two Yjs defects, rarely (about 3 runs in 1,700 of 300 ops;
 * none in 2,000 runs without undo): `UndoManager.undo()` can throw a TypeError from `redoItem`
 * (it follows `redone` into a garbage-collected struct), and replicas with identical states (state
 * vector, delete set) can render different text (yjs/yjs#794: a restored item whose right origin
 * is not right of its left origin). Neither is the server's: a throwing undo is logged and its
 * transaction, which Yjs still ends and sends, is treated like any edit; identical states that
 * render differently are reported (a warning and a file) and tolerated when a replica holds an
 * item placed against its own origins (that defect's signature; otherwise it fails), the XML then
 * compared only between fresh loads and the stored state — every server-side property stays
 * strict. FUZZ_UNDO=0 leaves undo/redo out; FUZZ_STRICT=1 fails on the rendering defect too.
 *
 * A failure names the seed and run, prints the tail of the op log (what each client actually
 * did) and the diverging replicas' XML, and writes everything to a file in the temp folder.
 *
 * CI: one fixed seed, three short runs (about a minute). Long runs, e.g.:
 *   FUZZ_SEEDS=1,2,3 FUZZ_OPS=10000 FUZZ_RUNS=1 npx vitest run test/durability/editor-workload.fuzz.test.ts
 * FUZZ_SHRINK=1 lets fast-check shrink (slow: every attempt restarts servers, and the timing of a
 * real network makes replays inexact). Needs dist/ built (`npx tsc -p tsconfig.json`).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { loadDocumentState } from '../../server/persistence/compaction.js';
import { openDb, type Db } from '../../server/persistence/db.js';
import { findDocument } from '../../server/persistence/documents.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProvider, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { REDIS_URL, testRedis, type TestRedis } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';
import {
  applyEditorOp,
  clientOps,
  createEditor,
  fingerprint,
  fingerprintDiff,
  missingFromStored,
  originAnomalies,
  sameFingerprint,
  snapshotMissing,
  stateVectorOf,
  UNDO_THREW,
  type ClientOp,
  type Editor,
  type Fingerprint,
} from '../helpers/editor-ops.js';

const SEEDS = (process.env.FUZZ_SEEDS ?? '20261207').split(',').map((s) => Number(s.trim()));
const OPS = Number(process.env.FUZZ_OPS ?? 250);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3);
const UNDO = process.env.FUZZ_UNDO !== '0';
const SHRINK = process.env.FUZZ_SHRINK === '1';
/** Fail on the Yjs undo rendering defect too (see the file comment); otherwise it is reported and tolerated. */
const STRICT = process.env.FUZZ_STRICT === '1';
/** How long replicas may take to converge at a checkpoint. */
const CONVERGE_MS = Number(process.env.FUZZ_CONVERGE_MS ?? 20_000);
/** One SIGTERM + kill -9 pair per this many operations (at least one pair per run). */
const OPS_PER_FAULTS = 2_500;
/** Convergence checkpoint before a fault: generated per fault (the first SIGTERM always), or FUZZ_QUIESCE=1 / 0. */
const QUIESCE = process.env.FUZZ_QUIESCE === '1' ? 'always' : process.env.FUZZ_QUIESCE === '0' ? 'never' : 'generated';
/**
 * After a reconnect a HocuspocusProvider resets `unsyncedChanges` to 1 (for its SyncStep2),
 * forgetting the updates it queued while offline and sends right after; the first SyncStatus
 * then brings it to 0 while those may still be on their way to a commit (a few ms; 40 on B).
 * No fault strikes within this long of a reconnect, so such an early 0 cannot be mistaken
 * for a lost acknowledged edit.
 */
const SETTLE_MS = 500;

interface ClientSpec {
  readonly name: string;
  readonly protocol: 'hocuspocus' | 'y-websocket';
  /** Index in `instances`: 0 is A, 1 is B. */
  readonly instance: number;
}

const CLIENTS: readonly ClientSpec[] = [
  { name: 'H0@A', protocol: 'hocuspocus', instance: 0 },
  { name: 'W1@B', protocol: 'y-websocket', instance: 1 },
  { name: 'H2@B', protocol: 'hocuspocus', instance: 1 },
  { name: 'W3@A', protocol: 'y-websocket', instance: 0 },
];

interface Fault {
  /** Index of the op before which it happens. */
  readonly at: number;
  readonly kind: 'sigterm' | 'kill9';
  readonly instance: number;
  /** Wait for convergence first (a checkpoint of oracle 1), or strike while edits are in flight. */
  readonly quiesce: boolean;
}

interface Scenario {
  readonly ops: readonly ClientOp[];
  readonly faults: readonly Fault[];
  /** Y.UndoManager captureTimeout of every client (0: each edit its own undo step). */
  readonly captureTimeout: number;
}

const faultPairs = Math.max(1, Math.round(OPS / OPS_PER_FAULTS));
const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    ops: clientOps(CLIENTS.length, UNDO, OPS),
    // Per pair: where in its stretch of ops the SIGTERM and the kill land, and on which instance.
    pairs: fc.array(
      fc.tuple(
        fc.double({ min: 0.15, max: 0.45, noNaN: true }),
        fc.double({ min: 0.55, max: 0.85, noNaN: true }),
        fc.nat(1),
        fc.nat(1),
        fc.boolean(),
        fc.boolean(),
      ),
      { minLength: faultPairs, maxLength: faultPairs },
    ),
    captureTimeout: fc.constantFrom(0, 0, 500),
  })
  .map(({ ops, pairs, captureTimeout }) => {
    const stretch = OPS / pairs.length;
    const quiesce = (generated: boolean) => (QUIESCE === 'always' ? true : QUIESCE === 'never' ? false : generated);
    const faults = pairs.flatMap(([term, kill, termOn, killOn, termQuiet, killQuiet], i): Fault[] => [
      { at: Math.floor(stretch * (i + term)), kind: 'sigterm', instance: termOn, quiesce: quiesce(i === 0 || termQuiet) },
      { at: Math.floor(stretch * (i + kill)), kind: 'kill9', instance: killOn, quiesce: quiesce(killQuiet) },
    ]);
    const value: Scenario = { ops, faults, captureTimeout };
    // fast-check prints the counterexample; thousands of ops would bury the message.
    return Object.assign(value, {
      [fc.toStringMethod]: () =>
        `{${ops.length} ops, faults ${faults.map((f) => `${f.kind}@${f.at}:${'AB'[f.instance]}${f.quiesce ? '(quiesced)' : '(in flight)'}`).join(' ')}, captureTimeout ${captureTimeout}}`,
    });
  });

interface Instance {
  readonly name: string;
  readonly env: Record<string, string>;
  port: number;
  child: ChildServer;
}

interface Replica {
  readonly name: string;
  readonly protocol: 'hocuspocus' | 'y-websocket';
  readonly instance: number;
  readonly editor: Editor;
  readonly provider: HocuspocusProvider | WebsocketProvider;
  /** Hocuspocus: the client's own updates (what its provider sent), in order. */
  readonly own: Uint8Array[];
  /** How many of `own` were made when `unsyncedChanges` last returned to 0. */
  ackedOwn: number;
  /** `Y.snapshot` of the document at that moment. */
  ackedSnapshot: Y.Snapshot | null;
  acks: number;
}

let database: TestDatabase;
let redis: TestRedis;
let db: Db;
const instances: Instance[] = [];

beforeAll(async () => {
  database = await createTestDatabase('editorfuzz');
  redis = testRedis();
  db = await openDb({ databaseUrl: database.url, dataDir: 'unused' });
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: redis.prefix,
    // The workload bursts; rate limiting is tested elsewhere.
    MAX_MESSAGES_PER_SECOND: '100000',
    MAX_MESSAGES_BURST: '100000',
  };
  // One at a time: the first runs the migrations.
  for (const [name, extra] of [
    ['A', {}],
    ['B', { COMMIT_DELAY_MS: '40' }],
  ] as const) {
    const instanceEnv = { ...env, ...extra };
    const child = await startChildServer(instanceEnv);
    instances.push({ name, env: instanceEnv, port: child.port, child });
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((instance) => (alive(instance) ? instance.child.stop() : null)));
  await db?.close();
  await redis?.cleanup();
  await database?.drop();
}, 60_000);

const alive = (instance: Instance) => instance.child.process.exitCode === null && instance.child.process.signalCode === null;

async function restart(instance: Instance): Promise<void> {
  // The port was just freed by the dead process; retry briefly if the OS still holds it.
  await waitFor(
    async () => {
      instance.child = await startChildServer(instance.env, instance.port);
      return true;
    },
    30_000,
    `instance ${instance.name} restarting on port ${instance.port}`,
    200,
  );
}

/** The document as stored: documents.state plus the log tail, read like the server loads it (nothing folded). */
async function readStored(name: string): Promise<Uint8Array | null> {
  const row = await findDocument(db, name);
  if (!row) return null;
  return (await loadDocumentState(db, row.id, 0))?.state ?? null;
}

function loadedDoc(state: Uint8Array | null): Y.Doc {
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  return doc;
}

function connectReplica(spec: ClientSpec, documentName: string, captureTimeout: number): Replica {
  const doc = new Y.Doc();
  const port = instances[spec.instance]!.port;
  const editor = createEditor(spec.name, doc, captureTimeout);
  if (spec.protocol === 'y-websocket') {
    // Never through Node's global BroadcastChannel: the two y-websocket clients of this process
    // would sync with each other directly instead of through the servers.
    const provider = yWebsocketProvider(port, documentName, doc, { disableBc: true });
    provider.awareness.setLocalStateField('user', { name: spec.name });
    return { ...spec, editor, provider, own: [], ackedOwn: 0, ackedSnapshot: null, acks: 0 };
  }
  const provider = hocuspocusProvider(port, documentName, doc);
  const replica: Replica = { ...spec, editor, provider, own: [], ackedOwn: 0, ackedSnapshot: null, acks: 0 };
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== provider) replica.own.push(update);
  });
  provider.on('unsyncedChanges', ({ number }: { number: number }) => {
    if (number !== 0) return;
    // Every update this provider sent so far is acknowledged: committed in PostgreSQL.
    replica.ackedOwn = replica.own.length;
    replica.ackedSnapshot = Y.snapshot(doc);
    replica.acks++;
  });
  provider.setAwarenessField('user', { name: spec.name });
  return replica;
}

const isSynced = (replica: Replica) => replica.provider.synced;

function status(replica: Replica): string {
  if (replica.protocol === 'y-websocket') {
    const p = replica.provider as WebsocketProvider;
    return `${p.wsconnected ? 'connected' : 'disconnected'}, synced ${p.synced}`;
  }
  const p = replica.provider as HocuspocusProvider;
  return `${p.configuration.websocketProvider.status}, synced ${p.synced}, unsynced ${p.unsyncedChanges}, acks ${replica.acks}, acked own ${replica.ackedOwn}/${replica.own.length}`;
}

/** Everything a failure report needs from one run. */
class RunLog {
  readonly lines: string[] = [];
  constructor(
    readonly seed: number,
    readonly run: number,
    readonly documentName: string,
    readonly scenario: Scenario,
  ) {}

  /** Set once replicas with identical states rendered differently (tolerated only with undo, not STRICT). */
  renderingDiverged = false;

  add(line: string): void {
    this.lines.push(line);
  }

  /** Records the tolerated Yjs defect: every state identical, the rendered fragment not. */
  renderingDivergence(replicas: readonly { name: string; doc: Y.Doc }[], when: string, anomalies: readonly string[]): void {
    const file = path.join(tmpdir(), `scriptorium-editor-fuzz-${this.seed}-run${this.run}-rendering-${Date.now()}.log`);
    writeFileSync(
      file,
      `identical states, different XML ${when} (seed ${this.seed}, run ${this.run}); items against their origins: ${anomalies.join(', ')}\n\n${replicas.map((r) => `${r.name}\n${fingerprint(r.doc).xml}`).join('\n\n')}\n\nop log:\n${this.lines.join('\n')}\n`,
    );
    this.renderingDiverged = true;
    this.add(
      `-- WARNING: identical states rendered differently ${when} (yjs#794, items ${anomalies.join(', ')}; tolerated, FUZZ_STRICT=1 fails on it): ${file}`,
    );
    console.warn(
      `editor fuzz seed ${this.seed} run ${this.run}: identical states rendered differently ${when}; tolerated (Yjs undo defect, see the test's comment); details: ${file}`,
    );
  }

  /** Throws an error carrying the seed, the op log's tail and the replicas (full dump in a file). */
  fail(reason: string, replicas: readonly { name: string; doc: Y.Doc; status?: string }[], extra = ''): never {
    const prints = replicas.map((r) => ({ ...r, print: fingerprint(r.doc) }));
    const reference = prints[0]?.print;
    const diverging = prints.filter((p) => reference && !sameFingerprint(reference, p.print));
    const shown = diverging.length > 0 ? [prints[0]!, ...diverging] : prints;
    const firstDifference = diverging.length > 0 ? commonPrefix(reference!.xml, diverging[0]!.print.xml) : 0;
    const replicaText = (limit: number | null) =>
      shown
        .map((p) => {
          const xml = limit === null ? p.print.xml : around(p.print.xml, firstDifference, limit);
          const differs = reference && p !== prints[0] ? ` differs in: ${fingerprintDiff(reference, p.print).join(', ')}` : '';
          return `  ${p.name} (${p.status ?? 'loaded'})${differs}\n    state vector ${JSON.stringify(stateVectorOf(p.doc))}\n    comments ${p.print.comments.slice(0, limit ?? undefined)}\n    xml ${xml}`;
        })
        .join('\n');
    const header =
      `editor workload fuzz failed: ${reason}\n` +
      `seed ${this.seed}, run ${this.run}, document ${this.documentName}, scenario ${(this.scenario as unknown as { [fc.toStringMethod](): string })[fc.toStringMethod]()}\n` +
      `replay: FUZZ_SEEDS=${this.seed} FUZZ_OPS=${OPS} FUZZ_RUNS=${RUNS} FUZZ_UNDO=${UNDO ? 1 : 0} npx vitest run test/durability/editor-workload.fuzz.test.ts` +
      ` (same ops; a real network's timing makes the interleaving differ)\n`;
    const file = path.join(tmpdir(), `scriptorium-editor-fuzz-${this.seed}-run${this.run}-${Date.now()}.log`);
    writeFileSync(
      file,
      `${header}${extra}\n\nop log (${this.lines.length} lines):\n${this.lines.join('\n')}\n\nreplicas:\n${replicaText(null)}\n`,
    );
    throw new Error(
      `${header}${extra ? `${extra}\n` : ''}op log, last 40 of ${this.lines.length} (full log and XML: ${file}):\n  ${this.lines.slice(-40).join('\n  ')}\n` +
        `replicas${diverging.length > 0 ? ` (first differing XML character: ${firstDifference})` : ''}:\n${replicaText(1500)}`,
    );
  }
}

function commonPrefix(a: string, b: string): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}

function around(text: string, at: number, limit: number): string {
  if (text.length <= limit) return text;
  const from = Math.max(0, at - limit / 2);
  return `${from > 0 ? '…' : ''}${text.slice(from, from + limit)}${from + limit < text.length ? '…' : ''}`;
}

/** Same state vector, delete set and comments (the rendered XML aside). */
function sameState(a: Fingerprint, b: Fingerprint): boolean {
  return a.stateVector === b.stateVector && a.snapshot === b.snapshot && a.comments === b.comments;
}

/**
 * Oracle 1: waits until every replica has the same fingerprint. With undo in the vocabulary and
 * not STRICT, identical states whose XML differs are reported and tolerated (Yjs, not the server).
 */
async function converge(replicas: readonly Replica[], log: RunLog, when: string): Promise<Fingerprint> {
  const cheap = (r: Replica) => Buffer.from(Y.encodeStateVector(r.editor.doc)).toString('base64');
  let last: Fingerprint | null = null;
  let renderedApart = false;
  let identicalSince: number | null = null;
  try {
    await waitFor(
      () => {
        const first = cheap(replicas[0]!);
        if (!replicas.every((r) => cheap(r) === first)) {
          identicalSince = null;
          return false;
        }
        const prints = replicas.map((r) => fingerprint(r.editor.doc));
        last = prints[0]!;
        if (!prints.every((p) => sameState(prints[0]!, p))) {
          identicalSince = null;
          return false;
        }
        renderedApart = !prints.every((p) => p.xml === prints[0]!.xml);
        if (!renderedApart) return true;
        if (!UNDO || STRICT) return false;
        // Identical states that render differently stay so: no update can still be on its way.
        identicalSince ??= Date.now();
        return Date.now() - identicalSince >= 1_000;
      },
      CONVERGE_MS,
      `replicas to converge ${when}`,
      50,
    );
  } catch {
    log.fail(
      `replicas did not converge within ${CONVERGE_MS} ms ${when}`,
      replicas.map((r) => ({ name: r.name, doc: r.editor.doc, status: status(r) })),
    );
  }
  if (renderedApart) {
    // Tolerated only with the signature of that defect: an item placed against its own origins.
    const anomalies = [...new Set(replicas.flatMap((r) => originAnomalies(r.editor.doc)))];
    const docs = replicas.map((r) => ({ name: r.name, doc: r.editor.doc, status: status(r) }));
    if (anomalies.length === 0)
      log.fail(`identical states render differently ${when}, and no item is placed against its origins (not yjs#794)`, docs);
    log.renderingDivergence(docs, when, anomalies);
  }
  log.add(`-- converged ${when}`);
  return last!;
}

/** Oracle 3 (strict part): every update a Hocuspocus client saw acknowledged is in the database. */
async function checkAcknowledgedStored(
  replicas: readonly Replica[],
  documentName: string,
  log: RunLog,
  when: string,
  withSnapshots: boolean,
): Promise<void> {
  // Counted before reading: whatever was acknowledged by now was committed before the read.
  const acked = replicas.filter((r) => r.protocol === 'hocuspocus').map((r) => ({ r, n: r.ackedOwn, snapshot: r.ackedSnapshot }));
  const stored = await readStored(documentName);
  const problems: string[] = [];
  for (const { r, n, snapshot } of acked) {
    if (n > 0) {
      const missing = missingFromStored(stored, Y.mergeUpdates(r.own.slice(0, n)));
      if (missing.length > 0)
        problems.push(
          `${r.name}: of its first ${n} updates (acknowledged) the database lacks ${missing.slice(0, 12).join(', ')}${missing.length > 12 ? ` and ${missing.length - 12} more` : ''}`,
        );
    }
    if (withSnapshots && snapshot) {
      const missing = snapshotMissing(Y.snapshot(loadedDoc(stored)), snapshot);
      if (missing.length > 0)
        problems.push(
          `${r.name}: its last acknowledged snapshot is not contained in the database: lacks ${missing.slice(0, 12).join(', ')}`,
        );
    }
  }
  log.add(`-- checked acknowledged updates in the database ${when}: ${acked.map(({ r, n }) => `${r.name} ${n}`).join(', ')}`);
  if (problems.length > 0) {
    log.fail(
      `acknowledged edits missing from PostgreSQL ${when}`,
      [...replicas.map((r) => ({ name: r.name, doc: r.editor.doc, status: status(r) })), { name: 'database', doc: loadedDoc(stored) }],
      problems.join('\n'),
    );
  }
}

interface Tally {
  ops: number;
  applied: number;
  undoThrew: number;
  renderingDivergences: number;
}

async function runScenario(s: Scenario, seed: number, run: number, tally: Tally): Promise<void> {
  const documentName = `editor-fuzz-${seed}-${run}-${Date.now().toString(36)}`;
  const log = new RunLog(seed, run, documentName, s);
  const replicas = CLIENTS.map((spec) => connectReplica(spec, documentName, s.captureTimeout));
  const fresh: Replica[] = [];
  let restarting: Promise<void> = Promise.resolve();
  const gone = new Set<Replica>();
  const leave = (r: Replica) => {
    if (!gone.has(r)) destroyProvider(r.provider);
    gone.add(r);
  };
  const everyone = () =>
    [...replicas, ...fresh].map((r) => ({ name: r.name, doc: r.editor.doc, status: gone.has(r) ? 'gone' : status(r) }));
  /** Waits for `condition`; on timeout fails the run with the op log and every replica. */
  const within = (condition: () => boolean, ms: number, what: string) =>
    waitFor(condition, ms, what, 50).catch(() => log.fail(`timed out after ${ms} ms waiting for ${what}`, everyone()));
  try {
    await within(() => replicas.every(isSynced), 15_000, 'every client synced');
    const faults = [...s.faults];
    for (let k = 0; k < s.ops.length; k++) {
      while (faults.length > 0 && faults[0]!.at === k) {
        const fault = faults.shift()!;
        const instance = instances[fault.instance]!;
        await restarting;
        await within(() => replicas.every(isSynced), 30_000, 'every client back and synced');
        await sleep(SETTLE_MS);
        if (fault.quiesce) await converge(replicas, log, `before op ${k} (${fault.kind} of ${instance.name})`);
        if (fault.kind === 'sigterm') {
          log.add(`-- SIGTERM ${instance.name}, restart on port ${instance.port}`);
          restarting = (async () => {
            await instance.child.stop();
            await restart(instance);
          })();
        } else {
          log.add(`-- kill -9 ${instance.name}`);
          await instance.child.kill9();
          await checkAcknowledgedStored(replicas, documentName, log, `right after kill -9 of ${instance.name} (op ${k})`, false);
          restarting = restart(instance);
        }
      }
      const { client, op } = s.ops[k]!;
      tally.ops++;
      if (op.t === 'pause') {
        await sleep(op.ms);
        continue;
      }
      const replica = replicas[client]!;
      const did = applyEditorOp(replica.editor, op);
      if (did !== null) {
        tally.applied++;
        if (did.includes(UNDO_THREW)) tally.undoThrew++;
        log.add(`#${k} ${replica.name} ${did}`);
      }
      // One turn of the event loop: sends go out, what arrived is applied; edits still overlap.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await restarting;
    await within(() => replicas.every(isSynced), 30_000, 'every client back and synced');
    const converged = await converge(replicas, log, 'at the end');
    await within(
      () =>
        replicas.every(
          (r) => r.protocol !== 'hocuspocus' || ((r.provider as HocuspocusProvider).unsyncedChanges === 0 && r.ackedOwn === r.own.length),
        ),
      15_000,
      'every Hocuspocus edit to be acknowledged after convergence',
    );

    // Oracle 2, first half: what everyone has is stored (y-websocket edits get no acknowledgement).
    const reference = replicas[0]!.editor.doc;
    let stored: Uint8Array | null = null;
    await waitFor(
      async () => {
        stored = await readStored(documentName);
        const doc = loadedDoc(stored);
        return (
          Buffer.from(Y.encodeStateVector(doc)).equals(Buffer.from(Y.encodeStateVector(reference))) &&
          snapshotMissing(Y.snapshot(doc), Y.snapshot(reference)).length === 0 &&
          (log.renderingDiverged || fingerprint(doc).xml === converged.xml) &&
          fingerprint(doc).comments === converged.comments
        );
      },
      20_000,
      'the converged state to be stored',
      250,
    ).catch(() =>
      log.fail('the converged state never reached PostgreSQL', [
        ...replicas.map((r) => ({ name: r.name, doc: r.editor.doc, status: status(r) })),
        { name: 'database', doc: loadedDoc(stored) },
      ]),
    );

    // No client may heal what a crash lost: they all go before the final kill.
    for (const r of replicas) leave(r);
    log.add('-- clients gone; kill -9 of both instances');
    await Promise.all(instances.map((instance) => instance.child.kill9()));
    await checkAcknowledgedStored(replicas, documentName, log, 'after the final kill -9 of both instances', true);
    await Promise.all(instances.map(restart));
    log.add('-- both instances restarted; fresh clients load the paper');

    // Oracle 2, second half: a fresh client of each protocol loads exactly the converged state.
    fresh.push(connectReplica({ name: 'fresh-H@A', protocol: 'hocuspocus', instance: 0 }, documentName, 0));
    fresh.push(connectReplica({ name: 'fresh-W@B', protocol: 'y-websocket', instance: 1 }, documentName, 0));
    await within(() => fresh.every(isSynced), 15_000, 'fresh clients synced');
    const storedXml = log.renderingDiverged ? fingerprint(loadedDoc(await readStored(documentName))).xml : converged.xml;
    // After a tolerated rendering divergence the replicas disagree on the XML: a fresh client must
    // then render the stored state as decoding it renders it.
    const fromServer = () =>
      fresh.every((f) => sameState(converged, fingerprint(f.editor.doc)) && fingerprint(f.editor.doc).xml === storedXml);
    await waitFor(fromServer, 5_000, 'fresh clients to hold the converged state', 50).catch(() =>
      log.fail('a fresh client after the restart differs from the converged replicas', everyone()),
    );
    log.add('-- fresh clients hold the converged state');
    const notable = log.lines.filter((l) => l.startsWith('--') || l.includes(UNDO_THREW));
    console.log(`run ${run} (${documentName}): ${log.lines.filter((l) => l.startsWith('#')).length} edits\n  ${notable.join('\n  ')}`);
  } finally {
    if (log.renderingDiverged) tally.renderingDivergences++;
    for (const r of [...replicas, ...fresh]) leave(r);
    // Leave both instances running for the next run, whatever happened.
    await restarting.catch(() => undefined);
    for (const instance of instances) if (!alive(instance)) await restart(instance).catch(() => undefined);
  }
}

describe('editor workload on two instances (property-based)', () => {
  for (const seed of SEEDS) {
    it(
      `seed ${seed}: ${RUNS} run(s) of ${OPS} ops, four clients, SIGTERM and kill -9 in the middle; replicas converge, acknowledged edits stay stored`,
      async () => {
        const tally: Tally = { ops: 0, applied: 0, undoThrew: 0, renderingDivergences: 0 };
        let run = 0;
        const started = Date.now();
        await fc.assert(
          fc.asyncProperty(scenario, (s) => runScenario(s, seed, run++, tally)),
          { seed, numRuns: RUNS, endOnFailure: !SHRINK },
        );
        console.log(
          `editor fuzz seed ${seed}: ${run} run(s), ${tally.ops} ops (${tally.applied} changed a document), undo ${UNDO ? 'on' : 'off'}` +
            `, undo/redo that threw inside Yjs: ${tally.undoThrew}, runs with identical states rendered differently: ${tally.renderingDivergences}` +
            `, ${Math.round((Date.now() - started) / 1000)} s`,
        );
        expect(tally.ops).toBe(RUNS * OPS);
      },
      RUNS * (90_000 + OPS * 40),
    );
  }
});
