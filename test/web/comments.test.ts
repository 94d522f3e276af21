/**
 * Comments on a paper in two browser profiles (open mode, PostgreSQL): Ada comments on a
 * passage, Grace sees it with the quote and Ada's name and replies, Ada resolves it, Grace sees
 * it resolved. A second comment stays anchored while Grace types before, inside and around
 * its passage (highlight and quote cover the grown passage in both profiles, the API lists it),
 * and shows as detached once the passage is deleted whole.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type AppUnderTest,
  chooseName,
  createDocument,
  documentUrl,
  openContext,
  screenshot,
  startApp,
  stopApp,
} from '../helpers/browser.js';

const NAME = 'Comments e2e';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2ecomments');
});

afterAll(() => stopApp(app));

/** Selects the first occurrence of `text` in the paper (a DOM range the editor picks up). */
async function selectText(page: Page, text: string): Promise<void> {
  await page.locator('.paper-content').focus();
  // A string: the test files are typechecked without the DOM library.
  await page.evaluate(`(() => {
    const needle = ${JSON.stringify(text)};
    const walker = document.createTreeWalker(document.querySelector('.paper-content'), NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const at = node.textContent.indexOf(needle);
      if (at === -1) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + needle.length);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      return;
    }
    throw new Error('no text ' + needle);
  })()`);
  // ProseMirror reads the DOM selection on selectionchange.
  await page.waitForTimeout(100);
}

/** The paper's text without the others' caret labels. */
const paperText = (page: Page) =>
  page.evaluate<string>(`(() => {
    const copy = document.querySelector('.paper-content').cloneNode(true);
    copy.querySelectorAll('.collaboration-carets__caret').forEach((caret) => caret.remove());
    return copy.textContent;
  })()`);
const highlighted = (page: Page) =>
  page
    .locator('.paper-content .comment-highlight')
    .allTextContents()
    .then((parts) => parts.join(''));
const openComments = (page: Page) =>
  page.getByRole('region', { name: 'Comments' }).getByRole('list', { name: 'Open comments' }).getByRole('listitem');

async function apiComments(): Promise<
  { body: string; quote: string | null; detached: boolean; authorName: string | null; resolved: boolean; replies: { body: string }[] }[]
> {
  const response = await fetch(`http://127.0.0.1:${app.server.port}/api/documents/${encodeURIComponent(NAME)}`);
  expect(response.status).toBe(200);
  const json = (await response.json()) as { content: { comments: [] } };
  return json.content.comments;
}

it('adds, answers and resolves a comment, and keeps it anchored while the other one edits', async () => {
  await createDocument(app.server.port, NAME);

  const ada = await openContext(app.browser);
  const grace = await openContext(app.browser);
  await ada.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(ada.page, 'Ada Lovelace');
  await grace.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(grace.page, 'Grace Hopper');

  const adaPaper = ada.page.getByRole('textbox', { name: 'Paper' });
  const gracePaper = grace.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => adaPaper.getAttribute('contenteditable')).toBe('true');
  await expect.poll(() => gracePaper.getAttribute('contenteditable')).toBe('true');

  await adaPaper.click();
  await ada.page.keyboard.type('The engine weaves algebraic patterns. It has no pretensions to originate anything.');
  await expect.poll(() => gracePaper.textContent()).toContain('originate anything.');

  // Ada comments through the toolbar button.
  await selectText(ada.page, 'algebraic patterns');
  await ada.page.getByRole('button', { name: 'Comment', exact: true }).click();
  await ada.page.getByRole('textbox', { name: 'Comment', exact: true }).fill('Which patterns?');
  await ada.page.getByRole('button', { name: 'Add comment' }).click();
  await expect.poll(() => highlighted(ada.page)).toBe('algebraic patterns');

  // Grace sees it: quote, Ada's name, body; the highlight in her editor.
  await expect.poll(() => openComments(grace.page).count()).toBe(1);
  const graceItem = openComments(grace.page).first();
  await expect.poll(() => graceItem.textContent()).toContain('algebraic patterns');
  expect(await graceItem.textContent()).toContain('Ada Lovelace');
  expect(await graceItem.textContent()).toContain('Which patterns?');
  await expect.poll(() => highlighted(grace.page)).toBe('algebraic patterns');

  // Grace replies, by keyboard from the Reply button.
  await graceItem.getByRole('button', { name: 'Reply', exact: true }).click();
  await grace.page.keyboard.type('Jacquard ones.');
  await grace.page.getByRole('button', { name: 'Send reply' }).click();
  const adaItem = openComments(ada.page).first();
  await expect.poll(() => adaItem.textContent()).toContain('Jacquard ones.');
  expect(await adaItem.textContent()).toContain('Grace Hopper');
  await screenshot(ada.page, 'comments-thread');

  // Ada resolves it; Grace sees it under "Resolved", and its highlight goes.
  await adaItem.getByRole('button', { name: 'Resolve', exact: true }).click();
  await expect.poll(() => openComments(grace.page).count()).toBe(0);
  const graceResolvedToggle = grace.page.getByRole('button', { name: /^Resolved/ });
  await expect.poll(() => graceResolvedToggle.textContent()).toBe('Resolved (1)');
  await graceResolvedToggle.click();
  const resolved = grace.page.getByRole('list', { name: 'Resolved comments' }).getByRole('listitem');
  await expect.poll(() => resolved.count()).toBe(1);
  expect(await resolved.first().getByRole('button', { name: 'Reopen' }).count()).toBe(1);
  await expect.poll(() => highlighted(grace.page)).toBe('');
  await screenshot(grace.page, 'comments-resolved');

  // A second comment, by the keyboard shortcut, on "no pretensions".
  await selectText(ada.page, 'no pretensions');
  await ada.page.keyboard.press('Control+Alt+m');
  await ada.page.keyboard.type('Strong claim.');
  await ada.page.keyboard.press('Control+Enter');
  await expect.poll(() => openComments(grace.page).count()).toBe(1);
  await expect.poll(() => highlighted(grace.page)).toBe('no pretensions');

  // Grace types before the passage and inside it, and deletes text around it.
  await selectText(grace.page, 'It has');
  await grace.page.keyboard.press('ArrowLeft');
  await grace.page.keyboard.type('Indeed, ');
  await selectText(grace.page, 'pretensions');
  await grace.page.keyboard.press('ArrowLeft');
  await grace.page.keyboard.type('great ');
  await selectText(grace.page, 'has ');
  await grace.page.keyboard.press('Backspace');
  await selectText(grace.page, ' to originate');
  await grace.page.keyboard.press('Backspace');
  await expect.poll(() => paperText(grace.page)).toContain('Indeed, It no great pretensions anything.');
  for (const page of [ada.page, grace.page]) {
    await expect.poll(() => highlighted(page)).toBe('no great pretensions');
    await expect.poll(() => openComments(page).first().getByRole('button', { name: 'no great pretensions' }).count()).toBe(1);
  }
  await screenshot(grace.page, 'comments-anchored');

  // Grace splits the paragraph just before the passage: the binding writes the moved text as a
  // copy, and her editor re-ties the comment to it.
  await selectText(grace.page, 'no great pretensions');
  await grace.page.keyboard.press('ArrowLeft');
  await grace.page.keyboard.press('Enter');
  await expect.poll(() => grace.page.locator('.paper-content p').count()).toBe(2);
  for (const page of [ada.page, grace.page]) {
    await expect.poll(() => highlighted(page)).toBe('no great pretensions');
    await expect.poll(() => openComments(page).first().getByRole('button', { name: 'no great pretensions' }).count()).toBe(1);
  }

  // The server lists both, with their quotes.
  await expect
    .poll(async () => (await apiComments()).map(({ body, quote, resolved, detached }) => ({ body, quote, resolved, detached })))
    .toEqual([
      { body: 'Which patterns?', quote: 'algebraic patterns', resolved: true, detached: false },
      { body: 'Strong claim.', quote: 'no great pretensions', resolved: false, detached: false },
    ]);
  const first = (await apiComments())[0]!;
  expect(first.authorName).toBe('Ada Lovelace');
  expect(first.replies.map((reply) => reply.body)).toEqual(['Jacquard ones.']);

  // Deleting the passage whole detaches the comment in both profiles.
  await selectText(grace.page, 'no great pretensions');
  await grace.page.keyboard.press('Backspace');
  for (const page of [ada.page, grace.page]) {
    await expect.poll(() => openComments(page).first().getByText('Detached', { exact: true }).count()).toBe(1);
    await expect.poll(() => highlighted(page)).toBe('');
  }
  await expect.poll(async () => (await apiComments())[1]?.detached).toBe(true);
  await screenshot(ada.page, 'comments-detached');

  // Narrow screen: the comments go below the editor.
  await ada.page.setViewportSize({ width: 390, height: 800 });
  await screenshot(ada.page, 'comments-narrow');

  expect(ada.errors).toEqual([]);
  expect(grace.errors).toEqual([]);
}, 90_000);
