/**
 * Open mode, keyboard alone: choose a name, create a paper from the list, reach the editor,
 * write, format through the toolbar (one tab stop, arrow keys inside); a new name in the URL
 * opens a new paper (open mode creates documents on first use).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { documentUrl, launchBrowser, openContext, screenshot, startAppServer } from '../helpers/browser.js';

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

/** Presses Tab until the focused element matches, at most `limit` times. */
async function tabTo(page: Page, matches: string, limit = 15): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(matches)}) ?? false`)) return;
  }
  throw new Error(`Tab never reached ${matches}`);
}

it('can be used with the keyboard alone', async () => {
  const kay = await openContext(browser);
  const { page } = kay;
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await screenshot(page, 'sign-in-name');
  // The name field has the focus on arrival.
  await page.keyboard.type('Kay Board');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.getByRole('heading', { name: 'New document' }).count()).toBe(1);

  await tabTo(page, '#new-name');
  await page.keyboard.type('Keyboard paper');
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press('Enter');
  await expect.poll(() => new URL(page.url()).pathname).toBe('/d/Keyboard%20paper');

  const paper = page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await tabTo(page, '[role="textbox"]');
  await page.keyboard.type('Typed by keyboard.');

  // Back to the toolbar, arrow to Bold, toggle it: the focus returns to the text.
  await page.keyboard.press('Shift+Tab');
  expect(await page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Heading 1');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  expect(await page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Bold');
  await page.keyboard.press('Enter');
  expect(await page.getByRole('button', { name: 'Bold' }).getAttribute('aria-pressed')).toBe('true');
  await page.keyboard.type(' Strong words.');
  await expect.poll(() => paper.locator('strong').textContent()).toContain('Strong words.');
  await expect.poll(() => page.getByRole('status').textContent()).toBe('Saved');

  // Open mode creates documents on first use: a new name in the URL is a new, empty paper.
  await page.goto(documentUrl(server.port, 'Not there yet'));
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await tabTo(page, '[role="textbox"]');
  await page.keyboard.type('Created by opening it.');
  await expect.poll(() => page.getByRole('status').textContent()).toBe('Saved');
  const listed = (await (await fetch(`http://127.0.0.1:${server.port}/api/documents`)).json()) as { name: string; kind: string }[];
  expect(listed.find((document) => document.name === 'Not there yet')?.kind).toBe('paper');
  expect(kay.errors).toEqual([]);
}, 90_000); // a long walk through the app by keyboard; a loaded machine needs more than the default
