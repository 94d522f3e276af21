import type { AppendMeta } from '../persistence/storage.js';
import type { TransportSocket } from '../transport/transport.js';

/**
 * Where an applied update came from. The origin decides who stores and who relays it:
 * - `local`: a client connection on this instance. Stored here, fanned out locally,
 *   published to other instances.
 * - `remote`: another instance (the Redis bus). That instance stored it; here it is
 *   only fanned out to local clients, never stored or published again (one hop).
 * - `server`: the server itself (a version restore, an import). Stored, fanned out to
 *   every local client, published to other instances.
 *
 * An origin is also the `AppendMeta` its updates are stored with (author, session),
 * so storage can hand a refusal straight back to whoever sent the update.
 */
interface OriginBase extends AppendMeta {
  /**
   * The database refused this origin's update for good. `seq` is the update's
   * position among the room's stored updates (Durability.appended when it was applied).
   */
  updateRefused(seq: number, error: Error): void;
}

/** The transport side of a local room member: where its frames go. */
export interface Recipient {
  readonly socket: TransportSocket;
  /** The Hocuspocus address frames are echoed to, or null for y-websocket (unprefixed frames). */
  readonly address: string | null;
  /** varString(address), or empty for y-websocket. */
  readonly prefix: Uint8Array;
}

export interface LocalOrigin extends OriginBase, Recipient {
  readonly kind: 'local';
}
export interface RemoteOrigin extends OriginBase {
  readonly kind: 'remote';
}
export interface ServerOrigin extends OriginBase {
  readonly kind: 'server';
}
export type UpdateOrigin = LocalOrigin | RemoteOrigin | ServerOrigin;

/** Updates relayed from another instance: applied and fanned out, never stored here. */
export function remoteOrigin(instanceId: string): RemoteOrigin {
  return {
    kind: 'remote',
    userId: null,
    sessionId: `instance:${instanceId}`,
    updateRefused() {
      // Never appended on this instance, so never refused here.
    },
  };
}

/**
 * An update the server makes itself (a version restore), on behalf of `userId`: stored with
 * that author, session and operation type, fanned out to every local client, published to
 * the other instances. `refused` hears if the database refuses it for good.
 */
export function serverOrigin(
  userId: string | null,
  sessionId: string,
  operationType: string,
  refused: (error: Error) => void,
): ServerOrigin {
  return {
    kind: 'server',
    userId,
    sessionId,
    operationType,
    updateRefused(_seq, error) {
      refused(error);
    },
  };
}
