/**
 * Token mode, what goes wrong is shown as such, never as a blank page: a document the user
 * may not open, a name that does not exist, a sign-in link that no longer works, and no
 * token at all (then a token can be pasted).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  adminClient,
  createUser,
  documentUrl,
  launchBrowser,
  openContext,
  screenshot,
  startAppServer,
  type TestUser,
} from '../helpers/browser.js';

const SECRET = 'e2e-secret-access-0123456789abcdef';
const ADMIN = 'e2e-admin-access-0123456789abcdef';
const NAME = 'private/plans.txt';
let database: TestDatabase;
let server: RunningServer;
let browser: Browser;
let outsider: TestUser;

beforeAll(async () => {
  database = await createTestDatabase('e2eaccess');
  server = await startAppServer({ storage: 'durable', databaseUrl: database.url, authSecret: SECRET, adminToken: ADMIN });
  browser = await launchBrowser();
  const admin = adminClient(server.port, ADMIN);
  const owner = await createUser(admin, 'Olive Owner');
  outsider = await createUser(admin, 'Oscar Outsider');
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Secret', ownerId: owner.id });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.drop();
});

it('says so when the user has no access to the document', async () => {
  const oscar = await openContext(browser);
  await oscar.page.goto(`${documentUrl(server.port, NAME)}?token=${encodeURIComponent(outsider.token)}`);
  const alert = oscar.page.getByRole('alert');
  await expect.poll(() => alert.getByRole('heading').textContent()).toBe('You don’t have access to this document');
  expect(await alert.textContent()).toContain(`no access to document "${NAME}"`);
  expect(await oscar.page.getByRole('textbox', { name: 'Paper' }).count()).toBe(0);
  await screenshot(oscar.page, 'access-denied');

  await oscar.page.goto(documentUrl(server.port, 'no such paper'));
  await expect.poll(() => oscar.page.getByRole('alert').getByRole('heading').textContent()).toBe('Document not found');
  expect(await oscar.page.getByRole('alert').textContent()).toContain('There is no document named “no such paper” that you can open.');
  await screenshot(oscar.page, 'document-not-found');

  // Back to the list by keyboard-reachable link: the outsider's list is empty, not broken.
  await oscar.page.getByRole('link', { name: 'All documents' }).click();
  await expect.poll(() => oscar.page.getByText('No documents yet.').count()).toBe(1);
  expect(oscar.errors).toEqual([]);
});

it('asks for a new link when the token does not work, and accepts a pasted token', async () => {
  const someone = await openContext(browser);
  await someone.page.goto(`http://127.0.0.1:${server.port}/?token=not-a-token`);
  await expect.poll(() => someone.page.getByRole('heading', { name: 'Sign in' }).count()).toBe(1);
  expect(await someone.page.getByRole('alert').textContent()).toMatch(/^Your sign-in link no longer works \(.+\)\. Ask for a new one\.$/);
  expect(new URL(someone.page.url()).search).toBe('');
  await screenshot(someone.page, 'sign-in-token');

  await someone.page.getByLabel('Access token').fill(outsider.token);
  await someone.page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => someone.page.getByText('Oscar Outsider').count()).toBe(1);
  expect(someone.errors.filter((error) => !/status of 401/.test(error))).toEqual([]);
});
