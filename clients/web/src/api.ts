/**
 * The server's JSON API (same origin), with the remembered token as a Bearer header.
 * Errors arrive as `{error}` with a status; they become ApiError so views can say what went wrong.
 * The read/write API's bodies are the server's own declarations (server/http/api-types.ts).
 */
import type {
  CreatedDocument,
  DocumentKind,
  DocumentPresence,
  DocumentSummary,
  ErrorBody,
  Me,
  NewDocumentBody,
  PresentUser,
  ProjectSummary,
} from '../../../server/http/api-types.js';
import type { DocumentAuthor, PaperBlame } from '../../../server/authorship/authorship-types.js';

export type { DocumentAuthor, DocumentKind, DocumentSummary, Me, PaperBlame, PresentUser, ProjectSummary };
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface VersionSummary {
  readonly version: number;
  readonly label: string | null;
  readonly kind: 'auto' | 'named';
  readonly createdBy: string | null;
  readonly createdByName: string | null;
  readonly createdAt: string;
}

export interface DiffPart {
  readonly type: 'equal' | 'added' | 'removed';
  readonly value: string;
}

export interface TreeNodeSummary {
  readonly id: string;
  readonly title: string;
  readonly depth: number;
  readonly status: string | null;
}

/** `GET …/versions/:v/diff`: a paper's word-level text diff, or a tree's node changes. */
export type VersionDiff =
  | { readonly kind: 'paper'; readonly text: readonly DiffPart[]; readonly stats?: Record<string, number> }
  | {
      readonly kind: 'research_tree';
      readonly nodes: {
        readonly added: readonly TreeNodeSummary[];
        readonly removed: readonly TreeNodeSummary[];
        readonly changed: readonly {
          readonly id: string;
          readonly fields: readonly string[];
          readonly before: TreeNodeSummary;
          readonly after: TreeNodeSummary;
        }[];
      };
    };

/** A version's content: ProseMirror JSON for a paper, rendered nodes for a tree. */
export type VersionContent =
  | { readonly type: 'doc'; readonly content: readonly unknown[] }
  | { readonly nodes: readonly TreeNodeSummary[] };

export interface Api {
  me(): Promise<Me>;
  documents(): Promise<DocumentSummary[]>;
  projects(): Promise<ProjectSummary[]>;
  createDocument(body: NewDocumentBody): Promise<CreatedDocument>;
  presence(name: string): Promise<readonly PresentUser[]>;
  versions(name: string): Promise<VersionSummary[]>;
  /** A named version of the current state; without a label it shows as "Version N". */
  nameVersion(name: string, label: string | null): Promise<VersionSummary>;
  version(name: string, version: number): Promise<VersionSummary & { readonly content: VersionContent }>;
  diff(name: string, version: number): Promise<VersionDiff>;
  restore(name: string, version: number): Promise<{ readonly changed: boolean }>;
  /** Who wrote the document, most characters first (`GET …/authors`). */
  authors(name: string): Promise<DocumentAuthor[]>;
  /** Who wrote each span of a paper's plain text (`GET …/blame`). */
  paperBlame(name: string): Promise<PaperBlame>;
}

export function createApi(token: string | null): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // A proxy's HTML error page: keep the status, say it plainly.
    }
    if (!response.ok) {
      const message = isErrorBody(parsed) ? parsed.error : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    return parsed as T;
  }
  const documentPath = (name: string) => `/api/documents/${encodeURIComponent(name)}`;
  return {
    me: () => call<Me>('GET', '/api/me'),
    documents: () => call<DocumentSummary[]>('GET', '/api/documents'),
    projects: () => call<ProjectSummary[]>('GET', '/api/projects'),
    createDocument: (body) => call('POST', '/api/documents', body),
    presence: async (name) => (await call<DocumentPresence>('GET', `${documentPath(name)}/presence`)).users,
    versions: async (name) => (await call<{ versions: VersionSummary[] }>('GET', `${documentPath(name)}/versions?limit=100`)).versions,
    nameVersion: (name, label) => call('POST', `${documentPath(name)}/versions`, label === null ? {} : { label }),
    version: (name, version) => call('GET', `${documentPath(name)}/versions/${version}`),
    diff: async (name, version) =>
      (await call<{ diff: VersionDiff }>('GET', `${documentPath(name)}/versions/${version}/diff?to=current`)).diff,
    restore: (name, version) => call('POST', `${documentPath(name)}/versions/${version}/restore`),
    authors: (name) => call('GET', `${documentPath(name)}/authors`),
    paperBlame: (name) => call('GET', `${documentPath(name)}/blame`),
  };
}

const isErrorBody = (value: unknown): value is ErrorBody =>
  typeof value === 'object' && value !== null && 'error' in value && typeof value.error === 'string';
