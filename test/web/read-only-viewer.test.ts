/**
 * Token mode: an owner and a viewer open the same paper through their sign-in links. The
 * token is remembered and dropped from the URL; the viewer's editor is read-only with a
 * banner saying so, still shows up in the owner's people list, and what the viewer tries to
 * type reaches neither the owner nor the database.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep } from '../helpers/wait.js';
import {
  adminClient,
  createUser,
  documentUrl,
  openContext,
  screenshot,
  storedPaperText,
  startApp,
  stopApp,
  type AppUnderTest,
} from '../helpers/browser.js';

const SECRET = 'e2e-secret-read-only-0123456789abcdef';
const ADMIN = 'e2e-admin-read-only-0123456789abcdef';
const NAME = 'Proposal: engines.md';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2eviewer', { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(() => stopApp(app));

it('opens read-only for a viewer, whose attempted edit reaches no one', async () => {
  const admin = adminClient(app.server.port, ADMIN);
  const owner = await createUser(admin, 'Olive Owner');
  const viewer = await createUser(admin, 'Victor Viewer');
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Engines', ownerId: owner.id });
  await admin('/projects/' + projectId + '/members', { userId: viewer.id, role: 'viewer' });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });

  const olive = await openContext(app.browser);
  const victor = await openContext(app.browser);

  // The sign-in link: the token is remembered and dropped from the address bar.
  await olive.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(owner.token)}`);
  await expect.poll(() => olive.page.evaluate("window.localStorage.getItem('scriptorium.token')")).toBe(owner.token);
  expect(new URL(olive.page.url()).search).toBe('');
  expect(new URL(olive.page.url()).pathname).toBe(`/d/${encodeURIComponent(NAME)}`);

  const olivePaper = olive.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => olivePaper.getAttribute('contenteditable')).toBe('true');
  await olivePaper.click();
  await olive.page.keyboard.type('Written by the owner.');
  await expect.poll(() => olive.page.getByRole('status').textContent()).toBe('Saved');

  await victor.page.goto(`${documentUrl(app.server.port, NAME)}?token=${encodeURIComponent(viewer.token)}`);
  const victorPaper = victor.page.getByRole('textbox', { name: 'Paper' });
  await expect.poll(() => victorPaper.textContent()).toContain('Written by the owner.');
  await expect.poll(() => victor.page.getByRole('note').filter({ hasText: 'Read-only.' }).count()).toBe(1);
  expect(await victorPaper.getAttribute('contenteditable')).toBe('false');
  expect(await victorPaper.getAttribute('aria-readonly')).toBe('true');
  expect(await victor.page.getByRole('toolbar', { name: 'Formatting' }).count()).toBe(0);

  // The owner comments (author: the signed-in user); the viewer sees it but cannot reply or resolve.
  await olivePaper.click();
  await olive.page.keyboard.press('Control+a');
  await olive.page.keyboard.press('Control+Alt+m');
  await olive.page.keyboard.type('Owner note.');
  await olive.page.keyboard.press('Control+Enter');
  const victorComments = victor.page.getByRole('region', { name: 'Comments' }).getByRole('listitem');
  await expect.poll(() => victorComments.count()).toBe(1);
  expect(await victorComments.first().textContent()).toContain('Olive Owner');
  expect(await victorComments.first().textContent()).toContain('Owner note.');
  expect(
    await victorComments
      .first()
      .getByRole('button', { name: /^(Reply|Resolve)$/ })
      .count(),
  ).toBe(0);
  const content = (await (
    await fetch(`http://127.0.0.1:${app.server.port}/api/documents/${encodeURIComponent(NAME)}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    })
  ).json()) as { content: { comments: { authorId: string; quote: string }[] } };
  expect(content.content.comments.map(({ authorId, quote }) => ({ authorId, quote }))).toEqual([
    { authorId: owner.id, quote: 'Written by the owner.' },
  ]);

  // Both see both: awareness of a viewer is still relayed.
  for (const { page } of [olive, victor]) {
    const people = page.getByRole('list', { name: 'People in this document' });
    await expect.poll(() => people.getByRole('listitem').count()).toBe(2);
    expect(await people.getByRole('listitem', { name: 'Olive Owner', exact: true }).count()).toBe(1);
    expect(await people.getByRole('listitem', { name: 'Victor Viewer', exact: true }).count()).toBe(1);
  }
  await screenshot(victor.page, 'paper-read-only');

  // The viewer tries to type: nothing changes anywhere.
  await victorPaper.click();
  await victor.page.keyboard.type('Intruder text');
  await victor.page.keyboard.press('Enter');
  await victor.page.keyboard.press('Backspace');
  await sleep(500);
  expect(await victorPaper.textContent()).not.toContain('Intruder');
  expect(await olivePaper.textContent()).toBe('Written by the owner.');
  expect(await storedPaperText(app.sql, NAME)).toBe('Written by the owner.');
  expect(await victor.page.getByRole('status').textContent()).toBe('Saved');

  // The list, in token mode, names who is in each document.
  await victor.page.getByRole('link', { name: 'Documents', exact: true }).click();
  await expect.poll(() => victor.page.getByRole('img', { name: 'Here now: Olive Owner' }).count(), { timeout: 10_000 }).toBe(1);
  await expect.poll(() => victor.page.getByText('Victor Viewer').count()).toBe(1);

  // A viewer cannot create documents (no project of theirs takes them, GET /api/projects); the form says why.
  await victor.page.getByLabel('Name', { exact: true }).fill('Viewer notes');
  await victor.page.getByRole('button', { name: 'Create' }).click();
  await expect
    .poll(() => victor.page.getByRole('alert').textContent())
    .toBe('You are not an editor in any project yet, so you cannot create documents. Ask a project owner to add you.');
  await screenshot(victor.page, 'document-list-token');

  expect(olive.errors).toEqual([]);
  // The refused POST is reported by the browser itself (403); the app logs nothing.
  expect(victor.errors.filter((error) => !/status of 403/.test(error))).toEqual([]);
}, 60_000);
