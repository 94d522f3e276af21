/**
 * Stateless messages are relayed to the document's other clients only from read-write
 * sessions, up to MAX_STATELESS_BYTES each and STATELESS_PER_SECOND per socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import type { Authorizer } from '../../server/auth/authorizer.js';
import { authFrame, statelessFrame, step1Frame, Sync } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

/** Token "viewer" is read-only, anything else read-write (the scope is what is under test). */
const byToken: Authorizer = {
  authenticate: async (token) => ({ userId: null, sessionId: token, expiresAt: null }),
  revalidate: async () => {},
  authorize: async (principal) => ({
    ...principal,
    scope: principal.sessionId === 'viewer' ? 'readonly' : 'read-write',
    create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID },
  }),
};

const received = (client: RawClient) => client.frames.flatMap((f) => (f.kind === 'stateless' ? [f.payload] : []));

describe.each(TRANSPORTS)('stateless relay over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('relays only from read-write sessions and only payloads within the size limit', async () => {
    const server = await startTestServer(transport, { maxStatelessBytes: 100 }, { authorizer: byToken });
    const writer = await RawClient.connect(server.port);
    await writer.join('chat');
    const viewer = await RawClient.connect(server.port);
    await joinWithToken(viewer, 'chat', 'viewer');
    const reader = await RawClient.connect(server.port);
    await reader.join('chat');

    viewer.send(statelessFrame('chat', 'from the viewer'));
    writer.send(statelessFrame('chat', 'x'.repeat(101)));
    writer.send(statelessFrame('chat', 'small'));
    await waitFor(() => received(reader).length >= 1, 5_000, 'a relayed message');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received(reader)).toEqual(['small']);
    expect(received(viewer)).toEqual(['small']);
    expect(server.metrics.counters.statelessDropped).toBe(2);
  });

  it('drops what a socket sends beyond its rate, and relays again once the bucket refills', async () => {
    const server = await startTestServer(transport, { statelessPerSecond: 5 }, { authorizer: byToken });
    const writer = await RawClient.connect(server.port);
    await writer.join('burst');
    const reader = await RawClient.connect(server.port);
    await reader.join('burst');
    for (let i = 0; i < 30; i++) writer.send(statelessFrame('burst', `m${i}`));
    await waitFor(() => server.metrics.counters.statelessDropped + received(reader).length === 30, 5_000, 'all handled');
    // A burst of twice the rate passes; the rest of the burst is dropped.
    expect(received(reader).length).toBeGreaterThanOrEqual(10);
    expect(received(reader).length).toBeLessThan(13);
    await new Promise((resolve) => setTimeout(resolve, 400));
    writer.send(statelessFrame('burst', 'later'));
    await waitFor(() => received(reader).includes('later'), 5_000, 'relayed after the refill');
  });
});

async function joinWithToken(client: RawClient, name: string, token: string): Promise<void> {
  client.send(authFrame(name, token));
  client.send(step1Frame(name, new Uint8Array([0])));
  await client.waitForFrame((f) => f.kind === 'sync' && f.name === name && f.sub === Sync.Step2, 5_000, `SyncStep2 for ${name}`);
}
