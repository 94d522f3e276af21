import type { Room } from './room.js';
import type { UpdateOrigin } from './update-origin.js';

/**
 * A feature that follows a room's life on this instance (the bus relay, automatic versions,
 * the research-tree projection). Every hook is optional. The registry and Room call each hook
 * on every extension in the order of one list (server.ts `roomExtensions` builds it and says
 * why that order). Hooks must not throw; those that return nothing must not block (queue
 * I/O, never await it there).
 *
 * What is not an extension, because everything else relies on it: storing an update is a
 * fixed step of `Room.apply` that runs before any `updateApplied` (so an extension sees the
 * update already numbered in `room.durability`), and the local fan-out is one that runs
 * after all of them.
 */
export interface RoomExtension {
  /** Before the document is read from storage (the bus subscribes, so nothing published meanwhile is missed). */
  load?(name: string): Promise<void>;
  /** The room is live: its stored state is loaded. */
  loaded?(room: Room): void;
  /**
   * The last holder released the room: it unloads once every returned promise settled (the
   * Y.Doc is intact until then). A join meanwhile keeps the room live. Must not reject.
   */
  unloading?(room: Room): Promise<void>;
  /** The room is gone (unloaded, evicted, or the registry closed); its Y.Doc is destroyed next. */
  gone?(room: Room): void;
  /**
   * Asked before an update is applied, after storage admitted it; false refuses it unapplied
   * (`full`). Only an extension that can run out of room implements it.
   */
  admits?(update: Uint8Array, origin: UpdateOrigin): boolean;
  /**
   * An update changed the room's Y.Doc and was handed to storage (unless remote). `frame` is
   * the local sender's own Update frame when it can be relayed unchanged, else null.
   */
  updateApplied?(room: Room, update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null): void;
  /** An awareness update from a local client (or a local leaver's removal) was applied. */
  awarenessApplied?(room: Room, update: Uint8Array): void;
}

/**
 * One ordered list of extensions, split per hook once (per registry, not per room): a hook
 * costs only the extensions that implement it.
 */
export class RoomExtensions {
  private readonly loads: readonly RoomExtension[];
  private readonly loadeds: readonly RoomExtension[];
  private readonly unloadings: readonly RoomExtension[];
  private readonly gones: readonly RoomExtension[];
  private readonly gates: readonly RoomExtension[];
  private readonly appliers: readonly RoomExtension[];
  private readonly awarenessAppliers: readonly RoomExtension[];

  constructor(list: readonly RoomExtension[]) {
    this.loads = list.filter((extension) => extension.load !== undefined);
    this.loadeds = list.filter((extension) => extension.loaded !== undefined);
    this.unloadings = list.filter((extension) => extension.unloading !== undefined);
    this.gones = list.filter((extension) => extension.gone !== undefined);
    this.gates = list.filter((extension) => extension.admits !== undefined);
    this.appliers = list.filter((extension) => extension.updateApplied !== undefined);
    this.awarenessAppliers = list.filter((extension) => extension.awarenessApplied !== undefined);
  }

  /** Runs every `load` one after the other, in order. */
  async load(name: string): Promise<void> {
    for (const extension of this.loads) await extension.load!(name);
  }

  loaded(room: Room): void {
    for (const extension of this.loadeds) extension.loaded!(room);
  }

  /** True when some extension has work to finish before a room unloads. */
  get waitOnUnload(): boolean {
    return this.unloadings.length > 0;
  }

  /** Starts every `unloading` (in order) and settles when all have. */
  async unloading(room: Room): Promise<void> {
    await Promise.all(this.unloadings.map((extension) => extension.unloading!(room)));
  }

  gone(room: Room): void {
    for (const extension of this.gones) extension.gone!(room);
  }

  admits(update: Uint8Array, origin: UpdateOrigin): boolean {
    const gates = this.gates;
    for (let i = 0; i < gates.length; i++) if (!gates[i]!.admits!(update, origin)) return false;
    return true;
  }

  updateApplied(room: Room, update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null): void {
    const appliers = this.appliers;
    for (let i = 0; i < appliers.length; i++) appliers[i]!.updateApplied!(room, update, origin, frame);
  }

  awarenessApplied(room: Room, update: Uint8Array): void {
    const appliers = this.awarenessAppliers;
    for (let i = 0; i < appliers.length; i++) appliers[i]!.awarenessApplied!(room, update);
  }
}
