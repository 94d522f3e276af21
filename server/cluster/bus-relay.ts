import type { Logger } from 'pino';
import type { DocumentStorage } from '../persistence/storage.js';
import * as Y from 'yjs';
import { BusKind, decodeBusMessage, encodeBusMessage, type BusMessage } from '../codec/bus-codec.js';
import type { Clock } from '../clock.js';
import { beforeDeadline } from '../persistence/deadline.js';
import { AWARENESS_EXPIRE_MS, AWARENESS_SWEEP_MS, type AwarenessOwner } from '../rooms/awareness-table.js';
import type { RoomExtension } from '../rooms/room-extension.js';
import type { Room } from '../rooms/room.js';
import { remoteOrigin, type RemoteOrigin, type UpdateOrigin } from '../rooms/update-origin.js';
import type { Bus } from './bus.js';
import { PublishedUpdates, UnconfirmedUpdates } from './relay-durability.js';

/** An update with nothing in it (what encodeStateAsUpdate gives when nothing is missing). */
const NOTHING = 2;
/** How often an instance announces how far its published updates are stored (and checks the others'). */
export const ANNOUNCE_EVERY_MS = 1_000;
/** An announcement lapses after this long: the instance is presumed dead, and what it left unconfirmed is stored by the others. */
export const SILENT_AFTER_MS = 3_000;

/**
 * Keeps a document's copies on several instances in step over the bus, in one hop:
 * - every update this instance accepted (local or server origin) is published once, as
 *   it is applied; the others apply it with the remote origin, fan it out to their
 *   clients and do not store it (the accepting instance does);
 * - awareness of local clients likewise;
 * - catch-up: a room subscribes before it loads, then asks the other instances for what
 *   it lacks (its state vector); each answers with the difference and its own state
 *   vector, from which the asker sends back what they lack, and with its current
 *   awareness states (sent before the asker subscribed, and renewed only every 15 s). The same exchange, plus a
 *   re-read of the stored state, runs for every live room when the bus connection comes
 *   back, since pub/sub drops messages while disconnected;
 * - durability of what is relayed before its sender committed it (relay-durability.ts):
 *   each instance announces every ANNOUNCE_EVERY_MS how far its published updates are
 *   stored (the announcement lapses after SILENT_AFTER_MS); the others keep what it
 *   relayed until its announcement covers it, and store it themselves once the
 *   announcement lapsed (it died between relaying and committing);
 * - no publishing to nobody: while the bus reports that a document's messages reach no
 *   subscriber but this instance, its updates and awareness are not published (a single
 *   instance with Redis configured then costs what one without does). Any message from
 *   another instance on the channel — a newcomer's catch-up request comes first — ends
 *   that at once, and the catch-up reply carries everything the newcomer lacks.
 */
/** An instance whose clients' awareness this one holds. */
interface AwarenessSource {
  /** Its announcement lapsed: its client ids may be taken over by connections here. */
  gone: boolean;
  /** When its last awareness message came. */
  heardAt: number;
  checking: boolean;
}

/** A live room and what this instance knows of the document's other holders. */
interface Link {
  readonly room: Room;
  /** Our last message reached no other instance, and none was heard from since it was sent. */
  alone: boolean;
  /** Messages heard from other instances: a publish's audience is stale once this moved. */
  heard: number;
}

export class BusRelay implements RoomExtension {
  private readonly links = new Map<string, Link>();
  private readonly origin: RemoteOrigin;
  /** Owner of the awareness states relayed from other instances (they expire by time: expireAwareness). */
  private readonly remoteAwareness = new Map<string, AwarenessOwner>();
  private readonly published = new PublishedUpdates();
  private readonly unconfirmed: UnconfirmedUpdates;
  private readonly stopAnnouncing: () => void;
  /** Senders whose announcement is being read (one read each at a time). */
  private readonly lookingUp = new Set<string>();
  /**
   * Instances whose clients' awareness this one holds: whether each has gone silent (its
   * announcement lapsed: killed or cut off), checked every ANNOUNCE_EVERY_MS. A silent
   * one's clients reconnect elsewhere and may take their client ids with them.
   */
  private readonly awarenessSources = new Map<string, AwarenessSource>();
  private readonly sourceGone = (instanceId: string): boolean => this.awarenessSources.get(instanceId)?.gone ?? true;

  constructor(
    private readonly bus: Bus,
    private readonly storage: Pick<DocumentStorage, 'load' | 'append' | 'flush'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.origin = remoteOrigin(bus.instanceId);
    this.unconfirmed = new UnconfirmedUpdates(storage, logger);
    bus.onReconnect(() => {
      for (const link of this.links.values()) this.catchUp(link);
    });
    this.stopAnnouncing = clock.every(ANNOUNCE_EVERY_MS, () => this.announceAndCheck());
  }

  /**
   * Graceful stop: storage is flushed first, so the last announcement confirms everything this
   * instance published (the others then keep nothing of ours); then silence. What the flush
   * does not commit by `deadline` (performance.now() clock) is left out of the announcement.
   */
  async close(deadline: number): Promise<void> {
    const flushed = this.storage
      .flush()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'relay: flush before the last announcement failed'));
    await beforeDeadline(flushed, deadline, undefined);
    this.stopAnnouncing();
    this.bus.announce(this.published.durableThrough(), SILENT_AFTER_MS);
  }

  private announceAndCheck(): void {
    this.bus.announce(this.published.durableThrough(), SILENT_AFTER_MS);
    this.checkAwarenessSources();
    for (const sender of this.unconfirmed.waitingOn()) {
      if (this.lookingUp.has(sender)) continue;
      this.lookingUp.add(sender);
      this.bus
        .announced(sender)
        .then(
          (through) => this.unconfirmed.announced(sender, through, this.clock.now(), SILENT_AFTER_MS),
          (error: unknown) => this.logger.debug({ err: error, sender }, 'relay: announcement not readable; kept until it is'),
        )
        .catch((error: unknown) => this.logger.error({ err: error, sender }, 'relay: storing unconfirmed updates failed'))
        .finally(() => this.lookingUp.delete(sender));
    }
  }

  /**
   * After the bus was down: what the others hold (the exchange), and what was stored
   * meanwhile by instances that have since let the document go (the log tail). The
   * stored state is applied with the remote origin: it is in the database already.
   */
  private catchUp(link: Link): void {
    const room = link.room;
    this.requestSync(link);
    this.storage
      .load(room)
      .then(
        (stored) => {
          if (stored.state && this.links.get(room.name) === link && !room.poisoned) room.apply(stored.state, this.origin);
        },
        (error: unknown) => this.logger.warn({ err: error, document: room.name }, 'bus catch-up: reloading the stored state failed'),
      )
      .catch((error: unknown) => this.logger.warn({ err: error, document: room.name }, 'bus catch-up: applying the stored state failed'));
  }

  // --- A room's life (RoomExtension) ----------------------------------------------

  /** Subscribes before the document is read from storage, so nothing published meanwhile is missed. */
  load(name: string): Promise<void> {
    return this.bus.subscribe(name, (data) => this.received(name, data));
  }

  /** The room is live: catch up with the other instances' copies. */
  loaded(room: Room): void {
    const link: Link = { room, alone: false, heard: 0 };
    this.links.set(room.name, link);
    this.requestSync(link);
  }

  gone(room: Room): void {
    if (this.links.get(room.name)?.room !== room) return;
    this.links.delete(room.name);
    this.remoteAwareness.delete(room.name);
    this.bus.unsubscribe(room.name);
  }

  updateApplied(room: Room, update: Uint8Array, origin: UpdateOrigin): void {
    if (origin.kind === 'remote') return; // one hop: never relayed again
    // Room.apply stored it first: the update is the room's latest appended one. Counted even
    // when not sent: a later catch-up reply carries it, numbered as the published count.
    const seq = this.published.record(room.durability);
    const link = this.links.get(room.name);
    if (link?.alone) return;
    this.publish(link, room.name, encodeBusMessage(BusKind.Update, this.bus.instanceId, seq, update));
  }

  awarenessApplied(room: Room, update: Uint8Array): void {
    const link = this.links.get(room.name);
    if (link?.alone) return;
    this.publish(link, room.name, encodeBusMessage(BusKind.Awareness, this.bus.instanceId, 0, update));
  }

  /** Publishes, and learns from the reply whether anyone else holds the document. */
  private publish(link: Link | undefined, name: string, message: Uint8Array): void {
    if (!link) {
      this.bus.publish(name, message);
      return;
    }
    const heardAtSend = link.heard;
    this.bus.publish(name, message, (subscribers) => {
      // Only our own subscription, and nobody spoke on the channel since: alone.
      if (this.links.get(name) === link) link.alone = subscribers <= 1 && link.heard === heardAtSend;
    });
  }

  // --- Incoming -------------------------------------------------------------------

  private received(name: string, data: Uint8Array): void {
    let message: BusMessage;
    try {
      message = decodeBusMessage(data);
    } catch (error) {
      this.logger.warn({ err: error, document: name }, 'bus: undecodable message ignored');
      return;
    }
    if (message.from === this.bus.instanceId) return;
    const link = this.links.get(name);
    if (link) {
      // Another instance holds the document: publish again (its catch-up request, first
      // of all, is answered with everything it lacks).
      link.heard++;
      link.alone = false;
    }
    if (message.to !== '' && message.to !== this.bus.instanceId) return;
    // Before the room is live, catch-up after the load brings whatever this missed.
    const room = link?.room;
    if (!room || room.poisoned) return;
    try {
      switch (message.kind) {
        case BusKind.Update:
          room.apply(message.payload, this.origin);
          this.unconfirmed.retain(message.from, message.seq, room, message.payload, this.clock.now());
          return;
        case BusKind.Awareness: {
          // Bounded as a client's (state size, states and bytes per document) and expiring by
          // time; only what was kept reaches the local clients.
          this.heardAwarenessFrom(message.from);
          const kept = room.awareness.receive(message.payload, this.remoteOwner(name), this.clock.now(), message.from);
          if (kept !== null) room.fanOut.awareness(kept, null, null);
          return;
        }
        case BusKind.SyncRequest: {
          const missing = room.missingFrom(message.payload);
          this.bus.publish(
            name,
            encodeBusMessage(
              BusKind.SyncReply,
              this.bus.instanceId,
              this.published.published,
              missing,
              Y.encodeStateVector(room.doc),
              message.from,
            ),
          );
          // The asker missed the awareness sent before it subscribed: the current states, once.
          const states = room.awareness.localSnapshot();
          if (states) this.bus.publish(name, encodeBusMessage(BusKind.Awareness, this.bus.instanceId, 0, states));
          return;
        }
        case BusKind.SyncReply: {
          if (message.payload.byteLength > NOTHING) {
            room.apply(message.payload, this.origin);
            // It may hold what the replier has not stored yet (its own recent edits).
            this.unconfirmed.retain(message.from, message.seq, room, message.payload, this.clock.now());
          }
          const theyLack = room.missingFrom(message.extra);
          if (theyLack.byteLength > NOTHING)
            this.publish(link, name, encodeBusMessage(BusKind.Update, this.bus.instanceId, this.published.published, theyLack));
          return;
        }
      }
    } catch (error) {
      this.logger.warn({ err: error, document: name, kind: message.kind, from: message.from }, 'bus: message could not be applied');
    }
  }

  private requestSync(link: Link): void {
    this.publish(link, link.room.name, encodeBusMessage(BusKind.SyncRequest, this.bus.instanceId, 0, Y.encodeStateVector(link.room.doc)));
  }

  private heardAwarenessFrom(instanceId: string): void {
    const source = this.awarenessSources.get(instanceId);
    if (source) {
      source.gone = false;
      source.heardAt = this.clock.now();
    } else {
      this.awarenessSources.set(instanceId, { gone: false, heardAt: this.clock.now(), checking: false });
    }
  }

  /** Reads the announcement of every instance whose clients' awareness is held here (one read each at a time). */
  private checkAwarenessSources(): void {
    const now = this.clock.now();
    for (const [instanceId, source] of this.awarenessSources) {
      // Nothing heard for longer than any state lives: nothing of it is held any more.
      if (now - source.heardAt > AWARENESS_EXPIRE_MS + AWARENESS_SWEEP_MS) {
        this.awarenessSources.delete(instanceId);
        continue;
      }
      if (source.checking) continue;
      source.checking = true;
      this.bus
        .announced(instanceId)
        .then(
          (through) => {
            // Silent: no announcement, and nothing heard from it for as long as one lasts (an
            // instance that just started relays before its first announcement).
            source.gone = through === null && this.clock.now() - source.heardAt > SILENT_AFTER_MS;
          },
          (error: unknown) =>
            this.logger.debug({ err: error, instance: instanceId }, 'relay: announcement not readable; awareness ownership unchanged'),
        )
        .finally(() => {
          source.checking = false;
        });
    }
  }

  private remoteOwner(name: string): AwarenessOwner {
    let owner = this.remoteAwareness.get(name);
    if (!owner)
      this.remoteAwareness.set(name, (owner = { awarenessClients: null, awarenessRemote: true, awarenessSourceGone: this.sourceGone }));
    return owner;
  }
}
