/**
 * Token mode: an editor of a project that has no documents yet creates the first one from the
 * list page (the form knows the project from GET /api/projects, not from visible documents);
 * with two writable projects the form asks which, by name.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adminClient, createUser, documentUrl, openContext, screenshot, startApp, stopApp, type AppUnderTest } from '../helpers/browser.js';

const SECRET = 'e2e-create-secret-0123456789abcdef';
const ADMIN = 'e2e-create-admin-0123456789abcdef';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2ecreate', { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(() => stopApp(app));

it('creates the first document of an empty project, and asks which project when there are two', async () => {
  const admin = adminClient(app.server.port, ADMIN);
  const owner = await createUser(admin, 'Olive Owner');
  const editor = await createUser(admin, 'Eddie Editor');
  const { id: drafts } = await admin<{ id: string }>('/projects', { name: 'Drafts', ownerId: owner.id });
  await admin(`/projects/${drafts}/members`, { userId: editor.id, role: 'editor' });

  const eddie = await openContext(app.browser);
  await eddie.page.goto(`http://127.0.0.1:${app.server.port}/?token=${encodeURIComponent(editor.token)}`);
  await eddie.page.getByLabel('Name', { exact: true }).fill('First draft');
  await eddie.page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => eddie.page.url()).toBe(documentUrl(app.server.port, 'First draft'));
  const listed = (await (
    await fetch(`http://127.0.0.1:${app.server.port}/api/documents`, { headers: { authorization: `Bearer ${editor.token}` } })
  ).json()) as { name: string; projectId: string }[];
  expect(listed).toEqual([expect.objectContaining({ name: 'First draft', projectId: drafts })]);

  // A second project where Eddie is an editor: the form offers both by name.
  const { id: essays } = await admin<{ id: string }>('/projects', { name: 'Essays', ownerId: owner.id });
  await admin(`/projects/${essays}/members`, { userId: editor.id, role: 'editor' });
  await eddie.page.goto(`http://127.0.0.1:${app.server.port}/`);
  const project = eddie.page.getByLabel('Project', { exact: true });
  await expect.poll(() => project.locator('option').allTextContents()).toEqual(['Drafts', 'Essays']);
  await project.selectOption({ label: 'Essays' });
  await eddie.page.getByLabel('Name', { exact: true }).fill('An essay');
  await eddie.page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => eddie.page.url()).toBe(documentUrl(app.server.port, 'An essay'));
  const again = (await (
    await fetch(`http://127.0.0.1:${app.server.port}/api/documents`, { headers: { authorization: `Bearer ${editor.token}` } })
  ).json()) as { name: string; projectId: string }[];
  expect(again.find((document) => document.name === 'An essay')?.projectId).toBe(essays);
  await eddie.page.goto(`http://127.0.0.1:${app.server.port}/`);
  await screenshot(eddie.page, 'create-in-project');

  expect(eddie.errors).toEqual([]);
}, 60_000);
