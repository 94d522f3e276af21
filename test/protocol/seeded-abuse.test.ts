/**
 * The abuse suite's short fixed-seed run (fast-check): one property mixing the attacks of the
 * other files in this folder. Each run starts one in-memory server with small bounds, a witness
 * pair of honest raw clients on one document and one or two attacker sockets that send a
 * generated sequence of hostile frames (awareness floods, oversized states, stealing the
 * witness's awareness id, QueryAwareness bursts, many addresses of the document, Auth for
 * denied/invalid names, CLOSE for unopened documents, poisoned updates, garbage, oversized
 * frames), interleaved with the witnesses' edits. Afterwards:
 *
 * - the server is up: a fresh client joins and syncs the witnesses' text;
 * - the witnesses converge, and every witness edit reached the other witness;
 * - the witness's presence is its own (never replaced by the attacker's state);
 * - the attacker's awareness stays within the configured bounds (client ids per connection,
 *   state size).
 *
 * ABUSE_SEED (default 20261207) and ABUSE_RUNS (default 3) run more; ABUSE_TRANSPORT=ws uses the ws transport, ABUSE_SHRINK=1 shrinks a
 * failure, ABUSE_PATH replays one run (the path fast-check prints). fast-check prints the seed, path and sequence on failure. Attacker sockets closed by the server reconnect.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import fc from 'fast-check';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../server/config.js';
import {
  authFrame,
  awarenessFrame,
  closeDocFrame,
  decodeFrame,
  encodeAwareness,
  queryAwarenessFrame,
  step1Frame,
  step2Frame,
  Sync,
  T,
  updateFrame,
  type Frame,
} from '../helpers/frames.js';
import { POISON_UPDATE, poisonBase } from '../helpers/poison.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SEED = Number(process.env.ABUSE_SEED ?? 20261207);
const RUNS = Number(process.env.ABUSE_RUNS ?? 3);
const TRANSPORT = process.env.ABUSE_TRANSPORT === 'ws' ? 'ws' : 'uws';

const DOC = 'seeded-abuse';

/**
 * FIXED SERVER BUGS with poisoned updates (found by this run with ABUSE_POISON=1,
 * ABUSE_RUNS=20: seed 20261207 path "3" and path "9", seed 1 path "6", seed 2 path "3").
 * A poisoned update evicts the room (room-registry.ts evict), and (both fixed: the fresh copy
 * takes the broken room's awareness over, and reopened members get the fresh copy whole):
 *
 * 1. The members' awareness states and the ownership of their client ids are dropped with
 *    the broken room (DocumentSession.roomEvicted); the reopened room starts with none and
 *    nobody asks the members for theirs. A client joining then sees none of the members'
 *    presence until each renews it, and anyone (the offender reconnected, or a viewer) can
 *    take over a member's client id: its caret and name are then the attacker's
 *    (POISON_STEAL).
 * 2. An edit applied just before the poisoned update (another member's, arriving in the same
 *    moment) is acknowledged and stored but never reaches the other members: the reopened
 *    members are resynced only from the state vector the broken room had before the poisoned
 *    update, on the assumption that all of it had been relayed, and this edit had not been
 *    yet. The witnesses diverged for good (a fresh client had the edit) (POISON_LOST_RELAY).
 *    FIXED: reopened members now get the fresh copy whole.
 *    uws transport only (with ABUSE_TRANSPORT=ws the edit arrives): the relay goes out through
 *    the transport's pub/sub (LocalFanOut.updateApplied publishes to the audience's topic) and
 *    the eviction unsubscribes the members (Room.detachAll) in the same turn, which seems to
 *    drop what uWS had not yet delivered.
 *
 * The generated sequences leave poisoned updates out unless ABUSE_POISON=1 (with it, seed 1
 * path "8" still fails one oracle: the offender's awareness states stay shown at the members
 * until their own 30 s timeout, since its removal has no audience in the evicted room); the sequences
 * below are the bugs as deterministic tests that expect the failure (flip them once fixed).
 */
const POISON = process.env.ABUSE_POISON === '1';

/**
 * KNOWN SERVER BUG (found by this run, seed 20261207, ABUSE_RUNS=20, path "0"; now with
 * ABUSE_ADDRESS_AWARENESS=1): MAX_AWARENESS_CLIENTS_PER_CONNECTION ("client ids one connection may
 * hold in one document") is held per session, i.e. per address: a socket that also opens
 * "doc\0<n>" addresses of the document gets the bound once per address, and the other
 * members are shown (1 + its extra addresses) times as many foreign ids (9 with a bound
 * of 3 here). The generated sequences plant awareness only under the plain name unless
 * ABUSE_ADDRESS_AWARENESS=1; ADDRESS_AWARENESS_FLOOD is the bug as a deterministic test
 * that expects the failure.
 */
const ADDRESS_AWARENESS = process.env.ABUSE_ADDRESS_AWARENESS === '1';
const ADDRESS_AWARENESS_FLOOD = {
  attackers: 1,
  ops: [
    { kind: 'addresses', who: 0, first: 0, count: 2 },
    { kind: 'awarenessFlood', who: 0, first: 100_000, count: 5, frames: 1 },
    { kind: 'edit', witness: 0, text: 'a' },
  ],
} as const;
const POISON_STEAL = {
  attackers: 1,
  ops: [
    { kind: 'edit', witness: 0, text: 'a' },
    { kind: 'poison', who: 0 },
    { kind: 'pause', ms: 100 },
    { kind: 'steal', who: 0, witness: 0, clock: 5, remove: false },
    { kind: 'edit', witness: 1, text: 'b' },
  ],
} as const;
const POISON_LOST_RELAY = {
  attackers: 1,
  ops: [
    { kind: 'closeUnopened', who: 0, count: 1 }, // the attacker's socket is open and joined
    { kind: 'edit', witness: 1, text: 'lost' },
    { kind: 'poison', who: 0 }, // sent right after the edit, from another socket
  ],
} as const;

const LIMITS = {
  maxAwarenessClientsPerConnection: 3,
  maxAwarenessStateBytes: 256,
  maxAwarenessEntriesPerMessage: 8,
  maxAddressesPerSocket: 2,
  maxAddressesPerDocument: 6,
  maxDocumentsPerSocket: 8,
  maxPendingDocuments: 8,
  maxMessageBytes: 64 * 1024,
} satisfies Partial<Config>;

/** Witness awareness ids (fixed, so a generated steal can name them). */
const WITNESS_IDS = [7001, 7002] as const;
const isWitness = (id: number) => id === WITNESS_IDS[0] || id === WITNESS_IDS[1];
const witnessState = (i: number) => ({ user: `witness-${i}` });

// ---- the generated sequence ----

type Op =
  | { kind: 'edit'; witness: 0 | 1; text: string }
  | { kind: 'pause'; ms: number }
  | { kind: 'awarenessFlood'; who: 0 | 1; first: number; count: number; frames: number }
  | { kind: 'oversizedState'; who: 0 | 1; bytes: number }
  | { kind: 'steal'; who: 0 | 1; witness: 0 | 1; clock: number; remove: boolean }
  | { kind: 'queryBurst'; who: 0 | 1; count: number }
  | { kind: 'addresses'; who: 0 | 1; first: number; count: number }
  | { kind: 'deniedNames'; who: 0 | 1; name: 'nul' | 'emoji' | 'invalidUtf8'; count: number }
  | { kind: 'closeUnopened'; who: 0 | 1; count: number }
  | { kind: 'poison'; who: 0 | 1 }
  | { kind: 'garbage'; who: 0 | 1; bytes: Uint8Array }
  | { kind: 'oversized'; who: 0 | 1; extra: number };

const who = fc.constantFrom<0 | 1>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('edit' as const), witness: who, text: fc.string({ minLength: 1, maxLength: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 100 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('awarenessFlood' as const),
      who,
      first: fc.integer({ min: 100_000, max: 1_000_000 }),
      count: fc.integer({ min: 1, max: 40 }),
      frames: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversizedState' as const), who, bytes: fc.integer({ min: 300, max: 8_000 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('steal' as const),
      who,
      witness: who,
      clock: fc.integer({ min: 0, max: 1_000_000 }),
      remove: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('queryBurst' as const), who, count: fc.integer({ min: 1, max: 60 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('addresses' as const), who, first: fc.nat(1000), count: fc.integer({ min: 1, max: 12 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deniedNames' as const),
      who,
      name: fc.constantFrom('nul' as const, 'emoji' as const, 'invalidUtf8' as const),
      count: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('closeUnopened' as const), who, count: fc.integer({ min: 1, max: 20 }) }) },
  // Poisoned updates, only with ABUSE_POISON=1 (see the comment at POISON).
  ...(POISON ? [{ weight: 1, arbitrary: fc.record({ kind: fc.constant('poison' as const), who }) }] : []),
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('garbage' as const), who, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('oversized' as const), who, extra: fc.integer({ min: 1, max: 4096 }) }) },
);

const scenarioArb = fc.record({
  attackers: fc.constantFrom(1, 2),
  ops: fc.array(opArb, { minLength: 4, maxLength: 24 }),
});

// ---- frames the helpers do not build ----

/** Auth frame whose name is raw bytes (possibly invalid UTF-8). */
function authRawName(name: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint8Array(encoder, name);
  encoding.writeVarUint(encoder, T.Auth);
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarString(encoder, 'token');
  return encoding.toUint8Array(encoder);
}

function deniedName(kind: 'nul' | 'emoji' | 'invalidUtf8', i: number): Uint8Array {
  switch (kind) {
    case 'nul':
      return authFrame(`\0${i}`);
    case 'emoji':
      return authFrame(`${'😀'.repeat(256)}${i}`);
    case 'invalidUtf8':
      return authRawName(new Uint8Array([0x61, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0x30 + (i % 10)]));
  }
}

/** One awareness update naming `count` ids from `first`, each with a tiny state. */
function plantUpdate(first: number, count: number): Uint8Array {
  return encodeAwareness(Array.from({ length: count }, (_, i) => ({ clientId: first + i, clock: 1, state: { a: 1 } })));
}

// ---- reading what a client received ----

interface Seen {
  readonly clientId: number;
  readonly clock: number;
  readonly bytes: number | null;
  readonly json: string | null;
}

function entriesOf(update: Uint8Array): Seen[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const out: Seen[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = new TextDecoder().decode(decoding.readVarUint8Array(decoder));
    out.push({ clientId, clock, bytes: json === 'null' ? null : json.length, json: json === 'null' ? null : json });
  }
  return out;
}

const received = (client: RawClient, name: string | null): Seen[] =>
  client.frames.flatMap((f) => (f.kind === 'awareness' && f.name === name ? entriesOf(f.payload) : []));

function current(client: RawClient, name: string | null): Map<number, Seen> {
  const states = new Map<number, Seen>();
  for (const entry of received(client, name)) {
    const known = states.get(entry.clientId);
    if (known && known.clock > entry.clock) continue;
    if (entry.bytes === null) states.delete(entry.clientId);
    else states.set(entry.clientId, entry);
  }
  return states;
}

// ---- clients ----

/** A witness: joins DOC, answers the server's SyncStep1 (asked after an eviction), keeps its presence. */
async function witness(port: number, index: 0 | 1): Promise<RawClient> {
  const client = await RawClient.connect(port);
  const doc = client.doc(DOC);
  doc.clientID = WITNESS_IDS[index];
  client.ws.on('message', (data, isBinary) => {
    if (!isBinary || !client.isOpen) return;
    let frame: Frame;
    try {
      frame = decodeFrame(new Uint8Array(data as Buffer), true);
    } catch {
      return;
    }
    if (frame.kind === 'sync' && frame.name === DOC && frame.sub === Sync.Step1) {
      client.send(step2Frame(DOC, Y.encodeStateAsUpdate(doc, frame.payload)));
    }
  });
  client.answerPings();
  await client.join(DOC);
  client.send(awarenessFrame(DOC, encodeAwareness([{ clientId: WITNESS_IDS[index], clock: 1, state: witnessState(index) }])));
  return client;
}

class Attacker {
  client: RawClient | null = null;
  /** Sockets that joined DOC (each has its own awareness budget). */
  connections = 0;
  /** Close codes of the attacker's sockets the server closed. */
  readonly closes: number[] = [];

  constructor(private readonly port: number) {}

  /** An open socket joined to DOC, or null when the server would not have it now. */
  async socket(): Promise<RawClient | null> {
    if (this.client?.isOpen) return this.client;
    if (this.client?.closeInfo) this.closes.push(this.client.closeInfo.code);
    try {
      const client = await RawClient.connect(this.port);
      this.connections++;
      this.client = client;
      await client.join(DOC, { timeoutMs: 2_000 });
      return client.isOpen ? client : null;
    } catch {
      return null;
    }
  }
}

async function runAttack(op: Exclude<Op, { kind: 'edit' | 'pause' }>, attacker: Attacker, addressAwareness: boolean): Promise<void> {
  const socket = await attacker.socket();
  if (!socket) return;
  const send = (frame: Uint8Array) => {
    if (socket.isOpen) socket.send(frame);
  };
  switch (op.kind) {
    case 'awarenessFlood':
      for (let f = 0; f < op.frames; f++) send(awarenessFrame(DOC, plantUpdate(op.first + f * op.count, op.count)));
      break;
    case 'oversizedState':
      send(awarenessFrame(DOC, encodeAwareness([{ clientId: 999_999, clock: 1, state: { user: 'x'.repeat(op.bytes) } }])));
      break;
    case 'steal':
      send(
        awarenessFrame(
          DOC,
          encodeAwareness([{ clientId: WITNESS_IDS[op.witness], clock: op.clock, state: op.remove ? null : { user: 'mallory' } }]),
        ),
      );
      break;
    case 'queryBurst':
      for (let i = 0; i < op.count; i++) send(queryAwarenessFrame(DOC));
      break;
    case 'addresses':
      for (let i = 0; i < op.count; i++) {
        const address = `${DOC}\0${op.first + i}`;
        send(authFrame(address));
        send(step1Frame(address, new Uint8Array([0])));
        // KNOWN SERVER BUG, off unless ABUSE_ADDRESS_AWARENESS=1: see ADDRESS_AWARENESS below.
        if (addressAwareness) send(awarenessFrame(address, plantUpdate(500_000 + op.first * 100 + i * 10, 5)));
      }
      break;
    case 'deniedNames':
      for (let i = 0; i < op.count; i++) send(deniedName(op.name, i));
      break;
    case 'closeUnopened':
      for (let i = 0; i < op.count; i++) send(closeDocFrame(`never-opened-${i}`));
      break;
    case 'poison':
      send(updateFrame(DOC, POISON_UPDATE));
      break;
    case 'garbage':
      send(op.bytes);
      break;
    case 'oversized':
      send(awarenessFrame(DOC, new Uint8Array(LIMITS.maxMessageBytes + op.extra)));
      break;
  }
}

async function check(
  attackers: number,
  ops: readonly Op[],
  addressAwareness = ADDRESS_AWARENESS,
  transport: 'uws' | 'ws' = TRANSPORT,
): Promise<void> {
  const server = await startTestServer(transport, LIMITS);
  try {
    const witnesses = [await witness(server.port, 0), await witness(server.port, 1)] as const;
    // The poison's base, so a poisoned update breaks the room (an eviction), as in poison.test.ts.
    witnesses[0].send(updateFrame(DOC, poisonBase()));
    Y.applyUpdate(witnesses[0].doc(DOC), poisonBase());
    await waitFor(() => witnesses[1].doc(DOC).getText('t').toString() === 'hello', 5_000, 'poison base at witness 1');
    await waitFor(() => current(witnesses[1], DOC).get(WITNESS_IDS[0])?.json !== undefined, 5_000, "witness 0's presence at witness 1");
    await waitFor(() => current(witnesses[0], DOC).get(WITNESS_IDS[1])?.json !== undefined, 5_000, "witness 1's presence at witness 0");

    const pool = Array.from({ length: attackers }, () => new Attacker(server.port));
    const markers: string[] = [];
    let poisons = 0;
    for (const [step, op] of ops.entries()) {
      if (op.kind === 'edit') {
        const marker = `<${step}:${op.text}>`;
        markers.push(marker);
        const w = witnesses[op.witness];
        w.send(updateFrame(DOC, textUpdate(w.doc(DOC), marker)));
      } else if (op.kind === 'pause') {
        await sleep(op.ms);
      } else {
        // Beyond MAX_EVICTIONS_PER_DOCUMENT (3) evictions a document refuses edits for a while,
        // by design (poison.test.ts): stay below it so the witnesses' edits must get through.
        if (op.kind === 'poison' && ++poisons > 2) continue;
        await runAttack(op, pool[op.who % attackers]!, addressAwareness);
        await sleep(25); // lands (or gets the socket closed) before the next step
      }
    }
    await sleep(300);

    // The server is up: a fresh client joins and syncs.
    const fresh = await RawClient.connect(server.port);
    await fresh.join(DOC, { timeoutMs: 5_000 });

    // The witnesses converge, with every edit.
    const [a, b] = witnesses;
    const textOf = (c: RawClient) => c.text(DOC);
    await waitFor(
      () => textOf(a) === textOf(b) && markers.every((m) => textOf(a).includes(m)),
      5_000,
      `witnesses to converge with every edit (a: ${JSON.stringify(textOf(a))}, b: ${JSON.stringify(textOf(b))}, markers ${JSON.stringify(markers)})`,
    );
    await fresh.waitForText(DOC, textOf(a), 5_000);
    expect(a.isOpen && b.isOpen).toBe(true);

    // Presence: each witness's id shows its own state only, at the other witness and at the fresh client.
    for (const [i, _w] of witnesses.entries()) {
      const other = witnesses[1 - i]!;
      const own = JSON.stringify(witnessState(i));
      const states = received(other, DOC).filter((e) => e.clientId === WITNESS_IDS[i] && e.json !== null);
      expect(
        states.map((e) => e.json),
        `states of witness ${i}'s id at the other witness: ${JSON.stringify(states.map((e) => e.json))}`,
      ).toEqual(states.map(() => own));
      expect(current(other, DOC).get(WITNESS_IDS[i])?.json).toBe(own);
      await waitFor(() => current(fresh, DOC).get(WITNESS_IDS[i])?.json === own, 5_000, `witness ${i}'s presence at the fresh client`);
    }

    // Awareness bounds: foreign ids and state size.
    const connections = pool.reduce((n, p) => n + p.connections, 0);
    if (process.env.ABUSE_VERBOSE === '1') {
      const foreignSeen = new Set(
        received(a, DOC)
          .filter((e) => e.json !== null && !isWitness(e.clientId))
          .map((e) => e.clientId),
      ).size;
      console.log(
        JSON.stringify({
          attackers,
          ops: ops.map((o) => o.kind),
          connections,
          closes: pool.map((p) => [...p.closes, p.client?.closeInfo?.code ?? 'open']),
          foreignSeen,
          text: textOf(a).length,
          counters: server.metrics.counters,
        }),
      );
    }
    for (const w of witnesses) {
      const foreign = new Set(
        received(w, DOC)
          .filter((e) => e.json !== null && !isWitness(e.clientId))
          .map((e) => e.clientId),
      );
      expect(foreign.size).toBeLessThanOrEqual(LIMITS.maxAwarenessClientsPerConnection * connections);
      const now = [...current(w, DOC).keys()].filter((id) => !isWitness(id));
      expect(now.length).toBeLessThanOrEqual(LIMITS.maxAwarenessClientsPerConnection * attackers);
      for (const e of received(w, DOC)) expect(e.bytes ?? 0).toBeLessThanOrEqual(LIMITS.maxAwarenessStateBytes);
    }
  } finally {
    RawClient.terminateAll();
    await closeServers();
  }
}

describe('seeded abuse (fast-check)', () => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  // The known bugs (see above): each test expects the failure the bug causes; flip it once fixed.
  // Fixed: the fresh copy takes the evicted room's awareness over (states and owners).
  it('after a poisoned update evicts the room, the witnesses keep their presence and nobody takes over their ids', async () => {
    await check(POISON_STEAL.attackers, POISON_STEAL.ops, false, 'uws');
  }, 60_000);

  // Fixed: the reopen sent only what lay beyond the state before the poisoned update; now the fresh copy whole.
  it('an edit applied just before a poisoned update reaches the other witness', async () => {
    await check(POISON_LOST_RELAY.attackers, POISON_LOST_RELAY.ops, false, 'uws');
  }, 60_000);

  it('KNOWN BUG: one socket gets the per-connection awareness bound once per address of the document', async () => {
    await expect(check(ADDRESS_AWARENESS_FLOOD.attackers, ADDRESS_AWARENESS_FLOOD.ops, true, 'uws')).rejects.toThrow(
      /expected 6 to be less than or equal to 3/,
    );
  }, 60_000);

  // ABUSE_REPLAY='{"attackers":1,"ops":[...]}' runs one given sequence (garbage bytes as hex).
  it.runIf(process.env.ABUSE_REPLAY !== undefined)(
    'replays ABUSE_REPLAY',
    async () => {
      const scenario = JSON.parse(process.env.ABUSE_REPLAY ?? '{}', (key, v: unknown) =>
        key === 'bytes' && typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'hex')) : v,
      ) as { attackers: number; ops: Op[] };
      await check(scenario.attackers, scenario.ops);
    },
    120_000,
  );

  it(`the server, the witnesses and their presence survive generated attack sequences (seed ${SEED}, ${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ attackers, ops }) => {
        try {
          await check(attackers, ops);
        } catch (error) {
          const sequence = ops.map((op) =>
            JSON.stringify(op, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
          );
          console.error(`seeded abuse failed (ABUSE_SEED=${SEED}), ${attackers} attacker(s), sequence:\n  ${sequence.join('\n  ')}`);
          throw error;
        }
      }),
      // Shrinking restarts servers many times: off unless ABUSE_SHRINK=1 (the seed and the path replay it).
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: process.env.ABUSE_SHRINK !== '1',
        ...(process.env.ABUSE_PATH ? { path: process.env.ABUSE_PATH } : {}),
      },
    );
  }, 600_000);
});
