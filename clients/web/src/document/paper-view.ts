import type { Api } from '../api.js';
import type { DocumentConnection } from '../collab/document-connection.js';
import { mountHistory } from '../history/history-panel.js';
import { h } from '../element.js';
import { createPaperEditor, setPaperEditable } from '../paper/paper-editor.js';
import { createToolbar } from '../paper/toolbar.js';
import type { DocumentFrame } from './document-page.js';
import { mountLiveChrome } from './live-chrome.js';

/** A paper in the frame: toolbar and editor, editable only with read-write access. */
export function mountPaper(frame: DocumentFrame, connection: DocumentConnection, api: Api): () => void {
  const history = mountHistory(frame, api, connection.name, connection);
  const editorHost = h('div', { class: 'paper-sheet' });
  const editor = createPaperEditor(editorHost, connection);
  const toolbar = createToolbar(editor);
  toolbar.element.hidden = true;
  frame.body.replaceChildren(toolbar.element, editorHost);
  const chrome = mountLiveChrome(frame, connection, (access) => {
    const editable = access.state === 'read-write';
    setPaperEditable(editor, editable);
    toolbar.element.hidden = !editable;
    history.setAccess(access);
  });
  return () => {
    chrome.destroy();
    history.destroy();
    toolbar.destroy();
    editor.destroy();
    connection.destroy();
  };
}
