/**
 * Typing and moving the caret in a paper land where they should. Paper blocks carry
 * `content-visibility: auto` (off-screen blocks skip layout, for the load time of long papers),
 * and Chromium's own editing in or into a skipped block went wrong:
 * - a block just created is skipped until the next frame decides it is on screen; the first
 *   character typed into it before then (right after Enter, "## ", "- ") was inserted with the
 *   caret left in front of it, so the rest of the line went before it and it rode along at the
 *   end of every later line (`<p>hree</p>…<p>fivet</p>`);
 * - Ctrl+End put the caret at the start of the last block, not at its end (and Shift+Ctrl+End
 *   selected to there); ↑ right after it, and ↓ or Shift+↓ with the caret scrolled out of view,
 *   skipped whole runs of blocks (the 5th block to the 93rd in four presses).
 * The blocks near the selection are now always laid out and Ctrl+Home/End are the editor's
 * (clients/web/src/paper/near-caret.ts).
 *
 * The first test types into fresh papers with Playwright's keyboard, as fast as it goes (delay
 * 0: the next key often arrives before the next frame, as it does for a typist on a busy page)
 * and at a typist's pace (30–60 ms between keys), and checks the exact blocks. The second moves
 * the caret with the keyboard in a paper of 300 blocks and checks where it lands and what is
 * typed there.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { chooseName, documentUrl, launchBrowser, openContext, screenshot, startAppServer } from '../helpers/browser.js';

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  server = await startAppServer({ storage: 'memory' });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** What is typed ("\n" is Enter) and the paper it must make; a heading or a list made at the end of a paper gets an empty paragraph after it (Tiptap's trailing node). */
const CASES: readonly { readonly label: string; readonly keys: string; readonly html: string }[] = [
  { label: 'lines', keys: 'one\ntwo\nthree\nfour\nfive', html: '<p>one</p><p>two</p><p>three</p><p>four</p><p>five</p>' },
  { label: 'heading', keys: '## Title\nfirst\nsecond', html: '<h2>Title</h2><p>first</p><p>second</p><p></p>' },
  {
    label: 'list',
    keys: '- alpha\nbeta\ngamma\n\nafter',
    html: '<ul><li><p>alpha</p></li><li><p>beta</p></li><li><p>gamma</p></li></ul><p>after</p><p></p>',
  },
];
/** Milliseconds between keys, each run once per case. */
const DELAYS = [0, 0, 0, 30, 45, 60];

const editorHtml = (page: Page): Promise<string> =>
  page.evaluate(`document.querySelector('[role="textbox"][aria-label="Paper"]').editor.getHTML()`) as Promise<string>;
/** Two animation frames: what was typed has been rendered and read back. */
const frames = (page: Page): Promise<unknown> =>
  page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');

it('puts the first character typed into a new block into that block', { timeout: 240_000 }, async () => {
  const profile = await openContext(browser);
  const { page } = profile;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await chooseName(page, 'Tess Typist');
  const paper = page.getByRole('textbox', { name: 'Paper' });
  const wrong: string[] = [];
  let run = 0;
  for (const delay of DELAYS) {
    for (const { label, keys, html } of CASES) {
      await page.goto(documentUrl(server.port, `Typing ${++run}`));
      await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
      await paper.click();
      await page.keyboard.type(keys, { delay });
      await frames(page);
      const got = await editorHtml(page);
      if (got !== html) wrong.push(`${label}, ${delay} ms between keys: ${got}`);
    }
  }
  await screenshot(page, 'typing-after-enter');
  expect(wrong, `${wrong.length} of ${run} runs`).toEqual([]);
  expect(profile.errors).toEqual([]);
});

/** Where the editor's selection is: top-level block index and offset in it, of its start and end. */
interface Place {
  readonly from: readonly [number, number];
  readonly to: readonly [number, number];
}

it('moves the caret and types exactly in a paper longer than the screen', { timeout: 180_000 }, async () => {
  const profile = await openContext(browser);
  const { page } = profile;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await chooseName(page, 'Tess Typist');
  const paper = page.getByRole('textbox', { name: 'Paper' });
  const EDITOR = `document.querySelector('[role="textbox"][aria-label="Paper"]').editor`;
  // One line each, so that the arrow keys move a block at a time.
  const blocks = Array.from({ length: 300 }, (_, i) => `Paragraph ${i + 1}.`);
  let papers = 0;
  /** A fresh paper holding `blocks`, scrolled to the top and drawn. */
  const fresh = async () => {
    await page.goto(documentUrl(server.port, `Long paper ${++papers}`));
    await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
    await page.evaluate(`${EDITOR}.commands.setContent(${JSON.stringify(blocks.map((text) => `<p>${text}</p>`).join(''))})`);
    await page.evaluate('scrollTo(0, 0)');
    await frames(page);
  };
  /** The caret at the start of "Paragraph n.", by a click. */
  const clickStart = (n: number) => paper.getByText(`Paragraph ${n}.`, { exact: true }).click({ position: { x: 1, y: 5 } });
  /** Scrolls to the end of the page, away from the caret, and lets the blocks near it leave the layout. */
  const scrollAway = async () => {
    await page.evaluate('scrollTo(0, document.body.scrollHeight)');
    await frames(page);
    await frames(page);
  };
  /**
   * A key, then two frames: the editor has read where the key put the caret before anything
   * else happens (an editor update between the two puts the caret back where the editor had it,
   * as test/web/formatted-editing.test.ts notes). The blocks near the caret, scrolled out of
   * view, stay out of the layout all the same.
   */
  const press = async (key: string) => {
    await page.keyboard.press(key);
    await frames(page);
  };
  const texts = (): Promise<string[]> =>
    page.evaluate(`${EDITOR}.getJSON().content.map((block) => (block.content ?? []).map((text) => text.text).join(''))`) as Promise<
      string[]
    >;
  const place = (): Promise<Place> =>
    page.evaluate(
      `(() => { const { $from, $to } = ${EDITOR}.state.selection; return { from: [$from.index(0), $from.parentOffset], to: [$to.index(0), $to.parentOffset] }; })()`,
    ) as Promise<Place>;
  const wrong: string[] = [];
  const check = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${what}: ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  };

  for (let round = 1; round <= 2; round++) {
    // Ctrl+End and lines typed at once: at the end of the last block, one block each.
    await fresh();
    await clickStart(5);
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nend one\nend two');
    await frames(page);
    check(`round ${round}, Ctrl+End and lines`, (await texts()).slice(-3), ['Paragraph 300.', 'end one', 'end two']);

    // Lines typed in the middle: Enter splits the block, the rest of it follows the new lines.
    await clickStart(150);
    await page.keyboard.type('mid one\nmid two\n');
    await frames(page);
    check(`round ${round}, lines in the middle`, (await texts()).slice(148, 152), [
      'Paragraph 149.',
      'mid one',
      'mid two',
      'Paragraph 150.',
    ]);

    // ↑ right after Ctrl+End, then Home: three blocks up.
    await page.keyboard.press('Control+End');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Home');
    await page.keyboard.type('X');
    await frames(page);
    check(`round ${round}, Ctrl+End, ↑×3, Home`, (await texts()).slice(-4), ['XParagraph 299.', 'Paragraph 300.', 'end one', 'end two']);

    // Ctrl+Home from there, Shift+Ctrl+End from the 5th block.
    await page.keyboard.press('Control+Home');
    check(`round ${round}, Ctrl+Home`, await place(), { from: [0, 0], to: [0, 0] });
    await clickStart(5);
    await page.keyboard.press('Control+Shift+End');
    check(`round ${round}, Shift+Ctrl+End`, await place(), { from: [4, 0], to: [303, 'end two'.length] });

    // ↓ and Shift+↓ with the caret scrolled out of view: a block a key.
    await fresh();
    await clickStart(5);
    await scrollAway();
    for (let i = 0; i < 4; i++) await press('ArrowDown');
    await page.keyboard.type('X');
    await frames(page);
    check(`round ${round}, ↓×4 after scrolling away`, (await texts()).slice(4, 9), [
      'Paragraph 5.',
      'Paragraph 6.',
      'Paragraph 7.',
      'Paragraph 8.',
      'XParagraph 9.',
    ]);
    await fresh();
    await clickStart(5);
    await scrollAway();
    for (let i = 0; i < 4; i++) await press('Shift+ArrowDown');
    check(`round ${round}, Shift+↓×4 after scrolling away`, await place(), { from: [4, 0], to: [8, 0] });
  }
  await scrollAway();
  await screenshot(page, 'typing-after-enter-long');
  expect(wrong).toEqual([]);
  expect(profile.errors).toEqual([]);
});
