import type { Room } from './room.js';

/**
 * Removes the awareness states not renewed in time from every live room and tells whoever
 * must hear it, as a leave would: states set by this instance's connections go to every
 * local client and to the other instances; states relayed from other instances only to
 * the local clients (each instance expires its own copy). Run every AWARENESS_SWEEP_MS.
 */
export function expireAwareness(rooms: Iterable<Room>, now: number): void {
  for (const room of rooms) {
    if (room.poisoned) continue;
    const expired = room.awareness.expire(now);
    if (expired.local !== null) room.relayAwareness(expired.local, null, null);
    if (expired.remote !== null) room.fanOut.awareness(expired.remote, null, null);
  }
}
