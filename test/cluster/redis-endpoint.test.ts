/** REDIS_URL: one server or a Redis Cluster (`redis-cluster://host:port,…`); a bad value stops the start with a clear error. */
import { describe, expect, it } from 'vitest';
import { parseRedisEndpoint } from '../../server/cluster/redis-endpoint.js';
import { ConfigError, configFromEnv } from '../../server/config.js';

describe('parseRedisEndpoint', () => {
  it('takes redis:// and rediss:// URLs as one server, unchanged', () => {
    expect(parseRedisEndpoint('redis://redis:6379')).toEqual({ kind: 'single', url: 'redis://redis:6379' });
    expect(parseRedisEndpoint('rediss://user:pw@redis:6380/2')).toEqual({ kind: 'single', url: 'rediss://user:pw@redis:6380/2' });
  });

  it('takes redis-cluster:// with one or more nodes, credentials and IPv6 hosts', () => {
    expect(parseRedisEndpoint('redis-cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
    });
    expect(parseRedisEndpoint('redis-cluster://app:s%40cret@[::1]:7000/')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '::1', port: 7000 }],
      username: 'app',
      password: 's@cret',
    });
    expect(parseRedisEndpoint('redis-cluster://:pw@node:7000')).toMatchObject({ username: undefined, password: 'pw' });
  });

  it.each([
    ['http://redis:6379', /unknown scheme/],
    ['redis-cluster://', /is not host:port/],
    ['redis-cluster://a:7000,,b:7001', /"" is not host:port/],
    ['redis-cluster://a', /"a" is not host:port/],
    ['redis-cluster://a:70000', /"a:70000" is not host:port/],
    ['not a url', /REDIS_URL must be/],
  ])('refuses %s', (value, message) => {
    expect(() => parseRedisEndpoint(value)).toThrow(message);
  });

  it('configFromEnv refuses a bad REDIS_URL with a ConfigError and keeps a good one as given', () => {
    expect(() => configFromEnv({ REDIS_URL: 'redis-cluster://nope' })).toThrow(ConfigError);
    expect(configFromEnv({ REDIS_URL: 'redis-cluster://a:1,b:2' }).redisUrl).toBe('redis-cluster://a:1,b:2');
    expect(configFromEnv({}).redisUrl).toBeUndefined();
  });
});
