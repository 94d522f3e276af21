/**
 * Review item 2: awareness could take the server down.
 *
 * - Within its rate limits one socket planted millions of awareness client ids (RSS 99 MB →
 *   2.65 GB in 20 s): every id a frame named was kept and relayed.
 * - One 14 MB awareness frame stalled every client for seconds (every entry decoded,
 *   JSON-parsed, stored and relayed).
 * - QueryAwareness re-encoded every planted state for every query.
 * - States were never removed while their socket stayed open.
 * - A viewer could do all of this, and it spread to the other instances; it could also take
 *   over another client's awareness id (caret and name), and its leaving removed that
 *   person's presence for everyone.
 *
 * The bounds asserted here are loose on purpose (a few times the defaults): what matters
 * is that the attacks above stay orders of magnitude below what they used to reach.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import type { Authorizer } from '../../server/auth/authorizer.js';
import type { Clock } from '../../server/clock.js';
import { DEFAULT_AWARENESS_LIMITS } from '../../server/rooms/awareness-table.js';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { BusKind, decodeBusMessage, encodeBusMessage } from '../../server/codec/bus-codec.js';
import { authFrame, awarenessFrame, encodeAwareness, queryAwarenessFrame, step1Frame, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import * as Y from 'yjs';

/** Client ids one socket may get relayed for one document, at most (the default is far lower). */
const PER_SOCKET = 16;
/** Largest state relayed (the default is far lower). */
const STATE_BYTES = 64 * 1024;
/** States one document may hold, at most. */
const PER_DOCUMENT = DEFAULT_AWARENESS_LIMITS.maxClientsPerDocument;

interface Seen {
  readonly clientId: number;
  readonly clock: number;
  /** Bytes of the state's JSON; `null` for a removal. */
  readonly bytes: number | null;
  readonly json: string | null;
}

/** The entries of an awareness update, without parsing the states (some are large). */
function entriesOf(update: Uint8Array): Seen[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const out: Seen[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = decoding.readVarUint8Array(decoder);
    const removal = json.length === 4 && new TextDecoder().decode(json) === 'null';
    out.push({
      clientId,
      clock,
      bytes: removal ? null : json.length,
      json: removal || json.length > 1024 ? null : new TextDecoder().decode(json),
    });
  }
  return out;
}

/** Every awareness entry a client received for a document (name null: y-websocket), in order. */
function received(client: RawClient, name: string | null): Seen[] {
  return client.frames.flatMap((f) => (f.kind === 'awareness' && f.name === name ? entriesOf(f.payload) : []));
}

/** Bytes of the largest state the client received for a document. */
function largestState(client: RawClient, name: string | null): number {
  return received(client, name).reduce((largest, entry) => Math.max(largest, entry.bytes ?? 0), 0);
}

/** Client ids in `range` the client was told to show (a non-null state), at any time. */
function shown(client: RawClient, name: string | null, from: number, to: number): Set<number> {
  const ids = new Set<number>();
  for (const entry of received(client, name))
    if (entry.bytes !== null && entry.clientId >= from && entry.clientId < to) ids.add(entry.clientId);
  return ids;
}

/** Ids whose latest entry at the client is a state (what its awareness would show now). */
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

/** One awareness update naming `count` fresh client ids from `first`, each with a tiny state. */
function plantUpdate(first: number, count: number, state = '{}'): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, count);
  for (let i = 0; i < count; i++) {
    encoding.writeVarUint(encoder, first + i);
    encoding.writeVarUint(encoder, 1);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

/** Milliseconds until an edit from `editor` reaches `reader` (how long the server was busy). */
async function editLatency(editor: RawClient, reader: RawClient, name: string, text: string, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  editor.send(updateFrame(name, textUpdate(editor.doc(name), text)));
  await waitFor(() => reader.text(name).includes(text), timeoutMs, `edit "${text}" at the reader`, 5);
  return performance.now() - started;
}

/** The wall clock, `skew` ms ahead, whose repeating timers also run when the test says. */
class SkewClock implements Clock {
  skew = 0;
  private readonly timers = new Set<() => void>();

  now(): number {
    return Date.now() + this.skew;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.add(fn);
    return () => {
      clearInterval(timer);
      this.timers.delete(fn);
    };
  }

  /** One-shot timers (quiet periods) run in real time, not moved by the skew. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  }

  /** Moves time on and runs every repeating timer once, as if `ms` had passed. */
  advance(ms: number): void {
    this.skew += ms;
    for (const fn of [...this.timers]) fn();
  }
}

/** Open mode, except that the token "viewer" is read-only (a project viewer). */
const viewerAuthorizer: Authorizer = {
  authenticate: (token) => Promise.resolve({ userId: token === 'viewer' ? 'viewer' : null, sessionId: null, expiresAt: null }),
  revalidate: () => Promise.resolve(),
  authorize: (principal) =>
    Promise.resolve({
      ...principal,
      scope: principal.userId === 'viewer' ? 'readonly' : 'read-write',
      create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID },
    }),
};

async function joinAs(port: number, name: string, token: string): Promise<RawClient> {
  const client = await RawClient.connect(port);
  client.send(authFrame(name, token));
  client.send(step1Frame(name, Y.encodeStateVector(client.doc(name))));
  await client.waitForFrame((f) => f.kind === 'sync' && f.name === name && f.sub === 1, 5_000, `SyncStep2 for ${name}`);
  return client;
}

describe.each(TRANSPORTS)('awareness abuse over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('one socket cannot plant thousands of client ids, on either protocol', async () => {
    const server = await startTestServer(transport);
    const witness = await RawClient.connect(server.port);
    await witness.join('plant');
    const attacker = await RawClient.connect(server.port);
    await attacker.join('plant');
    // 20,000 fresh ids in 200 frames: well within the frame and byte rates.
    for (let i = 0; i < 200; i++) attacker.send(awarenessFrame('plant', plantUpdate(100_000 + i * 100, 100)));
    await editLatency(attacker, witness, 'plant', 'after the flood');
    await sleep(100);
    expect(attacker.isOpen).toBe(true);
    expect(shown(witness, 'plant', 100_000, 200_000).size).toBeLessThanOrEqual(PER_SOCKET);
    const late = await RawClient.connect(server.port);
    await late.join('plant');
    expect(current(late, 'plant').size).toBeLessThanOrEqual(PER_SOCKET);

    // y-websocket: one document per socket, same bound.
    const yWitness = await RawClient.connect(server.port, '/y/plant-y');
    const yAttacker = await RawClient.connect(server.port, '/y/plant-y');
    await sleep(100);
    for (let i = 0; i < 200; i++) yAttacker.send(awarenessFrame(null, plantUpdate(100_000 + i * 100, 100)));
    yAttacker.send(updateFrame(null, textUpdate(yAttacker.doc(null), 'y flood done')));
    await yWitness.waitForText(null, 'y flood done', 20_000);
    expect(yAttacker.isOpen).toBe(true);
    expect(shown(yWitness, null, 100_000, 200_000).size).toBeLessThanOrEqual(PER_SOCKET);
  });

  it('a 12 MB awareness frame of tiny entries neither stalls the others nor reaches them', async () => {
    const server = await startTestServer(transport);
    const witness = await RawClient.connect(server.port);
    await witness.join('big');
    const editor = await RawClient.connect(server.port);
    await editor.join('big');
    const attacker = await RawClient.connect(server.port);
    await attacker.join('big');
    const idle = await editLatency(editor, witness, 'big', 'warm;');

    const frame = awarenessFrame('big', plantUpdate(1_000_000, 1_700_000));
    expect(frame.length).toBeGreaterThan(11_000_000);
    attacker.send(frame);
    await sleep(300); // on the wire and being handled
    const latency = await editLatency(editor, witness, 'big', 'during;');
    expect(latency, `edit latency ${latency.toFixed(0)} ms (idle: ${idle.toFixed(0)} ms)`).toBeLessThan(2_000);
    await sleep(200);
    expect(shown(witness, 'big', 1_000_000, 3_000_000).size).toBeLessThanOrEqual(PER_SOCKET);
  });

  it('the bounds are configuration (MAX_AWARENESS_*)', async () => {
    const server = await startTestServer(transport, { maxAwarenessClientsPerConnection: 1, maxAwarenessStateBytes: 64 });
    const witness = await RawClient.connect(server.port);
    await witness.join('configured');
    const sender = await RawClient.connect(server.port);
    await sender.join('configured');
    sender.send(awarenessFrame('configured', encodeAwareness([{ clientId: 1, clock: 1, state: { user: 'x'.repeat(100) } }])));
    sender.send(
      awarenessFrame(
        'configured',
        encodeAwareness([
          { clientId: 2, clock: 1, state: { user: 'two' } },
          { clientId: 3, clock: 1, state: { user: 'three' } },
        ]),
      ),
    );
    await waitFor(() => current(witness, 'configured').has(2), 5_000, 'the first small state relayed');
    await editLatency(sender, witness, 'configured', 'done;');
    expect([...current(witness, 'configured').keys()]).toEqual([2]);
    expect(server.metrics.counters).toMatchObject({ awarenessDropped: 2 });
  });

  it('a state larger than the bound is dropped, not relayed; the socket and its normal states carry on', async () => {
    const server = await startTestServer(transport);
    const witness = await RawClient.connect(server.port);
    await witness.join('large');
    const sender = await RawClient.connect(server.port);
    await sender.join('large');
    const huge = { user: 'x'.repeat(1024 * 1024) };
    sender.send(awarenessFrame('large', encodeAwareness([{ clientId: 777, clock: 1, state: huge }])));
    sender.send(awarenessFrame('large', encodeAwareness([{ clientId: 778, clock: 1, state: { user: 'normal' } }])));
    await waitFor(() => current(witness, 'large').has(778), 5_000, 'the normal state relayed');
    expect(sender.isOpen).toBe(true);
    expect(largestState(witness, 'large')).toBeLessThanOrEqual(STATE_BYTES);
    expect(current(witness, 'large').has(777)).toBe(false);
    const late = await RawClient.connect(server.port);
    await late.join('large');
    expect([...current(late, 'large').keys()]).toEqual([778]);
  });

  it('QueryAwareness floods are answered a bounded number of times, however many states are planted', async () => {
    const server = await startTestServer(transport);
    const witness = await RawClient.connect(server.port);
    await witness.join('query');
    const editor = await RawClient.connect(server.port);
    await editor.join('query');
    const attacker = await RawClient.connect(server.port);
    await attacker.join('query');
    for (let i = 0; i < 200; i++) attacker.send(awarenessFrame('query', plantUpdate(100_000 + i * 100, 100)));
    await editLatency(attacker, witness, 'query', 'planted;');
    const before = attacker.frames.length;
    for (let i = 0; i < 300; i++) attacker.send(queryAwarenessFrame('query'));
    const latency = await editLatency(editor, witness, 'query', 'during;');
    await editLatency(attacker, witness, 'query', 'queried;'); // every query handled by now
    await sleep(200);
    const answers = attacker.frames.slice(before).filter((f) => f.kind === 'awareness' && f.name === 'query');
    expect(answers.length).toBeLessThanOrEqual(20);
    expect(latency).toBeLessThan(2_000);
    const answered = answers.reduce((bytes, f) => bytes + (f.kind === 'awareness' ? f.payload.length : 0), 0);
    expect(answered).toBeLessThan(1024 * 1024);
  });

  it('a state its socket stops renewing is removed for everyone after the timeout, the socket still open', async () => {
    const clock = new SkewClock();
    const server = await startTestServer(transport, {}, { clock });
    const witness = await RawClient.connect(server.port);
    await witness.join('expire');
    const quiet = await RawClient.connect(server.port);
    await quiet.join('expire');
    const renewing = await RawClient.connect(server.port);
    await renewing.join('expire');
    quiet.send(awarenessFrame('expire', encodeAwareness([{ clientId: 5005, clock: 1, state: { user: 'quiet' } }])));
    renewing.send(awarenessFrame('expire', encodeAwareness([{ clientId: 6006, clock: 1, state: { user: 'renewing' } }])));
    await waitFor(() => current(witness, 'expire').has(5005) && current(witness, 'expire').has(6006), 5_000, 'both shown');

    clock.skew += 20_000;
    renewing.send(awarenessFrame('expire', encodeAwareness([{ clientId: 6006, clock: 2, state: { user: 'renewing' } }])));
    await waitFor(() => current(witness, 'expire').get(6006)?.clock === 2, 5_000, 'renewal relayed');
    clock.advance(20_000); // 40 s after the quiet state, 20 s after the renewal
    await waitFor(() => !current(witness, 'expire').has(5005), 5_000, 'the quiet state removed at the witness');
    expect(
      received(witness, 'expire')
        .filter((e) => e.clientId === 5005 && e.bytes === null)
        .map((e) => e.clock),
    ).toEqual([2]);
    expect(current(witness, 'expire').has(6006)).toBe(true);
    expect(quiet.isOpen).toBe(true);
    // Its owner hears it too, and may set it again.
    await waitFor(() => received(quiet, 'expire').some((e) => e.clientId === 5005 && e.bytes === null), 5_000, 'the owner told');
    quiet.send(awarenessFrame('expire', encodeAwareness([{ clientId: 5005, clock: 3, state: { user: 'back' } }])));
    await waitFor(() => current(witness, 'expire').get(5005)?.json === '{"user":"back"}', 5_000, 'set again');
  });

  it("a viewer cannot take over another client's awareness id, nor remove it by leaving", async () => {
    const server = await startTestServer(transport, {}, { authorizer: viewerAuthorizer });
    const witness = await joinAs(server.port, 'spoof', 'editor');
    const alice = await joinAs(server.port, 'spoof', 'editor');
    const viewer = await joinAs(server.port, 'spoof', 'viewer');
    alice.send(awarenessFrame('spoof', encodeAwareness([{ clientId: 1001, clock: 3, state: { user: 'alice' } }])));
    await waitFor(() => current(witness, 'spoof').get(1001)?.json === '{"user":"alice"}', 5_000, 'alice shown');

    viewer.send(awarenessFrame('spoof', encodeAwareness([{ clientId: 1001, clock: 99, state: { user: 'mallory' } }])));
    viewer.send(awarenessFrame('spoof', encodeAwareness([{ clientId: 2002, clock: 1, state: { user: 'viewer' } }])));
    // The viewer's own awareness is shown (the contract), the spoof is not.
    await waitFor(() => current(witness, 'spoof').has(2002), 5_000, "the viewer's own state relayed");
    expect(
      received(witness, 'spoof')
        .filter((e) => e.clientId === 1001)
        .map((e) => e.json),
    ).toEqual(['{"user":"alice"}']);
    // Nor can it remove alice's state.
    viewer.send(awarenessFrame('spoof', encodeAwareness([{ clientId: 1001, clock: 100, state: null }])));
    viewer.terminate();
    await waitFor(() => !current(witness, 'spoof').has(2002), 5_000, "the viewer's own state removed as it leaves");
    expect(current(witness, 'spoof').get(1001)?.json).toBe('{"user":"alice"}');
    const late = await joinAs(server.port, 'spoof', 'editor');
    expect(current(late, 'spoof').get(1001)?.json).toBe('{"user":"alice"}');
    // Alice's own renewals and her leaving still work.
    alice.send(awarenessFrame('spoof', encodeAwareness([{ clientId: 1001, clock: 4, state: { user: 'alice', cursor: 1 } }])));
    await waitFor(() => current(witness, 'spoof').get(1001)?.clock === 4, 5_000, 'alice renewed');
    alice.terminate();
    await waitFor(() => !current(witness, 'spoof').has(1001), 5_000, 'alice removed as she leaves');
  });
});

describe('awareness abuse across instances', () => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('what one socket plants on one instance does not spread to the others', async () => {
    const hub = new InProcessBusHub();
    const a = await startTestServer('uws', {}, { bus: hub.connect('a') });
    const b = await startTestServer('uws', {}, { bus: hub.connect('b') });
    const witness = await RawClient.connect(b.port);
    await witness.join('spread');
    const attacker = await RawClient.connect(a.port);
    await attacker.join('spread');
    await sleep(100);
    for (let i = 0; i < 200; i++) attacker.send(awarenessFrame('spread', plantUpdate(100_000 + i * 100, 100)));
    await editLatency(attacker, witness, 'spread', 'spread done;', 20_000);
    await sleep(200);
    expect(shown(witness, 'spread', 100_000, 200_000).size).toBeLessThanOrEqual(PER_SOCKET);
  });

  it('a viewer on one instance cannot take over the id of a client on another; once that instance goes silent, the client takes its id to the instance it reconnects to', async () => {
    const hub = new InProcessBusHub();
    const a = await startTestServer('uws', {}, { bus: hub.connect('a'), authorizer: viewerAuthorizer });
    const b = await startTestServer('uws', {}, { bus: hub.connect('b'), authorizer: viewerAuthorizer });
    const c = await startTestServer('uws', {}, { bus: hub.connect('c'), authorizer: viewerAuthorizer });
    const witness = await joinAs(c.port, 'moved', 'editor');
    const alice = await joinAs(a.port, 'moved', 'editor');
    const viewer = await joinAs(b.port, 'moved', 'viewer');
    alice.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4242, clock: 5, state: { user: 'alice' } }])));
    await waitFor(() => current(witness, 'moved').get(4242)?.json === '{"user":"alice"}', 5_000, 'alice shown on instance c');
    await waitFor(() => current(viewer, 'moved').has(4242), 5_000, 'alice known on instance b');

    viewer.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4242, clock: 99, state: { user: 'mallory' } }])));
    viewer.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4243, clock: 1, state: { user: 'viewer' } }])));
    await waitFor(() => current(witness, 'moved').has(4243), 5_000, "the viewer's own state on instance c");
    expect(
      received(witness, 'moved')
        .filter((e) => e.clientId === 4242)
        .map((e) => e.json),
    ).toEqual(['{"user":"alice"}']);
    expect(
      received(viewer, 'moved')
        .filter((e) => e.clientId === 4242)
        .map((e) => e.json),
    ).toEqual(['{"user":"alice"}']);

    // Instance a dies (nothing more from it, its announcement lapses); alice reconnects to b
    // and sends her state again, as providers do on connect, then renews it.
    hub.silenced.add('a');
    hub.lose = (_to, _document, data) => decodeBusMessage(data).from === 'a';
    const moved = await joinAs(b.port, 'moved', 'editor');
    const again = () => moved.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4242, clock: 5, state: { user: 'alice' } }])));
    again();
    // Refused while a may still be alive; once a is silent (≈3 s) it is hers on b, and echoed
    // (the first entry is the one b sent her on join).
    await waitFor(
      () => {
        again();
        return received(moved, 'moved').filter((e) => e.clientId === 4242 && e.clock === 5).length >= 2;
      },
      10_000,
      "alice's state taken over on instance b (echoed)",
      500,
    );
    moved.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4242, clock: 6, state: { user: 'alice', cursor: 1 } }])));
    await waitFor(() => current(witness, 'moved').get(4242)?.clock === 6, 5_000, "alice's renewal from b shown on c");
    // Hers now on b: the viewer still cannot touch it.
    viewer.send(awarenessFrame('moved', encodeAwareness([{ clientId: 4242, clock: 100, state: { user: 'mallory' } }])));
    await editLatency(moved, witness, 'moved', 'after;');
    expect(current(witness, 'moved').get(4242)?.json).toBe('{"user":"alice","cursor":1}');
  });

  it('remote awareness is bounded like local: entries, state size, and expiry by time', async () => {
    const hub = new InProcessBusHub();
    const clock = new SkewClock();
    const b = await startTestServer('uws', {}, { bus: hub.connect('b'), clock });
    const witness = await RawClient.connect(b.port);
    await witness.join('remote');
    // Another instance (an older version, or a compromised one) publishes without bounds.
    const rogue = hub.connect('rogue');
    const publish = (update: Uint8Array) => rogue.publish('remote', encodeBusMessage(BusKind.Awareness, 'rogue', 0, update));
    publish(encodeAwareness([{ clientId: 10, clock: 1, state: { user: 'remote' } }]));
    await waitFor(() => current(witness, 'remote').has(10), 5_000, 'a normal remote state relayed');
    publish(encodeAwareness([{ clientId: 9, clock: 1, state: { user: 'x'.repeat(1024 * 1024) } }]));
    publish(plantUpdate(100_000, 5_000));
    publish(encodeAwareness([{ clientId: 10, clock: 2, state: null }])); // handled after the others: a marker
    await waitFor(() => !current(witness, 'remote').has(10), 5_000, 'the remote removal relayed');
    expect(shown(witness, 'remote', 100_000, 200_000).size).toBeLessThanOrEqual(PER_DOCUMENT);
    expect(largestState(witness, 'remote')).toBeLessThanOrEqual(STATE_BYTES);
    const late = await RawClient.connect(b.port);
    await late.join('remote');
    expect(current(late, 'remote').size).toBeLessThanOrEqual(PER_DOCUMENT);

    // Remote states expire by time, like local ones: removed for the local clients.
    clock.advance(40_000);
    await waitFor(() => current(witness, 'remote').size === 0, 5_000, 'remote states removed at the witness');
  });
});
