/**
 * Two people edit the same paper in two browser profiles (open mode, PostgreSQL): each sees
 * the other's text, the other's caret labelled with their name, and the other's avatar in
 * "People in this document"; the list page shows the document and who is in it.
 */
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

const NAME = 'Field notes / 2026.v1';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2epaper');
});

afterAll(() => stopApp(app));

it('shows each person the other one’s text, caret label and avatar', async () => {
  await createDocument(app.server.port, NAME);

  const ada = await openContext(app.browser);
  const grace = await openContext(app.browser);

  // Ada starts from the list and follows the link; Grace opens the shared URL directly.
  await ada.page.goto(`http://127.0.0.1:${app.server.port}/`);
  await chooseName(ada.page, 'Ada Lovelace');
  await expect.poll(() => ada.page.getByRole('link', { name: NAME }).count()).toBe(1);
  await screenshot(ada.page, 'document-list');
  await ada.page.getByRole('link', { name: NAME }).click();
  expect(new URL(ada.page.url()).pathname).toBe(`/d/${encodeURIComponent(NAME)}`);

  await grace.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(grace.page, 'Grace Hopper');

  const adaPaper = ada.page.getByRole('textbox', { name: 'Paper' });
  const gracePaper = grace.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => adaPaper.getAttribute('contenteditable')).toBe('true');
  await expect.poll(() => gracePaper.getAttribute('contenteditable')).toBe('true');
  await expect.poll(() => ada.page.getByRole('status').textContent()).toBe('Saved');

  await adaPaper.click();
  await ada.page.keyboard.type('Hello from Ada.');
  await expect.poll(() => gracePaper.textContent()).toContain('Hello from Ada.');

  await gracePaper.click();
  await grace.page.keyboard.press('Control+End');
  await grace.page.keyboard.press('Enter');
  await grace.page.keyboard.type('And Grace replies.');
  await expect.poll(() => adaPaper.textContent()).toContain('And Grace replies.');

  // Carets: each sees the other's, labelled with the name.
  await expect.poll(() => ada.page.locator('.collaboration-carets__label').allTextContents()).toEqual(['Grace Hopper']);
  await expect.poll(() => grace.page.locator('.collaboration-carets__label').allTextContents()).toEqual(['Ada Lovelace']);

  // Avatars: everyone in the document, one listitem per person, named by display name.
  for (const { page } of [ada, grace]) {
    const people = page.getByRole('list', { name: 'People in this document' });
    await expect.poll(() => people.getByRole('listitem').count()).toBe(2);
    expect(await people.getByRole('listitem', { name: 'Ada Lovelace', exact: true }).count()).toBe(1);
    expect(await people.getByRole('listitem', { name: 'Grace Hopper', exact: true }).count()).toBe(1);
  }

  // Who is typing: Grace sees Ada typing while she types.
  await adaPaper.click();
  await ada.page.keyboard.type(' More');
  await expect.poll(() => grace.page.getByText('Ada Lovelace is typing…').count()).toBe(1);
  await expect.poll(() => ada.page.getByRole('status').textContent()).toBe('Saved');
  await screenshot(ada.page, 'paper-editor');

  // Narrow screen: the same page still works and shows everything.
  await ada.page.setViewportSize({ width: 390, height: 800 });
  await screenshot(ada.page, 'paper-editor-narrow');

  // The list shows who is in the document right now (open mode: anonymous to the server).
  await grace.page.getByRole('link', { name: 'Documents', exact: true }).click();
  await expect.poll(() => grace.page.getByRole('img', { name: 'Here now: 1 guest' }).count(), { timeout: 10_000 }).toBe(1);
  await screenshot(grace.page, 'document-list-presence');

  expect(ada.errors).toEqual([]);
  expect(grace.errors).toEqual([]);
}, 60_000);
