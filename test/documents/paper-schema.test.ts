/**
 * The server's paper schema (server/documents/formats/paper-schema.ts) restates the browser
 * app's (Tiptap StarterKit as clients/web configures it): every node and mark, content
 * expression, group, attribute default and mark exclusion must match, so a StarterKit
 * upgrade that changes the schema fails here instead of making the server write content the
 * editor would rewrite.
 */
import { getSchema } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import type { Schema } from 'prosemirror-model';
import { describe, expect, test } from 'vitest';
import { paperSchema } from '../../server/documents/formats/paper-schema.js';

// As clients/web/src/paper/paper-editor.ts configures it.
const editorSchema = getSchema([
  StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
]);

function describeSchema(schema: Schema) {
  const attrs = (spec: Readonly<Record<string, { readonly default?: unknown }>>) =>
    Object.fromEntries(Object.entries(spec).map(([name, attr]) => [name, attr.default]));
  return {
    nodes: Object.fromEntries(
      Object.entries(schema.nodes).map(([name, type]) => [
        name,
        {
          content: type.spec.content ?? '',
          group: type.spec.group ?? '',
          marks: type.spec.marks ?? null,
          inline: type.isInline,
          code: type.spec.code ?? false,
          attrs: attrs(type.spec.attrs ?? {}),
        },
      ]),
    ),
    marks: Object.fromEntries(
      Object.entries(schema.marks).map(([name, type]) => [
        name,
        { attrs: attrs(type.spec.attrs ?? {}), excludes: type.spec.excludes ?? null },
      ]),
    ),
    markRanks: Object.keys(schema.marks),
    topNode: schema.topNodeType.name,
  };
}

describe('paper schema', () => {
  test('matches the editor schema: nodes, marks, content, attributes and their defaults', () => {
    expect(describeSchema(paperSchema)).toEqual(describeSchema(editorSchema));
  });

  test('marks exclude each other as in the editor (code excludes every other mark)', () => {
    for (const [name, type] of Object.entries(editorSchema.marks)) {
      for (const other of Object.keys(editorSchema.marks)) {
        expect(paperSchema.marks[name]!.excludes(paperSchema.marks[other]!), `${name} excludes ${other}`).toBe(
          type.excludes(editorSchema.marks[other]!),
        );
      }
    }
  });
});
