/** Hocuspocus / y-websocket message types (docs/protocol.md "Frames"). */
export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  Stateless: 5,
  Close: 7,
  SyncStatus: 8,
  Ping: 9,
  Pong: 10,
} as const;

/** Sub-types of a Sync message (y-protocols/sync). */
export const SyncType = {
  Step1: 0,
  Step2: 1,
  Update: 2,
} as const;

/** Sub-types of an Auth message (@hocuspocus/common). */
export const AuthType = {
  Token: 0,
  PermissionDenied: 1,
  Authenticated: 2,
} as const;

export type Scope = 'read-write' | 'readonly';
