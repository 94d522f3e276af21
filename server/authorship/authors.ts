/**
 * The authors list of a document: per author, the characters their clients inserted, the
 * characters their rows deleted first, and the time of their first and last stored row.
 * The room's own formatting cleanup is nobody's and left out.
 */
import { SERVER_AUTHOR, type AuthorIdentities, type AuthorIdentity } from './author-identities.js';
import type { AuthorshipIndex } from './authorship-index.js';
import type { DocumentAuthor } from './authorship-types.js';

interface Tally {
  readonly identity: AuthorIdentity;
  insertedChars: number;
  deletedChars: number;
  firstAt: number;
  lastAt: number;
}

/** Most characters inserted first, then most deleted, then by name. */
export function listAuthors(index: AuthorshipIndex, identities: AuthorIdentities): DocumentAuthor[] {
  const tallies = new Map<string, Tally>();
  const tally = (identity: AuthorIdentity): Tally | null => {
    if (identity.key === SERVER_AUTHOR.key) return null;
    let entry = tallies.get(identity.key);
    if (entry === undefined) {
      entry = { identity, insertedChars: 0, deletedChars: 0, firstAt: Number.POSITIVE_INFINITY, lastAt: Number.NEGATIVE_INFINITY };
      tallies.set(identity.key, entry);
    }
    return entry;
  };
  index.senders.forEach((sender, i) => {
    const entry = tally(identities.ofSender(i));
    if (entry === null) return;
    entry.firstAt = Math.min(entry.firstAt, sender.firstAt);
    entry.lastAt = Math.max(entry.lastAt, sender.lastAt);
  });
  for (const [client, chars] of index.insertedChars()) {
    const entry = tally(identities.ofClient(client));
    if (entry !== null) entry.insertedChars += chars;
  }
  for (const [sender, chars] of index.deletedChars()) {
    const entry = tally(identities.ofSender(sender));
    if (entry !== null) entry.deletedChars += chars;
  }
  const time = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
  return [...tallies.values()]
    .sort(
      (a, b) =>
        b.insertedChars - a.insertedChars ||
        b.deletedChars - a.deletedChars ||
        (a.identity.name ?? '\uffff').localeCompare(b.identity.name ?? '\uffff') ||
        a.identity.key.localeCompare(b.identity.key),
    )
    .map((entry) => ({
      userId: entry.identity.userId,
      name: entry.identity.name,
      insertedChars: entry.insertedChars,
      deletedChars: entry.deletedChars,
      firstEditAt: time(entry.firstAt),
      lastEditAt: time(entry.lastAt),
    }));
}
