import type { Logger } from 'pino';
import type { RedisConnection } from './redis-client.js';

/** How an outage began. */
export type SubscriberLoss =
  | { readonly cause: 'error'; readonly error: Error }
  | { readonly cause: 'closed' }
  /** Sharded pub/sub: one shard's subscriber connection dropped while the cluster stayed ready. */
  | { readonly cause: 'shard-lost' };

export interface RedisSubscriberOptions {
  /** Redis Cluster sharded pub/sub: SSUBSCRIBE, and ioredis resubscribes each shard itself. */
  readonly sharded: boolean;
  /** Other connections whose outage counts as the subscriber's (the bus's publisher: its catch-up needs it). */
  readonly alongside?: readonly RedisConnection[];
  /** Once per outage, at its first sign (no connection may report an error: a clean close counts too). */
  readonly onLost: (loss: SubscriberLoss) => void;
  /** Once per outage, when every connection is ready again, after the channels were asked for again. */
  readonly onBack: () => void;
  readonly logger: Logger;
  /** Names the owner in log lines. */
  readonly name: string;
}

/**
 * A subscriber connection's channels and outages: the one reconnect state machine of the
 * Redis pub/sub users (the bus, access events). Pub/sub drops what is sent while a
 * connection is down, so the owner needs to know when an outage began and when it is over,
 * once each, to catch up.
 *
 * ioredis does not resubscribe on its own here (autoResubscribe off: see redis-client.ts):
 * on every 'ready' the channels are asked for again, before `onBack` runs, so a catch-up
 * exchange started there is answered on them.
 */
export class RedisSubscriber {
  /** What each subscribed channel's messages are handed to. */
  private readonly channels = new Map<string, (message: Buffer) => void>();
  private readonly alongside: readonly RedisConnection[];
  private down = false;

  /** `connection` is this object's own (it enters subscriber mode), closed by `close`. */
  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RedisSubscriberOptions,
  ) {
    this.alongside = options.alongside ?? [];
    for (const watched of [connection, ...this.alongside]) {
      watched.on('error', (error: Error) => this.lose({ cause: 'error', error }));
      watched.on('close', () => this.lose({ cause: 'closed' }));
    }
    for (const other of this.alongside) other.on('ready', () => this.backIfReady());
    connection.on('ready', () => {
      if (!options.sharded) this.resubscribe();
      this.backIfReady();
    });
    if (options.sharded) {
      connection.on('-subscriber', () => {
        if (connection.status === 'ready') this.lose({ cause: 'shard-lost' });
      });
      connection.on('subscribersReady', () => this.backIfReady());
    }
    connection.on(options.sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, message: Buffer) =>
      this.channels.get(channel.toString())?.(message),
    );
  }

  /** True from the first sign of an outage until every connection is ready again. */
  get lost(): boolean {
    return this.down;
  }

  /** Not lost, and the subscriber connection is up. */
  get reachable(): boolean {
    return !this.down && this.connection.status === 'ready';
  }

  /** Resolves once the channel's messages are being received (the command waits while Redis is down); rejects if it fails. */
  async subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<void> {
    this.channels.set(channel, onMessage);
    await (this.options.sharded ? this.connection.ssubscribe(channel) : this.connection.subscribe(channel));
  }

  /** Fire and forget: a failure is logged at debug (the channel is no longer asked for again either way). */
  unsubscribe(channel: string): void {
    this.channels.delete(channel);
    (this.options.sharded ? this.connection.sunsubscribe(channel) : this.connection.unsubscribe(channel)).catch((error: unknown) =>
      this.options.logger.debug({ err: error, channel }, `${this.options.name}: unsubscribe failed`),
    );
  }

  async close(): Promise<void> {
    // A connection that is not up would queue QUIT behind the SUBSCRIBE it holds for when Redis
    // is back, and wait forever: a subscriber has nothing to flush, so it is dropped.
    if (this.connection.status !== 'ready') {
      this.connection.disconnect();
      return;
    }
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  private lose(loss: SubscriberLoss): void {
    if (this.down) return;
    this.down = true;
    this.options.onLost(loss);
  }

  private backIfReady(): void {
    if (!this.down || this.connection.status !== 'ready' || this.alongside.some((other) => other.status !== 'ready')) return;
    this.down = false;
    this.options.onBack();
  }

  private resubscribe(): void {
    const channels = [...this.channels.keys()];
    if (channels.length === 0) return;
    this.connection
      .subscribe(...channels)
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: error, channels: channels.length },
          `${this.options.name}: resubscribe failed; retried on reconnect`,
        ),
      );
  }
}
