/** Shared by the version tests: a server on its own database, paper editing, and the versions' HTTP and Stateless clients. */
import type { HocuspocusProvider } from '@hocuspocus/provider';
import pg from 'pg';
import * as Y from 'yjs';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../server/server.js';
import type { TestDatabase } from './databases.js';
import { waitFor } from './wait.js';

export async function startDurableServer(
  database: TestDatabase,
  config: Partial<Config> = {},
  options: Omit<StartOptions, 'config'> = {},
): Promise<RunningServer> {
  return startServer({
    ...options,
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent', ...config },
  });
}

/** Replaces the paper's content with one paragraph per line (one transaction, as an editor would). */
export function writePaper(doc: Y.Doc, lines: readonly string[]): void {
  const fragment = doc.getXmlFragment('default');
  doc.transact(() => {
    fragment.delete(0, fragment.length);
    fragment.insert(
      0,
      lines.map((line) => {
        const paragraph = new Y.XmlElement('paragraph');
        paragraph.insert(0, [new Y.XmlText(line)]);
        return paragraph;
      }),
    );
  });
}

/** Appends a paragraph. */
export function appendParagraph(doc: Y.Doc, line: string): void {
  const fragment = doc.getXmlFragment('default');
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText(line)]);
  fragment.insert(fragment.length, [paragraph]);
}

/** The paper's lines as an editor shows them. */
export function paperLines(doc: Y.Doc): string[] {
  return doc
    .getXmlFragment('default')
    .toArray()
    .map((block) =>
      block instanceof Y.XmlElement
        ? block
            .toArray()
            .map((child) => (child instanceof Y.XmlText ? child.toString() : ''))
            .join('')
        : '',
    );
}

export async function acknowledged(provider: HocuspocusProvider): Promise<void> {
  await waitFor(() => provider.isSynced && provider.unsyncedChanges === 0, 10_000, 'edits acknowledged');
}

export interface VersionBody {
  version: number;
  label: string | null;
  kind: 'auto' | 'named';
  parentVersion: number | null;
  createdBy: string | null;
  createdByName: string | null;
  createdAt: string;
  size: number;
}

export interface VersionList {
  document: string;
  versions: VersionBody[];
  nextBefore: number | null;
}

export const path = (name: string, rest = '') => `/api/documents/${encodeURIComponent(name)}${rest}`;

/** Rows of document_versions of a document, straight from the database. */
export async function storedVersions(database: TestDatabase, name: string): Promise<{ version: number; hash: string; size: number }[]> {
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  try {
    const { rows } = await sql.query<{ version: number; hash: string; size: number }>(
      `select v.version, encode(v.content_hash, 'hex') as hash, octet_length(v.state) as size
         from document_versions v join documents d on d.id = v.document_id where d.name = $1 order by v.version`,
      [name],
    );
    return rows;
  } finally {
    await sql.end();
  }
}

/**
 * Sends Stateless requests on a provider and resolves with the answer of the same requestId.
 */
export function statelessClient(provider: HocuspocusProvider) {
  const waiting = new Map<string, (answer: { status: number; body: unknown; scriptorium: string }) => void>();
  provider.on('stateless', ({ payload }: { payload: string }) => {
    let message: { scriptorium?: string; requestId?: string; status: number; body: unknown };
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof message.requestId !== 'string') return;
    waiting.get(message.requestId)?.(message as { status: number; body: unknown; scriptorium: string });
    waiting.delete(message.requestId);
  });
  let next = 0;
  return <T = Record<string, unknown>>(op: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) =>
    new Promise<{ status: number; body: T; scriptorium: string }>((resolve, reject) => {
      const requestId = `r${++next}`;
      const timer = setTimeout(() => reject(new Error(`no answer to ${op} ${requestId}`)), timeoutMs);
      waiting.set(requestId, (answer) => {
        clearTimeout(timer);
        resolve(answer as { status: number; body: T; scriptorium: string });
      });
      provider.sendStateless(JSON.stringify({ scriptorium: op, requestId, ...params }));
    });
}
