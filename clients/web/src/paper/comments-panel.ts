import type { Editor } from '@tiptap/core';
import {
  addComment,
  CommentError,
  replyToComment,
  setCommentResolved,
  type CommentAuthor,
  type CommentView,
} from '../../../../server/documents/comments.js';
import type * as Y from 'yjs';
import { h, setText } from '../element.js';
import { commentRange, selectionAnchor, setActiveComment } from './comment-highlights.js';
import type { CommentList } from './comment-list.js';

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function timeElement(iso: string): HTMLElement {
  const date = new Date(iso);
  return h('time', { datetime: iso, class: 'comment-time' }, Number.isNaN(date.getTime()) ? '' : timeFormat.format(date));
}

/** One comment in the list, updated in place so an open reply form keeps its text and focus. */
interface CommentItem {
  readonly element: HTMLLIElement;
  update(view: CommentView, writable: boolean): void;
}

export interface CommentsPanel {
  readonly element: HTMLElement;
  /** Opens the "Comment" form on the editor's selection (toolbar button, Mod-Alt-M). */
  openForm(): void;
  setWritable(writable: boolean): void;
  /** A click on highlighted text: bring its comment into view. */
  reveal(id: string): void;
  destroy(): void;
}

/**
 * The region "Comments": the form for a new comment on the selection, the open comments in
 * text order (quote, author, time, body, replies, "Reply" and "Resolve"), and the resolved
 * ones under a "Resolved" toggle. Every change goes through comments.ts into the document, so
 * it syncs like the text; viewers see the comments without the buttons (the server refuses
 * their updates anyway).
 */
export function createCommentsPanel(editor: Editor, doc: Y.Doc, comments: CommentList, author: CommentAuthor): CommentsPanel {
  let writable = false;
  let pending: ReturnType<typeof selectionAnchor> = null;
  const items = new Map<string, CommentItem>();

  const message = h('p', { class: 'comments-message', role: 'alert' });
  const quotePreview = h('blockquote', { class: 'comment-quote-preview' });
  const bodyInput = h('textarea', { class: 'comment-input', 'aria-label': 'Comment', rows: '3', maxlength: '10000', required: true });
  const form = h(
    'form',
    { class: 'comment-form', hidden: true },
    quotePreview,
    bodyInput,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary small' }, 'Add comment'),
      h('button', { type: 'button', class: 'button quiet small', onclick: () => closeForm(true) }, 'Cancel'),
    ),
  );
  const empty = h('p', { class: 'muted comments-empty' });
  const openList = h('ul', { class: 'comment-list', 'aria-label': 'Open comments' });
  const resolvedToggle = h(
    'button',
    {
      type: 'button',
      class: 'button quiet small resolved-toggle',
      'aria-expanded': 'false',
      'aria-controls': 'resolved-comments',
      hidden: true,
    },
    'Resolved',
  );
  const resolvedList = h('ul', {
    id: 'resolved-comments',
    class: 'comment-list resolved',
    'aria-label': 'Resolved comments',
    hidden: true,
  });
  const count = h('span', { class: 'comments-count' });
  const element = h(
    'section',
    { class: 'comments-panel', 'aria-label': 'Comments' },
    h('header', { class: 'comments-header' }, h('h2', {}, 'Comments'), count),
    message,
    form,
    empty,
    openList,
    resolvedToggle,
    resolvedList,
  );

  const say = (text: string) => setText(message, text);

  function openForm(): void {
    if (!writable) return;
    pending = selectionAnchor(editor);
    if (pending === null) {
      say('Select the text you want to comment on first.');
      return;
    }
    say('');
    quotePreview.textContent = pending.quote.length > 200 ? `${pending.quote.slice(0, 200)}…` : pending.quote;
    form.hidden = false;
    bodyInput.focus();
  }

  function closeForm(refocus: boolean): void {
    form.hidden = true;
    bodyInput.value = '';
    pending = null;
    if (refocus && editor.isEditable) editor.commands.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (pending === null || bodyInput.value.trim() === '') return;
    try {
      addComment(doc, { anchor: { start: pending.start, end: pending.end }, body: bodyInput.value.trim(), author });
      closeForm(true);
    } catch (error) {
      // The passage may have been deleted by someone else while the comment was written.
      say(error instanceof CommentError ? 'The selected text is no longer there; select it again.' : 'The comment could not be added.');
    }
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closeForm(true);
    } else if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  resolvedToggle.addEventListener('click', () => {
    const expanded = resolvedToggle.getAttribute('aria-expanded') !== 'true';
    resolvedToggle.setAttribute('aria-expanded', String(expanded));
    resolvedList.hidden = !expanded;
  });

  function select(id: string): void {
    const range = commentRange(editor, id);
    if (range === null) return;
    editor.chain().setTextSelection(range).scrollIntoView().run();
    setActiveComment(editor, id);
    if (editor.isEditable) editor.commands.focus();
  }

  function createItem(id: string): CommentItem {
    const quote = h('button', { type: 'button', class: 'comment-quote', title: 'Show in the paper' });
    quote.addEventListener('click', () => select(id));
    const detachedMark = h('span', { class: 'detached-mark', title: 'The commented text was deleted' }, 'Detached');
    const authorName = h('span', { class: 'comment-author' });
    const time = h('span', {});
    const body = h('p', { class: 'comment-body' });
    const replies = h('div', { class: 'replies', role: 'group', 'aria-label': 'Replies' });
    const replyInput = h('textarea', { class: 'comment-input', 'aria-label': 'Reply', rows: '2', maxlength: '10000', required: true });
    const replyForm = h(
      'form',
      { class: 'reply-form', hidden: true },
      replyInput,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'button primary small' }, 'Send reply'),
        h('button', { type: 'button', class: 'button quiet small', onclick: () => closeReply() }, 'Cancel'),
      ),
    );
    const replyButton = h('button', { type: 'button', class: 'button small', 'aria-expanded': 'false' }, 'Reply');
    const resolveButton = h('button', { type: 'button', class: 'button small' }, 'Resolve');
    const actions = h('div', { class: 'comment-actions' }, replyButton, resolveButton);
    const element = h(
      'li',
      { class: 'comment', 'data-comment-id': id },
      h('div', { class: 'comment-anchor' }, quote, detachedMark),
      h('div', { class: 'comment-head' }, authorName, time),
      body,
      replies,
      actions,
      replyForm,
    );
    let resolved = false;

    const closeReply = () => {
      replyForm.hidden = true;
      replyInput.value = '';
      replyButton.setAttribute('aria-expanded', 'false');
      replyButton.focus();
    };
    replyButton.addEventListener('click', () => {
      replyForm.hidden = false;
      replyButton.setAttribute('aria-expanded', 'true');
      replyInput.focus();
    });
    replyForm.addEventListener('submit', (event) => {
      event.preventDefault();
      if (replyInput.value.trim() === '') return;
      try {
        replyToComment(doc, id, { body: replyInput.value.trim(), author });
        closeReply();
      } catch {
        say('The reply could not be sent: the comment was deleted.');
      }
    });
    replyForm.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeReply();
      } else if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
        event.preventDefault();
        replyForm.requestSubmit();
      }
    });
    resolveButton.addEventListener('click', () => {
      try {
        setCommentResolved(doc, id, !resolved);
      } catch {
        say('The comment was deleted.');
      }
    });

    let repliesKey = '';
    return {
      element,
      update(view, canWrite) {
        resolved = view.resolved;
        quote.hidden = view.detached;
        detachedMark.hidden = !view.detached;
        element.classList.toggle('is-detached', view.detached);
        setText(quote, view.quote ?? '');
        setText(authorName, view.authorName ?? 'Someone');
        const stamp = timeElement(view.createdAt);
        if (time.firstElementChild?.getAttribute('datetime') !== view.createdAt) time.replaceChildren(stamp);
        setText(body, view.body);
        const key = view.replies.map((reply) => reply.id).join(',');
        if (key !== repliesKey) {
          repliesKey = key;
          replies.replaceChildren(
            ...view.replies.map((reply) =>
              h(
                'div',
                { class: 'reply' },
                h(
                  'div',
                  { class: 'comment-head' },
                  h('span', { class: 'comment-author' }, reply.authorName ?? 'Someone'),
                  timeElement(reply.createdAt),
                ),
                h('p', { class: 'comment-body' }, reply.body),
              ),
            ),
          );
        }
        replies.hidden = view.replies.length === 0;
        setText(resolveButton, view.resolved ? 'Reopen' : 'Resolve');
        replyButton.hidden = view.resolved;
        actions.hidden = !canWrite;
        if (!canWrite || view.resolved) replyForm.hidden = true;
      },
    };
  }

  /** Puts `elements` into `list` in order, moving only what is out of place (focus stays). */
  function place(list: HTMLElement, elements: readonly HTMLElement[]): void {
    elements.forEach((item, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
    });
    while (list.children.length > elements.length) list.lastElementChild!.remove();
  }

  function render(): void {
    const views = comments.current();
    const seen = new Set<string>();
    const open: HTMLElement[] = [];
    const done: HTMLElement[] = [];
    for (const view of views) {
      seen.add(view.id);
      let item = items.get(view.id);
      if (item === undefined) {
        item = createItem(view.id);
        items.set(view.id, item);
      }
      item.update(view, writable);
      (view.resolved ? done : open).push(item.element);
    }
    for (const id of [...items.keys()]) if (!seen.has(id)) items.delete(id);
    place(openList, open);
    place(resolvedList, done);
    openList.hidden = open.length === 0;
    resolvedToggle.hidden = done.length === 0;
    setText(resolvedToggle, `Resolved (${done.length})`);
    if (done.length === 0) resolvedList.hidden = true;
    else resolvedList.hidden = resolvedToggle.getAttribute('aria-expanded') !== 'true';
    setText(count, open.length === 0 ? '' : String(open.length));
    empty.hidden = views.length > 0;
    setText(empty, writable ? 'No comments yet. Select text and choose Comment.' : 'No comments yet.');
  }
  comments.onChange(render);
  render();

  return {
    element,
    openForm,
    setWritable(value) {
      writable = value;
      if (!value) closeForm(false);
      render();
    },
    reveal(id) {
      const item = items.get(id);
      if (!item) return;
      setActiveComment(editor, id);
      item.element.scrollIntoView({ block: 'nearest' });
    },
    destroy() {
      items.clear();
    },
  };
}
