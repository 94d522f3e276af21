import type { AppendMeta } from '../../../persistence/storage.js';
import type { Room, RoomMember } from '../../rooms/room.js';
import type { TransportSocket } from '../../transport/transport.js';
import { encodeAddress, syncStatusFrame } from '../frames.js';

export type SessionState = 'queued' | 'authenticating' | 'loading' | 'open' | 'closed';

/**
 * One document on one Hocuspocus socket. Frames that arrive before the document is
 * open (authenticating, loading) wait in `queue` and are handled in order afterwards.
 */
export class DocumentSession implements RoomMember {
  state: SessionState = 'queued';
  readonly prefix: Uint8Array;
  readonly documentName: string;
  room: Room | null = null;
  readOnly = false;
  meta: AppendMeta;
  awarenessClients: Set<number> | null = null;
  queue: Uint8Array[] = [];
  queuedBytes = 0;
  /** Prebuilt SyncStatus frames: acknowledging an update allocates nothing. */
  readonly appliedFrame: Uint8Array;
  readonly refusedFrame: Uint8Array;

  constructor(
    readonly socket: TransportSocket,
    /** Exactly as the provider sent it (may carry "\0sessionId"); echoed back verbatim. */
    readonly address: string,
    sessionId: string,
  ) {
    this.prefix = encodeAddress(address);
    const separator = address.indexOf('\0');
    this.documentName = separator === -1 ? address : address.slice(0, separator);
    this.meta = { userId: null, sessionId };
    this.appliedFrame = syncStatusFrame(this.prefix, true);
    this.refusedFrame = syncStatusFrame(this.prefix, false);
  }
}
