/**
 * Session ids for the collaborations log: unique per connection across instances and
 * restarts (random per-process prefix) and cheap. `crypto.randomUUID()` per connection
 * left a large share of an idle connection's JavaScript footprint behind (Node builds the
 * string by concatenation; `node --expose-gc dist/bench/memory-footprint.js`, BENCHMARKS.md
 * "Idle connections").
 */
const PROCESS_PREFIX = crypto.randomUUID();
let counter = 0;

export function nextSessionId(): string {
  return `${PROCESS_PREFIX}:${(++counter).toString(36)}`;
}
