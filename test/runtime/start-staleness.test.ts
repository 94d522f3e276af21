/**
 * `npm start` builds only what changed since the last build: the server (tsc) when one of its
 * sources, tsconfig.json or the installed packages changed, the browser app (vite) when a file it
 * bundled changed, and neither when nothing did. Runs the real start scripts and package.json in a
 * small project of their shape (a two-file server, a one-file app that imports a server module),
 * so the real tsc and vite do the building, and tells a build by its output being rewritten.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** tsc and vite on a loaded 2-core machine, several times per test. */
const TIMEOUT_MS = 180_000;

let project = '';
const at = (...parts: string[]): string => path.join(project, ...parts);

/** Modification time of a build output: it changes exactly when the output was written again. */
const writtenAt = (file: string): number => statSync(at(file)).mtimeMs;
const SERVER_OUTPUT = 'dist/server/main.js';
const APP_OUTPUT = 'clients/web/dist/index.html';

interface Run {
  readonly code: number;
  readonly output: string;
}

function npm(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('npm', [...args], { cwd: project, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** `npm start -- <args>`, which in this project prints a greeting with its arguments and exits. */
const start = () => npm(['start', '--', 'from', 'the', 'test']);

function write(file: string, text: string): void {
  mkdirSync(path.dirname(at(file)), { recursive: true });
  writeFileSync(at(file), text);
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'scriptorium-start-'));
  for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts', 'clients/web/build-if-stale.mjs']) {
    mkdirSync(path.dirname(at(file)), { recursive: true });
    cpSync(path.join(ROOT, file), at(file), { recursive: true });
  }
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), at('node_modules'), 'dir');
  write('server/greeting.ts', `export const greeting: string = 'hello';\n`);
  write(
    'server/main.ts',
    `import { greeting } from './greeting.js';\n\nprocess.stdout.write(\`server says \${greeting} \${process.argv.slice(2).join(' ')}\\n\`);\n`,
  );
  write(
    'clients/web/vite.config.ts',
    `import { fileURLToPath } from 'node:url';\nimport { defineConfig } from 'vite';\n\nexport default defineConfig({ root: fileURLToPath(new URL('.', import.meta.url)), publicDir: false, build: { outDir: 'dist', emptyOutDir: true } });\n`,
  );
  write('clients/web/index.html', '<!doctype html>\n<html><body><script type="module" src="/src/main.ts"></script></body></html>\n');
  write('clients/web/src/main.ts', `import { greeting } from '../../../server/greeting.js';\n\ndocument.body.textContent = greeting;\n`);
});

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('npm start', () => {
  it(
    'builds the server and the app on the first start, then runs the server with its arguments',
    async () => {
      const run = await start();
      expect(run.output).toContain('server says hello from the test');
      expect(run.code).toBe(0);
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(0);
      expect(writtenAt(APP_OUTPUT)).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    'builds nothing when nothing changed',
    async () => {
      const server = writtenAt(SERVER_OUTPUT);
      const app = writtenAt(APP_OUTPUT);
      const run = await start();
      expect(run.output).toContain('server says hello from the test');
      expect(writtenAt(SERVER_OUTPUT)).toBe(server);
      expect(writtenAt(APP_OUTPUT)).toBe(app);
    },
    TIMEOUT_MS,
  );

  it(
    'rebuilds only the server after a server source the app does not use changed',
    async () => {
      const server = writtenAt(SERVER_OUTPUT);
      const app = writtenAt(APP_OUTPUT);
      appendFileSync(at('server/main.ts'), '// edited\n');
      const run = await start();
      expect(run.output).toContain('server says hello from the test');
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(server);
      expect(writtenAt(APP_OUTPUT)).toBe(app);
    },
    TIMEOUT_MS,
  );

  it(
    'rebuilds both after a server module the app bundles changed, and runs the new code',
    async () => {
      const server = writtenAt(SERVER_OUTPUT);
      const app = writtenAt(APP_OUTPUT);
      write('server/greeting.ts', `export const greeting: string = 'good morning';\n`);
      const run = await start();
      expect(run.output).toContain('server says good morning from the test');
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(server);
      expect(writtenAt(APP_OUTPUT)).toBeGreaterThan(app);
    },
    TIMEOUT_MS,
  );

  it(
    'rebuilds only the app after an app source changed',
    async () => {
      const server = writtenAt(SERVER_OUTPUT);
      const app = writtenAt(APP_OUTPUT);
      appendFileSync(at('clients/web/src/main.ts'), '// edited\n');
      await start();
      expect(writtenAt(SERVER_OUTPUT)).toBe(server);
      expect(writtenAt(APP_OUTPUT)).toBeGreaterThan(app);
    },
    TIMEOUT_MS,
  );

  it(
    'rebuilds the server when a source file was added, and when part of its compiled output is gone',
    async () => {
      let server = writtenAt(SERVER_OUTPUT);
      write('server/extra.ts', 'export const extra = 1;\n');
      await start();
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(server);
      expect(writtenAt('dist/server/extra.js')).toBeGreaterThan(0);

      // A module main.js imports: tsc's incremental memory alone would not write it again.
      server = writtenAt(SERVER_OUTPUT);
      rmSync(at('dist/server/greeting.js'));
      const run = await start();
      expect(run.output).toContain('server says good morning from the test');
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(server);
    },
    TIMEOUT_MS,
  );

  it(
    'runs nothing while the server does not compile, and builds again on every start until it does',
    async () => {
      const broken = `import { greeting } from './greeting.js';\n\nconst count: number = greeting;\nprocess.stdout.write(\`server says \${count}\\n\`);\n`;
      write('server/main.ts', broken);
      for (let attempt = 0; attempt < 2; attempt++) {
        const run = await start();
        expect(run.code).not.toBe(0);
        expect(run.output).toContain('error TS2322');
        expect(run.output).not.toContain('server says');
      }
      write(
        'server/main.ts',
        `import { greeting } from './greeting.js';\n\nprocess.stdout.write(\`server says \${greeting} again\\n\`);\n`,
      );
      const run = await start();
      expect(run.output).toContain('server says good morning again');
    },
    TIMEOUT_MS,
  );
});

describe('npm run build', () => {
  it(
    'skips a current build; --force compiles anyway',
    async () => {
      const server = writtenAt(SERVER_OUTPUT);
      expect((await npm(['run', 'build'])).code).toBe(0);
      expect(writtenAt(SERVER_OUTPUT)).toBe(server);
      expect((await npm(['run', 'build', '--', '--force'])).code).toBe(0);
      expect(writtenAt(SERVER_OUTPUT)).toBeGreaterThan(server);
    },
    TIMEOUT_MS,
  );
});
