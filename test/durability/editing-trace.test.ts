/**
 * A real editing trace through real providers into one paper on real PostgreSQL.
 *
 * The automerge-paper trace (test/fixtures/traces, CC BY 4.0: see ATTRIBUTION.md there) is
 * replayed keystroke by keystroke into a paper written as y-prosemirror writes one: paragraphs of
 * the `default` fragment holding Y.XmlText, with seeded formatting (bold, italic, links, and their
 * removal) put around the caret now and then, so the replayed edits land inside formatted runs
 * (bench/trace-replay.ts does the mapping). Chunks of the trace alternate between an unmodified
 * `@hocuspocus/provider` writer and a y-websocket `WebsocketProvider` writer, each taking over once
 * it holds everything the other wrote. A third client only reads.
 *
 * Checks: after every chunk the writer's plain text is the trace's text at that point; at the end
 * the Hocuspocus writer's changes are all acknowledged (unsyncedChanges 0), the reader holds the
 * very same formatted delta, and after a restart of the server on the same database a fresh
 * client of each protocol loads exactly that delta. The log, coarsened by compaction, is still
 * history: every update is in a row of its session, dated to within the minute.
 *
 * CI replays a prefix (TRACE_DEFAULT keystrokes). `TRACE_KEYSTROKES=all` (or a number) replays
 * more: `TRACE_KEYSTROKES=all npx vitest run test/durability/editing-trace.test.ts`.
 */
import path from 'node:path';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import {
  type BlockDelta,
  PaperReplay,
  TRACE_FIXTURE,
  firstDifference,
  loadTrace,
  paperDelta,
  paperPlainText,
} from '../../bench/trace-replay.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProvider, destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const trace = loadTrace(path.join(ROOT, TRACE_FIXTURE));

/** Keystrokes replayed on CI: a few thousand finish in seconds on a loaded 2-core box. */
const TRACE_DEFAULT = 5000;
function keystrokesToReplay(): number {
  const raw = process.env.TRACE_KEYSTROKES;
  if (raw === undefined || raw === '') return TRACE_DEFAULT;
  if (raw === 'all') return trace.txns.length;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TRACE_KEYSTROKES: expected a positive integer or 'all', got '${raw}'`);
  return Math.min(n, trace.txns.length);
}
const KEYSTROKES = keystrokesToReplay();
/** Eight hand-overs between the writers whatever the length (at least 250 keystrokes each). */
const CHUNK = Math.max(250, Math.ceil(KEYSTROKES / 8));
/** Unacknowledged updates the Hocuspocus writer may have in flight (an editor typing ahead of the acks). */
const WINDOW = 32;
const SEED = 20261207;
/** Generous for the full trace on a loaded machine; the CI prefix takes seconds. */
const TIMEOUT_MS = 60_000 + KEYSTROKES * 4;
const NAME = 'editing-trace-automerge-paper';

let database: TestDatabase;
let server: RunningServer;

const start = () =>
  startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });

beforeAll(async () => {
  database = await createTestDatabase('trace');
  server = await start();
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

const stateVector = (doc: Y.Doc): string => Buffer.from(Y.encodeStateVector(doc)).toString('base64');

/** Same clocks and same formatted content (a delete alone changes no state vector). */
function sameContent(a: Y.Doc, b: Y.Doc): boolean {
  return stateVector(a) === stateVector(b) && JSON.stringify(paperDelta(a)) === JSON.stringify(paperDelta(b));
}

/** Resolves once the provider has at most `limit` unacknowledged changes. */
function ackedDownTo(provider: HocuspocusProvider, limit: number, timeoutMs: number): Promise<void> {
  if (provider.unsyncedChanges <= limit) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off('unsyncedChanges', check);
      reject(new Error(`still ${provider.unsyncedChanges} unacknowledged changes after ${timeoutMs} ms`));
    }, timeoutMs);
    const check = (): void => {
      if (provider.unsyncedChanges > limit) return;
      clearTimeout(timer);
      provider.off('unsyncedChanges', check);
      resolve();
    };
    provider.on('unsyncedChanges', check);
  });
}

function countFormattedRuns(blocks: BlockDelta[]): { formatted: number; links: number } {
  let formatted = 0;
  let links = 0;
  for (const block of blocks) {
    for (const child of block.children) {
      if (!('delta' in child)) continue;
      for (const op of child.delta as Array<{ attributes?: Record<string, unknown> }>) {
        if (!op.attributes) continue;
        formatted++;
        if (op.attributes.link) links++;
      }
    }
  }
  return { formatted, links };
}

describe(`editing trace (automerge-paper, ${KEYSTROKES} keystrokes) through real providers`, () => {
  it(
    'relays, stores and reloads every keystroke and every mark exactly',
    async () => {
      const hpDoc = new Y.Doc();
      const hp = hocuspocusProvider(server.port, NAME, hpDoc);
      const ywDoc = new Y.Doc();
      const yw: WebsocketProvider = yWebsocketProvider(server.port, NAME, ywDoc);
      const readerDoc = new Y.Doc();
      const reader = hocuspocusProvider(server.port, NAME, readerDoc);
      await waitFor(() => hp.synced && yw.synced && reader.synced, 15_000, 'three providers synced');

      const writers = [
        { label: 'Hocuspocus writer', doc: hpDoc, hocuspocus: hp as HocuspocusProvider | null },
        { label: 'y-websocket writer', doc: ywDoc, hocuspocus: null },
      ];
      const replay = new PaperReplay(trace, { seed: SEED });
      let expectedText = trace.startContent;
      let previous: Y.Doc | null = null;
      for (let from = 0, chunk = 0; from < KEYSTROKES; from += CHUNK, chunk++) {
        const to = Math.min(KEYSTROKES, from + CHUNK);
        const writer = writers[chunk % 2]!;
        // The writer takes over once it holds everything the other one wrote.
        if (previous) {
          const before = previous;
          await waitFor(() => sameContent(before, writer.doc), 30_000, `${writer.label} to catch up before keystroke ${from}`).catch(
            (error: Error) => {
              throw new Error(`${error.message}\n${firstDifference(paperDelta(before), paperDelta(writer.doc))}`);
            },
          );
        }
        replay.attach(writer.doc);
        for (let i = from; i < to; i++) {
          replay.keystroke(i);
          if (writer.hocuspocus) await ackedDownTo(writer.hocuspocus, WINDOW, 30_000);
          // y-websocket has no acks: let the socket and the other clients breathe now and then.
          else if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
          for (const [pos, del, ins] of trace.txns[i]!.patches)
            expectedText = expectedText.slice(0, pos) + ins + expectedText.slice(pos + del);
        }
        // The mapping is exact: the paper's text is the trace's text, keystroke for keystroke.
        expect(paperPlainText(writer.doc), `${writer.label}'s text after keystroke ${to}`).toBe(expectedText);
        previous = writer.doc;
      }
      if (KEYSTROKES === trace.txns.length) expect(expectedText).toBe(trace.endContent);

      // Everything the Hocuspocus writer sent is acknowledged, i.e. committed in PostgreSQL.
      await ackedDownTo(hp, 0, 60_000);
      expect(hp.unsyncedChanges).toBe(0);
      // Every live replica converges on the last writer's paper (formatting cleanups included).
      const last = previous!;
      await waitFor(
        () => sameContent(last, hpDoc) && sameContent(last, ywDoc) && sameContent(last, readerDoc),
        60_000,
        'writers and reader to converge',
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}\nreader vs last writer: ${firstDifference(paperDelta(last), paperDelta(readerDoc))}\n` +
            `Hocuspocus vs y-websocket writer: ${firstDifference(paperDelta(hpDoc), paperDelta(ywDoc))}`,
        );
      });
      // Convergence may have taken more cleanup updates: those are acknowledged too.
      await ackedDownTo(hp, 0, 60_000);
      expect(hp.unsyncedChanges).toBe(0);

      const expected = paperDelta(last);
      expect(paperPlainText(readerDoc)).toBe(expectedText);
      expect(firstDifference(expected, paperDelta(readerDoc))).toBeNull();
      // The replay really wrote rich text: marks, links, paragraphs.
      const runs = countFormattedRuns(expected);
      expect(replay.counts.formats).toBeGreaterThan(0);
      expect(runs.formatted).toBeGreaterThan(0);
      expect(expected.length).toBe(expectedText.split('\n').length);

      // Restart on the same database: a fresh client of each protocol loads the same paper.
      destroyProvider(hp);
      destroyProvider(yw);
      destroyProvider(reader);
      expect(await server.close()).toBe(true);
      server = await start();
      const freshHp = hocuspocusProvider(server.port, NAME, new Y.Doc());
      const freshYw = yWebsocketProvider(server.port, NAME, new Y.Doc());
      await waitFor(() => freshHp.synced && freshYw.synced, 30_000, 'fresh clients synced after the restart');
      for (const fresh of [freshHp.document, freshYw.doc]) {
        expect(paperPlainText(fresh)).toBe(expectedText);
        expect(firstDifference(expected, paperDelta(fresh))).toBeNull();
      }

      // The log is history still, coarsened: fewer rows than updates, each row one writer's
      // session, each spanning less than a minute.
      const sql = new pg.Client({ connectionString: database.url });
      await sql.connect();
      try {
        const { rows } = await sql.query<{ rows: string; updates: string; sessions: string; widest: number }>(
          `select count(*) as rows, sum(coalesce(c.merged_updates, 1)) as updates, count(distinct c.session_id) as sessions,
                  coalesce(max(extract(epoch from c.merged_until - c.created_at)), 0)::float8 as widest
             from collaborations c join documents d on d.id = c.document_id where d.name = $1`,
          [NAME],
        );
        const log = rows[0]!;
        expect(Number(log.updates)).toBeGreaterThanOrEqual(KEYSTROKES);
        expect(Number(log.rows)).toBeLessThan(Number(log.updates) / 2);
        expect(Number(log.sessions)).toBeGreaterThanOrEqual(2);
        expect(log.widest).toBeLessThan(60);
      } finally {
        await sql.end();
      }
    },
    TIMEOUT_MS,
  );
});
