/**
 * Work that follows changes, per key (a document): it runs a quiet period after the key's
 * last change, and at the latest a maximum delay after its first unhandled change, so
 * continuous editing still gets it done now and then. One run at a time per key; a key
 * changed while its run goes on is scheduled again once the run ends, and whatever a run
 * leaves unhandled (a lock held elsewhere, a failure) is tried again.
 *
 * Per key at most one timer, and no timer work per change: a change only stamps its entry;
 * when the timer fires it works out from the stamps when the run is due and either runs or
 * sleeps until then.
 *
 * The table is bounded (`maxKeys`). When it is full a new key is refused — `changed`
 * returns null and nothing is scheduled for it — and is considered again at its next
 * change; keys already in keep going. The caller says what that costs (automatic versions,
 * the tree projection: taken or refreshed later).
 */
import type { Clock } from './clock.js';

/** How a run ended, as the task reports it. */
export type RunOutcome =
  /** The changes made before the run started are handled. */
  | 'done'
  /** Nothing more to do for this key, whatever changed meanwhile: it leaves the table. */
  | 'drop'
  /** Not handled (the lock is held elsewhere, a failure): run again, no sooner than this, its changes still unhandled. */
  | { readonly retryInMs: number };

/** Why a run started: `due` (its timer) or `flush` (the caller asked for it now: a room closing, shutdown). */
export type RunReason = 'due' | 'flush';

export interface QuietPeriodOptions<K, S> {
  readonly clock: Clock;
  /** A run is due this long after the key's last change… */
  readonly quietMs: number;
  /** …or this long after its first unhandled change, whichever comes first. */
  readonly maxDelayMs: number;
  /** Keys in the table at most; beyond it new keys are refused (see the module comment). */
  readonly maxKeys: number;
  /** Told each time a new key is refused because the table is full. */
  readonly full: (key: K) => void;
  /** The state of a key entering the table. */
  readonly create: (key: K) => S;
  /** Told when a key leaves the table (handled, dropped, forgotten, closed with `dropPending`). */
  readonly removed?: (key: K, state: S) => void;
  /** The work. It may reject: `failed` then says what follows. */
  readonly run: (key: K, state: S, reason: RunReason) => Promise<RunOutcome>;
  /** A run rejected; the answer says what follows (typically a retry, after logging). Must not throw. */
  readonly failed: (key: K, state: S, error: unknown) => RunOutcome;
}

interface Entry<K, S> {
  readonly key: K;
  /** What the caller keeps per key (the document, who edited it…). */
  readonly state: S;
  /** Changes recorded; `handled` of them are done. */
  changes: number;
  handled: number;
  /** Time of the first change not handled yet, and of the last change. */
  firstUnhandledAt: number;
  lastChangeAt: number;
  /** Changes up to this count are due at once (`changedDueNow`). */
  urgentUpTo: number;
  cancelTimer: (() => void) | null;
  running: Promise<void> | null;
  /** While running: `changes` when it started, and the time of the first change since. */
  startedWith: number;
  firstSinceStartAt: number;
}

export class QuietPeriodScheduler<K, S> {
  private readonly entries = new Map<K, Entry<K, S>>();
  /** Runs going on, including those of keys that left the table: `close` waits for them. */
  private readonly runs = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: QuietPeriodOptions<K, S>) {}

  /**
   * Records a change of `key` (entering the table if it is not in it) and returns the key's
   * state, or null when refused (the table is full; or closed, and the key not in it). The
   * hot path: a Map lookup and a few stamps.
   */
  changed(key: K): S | null {
    const entry = this.stamped(key);
    if (entry !== null && entry.running === null && entry.cancelTimer === null) this.arm(entry, this.options.quietMs);
    return entry?.state ?? null;
  }

  /** `changed`, for a change due at once (the document closed): it runs now, or right after the run going on. */
  changedDueNow(key: K): S | null {
    const entry = this.stamped(key);
    if (entry === null) return null;
    entry.urgentUpTo = entry.changes;
    if (entry.running === null) this.arm(entry, 0);
    return entry.state;
  }

  /**
   * Schedules a run of `key` a quiet period from now without recording a change (a check,
   * e.g. that a loaded document is versioned), unless the key is already in the table.
   */
  check(key: K): void {
    if (this.closed || this.entries.has(key)) return;
    const entry = this.add(key, this.options.clock.now());
    if (entry !== null) this.arm(entry, this.options.quietMs);
  }

  /**
   * Runs `key` now (reason `flush`) instead of waiting: its timer is cancelled; a run going
   * on is waited for instead of starting another; a key without unhandled changes just leaves
   * the table. Resolves when that is done; never rejects. Works after `close` too (a caller
   * that writes what is pending at shutdown).
   */
  flush(key: K): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return Promise.resolve();
    this.disarm(entry);
    if (entry.running !== null) return entry.running;
    if (entry.changes === entry.handled) {
      this.remove(entry);
      return Promise.resolve();
    }
    return this.start(entry, 'flush');
  }

  /**
   * Takes `key` out of the table: no timer, and a run going on changes nothing after it
   * ends (the key may enter again meanwhile, as a new entry).
   */
  forget(key: K): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }

  /**
   * Stops: no key is added and no timer is armed from now on, the armed ones are cancelled,
   * and the runs going on are waited for. With `dropPending` the table is emptied first;
   * without, what is pending stays for `flush`.
   */
  async close(options: { readonly dropPending: boolean }): Promise<void> {
    this.closed = true;
    for (const entry of this.entries.values()) this.disarm(entry);
    if (options.dropPending) for (const entry of [...this.entries.values()]) this.remove(entry);
    await Promise.all([...this.runs]);
  }

  /** Keys in the table (pending, running or waiting for a retry). */
  get size(): number {
    return this.entries.size;
  }

  keys(): K[] {
    return [...this.entries.keys()];
  }

  private stamped(key: K): Entry<K, S> | null {
    const now = this.options.clock.now();
    // Once closed, changes of keys in the table still count (for `flush`); new keys are refused.
    const entry = this.entries.get(key) ?? (this.closed ? null : this.add(key, now));
    if (entry === null) return null;
    if (entry.changes === entry.handled) entry.firstUnhandledAt = now;
    if (entry.running !== null && entry.changes === entry.startedWith) entry.firstSinceStartAt = now;
    entry.changes++;
    entry.lastChangeAt = now;
    return entry;
  }

  private add(key: K, now: number): Entry<K, S> | null {
    if (this.entries.size >= this.options.maxKeys) {
      this.options.full(key);
      return null;
    }
    const entry: Entry<K, S> = {
      key,
      state: this.options.create(key),
      changes: 0,
      handled: 0,
      firstUnhandledAt: now,
      lastChangeAt: now,
      urgentUpTo: 0,
      cancelTimer: null,
      running: null,
      startedWith: 0,
      firstSinceStartAt: now,
    };
    this.entries.set(key, entry);
    return entry;
  }

  private arm(entry: Entry<K, S>, delayMs: number): void {
    if (this.closed) return;
    this.disarm(entry);
    entry.cancelTimer = this.options.clock.after(Math.max(0, delayMs), () => this.fire(entry));
  }

  private disarm(entry: Entry<K, S>): void {
    entry.cancelTimer?.();
    entry.cancelTimer = null;
  }

  private fire(entry: Entry<K, S>): void {
    entry.cancelTimer = null;
    if (this.closed || entry.running !== null || this.entries.get(entry.key) !== entry) return;
    if (entry.changes > entry.handled && entry.urgentUpTo <= entry.handled) {
      const { quietMs, maxDelayMs } = this.options;
      const due = Math.min(entry.lastChangeAt + quietMs, entry.firstUnhandledAt + maxDelayMs);
      const wait = due - this.options.clock.now();
      if (wait > 0) {
        this.arm(entry, wait);
        return;
      }
    }
    void this.start(entry, 'due');
  }

  /** One run as the entry's owned promise; it never rejects. */
  private start(entry: Entry<K, S>, reason: RunReason): Promise<void> {
    entry.startedWith = entry.changes;
    const running = this.outcome(entry, reason)
      .catch((error: unknown) => this.options.failed(entry.key, entry.state, error))
      // `failed` must not throw; if it does anyway nothing says what follows, so the key goes.
      .catch((): RunOutcome => 'drop')
      .then((outcome) => this.settle(entry, outcome))
      .finally(() => this.runs.delete(running));
    entry.running = running;
    this.runs.add(running);
    return running;
  }

  /** The task's outcome; a task that throws instead of rejecting counts as rejecting. */
  private async outcome(entry: Entry<K, S>, reason: RunReason): Promise<RunOutcome> {
    return this.options.run(entry.key, entry.state, reason);
  }

  private settle(entry: Entry<K, S>, outcome: RunOutcome): void {
    entry.running = null;
    const key = entry.key;
    if (this.entries.get(key) !== entry) return; // forgotten meanwhile
    if (outcome === 'drop') {
      this.remove(entry);
      return;
    }
    if (outcome !== 'done') {
      this.arm(entry, outcome.retryInMs);
      return;
    }
    entry.handled = entry.startedWith;
    if (entry.changes === entry.handled) {
      this.remove(entry);
      return;
    }
    // Changed while it ran: those changes wait for the next run.
    entry.firstUnhandledAt = entry.firstSinceStartAt;
    this.arm(entry, entry.urgentUpTo > entry.handled ? 0 : this.options.quietMs);
  }

  private remove(entry: Entry<K, S>): void {
    this.disarm(entry);
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.options.removed?.(entry.key, entry.state);
  }
}
