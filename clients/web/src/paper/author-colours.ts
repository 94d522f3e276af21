import { Extension, type Editor } from '@tiptap/core';
import { Plugin, PluginKey } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';
import type { BlameSpan } from '../../../../server/authorship/authorship-types.js';
import { authorKey, UNKNOWN_AUTHOR_COLOUR } from './author-palette.js';
import type { AuthorRange } from './blame-ranges.js';

/** How the legend and the coloured text name an author. */
export function authorLabel(author: Pick<BlameSpan, 'userId' | 'name'>): string {
  return author.name ?? (author.userId !== null ? 'Unnamed user' : 'Unknown author');
}

const authorColoursKey = new PluginKey<DecorationSet>('authorColours');

/**
 * Colours the text by author: one inline decoration per range, tinted with its author's
 * colour. Between two sets of ranges (`showAuthorRanges`) the decorations follow every edit,
 * and what was typed since is left uncoloured until the next set.
 */
export const AuthorColours = Extension.create({
  name: 'authorColours',

  addProseMirrorPlugins() {
    return [
      new Plugin<DecorationSet>({
        key: authorColoursKey,
        state: {
          init: () => DecorationSet.empty,
          apply(tr, decorations) {
            const shown = tr.getMeta(authorColoursKey) as Shown | null | undefined;
            if (shown === null) return DecorationSet.empty;
            if (shown !== undefined) {
              return DecorationSet.create(
                tr.doc,
                shown.ranges.map(({ from, to, author }) =>
                  Decoration.inline(from, to, {
                    class: 'author-span',
                    style: `--author: ${shown.colours.get(authorKey(author)) ?? UNKNOWN_AUTHOR_COLOUR}`,
                    'data-author': authorLabel(author),
                  }),
                ),
              );
            }
            return tr.docChanged ? decorations.map(tr.mapping, tr.doc) : decorations;
          },
        },
        props: { decorations: (state) => authorColoursKey.getState(state) ?? DecorationSet.empty },
      }),
    ];
  },
});

interface Shown {
  readonly ranges: readonly AuthorRange[];
  readonly colours: ReadonlyMap<string, string>;
}

/** Colours these ranges, each in its author's colour from `colours` (null: none). */
export function showAuthorRanges(editor: Editor, shown: Shown | null): void {
  if (editor.isDestroyed) return;
  editor.view.dispatch(editor.state.tr.setMeta(authorColoursKey, shown).setMeta('addToHistory', false));
}
