import type { Api } from '../api.js';
import type { DocumentConnection } from '../collab/document-connection.js';
import { mountHistory } from '../history/history-panel.js';
import { createTreeEditor } from '../tree/tree-editor.js';
import type { DocumentFrame } from './document-page.js';
import { mountLiveChrome } from './live-chrome.js';

/** A research tree in the frame: the outline editor, editable only with read-write access. */
export function mountTree(frame: DocumentFrame, connection: DocumentConnection, api: Api): () => void {
  const history = mountHistory(frame, api, connection.name, connection);
  const editor = createTreeEditor(connection);
  frame.body.replaceChildren(editor.element);
  const chrome = mountLiveChrome(frame, connection, (access) => {
    editor.setEditable(access.state === 'read-write');
    history.setAccess(access);
  });
  return () => {
    chrome.destroy();
    history.destroy();
    editor.destroy();
    connection.destroy();
  };
}
