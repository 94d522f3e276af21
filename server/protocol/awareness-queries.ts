import type { Clock } from '../clock.js';
import type { Counters } from '../metrics.js';
import type { DocumentSession } from './document-session.js';
import { TokenBucket } from './token-bucket.js';

/**
 * QueryAwareness answers one socket may get per second (all its documents together), above
 * a burst of AWARENESS_QUERY_BURST. Providers do not send QueryAwareness to the server (they
 * get the states on join and every change after), so only a misbehaving client meets it; a
 * query over the rate is dropped, unanswered, and the socket carries on.
 */
export const AWARENESS_QUERIES_PER_SECOND = 2;
export const AWARENESS_QUERY_BURST = 10;

/** One socket's QueryAwareness budget (created on its first query: most sockets never send one). */
export function awarenessQueryBucket(clock: Clock): TokenBucket {
  return new TokenBucket(AWARENESS_QUERIES_PER_SECOND, AWARENESS_QUERY_BURST, clock);
}

/** Answers a QueryAwareness with the room's current states (encoded once per change), unless the socket is over its rate. */
export function answerAwarenessQuery(session: DocumentSession, bucket: TokenBucket, counters: Counters): void {
  if (bucket.take()) session.sendAwarenessSnapshot();
  else counters.awarenessDropped++;
}
