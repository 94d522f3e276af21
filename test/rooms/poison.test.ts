/**
 * Review item 6: poisoned updates amplify traffic. An update that decodes but breaks the
 * Y.Doc while integrating evicts the room: every member reopens on a fresh copy loaded from
 * storage. Each member used to be sent the whole document again; sixty 50-byte frames (one
 * per connection: the offender is closed at its first) pushed 3.6 GB to 20 readers.
 *
 * - The offender is closed at its first poisoned update; nothing it sent after is applied.
 * - Reopened members get the fresh copy whole (what they hold is not known: see
 *   RoomMember.roomEvicted), so what bounds the traffic is the number of evictions.
 * - At most MAX_EVICTIONS_PER_DOCUMENT evictions per EVICTION_WINDOW_MS: beyond it, the
 *   document refuses local edits that would change it until the window has passed (SyncStatus
 *   0; y-websocket edits are not applied), then asks every member for what it holds (SyncStep1).
 */
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../server/config.js';
import { step1Frame, updateFrame, type Frame } from '../helpers/frames.js';
import { POISON_UPDATE, poisonBase } from '../helpers/poison.js';
import { hocuspocusProvider, destroyProviders, yWebsocketProvider } from '../helpers/providers.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const DOC = 'poison-target';
const isStatus = (f: Frame) => f.kind === 'syncStatus';

/** A document holding the poison's base and about `kilobytes` KB of text. */
async function seed(port: number, kilobytes: number): Promise<RawClient> {
  const owner = await RawClient.connect(port);
  await owner.join(DOC);
  owner.send(updateFrame(DOC, poisonBase()));
  const doc = owner.doc(DOC);
  // Many small inserts, as typing makes: a realistic state, not one big string.
  for (let i = 0; i < kilobytes; i++) owner.send(updateFrame(DOC, textUpdate(doc, `${'paragraph '.repeat(100).slice(0, 1000)}${i}\n`)));
  await waitFor(() => owner.acks(DOC).length === kilobytes + 1, 20_000, 'seed acknowledged');
  return owner;
}

const bytesReceived = (clients: readonly RawClient[]) => clients.reduce((sum, c) => sum + c.raw.reduce((s, f) => s + f.length, 0), 0);

describe('eviction bound: configuration', () => {
  it('allows 3 evictions of one document a minute by default, configurable', () => {
    const config = configFromEnv({});
    expect([config.maxEvictionsPerDocument, config.evictionWindowMs]).toEqual([3, 60_000]);
    const set = configFromEnv({ MAX_EVICTIONS_PER_DOCUMENT: '5', EVICTION_WINDOW_MS: '10000' });
    expect([set.maxEvictionsPerDocument, set.evictionWindowMs]).toEqual([5, 10_000]);
    expect(() => configFromEnv({ MAX_EVICTIONS_PER_DOCUMENT: '0' })).toThrow(/MAX_EVICTIONS_PER_DOCUMENT/);
  });
});

describe.each(TRANSPORTS)('poisoned updates over %s', (transport) => {
  afterEach(async () => {
    destroyProviders();
    RawClient.terminateAll();
    await closeServers();
  });

  it('closes the offender at its first poisoned update; nothing it sent after is applied', async () => {
    const server = await startTestServer(transport);
    const owner = await seed(server.port, 1);
    const offender = await RawClient.connect(server.port);
    await offender.join(DOC);
    const after = textUpdate(offender.doc(DOC), 'after the poison');
    // One burst: three poisoned frames and an edit behind them.
    offender.send(updateFrame(DOC, POISON_UPDATE));
    offender.send(updateFrame(DOC, POISON_UPDATE));
    offender.send(updateFrame(DOC, POISON_UPDATE));
    offender.send(updateFrame(DOC, after));
    expect((await offender.waitClose()).code).toBe(4401);
    await waitFor(() => server.metrics.counters.roomsOpen === 1, 5_000, 'room back');
    await sleep(100);
    expect(server.metrics.counters.roomsEvicted).toBe(1);
    const late = await RawClient.connect(server.port);
    await late.join(DOC);
    expect(late.text(DOC)).toBe(owner.text(DOC));
    expect(late.text(DOC)).not.toContain('after the poison');

    // A y-websocket offender too.
    const yOffender = await RawClient.connect(server.port, `/y/${DOC}`);
    yOffender.send(step1Frame(null, new Uint8Array([0])));
    await yOffender.waitForFrame((f) => f.kind === 'sync' && f.sub === 1);
    yOffender.send(updateFrame(null, POISON_UPDATE));
    yOffender.send(updateFrame(null, POISON_UPDATE));
    expect((await yOffender.waitClose()).code).toBe(4401);
    await sleep(100);
    expect(server.metrics.counters.roomsEvicted).toBe(2);
  });

  it('sixty poisoned frames: evictions are bounded, so readers get the document at most three more times', async () => {
    const server = await startTestServer(transport);
    const owner = await seed(server.port, 200);
    const docBytes = Y.encodeStateAsUpdate(owner.doc(DOC)).length;
    expect(docBytes).toBeGreaterThan(150_000);
    const readers: RawClient[] = [];
    for (let i = 0; i < 15; i++) {
      const reader = await RawClient.connect(server.port);
      await reader.join(DOC);
      readers.push(reader);
    }
    for (let i = 0; i < 5; i++) {
      const reader = await RawClient.connect(server.port, `/y/${DOC}`);
      reader.send(step1Frame(null, new Uint8Array([0])));
      await reader.waitForText(null, owner.text(DOC), 10_000);
      readers.push(reader);
    }
    const before = bytesReceived(readers);

    let closed = 0;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const offender = await RawClient.connect(server.port);
      await offender.join(DOC, { timeoutMs: 10_000 });
      offender.send(updateFrame(DOC, POISON_UPDATE));
      await waitFor(() => offender.closeInfo !== null || offender.frames.some(isStatus), 10_000, 'offender answered');
      if (offender.closeInfo?.code === 4401) closed++;
      else if (offender.acks(DOC)[0] === 0) refused++;
      offender.terminate();
    }
    await waitFor(() => server.metrics.counters.roomsOpen === 1, 10_000, 'room back');
    await sleep(200);
    const received = bytesReceived(readers) - before;
    console.log(
      `60 poisoned frames, 20 readers, document ${docBytes} bytes: ${server.metrics.counters.roomsEvicted} evictions, ${received} bytes to the readers`,
    );
    // Three evictions (the default bound), each the whole document to every reader; the rest
    // refused unapplied (before: sixty, 60 × 20 documents).
    expect(server.metrics.counters.roomsEvicted).toBe(3);
    expect(closed).toBe(3);
    expect(refused).toBe(57);
    expect(received, `bytes to 20 readers (document: ${docBytes} bytes)`).toBeLessThan(3 * 20 * docBytes * 1.2);
    // Nobody lost anything.
    for (const reader of readers) expect(reader.text(reader.prefixed ? DOC : null)).toBe(owner.text(DOC));
    for (const reader of readers) expect(reader.isOpen).toBe(true);
  }, 180_000);

  it('a reopened member gets the fresh copy once, and converges with edits made meanwhile', async () => {
    const server = await startTestServer(transport);
    const owner = await seed(server.port, 100);
    const docBytes = Y.encodeStateAsUpdate(owner.doc(DOC)).length;
    const member = await RawClient.connect(server.port);
    await member.join(DOC);
    const yMember = await RawClient.connect(server.port, `/y/${DOC}`);
    yMember.send(step1Frame(null, new Uint8Array([0])));
    await yMember.waitForText(null, owner.text(DOC), 10_000);
    const mark = member.frames.length;
    const yMark = yMember.frames.length;

    const offender = await RawClient.connect(server.port);
    await offender.join(DOC);
    offender.send(updateFrame(DOC, POISON_UPDATE));
    // Edits keep coming while the document reloads (queued, applied to the fresh copy).
    owner.send(updateFrame(DOC, textUpdate(owner.doc(DOC), 'during the reload;')));
    expect((await offender.waitClose()).code).toBe(4401);
    await member.waitForText(DOC, owner.text(DOC), 10_000);
    await yMember.waitForText(null, owner.text(DOC), 10_000);
    const step2Bytes = (frames: Frame[]) => frames.reduce((sum, f) => sum + (f.kind === 'sync' && f.sub === 1 ? f.payload.length : 0), 0);
    const resent = step2Bytes(member.frames.slice(mark));
    const yResent = step2Bytes(yMember.frames.slice(yMark));
    expect(server.metrics.counters.roomsEvicted).toBe(1);
    expect(resent, `SyncStep2 bytes after the eviction (document ${docBytes})`).toBeLessThan(docBytes * 1.2);
    expect(yResent, `y-websocket SyncStep2 bytes after the eviction (document ${docBytes})`).toBeLessThan(docBytes * 1.2);
    // And edits flow both ways on the fresh copy.
    member.send(updateFrame(DOC, textUpdate(member.doc(DOC), 'from the member;')));
    await owner.waitForText(DOC, member.text(DOC));
    await yMember.waitForText(null, member.text(DOC));
  });

  it('beyond the bound the document refuses edits for the rest of the window, then collects them from every member', async () => {
    const server = await startTestServer(transport, { maxEvictionsPerDocument: 1, evictionWindowMs: 1_500 });
    const owner = await seed(server.port, 1);
    const writer = hocuspocusProvider(server.port, DOC);
    const yWriter = yWebsocketProvider(server.port, DOC);
    await waitFor(() => writer.isSynced && yWriter.synced, 5_000, 'providers synced');

    const offender = await RawClient.connect(server.port);
    await offender.join(DOC);
    offender.send(updateFrame(DOC, POISON_UPDATE));
    expect((await offender.waitClose()).code).toBe(4401);
    await waitFor(() => server.metrics.counters.roomsOpen === 1, 5_000, 'room back');
    // A second poison within the window is refused unapplied: no second eviction.
    const second = await RawClient.connect(server.port);
    await second.join(DOC);
    second.send(updateFrame(DOC, POISON_UPDATE));
    await waitFor(() => second.acks(DOC).length === 1, 5_000, 'refusal');
    expect(second.acks(DOC)).toEqual([0]);
    expect(second.isOpen).toBe(true);
    expect(server.metrics.counters.roomsEvicted).toBe(1);

    // Edits made meanwhile are refused (not relayed)...
    const refusedAt = Date.now();
    writer.document.getText('text').insert(0, 'hocuspocus edit;');
    yWriter.doc.getText('text').insert(0, 'y-websocket edit;');
    await sleep(300);
    expect(owner.text(DOC)).not.toContain('edit;');
    expect(yWriter.wsconnected).toBe(true);
    // ...and collected once the window has passed: every member is asked for what it holds.
    await waitFor(
      () => owner.text(DOC).includes('hocuspocus edit;') && owner.text(DOC).includes('y-websocket edit;'),
      10_000,
      'both edits collected',
    );
    expect(Date.now() - refusedAt).toBeGreaterThan(500);
    await waitFor(() => yWriter.doc.getText('text').toString() === owner.text(DOC), 5_000, 'y-websocket writer converged');
    await waitFor(() => writer.document.getText('text').toString() === owner.text(DOC), 5_000, 'Hocuspocus writer converged');
    await waitFor(() => writer.unsyncedChanges === 0, 5_000, 'the Hocuspocus writer saved');
    // A later joiner loads them: they were stored.
    const late = await RawClient.connect(server.port);
    await late.join(DOC);
    expect(late.text(DOC)).toBe(owner.text(DOC));
  });
});
