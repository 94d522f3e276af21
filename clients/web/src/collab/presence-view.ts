import { h, setText } from '../element.js';
import { initials } from '../session/identity.js';
import { typingSentence, type Person } from './people.js';

/**
 * Avatars of everyone in the document (role list "People in this document", one listitem
 * per person named by their display name) and a line saying who is typing.
 */
export function createPresenceView(): { element: HTMLElement; update(people: readonly Person[]): void } {
  const list = h('ul', { role: 'list', 'aria-label': 'People in this document', class: 'people' });
  const typing = h('p', { class: 'typing' });
  let shown = '';
  return {
    element: h('div', { class: 'presence' }, list, typing),
    update(people) {
      // Awareness changes with every caret move; rebuild only when what is shown changes.
      const signature = JSON.stringify(people.map((p) => [p.key, p.name, p.color, p.typing, p.isMe]));
      if (signature === shown) return;
      shown = signature;
      list.replaceChildren(
        ...people.map((person) =>
          h(
            'li',
            {
              class: `person${person.typing ? ' is-typing' : ''}${person.isMe ? ' is-me' : ''}`,
              'aria-label': person.name,
              title: person.isMe ? `${person.name} (you)` : person.name,
            },
            h('span', { class: 'avatar', style: `background-color: ${person.color}`, 'aria-hidden': 'true' }, initials(person.name)),
          ),
        ),
      );
      setText(typing, typingSentence(people));
    },
  };
}
