import type { SocketHandlers, TransportSocket, UpgradeRequest } from '../transport/transport.js';
import { closeFor } from './close-codes.js';
import { LargeMessageQueue } from './large-message-queue.js';
import type { ProtocolContext } from './context.js';
import { HocuspocusConnection } from './hocuspocus/hocuspocus-connection.js';
import { YWebsocketConnection } from './y-websocket/y-websocket-connection.js';

type Connection = HocuspocusConnection | YWebsocketConnection;

const Y_PREFIX = '/y/';

/** WebSocket paths: Hocuspocus on `/`, y-websocket on `/y/<percent-encoded name>`. */
export function createSocketHandlers(context: ProtocolContext): SocketHandlers<Connection> {
  const { counters } = context.metrics;
  // Past the bound the connection is closed like a rate-limited one: its client reconnects and resyncs.
  const largeMessages = new LargeMessageQueue<Connection>(
    (connection) => closeFor(connection, 'rate-limited', 'too many large messages waiting'),
    (error) => context.logger.error({ err: error }, 'a queued message failed'),
  );
  return {
    accepts: (path) => path === '/' || (path.startsWith(Y_PREFIX) && path.length > Y_PREFIX.length),
    open(socket: TransportSocket, request: UpgradeRequest): Connection {
      counters.connectionsOpen++;
      counters.connectionsTotal++;
      context.logger.debug({ path: request.path, remote: request.remoteAddress }, 'connection open');
      if (request.path === '/') return new HocuspocusConnection(socket, context, request.remoteAddress);
      let name: string | null;
      try {
        name = decodeURIComponent(request.path.slice(Y_PREFIX.length));
      } catch {
        name = null;
      }
      const token = new URLSearchParams(request.query).get('token') ?? '';
      // An undecodable name opens nothing: the session is refused like any bad name.
      const connection = new YWebsocketConnection(socket, name ?? '', token, context, request.remoteAddress);
      if (name === null) closeFor(connection, 'forbidden', 'document name is not valid percent-encoding');
      return connection;
    },
    message(connection, data, isBinary) {
      largeMessages.offer(connection, data, isBinary);
    },
    close(connection, code) {
      largeMessages.forget(connection);
      counters.connectionsOpen--;
      context.logger.debug({ code }, 'connection closed');
      connection.onClose();
    },
  };
}
