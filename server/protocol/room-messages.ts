/**
 * Message handling shared by both protocols once a member is in its room. The member's
 * prefix makes the same code answer Hocuspocus (name-prefixed) and y-websocket frames.
 */
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { stats } from '../metrics.js';
import type { Room, RoomMember } from '../rooms/room.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { decodeAwarenessUpdate } from './awareness-codec.js';
import { awarenessFrame, syncStep1Frame, syncStep2Frame } from './frames.js';

/** SyncStep2 with what the member lacks; preceded by our SyncStep1 when asked. */
export function answerSyncStep1(member: RoomMember, room: Room, stateVector: Uint8Array, withStep1: boolean): void {
  const diff = Y.encodeStateAsUpdate(room.doc, stateVector);
  member.socket.cork(() => {
    if (withStep1) sendFrame(member, syncStep1Frame(member.prefix, Y.encodeStateVector(room.doc)));
    sendFrame(member, syncStep2Frame(member.prefix, diff));
  });
}

/** Applies an awareness message to the room and relays it to everyone, the sender included. */
export function relayAwareness(member: RoomMember, room: Room, decoder: decoding.Decoder, frame: Uint8Array): void {
  const update = decoding.readVarUint8Array(decoder);
  room.awareness.apply(decodeAwarenessUpdate(update), member, Date.now());
  room.broadcastAwareness(update, member.address, decoding.hasContent(decoder) ? null : frame);
}

/** Sends the room's current awareness states, if any (on join and on QueryAwareness). */
export function sendAwarenessSnapshot(member: RoomMember, room: Room): void {
  const snapshot = room.awareness.snapshot(Date.now());
  if (snapshot) sendFrame(member, awarenessFrame(member.prefix, snapshot));
}

export function sendFrame(member: RoomMember, frame: Uint8Array): void {
  member.socket.send(frame);
  stats.messagesOut++;
  stats.bytesOut += frame.length;
}

/**
 * Applies a client's update (SyncStep2 or Update) to its room. `senderFrame` is the
 * sender's own Update frame when it can be relayed as is. A room whose Y.Doc an update
 * broke halfway is dropped from the registry, so the next join reloads it from storage.
 */
export function applyUpdateFrom(member: RoomMember, room: Room, rooms: RoomRegistry, update: Uint8Array, senderFrame: Uint8Array | null): void {
  try {
    room.applyClientUpdate(update, member, senderFrame);
  } catch (error) {
    if (room.poisoned) rooms.discard(room);
    throw error;
  }
}
