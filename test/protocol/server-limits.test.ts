/** The limits as the running server applies them: per-socket rates (4429; 4529 on /y/) and per-user HTTP rates (429). */
import { afterEach, describe, expect, it } from 'vitest';
import { awarenessFrame, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';

describe.each(TRANSPORTS)('server limits over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('closes a socket that sends frames faster than its rate with 4429, after what it had acknowledged', async () => {
    const server = await startTestServer(transport, { maxMessagesPerSecond: 5, maxMessagesBurst: 12 });
    const flooder = await RawClient.connect(server.port);
    await flooder.join('flood'); // Auth + SyncStep1: 2 frames
    flooder.send(updateFrame('flood', textUpdate(flooder.doc('flood'), 'kept')));
    await flooder.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack before the flood');
    for (let i = 0; i < 50; i++) flooder.send(awarenessFrame('flood', encodeAwareness([{ clientId: 7, clock: i + 1, state: { i } }])));
    expect(await flooder.waitClose()).toEqual({ code: 4429, reason: 'Too Many Requests' });
    const reader = await RawClient.connect(server.port);
    await reader.join('flood');
    expect(reader.text('flood')).toBe('kept');
  });

  it('closes a /y/ socket over its rate with 4529, a code y-websocket 3 clients retry (4429 would stop them for good)', async () => {
    const server = await startTestServer(transport, { maxMessagesPerSecond: 5, maxMessagesBurst: 12 });
    const flooder = await RawClient.connect(server.port, '/y/flood-y');
    for (let i = 0; i < 50; i++) flooder.send(awarenessFrame(null, encodeAwareness([{ clientId: 7, clock: i + 1, state: { i } }])));
    expect(await flooder.waitClose()).toEqual({ code: 4529, reason: 'Too Many Requests' });
  });

  it('answers 429 with Retry-After once a caller exceeds the per-endpoint rate', async () => {
    const server = await startTestServer(transport, { httpRateLimitPerMinute: 3 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`http://127.0.0.1:${server.port}/api/me`);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(await response.json()).toEqual({ error: 'too many requests' });
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Health checks are not API routes and are never limited.
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
  });
});

describe.each(TRANSPORTS)('document size limit over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('refuses an update that would make the document pass MAX_DOCUMENT_BYTES, unapplied', async () => {
    const server = await startTestServer(transport, { maxDocumentBytes: 4096 });
    const writer = await RawClient.connect(server.port);
    await writer.join('big');
    const other = await RawClient.connect(server.port);
    await other.join('big');
    writer.send(updateFrame('big', textUpdate(writer.doc('big'), 'a'.repeat(1000))));
    writer.send(updateFrame('big', textUpdate(writer.doc('big'), 'b'.repeat(5000))));
    await waitForAcks(writer, 2);
    expect(writer.framesFor('big').flatMap((f) => (f.kind === 'syncStatus' ? [f.applied] : []))).toEqual([1, 0]);
    await other.waitForText('big', 'a'.repeat(1000));
    const y = await RawClient.connect(server.port, '/y/big');
    y.send(updateFrame(null, textUpdate(y.doc(null), 'c'.repeat(5000))));
    expect(await y.waitClose()).toEqual({ code: 1009, reason: 'document too large' });
    expect(other.text('big')).toBe('a'.repeat(1000));
  });
});

async function waitForAcks(client: RawClient, n: number): Promise<void> {
  await client.waitForFrame(() => client.frames.filter((f) => f.kind === 'syncStatus').length >= n, 5_000, `${n} acks`);
}
