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
import type { AuthorshipLogRow, LogCursor } from './authorship-log.js';
import type { DocumentAuthor, TreeBlame } from './authorship-types.js';
import type { AwarenessNames } from './awareness-names.js';
import { paperBlame, type PaperBlameResult } from './paper-blame.js';
import { treeBlame } from './tree-blame.js';

/** Hands `fold` the log rows of the document not read up to `since` (all without it), a page at a time; returns where it stopped. */
export type LogReader = (since: LogCursor | null, fold: (rows: readonly AuthorshipLogRow[]) => void) => Promise<LogCursor>;

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
    return document.kind === 'paper'
      ? paperBlame(room.doc, (client) => identities.ofClient(client))
      : treeBlame(room.doc, index, identities);
  }

  /** The document's index with every log row committed before the call folded in. */
  private async index(document: DocumentRef, read: LogReader): Promise<AuthorshipIndex> {
    const cached = this.cache.get(document.id);
    // Pages are folded as they come: into the cached index (a concurrent request may use it
    // meanwhile, and finds at least what it read itself), or into a new one, cached once whole.
    const index = cached?.index ?? new AuthorshipIndex(INDEX_OPTIONS[document.kind]);
    const cursor = await read(cached?.cursor ?? null, (rows) => index.add(rows));
    if (cached === undefined) {
      this.cache.put(document.id, { index, cursor, bytes: 0 });
    } else {
      // Folding is idempotent, so the cursor may only move forward; an older read leaves it.
      if (cursor.xmax >= cached.cursor.xmax) cached.cursor = cursor;
      this.cache.put(document.id, cached);
    }
    return index;
  }

  private async identities(document: DocumentRef, index: AuthorshipIndex, live: Room | null): Promise<AuthorIdentities> {
    const users = await userNames(
      this.deps.db,
      index.senders.map((sender) => sender.userId),
    );
    return new AuthorIdentities(index, users, this.deps.names.namesOf(document.id, live?.awareness.snapshot() ?? null));
  }
}
