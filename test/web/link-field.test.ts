/**
 * The toolbar's link field takes a bare address: "example.org/paper" becomes a link to
 * https://example.org/paper, applied with Enter or with "Apply" (the field was an
 * `<input type="url">`, whose validation refused it with "Please enter a URL." before the
 * form's code could add the scheme). An address with a scheme is kept as typed.
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

const editorHtml = (page: Page): Promise<string> =>
  page.evaluate(`document.querySelector('[role="textbox"][aria-label="Paper"]').editor.getHTML()`) as Promise<string>;

/** The text of the paper's link to `href`, or null when there is none. */
const linkText = (page: Page, href: string): Promise<string | null> =>
  page.evaluate(`document.querySelector(${JSON.stringify(`.paper-content a[href="${href}"]`)})?.textContent ?? null`) as Promise<
    string | null
  >;

/** Selects the last `count` characters before the caret. */
async function selectBack(page: Page, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await page.keyboard.press('Shift+ArrowLeft');
}

it('links the selection to a bare address, with Enter or Apply', { timeout: 60_000 }, async () => {
  const profile = await openContext(browser);
  const { page } = profile;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await chooseName(page, 'Lin Ker');
  await page.goto(documentUrl(server.port, 'Links'));
  const paper = page.getByRole('textbox', { name: 'Paper' });
  const field = page.getByRole('textbox', { name: 'Link address' });
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await paper.click();

  // Ctrl+K, a bare address, Enter.
  await page.keyboard.type('Read the paper');
  await selectBack(page, 'paper'.length);
  await page.keyboard.press('Control+k');
  await expect.poll(() => page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Link address');
  await page.keyboard.type('example.org/paper');
  await page.keyboard.press('Enter');
  await expect.poll(() => linkText(page, 'https://example.org/paper'), { timeout: 5_000 }).toBe('paper');
  expect(await field.isVisible()).toBe(false);

  // The toolbar's Link button, a bare address, Apply.
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('Second source');
  await selectBack(page, 'source'.length);
  await page.getByRole('button', { name: 'Link', exact: true }).click();
  await field.fill('example.org/two?x=1#notes');
  await screenshot(page, 'link-field');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect.poll(() => linkText(page, 'https://example.org/two?x=1#notes'), { timeout: 5_000 }).toBe('source');

  // An address with a scheme stays as typed.
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await page.keyboard.type('Write to me');
  await selectBack(page, 'me'.length);
  await page.keyboard.press('Control+k');
  await page.keyboard.type('mailto:lin@example.org');
  await page.keyboard.press('Enter');
  await expect.poll(() => linkText(page, 'mailto:lin@example.org'), { timeout: 5_000 }).toBe('me');

  expect(await editorHtml(page)).toMatch(
    /^<p>Read the <a [^>]*href="https:\/\/example\.org\/paper"[^>]*>paper<\/a><\/p><p>Second <a [^>]*href="https:\/\/example\.org\/two\?x=1#notes"[^>]*>source<\/a><\/p><p>Write to <a [^>]*href="mailto:lin@example\.org"[^>]*>me<\/a><\/p>$/,
  );
  expect(profile.errors).toEqual([]);
});
