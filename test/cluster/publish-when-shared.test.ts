/**
 * The relay publishes nothing to nobody: while a document's messages reach no other
 * instance, its updates and awareness stay off the bus (one instance with Redis costs
 * what one without does). When a second instance opens the document, its catch-up
 * request brings it everything (edits and awareness made while the first was alone), and
 * from then on every edit is published again, both ways.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBusHub, type Bus } from '../../server/cluster/bus.js';
import { BusKind, decodeBusMessage } from '../../server/codec/bus-codec.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { awarenessFrame, decodeAwareness, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { sleep, waitFor } from '../helpers/wait.js';

let database: TestDatabase;
let servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('shared');
});
afterAll(async () => {
  await database.drop();
});
afterEach(async () => {
  RawClient.terminateAll();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/** One instance on the hub, counting the kinds of message it publishes. */
async function instance(hub: InProcessBusHub, id: string, sent: number[]): Promise<RunningServer> {
  const bus = hub.connect(id);
  const counting: Bus = Object.assign(Object.create(bus) as Bus, {
    publish(document: string, data: Uint8Array, reached?: (subscribers: number) => void) {
      sent.push(decodeBusMessage(data).kind);
      bus.publish(document, data, reached);
    },
  });
  const server = await startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
    bus: counting,
  });
  servers.push(server);
  return server;
}

describe('publishing only while another instance holds the document', () => {
  it('stays off the bus alone, then catches the newcomer up and relays both ways', async () => {
    const hub = new InProcessBusHub();
    const sentByA: number[] = [];
    const a = await instance(hub, 'a', sentByA);
    const onA = await RawClient.connect(a.port);
    await onA.join('doc');
    await sleep(50); // the load's catch-up request has had its answer: nobody else listens
    onA.send(awarenessFrame('doc', encodeAwareness([{ clientId: 7, clock: 1, state: { user: { name: 'Ada' } } }])));
    for (let k = 0; k < 5; k++) onA.send(updateFrame('doc', textUpdate(onA.doc('doc'), `a${k};`)));
    await waitFor(() => onA.acks('doc').length === 5, 10_000, 'acks on A');
    expect(sentByA.filter((kind) => kind === BusKind.Update || kind === BusKind.Awareness)).toEqual([]);

    const b = await instance(hub, 'b', []);
    const onB = await RawClient.connect(b.port);
    await onB.join('doc');
    // Everything A took alone reaches B through the catch-up: edits and awareness.
    await waitFor(() => onB.text('doc') === onA.text('doc'), 10_000, 'B caught up');
    await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 7 && e.state !== null),
      10_000,
      "A's awareness on B",
    );

    // From now on A publishes again, and B's edits reach A.
    onA.send(updateFrame('doc', textUpdate(onA.doc('doc'), 'after;')));
    onB.send(updateFrame('doc', textUpdate(onB.doc('doc'), 'from-b;')));
    await waitFor(() => onA.text('doc').includes('from-b;') && onB.text('doc').includes('after;'), 10_000, 'both ways');
    await waitFor(() => onA.text('doc') === onB.text('doc'), 10_000, 'converged');
    expect(sentByA.filter((kind) => kind === BusKind.Update).length).toBeGreaterThanOrEqual(1);
  });
});
