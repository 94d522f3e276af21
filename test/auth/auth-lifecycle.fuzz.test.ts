/**
 * Property-based fuzz of token mode (fast-check): a real server with AUTH_SECRET on a test
 * database; per run two fresh documents in a private project (editor, viewer, an outsider).
 * fast-check generates a sequence of client actions over two Hocuspocus sockets and two
 * y-websocket sockets: Auth with a random token (valid editor, valid viewer, outsider, expired,
 * forged, garbage, empty), a second Auth, SyncStep1, valid updates and SyncStep2s, mutated,
 * truncated and random frames, awareness, Stateless, CLOSE, and socket close / reconnect.
 *
 * Every action is followed by its answer (the Auth answer, the SyncStatus of an update to an open
 * document) or by a barrier (a SyncStep1 the server answers in order: on a public barrier
 * document for Hocuspocus, on the socket's document for y-websocket), so the fate of each frame
 * is known before the next one is sent, and the run is deterministic. Properties:
 *
 * - the Auth answer matches the token: editor → read-write, viewer → readonly, anything else →
 *   PermissionDenied (y-websocket: an open socket only for editor and viewer, 4403 otherwise);
 * - an update acknowledged with SyncStatus 1 came from a session whose last Auth carried the
 *   editor token;
 * - after each run, each document's content — seen by a trusted observer (owner token) and read
 *   from the collaborations table and documents.state — is exactly the merge of the updates that
 *   were acknowledged (Hocuspocus) or sent by an editor socket that stayed open (y-websocket),
 *   plus, at most, editor updates whose socket was closed before their fate was known if they
 *   were relayed; never anything from a viewer, an outsider, a bad token, a closed document, or a
 *   refused or malformed frame. Every stored row belongs to the owner or the editor;
 * - the server never falls over: /healthz answers 200 and a fresh editor can open a document and
 *   get an edit acknowledged after every run.
 *
 * Fixed seed, short in CI; FUZZ_AUTH_RUNS=2000 FUZZ_SEED=… for a long run, FUZZ_AUTH_TRANSPORT=ws
 * for the other transport. FUZZ_AUTH_BREAK=viewer-writes gives viewers read-write grants (a
 * deliberately broken authorizer, to see the property fail).
 */
import fc from 'fast-check';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { Queryable } from '../../server/persistence/db.js';
import type { Authorizer } from '../../server/auth/authorizer.js';
import { ProjectAuthorizer } from '../../server/auth/project-authorizer.js';
import { InProcessSessionStore } from '../../server/auth/session-store.js';
import { Tokens } from '../../server/auth/tokens.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { TransportKind } from '../../server/transport/transport.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  authFrame,
  awarenessFrame,
  closeDocFrame,
  decodeFrame,
  encodeAwareness,
  statelessFrame,
  step1Frame,
  step2Frame,
  Sync,
  T,
  updateFrame,
  type Frame,
} from '../helpers/frames.js';

const RUNS = Number(process.env.FUZZ_AUTH_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const TRANSPORT = (process.env.FUZZ_AUTH_TRANSPORT ?? 'uws') as TransportKind;
const BREAK = process.env.FUZZ_AUTH_BREAK ?? '';

const SECRET = 'auth-lifecycle-fuzz-secret-0123456789abcdef';
const ids = {
  owner: '30000000-0000-4000-8000-000000000001',
  editor: '30000000-0000-4000-8000-000000000002',
  viewer: '30000000-0000-4000-8000-000000000003',
  outsider: '30000000-0000-4000-8000-000000000004',
  private: '40000000-0000-4000-8000-000000000001',
  public: '40000000-0000-4000-8000-000000000002',
};
const BARRIER = 'fa-barrier';
const EMPTY_SV = Y.encodeStateVector(new Y.Doc());

const TOKEN_KINDS = ['editor', 'viewer', 'outsider', 'expired', 'forged', 'garbage', 'empty'] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];
const tokens: Record<TokenKind | 'owner', string> = {
  editor: '',
  viewer: '',
  outsider: '',
  expired: '',
  forged: '',
  garbage: 'not.a.jwt',
  empty: '',
  owner: '',
};

// ---------------------------------------------------------------- actions

type Base = 'update' | 'step2' | 'step1' | 'awareness' | 'stateless' | 'close' | 'auth-viewer' | 'auth-garbage';
interface Edit {
  op: 'flip' | 'truncate' | 'insert' | 'dup';
  at: number;
  byte: number;
  len: number;
}
type Action =
  | { kind: 'auth'; s: number; doc: number; token: TokenKind }
  | { kind: 'step1' | 'update' | 'step2' | 'awareness' | 'stateless' | 'close'; s: number; doc: number }
  | { kind: 'mutated'; s: number; doc: number; base: Base; edits: Edit[] }
  | { kind: 'random'; s: number; bytes: number[] }
  | { kind: 'reconnect'; s: number; doc: number; token: TokenKind; graceful: boolean };
interface Step {
  protocol: 'hp' | 'y';
  action: Action;
}
interface Scenario {
  /** Initial token of each y-websocket socket (socket s opens document s). */
  yTokens: [TokenKind, TokenKind];
  steps: Step[];
}

// Valid tokens more often than each bad one, so documents do get opened and edited.
const tokenArb: fc.Arbitrary<TokenKind> = fc.oneof(
  { arbitrary: fc.constant('editor' as const), weight: 4 },
  { arbitrary: fc.constant('viewer' as const), weight: 2 },
  { arbitrary: fc.constantFrom<TokenKind>('outsider', 'expired', 'forged', 'garbage', 'empty'), weight: 3 },
);
const sArb = fc.integer({ min: 0, max: 1 });
const editArb: fc.Arbitrary<Edit> = fc.record({
  op: fc.constantFrom('flip', 'truncate', 'insert', 'dup'),
  at: fc.nat({ max: 200 }),
  byte: fc.integer({ min: 0, max: 255 }),
  len: fc.integer({ min: 1, max: 8 }),
});
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('auth' as const), s: sArb, doc: sArb, token: tokenArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('update' as const), s: sArb, doc: sArb }), weight: 5 },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('step1' as const, 'step2' as const, 'awareness' as const, 'stateless' as const, 'close' as const),
      s: sArb,
      doc: sArb,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      s: sArb,
      doc: sArb,
      base: fc.constantFrom<Base>('update', 'step2', 'step1', 'awareness', 'stateless', 'close', 'auth-viewer', 'auth-garbage'),
      edits: fc.array(editArb, { minLength: 1, maxLength: 4 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('random' as const),
      s: sArb,
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('reconnect' as const), s: sArb, doc: sArb, token: tokenArb, graceful: fc.boolean() }),
    weight: 1,
  },
);
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  yTokens: fc.tuple(tokenArb, tokenArb),
  steps: fc.array(fc.record({ protocol: fc.constantFrom('hp' as const, 'y' as const), action: actionArb }), {
    minLength: 1,
    maxLength: 30,
  }),
});

function mutate(frame: Uint8Array, edits: readonly Edit[]): Uint8Array {
  const bytes = Array.from(frame);
  for (const { op, at: rawAt, byte, len } of edits) {
    const at = rawAt % (bytes.length + 1);
    if (op === 'flip') {
      if (bytes.length > 0) bytes[at % bytes.length] = byte;
    } else if (op === 'truncate') bytes.length = at;
    else if (op === 'insert') bytes.splice(at, 0, ...Array.from({ length: len }, (_, k) => (byte + 37 * k) & 0xff));
    else bytes.splice(at, 0, ...bytes.slice(at, at + len * 2));
  }
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------- wire

/** A client frame as the test's lib0 decoding reads it (the server reads it the same way). */
interface Parsed {
  name: string | null;
  type: number;
  sub?: number;
  payload?: Uint8Array;
}

function parse(frame: Uint8Array, prefixed: boolean): Parsed | null {
  try {
    const decoder = decoding.createDecoder(frame);
    const name = prefixed ? decoding.readVarString(decoder) : null;
    const type = decoding.readVarUint(decoder);
    if (type === T.Sync) {
      const sub = decoding.readVarUint(decoder);
      return { name, type, sub, payload: decoding.readVarUint8Array(decoder).slice() };
    }
    return { name, type };
  } catch {
    return null;
  }
}

const isUpdate = (p: Parsed | null): p is Parsed & { payload: Uint8Array } =>
  p?.type === T.Sync && (p.sub === Sync.Step2 || p.sub === Sync.Update) && p.payload !== undefined;

const sockets = new Set<Sock>();

/** A socket that records the server's decoded frames (nothing applied) and can wait for a condition. */
class Sock {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly prefixed: boolean,
  ) {
    sockets.add(this);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        try {
          this.frames.push(decodeFrame(new Uint8Array(data), prefixed));
        } catch {
          // not ours to judge here; the observer applies what it receives
        }
      }
      this.notify();
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      this.closeCode = code;
      sockets.delete(this);
      this.notify();
    });
  }

  static open(port: number, path: string): Promise<Sock> {
    const sock = new Sock(new WebSocket(`ws://127.0.0.1:${port}${path}`), !path.startsWith('/y/'));
    return new Promise((resolve, reject) => {
      sock.ws.once('open', () => resolve(sock));
      sock.ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves once `done()` holds (checked on every frame and on close); rejects after the timeout. */
  until(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  count(match: (frame: Frame) => boolean): number {
    let n = 0;
    for (const frame of this.frames) if (match(frame)) n++;
    return n;
  }

  send(frame: Uint8Array): void {
    if (this.isOpen) this.ws.send(frame, { binary: true });
  }
}

const isStep2For = (name: string | null) => (f: Frame) => f.kind === 'sync' && f.sub === Sync.Step2 && f.name === name;
const isAuthFor = (name: string) => (f: Frame) => f.kind === 'auth' && f.name === name;
const isStatusFor = (name: string) => (f: Frame) => f.kind === 'syncStatus' && f.name === name;

// ---------------------------------------------------------------- server

let database: TestDatabase;
let sql: pg.Client;
let pool: pg.Pool;
let server: RunningServer;
let port: number;

/** A pg pool as the authorizer's Queryable (FUZZ_AUTH_BREAK only). */
function queryable(p: pg.Pool): Queryable {
  return {
    // pg's result has the rows the authorizer reads.
    query: async (text: string, params?: readonly unknown[]) => (await p.query(text, params as unknown[] | undefined)) as never,
    exec: async (text: string) => {
      await p.query(text);
    },
  };
}

/** The deliberately broken authorizer of FUZZ_AUTH_BREAK, to check that the property can fail. */
function broken(inner: Authorizer): Authorizer {
  return {
    authenticate: (token) => inner.authenticate(token),
    revalidate: (principal) => inner.revalidate(principal),
    authorize: async (principal, name, document, action) => {
      const grant = await inner.authorize(principal, name, document, action);
      return BREAK === 'viewer-writes' && grant.scope === 'readonly' ? { ...grant, scope: 'read-write' } : grant;
    },
  };
}

beforeAll(async () => {
  database = await createTestDatabase('authfuzz');
  const sessions = new InProcessSessionStore();
  const minter = new Tokens(SECRET);
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport: TRANSPORT,
      logLevel: 'silent',
      authSecret: SECRET,
    },
    sessions,
    ...(BREAK ? { authorizer: broken(new ProjectAuthorizer(queryable(pool), minter, sessions)) } : {}),
  });
  if (server.transport !== TRANSPORT) throw new Error(`asked for transport ${TRANSPORT}, got ${server.transport}`);
  port = server.port;
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  await sql.query(`
    insert into users (id, email, name) values
      ('${ids.owner}', 'owner@example.org', 'Owner'), ('${ids.editor}', 'editor@example.org', 'Editor'),
      ('${ids.viewer}', 'viewer@example.org', 'Viewer'), ('${ids.outsider}', 'outsider@example.org', 'Outsider');
    insert into projects (id, name, owner_id, visibility) values
      ('${ids.private}', 'Private', '${ids.owner}', 'private'), ('${ids.public}', 'Public', '${ids.owner}', 'public');
    insert into project_members (project_id, user_id, role) values
      ('${ids.private}', '${ids.owner}', 'owner'), ('${ids.private}', '${ids.editor}', 'editor'),
      ('${ids.private}', '${ids.viewer}', 'viewer'), ('${ids.public}', '${ids.owner}', 'owner');
    insert into documents (project_id, name, kind) values ('${ids.public}', '${BARRIER}', 'paper');`);
  for (const user of ['owner', 'editor', 'viewer', 'outsider'] as const) tokens[user] = (await minter.mint(ids[user])).token;
  tokens.expired = (await minter.mint(ids.editor, -10)).token;
  tokens.forged = (await new Tokens('another-secret-0123456789abcdef-xyz').mint(ids.editor)).token;
});

afterAll(async () => {
  for (const sock of sockets) sock.ws.terminate();
  await server?.close();
  await sql?.end();
  await pool?.end();
  await database?.drop();
});

// ---------------------------------------------------------------- one run

let runCounter = 0;
/** What the runs did, so the test can check it exercised the interesting paths. */
const tally = { steps: 0, acked: 0, nacked: 0, yAccepted: 0, uncertain: 0, denied: 0, readonly: 0, readWrite: 0, closedByServer: 0 };
/** Yjs client ids: every update is made by a fresh Y.Doc with the next id, so each is self-contained. */
let nextClient = 10_000;

function freshUpdate(marker: string): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = nextClient++;
  doc.getText('text').insert(0, `[${marker}:${doc.clientID}]`);
  return Y.encodeStateAsUpdate(doc);
}

const statelessOf = (name: string | null) => {
  if (name !== null) return statelessFrame(name, 'stateless payload');
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, T.Stateless);
  encoding.writeVarString(e, 'stateless payload');
  return encoding.toUint8Array(e);
};

/** The document's content as the database holds it: documents.state plus every log row. */
async function stored(name: string): Promise<{ doc: Y.Doc; users: string[] }> {
  const doc = new Y.Doc();
  const state = await sql.query<{ state: Buffer | null }>('select state from documents where name = $1', [name]);
  if (state.rows[0]?.state) Y.applyUpdate(doc, new Uint8Array(state.rows[0].state));
  const rows = await sql.query<{ update: Buffer; user_id: string | null }>(
    'select c.update, c.user_id from collaborations c join documents d on d.id = c.document_id where d.name = $1 order by c.position',
    [name],
  );
  for (const row of rows.rows) Y.applyUpdate(doc, new Uint8Array(row.update));
  return { doc, users: [...new Set(rows.rows.map((row) => String(row.user_id)))] };
}

const same = (a: Y.Doc, b: Y.Doc) =>
  Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b)) && a.getText('text').toString() === b.getText('text').toString();

type DocState = 'none' | 'rw' | 'ro' | 'denied';
interface HpSocket {
  sock: Sock;
  /** Per document: what the server said, and the token of the last Auth sent for it. */
  state: [DocState, DocState];
  lastToken: [TokenKind | null, TokenKind | null];
  /**
   * Per document not open: what the server keeps for after the next Auth (frames for a document
   * that is not open are queued, replayed once an Auth opens it, dropped when it is denied): the
   * updates' payloads in order, and 'close' for a CLOSE (which closes the document at replay).
   */
  queue: [Array<Uint8Array | 'close'>, Array<Uint8Array | 'close'>];
  /** Per document: denied or closed on this socket since its last Auth, so its frames are dropped, not queued. */
  retired: [boolean, boolean];
}
interface YSocket {
  sock: Sock;
  doc: number;
  token: TokenKind;
}

async function runScenario(scenario: Scenario): Promise<void> {
  const run = runCounter++;
  const names = [`fa-${run}-a`, `fa-${run}-b`];
  await sql.query(`insert into documents (project_id, name, kind) select $1, unnest($2::text[]), 'paper'`, [ids.private, names]);
  /** Per document: updates the server must hold (acknowledged, or sent by a y-websocket editor that stayed open). */
  const accepted: Uint8Array[][] = [[], []];
  /** Editor updates whose socket closed before their fate was known: allowed only if relayed. */
  const uncertain: Uint8Array[][] = [[], []];
  const docIndex = (name: string | null) => names.indexOf(name ?? '');

  // The trusted observer: the owner on both documents; applies everything it is sent.
  const observer = await Sock.open(port, '/');
  const seen = [new Y.Doc(), new Y.Doc()];
  const observerErrors: string[] = [];
  observer.ws.on('message', () => {
    // frames are recorded by Sock first (its handler was registered earlier)
    const frame = observer.frames.at(-1);
    if (frame?.kind !== 'sync' || frame.sub === Sync.Step1) return;
    const d = docIndex(frame.name);
    if (d < 0) return;
    try {
      Y.applyUpdate(seen[d]!, frame.payload);
    } catch (error) {
      observerErrors.push(`${frame.name}: ${(error as Error).message}`);
    }
  });
  for (const name of names) {
    observer.send(authFrame(name, tokens.owner, '4.8.0'));
    observer.send(step1Frame(name, EMPTY_SV));
  }
  await observer.until(() => names.every((name) => observer.count(isStep2For(name)) > 0) || !observer.isOpen, 'observer joined');

  const openHp = async (): Promise<HpSocket> => {
    const sock = await Sock.open(port, '/');
    sock.send(authFrame(BARRIER, tokens.viewer, '4.8.0'));
    sock.send(step1Frame(BARRIER, EMPTY_SV));
    await sock.until(() => sock.count(isStep2For(BARRIER)) > 0 || !sock.isOpen, 'barrier document open');
    expect(sock.isOpen, 'fresh Hocuspocus socket stays open').toBe(true);
    return { sock, state: ['none', 'none'], lastToken: [null, null], queue: [[], []], retired: [false, false] };
  };
  const openY = async (doc: number, token: TokenKind): Promise<YSocket> => {
    const sock = await Sock.open(port, `/y/${encodeURIComponent(names[doc]!)}?token=${encodeURIComponent(tokens[token])}`);
    await sock.until(
      () => sock.count((f) => f.kind === 'sync' && f.sub === Sync.Step1) > 0 || sock.closeCode !== null,
      'y-websocket socket open or refused',
    );
    if (token === 'editor' || token === 'viewer') expect(sock.isOpen, `y-websocket with the ${token} token is let in`).toBe(true);
    else expect(sock.closeCode, `y-websocket with the ${token} token is refused with 4403`).toBe(4403);
    return { sock, doc, token };
  };

  const hp: HpSocket[] = [await openHp(), await openHp()];
  const ys: YSocket[] = [await openY(0, scenario.yTokens[0]), await openY(1, scenario.yTokens[1])];

  const hpBarrier = async (h: HpSocket) => {
    const before = h.sock.count(isStep2For(BARRIER));
    h.sock.send(step1Frame(BARRIER, EMPTY_SV));
    await h.sock.until(() => !h.sock.isOpen || h.sock.count(isStep2For(BARRIER)) > before, 'Hocuspocus barrier');
  };
  const yBarrier = async (y: YSocket) => {
    const before = y.sock.count(isStep2For(null));
    y.sock.send(step1Frame(null, EMPTY_SV));
    await y.sock.until(() => !y.sock.isOpen || y.sock.count(isStep2For(null)) > before, 'y-websocket barrier');
  };

  /** Sends one Hocuspocus frame and waits for its fate; records accepted updates. */
  const hpFrame = async (h: HpSocket, frame: Uint8Array, what: string, mutated: boolean): Promise<void> => {
    const parsed = parse(frame, true);
    const d = docIndex(parsed?.name ?? null);
    const open = d >= 0 && (h.state[d] === 'rw' || h.state[d] === 'ro');
    if (isUpdate(parsed) && open) {
      // An update to an open document is answered with SyncStatus (or the socket is closed).
      const statuses = h.sock.count(isStatusFor(names[d]!));
      h.sock.send(frame);
      await h.sock.until(() => !h.sock.isOpen || h.sock.count(isStatusFor(names[d]!)) > statuses, `SyncStatus for ${what}`);
      const status = h.sock.frames.filter(isStatusFor(names[d]!))[statuses];
      if (!status) tally.closedByServer++;
      else if (status.kind === 'syncStatus' && status.applied === 0) tally.nacked++;
      if (status?.kind === 'syncStatus' && status.applied === 1) {
        tally.acked++;
        expect(h.lastToken[d], `${what}: acknowledged, so its session's last Auth carried the editor token`).toBe('editor');
        accepted[d]!.push(parsed.payload);
      } else if (!status && h.lastToken[d] === 'editor') uncertain[d]!.push(parsed.payload);
    } else {
      const queued = d >= 0 && !open && !h.retired[d];
      if (queued && isUpdate(parsed)) h.queue[d]!.push(parsed.payload);
      if (queued && parsed?.type === T.Close) h.queue[d]!.push('close');
      h.sock.send(frame);
      await hpBarrier(h);
      // A mutated frame that is an Auth or a CLOSE (for any document) leaves the socket's state
      // unknown: it is replaced by a fresh one.
      if (mutated && (parsed === null || parsed.type === T.Auth || parsed.type === T.Close) && h.sock.isOpen) h.sock.ws.terminate();
    }
  };

  const yFrame = async (y: YSocket, frame: Uint8Array, mutated: boolean): Promise<void> => {
    const parsed = parse(frame, false);
    y.sock.send(frame);
    await yBarrier(y);
    if (!y.sock.isOpen) tally.closedByServer++;
    if (isUpdate(parsed) && y.token === 'editor') {
      if (y.sock.isOpen && !mutated) {
        tally.yAccepted++;
        accepted[y.doc]!.push(parsed.payload);
      } else uncertain[y.doc]!.push(parsed.payload);
    }
  };

  const baseFrame = (base: Base, name: string | null): Uint8Array => {
    switch (base) {
      case 'update':
        return updateFrame(name, freshUpdate('m'));
      case 'step2':
        return step2Frame(name, freshUpdate('m2'));
      case 'step1':
        return step1Frame(name, EMPTY_SV);
      case 'awareness':
        return awarenessFrame(name, encodeAwareness([{ clientId: nextClient++, clock: 1, state: { cursor: 1 } }]));
      case 'stateless':
        return statelessOf(name);
      case 'close':
        return name === null ? step1Frame(null, EMPTY_SV) : closeDocFrame(name);
      case 'auth-viewer':
        return name === null ? step1Frame(null, EMPTY_SV) : authFrame(name, tokens.viewer, '4.8.0');
      case 'auth-garbage':
        return name === null ? step1Frame(null, EMPTY_SV) : authFrame(name, tokens.garbage, '4.8.0');
    }
  };

  try {
    for (const [i, { protocol, action }] of scenario.steps.entries()) {
      tally.steps++;
      const what = `step ${i} (${protocol} ${JSON.stringify(action)})`;
      if (protocol === 'hp') {
        let h = hp[action.s]!;
        if (!h.sock.isOpen) h = hp[action.s] = await openHp();
        switch (action.kind) {
          case 'auth': {
            const name = names[action.doc]!;
            const before = h.sock.count(isAuthFor(name));
            const statuses = h.sock.count(isStatusFor(name));
            h.lastToken[action.doc] = action.token;
            h.sock.send(authFrame(name, tokens[action.token], '4.8.0'));
            await h.sock.until(() => !h.sock.isOpen || h.sock.count(isAuthFor(name)) > before, `Auth answer, ${what}`);
            const answer = h.sock.frames.filter(isAuthFor(name))[before];
            if (!answer) {
              // Only a malformed queued frame, replayed once the document opens, closes the socket.
              expect(h.queue[action.doc]!.length > 0 && !h.sock.isOpen, `${what}: an Auth is answered`).toBe(true);
              break;
            }
            if (answer.kind !== 'auth') throw new Error('unreachable');
            const expected = action.token === 'editor' ? 'read-write' : action.token === 'viewer' ? 'readonly' : 'denied';
            const got = answer.authType === 2 ? answer.text : answer.authType === 1 ? 'denied' : `auth type ${answer.authType}`;
            expect(got, `${what}: the Auth answer (${answer.text})`).toBe(expected);
            h.state[action.doc] = answer.authType === 2 ? (answer.text === 'read-write' ? 'rw' : 'ro') : 'denied';
            // The Auth brought the address back; a denial retires it again.
            h.retired[action.doc] = h.state[action.doc] === 'denied';
            tally[h.state[action.doc] === 'rw' ? 'readWrite' : h.state[action.doc] === 'ro' ? 'readonly' : 'denied']++;
            // The frames queued for the document: replayed now that it is open, up to a queued
            // CLOSE (which closes it again); dropped if it was denied.
            const queue = h.queue[action.doc]!;
            h.queue[action.doc] = [];
            if (answer.authType === 2) {
              const closeAt = queue.indexOf('close');
              const replayed = (closeAt === -1 ? queue : queue.slice(0, closeAt)) as Uint8Array[];
              await h.sock.until(
                () => !h.sock.isOpen || h.sock.count(isStatusFor(name)) >= statuses + replayed.length,
                `SyncStatus for the replayed updates, ${what}`,
              );
              const answers = h.sock.frames.filter(isStatusFor(name)).slice(statuses);
              for (const [k, payload] of replayed.entries()) {
                const status = answers[k];
                if (status?.kind === 'syncStatus' && status.applied === 1) {
                  tally.acked++;
                  expect(action.token, `${what}: a replayed update acknowledged, so the Auth carried the editor token`).toBe('editor');
                  accepted[action.doc]!.push(payload);
                } else if (!status && action.token === 'editor') uncertain[action.doc]!.push(payload);
                else if (status?.kind === 'syncStatus') tally.nacked++;
              }
              if (closeAt !== -1) {
                await hpBarrier(h);
                h.state[action.doc] = 'none';
                h.lastToken[action.doc] = null;
                h.retired[action.doc] = true;
              }
            }
            break;
          }
          case 'update':
            await hpFrame(h, updateFrame(names[action.doc]!, freshUpdate('u')), what, false);
            break;
          case 'step2':
            await hpFrame(h, step2Frame(names[action.doc]!, freshUpdate('s2')), what, false);
            break;
          case 'step1':
            await hpFrame(h, step1Frame(names[action.doc]!, EMPTY_SV), what, false);
            break;
          case 'awareness':
            await hpFrame(h, baseFrame('awareness', names[action.doc]!), what, false);
            break;
          case 'stateless':
            await hpFrame(h, baseFrame('stateless', names[action.doc]!), what, false);
            break;
          case 'close':
            // Queued for a document never opened here; dropped for one denied or closed; closes an open one.
            if (h.state[action.doc] === 'none' && !h.retired[action.doc]) h.queue[action.doc]!.push('close');
            if (h.state[action.doc] === 'rw' || h.state[action.doc] === 'ro') h.retired[action.doc] = true;
            h.sock.send(closeDocFrame(names[action.doc]!));
            h.state[action.doc] = 'none';
            h.lastToken[action.doc] = null;
            await hpBarrier(h);
            break;
          case 'mutated':
            await hpFrame(h, mutate(baseFrame(action.base, names[action.doc]!), action.edits), what, true);
            break;
          case 'random':
            await hpFrame(h, new Uint8Array(action.bytes), what, true);
            break;
          case 'reconnect':
            if (action.graceful) h.sock.ws.close();
            else h.sock.ws.terminate();
            hp[action.s] = await openHp();
            break;
        }
      } else {
        let y = ys[action.s]!;
        if (!y.sock.isOpen) y = ys[action.s] = await openY(y.doc, y.token);
        const name = null;
        switch (action.kind) {
          case 'auth':
            // No Auth message in y-websocket: the token is the URL's; a new socket with this token.
            y.sock.ws.terminate();
            ys[action.s] = await openY(y.doc, action.token);
            break;
          case 'update':
            await yFrame(y, updateFrame(name, freshUpdate('yu')), false);
            break;
          case 'step2':
            await yFrame(y, step2Frame(name, freshUpdate('ys2')), false);
            break;
          case 'step1':
            await yFrame(y, step1Frame(name, EMPTY_SV), false);
            break;
          case 'awareness':
            await yFrame(y, baseFrame('awareness', name), false);
            break;
          case 'stateless':
            await yFrame(y, baseFrame('stateless', name), false);
            break;
          case 'close':
            y.sock.ws.close();
            await y.sock.until(() => !y.sock.isOpen, 'y-websocket close');
            break;
          case 'mutated':
            await yFrame(y, mutate(baseFrame(action.base, name), action.edits), true);
            break;
          case 'random':
            await yFrame(y, new Uint8Array(action.bytes), true);
            break;
          case 'reconnect':
            if (action.graceful) y.sock.ws.close();
            else y.sock.ws.terminate();
            ys[action.s] = await openY(action.doc, action.token);
            break;
        }
      }
    }

    // The server is up, and a fresh, well-behaved editor can open a document and edit it.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status, '/healthz').toBe(200);
    const fresh = await Sock.open(port, '/');
    fresh.send(authFrame(names[0]!, tokens.editor, '4.8.0'));
    fresh.send(step1Frame(names[0]!, EMPTY_SV));
    await fresh.until(() => !fresh.isOpen || fresh.count(isStep2For(names[0]!)) > 0, 'fresh editor joined');
    const edit = freshUpdate('fresh');
    const acks = fresh.count(isStatusFor(names[0]!));
    fresh.send(updateFrame(names[0]!, edit));
    await fresh.until(() => !fresh.isOpen || fresh.count(isStatusFor(names[0]!)) > acks, 'fresh editor ack');
    expect(
      fresh.frames.filter(isStatusFor(names[0]!)).map((f) => (f.kind === 'syncStatus' ? f.applied : -1)),
      'fresh editor acked',
    ).toEqual([1]);
    accepted[0]!.push(edit);
    fresh.ws.terminate();

    // Content: exactly the accepted updates, plus uncertain editor updates only if relayed.
    for (const [d, name] of names.entries()) {
      const before = observer.count(isStep2For(name));
      observer.send(step1Frame(name, Y.encodeStateVector(seen[d]!)));
      await observer.until(() => !observer.isOpen || observer.count(isStep2For(name)) > before, `observer barrier on ${name}`);
      expect(observer.isOpen, 'observer still connected').toBe(true);
      expect(observerErrors, 'updates from the server the observer cannot apply').toEqual([]);
      const expected = new Y.Doc();
      for (const update of accepted[d]!) Y.applyUpdate(expected, update);
      const snapshot = Y.snapshot(seen[d]!);
      const relayed = (update: Uint8Array) => {
        try {
          return Y.snapshotContainsUpdate(snapshot, update);
        } catch {
          return false; // not even a Yjs update: the server cannot have applied it
        }
      };
      for (const update of uncertain[d]!) {
        tally.uncertain++;
        if (relayed(update)) Y.applyUpdate(expected, update);
      }
      expect(seen[d]!.getText('text').toString(), `${name}: what the observer holds`).toBe(expected.getText('text').toString());
      expect(same(seen[d]!, expected), `${name}: observer snapshot equals the accepted updates`).toBe(true);
      // The database: y-websocket edits are committed without an ack, so wait for them.
      let db = await stored(name);
      for (let k = 0; k < 100 && !same(db.doc, expected); k++) {
        await new Promise((r) => setTimeout(r, 50));
        db = await stored(name);
      }
      expect(db.doc.getText('text').toString(), `${name}: what the database holds`).toBe(expected.getText('text').toString());
      expect(same(db.doc, expected), `${name}: database snapshot equals the accepted updates`).toBe(true);
      for (const user of db.users) expect([ids.owner, ids.editor], `${name}: rows stored for user ${user}`).toContain(user);
    }
  } finally {
    observer.ws.terminate();
    for (const h of hp) h.sock.ws.terminate();
    for (const y of ys) y.sock.ws.terminate();
  }
}

describe(`token mode under fuzzed client lifecycles (${TRANSPORT})`, () => {
  it(
    `${RUNS} generated runs (seed ${SEED}): nothing but acknowledged editor updates reaches a document, the server stays up`,
    async () => {
      const stats = { runs: 0 };
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          stats.runs++;
          await runScenario(scenario);
        }),
        { seed: SEED, numRuns: RUNS, verbose: 1 },
      );
      expect(stats.runs).toBeGreaterThanOrEqual(RUNS);
      // The runs reached every fate: editor writes acknowledged, viewer writes refused, tokens
      // denied, sockets closed by the server for malformed frames.
      console.log(`auth lifecycle fuzz, ${TRANSPORT}, seed ${SEED}: ${JSON.stringify(tally)}`);
      for (const key of ['acked', 'nacked', 'yAccepted', 'denied', 'readonly', 'readWrite', 'closedByServer'] as const)
        expect(tally[key], key).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    },
    Math.max(120_000, RUNS * 2_000),
  );
});
