import type { Api } from '../api.js';
import type { DocumentConnection } from '../collab/document-connection.js';
import { mountHistory } from '../history/history-panel.js';
import { h } from '../element.js';
import { AuthorColours } from '../paper/author-colours.js';
import { createAuthorsPanel } from '../paper/authors-panel.js';
import { CommentHighlights, refreshHighlights } from '../paper/comment-highlights.js';
import { CommentList } from '../paper/comment-list.js';
import { createCommentsPanel, type CommentsPanel } from '../paper/comments-panel.js';
import { createPaperEditor, setPaperEditable } from '../paper/paper-editor.js';
import { createToolbar } from '../paper/toolbar.js';
import { userIdOf } from '../session/identity.js';
import type { DocumentFrame } from './document-page.js';
import { mountLiveChrome } from './live-chrome.js';

/** A paper in the frame: toolbar, editor and its comments, editable only with read-write access. */
export function mountPaper(frame: DocumentFrame, connection: DocumentConnection, api: Api): () => void {
  const history = mountHistory(frame, api, connection.name, connection);
  const editorHost = h('div', { class: 'paper-sheet' });
  const comments = new CommentList(connection.doc);
  // The panel needs the editor and the editor's shortcuts need the panel: bound once both exist.
  let panel: CommentsPanel | null = null;
  const editor = createPaperEditor(editorHost, connection, [
    CommentHighlights.configure({
      doc: connection.doc,
      isDetached: (id) => comments.isDetached(id),
      onCommentShortcut: () => panel?.openForm(),
      onHighlightClick: (id) => panel?.reveal(id),
    }),
    AuthorColours,
  ]);
  const commentsPanel = createCommentsPanel(editor, connection.doc, comments, {
    id: userIdOf(connection.identity),
    name: connection.identity.name,
  });
  panel = commentsPanel;
  comments.onChange(() => refreshHighlights(editor));
  const toolbar = createToolbar(editor, () => commentsPanel.openForm());
  toolbar.element.hidden = true;
  frame.element.classList.add('with-comments');
  const authors = createAuthorsPanel(editor, api, connection.name);
  frame.actions.append(authors.toggle);
  frame.body.replaceChildren(toolbar.element, authors.legend, h('div', { class: 'paper-layout' }, editorHost, commentsPanel.element));
  const chrome = mountLiveChrome(frame, connection, (access) => {
    const editable = access.state === 'read-write';
    setPaperEditable(editor, editable);
    toolbar.element.hidden = !editable;
    commentsPanel.setWritable(editable);
    history.setAccess(access);
  });
  return () => {
    chrome.destroy();
    history.destroy();
    authors.destroy();
    toolbar.destroy();
    commentsPanel.destroy();
    comments.destroy();
    editor.destroy();
    connection.destroy();
  };
}
