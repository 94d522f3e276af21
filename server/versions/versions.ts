/**
 * Taking a version of a document: its full Yjs state, stored once per distinct state.
 *
 * Cheap first: the state's identity (state-identity.ts) is compared with the newest
 * version's before anything is encoded, so a version of an unchanged document costs a walk
 * over struct ids and one indexed query. Only a new state is encoded (synchronously, together
 * with its identity, so both describe the same moment of a live document) and inserted
 * (persistence/versions.ts: race-safe numbering, unique state per document).
 *
 * Naming the state that is already the newest version labels that version (it becomes a
 * named version; a label it had is replaced) instead of storing the same state again.
 */
import type { Logger } from 'pino';
import * as Y from 'yjs';
import type { Db } from '../../persistence/db.js';
import type { DocumentRef } from '../../persistence/storage.js';
import { insertVersion, labelVersion, latestVersion, type VersionInfo, type VersionKind } from '../../persistence/versions.js';
import { isEmptyState, sameHash, stateHash } from './state-identity.js';

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

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    listeners: readonly VersionListener[] = [],
  ) {
    this.listeners.push(...listeners);
  }

  /** Adds a listener (e.g. the research-tree projection), told of every version stored from now on. */
  listen(listener: VersionListener): void {
    this.listeners.push(listener);
  }

  /**
   * Takes a version of `doc` (a live room's, or any Y.Doc holding the document). An
   * automatic version of an empty document is not taken (null).
   */
  async take(document: DocumentRef, doc: Y.Doc, request: VersionRequest): Promise<TakenVersion | null> {
    if (request.kind === 'auto' && isEmptyState(doc)) return null;
    const latest = await latestVersion(this.db, document.id);
    if (latest !== null && sameHash(latest.hash, stateHash(doc))) return this.existing(latest, request);
    // One synchronous step: the state and its identity describe the same moment (the
    // document may have changed while the query above was out).
    const state = Y.encodeStateAsUpdate(doc);
    const hash = stateHash(doc);
    const inserted = await insertVersion(this.db, { documentId: document.id, kind: request.kind, label: request.label, createdBy: request.createdBy, state, hash });
    if (!inserted.created) return this.existing(inserted.version, request);
    await this.notify({ document, version: inserted.version, state });
    return inserted;
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
        this.logger.warn({ err: error, document: event.document.name, version: event.version.version }, 'a version listener failed; the version is stored');
      }
    }
  }
}
