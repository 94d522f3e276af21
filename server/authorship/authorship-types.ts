/**
 * The answers of `GET /api/documents/:name/authors` and `…/blame` (docs/contracts.md
 * "Authorship"), declared once for the server and the browser app.
 */

/** One author of a document. */
export interface DocumentAuthor {
  /** `users.id`; null in open mode, for a deleted user, or for an author we cannot name. */
  readonly userId: string | null;
  /** `users.name`, or the open-mode display name when known; null when unknown. */
  readonly name: string | null;
  /** Characters (UTF-16 code units) of text and string values the author inserted, deleted ones included. */
  readonly insertedChars: number;
  /** Characters the author deleted (of content the log still holds). */
  readonly deletedChars: number;
  /** ISO 8601 time of the author's first and last stored edit. */
  readonly firstEditAt: string | null;
  readonly lastEditAt: string | null;
}

/** Who wrote [from, to) of a paper's plain text. */
export interface BlameSpan {
  readonly from: number;
  readonly to: number;
  readonly userId: string | null;
  readonly name: string | null;
}

/**
 * A paper's blame: `text` is the paper's plain text (what `…/content?format=text` gives), and
 * `spans` cover its characters of text in order; line separators and hard breaks are in no span.
 */
export interface PaperBlame {
  readonly text: string;
  readonly spans: readonly BlameSpan[];
}

export interface TreeNodeBlame {
  readonly id: string;
  /** The author of the node (user id, or null as for an author). */
  readonly createdBy: string | null;
  readonly createdByName: string | null;
  /** The author of its latest change: a field set or removed, or its creation. */
  readonly lastEditedBy: string | null;
  readonly lastEditedByName: string | null;
}

/** A research tree's blame, its nodes in the rendered order (depth-first). */
export interface TreeBlame {
  readonly nodes: readonly TreeNodeBlame[];
}
