import type { DocumentConnection } from '../collab/document-connection.js';
import { createPresenceView } from '../collab/presence-view.js';
import { saveStateText } from '../collab/save-state.js';
import { h, setText } from '../element.js';
import { createPaperEditor, setPaperEditable } from '../paper/paper-editor.js';
import { createToolbar } from '../paper/toolbar.js';
import type { createDocumentFrame } from './document-page.js';
import { messagePanel } from './document-page.js';

type Frame = ReturnType<typeof createDocumentFrame>;

/**
 * A paper in the frame: toolbar, editor, people, save state, and the access banners.
 * Everything shown follows the connection: editable only with read-write access.
 */
export function mountPaper(frame: Frame, connection: DocumentConnection): () => void {
  const presence = createPresenceView();
  const saveState = h('p', { role: 'status', class: 'save-state' }, 'Saving…');
  frame.meta.replaceChildren(presence.element, saveState);

  const editorHost = h('div', { class: 'paper-sheet' });
  const editor = createPaperEditor(editorHost, connection);
  const toolbar = createToolbar(editor);
  toolbar.element.hidden = true;
  frame.body.replaceChildren(toolbar.element, editorHost);

  const banner = h('div', { class: 'banner', hidden: true });
  frame.notices.replaceChildren(banner);
  let bannerKey = '';
  const showBanner = (key: string, tone: 'info' | 'error', title: string, text: string) => {
    if (key === bannerKey) return;
    bannerKey = key;
    banner.hidden = key === '';
    banner.className = `banner ${tone}`;
    // Errors interrupt (alert); the read-only notice is information (note).
    banner.setAttribute('role', tone === 'error' ? 'alert' : 'note');
    banner.replaceChildren(h('strong', {}, title), ' ', h('span', {}, text));
  };

  let everSynced = false;
  const render = () => {
    const access = connection.currentAccess();
    const facts = connection.saveFacts();
    everSynced ||= facts.synced;
    setText(saveState, saveStateText(facts));
    saveState.dataset.state = !facts.connected && facts.lostConnection ? 'offline' : facts.synced && facts.unsyncedChanges === 0 ? 'saved' : 'saving';
    presence.update(connection.people());

    const editable = access.state === 'read-write';
    setPaperEditable(editor, editable);
    toolbar.element.hidden = !editable;
    if (access.state === 'readonly') {
      showBanner('readonly', 'info', 'Read-only.', 'You can read this document and see who is here, but you cannot change it.');
    } else if (access.state === 'denied') {
      if (!everSynced) {
        frame.body.replaceChildren(messagePanel('You don’t have access to this document', `The server refused to open it: ${access.reason}.`, h('a', { href: '/', 'data-nav': true, class: 'button' }, 'All documents')));
        showBanner('', 'info', '', '');
      } else {
        showBanner(`denied:${access.reason}`, 'error', 'Access withdrawn.', `${access.reason}. What you see is no longer updated and cannot be changed.`);
      }
    } else {
      showBanner('', 'info', '', '');
    }
  };
  const stop = connection.onChange(render);
  render();

  return () => {
    stop();
    toolbar.destroy();
    editor.destroy();
    connection.destroy();
  };
}
