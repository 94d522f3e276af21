import type { Logger } from 'pino';
import type { Transport, TransportKind, TransportOptions } from './transport.js';
import { createUwsTransport, loadNativeUws } from './uws-transport.js';
import { createWsTransport } from './ws-transport.js';

export type TransportChoice = TransportKind | 'auto';

/**
 * Picks the transport: uWS when its native addon loads, otherwise `ws` with a warning.
 * An explicit `uws` that cannot load is an error, not a silent fallback.
 */
export function selectTransport<S>(choice: TransportChoice, options: TransportOptions<S>, logger: Logger): Transport {
  if (choice === 'ws') return createWsTransport(options);
  const native = loadNativeUws();
  if ('uws' in native) return createUwsTransport(native.uws, options);
  if (choice === 'uws') throw new Error(`TRANSPORT=uws but ${native.error}`);
  logger.warn({ reason: native.error }, 'falling back to the ws transport: fan-out runs in JavaScript and is much slower');
  return createWsTransport(options);
}
