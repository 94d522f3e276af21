import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const DOC = 'backpressure-doc';
const CHUNK = 256 * 1024; // characters per update
const MAX_PUSHED = 160; // 40 MiB: far beyond kernel socket buffers plus the 256 KiB limit

describe.each(TRANSPORTS)('backpressure over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('closes a reader that stops reading, while the writer and other readers carry on', async () => {
    const server = await startTestServer(transport, { maxBackpressureBytes: 256 * 1024 });

    const slow = await RawClient.connect(server.port);
    await slow.join(DOC);
    const reader = await RawClient.connect(server.port);
    await reader.join(DOC);
    const writer = await RawClient.connect(server.port);
    await writer.join(DOC);
    expect(server.metrics.counters.connectionsOpen).toBe(3);

    // Stop reading: the server's writes to this socket pile up once the kernel buffers are full.
    const tcp = (slow.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const rssBefore = process.memoryUsage().rss;

    const writerDoc = writer.doc(DOC);
    let pushed = 0;
    while (server.metrics.counters.connectionsOpen === 3 && pushed < MAX_PUSHED) {
      const acked = writer.frames.filter((f) => f.kind === 'syncStatus').length;
      writer.send(updateFrame(DOC, textUpdate(writerDoc, String.fromCharCode(97 + (pushed % 26)).repeat(CHUNK))));
      pushed++;
      await writer.waitForFrame(() => writer.frames.filter((f) => f.kind === 'syncStatus').length > acked, 5_000, `ack ${pushed}`);
    }
    // The server dropped exactly the slow reader.
    await waitFor(() => server.metrics.counters.connectionsOpen === 2, 5_000, 'slow reader closed by the server');
    expect(pushed).toBeLessThan(MAX_PUSHED);
    expect(writer.isOpen).toBe(true);
    expect(reader.isOpen).toBe(true);

    // The fast reader received everything, in order.
    await waitFor(() => reader.text(DOC).length === pushed * CHUNK, 10_000, 'reader has all updates');
    expect(reader.text(DOC)).toBe(writerDoc.getText('text').toString());

    // The writer keeps working after the slow reader is gone.
    writer.send(updateFrame(DOC, textUpdate(writerDoc, '|end')));
    await waitFor(() => reader.text(DOC).endsWith('|end'), 5_000, 'reader receives a later edit');

    // The slow client, once it reads again, finds its connection closed (no clean close frame needed).
    tcp.resume();
    const { code } = await slow.waitClose(10_000);
    expect(code).not.toBe(1000);
    expect(slow.text(DOC).length).toBeLessThan(pushed * CHUNK);

    // A new client still gets the full document.
    const fresh = await RawClient.connect(server.port);
    await fresh.join(DOC, { timeoutMs: 10_000 });
    expect(fresh.text(DOC)).toBe(reader.text(DOC));

    // Loose sanity bound: the process (server and all clients) did not buffer per-socket copies without bound.
    const growthMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(growthMiB).toBeLessThan(600);
  }, 60_000);
});
