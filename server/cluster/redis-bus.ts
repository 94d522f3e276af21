import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import { openRedisConnection, type RedisConnection } from './redis-client.js';
import { parseRedisEndpoint } from './redis-endpoint.js';

/**
 * The bus on Redis pub/sub: one publisher and one subscriber connection per instance,
 * one channel per document, `<prefix>doc:{<name>}` (the braces are the Redis Cluster
 * hash tag). One PUBLISH per message. On a Redis Cluster (`redis-cluster://…`) the same
 * channel is sharded pub/sub: one SPUBLISH per message, served by the shard that owns
 * the document's slot (with its keys), and SSUBSCRIBE through one subscriber connection
 * per shard (ioredis `shardedSubscribers`). Pub/sub drops what is sent while a
 * connection is down; `onReconnect` listeners run the catch-up exchange when it is back.
 */
export class RedisBus implements Bus {
  readonly instanceId = crypto.randomUUID();
  private readonly publisher: RedisConnection;
  private readonly subscriber: RedisConnection;
  /** Redis Cluster: SPUBLISH/SSUBSCRIBE instead of PUBLISH/SUBSCRIBE. */
  private readonly sharded: boolean;
  private readonly handlers = new Map<string, (data: Uint8Array) => void>();
  private readonly reconnectListeners: (() => void)[] = [];
  private lost = false;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.sharded = parseRedisEndpoint(url).kind === 'cluster';
    this.publisher = openRedisConnection(url, { waitWhileDown: false });
    this.subscriber = openRedisConnection(url, { waitWhileDown: true, shardedSubscribers: this.sharded });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: Error) => {
        if (!this.lost) logger.warn({ err: error }, 'redis bus unreachable; edits stay local until it is back');
        this.lost = true;
      });
      // A closed connection may report no error at all (the server went away cleanly).
      connection.on('close', () => {
        if (!this.lost) logger.warn('redis bus connection closed; edits stay local until it is back');
        this.lost = true;
      });
    }
    // ioredis resubscribes on its own after a reconnect; once both connections are back,
    // catch up what was missed (the exchange needs the publisher too).
    const back = () => {
      if (!this.lost || this.publisher.status !== 'ready' || this.subscriber.status !== 'ready') return;
      this.lost = false;
      logger.info('redis bus reachable again: catching up');
      for (const listener of this.reconnectListeners) listener();
    };
    this.publisher.on('ready', back);
    // ioredis does not resubscribe on its own (autoResubscribe off: see redis-client.ts); the
    // channels go back before the catch-up exchange asks anything on them.
    this.subscriber.on('ready', () => {
      if (!this.sharded) this.resubscribe();
      back();
    });
    if (this.sharded) {
      // A shard's subscriber connection can drop while the cluster as a whole stays
      // ready; ioredis replaces it and resubscribes, then says so.
      this.subscriber.on('-subscriber', () => {
        if (this.subscriber.status !== 'ready' || this.lost) return;
        logger.warn('redis bus: a shard subscriber was lost; catching up once it is back');
        this.lost = true;
      });
      this.subscriber.on('subscribersReady', back);
    }
    this.subscriber.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, message: Buffer) => {
      const handler = this.handlers.get(channel.toString());
      if (handler) handler(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
    });
  }

  private resubscribe(): void {
    const channels = [...this.handlers.keys()];
    if (channels.length === 0) return;
    this.subscriber.subscribe(...channels).catch((error: unknown) => this.logger.warn({ err: error, channels: channels.length }, 'bus resubscribe failed; retried on reconnect'));
  }

  private channel(document: string): string {
    return `${this.prefix}doc:{${document}}`;
  }

  async subscribe(document: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    const channel = this.channel(document);
    this.handlers.set(channel, onMessage);
    try {
      await (this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel));
    } catch (error) {
      // Redis down: the document still opens; catch-up runs once the bus is back.
      this.logger.warn({ err: error, document }, 'bus subscribe failed');
    }
  }

  unsubscribe(document: string): void {
    const channel = this.channel(document);
    this.handlers.delete(channel);
    (this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel)).catch((error: unknown) => this.logger.debug({ err: error, document }, 'bus unsubscribe failed'));
  }

  publish(document: string, data: Uint8Array, reached?: (subscribers: number) => void): void {
    const channel = this.channel(document);
    const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const sent = this.sharded ? this.publisher.spublish(channel, message) : this.publisher.publish(channel, message);
    (reached ? sent.then((subscribers) => reached(Number(subscribers))) : sent).catch(() => {
      // Lost while Redis is down; the catch-up exchange repairs it.
    });
  }

  /** `<prefix>instance:{<id>}` holds the count, with a TTL (a key, not a message: no PUBLISH beyond one per update). */
  announce(through: number, ttlMs: number): void {
    this.publisher.set(this.instanceKey(this.instanceId), String(through), 'PX', ttlMs).catch(() => {
      // Not renewed while Redis is down: the others hold on to what they have until they can read again.
    });
  }

  async announced(instanceId: string): Promise<number | null> {
    const value = await this.publisher.get(this.instanceKey(instanceId));
    return value === null ? null : Number(value);
  }

  private instanceKey(instanceId: string): string {
    return `${this.prefix}instance:{${instanceId}}`;
  }

  get healthy(): boolean {
    return !this.lost && this.subscriber.status === 'ready';
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher.quit().catch(() => this.publisher.disconnect()), this.subscriber.quit().catch(() => this.subscriber.disconnect())]);
  }
}
