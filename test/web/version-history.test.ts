/**
 * Version history in token mode, two editors: one names a version, edits on, the other
 * previews and compares it with the current text, then restores it (after confirming);
 * both see the old text again and the list shows the restore. A viewer can look but not
 * name or restore.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient, createUser, documentUrl, openContext, screenshot, startApp, stopApp, type AppUnderTest } from '../helpers/browser.js';

const SECRET = 'e2e-secret-history-0123456789abcdef';
const ADMIN = 'e2e-admin-history-0123456789abcdef';
const NAME = 'Grant proposal';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2ehistory', { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(() => stopApp(app));

/** The paper's text without the other people's caret labels. */
const paperText = (page: Page) =>
  page.getByRole('textbox', { name: 'Paper' }).evaluate((paper) => {
    const copy = paper.cloneNode(true) as typeof paper;
    copy.querySelectorAll('.collaboration-carets__caret').forEach((caret: { remove(): void }) => caret.remove());
    return copy.textContent;
  });

it('names a version, compares and previews it, and restores it for everyone', async () => {
  const admin = adminClient(app.server.port, ADMIN);
  const ada = await createUser(admin, 'Ada Lovelace');
  const grace = await createUser(admin, 'Grace Hopper');
  const vic = await createUser(admin, 'Vic Viewer');
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Grants', ownerId: ada.id });
  await admin(`/projects/${projectId}/members`, { userId: grace.id, role: 'editor' });
  await admin(`/projects/${projectId}/members`, { userId: vic.id, role: 'viewer' });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });

  const a = await openContext(app.browser);
  const g = await openContext(app.browser);
  await a.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(ada.token)}`);
  await g.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(grace.token)}`);
  const adaPaper = a.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => adaPaper.getAttribute('contenteditable')).toBe('true');
  await adaPaper.click();
  await a.page.keyboard.type('First draft.');
  await expect.poll(() => a.page.getByRole('status').textContent()).toBe('Saved');

  // Ada names the current state.
  await a.page.getByRole('button', { name: 'History' }).click();
  const adaHistory = a.page.getByRole('region', { name: 'Version history' });
  await expect.poll(() => adaHistory.getByRole('listitem').count()).toBe(0);
  // The click keeps the state at once, as "Version 1"; the name typed next labels that version.
  await adaHistory.getByRole('button', { name: 'Name this version' }).click();
  await expect.poll(() => adaHistory.getByRole('listitem').allTextContents()).toEqual([expect.stringContaining('Version 1')]);
  await a.page.getByLabel('Version name').fill('Sent to reviewers');
  await a.page.keyboard.press('Enter');
  await expect.poll(() => adaHistory.getByRole('listitem').filter({ hasText: 'Sent to reviewers' }).count()).toBe(1);
  expect(await adaHistory.getByRole('listitem').count()).toBe(1);
  expect(await adaHistory.getByRole('listitem').filter({ hasText: 'Sent to reviewers' }).textContent()).toContain('Ada Lovelace');

  // And edits on.
  await adaPaper.click();
  await a.page.keyboard.press('Control+End');
  await a.page.keyboard.type(' Then more text.');
  await expect.poll(() => paperText(g.page)).toBe('First draft. Then more text.');
  await screenshot(a.page, 'history-panel');

  // Grace compares the version with the current document, and previews it.
  await g.page.getByRole('button', { name: 'History' }).click();
  const graceHistory = g.page.getByRole('region', { name: 'Version history' });
  const named = graceHistory.getByRole('listitem').filter({ hasText: 'Sent to reviewers' });
  await expect.poll(() => named.count()).toBe(1);
  await named.getByRole('button', { name: 'Compare' }).click();
  const compare = g.page.getByRole('dialog', { name: 'Changes since Sent to reviewers' });
  await expect.poll(() => compare.locator('ins').allTextContents()).toEqual(['added', ' Then more text.']);
  await screenshot(g.page, 'history-compare');
  await g.page.keyboard.press('Escape');
  await named.getByRole('button', { name: 'Preview' }).click();
  const preview = g.page.getByRole('dialog', { name: 'Preview of Sent to reviewers' });
  await expect.poll(() => preview.getByRole('document', { name: 'Version content' }).textContent()).toBe('First draft.');
  await g.page.keyboard.press('Escape');

  // Restore, after confirming: both see the old text; the list shows the restore.
  await named.getByRole('button', { name: 'Restore' }).click();
  const confirm = g.page.getByRole('dialog', { name: 'Restore Sent to reviewers?' });
  await confirm.getByRole('button', { name: 'Restore' }).click();
  await expect.poll(() => paperText(g.page)).toBe('First draft.');
  await expect.poll(() => paperText(a.page)).toBe('First draft.');
  await expect.poll(() => graceHistory.getByRole('listitem').filter({ hasText: 'Restored from v' }).count()).toBeGreaterThanOrEqual(1);
  await screenshot(g.page, 'history-restored');
  await g.page.setViewportSize({ width: 390, height: 800 });
  await screenshot(g.page, 'history-narrow');

  // A viewer sees the history but cannot name or restore.
  const v = await openContext(app.browser);
  await v.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(vic.token)}`);
  await expect.poll(() => v.page.getByRole('note').filter({ hasText: 'Read-only.' }).count()).toBe(1);
  await v.page.getByRole('button', { name: 'History' }).click();
  const vicHistory = v.page.getByRole('region', { name: 'Version history' });
  await expect.poll(() => vicHistory.getByRole('listitem').filter({ hasText: 'Sent to reviewers' }).count()).toBe(1);
  expect(await vicHistory.getByRole('button', { name: 'Name this version' }).count()).toBe(0);
  expect(await vicHistory.getByRole('button', { name: 'Restore' }).count()).toBe(0);
  expect(await vicHistory.getByRole('button', { name: 'Preview' }).count()).toBeGreaterThan(0);

  for (const { errors } of [a, g, v]) expect(errors).toEqual([]);
}, 60_000);
