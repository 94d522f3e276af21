/**
 * Authorship of a document, derived from its update log: the authors list and the blame of a
 * paper or a research tree. Brings the document's index up to date with the log (whole the
 * first time, then only new rows, cached per document: authorship-cache.ts), names its authors
 * (`users.name`; open-mode display names from awareness) and hands the live Y.Doc to the
 * blame of its kind.
 */
import type { Queryable } from '../persistence/db.js';
import { userNames } from '../persistence/accounts.js';
import type { DocumentRef } from '../persistence/storage.js';
import type { Room } from '../rooms/room.js';
import { AuthorIdentities } from './author-identities.js';
import { listAuthors } from './authors.js';
import { AuthorshipCache } from './authorship-cache.js';
import { AuthorshipIndex, INDEX_OPTIONS } from './authorship-index.js';
import type { LogCursor, LogRead } from './authorship-log.js';
import type { DocumentAuthor, TreeBlame } from './authorship-types.js';
import type { AwarenessNames } from './awareness-names.js';
import { paperBlame, type PaperBlameResult } from './paper-blame.js';
import { treeBlame } from './tree-blame.js';

/** Reads the log rows of the document not read up to `since` (all without it). */
export type LogReader = (since: LogCursor | null) => Promise<LogRead>;

export interface AuthorshipDependencies {
  /** Where `users.name` is read (the server's own role: the row-level-security reader cannot see users). */
  readonly db: Queryable;
  readonly names: AwarenessNames;
  readonly cache?: AuthorshipCache | undefined;
}

export class Authorship {
  private readonly cache: AuthorshipCache;

  constructor(private readonly deps: AuthorshipDependencies) {
    this.cache = deps.cache ?? new AuthorshipCache();
  }

  /** `live`: the document's room if it is open on this instance (its awareness names editors present now). */
  async authors(document: DocumentRef, read: LogReader, live: Room | null): Promise<DocumentAuthor[]> {
    const index = await this.index(document, read);
    return listAuthors(index, await this.identities(document, index, live));
  }

  /** The blame of the room's current state. */
  async blame(document: DocumentRef, read: LogReader, room: Room): Promise<PaperBlameResult | TreeBlame> {
    const index = await this.index(document, read);
    const identities = await this.identities(document, index, room);
    return document.kind === 'paper' ? paperBlame(room.doc, (client) => identities.ofClient(client)) : treeBlame(room.doc, index, identities);
  }

  /** The document's index with every log row committed before the call folded in. */
  private async index(document: DocumentRef, read: LogReader): Promise<AuthorshipIndex> {
    const cached = this.cache.get(document.id);
    const { rows, cursor } = await read(cached?.cursor ?? null);
    // An incremental read belongs to the index it started from (even if the cache dropped it
    // meanwhile); a whole read may fold into one a concurrent request cached meanwhile.
    const entry = cached ?? this.cache.get(document.id) ?? { index: new AuthorshipIndex(INDEX_OPTIONS[document.kind]), cursor, bytes: 0 };
    entry.index.add(rows);
    // Folding is idempotent, so the cursor may only move forward; an older read leaves it.
    if (cursor.horizon >= entry.cursor.horizon) entry.cursor = cursor;
    this.cache.put(document.id, entry);
    return entry.index;
  }

  private async identities(document: DocumentRef, index: AuthorshipIndex, live: Room | null): Promise<AuthorIdentities> {
    const users = await userNames(
      this.deps.db,
      index.senders.map((sender) => sender.userId),
    );
    return new AuthorIdentities(index, users, this.deps.names.namesOf(document.id, live?.awareness.snapshot() ?? null));
  }
}
