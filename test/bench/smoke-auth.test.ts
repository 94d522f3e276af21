/**
 * Bench smoke in token mode: the scriptorium-pg-auth bench server (AUTH_SECRET, a throwaway
 * PostgreSQL database, one editor seeded, the documents created first) and a tiny fan-out with
 * the editor's token over both protocols — nothing denied, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { startServer } from '../../dist/bench/servers.js';
// @ts-ignore -- compiled output
import { assertSmoke, runSmoke, SMOKE_DOCS } from '../../dist/bench/smoke.js';
import { ADMIN_URL } from '../helpers/databases.js';

interface BenchServer {
  url: string;
  pid(): number;
  stop(): Promise<void>;
  auth: { token: string; addDocuments(names: string[]): Promise<void> } | null;
}

describe('bench smoke with auth on (scriptorium-pg-auth)', () => {
  const servers: Partial<Record<'hocuspocus' | 'y-websocket', BenchServer>> = {};

  beforeAll(async () => {
    for (const protocol of ['hocuspocus', 'y-websocket'] as const) {
      servers[protocol] = (await startServer('scriptorium-pg-auth', {
        cpu: null,
        scriptoriumProtocol: protocol,
        pgAdminUrl: ADMIN_URL,
      })) as BenchServer;
    }
  });

  afterAll(async () => {
    for (const server of Object.values(servers)) await server?.stop();
  });

  it.each(['hocuspocus', 'y-websocket'] as const)('tiny fan-out over %s with the seeded editor token', async (protocol) => {
    const server = servers[protocol]!;
    expect(server.auth).not.toBeNull();
    const docPrefix = `smoke-auth-${protocol}-`;
    await server.auth!.addDocuments(Array.from({ length: SMOKE_DOCS as number }, (_, d) => `${docPrefix}${d}`));
    const r = await runSmoke({ url: server.url, protocol, serverPid: server.pid(), token: server.auth!.token, docPrefix, durationSec: 2 });
    assertSmoke(r);
    expect(r.connections.authDenied).toBe(0);
    expect(r.loss.missingEdits).toBe(0);
  });
});
