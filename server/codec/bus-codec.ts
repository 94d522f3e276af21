/**
 * Messages between instances on a document's channel (binary, no JSON):
 * `varUint kind · varString sender instance · varUint seq · varUint8Array payload · varUint8Array extra · varString to`.
 * - update: payload = a Yjs update the sender applied (and stores);
 * - awareness: payload = an awareness update;
 * - sync-request: payload = the sender's state vector (it just loaded or reconnected);
 * - sync-reply: payload = what the requester lacks, extra = the replier's state vector, to = requester.
 * For update and sync-reply, seq is the sender's count of published updates when it sent
 * the message: the payload is durable once the sender announces that count as stored
 * (Bus.announce).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MalformedFrameError } from './malformed-frame-error.js';

export const BusKind = { Update: 0, Awareness: 1, SyncRequest: 2, SyncReply: 3 } as const;
export type BusKindValue = (typeof BusKind)[keyof typeof BusKind];

export interface BusMessage {
  readonly kind: BusKindValue;
  readonly from: string;
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly extra: Uint8Array;
  /** Addressee instance ('' for everyone). */
  readonly to: string;
}

const EMPTY = new Uint8Array(0);

export function encodeBusMessage(
  kind: BusKindValue,
  from: string,
  seq: number,
  payload: Uint8Array = EMPTY,
  extra: Uint8Array = EMPTY,
  to = '',
): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, kind);
  encoding.writeVarString(encoder, from);
  encoding.writeVarUint(encoder, seq);
  encoding.writeVarUint8Array(encoder, payload);
  encoding.writeVarUint8Array(encoder, extra);
  encoding.writeVarString(encoder, to);
  return encoding.toUint8Array(encoder);
}

/** Throws MalformedFrameError on anything that is not a bus message. */
export function decodeBusMessage(data: Uint8Array): BusMessage {
  try {
    const decoder = decoding.createDecoder(data);
    const kind = decoding.readVarUint(decoder);
    if (kind > BusKind.SyncReply) throw new MalformedFrameError(`unknown bus message kind ${kind}`);
    const from = decoding.readVarString(decoder);
    const seq = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    const extra = decoding.readVarUint8Array(decoder);
    const to = decoding.readVarString(decoder);
    return { kind: kind as BusKindValue, from, seq, payload, extra, to };
  } catch (error) {
    if (error instanceof MalformedFrameError) throw error;
    throw new MalformedFrameError(`undecodable bus message: ${(error as Error).message}`);
  }
}
