/**
 * Large incoming messages wait their turn. A large update (an agent flushing a generated
 * section) takes tens of milliseconds to integrate; fifty arriving in one event-loop turn
 * would run back to back while every keystroke read in the same turn waits seconds behind
 * them. So a message of `minBytes` or more is handled in a later turn, at most one such per
 * turn, and the connection's later messages queue behind it (each connection's order is
 * kept); everyone else's small messages go on at once in between.
 */

export interface QueuedConnection {
  /** Handles one message as the transport delivered it. */
  onMessage(data: Uint8Array, isBinary: boolean): void;
}

export interface LargeMessageLimits {
  /** A message this large or larger is handled in a turn of its own. */
  readonly minBytes: number;
  /** Bytes all connections may have waiting; past it a connection's message is refused (`overflow`). */
  readonly maxWaitingBytes: number;
}

export const DEFAULT_LARGE_MESSAGE_LIMITS: LargeMessageLimits = {
  minBytes: 256 * 1024,
  maxWaitingBytes: 256 * 1024 * 1024,
};

interface Waiting<C> {
  readonly connection: C;
  readonly data: Uint8Array;
  readonly isBinary: boolean;
}

export class LargeMessageQueue<C extends QueuedConnection> {
  private waiting: Waiting<C>[] = [];
  private head = 0;
  private waitingBytes = 0;
  /** Messages waiting per connection: a connection with any must queue every later one too. */
  private readonly perConnection = new Map<C, number>();
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    /** The queue is full: the connection's message is not handled (close it; its client resyncs). */
    private readonly overflow: (connection: C) => void,
    /** A message handler threw (a bug: onMessage handles its own errors). */
    private readonly failed: (error: unknown) => void,
    private readonly limits: LargeMessageLimits = DEFAULT_LARGE_MESSAGE_LIMITS,
  ) {}

  /** `data` is only valid during the call (the transport's buffer): what waits is a copy. */
  offer(connection: C, data: Uint8Array, isBinary: boolean): void {
    const queued = this.perConnection.get(connection) ?? 0;
    if (queued === 0 && data.length < this.limits.minBytes) {
      connection.onMessage(data, isBinary);
      return;
    }
    if (this.waitingBytes + data.length > this.limits.maxWaitingBytes) {
      this.forget(connection);
      this.overflow(connection);
      return;
    }
    this.waiting.push({ connection, data: data.slice(), isBinary });
    this.waitingBytes += data.length;
    this.perConnection.set(connection, queued + 1);
    this.scheduled ??= setImmediate(this.drain);
  }

  /** The connection closed: what it had waiting is dropped. */
  forget(connection: C): void {
    if (!this.perConnection.delete(connection)) return;
    const kept: Waiting<C>[] = [];
    for (let i = this.head; i < this.waiting.length; i++) {
      const message = this.waiting[i]!;
      if (message.connection === connection) this.waitingBytes -= message.data.length;
      else kept.push(message);
    }
    this.waiting = kept;
    this.head = 0;
  }

  /** Messages waiting (tests, metrics). */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /** Handles waiting messages in order until one large one was handled, then yields the turn. */
  private readonly drain = (): void => {
    this.scheduled = null;
    while (this.head < this.waiting.length) {
      const message = this.waiting[this.head++]!;
      this.waitingBytes -= message.data.length;
      const left = (this.perConnection.get(message.connection) ?? 1) - 1;
      if (left === 0) this.perConnection.delete(message.connection);
      else this.perConnection.set(message.connection, left);
      try {
        message.connection.onMessage(message.data, message.isBinary);
      } catch (error) {
        // onMessage handles its own errors; anything left must not stop everyone else's messages.
        this.failed(error);
      }
      if (message.data.length >= this.limits.minBytes) break;
    }
    if (this.head >= this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else {
      this.scheduled = setImmediate(this.drain);
    }
  };

  /** Stops: nothing more is handled. */
  close(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.waiting = [];
    this.head = 0;
    this.waitingBytes = 0;
    this.perConnection.clear();
  }
}
