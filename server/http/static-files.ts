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

/**
 * Serves the browser app's files. Unknown paths without an extension fall back to
 * index.html (client-side routing); paths that escape the directory are refused.
 */
export function createStaticFiles(root: string): (urlPath: string) => Promise<HttpResponse> {
  const base = path.resolve(root);
  return async (urlPath) => {
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
    try {
      const body = await readFile(file);
      return { status: 200, headers: { 'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream' }, body };
    } catch {
      if (extension !== '') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' };
      try {
        const body = await readFile(path.join(base, 'index.html'));
        return { status: 200, headers: { 'content-type': CONTENT_TYPES['.html']! }, body };
      } catch {
        return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' };
      }
    }
  };
}
