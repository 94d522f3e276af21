import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HttpResponse } from '../transport/transport.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The app's own routes (`/d/<percent-encoded name>`): always the app, whatever the name looks like. */
const isAppRoute = (urlPath: string): boolean => urlPath === '/d' || urlPath.startsWith('/d/');

/** Vite names built assets by content hash: they never change, so browsers may keep them. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the browser app's files. `urlPath` is the raw (percent-encoded) path. App routes
 * (`/d/...`, whose names may contain dots, spaces or encoded slashes) and unknown paths
 * without an extension get index.html (client-side routing); paths that escape the
 * directory are refused.
 */
export function createStaticFiles(root: string): (urlPath: string) => Promise<HttpResponse> {
  const base = path.resolve(root);
  const index = async (): Promise<HttpResponse> => {
    try {
      const body = await readFile(path.join(base, 'index.html'));
      // The page names the current assets: always revalidate it.
      return { status: 200, headers: { 'content-type': CONTENT_TYPES['.html']!, 'cache-control': 'no-cache' }, body };
    } catch {
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' };
    }
  };
  return async (urlPath) => {
    if (isAppRoute(urlPath)) return index();
    let relative: string;
    try {
      relative = decodeURIComponent(urlPath);
    } catch {
      return { status: 400, body: 'bad path\n' };
    }
    if (relative.endsWith('/')) relative += 'index.html';
    const file = path.resolve(base, '.' + relative);
    if (file !== base && !file.startsWith(base + path.sep)) return { status: 403, body: 'forbidden\n' };
    const extension = path.extname(file);
    if (file === path.join(base, 'index.html')) return index();
    try {
      const body = await readFile(file);
      const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream' };
      if (relative.startsWith('/assets/')) headers['cache-control'] = IMMUTABLE;
      return { status: 200, headers, body };
    } catch {
      if (extension !== '') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' };
      return index();
    }
  };
}
