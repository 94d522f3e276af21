/**
 * One conformance suite for the Bus, run against both implementations: in process and
 * Redis pub/sub (real Redis at 127.0.0.1:6379, under this run's own channel prefix).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { RedisBus } from '../../server/cluster/redis-bus.js';
import { busConformance, type BusPair } from './bus-suite.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });

const implementations: Array<[string, BusPair]> = [
  [
    'in process',
    () => {
      const hub = new InProcessBusHub();
      return [hub.connect('a'), hub.connect('b')];
    },
  ],
  [
    'redis',
    () => {
      const prefix = `scr-bus-${randomBytes(4).toString('hex')}:`;
      return [new RedisBus(REDIS_URL, prefix, logger), new RedisBus(REDIS_URL, prefix, logger)];
    },
  ],
];
busConformance(implementations);
