/**
 * renderPaper reads the `default` fragment as an editor would: its JSON, parsed by the
 * editor's schema, is the very document that was written, and `text` follows the rule.
 */
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, CommentError } from '../../server/documents/comments.js';
import { renderPaper } from '../../server/documents/paper.js';
import { code, editorJSON, h, li, ol, p, paperDoc, quote, schemaNode, text, ul } from '../helpers/documents.js';

const link = { type: 'link', attrs: { href: 'https://example.org/paper', target: '_blank' } };

describe('renderPaper', () => {
  test('an empty document renders as an empty doc with empty text', () => {
    const content = renderPaper(new Y.Doc());
    expect(content).toEqual({ type: 'doc', content: [], text: '', comments: [] });
  });

  test('headings, marks, lists, blockquote and code block round-trip through the editor schema', () => {
    const blocks = [
      h(1, 'Results'),
      p(
        'Plain, ',
        text('bold', { type: 'bold' }),
        ', ',
        text('italic', { type: 'italic' }),
        ', ',
        text('both', { type: 'bold' }, { type: 'italic' }),
        ', ',
        text('x = 1', { type: 'code' }),
        ' and ',
        text('a link', link),
      ),
      ul(li(p('first point')), li(p('second point'), ol(li(p('nested one')), li(p('nested two'))))),
      quote(p('Quoted line one'), p('Quoted line two')),
      code('const a = 1;\nconst b = 2;', 'ts'),
      h(3, 'Discussion'),
    ];
    const content = renderPaper(paperDoc(blocks));
    // Parsing the rendered JSON with the editor's schema gives back the written document.
    expect(schemaNode({ type: 'doc', content: content.content }).toJSON()).toEqual(editorJSON(blocks));
    expect(content.type).toBe('doc');
  });

  test('the JSON keeps node attributes and marks the way ProseMirror serializes them', () => {
    const content = renderPaper(
      paperDoc([h(2, 'Title'), p(text('strong', { type: 'bold' }), ' ', text('site', link)), code('x', 'python')]),
    );
    expect(content.content[0]).toEqual({ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Title' }] });
    const paragraph = content.content[1]!;
    expect(paragraph.content![0]).toEqual({ type: 'text', text: 'strong', marks: [{ type: 'bold' }] });
    expect(paragraph.content![2]!.marks![0]).toMatchObject({
      type: 'link',
      attrs: { href: 'https://example.org/paper', target: '_blank' },
    });
    expect(content.content[2]).toEqual({ type: 'codeBlock', attrs: { language: 'python' }, content: [{ type: 'text', text: 'x' }] });
  });

  test('text: one line per leaf block joined by newlines, hard breaks and code newlines kept', () => {
    const content = renderPaper(
      paperDoc([
        h(1, 'Title'),
        p('Hello ', text('world', { type: 'bold' }), { type: 'hardBreak' }, 'second line'),
        p(),
        ul(li(p('one')), li(p('two'), ul(li(p('deep'))))),
        quote(p('q')),
        { type: 'horizontalRule' },
        code('a\nb'),
        p('end'),
      ]),
    );
    expect(content.text).toBe('Title\nHello world\nsecond line\n\none\ntwo\ndeep\nq\n\na\nb\nend');
  });

  test('text of an edited document follows live edits', () => {
    const doc = paperDoc([p('alpha'), p('omega')]);
    const second = doc.getXmlFragment('default').get(1) as Y.XmlElement;
    (second.get(0) as Y.XmlText).insert(0, 'the ');
    const heading = new Y.XmlElement('heading');
    heading.setAttribute('level', 2 as unknown as string);
    heading.insert(0, [new Y.XmlText('Intro')]);
    doc.getXmlFragment('default').insert(0, [heading]);
    const content = renderPaper(doc);
    expect(content.text).toBe('Intro\nalpha\nthe omega');
    expect(content.content[0]).toEqual({ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Intro' }] });
  });

  test('a `default` written as a plain Y.Text by a non-editor client renders as paragraphs instead of failing', () => {
    const writer = new Y.Doc();
    writer.getText('default').insert(0, 'first line\n\nthird line');
    writer.getText('default').format(0, 5, { bold: true });
    const expected = {
      type: 'doc',
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'first line' }] },
        { type: 'paragraph' },
        { type: 'paragraph', content: [{ type: 'text', text: 'third line' }] },
      ],
      text: 'first line\n\nthird line',
      comments: [],
    };
    // Read from its updates (as the server does) and in the writer's own Y.Doc.
    const reader = new Y.Doc();
    Y.applyUpdate(reader, Y.encodeStateAsUpdate(writer));
    expect(renderPaper(reader)).toEqual(expected);
    expect(renderPaper(writer)).toEqual(expected);
    // No comment can anchor in such content.
    expect(() => addComment(reader, { anchor: { from: 0, to: 5 }, body: 'x', author: { id: null, name: null } })).toThrow(CommentError);
  });

  test('text written straight into the fragment renders as a paragraph, one line, and comments quote it', () => {
    const doc = paperDoc([p('before')]);
    const loose = new Y.XmlText();
    doc.getXmlFragment('default').push([loose]);
    loose.insert(0, 'loose text here');
    loose.format(0, 5, { bold: {} });
    const content = renderPaper(doc);
    expect(content.content[1]).toEqual({
      type: 'paragraph',
      content: [
        { type: 'text', text: 'loose', marks: [{ type: 'bold' }] },
        { type: 'text', text: ' text here' },
      ],
    });
    expect(content.text).toBe('before\nloose text here');
    const id = addComment(doc, { anchor: { from: 13, to: 17 }, body: 'x', author: { id: null, name: null } });
    expect(renderPaper(doc).comments.find((comment) => comment.id === id)!.quote).toBe('text');
  });
});
