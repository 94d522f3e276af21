import { afterEach, describe, expect, it } from 'vitest';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

describe.each(TRANSPORTS)('rooms over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('loads a document once under concurrent joins: every client edits the same room', async () => {
    const server = await startTestServer(transport);

    const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(server.port)));
    await Promise.all(clients.map((client) => client.join('rooms-concurrent')));
    expect(server.metrics.counters.roomsOpen).toBe(1);

    clients.forEach((client, i) => client.send(updateFrame('rooms-concurrent', textUpdate(client.doc('rooms-concurrent'), `<${i}>`))));
    await waitFor(
      () => clients.every((client) => client.text('rooms-concurrent').length === clients.reduce((n, _, i) => n + `<${i}>`.length, 0)),
      5_000,
      'every client has every edit',
    );
    const texts = new Set(clients.map((client) => client.text('rooms-concurrent')));
    expect(texts.size).toBe(1);
    for (let i = 0; i < clients.length; i++) expect([...texts][0]).toContain(`<${i}>`);
  });

  it('unloads a room after its last client leaves and reloads it with its content', async () => {
    const server = await startTestServer(transport);

    const a = await RawClient.connect(server.port);
    await a.join('rooms-unload');
    const b = await RawClient.connect(server.port, '/y/rooms-unload'); // both protocols share the room
    a.send(updateFrame('rooms-unload', textUpdate(a.doc('rooms-unload'), 'persisted in memory')));
    await a.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack');
    expect(server.metrics.counters.roomsOpen).toBe(1);

    a.close();
    await waitFor(() => server.metrics.counters.connectionsOpen === 1, 5_000, 'first client gone');
    expect(server.metrics.counters.roomsOpen).toBe(1); // the y-websocket client still holds it
    b.close();

    const c = await RawClient.connect(server.port);
    await c.join('rooms-unload');
    expect(c.text('rooms-unload')).toBe('persisted in memory');
    expect(server.metrics.counters.roomsOpen).toBe(1);
  });
});
