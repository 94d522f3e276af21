/**
 * What a client can ask about a document's content and versions, whatever carries the
 * question: the HTTP API (server/http/version-api.ts) and the Hocuspocus socket's Stateless
 * requests (version-stateless.ts) both build a `DocumentRequest`, check it with the one
 * access rule (auth/authorizer.ts, `actionOf`), and ship the `Answer` — status and
 * JSON body, the same on both. The content in a format (`GET …/content`, `exported`) is read
 * the same way and shipped as its own representation (text, HTML, Yjs bytes).
 *
 * The current state is always read from the live room (documents/live-room.ts), and a
 * restore is applied to it like any server-made change (documents/server-update.ts).
 */
import type { Logger } from 'pino';
import type { Db } from '../persistence/db.js';
import { documentUpdatedAt } from '../persistence/documents.js';
import type { DocumentRef } from '../persistence/storage.js';
import { listVersions, readVersion, VERSIONS_MAX_LIMIT, type VersionInfo } from './version-store.js';
import type { Principal } from '../auth/authorizer.js';
import type { DocumentAction } from '../auth/authorizer.js';
import { diffContent, renderContent, renderState, type DocumentContent } from '../documents/content.js';
import { exportContent, type ContentFormat, type ExportedContent } from '../documents/formats/content-formats.js';
import { withLiveRoom } from '../documents/live-room.js';
import { restoreUpdate } from '../documents/restore.js';
import { commitServerUpdate } from '../documents/server-update.js';
import { HttpError } from '../http/http-error.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { TakenVersion, Versions } from './versions.js';

export type DocumentRequest =
  | { readonly op: 'document.get' }
  | { readonly op: 'versions.list'; readonly limit?: number | undefined; readonly before?: number | undefined }
  | { readonly op: 'versions.get'; readonly version: number }
  | { readonly op: 'versions.diff'; readonly version: number; readonly to: number | 'current' }
  | { readonly op: 'versions.create'; readonly label: string | null }
  | { readonly op: 'versions.restore'; readonly version: number };

export type DocumentOperation = DocumentRequest['op'];

/** Longest version label, in characters. */
export const MAX_LABEL_LENGTH = 200;

/** Reading needs read access; naming and restoring need read-write. */
export function actionOf(request: DocumentRequest): DocumentAction {
  return request.op === 'versions.create' || request.op === 'versions.restore' ? 'write' : 'read';
}

export interface Caller {
  readonly principal: Principal;
  /** The connection's session (socket requests), stored with a restore's edit; null over HTTP. */
  readonly sessionId: string | null;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export interface DocumentRequestDependencies {
  /** Null with STORAGE=memory: no versions (501), content still served. */
  readonly db: Db | null;
  readonly rooms: RoomRegistry;
  readonly versions: Versions | null;
  readonly logger: Logger;
}

/** A version as the API shows it (no state). */
export function versionJson(version: VersionInfo) {
  return {
    version: version.version,
    label: version.label,
    kind: version.kind,
    parentVersion: version.parentVersion,
    createdBy: version.createdBy,
    createdByName: version.createdByName,
    createdAt: version.createdAt.toISOString(),
    size: version.size,
  };
}

export class DocumentRequests {
  constructor(private readonly deps: DocumentRequestDependencies) {}

  /** Answers the request; the caller has already checked `actionOf(request)` access. Throws HttpError for refusals. */
  async run(document: DocumentRef, caller: Caller, request: DocumentRequest): Promise<Answer> {
    switch (request.op) {
      case 'document.get':
        return this.content(document);
      case 'versions.list':
        return this.list(document, request.limit, request.before);
      case 'versions.get': {
        const version = await this.stored(document, request.version);
        return { status: 200, body: { ...versionJson(version), content: renderState(document.kind, version.state) } };
      }
      case 'versions.diff':
        return this.diff(document, request.version, request.to);
      case 'versions.create': {
        const versions = this.requireVersions();
        const taken = await withLiveRoom(this.deps.rooms, document, (room) =>
          versions.take(document, room, { kind: 'named', label: request.label, createdBy: caller.principal.userId }),
        );
        return { status: 201, body: versionJson(taken!.version) };
      }
      case 'versions.restore':
        return this.restore(document, caller, request.version);
    }
  }

  /**
   * The document's content in `format` (`GET …/content`), read from the live room like
   * `document.get`; 400 for a format its kind has no rendering in. The caller has checked read access.
   */
  async exported(document: DocumentRef, format: ContentFormat): Promise<ExportedContent> {
    const exported = await withLiveRoom(this.deps.rooms, document, (room) =>
      Promise.resolve(exportContent(document.kind, room.doc, format)),
    );
    if ('error' in exported) throw new HttpError(400, `format: ${exported.error}`);
    return exported;
  }

  private async content(document: DocumentRef): Promise<Answer> {
    const content = await withLiveRoom(this.deps.rooms, document, (room) => Promise.resolve(renderContent(document.kind, room.doc)));
    const updatedAt = this.deps.db ? await documentUpdatedAt(this.deps.db, document.id) : null;
    return {
      status: 200,
      body: {
        id: document.id,
        name: document.name,
        kind: document.kind,
        projectId: document.projectId,
        updatedAt: updatedAt?.toISOString() ?? null,
        content,
      },
    };
  }

  private async list(document: DocumentRef, limit: number | undefined, before: number | undefined): Promise<Answer> {
    const db = this.requireDb();
    const versions = await listVersions(db, document.id, { limit, before });
    const pageSize = Math.min(limit ?? 100, VERSIONS_MAX_LIMIT);
    return {
      status: 200,
      body: {
        document: document.name,
        versions: versions.map(versionJson),
        // Cursor for the next (older) page, null on the last one.
        nextBefore: versions.length === pageSize ? versions[versions.length - 1]!.version : null,
      },
    };
  }

  private async diff(document: DocumentRef, from: number, to: number | 'current'): Promise<Answer> {
    const fromVersion = await this.stored(document, from);
    const toContent: DocumentContent =
      to === 'current'
        ? await withLiveRoom(this.deps.rooms, document, (room) => Promise.resolve(renderContent(document.kind, room.doc)))
        : renderState(document.kind, (await this.stored(document, to)).state);
    const diff = diffContent(document.kind, renderState(document.kind, fromVersion.state), toContent);
    return { status: 200, body: { document: document.name, from, to, diff } };
  }

  /**
   * Restore as a forward edit: (1) the current state is saved as a version, so the restore
   * can be undone; (2) one server-origin transaction, authored by the caller, makes the
   * live document the version's content — stored in `collaborations` as a 'restore' and
   * relayed to every client on every instance; (3) once it is durable, a version
   * "Restored from vN" follows. Content that already equals the version's is not edited.
   */
  private async restore(document: DocumentRef, caller: Caller, number: number): Promise<Answer> {
    const versions = this.requireVersions();
    const target = await this.stored(document, number);
    const userId = caller.principal.userId;
    return withLiveRoom(this.deps.rooms, document, async (room) => {
      const before = await versions.take(document, room, { kind: 'auto', label: `Before restoring v${number}`, createdBy: userId });
      const update = restoreUpdate(document.kind, room.doc, target.state);
      let restored: TakenVersion | null = null;
      if (update !== null) {
        const author = { userId, sessionId: caller.sessionId ?? 'server:restore', operationType: 'restore' };
        await commitServerUpdate(room, update, author, 'the restore', this.deps.logger);
        restored = await versions.take(document, room, { kind: 'named', label: `Restored from v${number}`, createdBy: userId });
      }
      return {
        status: 200,
        body: {
          document: document.name,
          restoredFrom: number,
          changed: update !== null,
          before: before ? versionJson(before.version) : null,
          version: restored ? versionJson(restored.version) : null,
        },
      };
    });
  }

  private async stored(document: DocumentRef, number: number) {
    const version = await readVersion(this.requireDb(), document.id, number);
    if (!version) throw new HttpError(404, `${JSON.stringify(document.name)} has no version ${number}`);
    return version;
  }

  private requireDb(): Db {
    if (!this.deps.db) throw new HttpError(501, 'this server runs with STORAGE=memory: it keeps no versions');
    return this.deps.db;
  }

  private requireVersions(): Versions {
    if (!this.deps.versions) throw new HttpError(501, 'this server runs with STORAGE=memory: it keeps no versions');
    return this.deps.versions;
  }
}
