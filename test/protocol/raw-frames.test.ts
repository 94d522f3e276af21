/**
 * Raw-frame tests: every bad input closes (only) the offending socket with the
 * protocol's code, the document stays intact for everyone else, and the server keeps
 * serving. Also the exact server replies a provider depends on (docs/protocol.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import type { Config } from '../../server/config.js';
import {
  authFrame,
  awarenessFrame,
  closeDocFrame,
  decodeAwareness,
  encodeAwareness,
  step1Frame,
  step2Frame,
  typeOnlyFrame,
  updateFrame,
  type Frame,
} from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const DOC = 'raw-doc';
let markers = 0;

const isStatus = (name: string) => (f: Frame) => f.kind === 'syncStatus' && f.name === name;
const statuses = (client: RawClient, name: string) => client.frames.filter(isStatus(name));

/** Starts a server and a "witness": a well-behaved client on DOC holding known content. */
async function setup(transport: 'uws' | 'ws', overrides: Partial<Config> = {}, witnessVersion?: string) {
  const server = await startTestServer(transport, overrides);
  const witness = await RawClient.connect(server.port);
  if (witnessVersion) witness.answerPings();
  await witness.join(DOC, { version: witnessVersion });
  witness.send(updateFrame(DOC, textUpdate(witness.doc(DOC), 'original')));
  await witness.waitForFrame(isStatus(DOC), 5_000, 'witness update acknowledged');
  return { server, witness };
}

/**
 * The witness is still connected and syncs edits both ways with a brand-new client
 * (which proves the server still accepts connections), and the new client's initial
 * state equals the witness's (the document was not changed by the bad input).
 */
async function expectOthersUnaffected(server: RunningServer, witness: RawClient, name = DOC): Promise<void> {
  expect(witness.isOpen, 'witness still open').toBe(true);
  const fresh = await RawClient.connect(server.port);
  await fresh.join(name);
  expect(fresh.text(name)).toBe(witness.text(name));

  const fromFresh = `[fresh ${++markers}]`;
  fresh.send(updateFrame(name, textUpdate(fresh.doc(name), fromFresh)));
  await waitFor(() => witness.text(name).endsWith(fromFresh), 5_000, 'witness receives the new client edit');
  await fresh.waitForFrame((f) => isStatus(name)(f) && f.kind === 'syncStatus' && f.applied === 1, 5_000, 'fresh acked');

  const fromWitness = `[witness ${++markers}]`;
  witness.send(updateFrame(name, textUpdate(witness.doc(name), fromWitness)));
  await waitFor(() => fresh.text(name).endsWith(fromWitness), 5_000, 'new client receives the witness edit');
  expect(fresh.text(name)).toBe(witness.text(name));
  fresh.terminate();
}

/** Deterministic "random" bytes that are not a decodable Yjs update. */
function garbageUpdate(): Uint8Array {
  let seed = 7;
  for (;;) {
    const bytes = new Uint8Array(48);
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = seed >> 16;
    }
    try {
      Y.decodeUpdate(bytes);
    } catch {
      return bytes;
    }
  }
}

describe.each(TRANSPORTS)('raw Hocuspocus frames over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('closes the socket with 4401 on an undecodable frame (truncated varString)', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    bad.send(new Uint8Array([0x20, 0x61, 0x62])); // name claims 32 bytes, has 2
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on a truncated payload after a valid name (Update claims more bytes than sent)', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    const encoder = encoding.createEncoder();
    encoding.writeVarString(encoder, DOC);
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, 2);
    encoding.writeVarUint(encoder, 500); // update length 500, 3 bytes follow
    encoding.writeUint8Array(encoder, new Uint8Array([1, 2, 3]));
    bad.send(encoding.toUint8Array(encoder));
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('ignores unknown message types: the socket stays open and later frames work', async () => {
    const { server, witness } = await setup(transport);
    const client = await RawClient.connect(server.port);
    await client.join(DOC);
    client.send(typeOnlyFrame(DOC, 42, [1, 2, 3]));
    client.send(typeOnlyFrame(DOC, 4)); // Redis-relay internal type
    client.send(typeOnlyFrame(DOC, 6));
    client.send(typeOnlyFrame(DOC, 8, [1])); // SyncStatus is server → client only
    client.send(typeOnlyFrame('never-authenticated', 99)); // unknown type for an unknown document: queued, harmless
    client.send(updateFrame(DOC, textUpdate(client.doc(DOC), ' after unknown')));
    await client.waitForFrame(isStatus(DOC), 5_000, 'update after unknown types acknowledged');
    await waitFor(() => witness.text(DOC) === 'original after unknown', 5_000, 'witness receives the later update');
    expect(client.isOpen).toBe(true);
    expect(statuses(client, DOC).map((f) => f.kind === 'syncStatus' && f.applied)).toEqual([1]);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on an unknown Sync sub-type', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    bad.send(typeOnlyFrame(DOC, 0, [7, 0]));
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on an invalid Yjs update and leaves the document unchanged', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    const framesBefore = witness.frames.length;
    bad.send(updateFrame(DOC, garbageUpdate()));
    expect((await bad.waitClose()).code).toBe(4401);
    expect(statuses(bad, DOC)).toEqual([]); // no acknowledgement for the refused update
    expect(witness.frames.slice(framesBefore).filter((f) => f.kind === 'sync')).toEqual([]); // nothing relayed
    expect(witness.text(DOC)).toBe('original');
    await expectOthersUnaffected(server, witness); // a new client still gets exactly "original…"
  });

  it('closes with 4401 on an invalid Yjs update queued before Auth', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    bad.send(updateFrame(DOC, garbageUpdate()));
    bad.send(authFrame(DOC));
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on a text frame', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    bad.sendText('hello');
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on a malformed awareness update (count larger than its content)', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 100); // 100 entries announced, none follow
    encoding.writeVarUint(encoder, 1);
    bad.send(awarenessFrame(DOC, encoding.toUint8Array(encoder)));
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on an awareness update with trailing bytes', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    const update = encodeAwareness([{ clientId: 5, clock: 1, state: { a: 1 } }]);
    const withTrailing = new Uint8Array([...update, 0xff, 0xff]);
    bad.send(awarenessFrame(DOC, withTrailing));
    expect((await bad.waitClose()).code).toBe(4401);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4401 on an awareness state that is not JSON, and never relays it', async () => {
    const { server, witness } = await setup(transport);
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 1);
    encoding.writeVarUint(encoder, 4242); // clientID
    encoding.writeVarUint(encoder, 1); // clock
    encoding.writeVarString(encoder, '{not json'); // y-protocols clients JSON.parse this and throw
    bad.send(awarenessFrame(DOC, encoding.toUint8Array(encoder)));
    expect((await bad.waitClose(2_000)).code).toBe(4401);
    const late = await RawClient.connect(server.port);
    await late.join(DOC);
    await sleep(50);
    // Neither the present nor a later client receives an awareness state it cannot parse.
    expect(witness.decodeErrors.map((e) => e.message)).toEqual([]);
    expect(late.decodeErrors.map((e) => e.message)).toEqual([]);
    await expectOthersUnaffected(server, witness);
  });

  it('closes the socket on a frame larger than maxMessageBytes', async () => {
    const { server, witness } = await setup(transport, { maxMessageBytes: 64 * 1024 });
    const bad = await RawClient.connect(server.port);
    await bad.join(DOC);
    // A valid Update, just too large: 100 KiB of text.
    bad.send(updateFrame(DOC, textUpdate(new Y.Doc(), 'x'.repeat(100 * 1024))));
    const { code } = await bad.waitClose();
    // Recorded per transport: uWS and ws differ (see the report). Either means "closed, too big".
    expect([1006, 1009]).toContain(code);
    expect(code).toBe(transport === 'ws' ? 1009 : OVERSIZED_CLOSE_UWS);
    expect(witness.text(DOC)).toBe('original');
    await expectOthersUnaffected(server, witness);
    // Just under the limit is accepted.
    const ok = await RawClient.connect(server.port);
    await ok.join(DOC);
    ok.send(updateFrame(DOC, textUpdate(ok.doc(DOC), 'y'.repeat(60 * 1024))));
    await ok.waitForFrame(isStatus(DOC), 5_000, 'large-but-allowed update acknowledged');
    await waitFor(() => witness.text(DOC).endsWith('y'.repeat(60 * 1024)), 5_000, 'witness receives it');
  });

  it('closes with 4205 when frames queued before Auth exceed maxQueuedFrames', async () => {
    const { server, witness } = await setup(transport, { maxQueuedFrames: 10 });
    const bad = await RawClient.connect(server.port);
    const doc = new Y.Doc();
    for (let i = 0; i < 11; i++) bad.send(updateFrame(DOC, textUpdate(doc, `q${i}`)));
    expect((await bad.waitClose()).code).toBe(4205);
    expect(witness.text(DOC)).toBe('original');
    await expectOthersUnaffected(server, witness);
  });

  it('replays up to maxQueuedFrames pre-Auth frames in order after Auth', async () => {
    const { server, witness } = await setup(transport, { maxQueuedFrames: 10 });
    const client = await RawClient.connect(server.port);
    const doc = new Y.Doc();
    client.send(step1Frame(DOC, Y.encodeStateVector(doc)));
    for (let i = 0; i < 9; i++) client.send(updateFrame(DOC, textUpdate(doc, `${i}`))); // 10 queued frames
    client.send(authFrame(DOC));
    await waitFor(() => statuses(client, DOC).length === 9, 5_000, 'nine acknowledgements');
    expect(client.isOpen).toBe(true);
    // The witness's "original" and the queued "012345678" are concurrent: the merge contains both intact.
    await waitFor(() => witness.text(DOC).includes('012345678'), 5_000, 'witness receives replayed updates in order');
    expect(witness.text(DOC).replace('012345678', '')).toBe('original');
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4205 when frames queued before Auth exceed maxQueuedBytes', async () => {
    const { server, witness } = await setup(transport, { maxQueuedBytes: 1024 });
    const bad = await RawClient.connect(server.port);
    const doc = new Y.Doc();
    bad.send(updateFrame(DOC, textUpdate(doc, 'a'.repeat(600))));
    bad.send(updateFrame(DOC, textUpdate(doc, 'b'.repeat(600))));
    expect((await bad.waitClose()).code).toBe(4205);
    await expectOthersUnaffected(server, witness);
  });

  it('closes with 4205 when more documents than maxPendingDocuments wait for Auth', async () => {
    const { server, witness } = await setup(transport, { maxPendingDocuments: 3 });
    const bad = await RawClient.connect(server.port);
    for (let i = 0; i < 4; i++) bad.send(step1Frame(`pending-${i}`, new Uint8Array([0])));
    expect((await bad.waitClose()).code).toBe(4205);
    await expectOthersUnaffected(server, witness);

    // Three pending documents are fine.
    const ok = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) ok.send(step1Frame(`pending-${i}`, new Uint8Array([0])));
    await sleep(100);
    expect(ok.isOpen).toBe(true);
    for (let i = 0; i < 3; i++) ok.send(authFrame(`pending-${i}`));
    await waitFor(() => ok.frames.filter((f) => f.kind === 'sync' && f.sub === 1).length === 3, 5_000, 'three SyncStep2');
  });

  it("answers Auth + SyncStep1 with Authenticated('read-write'), the server's SyncStep1 and a SyncStep2", async () => {
    const { server, witness } = await setup(transport);
    const client = await RawClient.connect(server.port);
    client.send(authFrame(DOC, 'any token', '4.8.0'));
    client.send(step1Frame(DOC, new Uint8Array([0]))); // empty state vector
    await client.waitForFrame((f) => f.kind === 'sync' && f.sub === 1, 5_000, 'SyncStep2');
    const frames = client.framesFor(DOC);
    expect(frames[0]).toEqual({ kind: 'auth', name: DOC, authType: 2, text: 'read-write' });
    expect(client.labels(DOC)).toEqual(['Authenticated', 'SyncStep1', 'SyncStep2']);
    // SyncStep2 carries the whole document; SyncStep1 carries the server's state vector.
    expect(client.text(DOC)).toBe('original');
    const step1 = frames[1]!;
    expect(step1.kind === 'sync' && Array.from(step1.payload)).toEqual(Array.from(Y.encodeStateVector(witness.doc(DOC))));

    // Answering the server's SyncStep1 with a SyncStep2 earns exactly one SyncStatus(1).
    client.send(step2Frame(DOC, Y.encodeStateAsUpdate(client.doc(DOC), step1.kind === 'sync' ? step1.payload : undefined)));
    await client.waitForFrame(isStatus(DOC), 5_000, 'SyncStatus for SyncStep2');
    await sleep(50);
    expect(statuses(client, DOC)).toEqual([{ kind: 'syncStatus', name: DOC, applied: 1 }]);
    void server;
  });

  it('echoes the document address verbatim, including a "\\0sessionId" suffix', async () => {
    const { server, witness } = await setup(transport);
    const address = `${DOC}\0session-123`;
    const client = await RawClient.connect(server.port);
    await client.join(address);
    expect(client.frames.every((f) => f.kind !== 'ping' && f.name === address)).toBe(true);
    expect(client.text(address)).toBe('original'); // same document as DOC
    client.send(updateFrame(address, textUpdate(client.doc(address), '!')));
    await client.waitForFrame(isStatus(address), 5_000, 'ack on the session address');
    await waitFor(() => witness.text(DOC) === 'original!', 5_000, 'witness sees the edit');
  });

  it('sends exactly one SyncStatus(1) per Update and per SyncStep2, in arrival order across documents', async () => {
    const { server, witness } = await setup(transport);
    const client = await RawClient.connect(server.port);
    await client.join(DOC);
    await client.join('other-doc');
    const docs: Record<string, Y.Doc> = { [DOC]: client.doc(DOC), 'other-doc': client.doc('other-doc') };
    const sent: string[] = [];
    const send = (name: string, kind: 'update' | 'step2', text: string) => {
      const update = textUpdate(docs[name]!, text);
      client.send(kind === 'update' ? updateFrame(name, update) : step2Frame(name, update));
      sent.push(name);
    };
    for (let i = 0; i < 30; i++) send(i % 3 === 0 ? 'other-doc' : DOC, i % 5 === 4 ? 'step2' : 'update', String(i % 10));
    // An update that changes nothing (already applied) is acknowledged too.
    client.send(updateFrame(DOC, Y.encodeStateAsUpdate(docs[DOC]!)));
    sent.push(DOC);
    client.send(step2Frame('other-doc', new Uint8Array([0, 0]))); // empty update
    sent.push('other-doc');

    await waitFor(() => client.frames.filter((f) => f.kind === 'syncStatus').length >= sent.length, 5_000, 'all acknowledgements');
    await sleep(100); // no extra ones trickle in
    const acks = client.frames.filter((f) => f.kind === 'syncStatus');
    expect(acks.map((f) => f.name)).toEqual(sent);
    expect(acks.every((f) => f.kind === 'syncStatus' && f.applied === 1)).toBe(true);
    await waitFor(() => witness.text(DOC) === client.text(DOC), 5_000, 'witness has the same text');
    void server;
  });

  it('closes one document on CLOSE: replies CLOSE, stops processing it, keeps the other document working', async () => {
    const { server, witness } = await setup(transport);
    const otherWitness = await RawClient.connect(server.port);
    await otherWitness.join('second');
    const client = await RawClient.connect(server.port);
    await client.join(DOC);
    await client.join('second');
    client.send(awarenessFrame(DOC, encodeAwareness([{ clientId: 31337, clock: 1, state: { user: 'closer' } }])));
    const awarenessAt = (c: RawClient) =>
      c.frames.flatMap((f) => (f.kind === 'awareness' && f.name === DOC ? decodeAwareness(f.payload) : []));
    await waitFor(() => awarenessAt(witness).some((e) => e.clientId === 31337 && e.state !== null), 5_000, 'witness sees awareness');

    client.send(closeDocFrame(DOC));
    await client.waitForFrame((f) => f.kind === 'close' && f.name === DOC, 5_000, 'CLOSE reply');
    // Its awareness is removed for the others, as on a disconnect.
    await waitFor(() => awarenessAt(witness).some((e) => e.clientId === 31337 && e.state === null), 5_000, 'awareness removal');

    const statusesBefore = statuses(client, DOC).length;
    client.send(updateFrame(DOC, textUpdate(client.doc(DOC), ' (after close)')));
    // The other document on the same socket still works; its round trip orders the check.
    client.send(updateFrame('second', textUpdate(client.doc('second'), 'second works')));
    await client.waitForFrame(isStatus('second'), 5_000, 'second acknowledged');
    await waitFor(() => otherWitness.text('second') === 'second works', 5_000, 'other witness sees it');
    await sleep(100);
    expect(statuses(client, DOC).length).toBe(statusesBefore);
    expect(witness.text(DOC)).toBe('original');
    expect(client.isOpen).toBe(true);
    await expectOthersUnaffected(server, witness);

    // Authenticating the closed document again on the same socket reopens it.
    client.send(authFrame(DOC));
    client.send(step1Frame(DOC, new Uint8Array([0])));
    await waitFor(() => client.framesFor(DOC).filter((f) => f.kind === 'sync' && f.sub === 1).length === 2, 5_000, 'second SyncStep2');
    expect(client.framesFor(DOC).filter((f) => f.kind === 'auth')).toEqual([
      { kind: 'auth', name: DOC, authType: 2, text: 'read-write' },
      { kind: 'auth', name: DOC, authType: 2, text: 'read-write' },
    ]);
    const secondStep2 = client.framesFor(DOC).filter((f) => f.kind === 'sync' && f.sub === 1)[1]!;
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, secondStep2.kind === 'sync' ? secondStep2.payload : new Uint8Array());
    expect(reloaded.getText('text').toString()).toContain(witness.text(DOC));
  });

  it('pings (bare 0x09) a client that reported version 4.8.0, not one without a version', async () => {
    const server = await startTestServer(transport, { idleTimeoutMs: 1_000 }); // ping every 250 ms
    const v4 = await RawClient.connect(server.port);
    v4.answerPings();
    await v4.join('ping-doc', { version: '4.8.0' });
    const old = await RawClient.connect(server.port);
    await old.join('ping-doc');
    await waitFor(() => v4.pings >= 3, 3_000, 'three pings');
    expect(v4.raw.filter((b) => b.length === 1).every((b) => b[0] === 0x09)).toBe(true);
    expect(old.pings).toBe(0);
    expect(old.raw.filter((b) => b.length === 1)).toEqual([]);
    // Answering with Pong counts as activity: the v4 client outlives the idle timeout,
    // the silent one does not.
    expect((await old.waitClose(3_000)).code).toBe(4408);
    await sleep(1_200);
    expect(v4.isOpen).toBe(true);
  });

  it('closes an idle socket (no frames at all) after idleTimeoutMs: 4408 on Hocuspocus, 4508 (retried by y-websocket 3) on /y/', async () => {
    const { server, witness } = await setup(transport, { idleTimeoutMs: 1_000 }, '4.8.0'); // witness answers pings
    const started = Date.now();
    const idle = await RawClient.connect(server.port);
    const idleY = await RawClient.connect(server.port, '/y/idle-doc');
    const [{ code }, closedY] = await Promise.all([idle.waitClose(4_000), idleY.waitClose(4_000)]);
    const elapsed = Date.now() - started;
    expect(code).toBe(4408);
    expect(closedY).toEqual({ code: 4508, reason: 'Connection Timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(2_500);
    await expectOthersUnaffected(server, witness);
  });

  it('answers a document name longer than 255 characters with PermissionDenied, keeping the socket', async () => {
    const { server, witness } = await setup(transport);
    const client = await RawClient.connect(server.port);
    const tooLong = 'n'.repeat(256);
    client.send(authFrame(tooLong));
    client.send(step1Frame(tooLong, new Uint8Array([0])));
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.name === tooLong, 5_000, 'auth answer');
    expect(denied).toMatchObject({ kind: 'auth', authType: 1 });
    expect(denied.kind === 'auth' && denied.text).toMatch(/255/);
    await sleep(50);
    expect(client.framesFor(tooLong).filter((f) => f.kind === 'sync')).toEqual([]);
    // Exactly 255 characters is allowed, on the same socket.
    const longest = 'n'.repeat(255);
    await client.join(longest);
    expect(client.framesFor(longest)[0]).toMatchObject({ kind: 'auth', authType: 2, text: 'read-write' });
    expect(client.isOpen).toBe(true);
    await expectOthersUnaffected(server, witness);
  });

  it('answers Auth beyond maxDocumentsPerSocket with PermissionDenied until a document is closed', async () => {
    const { server, witness } = await setup(transport, { maxDocumentsPerSocket: 2 });
    const client = await RawClient.connect(server.port);
    await client.join('cap-a');
    await client.join('cap-b');
    client.send(authFrame('cap-c'));
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.name === 'cap-c', 5_000, 'auth answer for the third document');
    expect(denied).toMatchObject({ kind: 'auth', authType: 1 });
    expect(denied.kind === 'auth' && denied.text).toMatch(/too many documents/);
    client.send(closeDocFrame('cap-a'));
    await client.waitForFrame((f) => f.kind === 'close' && f.name === 'cap-a', 5_000, 'CLOSE reply');
    await client.join('cap-c');
    expect(client.isOpen).toBe(true);
    await expectOthersUnaffected(server, witness);
  });

  it('answers an empty document name with PermissionDenied, keeping the socket', async () => {
    const { server, witness } = await setup(transport);
    const client = await RawClient.connect(server.port);
    client.send(authFrame(''));
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.name === '', 5_000, 'auth answer');
    expect(denied).toMatchObject({ kind: 'auth', authType: 1 });
    await client.join(DOC);
    expect(client.isOpen).toBe(true);
    await expectOthersUnaffected(server, witness);
  });
});

describe.each(TRANSPORTS)('raw y-websocket frames over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  async function yJoin(port: number, name: string): Promise<RawClient> {
    const client = await RawClient.connect(port, `/y/${name}`);
    client.send(step1Frame(null, Y.encodeStateVector(client.doc(null))));
    await client.waitForFrame((f) => f.kind === 'sync' && f.sub === 1, 5_000, 'y-websocket SyncStep2');
    return client;
  }

  it.each([
    ['truncated update', new Uint8Array([0, 2, 0x40, 1, 2])],
    ['unknown sync sub-type', new Uint8Array([0, 9, 0])],
    ['invalid Yjs update', updateFrame(null, garbageUpdate())],
    ['empty frame', new Uint8Array([])],
    ['malformed awareness update', awarenessFrame(null, new Uint8Array([100, 1]))],
  ])('closes the y-websocket socket with 4401 on garbage (%s)', async (_label, garbage) => {
    const server = await startTestServer(transport);
    const witness = await yJoin(server.port, 'y-raw');
    witness.send(updateFrame(null, textUpdate(witness.doc(null), 'original')));
    const bad = await yJoin(server.port, 'y-raw');
    await waitFor(() => bad.text(null) === 'original', 5_000, 'bad client got the content');
    bad.send(garbage);
    expect((await bad.waitClose()).code).toBe(4401);

    expect(witness.isOpen).toBe(true);
    const fresh = await yJoin(server.port, 'y-raw');
    expect(fresh.text(null)).toBe('original');
    fresh.send(updateFrame(null, textUpdate(fresh.doc(null), '+fresh')));
    await waitFor(() => witness.text(null) === 'original+fresh', 5_000, 'witness receives edit');
    witness.send(updateFrame(null, textUpdate(witness.doc(null), '+witness')));
    await waitFor(() => fresh.text(null) === 'original+fresh+witness', 5_000, 'fresh receives edit');
  });

  it('closes a y-websocket socket with 4401 on a text frame', async () => {
    const server = await startTestServer(transport);
    const bad = await yJoin(server.port, 'y-text');
    bad.sendText('{"hello":1}');
    expect((await bad.waitClose()).code).toBe(4401);
    const fresh = await yJoin(server.port, 'y-text');
    expect(fresh.isOpen).toBe(true);
  });

  it('closes a y-websocket socket whose path is not valid percent-encoding (4403) and one with a >255 character name', async () => {
    const server = await startTestServer(transport);
    const badPath = await RawClient.connect(server.port, '/y/%E0%A4%A');
    expect((await badPath.waitClose()).code).toBe(4403);
    const longName = await RawClient.connect(server.port, `/y/${'z'.repeat(256)}`);
    expect((await longName.waitClose()).code).toBe(4403);
    const fresh = await yJoin(server.port, 'z'.repeat(255));
    expect(fresh.isOpen).toBe(true);
  });
});

/** Close code uWS gives for an oversized frame (filled in from the observed behaviour). */
const OVERSIZED_CLOSE_UWS = 1006;
