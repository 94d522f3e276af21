/**
 * Which comments a set of logged updates created or resolved, read from the state and those
 * updates alone (comment-changes.ts), and the signature receivers check.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment, COMMENTS_MAP, deleteComment, replyToComment, setCommentResolved } from '../../server/documents/comments.js';
import { commentChanges, UpdateContents } from '../../server/webhooks/comment-changes.js';
import { signDelivery, verifyDelivery } from '../../server/webhooks/signature.js';
import { p, paperDoc } from '../helpers/documents.js';

const author = { id: 'u1', name: 'Ada' };

/** A client's doc and a server copy that receives its updates; `step` returns the updates one change made. */
function pair() {
  const client = new Y.Doc();
  const server = new Y.Doc();
  const step = (change: () => void): Uint8Array[] => {
    const updates: Uint8Array[] = [];
    const record = (update: Uint8Array) => updates.push(update);
    client.on('update', record);
    change();
    client.off('update', record);
    for (const update of updates) Y.applyUpdate(server, update);
    return updates;
  };
  return { client, server, step };
}

const ids = (comments: ReadonlyArray<{ id: string }>) => comments.map((comment) => comment.id);

describe('comment changes', () => {
  it('tells created and resolved comments apart, and ignores everything else', () => {
    const { client, server, step } = pair();
    const paper = step(() => paperDoc([p('Hello brave new world')], client));
    expect(commentChanges(server, new UpdateContents(paper))).toEqual({ created: [], resolved: [] });

    let first = '';
    let second = '';
    const added = step(() => {
      first = addComment(client, { anchor: { from: 0, to: 5 }, body: 'Greeting', author });
      second = addComment(client, { anchor: { from: 6, to: 11 }, body: 'Brave?', author });
    });
    const created = commentChanges(server, new UpdateContents(added));
    expect(ids(created.created).sort()).toEqual([first, second].sort());
    expect(created.resolved).toEqual([]);
    expect(created.created.find((comment) => comment.id === first)).toMatchObject({ body: 'Greeting', authorId: 'u1', authorName: 'Ada', resolved: false, quote: 'Hello' });

    const resolved = step(() => setCommentResolved(client, first, true));
    expect(commentChanges(server, new UpdateContents(resolved))).toMatchObject({ created: [], resolved: [{ id: first, resolved: true }] });

    // Reopening, replying, deleting and typing are not events.
    expect(commentChanges(server, new UpdateContents(step(() => setCommentResolved(client, first, false))))).toEqual({ created: [], resolved: [] });
    expect(commentChanges(server, new UpdateContents(step(() => replyToComment(client, second, { body: 'Yes', author }))))).toEqual({ created: [], resolved: [] });
    expect(commentChanges(server, new UpdateContents(step(() => deleteComment(client, second))))).toEqual({ created: [], resolved: [] });
    const typed = step(() => {
      const text = client.getXmlFragment('default').get(0) as Y.XmlElement;
      (text.get(0) as Y.XmlText).insert(5, ',');
    });
    const typing = new UpdateContents(typed);
    expect(typing.writesValues).toBe(false);
    expect(commentChanges(server, typing)).toEqual({ created: [], resolved: [] });

    // Several changes at once: a comment created and resolved in the same updates is both.
    let third = '';
    const both = [
      ...step(() => (third = addComment(client, { anchor: { from: 0, to: 3 }, body: 'Third', author }))),
      ...step(() => setCommentResolved(client, third, true)),
      ...step(() => setCommentResolved(client, first, true)),
    ];
    const changes = commentChanges(server, new UpdateContents(both));
    expect(ids(changes.created)).toEqual([third]);
    expect(ids(changes.resolved).sort()).toEqual([first, third].sort());
  });

  it('reads plain-object comments: created when written, resolved when rewritten resolved', () => {
    const { client, server, step } = pair();
    step(() => paperDoc([p('Plain objects')], client));
    const comments = client.getMap<unknown>(COMMENTS_MAP);
    const plain = { anchor: null, body: 'Plain', authorId: null, authorName: null, createdAt: '2024-01-01T00:00:00.000Z', resolved: false };
    const written = step(() => comments.set('plain', plain));
    expect(commentChanges(server, new UpdateContents(written))).toMatchObject({ created: [{ id: 'plain', resolved: false, quote: null }], resolved: [] });
    const rewritten = step(() => comments.set('plain', { ...plain, resolved: true }));
    expect(commentChanges(server, new UpdateContents(rewritten))).toMatchObject({ created: [], resolved: [{ id: 'plain', resolved: true }] });
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
