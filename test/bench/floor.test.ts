/**
 * The transport floor peer (bench/peers/relay-floor.ts) must keep speaking enough of the
 * Hocuspocus protocol for the bench loader: if it stopped relaying or acknowledging, its row in
 * every comparison would silently measure nothing.
 */
import { describe, expect, it } from 'vitest';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { assertSmoke, runSmoke } from '../../dist/bench/smoke.js';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { startServer } from '../../dist/bench/servers.js';

describe('bench floor peer', () => {
  it('relays every edit and acknowledges it in a tiny fan-out', async () => {
    const server = await startServer('floor', { cpu: null, scriptoriumProtocol: 'hocuspocus', pgAdminUrl: 'unused' });
    try {
      const r = await runSmoke({ url: server.url, protocol: 'hocuspocus', serverPid: server.pid(), durationSec: 3 });
      assertSmoke(r);
      expect(r.loss.expectedEdits).toBeGreaterThan(0);
      expect(r.loss.missingEdits).toBe(0);
      expect(r.ackMs!.count).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});
