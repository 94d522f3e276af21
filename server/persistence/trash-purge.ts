/**
 * The periodic purge of the trash: documents deleted more than TRASH_RETENTION_DAYS ago go
 * for good, with their log, versions and aliases (document-lifecycle.ts `purgeTrash`). Every
 * instance runs it; the statement takes only rows no other instance has locked, so two
 * purges at once split the work instead of repeating it. Time is the server's Clock.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { beforeDeadline } from './deadline.js';
import type { Db } from './db.js';
import { purgeTrash } from './document-lifecycle.js';

/** How often the trash is looked at. Retention is counted in days: an hour late is nothing. */
export const TRASH_PURGE_INTERVAL_MS = 60 * 60_000;
/** The first look comes this long after start, out of the way of a starting server's work. */
export const TRASH_PURGE_FIRST_DELAY_MS = 60_000;
/** Documents deleted per statement: each one's cascade (log, versions) stays a bounded transaction. */
export const TRASH_PURGE_BATCH = 50;

const DAY_MS = 86_400_000;

export interface TrashPurgeOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retentionDays: number;
}

export class TrashPurge {
  private readonly cancelFirst: () => void;
  private readonly cancelEvery: () => void;
  /** The purge running now (one at a time); its rejections are handled where it starts. */
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(private readonly options: TrashPurgeOptions) {
    this.cancelFirst = options.clock.after(TRASH_PURGE_FIRST_DELAY_MS, () => this.purgeInBackground());
    this.cancelEvery = options.clock.every(TRASH_PURGE_INTERVAL_MS, () => this.purgeInBackground());
  }

  /**
   * Purges what is due now, in batches until none is left (or the purge is stopped); the
   * running purge if there is one. Resolves with the number of documents purged.
   */
  purgeNow(): Promise<number> {
    this.running ??= this.purge().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** No purge starts after this; a running one may finish until `deadline` (performance.now() clock). */
  async stop(deadline: number): Promise<void> {
    this.stopped = true;
    this.cancelFirst();
    this.cancelEvery();
    if (this.running)
      await beforeDeadline(
        this.running.then(
          () => undefined,
          () => undefined,
        ),
        deadline,
        undefined,
      );
  }

  private purgeInBackground(): void {
    if (this.stopped) return;
    this.purgeNow().catch((error: unknown) =>
      this.options.logger.warn({ err: error }, 'purging the trash failed; it is tried again at the next interval'),
    );
  }

  private async purge(): Promise<number> {
    const { db, clock, logger, retentionDays } = this.options;
    const cutoff = new Date(clock.now() - retentionDays * DAY_MS);
    let purged = 0;
    for (;;) {
      if (this.stopped) break;
      const ids = await purgeTrash(db, cutoff, TRASH_PURGE_BATCH);
      purged += ids.length;
      if (ids.length < TRASH_PURGE_BATCH) break;
    }
    if (purged > 0) logger.info({ purged, deletedBefore: cutoff.toISOString() }, 'purged documents from the trash');
    return purged;
  }
}
