/**
 * Browser-test support: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), the built app served by an in-process server, pages that record every console
 * error, and screenshots kept in test-artifacts/ (not committed).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import pg from 'pg';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import type { Config } from '../../server/config.js';
import { createTestDatabase, type TestDatabase } from './databases.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APP_DIR = path.join(ROOT, 'clients', 'web', 'dist');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The server under test, serving the built app (npm test builds it; by hand: npm run build:web). */
export async function startAppServer(config: Partial<Config>): Promise<RunningServer> {
  if (!existsSync(path.join(APP_DIR, 'index.html'))) throw new Error(`the app is not built (${APP_DIR}): run npm run build:web`);
  return startServer({ config: { port: 0, host: '127.0.0.1', transport: 'uws', logLevel: 'silent', staticDir: APP_DIR, ...config } });
}

export interface AppPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far; a test fails on any. */
  readonly errors: string[];
}

/** A fresh browser profile (own localStorage) with one page whose console errors are recorded. */
export async function openContext(browser: Browser, options: { viewport?: { width: number; height: number } } = {}): Promise<AppPage> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { context, page, errors };
}

/** Open mode, first visit: answers "Your name" once (the colour keeps its default). */
export async function chooseName(page: Page, name: string): Promise<void> {
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** `/d/<percent-encoded name>` on the server. */
/** Creates a document over the HTTP API (open mode); throws unless the server answers 201. */
export async function createDocument(port: number, name: string, kind: 'paper' | 'research_tree' = 'paper'): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/api/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, kind }),
  });
  if (response.status !== 201) throw new Error(`creating ${name}: ${response.status} ${await response.text()}`);
}

export const documentUrl = (port: number, name: string): string => `http://127.0.0.1:${port}/d/${encodeURIComponent(name)}`;

/** The paper's text as stored: documents.state plus every logged update, applied to a fresh Y.Doc. */
export async function storedPaperText(sql: pg.Client, name: string): Promise<string> {
  const { rows: documents } = await sql.query<{ id: string; state: Buffer | null }>('select id, state from documents where name = $1', [
    name,
  ]);
  const document = documents[0];
  if (!document) throw new Error(`no document ${name}`);
  const doc = new Y.Doc();
  if (document.state) Y.applyUpdate(doc, document.state);
  const { rows } = await sql.query<{ update: Buffer }>('select update from collaborations where document_id = $1 order by position', [
    document.id,
  ]);
  for (const row of rows) Y.applyUpdate(doc, row.update);
  return xmlText(doc.getXmlFragment('default'));
}

function xmlText(node: Y.XmlFragment | Y.XmlElement): string {
  return node
    .toArray()
    .map((child) => (child instanceof Y.XmlText ? child.toString().replace(/<[^>]+>/g, '') : xmlText(child as Y.XmlElement)))
    .join(node instanceof Y.XmlElement ? '' : '\n');
}

/** Admin API calls against a token-mode server (docs/contracts.md "HTTP API"). */
export function adminClient(port: number, adminToken: string) {
  return async <T>(path: string, body: unknown): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`POST /api/admin${path}: ${response.status} ${text}`);
    return (text === '' ? null : JSON.parse(text)) as T;
  };
}

/** A user with a token: `?token=` for the sign-in link. */
export interface TestUser {
  readonly id: string;
  readonly name: string;
  readonly token: string;
}

export async function createUser(admin: ReturnType<typeof adminClient>, name: string): Promise<TestUser> {
  const { id } = await admin<{ id: string }>('/users', { email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.org`, name });
  const { token } = await admin<{ token: string }>('/tokens', { userId: id, ttlSeconds: 3600 });
  return { id, name, token };
}

/** What a browser-test file runs against: its own database, the app server on it, Chromium, and an SQL client. */
export interface AppUnderTest {
  readonly database: TestDatabase;
  readonly server: RunningServer;
  readonly browser: Browser;
  /** Connected to the test database (checks against what is stored). */
  readonly sql: pg.Client;
}

/** Starts everything a browser-test file needs, on a database of its own (prefix names it). */
export async function startApp(prefix: string, config: Partial<Config> = {}): Promise<AppUnderTest> {
  const database = await createTestDatabase(prefix);
  const server = await startAppServer({ storage: 'durable', databaseUrl: database.url, ...config });
  const browser = await launchBrowser();
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  return { database, server, browser, sql };
}

/** Stops what startApp started (whatever of it did start). */
export async function stopApp(app: Partial<AppUnderTest> | undefined): Promise<void> {
  await app?.browser?.close();
  await app?.server?.close();
  await app?.sql?.end();
  await app?.database?.drop();
}
