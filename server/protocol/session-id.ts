/**
 * Session ids for the collaborations log: unique per connection across instances and
 * restarts (random per-process prefix) and cheap. `crypto.randomUUID()` per connection
 * cost ~0.5 KB of heap each (Node builds the string by concatenation), a third of an
 * idle connection's JavaScript footprint.
 */
const PROCESS_PREFIX = crypto.randomUUID();
let counter = 0;

export function nextSessionId(): string {
  return `${PROCESS_PREFIX}:${(++counter).toString(36)}`;
}
