/**
 * Which comments were created or resolved since an earlier look, read from the current state
 * and the state vector of the state looked at then (comment-changes.ts), and the signature
 * receivers check.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment, COMMENTS_MAP, deleteComment, replyToComment, setCommentResolved } from '../../server/documents/comments.js';
import { commentChanges, laterStateVector, writesValues, type CommentChanges } from '../../server/webhooks/comment-changes.js';
import { signDelivery, verifyDelivery } from '../../server/webhooks/signature.js';
import { p, paperDoc } from '../helpers/documents.js';

const author = { id: 'u1', name: 'Ada' };

/**
 * A client's doc, and what the dispatcher sees: a server copy that receives its updates, looked
 * at after each step against the state vector of the previous look.
 */
function watched() {
  const client = new Y.Doc();
  const server = new Y.Doc();
  let seen: Uint8Array | null = Y.encodeStateVector(server);
  /** Applies `change`'s updates to the server copy and looks; returns the updates and what the look found. */
  const step = (change: () => void): { updates: Uint8Array[]; changes: CommentChanges } => {
    const updates: Uint8Array[] = [];
    const record = (update: Uint8Array) => updates.push(update);
    client.on('update', record);
    change();
    client.off('update', record);
    for (const update of updates) Y.applyUpdate(server, update);
    const changes = commentChanges(server, { seen, announceFrom: 0 });
    seen = laterStateVector(seen, Y.encodeStateVector(server));
    return { updates, changes };
  };
  return { client, server, step };
}

const ids = (comments: ReadonlyArray<{ id: string }>) => comments.map((comment) => comment.id).sort();
const NONE = { created: [], resolved: [] };

describe('comment changes', () => {
  it('tells created and resolved comments apart, and ignores everything else', () => {
    const { client, step } = watched();
    expect(step(() => paperDoc([p('Hello brave new world')], client)).changes).toEqual(NONE);

    let first = '';
    let second = '';
    const added = step(() => {
      first = addComment(client, { anchor: { from: 0, to: 5 }, body: 'Greeting', author });
      second = addComment(client, { anchor: { from: 6, to: 11 }, body: 'Brave?', author });
    }).changes;
    expect(ids(added.created)).toEqual([first, second].sort());
    expect(added.resolved).toEqual([]);
    expect(added.created.find((comment) => comment.id === first)).toMatchObject({
      body: 'Greeting',
      authorId: 'u1',
      authorName: 'Ada',
      resolved: false,
      quote: 'Hello',
    });

    expect(step(() => setCommentResolved(client, first, true)).changes).toMatchObject({
      created: [],
      resolved: [{ id: first, resolved: true }],
    });

    // Reopening, replying, deleting and typing are not events.
    expect(step(() => setCommentResolved(client, first, false)).changes).toEqual(NONE);
    expect(step(() => replyToComment(client, second, { body: 'Yes', author })).changes).toEqual(NONE);
    expect(step(() => deleteComment(client, second)).changes).toEqual(NONE);
    const typed = step(() => {
      const paragraph = client.getXmlFragment('default').get(0) as Y.XmlElement;
      (paragraph.get(0) as Y.XmlText).insert(5, ',');
    });
    expect(writesValues(typed.updates)).toBe(false);
    expect(typed.changes).toEqual(NONE);

    // Several changes between two looks: a comment created and resolved since is both.
    const { client: other, server, step: otherStep } = watched();
    otherStep(() => paperDoc([p('Several at once')], other));
    let kept = '';
    otherStep(() => (kept = addComment(other, { anchor: { from: 0, to: 7 }, body: 'Kept', author })));
    const before = Y.encodeStateVector(server);
    let third = '';
    const updates: Uint8Array[] = [];
    other.on('update', (update: Uint8Array) => updates.push(update));
    third = addComment(other, { anchor: { from: 0, to: 3 }, body: 'Third', author });
    setCommentResolved(other, third, true);
    setCommentResolved(other, kept, true);
    for (const update of updates) Y.applyUpdate(server, update);
    const changes = commentChanges(server, { seen: before, announceFrom: 0 });
    expect(ids(changes.created)).toEqual([third]);
    expect(ids(changes.resolved)).toEqual([kept, third].sort());
    expect(writesValues(updates)).toBe(true);
  });

  it('reads plain-object comments: created when written, resolved when rewritten resolved', () => {
    const { client, step } = watched();
    step(() => paperDoc([p('Plain objects')], client));
    const comments = client.getMap<unknown>(COMMENTS_MAP);
    const plain = { anchor: null, body: 'Plain', authorId: null, authorName: null, createdAt: '2024-01-01T00:00:00.000Z', resolved: false };
    expect(step(() => comments.set('plain', plain)).changes).toMatchObject({
      created: [{ id: 'plain', resolved: false, quote: null }],
      resolved: [],
    });
    expect(step(() => comments.set('plain', { ...plain, resolved: true })).changes).toMatchObject({
      created: [],
      resolved: [{ id: 'plain', resolved: true }],
    });
  });

  it('never looked at: announces comments created from `announceFrom` on, and resolutions only with them', () => {
    const doc = paperDoc([p('Looked at for the first time')]);
    const old = addComment(doc, { anchor: { from: 0, to: 6 }, body: 'Old', author, createdAt: '2024-01-01T00:00:00.000Z' });
    setCommentResolved(doc, old, true);
    const fresh = addComment(doc, { anchor: { from: 7, to: 9 }, body: 'Fresh', author, createdAt: '2024-06-01T00:00:00.000Z' });
    setCommentResolved(doc, fresh, true);
    const changes = commentChanges(doc, { seen: null, announceFrom: Date.parse('2024-03-01T00:00:00.000Z') });
    expect(ids(changes.created)).toEqual([fresh]);
    expect(ids(changes.resolved)).toEqual([fresh]);
  });

  it('keeps the later state vector of two looks, per client', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    a.getMap('m').set('x', 1);
    b.getMap('m').set('y', 1);
    b.getMap('m').set('z', 1);
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    const older = Y.encodeStateVector(b);
    b.getMap('m').set('w', 1);
    const merged = Y.decodeStateVector(laterStateVector(Y.encodeStateVector(b), Y.encodeStateVector(a)));
    expect(merged.get(a.clientID)).toBe(1);
    expect(merged.get(b.clientID)).toBe(3);
    expect(Y.decodeStateVector(laterStateVector(Y.encodeStateVector(b), older)).get(b.clientID)).toBe(3);
  });
});

describe('the delivery signature', () => {
  it('is HMAC-SHA256 of "<timestamp>.<body>" in hex, and verifies only the same secret, time and body', () => {
    const body = JSON.stringify({ id: 'd1', event: 'document.created', createdAt: '2024-01-01T00:00:00.000Z', data: {} });
    const signature = signDelivery('s3cret-s3cret-s3cret', 1_700_000_000, body);
    expect(signature).toBe(`sha256=${createHmac('sha256', 's3cret-s3cret-s3cret').update(`1700000000.${body}`).digest('hex')}`);
    expect(verifyDelivery('s3cret-s3cret-s3cret', 1_700_000_000, body, signature)).toBe(true);
    expect(verifyDelivery('s3cret-s3cret-s3creT', 1_700_000_000, body, signature)).toBe(false);
    expect(verifyDelivery('s3cret-s3cret-s3cret', 1_700_000_001, body, signature)).toBe(false);
    expect(verifyDelivery('s3cret-s3cret-s3cret', 1_700_000_000, `${body} `, signature)).toBe(false);
    expect(verifyDelivery('s3cret-s3cret-s3cret', 1_700_000_000, body, 'sha256=00')).toBe(false);
  });
});
