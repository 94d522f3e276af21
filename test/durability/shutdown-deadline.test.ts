/**
 * Shutdown finishes within SHUTDOWN_TIMEOUT_MS in total, even when the database is gone
 * and edits are still queued (they stay unacknowledged with their clients, which resend
 * them to the next instance). Runs against a throwaway cluster, never the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../server/server.js';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';
import { waitFor } from '../helpers/wait.js';
import { joinDocument } from '../helpers/durability.js';

let cluster: ThrowawayPostgres;

beforeAll(async () => {
  cluster = await startThrowawayPostgres();
}, 60_000);

afterAll(async () => {
  RawClient.terminateAll();
  await cluster.destroy();
});

describe('shutdown', () => {
  it('ends within SHUTDOWN_TIMEOUT_MS while the database is unreachable, and says not everything was committed', async () => {
    const shutdownTimeoutMs = 1_500;
    const server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        databaseUrl: cluster.url,
        storage: 'durable',
        transport: 'uws',
        logLevel: 'silent',
        shutdownTimeoutMs,
      },
    });
    const client = await joinDocument(server.port, 'deadline');
    client.send(updateFrame('deadline', textUpdate(client.doc('deadline'), 'committed')));
    await client.waitForFrame((f) => f.kind === 'syncStatus', 10_000, 'first ack');

    await cluster.crash();
    for (let i = 0; i < 20; i++) client.send(updateFrame('deadline', textUpdate(client.doc('deadline'), `queued ${i}`)));
    await waitFor(() => server.metrics.counters.updatesApplied >= 21, 5_000, 'edits applied and queued');

    const started = Date.now();
    const flushed = await server.close();
    const took = Date.now() - started;
    expect(flushed).toBe(false);
    expect(took).toBeLessThan(shutdownTimeoutMs + 1_000);
    expect(client.frames.filter((f) => f.kind === 'syncStatus')).toHaveLength(1);
    await cluster.start();
  }, 60_000);
});
