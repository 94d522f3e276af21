import type { Editor } from '@tiptap/core';
import { ApiError, type Api, type DocumentAuthor, type PaperBlame } from '../api.js';
import { h, setText } from '../element.js';
import { colourFor, PALETTE } from '../session/identity.js';
import { authorLabel, showAuthorRanges } from './author-colours.js';
import { assignAuthorColours, authorKey } from './author-palette.js';
import { blameRanges } from './blame-ranges.js';

/** While the colours are on, they are asked for again this long after the text last changed. */
const REFRESH_AFTER_EDIT_MS = 1_500;

export interface AuthorsPanel {
  /** The "Authors" toggle (aria-pressed), for the document's actions. */
  readonly toggle: HTMLButtonElement;
  /** The legend: one list item per author with their colour; hidden while the toggle is off. */
  readonly legend: HTMLElement;
  destroy(): void;
}

const count = (n: number): string => n.toLocaleString('en');

interface LegendEntry {
  readonly author: Pick<DocumentAuthor, 'userId' | 'name'>;
  readonly detail: string;
}

/** The authors in the server's order (most written first), then anyone the text names who is not among them. */
function legendEntries(authors: readonly DocumentAuthor[], blame: PaperBlame): LegendEntry[] {
  const entries: LegendEntry[] = authors.map((author) => ({
    author,
    detail: `${count(author.insertedChars)} written${author.deletedChars > 0 ? `, ${count(author.deletedChars)} deleted` : ''}`,
  }));
  // Text whose author is unknown (its history deleted by retention) has no authors entry.
  const listed = new Set(entries.map((entry) => authorKey(entry.author)));
  for (const span of blame.spans) {
    if (listed.has(authorKey(span))) continue;
    listed.add(authorKey(span));
    entries.push({ author: span, detail: 'history not kept' });
  }
  return entries;
}

/**
 * "Authors": colours the paper's text by who wrote it (GET …/blame) and lists the authors with
 * their colours and what each wrote and deleted (GET …/authors). While on, the colours are
 * fetched again once the text has been quiet for a moment; a blame made of another text than
 * the editor's (edits crossed it) is not shown, and the next one is asked for.
 */
export function createAuthorsPanel(editor: Editor, api: Api, name: string): AuthorsPanel {
  let on = false;
  let request = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const toggle = h(
    'button',
    { type: 'button', class: 'button small', 'aria-pressed': 'false', 'aria-controls': 'authors-legend' },
    'Authors',
  );
  const list = h('ul', { class: 'author-list', 'aria-label': 'Author colours' });
  const message = h('p', { class: 'authors-message muted', 'aria-live': 'polite' });
  const legend = h('section', { id: 'authors-legend', class: 'authors-legend', hidden: true }, list, message);

  const schedule = (delay: number): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      refresh();
    }, delay);
  };

  function refresh(): void {
    const current = ++request;
    Promise.all([api.paperBlame(name), api.authors(name)]).then(
      ([blame, authors]) => {
        if (current !== request || !on) return;
        const ranges = blameRanges(editor.state.doc, blame);
        // Text arrived or was typed while the server answered: ask again once it is quiet.
        if (ranges === null) return schedule(REFRESH_AFTER_EDIT_MS);
        const entries = legendEntries(authors, blame);
        const colours = assignAuthorColours(
          entries.map((entry) => entry.author),
          colourFor,
          PALETTE.map((colour) => colour.value),
        );
        showAuthorRanges(editor, { ranges, colours });
        renderLegend(entries, colours);
        setText(message, authors.length === 0 ? 'Nobody has written anything yet.' : '');
      },
      (error: unknown) => {
        if (current !== request || !on) return;
        setText(message, `Authors could not be shown: ${error instanceof ApiError ? error.message : 'unexpected error'}.`);
      },
    );
  }

  function renderLegend(entries: readonly LegendEntry[], colours: ReadonlyMap<string, string>): void {
    list.replaceChildren(
      ...entries.map(({ author, detail }) =>
        h(
          'li',
          { class: 'author-entry' },
          h('span', { class: 'author-swatch', style: `--author: ${colours.get(authorKey(author))}`, 'aria-hidden': 'true' }),
          h('span', { class: 'author-name' }, authorLabel(author)),
          h('span', { class: 'author-detail' }, detail),
        ),
      ),
    );
  }

  function setOn(value: boolean): void {
    on = value;
    toggle.setAttribute('aria-pressed', String(value));
    legend.hidden = !value;
    request++;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (value) {
      setText(message, 'Finding who wrote what…');
      refresh();
    } else {
      showAuthorRanges(editor, null);
      list.replaceChildren();
      setText(message, '');
    }
  }
  toggle.addEventListener('click', () => setOn(!on));

  const onUpdate = (): void => {
    if (on) schedule(REFRESH_AFTER_EDIT_MS);
  };
  editor.on('update', onUpdate);

  return {
    toggle,
    legend,
    destroy() {
      on = false;
      request++;
      if (timer !== null) clearTimeout(timer);
      editor.off('update', onUpdate);
    },
  };
}
