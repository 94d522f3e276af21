import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

type Destroyable = { destroy(): void };
const live = new Set<Destroyable>();

/** Fast reconnects for tests (the defaults back off from 1 s up to 30 s). */
const FAST_RECONNECT = { delay: 50, minDelay: 50, maxDelay: 300, factor: 1.5, jitter: false } as const;

/** An unmodified HocuspocusProvider that manages its own socket. */
export function hocuspocusProvider(
  port: number,
  name: string,
  document = new Y.Doc(),
  extra: Record<string, unknown> = {},
): HocuspocusProvider {
  const provider = new HocuspocusProvider({
    url: `ws://127.0.0.1:${port}`,
    name,
    document,
    WebSocketPolyfill: WebSocket,
    ...FAST_RECONNECT,
    ...extra,
  } as ConstructorParameters<typeof HocuspocusProvider>[0]);
  live.add(provider);
  return provider;
}

/** A shared socket for several attached providers. */
export function sharedSocket(port: number, extra: Record<string, unknown> = {}): HocuspocusProviderWebsocket {
  const socket = new HocuspocusProviderWebsocket({
    url: `ws://127.0.0.1:${port}`,
    WebSocketPolyfill: WebSocket,
    ...FAST_RECONNECT,
    ...extra,
  } as ConstructorParameters<typeof HocuspocusProviderWebsocket>[0]);
  live.add(socket);
  return socket;
}

export function attachedProvider(websocketProvider: HocuspocusProviderWebsocket, name: string, document = new Y.Doc()): HocuspocusProvider {
  const provider = new HocuspocusProvider({ websocketProvider, name, document });
  provider.attach();
  live.add(provider);
  return provider;
}

export function yWebsocketProvider(
  port: number,
  name: string,
  document = new Y.Doc(),
  options: Record<string, unknown> = {},
): WebsocketProvider {
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/y`, name, document, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    maxBackoffTime: 300,
    // Node has a global BroadcastChannel: two providers of one room in this process would
    // otherwise sync through it, and a test would pass without the server relaying anything.
    disableBc: true,
    ...options,
  });
  live.add(provider);
  return provider;
}

/** Destroys one provider now (e.g. to test leaving). */
export function destroyProvider(provider: Destroyable): void {
  live.delete(provider);
  provider.destroy();
}

/**
 * A socket still connecting when its provider is destroyed emits `error` ("closed before the
 * connection was established") after the provider dropped its handlers: an unhandled error
 * that fails the whole test run. A listener that ignores it is attached first.
 */
function ignoreLateSocketErrors(provider: unknown): void {
  const p = provider as {
    ws?: unknown;
    webSocket?: unknown;
    configuration?: { websocketProvider?: { webSocket?: unknown } };
  };
  for (const socket of [p.ws, p.webSocket, p.configuration?.websocketProvider?.webSocket]) {
    const emitter = socket as { on?: (event: string, listener: () => void) => void } | null | undefined;
    if (typeof emitter?.on === 'function') emitter.on('error', () => {});
  }
}

export function destroyProviders(): void {
  // Document providers first, then the shared sockets they are attached to.
  const all = [...live];
  live.clear();
  for (const p of all) ignoreLateSocketErrors(p);
  const sockets = all.filter((p) => p instanceof HocuspocusProviderWebsocket);
  for (const p of all) if (!(p instanceof HocuspocusProviderWebsocket)) p.destroy();
  for (const p of sockets) p.destroy();
}
