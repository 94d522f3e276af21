/**
 * Fuzzing the wire: mutated frames of every kind (sync, awareness, auth, stateless,
 * close, garbage) from a hostile client, over both protocols, interleaved with real
 * edits from an honest one. Whatever the server refuses, it must stay up, never relay
 * what it refused, and every replica must converge to the same document.
 *
 * Fixed seed and a short run in CI; FUZZ_ITERATIONS=20000 FUZZ_SEED=… for a long one.
 */
import * as encoding from 'lib0/encoding';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { awarenessFrame, authFrame, encodeAwareness, step1Frame, step2Frame, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

/** Small deterministic PRNG (mulberry32) so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(frame: Uint8Array, random: () => number): Uint8Array {
  const bytes = Array.from(frame);
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (bytes.length + 1));
    switch (Math.floor(random() * 4)) {
      case 0: // flip a byte
        if (bytes.length > 0) bytes[at % bytes.length] = Math.floor(random() * 256);
        break;
      case 1: // truncate
        bytes.length = at;
        break;
      case 2: // insert random bytes
        bytes.splice(at, 0, ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)));
        break;
      default: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(at, at + 1 + Math.floor(random() * 16)));
    }
  }
  return new Uint8Array(bytes);
}

afterAll(async () => {
  RawClient.terminateAll();
  await closeServers();
});

describe.each(TRANSPORTS)('fuzzed frames over %s', (transport) => {
  it(`survives ${ITERATIONS} mutated frames (seed ${SEED}) and every replica converges`, async () => {
    const server = await startTestServer(transport);
    const doc = 'fuzz-doc';
    const random = prng(SEED);
    const honest = await RawClient.connect(server.port);
    await honest.join(doc);

    // Valid frames of each kind, the raw material for mutation.
    const source = new Y.Doc();
    const samples = (): Uint8Array[] => [
      updateFrame(doc, textUpdate(source, `s${Math.floor(random() * 1000)}`)),
      step2Frame(doc, Y.encodeStateAsUpdate(source)),
      awarenessFrame(doc, encodeAwareness([{ clientId: 1 + Math.floor(random() * 50), clock: Math.floor(random() * 9), state: { cursor: random() } }])),
      authFrame(doc, 'token', '4.8.0'),
      (() => {
        const e = encoding.createEncoder();
        encoding.writeVarString(e, doc);
        encoding.writeVarUint(e, 5);
        encoding.writeVarString(e, 'stateless payload');
        return encoding.toUint8Array(e);
      })(),
    ];

    let hostile = await RawClient.connect(server.port);
    await hostile.join(doc);
    let hostileY = await RawClient.connect(server.port, `/y/${doc}`);
    let closes = 0;
    let honestEdits = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const pick = samples();
      const frame = mutate(pick[Math.floor(random() * pick.length)]!, random);
      if (!hostile.isOpen) {
        closes++;
        hostile = await RawClient.connect(server.port);
        await hostile.join(doc);
      }
      hostile.send(frame);
      // The same mutation without the name prefix, for the y-websocket endpoint.
      if (!hostileY.isOpen) hostileY = await RawClient.connect(server.port, `/y/${doc}`);
      if (frame.length > doc.length + 1) hostileY.send(frame.subarray(doc.length + 1));
      if (i % 20 === 0) {
        honest.send(updateFrame(doc, textUpdate(honest.doc(doc), `<${honestEdits++}>`)));
      }
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }

    // The honest client's edits all arrive and are acknowledged.
    await waitFor(
      () => honest.frames.filter((f) => f.kind === 'syncStatus' && f.name === doc && f.applied === 1).length >= honestEdits,
      10_000,
      'acks for every honest edit',
    );
    // A fresh client converges with the honest one: nothing refused was half-applied.
    const fresh = await RawClient.connect(server.port);
    await fresh.join(doc);
    const honestText = honest.text(doc);
    for (let k = 0; k < honestEdits; k++) expect(honestText).toContain(`<${k}>`);
    // The honest replica, after one more sync round, equals a fresh one exactly.
    const step2s = () => honest.frames.filter((f) => f.kind === 'sync' && f.sub === 1).length;
    const before = step2s();
    honest.send(step1Frame(doc, Y.encodeStateVector(honest.doc(doc))));
    await waitFor(() => step2s() > before, 5_000, 'SyncStep2 for the honest client');
    expect(Y.encodeStateVector(honest.doc(doc))).toEqual(Y.encodeStateVector(fresh.doc(doc)));
    expect(honest.text(doc)).toBe(fresh.text(doc));
    for (let k = 0; k < honestEdits; k++) expect(fresh.text(doc)).toContain(`<${k}>`);
    // The server is still healthy.
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    expect(closes).toBeGreaterThan(0); // the fuzzer did hit the refusal paths
  }, 120_000);
});
