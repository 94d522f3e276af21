import type { Editor } from '@tiptap/core';
import { h } from '../element.js';

interface Tool {
  readonly label: string;
  /** Text, or an SVG path (24×24, stroked) when it starts with "M". */
  readonly icon: string;
  readonly shortcut: string;
  readonly run: (editor: Editor) => void;
  readonly active: (editor: Editor) => boolean;
}

const isMac = /Mac|iPhone|iPad/.test(navigator.platform);
const mod = isMac ? '⌘' : 'Ctrl+';

const SVG = 'http://www.w3.org/2000/svg';
const COMMENT_ICON = 'M4 5h16v11H9l-5 4z';
const LINK_ICON = 'M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1 1M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1-1';

function icon(value: string): Node {
  if (!value.startsWith('M')) return document.createTextNode(value);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', value);
  path.setAttribute('fill', 'none');
  path.setAttribute('stroke', 'currentColor');
  path.setAttribute('stroke-width', '2');
  path.setAttribute('stroke-linecap', 'round');
  path.setAttribute('stroke-linejoin', 'round');
  svg.append(path);
  return svg;
}

const TOOLS: readonly Tool[] = [
  {
    label: 'Heading 1',
    icon: 'H1',
    shortcut: `${mod}Alt+1`,
    run: (e) => e.chain().focus().toggleHeading({ level: 1 }).run(),
    active: (e) => e.isActive('heading', { level: 1 }),
  },
  {
    label: 'Heading 2',
    icon: 'H2',
    shortcut: `${mod}Alt+2`,
    run: (e) => e.chain().focus().toggleHeading({ level: 2 }).run(),
    active: (e) => e.isActive('heading', { level: 2 }),
  },
  { label: 'Bold', icon: 'B', shortcut: `${mod}B`, run: (e) => e.chain().focus().toggleBold().run(), active: (e) => e.isActive('bold') },
  {
    label: 'Italic',
    icon: 'I',
    shortcut: `${mod}I`,
    run: (e) => e.chain().focus().toggleItalic().run(),
    active: (e) => e.isActive('italic'),
  },
  {
    label: 'Inline code',
    icon: '</>',
    shortcut: `${mod}E`,
    run: (e) => e.chain().focus().toggleCode().run(),
    active: (e) => e.isActive('code'),
  },
  {
    label: 'Bulleted list',
    icon: 'M9 6h11M9 12h11M9 18h11M4.5 6h.01M4.5 12h.01M4.5 18h.01',
    shortcut: `${mod}Shift+8`,
    run: (e) => e.chain().focus().toggleBulletList().run(),
    active: (e) => e.isActive('bulletList'),
  },
  {
    label: 'Numbered list',
    icon: 'M10 6h10M10 12h10M10 18h10M4 5l1.5-1v5M3.5 15.5a1.5 1.5 0 1 1 2.5 1.2L3.5 19.5H6',
    shortcut: `${mod}Shift+7`,
    run: (e) => e.chain().focus().toggleOrderedList().run(),
    active: (e) => e.isActive('orderedList'),
  },
  {
    label: 'Quote',
    icon: 'M5 17h4l1-5V6H4v6h3zM14 17h4l1-5V6h-6v6h3z',
    shortcut: `${mod}Shift+B`,
    run: (e) => e.chain().focus().toggleBlockquote().run(),
    active: (e) => e.isActive('blockquote'),
  },
  {
    label: 'Code block',
    icon: '{ }',
    shortcut: `${mod}Alt+C`,
    run: (e) => e.chain().focus().toggleCodeBlock().run(),
    active: (e) => e.isActive('codeBlock'),
  },
];

/**
 * The formatting toolbar: one tab stop, arrow keys move between buttons (WAI-ARIA toolbar
 * pattern); each button says its state with aria-pressed. A link is added through a small
 * inline field rather than a browser prompt.
 */
export function createToolbar(
  editor: Editor,
  onComment: () => void,
): { element: HTMLElement; setEnabled(enabled: boolean): void; destroy(): void } {
  const buttons: HTMLButtonElement[] = [];
  const toolbar = h('div', { role: 'toolbar', 'aria-label': 'Formatting', class: 'toolbar' });
  for (const tool of TOOLS) {
    const button = h(
      'button',
      {
        type: 'button',
        class: 'tool',
        'aria-label': tool.label,
        title: `${tool.label} (${tool.shortcut})`,
        'aria-pressed': 'false',
        tabindex: '-1',
      },
      icon(tool.icon),
    );
    button.addEventListener('click', () => tool.run(editor));
    buttons.push(button);
    toolbar.append(button);
  }

  // Text with the URL keyboard, not type="url": its validation refused a bare "example.org/paper"
  // ("Please enter a URL.") before the submit handler could add https://.
  const linkInput = h('input', {
    type: 'text',
    inputmode: 'url',
    autocomplete: 'url',
    autocapitalize: 'off',
    spellcheck: 'false',
    class: 'link-input',
    placeholder: 'example.org/page or https://…',
    'aria-label': 'Link address',
  });
  const linkForm = h(
    'form',
    { class: 'link-form', hidden: true },
    linkInput,
    h('button', { type: 'submit', class: 'button small' }, 'Apply'),
    h('button', { type: 'button', class: 'button small quiet', onclick: () => closeLink(true) }, 'Cancel'),
  );
  const linkButton = h(
    'button',
    {
      type: 'button',
      class: 'tool',
      'aria-label': 'Link',
      title: `Link (${mod}K)`,
      'aria-pressed': 'false',
      'aria-expanded': 'false',
      tabindex: '-1',
    },
    icon(LINK_ICON),
  );
  const openLink = () => {
    linkInput.value = (editor.getAttributes('link').href as string | undefined) ?? '';
    linkForm.hidden = false;
    linkButton.setAttribute('aria-expanded', 'true');
    linkInput.focus();
    linkInput.select();
  };
  const closeLink = (refocus: boolean) => {
    linkForm.hidden = true;
    linkButton.setAttribute('aria-expanded', 'false');
    if (refocus) editor.commands.focus();
  };
  linkButton.addEventListener('click', () => (linkForm.hidden ? openLink() : closeLink(true)));
  linkForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const href = linkInput.value.trim();
    const chain = editor.chain().focus().extendMarkRange('link');
    if (href === '') chain.unsetLink().run();
    else chain.setLink({ href: /^[a-z][a-z0-9+.-]*:/i.test(href) ? href : `https://${href}` }).run();
    closeLink(false);
  });
  linkForm.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      closeLink(true);
    }
  });
  buttons.push(linkButton);
  toolbar.append(linkButton);
  const commentButton = h(
    'button',
    { type: 'button', class: 'tool', 'aria-label': 'Comment', title: `Comment on the selection (${mod}Alt+M)`, tabindex: '-1' },
    icon(COMMENT_ICON),
  );
  commentButton.addEventListener('click', onComment);
  buttons.push(commentButton);
  toolbar.append(h('span', { class: 'tool-separator', 'aria-hidden': 'true' }), commentButton);
  buttons[0]!.tabIndex = 0;

  toolbar.addEventListener('keydown', (event) => {
    const index = buttons.indexOf(event.target as HTMLButtonElement);
    if (index === -1) return;
    const next =
      event.key === 'ArrowRight'
        ? index + 1
        : event.key === 'ArrowLeft'
          ? index - 1
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? buttons.length - 1
              : null;
    if (next === null) return;
    event.preventDefault();
    const target = buttons[(next + buttons.length) % buttons.length]!;
    buttons.forEach((button) => (button.tabIndex = button === target ? 0 : -1));
    target.focus();
  });

  const onKey = (event: KeyboardEvent) => {
    if ((event.metaKey || event.ctrlKey) && event.key.toLowerCase() === 'k' && editor.isEditable) {
      event.preventDefault();
      openLink();
    }
  };
  editor.view.dom.addEventListener('keydown', onKey);

  const refresh = () => {
    TOOLS.forEach((tool, i) => buttons[i]!.setAttribute('aria-pressed', String(tool.active(editor))));
    linkButton.setAttribute('aria-pressed', String(editor.isActive('link')));
  };
  editor.on('transaction', refresh);

  const wrapper = h('div', { class: 'toolbar-row' }, toolbar, linkForm);
  return {
    element: wrapper,
    setEnabled(enabled) {
      buttons.forEach((button) => (button.disabled = !enabled));
      if (!enabled) closeLink(false);
      wrapper.classList.toggle('is-disabled', !enabled);
    },
    destroy() {
      editor.off('transaction', refresh);
      editor.view.dom.removeEventListener('keydown', onKey);
    },
  };
}
