import type { AppendMeta, CommitListener } from '../persistence/storage.js';
import type { UpdateOrigin } from './update-origin.js';

/** Something that waits for a room's stored updates to settle (acks). */
export interface DurabilityWaiter {
  durabilityAdvanced(): void;
}

/**
 * How far a room's stored updates have settled. Every update the room hands to storage
 * gets the next sequence number (`appended`); storage reports each one back exactly
 * once, in order, as committed or refused, which advances `settled`. An ack that was
 * queued when `appended` was n may go out once `settled >= n`: everything applied to
 * the document before it is then durable (or was refused and its sender told).
 */
export class Durability implements CommitListener {
  appended = 0;
  settled = 0;
  /**
   * Updates another instance relayed into this room that it has not yet announced as stored
   * (UnconfirmedUpdates keeps the count). While there are any, a local update that changes
   * nothing here may still hold something durable nowhere, so storage stores it again.
   */
  unconfirmedRemote = 0;
  /** Created on first use: most rooms of idle documents never wait for a commit. */
  private waiters: Set<DurabilityWaiter> | null = null;

  /** Registers a waiter to be told when `settled` next advances. */
  wait(waiter: DurabilityWaiter): void {
    (this.waiters ??= new Set()).add(waiter);
  }

  /** Resolves once update `seq` has settled (server-side writers such as a restore). */
  whenSettled(seq: number): Promise<void> {
    if (this.settled >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: DurabilityWaiter = {
        durabilityAdvanced: () => (this.settled >= seq ? resolve() : this.wait(waiter)),
      };
      this.wait(waiter);
    });
  }

  committed(count: number): void {
    this.settled += count;
    this.notify();
  }

  refused(meta: AppendMeta, error: Error): void {
    const seq = ++this.settled;
    // Rooms only ever append with an UpdateOrigin as the meta (see Room.store).
    (meta as UpdateOrigin).updateRefused(seq, error);
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    if (waiters === null || waiters.size === 0) return;
    // Waiters re-register (into a fresh set) if they still wait.
    this.waiters = null;
    for (const waiter of waiters) waiter.durabilityAdvanced();
  }
}
