import { startServer, type RunningServer, type StartOptions } from '../../server/server.js';
import type { Config } from '../../server/config.js';
import type { TransportKind } from '../../server/transport/transport.js';

export const TRANSPORTS: TransportKind[] = ['uws', 'ws'];

const running = new Set<RunningServer>();

/** Starts an in-memory server on a free port (or `port`), with optional injected dependencies; closed by closeServers(). */
export async function startTestServer(
  transport: TransportKind,
  overrides: Partial<Config> = {},
  dependencies: Omit<StartOptions, 'config'> = {},
): Promise<RunningServer> {
  const server = await startServer({
    ...dependencies,
    config: { port: 0, host: '127.0.0.1', storage: 'memory', transport, logLevel: 'silent', ...overrides },
  });
  expectTransport(server, transport);
  running.add(server);
  return server;
}

function expectTransport(server: RunningServer, transport: TransportKind): void {
  if (server.transport !== transport) throw new Error(`asked for transport ${transport}, got ${server.transport}`);
}

export async function closeServer(server: RunningServer): Promise<void> {
  running.delete(server);
  await server.close();
}

export async function closeServers(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((server) => server.close()));
}
