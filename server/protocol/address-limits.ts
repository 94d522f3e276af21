import type { Room } from '../rooms/room.js';

/**
 * Bounds on the addresses one document is opened under (Hocuspocus). An address is the
 * document name, optionally followed by "\0<anything>" (providers with `sessionAwareness`
 * send "name\0sessionId"); every distinct address is an audience of its own, because each
 * frame carries its address, so each edit is published once per address. The plain name is
 * one audience however many join under it and is never refused for these bounds; the
 * others ("extra" addresses) are bounded, so an edit's fan-out stays bounded too.
 */
export interface AddressLimits {
  /** Addresses of one document one socket may have open or opening (the plain name included). */
  readonly maxAddressesPerSocket: number;
  /** Extra addresses of one document one user may hold on this instance (token mode). */
  readonly maxAddressesPerUser: number;
  /** Extra addresses one document may have on this instance. */
  readonly maxAddressesPerDocument: number;
}

export const DEFAULT_ADDRESS_LIMITS: AddressLimits = {
  maxAddressesPerSocket: 4,
  maxAddressesPerUser: 16,
  maxAddressesPerDocument: 64,
};

/** True for "name\0suffix": an address that is not the plain document name. */
export function isExtraAddress(address: string | null): address is string {
  return address !== null && address.includes('\0');
}

/**
 * Null when `member` may join `room` under its address, else the reason it may not (sent
 * with PermissionDenied). Joining an address that already has an audience costs nothing
 * more and is always allowed. Runs synchronously right before the join, so concurrent
 * opens cannot overshoot.
 */
export function addressProblem(
  room: Room,
  member: { readonly address: string | null; readonly userId: string | null },
  limits: Partial<AddressLimits>,
): string | null {
  const address = member.address;
  if (!isExtraAddress(address) || room.fanOut.hasAudience(address)) return null;
  const perDocument = limits.maxAddressesPerDocument ?? DEFAULT_ADDRESS_LIMITS.maxAddressesPerDocument;
  if (room.fanOut.extraAudiences >= perDocument) {
    return `too many addresses for document ${JSON.stringify(room.name)} (at most ${perDocument} besides its name); open it by its name`;
  }
  const userId = member.userId;
  if (userId === null) return null;
  const perUser = limits.maxAddressesPerUser ?? DEFAULT_ADDRESS_LIMITS.maxAddressesPerUser;
  const held = new Set<string>();
  for (const other of room.members) if (other.userId === userId && isExtraAddress(other.address)) held.add(other.address);
  if (held.size >= perUser) return `too many addresses for document ${JSON.stringify(room.name)} for one user (at most ${perUser})`;
  return null;
}
