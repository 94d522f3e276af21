import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Bus } from './bus.js';

/**
 * The bus on Redis pub/sub: one publisher and one subscriber connection per instance,
 * one channel per document, `<prefix>doc:{<name>}` (the braces are the Redis Cluster
 * hash tag). One PUBLISH per message. Pub/sub drops what is sent while a connection is
 * down; `onReconnect` listeners run the catch-up exchange when it is back.
 */
export class RedisBus implements Bus {
  readonly instanceId = crypto.randomUUID();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (data: Uint8Array) => void>();
  private readonly reconnectListeners: (() => void)[] = [];
  private lost = false;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: null });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error) => {
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
    this.subscriber.on('ready', back);
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const handler = this.handlers.get(channel.toString());
      if (handler) handler(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
    });
  }

  private channel(document: string): string {
    return `${this.prefix}doc:{${document}}`;
  }

  async subscribe(document: string, onMessage: (data: Uint8Array) => void): Promise<void> {
    const channel = this.channel(document);
    this.handlers.set(channel, onMessage);
    try {
      await this.subscriber.subscribe(channel);
    } catch (error) {
      // Redis down: the document still opens; catch-up runs once the bus is back.
      this.logger.warn({ err: error, document }, 'bus subscribe failed');
    }
  }

  unsubscribe(document: string): void {
    const channel = this.channel(document);
    this.handlers.delete(channel);
    this.subscriber.unsubscribe(channel).catch((error: unknown) => this.logger.debug({ err: error, document }, 'bus unsubscribe failed'));
  }

  publish(document: string, data: Uint8Array): void {
    this.publisher.publish(this.channel(document), Buffer.from(data.buffer, data.byteOffset, data.byteLength)).catch(() => {
      // Lost while Redis is down; the catch-up exchange repairs it.
    });
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
