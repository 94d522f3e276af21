/**
 * "Saved" means saved on disk: while PostgreSQL cannot take the edit (the update log is
 * locked), the editor says "Saving…" and the database does not have it; at the moment
 * "Saved" shows, the database has every character typed.
 */
import type { Browser } from 'playwright-core';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  chooseName,
  createDocument,
  documentUrl,
  launchBrowser,
  openContext,
  screenshot,
  startAppServer,
  storedPaperText,
} from '../helpers/browser.js';

const NAME = 'durable paper';
let database: TestDatabase;
let server: RunningServer;
let browser: Browser;
let sql: pg.Client;
let locker: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('e2esaved');
  server = await startAppServer({ storage: 'durable', databaseUrl: database.url });
  browser = await launchBrowser();
  sql = new pg.Client({ connectionString: database.url });
  locker = new pg.Client({ connectionString: database.url });
  await Promise.all([sql.connect(), locker.connect()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await Promise.all([sql?.end(), locker?.end()]);
  await database?.drop();
});

it('says "Saved" only once the server has committed every local change', async () => {
  await createDocument(server.port, NAME);
  const ada = await openContext(browser);
  await ada.page.goto(documentUrl(server.port, NAME));
  await chooseName(ada.page, 'Ada');
  const paper = ada.page.getByRole('textbox', { name: 'Paper' });
  const status = ada.page.getByRole('status');
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await expect.poll(() => status.textContent()).toBe('Saved');

  // Hold the update log: inserts wait (reads do not), so nothing can be acknowledged.
  await locker.query('begin');
  await locker.query('lock table collaborations in exclusive mode');
  await paper.click();
  await ada.page.keyboard.type('Kept on disk.');
  await expect.poll(() => status.textContent()).toBe('Saving…');
  await screenshot(ada.page, 'save-state-saving');
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await status.textContent()).toBe('Saving…');
  }
  expect(await storedPaperText(sql, NAME)).toBe('');

  // Let the commit through, and record the page's save state when it turns "Saved".
  await locker.query('commit');
  await ada.page.waitForFunction(`document.querySelector('[role="status"]')?.textContent === 'Saved'`, undefined, { polling: 'raf' });
  expect(await storedPaperText(sql, NAME)).toBe('Kept on disk.');
  expect(ada.errors).toEqual([]);
}, 60_000);
