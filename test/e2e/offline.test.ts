/**
 * Losing the server (stopped), or the browser going offline: the save state says "Offline — N changes pending" with the edits made
 * meanwhile, the editor keeps working, and when a server is back on the same address the
 * pending edits are sent, committed and acknowledged ("Saved"), and stored.
 */
import type { Browser } from 'playwright-core';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { chooseName, documentUrl, launchBrowser, openContext, screenshot, startAppServer, storedPaperText } from './browser.js';

const NAME = 'offline notes';
let database: TestDatabase;
let server: RunningServer;
let browser: Browser;
let sql: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('e2eoffline');
  server = await startAppServer({ storage: 'durable', databaseUrl: database.url, transport: 'ws' });
  browser = await launchBrowser();
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sql?.end();
  await database?.drop();
});

it('counts the changes pending while offline and saves them once the server is back', async () => {
  await fetch(`http://127.0.0.1:${server.port}/api/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: NAME, kind: 'paper' }) });
  const ada = await openContext(browser);
  await ada.page.goto(documentUrl(server.port, NAME));
  await chooseName(ada.page, 'Ada');
  const paper = ada.page.getByRole('textbox', { name: 'Paper' });
  const status = ada.page.getByRole('status');
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await paper.click();
  await ada.page.keyboard.type('Online. ');
  await expect.poll(() => status.textContent()).toBe('Saved');

  const port = server.port;
  await server.close();
  await expect.poll(() => status.textContent()).toBe('Offline — 0 changes pending');
  await ada.page.keyboard.type('Offline');
  await expect.poll(() => status.textContent()).toMatch(/^Offline — ([1-9]\d*) changes pending$/);
  const pending = Number(/(\d+) changes/.exec((await status.textContent()) ?? '')![1]);
  expect(pending).toBeGreaterThanOrEqual(1);
  expect(await paper.getAttribute('contenteditable')).toBe('true');
  await screenshot(ada.page, 'save-state-offline');
  expect(await storedPaperText(sql, NAME)).toBe('Online. ');

  // A new server on the same address (the ws transport: uWS keeps a closed port bound within one process).
  server = await waitFor(() => startAppServer({ storage: 'durable', databaseUrl: database.url, transport: 'ws', port }), 10_000, 'the port to be free again', 200);
  await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe('Saved');
  expect(await storedPaperText(sql, NAME)).toBe('Online. Offline');
  // The browser reports refused reconnection attempts itself; the app logs nothing.
  expect(ada.errors.filter((error) => !/WebSocket connection to .* failed/.test(error))).toEqual([]);
}, 60_000);

it('counts the changes made while the browser itself is offline, and saves them when it is back', async () => {
  await fetch(`http://127.0.0.1:${server.port}/api/documents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'train notes', kind: 'paper' }) });
  const ada = await openContext(browser);
  await ada.page.goto(documentUrl(server.port, 'train notes'));
  await chooseName(ada.page, 'Ada');
  const paper = ada.page.getByRole('textbox', { name: 'Paper' });
  const status = ada.page.getByRole('status');
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await paper.click();
  await ada.page.keyboard.type('abc');
  await expect.poll(() => status.textContent()).toBe('Saved');

  await ada.context.setOffline(true);
  await expect.poll(() => status.textContent()).toBe('Offline — 0 changes pending');
  await ada.page.keyboard.type('def');
  await expect.poll(() => status.textContent()).toBe('Offline — 3 changes pending');
  await ada.context.setOffline(false);
  await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe('Saved');
  expect(await storedPaperText(sql, 'train notes')).toBe('abcdef');
  expect(ada.errors).toEqual([]);
}, 60_000);
