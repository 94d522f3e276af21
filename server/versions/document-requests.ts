/**
 * What a client can ask about a document's content and versions, whatever carries the
 * question: the HTTP API (server/http/version-api.ts) and the Hocuspocus socket's Stateless
 * requests (version-stateless.ts) both build a `DocumentRequest`, check it with the one
 * access rule (auth/authorizer.ts, `actionOf`), and ship the `Answer` — status and
 * JSON body, the same on both.
 *
 * The current state is always read from the live room: the registry's if the document is
 * open here, else it is opened through the registry for the request (so a restore reaches
 * every connected client, and reads see edits other instances have not stored yet).
 */
import type { Logger } from 'pino';
import type { Db } from '../persistence/db.js';
import { documentUpdatedAt } from '../persistence/documents.js';
import type { DocumentRef } from '../persistence/storage.js';
import { listVersions, readVersion, VERSIONS_MAX_LIMIT, type VersionInfo } from './version-store.js';
import type { Principal } from '../auth/authorizer.js';
import type { DocumentAction } from '../auth/authorizer.js';
import { diffContent, renderContent, renderState, type DocumentContent } from '../documents/content.js';
import { restoreUpdate } from '../documents/restore.js';
import { HttpError } from '../http/http-error.js';
import { RegistryClosedError, type RoomRegistry } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import { serverOrigin } from '../rooms/update-origin.js';
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
        const taken = await this.withRoom(document, (room) =>
          versions.take(document, room, { kind: 'named', label: request.label, createdBy: caller.principal.userId }),
        );
        return { status: 201, body: versionJson(taken!.version) };
      }
      case 'versions.restore':
        return this.restore(document, caller, request.version);
    }
  }

  private async content(document: DocumentRef): Promise<Answer> {
    const content = await this.withRoom(document, (room) => Promise.resolve(renderContent(document.kind, room.doc)));
    const updatedAt = this.deps.db ? await documentUpdatedAt(this.deps.db, document.id) : null;
    return {
      status: 200,
      body: { id: document.id, name: document.name, kind: document.kind, projectId: document.projectId, updatedAt: updatedAt?.toISOString() ?? null, content },
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
        ? await this.withRoom(document, (room) => Promise.resolve(renderContent(document.kind, room.doc)))
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
    return this.withRoom(document, async (room) => {
      const before = await versions.take(document, room, { kind: 'auto', label: `Before restoring v${number}`, createdBy: userId });
      const update = restoreUpdate(document.kind, room.doc, target.state);
      let restored: TakenVersion | null = null;
      if (update !== null) {
        let refusal: Error | null = null;
        const origin = serverOrigin(userId, caller.sessionId ?? 'server:restore', 'restore', (error) => (refusal = error));
        const result = room.apply(update, origin);
        if (result === 'full') throw new HttpError(503, 'the server is busy storing edits; try the restore again shortly', { 'retry-after': '5' });
        if (result === 'too-large') throw new HttpError(413, 'the restored document would be larger than MAX_DOCUMENT_BYTES');
        if (result === 'suspended') throw new HttpError(503, 'the document refuses edits for a while after repeated broken updates; try the restore again shortly', { 'retry-after': '60' });
        await room.durability.whenSettled(room.durability.appended);
        if (refusal !== null) {
          this.deps.logger.error({ err: refusal, document: document.name, version: number }, 'the database refused a restore');
          throw new HttpError(500, 'the restore could not be stored');
        }
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

  /** The live room for the request: joined if open here, else opened through the registry and released after. */
  private async withRoom<T>(document: DocumentRef, fn: (room: Room) => Promise<T>): Promise<T> {
    let room: Room;
    try {
      room = await this.deps.rooms.acquire(document);
    } catch (error) {
      if (error instanceof RegistryClosedError) throw new HttpError(503, 'server shutting down', { 'retry-after': '5' });
      throw error;
    }
    try {
      return await fn(room);
    } finally {
      this.deps.rooms.release(room);
    }
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
