#!/usr/bin/env node
// Builds the browser app (vite build) unless clients/web/dist is newer than every source
// file, so `npm start` stays fast after the first run. `--force` always builds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(web, '..', '..');
const built = path.join(web, 'dist', 'index.html');
// The app also bundles the shared document modules (research-tree rendering and operations)
// and the roles' rule (server/auth/roles.ts).
const inputs = [path.join(web, 'src'), path.join(web, 'index.html'), path.join(web, 'vite.config.ts'), path.join(root, 'server', 'documents'), path.join(root, 'server', 'auth', 'roles.ts'), path.join(root, 'package-lock.json')];

function newest(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(entry).map((name) => newest(path.join(entry, name))));
}

const force = process.argv.includes('--force');
if (!force && existsSync(built) && statSync(built).mtimeMs >= Math.max(...inputs.map(newest))) process.exit(0);

const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const result = spawnSync(process.execPath, [vite, 'build', '--config', path.join(web, 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
