/**
 * Who an author is, as the API reports it: `{userId, name}`. With a token, a user (the name
 * from `users`); in open mode `userId` is null and the name is the display name the editor
 * chose, when this instance learned it (awareness-names.ts). `{userId: null, name: null}` is
 * an author we cannot name: an open-mode editor whose name was never seen here, a deleted user
 * (the log keeps the edit and drops the user), or content whose log rows were pruned by
 * HISTORY_RETENTION_DAYS (its client id appears in no row left).
 *
 * Authors are grouped by `key`: one per user; in open mode one per display name (two people
 * who chose the same name are one author to us); one for everyone unknown.
 */
import type { AuthorshipIndex } from './authorship-index.js';

export interface AuthorIdentity {
  readonly userId: string | null;
  readonly name: string | null;
  /** Groups the senders and clients of one author. */
  readonly key: string;
}

export const UNKNOWN_AUTHOR: AuthorIdentity = { userId: null, name: null, key: 'unknown' };
/** The room's own formatting cleanup: no author at all (left out of the authors list). */
export const SERVER_AUTHOR: AuthorIdentity = { userId: null, name: null, key: 'server' };

export class AuthorIdentities {
  private readonly senders: AuthorIdentity[];

  /**
   * `userNames`: `users.name` by (lower-case) user id; `clientNames`: open-mode display names by
   * Yjs client id.
   */
  constructor(
    private readonly index: AuthorshipIndex,
    userNames: ReadonlyMap<string, string>,
    private readonly clientNames: ReadonlyMap<number, string>,
  ) {
    // An open-mode session is named by a name of any client it owns.
    const sessionNames = new Map<number, string>();
    for (const client of index.clientIds()) {
      const name = clientNames.get(client);
      const owner = index.ownerOf(client);
      if (name !== undefined && owner >= 0 && !sessionNames.has(owner)) sessionNames.set(owner, name);
    }
    this.senders = index.senders.map((sender, i): AuthorIdentity => {
      if (sender.byServer) return SERVER_AUTHOR;
      if (sender.userId !== null)
        return {
          userId: sender.userId,
          name: userNames.get(sender.userId.toLowerCase()) ?? null,
          key: `user:${sender.userId.toLowerCase()}`,
        };
      return anonymous(sessionNames.get(i) ?? null);
    });
  }

  /** The author of a log row's sender (by index). */
  ofSender(sender: number): AuthorIdentity {
    return this.senders[sender] ?? UNKNOWN_AUTHOR;
  }

  /** The author of the structs of a Yjs client id: its owner, named by the client's own display name in open mode. */
  ofClient(client: number): AuthorIdentity {
    const owner = this.index.ownerOf(client);
    if (owner < 0) return UNKNOWN_AUTHOR;
    const identity = this.ofSender(owner);
    if (identity.userId !== null || identity === SERVER_AUTHOR) return identity;
    const name = this.clientNames.get(client);
    return name === undefined ? identity : anonymous(name);
  }
}

function anonymous(name: string | null): AuthorIdentity {
  return name === null ? UNKNOWN_AUTHOR : { userId: null, name, key: `name:${name}` };
}
