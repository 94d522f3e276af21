import { InvalidUpdateError } from '../rooms/room.js';
import { MalformedFrameError } from './malformed-frame-error.js';

export { MalformedFrameError };

/** True for errors that mean "the peer sent bytes we cannot decode". */
export function isMalformedInput(error: unknown): boolean {
  if (error instanceof MalformedFrameError || error instanceof InvalidUpdateError || error instanceof RangeError) return true;
  // lib0 throws plain Errors for truncated input.
  return error instanceof Error && /Unexpected end of array|Integer out of Range/i.test(error.message);
}
