/**
 * The transport floor: the least a server speaking the Hocuspocus protocol must do per edit —
 * receive the frame, hand it to the document's other members through uWebSockets.js's native
 * topics (one publish, no per-recipient JavaScript), answer with a SyncStatus — with no CRDT,
 * no validation, no persistence and no state. It is NOT a usable server: a late joiner gets an
 * empty document. It exists so the bench can show how much of a real server's CPU per delivery
 * is the kernel's loopback TCP and uWS's, which no server design removes
 * (`npm run bench -- --servers floor,scriptorium-mem,hocuspocus`).
 *
 * Listens on HOST:PORT; prints one "listening" line when ready.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { loadNativeUws } from '../../server/transport/uws-transport.js';
import { authenticatedFrame, encodeAddress, syncStatusFrame, syncStep1Frame, syncStep2Frame } from '../../server/codec/frames.js';
import { MessageType, SyncType } from '../../server/codec/message-types.js';
import { parseCli } from '../../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/peers/relay-floor.js',
  summary: `The relay-only floor of the benchmark (npm run bench -- --servers floor,...): relays each
Hocuspocus edit to the document's other members with one native uWebSockets.js publish and
answers SyncStatus; no CRDT, no validation, no storage. NOT a usable server. Prints one
"listening" JSON line when ready.`,
  environment: [
    { name: 'PORT', description: 'TCP port (default: 1234)' },
    { name: 'HOST', description: 'interface to listen on (default: 127.0.0.1)' },
  ],
});

const loaded = loadNativeUws();
if ('error' in loaded) throw new Error(loaded.error);
const { uws } = loaded;

const port = cli.number(process.env.PORT, 'PORT', { integer: true, min: 0, max: 65535 }) ?? 1234;
const host = process.env.HOST ?? '127.0.0.1';
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());
const prefixes = new Map<string, Uint8Array>();
const prefixOf = (name: string): Uint8Array => {
  let prefix = prefixes.get(name);
  if (!prefix) prefixes.set(name, (prefix = encodeAddress(name)));
  return prefix;
};

uws
  .App()
  .ws<Record<string, never>>('/*', {
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    compression: uws.DISABLED,
    message(ws, message, isBinary) {
      if (!isBinary) return;
      const bytes = new Uint8Array(message);
      const decoder = decoding.createDecoder(bytes);
      const name = decoding.readVarString(decoder);
      const type = decoding.readVarUint(decoder);
      const prefix = prefixOf(name);
      switch (type) {
        case MessageType.Auth:
          ws.subscribe(name);
          ws.send(authenticatedFrame(prefix, 'read-write'), true);
          return;
        case MessageType.Awareness:
          ws.publish(name, bytes, true);
          return;
        case MessageType.Sync: {
          const sub = decoding.readVarUint(decoder);
          ws.cork(() => {
            if (sub === SyncType.Step1) {
              ws.send(syncStep2Frame(prefix, EMPTY_UPDATE), true);
              ws.send(syncStep1Frame(prefix, EMPTY_STATE_VECTOR), true);
              return;
            }
            // An update frame is already what the other members need: relay it as received.
            if (sub === SyncType.Update) ws.publish(name, bytes, true);
            ws.send(syncStatusFrame(prefix, true), true);
          });
          return;
        }
        default:
          return; // query-awareness, stateless, pongs: nothing the floor needs to answer
      }
    },
  })
  .listen(host, port, (listenSocket) => {
    if (!listenSocket) {
      console.error(`cannot listen on ${host}:${port}`);
      process.exit(1);
    }
    console.log(JSON.stringify({ msg: 'listening', port, address: host, server: 'transport floor' }));
  });
