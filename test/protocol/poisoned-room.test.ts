import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { step1Frame, updateFrame } from '../helpers/frames.js';
import { POISON_UPDATE, poisonBase } from '../helpers/poison.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const DOC = 'poisoned';

describe('the poison fixture', () => {
  it('decodes, but throws while being applied to its base document', () => {
    expect(() => Y.decodeUpdate(POISON_UPDATE)).not.toThrow();
    const doc = new Y.Doc();
    Y.applyUpdate(doc, poisonBase());
    expect(() => Y.applyUpdate(doc, POISON_UPDATE)).toThrow();
  });
});

describe.each(TRANSPORTS)('a poisoned room over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('moves every member onto one fresh copy loaded from storage; nothing acknowledged is lost', async () => {
    const server = await startTestServer(transport);
    const a = await RawClient.connect(server.port);
    await a.join(DOC);
    const y = await RawClient.connect(server.port, `/y/${DOC}`);
    const offender = await RawClient.connect(server.port);
    await offender.join(DOC);

    a.send(updateFrame(DOC, poisonBase()));
    a.send(updateFrame(DOC, textUpdate(a.doc(DOC), 'before;')));
    await waitFor(() => a.framesFor(DOC).filter((f) => f.kind === 'syncStatus').length === 2, 5_000, 'both acks');
    await y.waitForText(null, 'before;');

    offender.send(updateFrame(DOC, POISON_UPDATE));
    expect((await offender.waitClose()).code).toBe(4401);
    await waitFor(() => server.metrics.counters.roomsEvicted === 1, 5_000, 'room evicted');

    // A newcomer loads the fresh copy...
    const late = await RawClient.connect(server.port);
    await late.join(DOC);
    expect(late.text(DOC)).toBe('before;');
    // ...and an edit from an old member reaches it, and is in the room a later joiner gets.
    await waitFor(() => server.metrics.counters.roomsOpen === 1, 5_000, 'members back in the room');
    a.send(updateFrame(DOC, textUpdate(a.doc(DOC), 'after;')));
    await late.waitForText(DOC, 'before;after;');
    await y.waitForText(null, 'before;after;');
    await waitFor(() => a.framesFor(DOC).filter((f) => f.kind === 'syncStatus').length === 3, 5_000, 'third ack');
    expect(
      a
        .framesFor(DOC)
        .filter((f) => f.kind === 'syncStatus')
        .every((f) => f.kind === 'syncStatus' && f.applied === 1),
    ).toBe(true);

    const later = await RawClient.connect(server.port, `/y/${DOC}`);
    later.send(step1Frame(null, new Uint8Array([0])));
    await later.waitForText(null, 'before;after;');
    // Edits from every side meet in the one copy.
    y.send(updateFrame(null, textUpdate(y.doc(null), 'from-y;')));
    await a.waitForText(DOC, 'before;after;from-y;');
    await late.waitForText(DOC, 'before;after;from-y;');
    expect(server.metrics.counters.roomsOpen).toBe(1);
    expect(a.isOpen && y.isOpen && late.isOpen).toBe(true);
  });
});
