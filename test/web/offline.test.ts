/**
 * Losing the server (stopped), or the browser going offline: the save state says "Offline — N changes pending" with the edits made
 * meanwhile, the editor keeps working, and when a server is back on the same address the
 * pending edits are sent, committed and acknowledged ("Saved"), and stored.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { waitFor } from '../helpers/wait.js';
import {
  type AppUnderTest,
  chooseName,
  createDocument,
  documentUrl,
  openContext,
  screenshot,
  startApp,
  startAppServer,
  stopApp,
  storedPaperText,
} from '../helpers/browser.js';

const NAME = 'offline notes';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2eoffline', { transport: 'ws' });
});

/** The server started after the first one was stopped. */
let restarted: RunningServer | null = null;

afterAll(async () => {
  await restarted?.close();
  await stopApp(app); // closing its stopped server again is a no-op
});

it('counts the changes pending while offline and saves them once the server is back', async () => {
  await createDocument(app.server.port, NAME);
  const ada = await openContext(app.browser);
  await ada.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(ada.page, 'Ada');
  const paper = ada.page.getByRole('textbox', { name: 'Paper' });
  const status = ada.page.getByRole('status');
  await expect.poll(() => paper.getAttribute('contenteditable')).toBe('true');
  await paper.click();
  await ada.page.keyboard.type('Online. ');
  await expect.poll(() => status.textContent()).toBe('Saved');

  const port = app.server.port;
  await app.server.close();
  await expect.poll(() => status.textContent()).toBe('Offline — 0 changes pending');
  await ada.page.keyboard.type('Offline');
  await expect.poll(() => status.textContent()).toMatch(/^Offline — ([1-9]\d*) changes pending$/);
  const pending = Number(/(\d+) changes/.exec((await status.textContent()) ?? '')![1]);
  expect(pending).toBeGreaterThanOrEqual(1);
  expect(await paper.getAttribute('contenteditable')).toBe('true');
  await screenshot(ada.page, 'save-state-offline');
  expect(await storedPaperText(app.sql, NAME)).toBe('Online. ');

  // A new server on the same address (the ws transport: uWS keeps a closed port bound within one process).
  restarted = await waitFor(
    () => startAppServer({ storage: 'durable', databaseUrl: app.database.url, transport: 'ws', port }),
    10_000,
    'the port to be free again',
    200,
  );
  await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe('Saved');
  expect(await storedPaperText(app.sql, NAME)).toBe('Online. Offline');
  // The browser reports refused reconnection attempts itself; the app logs nothing.
  expect(ada.errors.filter((error) => !/WebSocket connection to .* failed/.test(error))).toEqual([]);
}, 60_000);

it('counts the changes made while the browser itself is offline, and saves them when it is back', async () => {
  await createDocument(app.server.port, 'train notes');
  const ada = await openContext(app.browser);
  await ada.page.goto(documentUrl(app.server.port, 'train notes'));
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
  expect(await storedPaperText(app.sql, 'train notes')).toBe('abcdef');
  expect(ada.errors).toEqual([]);
}, 60_000);
