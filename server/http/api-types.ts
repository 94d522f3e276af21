/**
 * The JSON of the read/write API (docs/contracts.md "HTTP API"), declared once: the routes
 * are checked against these types and the web client imports them instead of retyping
 * them. Types only, apart from the kinds' list; no imports but the roles' module, which
 * has none either — the browser bundle and its own tsconfig take this file as it is.
 */
import type { ProjectRole } from '../auth/roles.js';

export type { ProjectRole };

export const DOCUMENT_KINDS = ['paper', 'research_tree'] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

/** Every refusal and failure the API answers itself (4xx, 5xx): the reason, for people. */
export interface ErrorBody {
  readonly error: string;
}

/** `GET /api/me`: the token's user; all null in open mode. */
export interface Me {
  readonly id: string | null;
  readonly name: string | null;
  readonly email?: string;
}

/** An item of `GET /api/documents`. `updatedAt` (ISO 8601) is null with STORAGE=memory, which keeps no timestamps. */
export interface DocumentSummary {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
  readonly updatedAt: string | null;
}

/** An item of `GET /api/projects`: a project the caller is a member of (their role) or a public one (role null). */
export interface ProjectSummary {
  readonly id: string;
  readonly name: string;
  readonly role: ProjectRole | null;
}

/** The body of `POST /api/documents`. With a token `projectId` is required; open mode puts it in the default project. */
export interface NewDocumentBody {
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId?: string;
  /** A paper's initial content: Markdown or HTML text, or ProseMirror JSON (`format`; absent: markdown for a string, else json). */
  readonly content?: unknown;
  readonly format?: 'markdown' | 'json' | 'html';
}

/** `POST /api/documents` → 201. */
export interface CreatedDocument {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
}

/** `POST /api/documents/:name/updates` → 200: the state vector (base64) once the update is committed. */
export interface UpdateAnswer {
  readonly stateVector: string;
}

/** `POST /api/documents/:name/edits` → 200: every op applied and committed; `ids` maps the index of each op that created something to its id. */
export interface EditAnswer extends UpdateAnswer {
  readonly applied: number;
  readonly ids: Readonly<Record<string, string>>;
}

/** `POST /api/documents/:name/edits` → 422: the op at index `op` cannot apply; nothing changed. */
export interface EditRefusal extends ErrorBody {
  readonly op: number;
}

/** A user in `GET /api/documents/:name/presence`: anonymous ones have a null id. */
export interface PresentUser {
  readonly id: string | null;
  readonly name: string | null;
  /** When they joined (ISO 8601). */
  readonly since: string;
  /** The instance their connection is on. */
  readonly instance: string;
}

/** `GET /api/documents/:name/presence`. */
export interface DocumentPresence {
  readonly document: string;
  readonly users: readonly PresentUser[];
}

/** The body of `PATCH /api/documents/:name` (rename) and of `POST /api/documents/:name/duplicate` (the copy's name). */
export interface DocumentNameBody {
  readonly name: string;
}

/** `PATCH /api/documents/:name` → 200: the document under its new name (the old one stays an alias). */
export interface RenamedDocument {
  readonly id: string;
  readonly name: string;
}

/** An item of `GET /api/trash`. */
export interface TrashedDocumentSummary {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
  /** When it went to the trash (ISO 8601); it is purged TRASH_RETENTION_DAYS later. */
  readonly deletedAt: string;
  /** Who deleted it; null in open mode (or when that user was deleted since). */
  readonly deletedBy: string | null;
}

/** `POST /api/trash/:id/restore` → 200: the document, back under its name. */
export interface RestoredDocument {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
}
