import type { Api, DocumentSummary } from './api.js';
import type { DocumentConnection } from './collab/document-connection.js';
import type { Identity } from './session/identity.js';

/** What every view needs: the API, who I am, how to navigate. */
export interface AppContext {
  readonly api: Api;
  readonly identity: Identity;
  /** The server runs without AUTH_SECRET: everyone is an anonymous editor. */
  readonly openMode: boolean;
  readonly directory: DocumentDirectory;
  /** A live connection to a document, introduced as me (the one opened at start, if it is that document). */
  connect(name: string): DocumentConnection;
  navigate(path: string): void;
  /** Forget the token or the chosen name and go back to sign-in. */
  signOut(): void;
}

/** The documents I can read, fetched once and refreshed when a name is not found in it. */
export class DocumentDirectory {
  private cached: Promise<DocumentSummary[]> | null = null;

  constructor(private readonly api: Api) {}

  list(refresh = false): Promise<DocumentSummary[]> {
    if (refresh || this.cached === null) {
      const fetching = this.api.documents();
      this.cached = fetching;
      // A failed fetch is not cached: the next call tries again.
      fetching.catch(() => {
        if (this.cached === fetching) this.cached = null;
      });
    }
    return this.cached;
  }

  async find(name: string): Promise<DocumentSummary | null> {
    const hit = (await this.list()).find((document) => document.name === name);
    if (hit) return hit;
    return (await this.list(true)).find((document) => document.name === name) ?? null;
  }

  forget(): void {
    this.cached = null;
  }
}
