import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { InProcessAccessEvents, type AccessEvent, type AccessEvents } from '../auth/access-events.js';
import { decodeAccessMessage, encodeAccessMessage } from '../codec/access-event-codec.js';
import type { RedisConnection } from './redis-client.js';
import { RedisSubscriber } from './redis-subscriber.js';

/** Events kept while Redis cannot take them; beyond this, one `recheck-all` replaces them all. */
const MAX_UNSENT = 1_000;

/**
 * Access events (revoked sessions, removed or changed memberships) shared by every
 * instance over one Redis channel, `<prefix>access`: a plain PUBLISH/SUBSCRIBE channel,
 * which Redis Cluster also delivers to every node's subscribers. An event reaches this
 * instance's listeners at once (also while Redis is down), and the other instances'
 * through Redis; each instance ignores its own echo.
 *
 * While Redis is unreachable (logged):
 * - events this instance publishes are kept (at most MAX_UNSENT; beyond that one
 *   `recheck-all` stands for them) and sent once the publisher is back;
 * - events others publish cannot reach it: once its subscriber connection is back it
 *   delivers `recheck-all` to its own listeners, so every live session checks its access
 *   again (what it may have missed is read from PostgreSQL and the session store).
 */
export class RedisAccessEvents implements AccessEvents {
  readonly instanceId = randomUUID();
  private readonly local = new InProcessAccessEvents();
  private readonly channel: string;
  private readonly subscriber: RedisSubscriber;
  private unsent: AccessEvent[] = [];

  /**
   * `publisher` is shared (the caller closes it); `subscriber` is this object's own
   * connection (it enters subscriber mode), closed by `close`.
   */
  constructor(
    private readonly publisher: RedisConnection,
    subscriber: RedisConnection,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}access`;
    this.subscriber = new RedisSubscriber(subscriber, {
      sharded: false,
      logger,
      name: 'access events',
      onLost: () =>
        logger.warn(
          'access events of other instances are not received while redis is unreachable; every live session is checked again once it is back',
        ),
      onBack: () => {
        logger.info('access events: redis reachable again; checking every live session');
        this.local.publish({ type: 'recheck-all' });
        this.sendUnsent();
      },
    });
    this.subscriber
      .subscribe(this.channel, (message) => this.received(message.toString()))
      .catch((error: unknown) => logger.warn({ err: error }, 'access events: subscribe failed; retried on reconnect'));
    publisher.on('ready', () => {
      if (!this.subscriber.lost) this.sendUnsent();
    });
  }

  publish(event: AccessEvent): void {
    this.local.publish(event);
    this.send(event);
  }

  subscribe(listener: (event: AccessEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.subscriber.close();
  }

  private send(event: AccessEvent): void {
    this.publisher
      .publish(this.channel, encodeAccessMessage(this.instanceId, event))
      .then(
        () => this.sendUnsent(),
        (error: unknown) => {
          this.keep(event);
          this.logger.warn(
            { err: error, event: event.type },
            'access event not sent to the other instances: redis unreachable; it is sent once redis is back',
          );
        },
      )
      .catch((error: unknown) => this.logger.error({ err: error }, 'access events: sending failed'));
  }

  private keep(event: AccessEvent): void {
    if (this.unsent[0]?.type === 'recheck-all') return; // stands for everything already
    if (event.type === 'recheck-all' || this.unsent.length >= MAX_UNSENT) this.unsent = [{ type: 'recheck-all' }];
    else this.unsent.push(event);
  }

  private sendUnsent(): void {
    if (this.unsent.length === 0) return;
    const events = this.unsent;
    this.unsent = [];
    this.logger.info({ events: events.length }, 'access events: sending what redis could not take');
    for (const event of events) this.send(event);
  }

  private received(message: string): void {
    try {
      const { from, event } = decodeAccessMessage(message);
      if (from !== this.instanceId) this.local.publish(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'access events: undecodable message ignored');
    }
  }
}
