import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import { openRedisConnection, type RedisConnection } from './redis-client.js';
import { parseRedisEndpoint } from './redis-endpoint.js';
import { RedisSubscriber } from './redis-subscriber.js';

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
  private readonly subscriber: RedisSubscriber;
  /** Redis Cluster: SPUBLISH/SSUBSCRIBE instead of PUBLISH/SUBSCRIBE. */
  private readonly sharded: boolean;
  private readonly reconnectListeners: (() => void)[] = [];

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.sharded = parseRedisEndpoint(url).kind === 'cluster';
    this.publisher = openRedisConnection(url, { waitWhileDown: false });
    // The catch-up exchange needs the publisher too: its outage is the bus's.
    this.subscriber = new RedisSubscriber(openRedisConnection(url, { waitWhileDown: true, shardedSubscribers: this.sharded }), {
      sharded: this.sharded,
      alongside: [this.publisher],
      logger,
      name: 'redis bus',
      onLost: (loss) => {
        if (loss.cause === 'error') logger.warn({ err: loss.error }, 'redis bus unreachable; edits stay local until it is back');
        else if (loss.cause === 'closed') logger.warn('redis bus connection closed; edits stay local until it is back');
        else logger.warn('redis bus: a shard subscriber was lost; catching up once it is back');
      },
      onBack: () => {
        logger.info('redis bus reachable again: catching up');
        for (const listener of this.reconnectListeners) listener();
      },
    });
  }

  private channel(document: string): string {
    return `${this.prefix}doc:{${document}}`;
  }

  async subscribe(document: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel(document), (message) =>
        onMessage(new Uint8Array(message.buffer, message.byteOffset, message.byteLength)),
      );
    } catch (error) {
      // Redis down: the document still opens; catch-up runs once the bus is back.
      this.logger.warn({ err: error, document }, 'bus subscribe failed');
    }
  }

  unsubscribe(document: string): void {
    this.subscriber.unsubscribe(this.channel(document));
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
    return this.subscriber.reachable;
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher.quit().catch(() => this.publisher.disconnect()), this.subscriber.close()]);
  }
}
