import { MalformedFrameError } from '../codec/malformed-frame-error.js';
import { InvalidUpdateError } from '../rooms/room.js';
import type { CloseCondition } from './close-codes.js';
import { QueueOverflowError } from './document-session.js';

export interface FrameErrorClose {
  /** Mapped to a code (and reason) per protocol by close-codes.ts. */
  readonly condition: CloseCondition;
  /** The peer's fault (bad input, limits), logged at warn; otherwise a bug, logged at error. */
  readonly expected: boolean;
}

/**
 * True for errors that mean "the peer sent bytes we cannot decode". Strings in frames
 * (Hocuspocus document addresses, tokens, Stateless payloads) are read by lib0's
 * readVarString, which decodes with a fatal TextDecoder: invalid UTF-8 throws Node's
 * TypeError ERR_ENCODING_INVALID_ENCODED_DATA, the peer's fault like a truncated frame.
 */
export function isMalformedInput(error: unknown): boolean {
  if (error instanceof MalformedFrameError || error instanceof InvalidUpdateError || error instanceof RangeError) return true;
  if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === 'ERR_ENCODING_INVALID_ENCODED_DATA') return true;
  // lib0 throws plain Errors for truncated input.
  return error instanceof Error && /Unexpected end of array|Integer out of Range/i.test(error.message);
}

/** Why a socket is closed when handling one of its frames threw (both protocols). */
export function closeConditionFor(error: unknown): FrameErrorClose {
  if (error instanceof QueueOverflowError) return { condition: 'reset', expected: true };
  if (isMalformedInput(error)) return { condition: 'malformed', expected: true };
  return { condition: 'internal-error', expected: false };
}
