/**
 * The "Authors" toggle of a paper, token mode: Ada and Bob each write a paragraph; Ada presses
 * "Authors" (aria-pressed) and the text is coloured by who wrote it, one colour per author, the
 * colours of the legend (the list "Author colours", one item per author with what they wrote);
 * Bob's further typing is coloured once the text is quiet; pressing it again takes colours and
 * legend away.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient, createUser, documentUrl, openContext, screenshot, startApp, stopApp, type AppUnderTest } from '../helpers/browser.js';

const SECRET = 'e2e-secret-authors-0123456789abcdef';
const ADMIN = 'e2e-admin-authors-0123456789abcdef';
const NAME = 'Authored paper';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2eauthors', { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(() => stopApp(app));

/** Each legend entry's name and swatch colour. */
const legendColours = (page: Page) =>
  page.locator('.author-entry').evaluateAll((entries) => {
    type Entry = {
      querySelector(selector: string): { textContent: string | null; style: { getPropertyValue(name: string): string } } | null;
    };
    return Object.fromEntries(
      (entries as unknown as Entry[]).map((entry) => [
        entry.querySelector('.author-name')?.textContent ?? '',
        entry.querySelector('.author-swatch')?.style.getPropertyValue('--author').trim() ?? '',
      ]),
    );
  });

/** Coloured runs as shown: [text, author, --author colour]; neighbouring runs of one author joined. */
const colouredRuns = (page: Page) =>
  page.locator('.paper-content .author-span').evaluateAll((spans) => {
    type Span = { dataset: { author?: string }; style: { getPropertyValue(name: string): string }; textContent: string | null };
    const runs: [string, string, string][] = [];
    for (const span of spans as unknown as Span[]) {
      const author = span.dataset.author ?? '';
      const colour = span.style.getPropertyValue('--author').trim();
      const last = runs[runs.length - 1];
      if (last && last[1] === author && last[2] === colour) last[0] += span.textContent;
      else runs.push([span.textContent ?? '', author, colour]);
    }
    return runs;
  });

it('colours the paper by author and shows who wrote what', async () => {
  const admin = adminClient(app.server.port, ADMIN);
  const ada = await createUser(admin, 'Ada Lovelace');
  const bob = await createUser(admin, 'Bob Babbage');
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Authors', ownerId: ada.id });
  await admin(`/projects/${projectId}/members`, { userId: bob.id, role: 'editor' });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });

  const a = await openContext(app.browser);
  const b = await openContext(app.browser);
  await a.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(ada.token)}`);
  await b.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(bob.token)}`);
  const adaPaper = a.page.getByRole('textbox', { name: 'Paper' });
  const bobPaper = b.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => adaPaper.getAttribute('contenteditable')).toBe('true');
  await expect.poll(() => bobPaper.getAttribute('contenteditable')).toBe('true');
  await adaPaper.click();
  await a.page.keyboard.type('Ada wrote the first paragraph.');
  await a.page.keyboard.press('Enter');
  await expect.poll(() => a.page.getByRole('status').textContent()).toBe('Saved');
  await expect.poll(() => bobPaper.textContent()).toContain('Ada wrote the first paragraph.');
  await bobPaper.click();
  await b.page.keyboard.press('Control+End');
  await b.page.keyboard.type('Bob added this one.');
  await expect.poll(() => b.page.getByRole('status').textContent()).toBe('Saved');
  await expect.poll(() => adaPaper.textContent()).toContain('Bob added this one.');

  const toggle = a.page.getByRole('button', { name: 'Authors' });
  expect(await toggle.getAttribute('aria-pressed')).toBe('false');
  expect(await a.page.locator('.author-span').count()).toBe(0);
  await toggle.click();
  expect(await toggle.getAttribute('aria-pressed')).toBe('true');
  const legend = a.page.getByRole('list', { name: 'Author colours' });
  await expect.poll(() => legend.getByRole('listitem').allTextContents()).toEqual(['Ada Lovelace30 written', 'Bob Babbage19 written']);
  const colours = await legendColours(a.page);
  expect(colours['Ada Lovelace']).toMatch(/^#[0-9a-f]{6}$/);
  expect(colours['Bob Babbage']).toMatch(/^#[0-9a-f]{6}$/);
  expect(colours['Ada Lovelace']).not.toBe(colours['Bob Babbage']);
  await expect
    .poll(() => colouredRuns(a.page))
    .toEqual([
      ['Ada wrote the first paragraph.', 'Ada Lovelace', colours['Ada Lovelace']],
      ['Bob added this one.', 'Bob Babbage', colours['Bob Babbage']],
    ]);
  await screenshot(a.page, 'authors-toggle');

  // Bob types on: once the text is quiet, Ada sees it coloured too.
  await b.page.keyboard.type(' And more.');
  await expect
    .poll(() => colouredRuns(a.page), { timeout: 10_000 })
    .toEqual([
      ['Ada wrote the first paragraph.', 'Ada Lovelace', colours['Ada Lovelace']],
      ['Bob added this one. And more.', 'Bob Babbage', colours['Bob Babbage']],
    ]);

  await toggle.click();
  expect(await toggle.getAttribute('aria-pressed')).toBe('false');
  expect(await a.page.locator('.author-span').count()).toBe(0);
  expect(await a.page.getByRole('list', { name: 'Author colours' }).count()).toBe(0);

  for (const { errors } of [a, b]) expect(errors).toEqual([]);
}, 60_000);
