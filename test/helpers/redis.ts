/**
 * Redis for tests: the shared server at 127.0.0.1:6379 (TEST_REDIS_URL), under a key
 * prefix of this suite's own, removed afterwards with SCAN + DEL (never FLUSHALL).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  readonly prefix: string;
  /** A new client with the prefix (closed by cleanup). */
  client(): Redis;
  /** Deletes the prefix's keys and closes the clients. */
  cleanup(): Promise<void>;
}

export function testRedis(): TestRedis {
  const prefix = `scr-test-${randomBytes(4).toString('hex')}:`;
  const clients: Redis[] = [];
  return {
    prefix,
    client() {
      const client = new Redis(REDIS_URL, { keyPrefix: prefix });
      clients.push(client);
      return client;
    },
    async cleanup() {
      const cleaner = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await cleaner.del(...keys);
      } while (cursor !== '0');
      await cleaner.quit();
      await Promise.all(clients.map((client) => client.quit()));
    },
  };
}

/**
 * Closes a connection the way the server does: QUIT, which lets commands still in flight
 * (ioredis's own resubscription after a reconnect, whose promise nobody holds) get their
 * replies; a bare disconnect() would reject those as unhandled. Disconnects when QUIT fails
 * or takes longer than two seconds (Redis gone).
 */
export async function closeRedis(connection: { quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const quit = connection.quit().then(
    () => true,
    () => false,
  );
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2_000)));
  if (!(await Promise.race([quit, timeout]))) connection.disconnect();
  clearTimeout(timer);
}
