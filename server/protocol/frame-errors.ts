import { MalformedFrameError } from '../codec/malformed-frame-error.js';
import { InvalidUpdateError } from '../rooms/room.js';
import { CloseCode } from '../transport/transport.js';
import { QueueOverflowError } from './document-session.js';

export interface FrameErrorClose {
  readonly code: number;
  readonly reason: string;
  /** The peer's fault (bad input, limits), logged at warn; otherwise a bug, logged at error. */
  readonly expected: boolean;
}

/** True for errors that mean "the peer sent bytes we cannot decode". */
export function isMalformedInput(error: unknown): boolean {
  if (error instanceof MalformedFrameError || error instanceof InvalidUpdateError || error instanceof RangeError) return true;
  // lib0 throws plain Errors for truncated input.
  return error instanceof Error && /Unexpected end of array|Integer out of Range/i.test(error.message);
}

/** The close a socket gets when handling one of its frames threw (both protocols). */
export function closeCodeFor(error: unknown): FrameErrorClose {
  if (error instanceof QueueOverflowError) return { code: CloseCode.ResetConnection, reason: 'Reset Connection', expected: true };
  if (isMalformedInput(error)) return { code: CloseCode.Unauthorized, reason: 'Unauthorized', expected: true };
  return { code: CloseCode.InternalError, reason: 'internal error', expected: false };
}
