/**
 * Taking a version of a document: its full Yjs state, stored once per distinct state.
 *
 * Cheap first: the live state's identity (state-identity.ts, a walk over struct ids) is
 * compared with the newest version's, so a version of an unchanged document costs that and
 * one indexed query. A new state is taken from storage, not from the live Y.Doc: once every
 * update this instance applied is committed, `storeVersion` (store-version.ts) reads the
 * stored updates, merges, hashes and inserts them. All of that but the two small queries
 * runs on the version worker thread (version-worker.ts), since for a large paper it would
 * pause every editor: on PostgreSQL the worker runs `storeVersion` on its own connection and
 * the main thread only gets the new row's id; on PGlite (one connection, in this thread) the
 * main thread runs it and hands the worker only the merge.
 *
 * Naming the state that is already the newest version labels that version (it becomes a
 * named version; a label it had is replaced) instead of storing the same state again.
 */
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { Db } from '../persistence/db.js';
import type { DocumentRef } from '../persistence/storage.js';
import { sameBytes } from '../same-bytes.js';
import { isEmptyState, stateHash } from './state-identity.js';
import { storeVersion, type StoreOutcome, type StoreRequest } from './store-version.js';
import { labelVersion, latestVersion, versionById, type VersionInfo, type VersionKind } from './version-store.js';
import { VersionWorker } from './version-worker.js';

/** What a version is taken of: a live document (a Room) and how far its updates are stored. */
export interface VersionSource {
  readonly doc: Y.Doc;
  readonly durability: { readonly appended: number; whenSettled(seq: number): Promise<void> };
}

export interface VersionRequest {
  readonly kind: VersionKind;
  readonly label: string | null;
  readonly createdBy: string | null;
}

export interface TakenVersion {
  readonly version: VersionInfo;
  /** False when the state was already stored (`version` is that one, relabelled if named). */
  readonly created: boolean;
}

/** A newly stored version, for whatever keeps a projection of versions (the research-tree table). */
export interface StoredVersionEvent {
  readonly document: DocumentRef;
  readonly version: VersionInfo;
  /** The stored Yjs state (a copy the listener may keep). */
  readonly state: Uint8Array;
}

/**
 * Told after every version stored (not when a state was already stored). A listener that
 * fails is logged; the version stands.
 */
export interface VersionListener {
  versionStored(event: StoredVersionEvent): Promise<void>;
}

export class Versions {
  private readonly listeners: VersionListener[] = [];
  private readonly worker: VersionWorker;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    listeners: readonly VersionListener[] = [],
  ) {
    this.listeners.push(...listeners);
    this.worker = new VersionWorker({ connectionString: db.kind === 'postgres' ? db.connectionString : undefined });
  }

  /** Where a new state is read and inserted: `worker` (PostgreSQL, the worker's own connection) or `main` (PGlite). */
  get storesOn(): 'worker' | 'main' {
    return this.worker.stores ? 'worker' : 'main';
  }

  /** Adds a listener (e.g. the research-tree projection), told of every version stored from now on. */
  listen(listener: VersionListener): void {
    this.listeners.push(listener);
  }

  /**
   * Takes a version of the document `source` holds live (its stored state once this
   * instance's updates are committed). An automatic version of an empty document is not
   * taken (null).
   */
  async take(document: DocumentRef, source: VersionSource, request: VersionRequest): Promise<TakenVersion | null> {
    if (request.kind === 'auto' && isEmptyState(source.doc)) return null;
    const latest = await latestVersion(this.db, document.id);
    if (latest !== null && sameBytes(latest.hash, stateHash(source.doc))) return this.existing(latest, request);
    await source.durability.whenSettled(source.durability.appended);
    const stored = await this.store({
      documentId: document.id,
      latestHash: latest?.hash ?? null,
      skipEmpty: request.kind === 'auto',
      kind: request.kind,
      label: request.label,
      createdBy: request.createdBy,
    });
    switch (stored.outcome) {
      case 'gone':
        throw new Error(`document ${JSON.stringify(document.name)} no longer exists`);
      case 'empty':
        return null;
      case 'unchanged':
        if (latest === null)
          throw new Error(`version store answered "unchanged" for ${JSON.stringify(document.name)}, which has no version`);
        return this.existing(latest, request);
      case 'stored': {
        const version = await versionById(this.db, stored.versionId);
        if (version === null)
          throw new Error(`version ${stored.versionId} of ${JSON.stringify(document.name)} vanished after it was stored`);
        if (!stored.created) return this.existing(version, request);
        await this.notify({ document, version, state: stored.state });
        return { version, created: true };
      }
    }
  }

  /** `storeVersion` on the worker's own connection (PostgreSQL), or here with the worker merging (PGlite). */
  private store(request: StoreRequest): Promise<StoreOutcome> {
    if (this.worker.stores) return this.worker.store(request);
    return storeVersion(this.db, request, (parts) => this.worker.encode(parts));
  }

  /** Stops the worker thread and its connection (shutdown). */
  close(): Promise<void> {
    return this.worker.close();
  }

  private async existing(version: VersionInfo, request: VersionRequest): Promise<TakenVersion> {
    if (request.kind !== 'named') return { version, created: false };
    return { version: await labelVersion(this.db, version.id, request.label, request.createdBy), created: false };
  }

  private async notify(event: StoredVersionEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener.versionStored(event);
      } catch (error) {
        this.logger.warn(
          { err: error, document: event.document.name, version: event.version.version },
          'a version listener failed; the version is stored',
        );
      }
    }
  }
}
