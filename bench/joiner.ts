/**
 * A client that joins a document for its whole state: the time from connect to its SyncStep2
 * received, and that state's bytes. A keeping joiner holds the state, to apply it and check the
 * content afterwards; the others pass over its bytes (RawLinkOptions.keepFramesUpTo), so a
 * crowd of them on a large document costs the loader its socket reads only.
 */
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { BenchClient, type ClientContext } from './clients.js';
import { SyncType } from '../server/codec/message-types.js';
import type { RawLinkOptions } from './links.js';
import { nowMs } from './stats.js';

/** Messages longer than this are counted, not assembled, by a joiner that does not keep the state. */
const PASS_OVER_BYTES = 64 * 1024;

export class Joiner extends BenchClient {
  /** Bytes of the SyncStep2 it received (its update, with the length prefix); 0 before. */
  stateBytes = 0;
  /** The update of that SyncStep2, for a keeping joiner. */
  state: Uint8Array | null = null;

  constructor(
    ctx: ClientContext,
    docName: string,
    baseUrl: string,
    private readonly keep: boolean,
  ) {
    super(ctx, docName, baseUrl);
  }

  protected override linkOptions(): RawLinkOptions {
    return this.keep ? {} : { keepFramesUpTo: PASS_OVER_BYTES };
  }

  protected override onSync(sub: number, buf: Buffer, offset: number, length: number): void {
    if (sub === SyncType.Step2 && this.stateBytes === 0) {
      this.stateBytes = length - offset;
      // A copy: `buf` may view the link's reused receive buffer.
      if (this.keep) this.state = decoding.readVarUint8Array(decoding.createDecoder(buf.subarray(offset))).slice();
    }
    super.onSync(sub, buf, offset, length);
  }
}

/** Applies a state to a fresh Y.Doc, as a provider does on sync; how long that took. */
export function applyState(state: Uint8Array): { doc: Y.Doc; ms: number } {
  const doc = new Y.Doc();
  const started = nowMs();
  Y.applyUpdate(doc, state);
  return { doc, ms: nowMs() - started };
}

/** Entries of `expected` (client id → clock) that `doc` does not hold whole. */
export function missingClients(doc: Y.Doc, expected: ReadonlyMap<number, number>): number {
  let missing = 0;
  for (const [client, clock] of expected) if (Y.getState(doc.store, client) < clock) missing++;
  return missing;
}
