/**
 * The browser app's routes: `/d/<percent-encoded name>` always gets index.html, whatever
 * the name holds (dots, encoded slashes, spaces, "..", something that looks like a file),
 * while real files are served with their type and everything else keeps its 404.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';

const INDEX = '<!doctype html><html><body>the app</body></html>';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scriptorium-static-'));
  await mkdir(path.join(dir, 'assets'));
  await writeFile(path.join(dir, 'index.html'), INDEX);
  await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("app")');
  await writeFile(path.join(dir, 'robots.txt'), 'User-agent: *');
});

afterAll(async () => {
  await closeServers();
  await rm(dir, { recursive: true, force: true });
});

/** A GET with the path sent byte for byte (fetch would normalise `..` and `%2F`). */
function rawGet(port: number, requestPath: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: requestPath, method: 'GET', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: response.headers }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

const DOCUMENT_PATHS = [
  '/d/notes',
  '/d/thesis.md',
  '/d/report.v2.final.pdf',
  '/d/engines%2Fnotes',
  '/d/engines%2Fnotes.txt',
  '/d/with%20spaces%20and.dots.js',
  '/d/%2e%2e%2F%2e%2e%2Fpackage.json',
  '/d/..%2F..%2Fpackage.json',
  '/d/caf%C3%A9%20%E2%80%94%20%E6%97%A5%E6%9C%AC',
  '/d/index.html',
  '/d/assets%2Findex-abc123.js',
  '/d/a?token=abc',
];

describe.each(TRANSPORTS)('the browser app over %s', (transport) => {
  let port: number;
  beforeAll(async () => {
    port = (await startTestServer(transport, { staticDir: dir })).port;
  });

  it.each(DOCUMENT_PATHS)('serves index.html for %s', async (documentPath) => {
    const response = await rawGet(port, documentPath);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toBe(INDEX);
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('serves / and extension-less unknown paths as the app', async () => {
    for (const appPath of ['/', '/?token=abc', '/somewhere']) {
      const response = await rawGet(port, appPath);
      expect(response.status).toBe(200);
      expect(response.body).toBe(INDEX);
    }
  });

  it('serves built assets with their type, cached for good', async () => {
    const response = await rawGet(port, '/assets/index-abc123.js');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.body).toBe('console.log("app")');
    const text = await rawGet(port, '/robots.txt');
    expect(text.status).toBe(200);
    expect(text.headers['cache-control']).toBeUndefined();
  });

  it('answers 404 for a missing file with an extension, 403 outside the directory', async () => {
    expect((await rawGet(port, '/assets/missing.js')).status).toBe(404);
    expect((await rawGet(port, '/missing.css')).status).toBe(404);
    const outside = await rawGet(port, '/%2e%2e/%2e%2e/package.json');
    expect(outside.status).toBe(403);
    expect(outside.body).not.toContain('"dependencies"');
  });

  it('keeps API paths out of the app', async () => {
    const response = await rawGet(port, '/api/no-such-thing');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toMatch(/application\/json/);
  });
});
