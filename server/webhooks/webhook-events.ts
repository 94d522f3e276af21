/**
 * The events a webhook can subscribe to, and the JSON a receiver gets (docs/contracts.md
 * "Webhooks"). Types only, apart from the list of names.
 */
import type { DocumentKind } from '../http/api-types.js';

export const WEBHOOK_EVENTS = [
  'document.created',
  'document.updated',
  'document.deleted',
  'version.created',
  'comment.created',
  'comment.resolved',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Events read from the comments in a paper's Yjs state rather than written by the change itself. */
export const COMMENT_EVENTS: readonly WebhookEvent[] = ['comment.created', 'comment.resolved'];
/** Events told from edits of the update log (change-events.ts), never recorded by a change itself. */
export const EDIT_EVENTS: readonly WebhookEvent[] = ['document.updated', ...COMMENT_EVENTS];

/** `data.document`, in every event: the document as it was when the event was written. */
export interface WebhookDocument {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
}

/** Who edited a document between two `document.updated` events (null: anonymous, open mode). */
export interface WebhookAuthor {
  readonly userId: string | null;
  readonly name: string | null;
}

/** `data.version` of `version.created`. */
export interface WebhookVersion {
  readonly id: string;
  readonly version: number;
  readonly label: string | null;
  readonly kind: 'auto' | 'named';
  readonly createdBy: string | null;
  readonly createdAt: string;
}

/** `data.comment` of `comment.created` and `comment.resolved`. */
export interface WebhookComment {
  readonly id: string;
  readonly body: string;
  readonly authorId: string | null;
  readonly authorName: string | null;
  readonly createdAt: string;
  readonly resolved: boolean;
  /** The commented text, null when it was deleted whole. */
  readonly quote: string | null;
}

export interface WebhookEventData {
  readonly document: WebhookDocument;
  readonly authors?: readonly WebhookAuthor[];
  readonly version?: WebhookVersion;
  readonly comment?: WebhookComment;
  readonly [extra: string]: unknown;
}

/** The body of every delivery: `id` is the delivery's (the same on every retry). */
export interface WebhookDeliveryBody {
  readonly id: string;
  readonly event: WebhookEvent;
  /** When the event was written to the outbox (ISO 8601). */
  readonly createdAt: string;
  readonly data: WebhookEventData;
}
