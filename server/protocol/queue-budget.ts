import type { ProtocolLimits } from './context.js';

/** Frames for a document that gets no Auth within this long are dropped (when their room is needed). */
export const DEFAULT_QUEUED_DOCUMENT_TIMEOUT_MS = 10_000;

/**
 * Frames and bytes one socket holds for documents that are not open yet (waiting for
 * authentication or a load). Shared by all of the socket's document sessions; when
 * `take` says no, the socket is reset (4205) rather than queue without bound.
 */
export class QueueBudget {
  frames = 0;
  bytes = 0;

  constructor(private readonly limits: Pick<ProtocolLimits, 'maxQueuedFrames' | 'maxQueuedBytes'>) {}

  take(bytes: number): boolean {
    if (this.frames + 1 > this.limits.maxQueuedFrames || this.bytes + bytes > this.limits.maxQueuedBytes) return false;
    this.frames++;
    this.bytes += bytes;
    return true;
  }

  give(frames: number, bytes: number): void {
    this.frames -= frames;
    this.bytes -= bytes;
  }
}
