import type { Access, DocumentConnection } from '../collab/document-connection.js';
import { createPresenceView } from '../collab/presence-view.js';
import { saveStateText } from '../collab/save-state.js';
import { h, setText } from '../element.js';
import { messagePanel, type DocumentFrame } from './document-page.js';

/**
 * What every open document shows, whatever its kind: the people in it, the save state,
 * and the access banners (read-only; refused; withdrawn). `onAccess` is told whether the
 * editor may edit, on every change.
 */
export function mountLiveChrome(
  frame: DocumentFrame,
  connection: DocumentConnection,
  onAccess: (access: Access) => void,
): { readonly destroy: () => void } {
  const presence = createPresenceView();
  const saveState = h('p', { role: 'status', class: 'save-state' }, 'Saving…');
  frame.meta.replaceChildren(presence.element, frame.actions, saveState);

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
    saveState.dataset.state =
      !facts.connected && facts.lostConnection ? 'offline' : facts.synced && facts.unsyncedChanges === 0 ? 'saved' : 'saving';
    presence.update(connection.people());
    onAccess(access);
    if (access.state === 'readonly') {
      showBanner('readonly', 'info', 'Read-only.', 'You can read this document and see who is here, but you cannot change it.');
    } else if (access.state === 'denied') {
      if (!everSynced) {
        frame.actions.replaceChildren();
        frame.body.replaceChildren(
          messagePanel(
            'You don’t have access to this document',
            `The server refused to open it: ${access.reason}.`,
            h('a', { href: '/', 'data-nav': true, class: 'button' }, 'All documents'),
          ),
        );
        showBanner('', 'info', '', '');
      } else {
        showBanner(
          `denied:${access.reason}`,
          'error',
          'Access withdrawn.',
          `${access.reason}. What you see is no longer updated and cannot be changed.`,
        );
      }
    } else {
      showBanner('', 'info', '', '');
    }
  };
  const stop = connection.onChange(render);
  render();
  return { destroy: stop };
}
