/**
 * Access events between instances (`{prefix}access` channel): JSON, since they are rare
 * admin actions, never on the hot path. `{from, event}`; anything else is refused.
 */
import type { AccessEvent } from '../auth/access-events.js';
import { MalformedFrameError } from './malformed-frame-error.js';

export interface AccessMessage {
  /** The publishing instance (it delivered the event to its own listeners already). */
  readonly from: string;
  readonly event: AccessEvent;
}

export function encodeAccessMessage(from: string, event: AccessEvent): string {
  return JSON.stringify({ from, event });
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 256;

/** Throws MalformedFrameError on anything that is not an access message. */
export function decodeAccessMessage(text: string): AccessMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MalformedFrameError('access message is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new MalformedFrameError('access message is not an object');
  const { from, event } = value as Record<string, unknown>;
  if (!isString(from) || typeof event !== 'object' || event === null) throw new MalformedFrameError('access message lacks from or event');
  const fields = event as Record<string, unknown>;
  switch (fields.type) {
    case 'session-revoked':
      if (isString(fields.sessionId)) return { from, event: { type: 'session-revoked', sessionId: fields.sessionId } };
      break;
    case 'membership-removed':
    case 'membership-changed':
      if (isString(fields.userId) && isString(fields.projectId))
        return { from, event: { type: fields.type, userId: fields.userId, projectId: fields.projectId } };
      break;
    case 'document-deleted':
    case 'document-renamed':
      if (isString(fields.documentId)) return { from, event: { type: fields.type, documentId: fields.documentId } };
      break;
    case 'recheck-all':
      return { from, event: { type: 'recheck-all' } };
  }
  throw new MalformedFrameError(`not an access event: ${JSON.stringify(fields.type)}`);
}
