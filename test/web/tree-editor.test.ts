/**
 * Two people edit one research tree: nodes added and renamed in one context appear in the
 * other (role tree "Research tree", one treeitem per node named by its title); a node moved
 * by keyboard and one moved by drag and drop show as moved in the other context; the other
 * person's focused node is marked.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type AppUnderTest,
  chooseName,
  createDocument,
  documentUrl,
  openContext,
  screenshot,
  startApp,
  stopApp,
} from '../helpers/browser.js';

const NAME = 'Why do engines knock?';

let app: AppUnderTest;

beforeAll(async () => {
  app = await startApp('e2etree');
});

afterAll(() => stopApp(app));

/** The titles of the tree as an indented outline, read from the accessibility attributes. */
function outline(page: Page): Promise<string[]> {
  return page
    .getByRole('tree', { name: 'Research tree' })
    .getByRole('treeitem')
    .evaluateAll((items) =>
      items.map((item) => `${'  '.repeat(Number(item.getAttribute('aria-level')) - 1)}${item.getAttribute('aria-label')}`),
    );
}

async function addRoot(page: Page, title: string): Promise<void> {
  await page.getByRole('button', { name: 'Add node' }).click();
  await page.getByRole('textbox', { name: 'Title' }).fill(title);
  await page.keyboard.press('Enter');
}

it('shows nodes added, renamed and moved in one context in the other', async () => {
  await createDocument(app.server.port, NAME, 'research_tree');
  const ada = await openContext(app.browser);
  const grace = await openContext(app.browser);
  await ada.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(ada.page, 'Ada');
  await grace.page.goto(documentUrl(app.server.port, NAME));
  await chooseName(grace.page, 'Grace');
  await expect.poll(() => ada.page.getByRole('button', { name: 'Add node' }).isVisible()).toBe(true);

  await addRoot(ada.page, 'Question');
  await addRoot(ada.page, 'Hypothesis');
  await addRoot(ada.page, 'Experiment');
  await expect.poll(() => outline(grace.page)).toEqual(['Question', 'Hypothesis', 'Experiment']);

  // Keyboard: Alt+→ indents "Experiment" under the node before it.
  await ada.page.getByRole('treeitem', { name: 'Experiment' }).click();
  await ada.page.keyboard.press('Alt+ArrowRight');
  await expect.poll(() => outline(grace.page)).toEqual(['Question', 'Hypothesis', '  Experiment']);
  expect(await grace.page.getByRole('treeitem', { name: 'Hypothesis' }).getAttribute('aria-expanded')).toBe('true');

  // Grace renames by keyboard (F2) and Ada sees it.
  await grace.page.getByRole('treeitem', { name: 'Question' }).click();
  await grace.page.keyboard.press('F2');
  await grace.page.getByRole('textbox', { name: 'Title' }).fill('Why do engines knock?');
  await grace.page.keyboard.press('Enter');
  await expect.poll(() => outline(ada.page)).toEqual(['Why do engines knock?', 'Hypothesis', '  Experiment']);

  // Drag and drop: Grace drags "Hypothesis" (with its child) onto "Why do engines knock?".
  const source = grace.page.getByRole('treeitem', { name: 'Hypothesis' }).locator('.node-row').first();
  const target = grace.page.getByRole('treeitem', { name: 'Why do engines knock?' }).locator('.node-row').first();
  await source.dragTo(target);
  await expect.poll(() => outline(ada.page)).toEqual(['Why do engines knock?', '  Hypothesis', '    Experiment']);
  await expect.poll(() => outline(grace.page)).toEqual(['Why do engines knock?', '  Hypothesis', '    Experiment']);

  // Status, and the other person's focus.
  await ada.page.getByRole('treeitem', { name: 'Experiment' }).click();
  await ada.page.getByRole('combobox', { name: 'Status' }).selectOption('in progress');
  await expect
    .poll(() => grace.page.getByRole('treeitem', { name: 'Experiment' }).locator('.node-status').textContent())
    .toBe('in progress');
  await expect.poll(() => grace.page.getByRole('treeitem', { name: 'Experiment' }).locator('.focus-chip').count()).toBe(1);
  await expect.poll(() => grace.page.getByRole('status').textContent()).toBe('Saved');
  await screenshot(grace.page, 'research-tree');
  await grace.page.setViewportSize({ width: 390, height: 800 });
  await screenshot(grace.page, 'research-tree-narrow');
  expect(ada.errors).toEqual([]);
  expect(grace.errors).toEqual([]);
}, 60_000);
