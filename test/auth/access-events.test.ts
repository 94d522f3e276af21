/**
 * One conformance suite for AccessEvents, run against both implementations: in process
 * (one instance: both "instances" share it) and Redis (real Redis at 127.0.0.1:6379, two
 * instances' objects on one channel under this run's own prefix).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { InProcessAccessEvents } from '../../server/auth/access-events.js';
import { RedisAccessEvents } from '../../server/cluster/redis-access-events.js';
import { REDIS_URL } from '../helpers/redis.js';
import { accessEventsConformance, warmUp, type AccessEventsPair } from './access-events-suite.js';

const logger = pino({ level: 'silent' });

const implementations: Array<[string, () => Promise<AccessEventsPair>]> = [
  [
    'in process',
    async () => {
      const shared = new InProcessAccessEvents();
      return { a: shared, b: shared, close: async () => {} };
    },
  ],
  [
    'redis',
    async () => {
      const prefix = `scr-access-${randomBytes(4).toString('hex')}:`;
      const connections: Redis[] = [];
      const connection = () => {
        const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
        connections.push(redis);
        return redis;
      };
      const a = new RedisAccessEvents(connection(), connection(), prefix, logger);
      const b = new RedisAccessEvents(connection(), connection(), prefix, logger);
      await warmUp(a, b);
      return {
        a,
        b,
        close: async () => {
          await Promise.all([a.close(), b.close()]);
          await Promise.all(connections.map((redis) => redis.quit().catch(() => redis.disconnect())));
        },
      };
    },
  ],
];

accessEventsConformance(implementations);
