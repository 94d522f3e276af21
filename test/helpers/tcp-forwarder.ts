/**
 * A TCP forwarder standing in for a load balancer (or a network path that can be cut):
 * it listens on a free port and joins each new connection to the first backend of its
 * list that accepts one; when a backend is dead, new connections go to the next. What
 * one side sends reaches the other unchanged; when either side closes, so does the other.
 */
import net from 'node:net';

export interface TcpForwarder {
  readonly port: number;
  /** Backend port each accepted connection was joined to, in order. */
  readonly routed: number[];
  /** Connections open now. */
  open(): number;
  /** Destroys every open connection and refuses new ones until `restore` (a partition). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Forwards to 127.0.0.1:<backend>, trying `backends` in order for each new connection. */
export async function startTcpForwarder(backends: readonly number[]): Promise<TcpForwarder> {
  const pairs = new Set<{ client: net.Socket; backend: net.Socket | null }>();
  const routed: number[] = [];
  let refusing = false;

  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    client.pause(); // hold what the client sends until a backend is joined
    const pair: { client: net.Socket; backend: net.Socket | null } = { client, backend: null };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      pair.backend?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    const tryBackend = (index: number) => {
      if (index >= backends.length || client.destroyed) return drop();
      const backend = net.connect(backends[index]!, '127.0.0.1');
      const refused = () => tryBackend(index + 1);
      backend.once('error', refused);
      backend.once('connect', () => {
        backend.off('error', refused);
        if (client.destroyed) return void backend.destroy();
        pair.backend = backend;
        routed.push(backends[index]!);
        backend.on('error', drop);
        backend.on('close', drop);
        client.pipe(backend);
        backend.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const destroyAll = () => {
    for (const pair of [...pairs]) {
      pair.client.destroy();
      pair.backend?.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    routed,
    open: () => pairs.size,
    cut() {
      refusing = true;
      destroyAll();
    },
    restore() {
      refusing = false;
    },
    close() {
      destroyAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
