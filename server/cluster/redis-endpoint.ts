/**
 * Where Redis is (REDIS_URL): one server, `redis://…` or `rediss://…` (as ioredis reads
 * it), or a Redis Cluster, `redis-cluster://[user:password@]host:port[,host:port…]` —
 * a few of its nodes (any will do; the client discovers the rest). Pure: no I/O.
 */
export type RedisEndpoint =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly username: string | undefined;
      readonly password: string | undefined;
    };

const CLUSTER_SCHEME = 'redis-cluster://';

/** Throws an Error naming what is wrong. */
export function parseRedisEndpoint(value: string): RedisEndpoint {
  if (!value.startsWith(CLUSTER_SCHEME)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`REDIS_URL must be redis://host:port, rediss://… or ${CLUSTER_SCHEME}host:port,host:port, got "${value}"`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      throw new Error(`REDIS_URL: unknown scheme "${url.protocol}" (redis:, rediss: or redis-cluster:)`);
    return { kind: 'single', url: value };
  }
  let rest = value.slice(CLUSTER_SCHEME.length);
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) || undefined : undefined;
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const nodes = rest.split(',').map((node) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/?#\s]+):(\d{1,5})$/.exec(node.trim());
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) throw new Error(`REDIS_URL: "${node}" is not host:port (${CLUSTER_SCHEME}host:port,host:port)`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
  return { kind: 'cluster', nodes, username, password };
}
