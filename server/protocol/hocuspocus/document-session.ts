import type { AppendMeta } from '../../../persistence/storage.js';
import type { Audience, Room, RoomMember } from '../../rooms/room.js';
import type { TransportSocket } from '../../transport/transport.js';
import { encodeAddress, syncStatusFrame } from '../frames.js';

export type SessionState = 'queued' | 'authenticating' | 'loading' | 'open' | 'closed';

/**
 * One document on one Hocuspocus socket. Frames that arrive before the document is
 * open (authenticating, loading) wait in `queue` and are handled in order afterwards.
 */
export class DocumentSession implements RoomMember {
  state: SessionState = 'queued';
  readonly documentName: string;
  room: Room | null = null;
  /** Set on join: frame parts shared with every session of the same address. */
  audience: Audience | null = null;
  readOnly = false;
  meta: AppendMeta;
  awarenessClients: Set<number> | null = null;
  queue: Uint8Array[] | null = null;
  queuedBytes = 0;
  private ownPrefix: Uint8Array | null = null;

  constructor(
    readonly socket: TransportSocket,
    /** Exactly as the provider sent it (may carry "\0sessionId"); echoed back verbatim. */
    readonly address: string,
    sessionId: string,
  ) {
    const separator = address.indexOf('\0');
    this.documentName = separator === -1 ? address : address.slice(0, separator);
    this.meta = { userId: null, sessionId };
  }

  /** varString(address): shared with the audience once joined (idle sessions cost less). */
  get prefix(): Uint8Array {
    return this.audience?.prefix ?? (this.ownPrefix ??= encodeAddress(this.address));
  }

  syncStatus(applied: boolean): Uint8Array {
    return this.audience ? this.audience.syncStatus(applied) : syncStatusFrame(this.prefix, applied);
  }
}
