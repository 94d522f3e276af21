/**
 * The browser app under load: time from navigation to an editable, synced large paper
 * (cold browser profile each time, the document loaded from PostgreSQL each time), the
 * JavaScript bundle's gzip size, and a tab's memory after a scripted typing session.
 * Run: npm run build && npm run build:web && node dist/bench/web-load.js [options]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import pg from 'pg';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { startServer, type RunningServer } from '../server/server.js';
import { generatePaper, paperDocument, seededRandom } from './paper-fixture.js';
import { gitCommit, machineDescription, otherCpuMeter, REPO_ROOT } from './run-info.js';

const cli = parseCli({
  command: 'node dist/bench/web-load.js',
  synopsis: '[options]',
  summary: `Measures the browser app with Debian's Chromium (/usr/bin/chromium, headless, through
playwright-core): (1) time from navigation to a paper of --size MB that is editable and synced
("Saved"), over --loads loads, each in a fresh browser profile (nothing cached) and with the
document loaded from the database again (the server unloads it when its last client leaves);
(2) the gzip size of the app's JavaScript and CSS (clients/web/dist/assets); (3) the tab's JS heap
and DOM size after a scripted typing session of --typing-seconds (600 for the 10-minute run).
Prints a table and writes bench/results/web-load-<time>.{json,md}.`,
  options: {
    loads: { type: 'string', default: '20', value: 'N', description: 'timed loads (after one warm-up load)' },
    size: { type: 'string', default: '1', value: 'MB', description: 'plain text of the paper, in millions of characters' },
    'typing-seconds': {
      type: 'string',
      default: '20',
      value: 'S',
      description: 'length of the typing session (600: the 10-minute run; 0 skips it)',
    },
    'remote-edits': {
      type: 'string',
      default: '40',
      value: 'N',
      description:
        "keystrokes another client types into the middle of the paper while a tab has it open:\nthe tab's main-thread time per remote keystroke (0 skips it)",
    },
    'keep-open': {
      type: 'boolean',
      default: false,
      description:
        'keep the paper open in another client during the loads, so the server has it loaded\n(measures the browser side; by default each load is also a cold load on the server)',
    },
    'database-url': {
      type: 'string',
      value: 'URL',
      description: 'PostgreSQL server to create a throwaway database on\n(default postgres://postgres@127.0.0.1:5432/postgres)',
    },
    profile: {
      type: 'string',
      value: 'FILE',
      description:
        'after the timed loads, record one more load with the CPU profiler and write it to FILE\n(.cpuprofile, opens in Chromium DevTools); prints the functions with the most self time',
    },
    trace: {
      type: 'boolean',
      default: false,
      description: "print each load's performance marks and long tasks (with --profile, also the profiled load's network log)",
    },
    seed: { type: 'string', default: '42', value: 'N', description: 'seed of the generated paper and typing' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results'), value: 'DIR', description: 'where results are written' },
  },
  notes: 'Needs the built app (npm run build:web) and /usr/bin/chromium (apt-get install chromium).',
});
const loads = cli.number(cli.values.loads, '--loads', { integer: true, min: 1, max: 1000 })!;
const sizeMB = cli.number(cli.values.size, '--size', { min: 0.001, max: 20 })!;
const typingSeconds = cli.number(cli.values['typing-seconds'], '--typing-seconds', { min: 0, max: 7200 })!;
const remoteEdits = cli.number(cli.values['remote-edits'], '--remote-edits', { integer: true, min: 0, max: 10_000 })!;
const seed = cli.number(cli.values.seed, '--seed', { integer: true, min: 0 })!;
const adminUrl = cli.values['database-url'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const APP_DIR = join(REPO_ROOT, 'clients/web/dist');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DOCUMENT = 'bench: large paper';

if (!existsSync(join(APP_DIR, 'index.html'))) cli.fail(`the app is not built (${APP_DIR}): run npm run build:web`);
if (!existsSync(CHROMIUM)) cli.fail(`${CHROMIUM} is missing: apt-get install chromium`);

function bundleSizes(): { jsBytes: number; jsGzipBytes: number; cssGzipBytes: number } {
  const assets = join(APP_DIR, 'assets');
  let jsBytes = 0;
  let jsGzipBytes = 0;
  let cssGzipBytes = 0;
  for (const file of readdirSync(assets)) {
    const body = readFileSync(join(assets, file));
    if (file.endsWith('.js')) {
      jsBytes += body.length;
      jsGzipBytes += gzipSync(body, { level: 9 }).length;
    } else if (file.endsWith('.css')) {
      cssGzipBytes += gzipSync(body, { level: 9 }).length;
    }
  }
  return { jsBytes, jsGzipBytes, cssGzipBytes };
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `scr_bench_web_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Writes the paper through a real provider and waits until the server acknowledged it; `keep` leaves that client connected. */
async function seedPaper(port: number, doc: Y.Doc, keep: boolean): Promise<() => void> {
  const created = await fetch(`http://127.0.0.1:${port}/api/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: DOCUMENT, kind: 'paper' }),
  });
  if (created.status !== 201) throw new Error(`creating the document: ${created.status} ${await created.text()}`);
  const socket = new HocuspocusProviderWebsocket({ url: `ws://127.0.0.1:${port}/`, WebSocketPolyfill: WebSocket });
  const target = new Y.Doc();
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: DOCUMENT, document: target, token: '' });
  provider.attach();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('seeding: not synced within 60 s')), 60_000);
    provider.on('synced', () => {
      Y.applyUpdate(target, Y.encodeStateAsUpdate(doc));
      const check = () => {
        if (provider.unsyncedChanges === 0) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 20);
      };
      check();
    });
  });
  const close = () => {
    provider.destroy();
    socket.destroy();
  };
  if (keep) return close;
  close();
  return () => undefined;
}

/** Open mode: the name asked once, already chosen (page script). */
const rememberName = (name: string): string =>
  `window.localStorage.setItem('scriptorium.name', ${JSON.stringify(name)}); window.localStorage.setItem('scriptorium.colour', '#1d4ed8');`;
/** What the rendered paper must have: its top-level blocks and the text of the last one. */
interface PaperShape {
  readonly blocks: number;
  readonly lastBlockText: string;
}

/**
 * Page script: a MutationObserver notes the first moment (ms since navigation start) the paper
 * is editable, "Saved" and all of it is rendered (every block, the last one with its text), in
 * window.__editableAt. The checks are cheap: reading a 1 MB paper's text would add to the time.
 */
const watchEditable = (paper: PaperShape): string => `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.__longTasks.push([Math.round(entry.startTime), Math.round(entry.duration)]); }).observe({ type: 'longtask', buffered: true });
  new MutationObserver((_, observer) => {
    const paper = document.querySelector('[role="textbox"][aria-label="Paper"]');
    if (!paper || paper.getAttribute('contenteditable') !== 'true') return;
    if (document.querySelector('[role="status"]')?.textContent !== 'Saved') return;
    if (paper.childElementCount < ${paper.blocks} || paper.lastElementChild?.textContent !== ${JSON.stringify(paper.lastBlockText)}) return;
    window.__editableAt = performance.now();
    const navigation = performance.getEntriesByType('navigation')[0];
    const script = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.js'));
    window.__marks = Object.fromEntries([
      ['html-received', navigation ? navigation.responseEnd : NaN],
      ['script-received', script ? script.responseEnd : NaN],
      ...performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]),
    ]);
    observer.disconnect();
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });`;
const SAVED = `document.querySelector('[role="status"]')?.textContent === 'Saved'`;

type Marks = Record<string, number>;
const PHASES = [
  'html-received',
  'script-received',
  'scriptorium:start',
  'scriptorium:signed-in',
  'scriptorium:kind-known',
  'scriptorium:authenticated',
  'scriptorium:synced',
] as const;
const marks: Marks[] = [];
/** Per load: the page's long tasks ([start, duration] in ms since navigation): the main thread's busy stretches. */
const longTasks: [number, number][][] = [];

/** One navigation in a fresh profile: ms from navigation start until the paper is editable, complete and "Saved". */
async function timedLoad(browser: Browser, url: string, expected: PaperShape): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: rememberName('Benchmark') + watchEditable(expected) });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url, { waitUntil: 'commit' });
  const handle = await page.waitForFunction('window.__editableAt', undefined, { polling: 'raf', timeout: 60_000 });
  const ms = (await handle.jsonValue()) as number;
  marks.push((await page.evaluate('window.__marks')) as Marks);
  longTasks.push((await page.evaluate('window.__longTasks')) as [number, number][]);
  if (cli.values.trace)
    process.stderr.write(
      `marks ${JSON.stringify(marks[marks.length - 1])} editable ${ms.toFixed(0)} long tasks [start, ms] ${JSON.stringify(longTasks[longTasks.length - 1])}\n`,
    );
  await context.close();
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  return ms;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

/** One load under the CPU profiler: writes the profile and prints where the main thread's self time went. */
async function profiledLoad(browser: Browser, url: string, expected: PaperShape, file: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: rememberName('Benchmark') + watchEditable(expected) });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  if (cli.values.trace) await cdp.send('Network.enable');
  const network: string[] = [];
  let navigationStart = NaN;
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.type === 'Document') navigationStart = event.timestamp;
    network.push(`${event.timestamp} request ${event.request.url.split('/').pop()}`);
  });
  cdp.on('Network.loadingFinished', (event) =>
    network.push(`${event.timestamp} finished ${event.requestId} ${event.encodedDataLength} bytes`),
  );
  cdp.on('Network.webSocketCreated', () => network.push(`${performance.now()} ws created`));
  cdp.on('Network.webSocketFrameSent', (event) => network.push(`${event.timestamp} ws sent ${event.response.payloadData.length}`));
  cdp.on('Network.webSocketFrameReceived', (event) => network.push(`${event.timestamp} ws received ${event.response.payloadData.length}`));
  await cdp.send('Profiler.start');
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction('window.__editableAt', undefined, { polling: 'raf', timeout: 60_000 });
  const pageMarks = await page.evaluate(
    'JSON.stringify(window.__marks) + " editable " + window.__editableAt + " long tasks " + JSON.stringify(window.__longTasks)',
  );
  process.stderr.write(
    `network (ms since navigation):\n${network
      .map((line) => {
        const [t, ...rest] = line.split(' ');
        return `${((Number(t) - navigationStart) * 1000).toFixed(0).padStart(6)} ${rest.join(' ')}`;
      })
      .join('\n')}\nmarks ${pageMarks}\n`,
  );
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as {
    profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  };
  await context.close();
  writeFileSync(file, JSON.stringify(profile));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url: source, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${source.split('/').pop() ?? ''}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + (selfMs.get(node.id) ?? 0));
  }
  const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30);
  process.stderr.write(
    `profile written to ${file}; self time by function (ms):\n${top.map(([k, v]) => `${v.toFixed(1).padStart(8)}  ${k}`).join('\n')}\n`,
  );
}

interface MemorySample {
  readonly jsHeapUsedMB: number;
  readonly jsHeapTotalMB: number;
  readonly domNodes: number;
}

async function memory(page: Page): Promise<MemorySample> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
  await cdp.detach();
  return {
    jsHeapUsedMB: metric('JSHeapUsedSize') / 2 ** 20,
    jsHeapTotalMB: metric('JSHeapTotalSize') / 2 ** 20,
    domNodes: metric('Nodes'),
  };
}

/** Types words for `seconds` (about 6 characters a second, a new paragraph every ~40 words). */
async function typingSession(page: Page, seconds: number, random: () => number): Promise<number> {
  const paper = page.getByRole('textbox', { name: 'Paper' });
  await paper.click();
  await page.keyboard.press('Control+End');
  const words = ['data', 'model', 'the', 'results', 'of', 'experiment', 'sample', 'we', 'observed', 'a', 'significant', 'increase'];
  const deadline = Date.now() + seconds * 1000;
  let typed = 0;
  while (Date.now() < deadline) {
    const word = words[Math.floor(random() * words.length)]!;
    await page.keyboard.type(`${word} `, { delay: 120 });
    typed += word.length + 1;
    if (random() < 0.025) await page.keyboard.press('Enter');
  }
  return typed;
}

function flatText(node: { readonly text?: string; readonly content?: readonly unknown[] }): string {
  return (node.text ?? '') + (node.content ?? []).map((child) => flatText(child as typeof node)).join('');
}

/** CDP: the main thread's cumulative task time of the page, in ms, since the session was enabled. */
async function taskMs(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN) * 1000;
}

/**
 * A tab has the paper open; another client (a Node provider) types `count` characters, one every
 * 100 ms, at the end of the middle block. The tab's main-thread time over the edits, less the same
 * stretch of time idle, per keystroke: what one remote keystroke costs each reader of the paper.
 */
async function remoteKeystrokes(
  browser: Browser,
  url: string,
  port: number,
  blocks: number,
  count: number,
): Promise<{ count: number; msPerKeystroke: number; idleMs: number; editsMs: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: rememberName('Reader') });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(
    `${SAVED} && document.querySelector('[aria-label="Paper"]')?.getAttribute('contenteditable') === 'true'`,
    undefined,
    { timeout: 60_000 },
  );
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const socket = new HocuspocusProviderWebsocket({ url: `ws://127.0.0.1:${port}/`, WebSocketPolyfill: WebSocket });
  const doc = new Y.Doc();
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: DOCUMENT, document: doc, token: '' });
  provider.attach();
  await new Promise<void>((resolve) => provider.on('synced', () => resolve()));
  // The first paragraph from the middle on (its text is the block's only child).
  const fragment = doc.getXmlFragment('default');
  let middle = Math.floor(blocks / 2);
  const isParagraph = (node: unknown): boolean =>
    node instanceof Y.XmlElement && node.nodeName === 'paragraph' && node.firstChild instanceof Y.XmlText;
  while (middle < fragment.length && !isParagraph(fragment.get(middle))) middle++;
  const text = (fragment.get(middle) as Y.XmlElement | undefined)?.firstChild;
  if (!(text instanceof Y.XmlText)) throw new Error('no paragraph in the second half of the paper to type into');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const span = count * 100 + 1000;
  const idleStart = await taskMs(cdp);
  await sleep(span);
  const idleMs = (await taskMs(cdp)) - idleStart;
  const marker = 'xyz'.repeat(Math.ceil(count / 3)).slice(0, count);
  const editsStart = await taskMs(cdp);
  for (let i = 0; i < count; i++) {
    text.insert(text.length, marker[i]!);
    await sleep(100);
  }
  await page.waitForFunction(
    `document.querySelector('[aria-label="Paper"]')?.children[${middle}]?.textContent?.endsWith(${JSON.stringify(marker)})`,
    undefined,
    { timeout: 30_000 },
  );
  await sleep(1000);
  const editsMs = (await taskMs(cdp)) - editsStart;
  provider.destroy();
  socket.destroy();
  await context.close();
  return { count, msPerKeystroke: (editsMs - idleMs) / count, idleMs, editsMs };
}

let server: RunningServer | null = null;
let browser: Browser | null = null;
const database = await createDatabase();
try {
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', storage: 'durable', databaseUrl: database.url, staticDir: APP_DIR, logLevel: 'silent' },
  });
  const random = seededRandom(seed);
  const blocks = generatePaper(Math.round(sizeMB * 1_000_000), random);
  const doc = paperDocument(blocks);
  const stateBytes = Y.encodeStateAsUpdate(doc).length;
  const text = blocks.map(flatText).join('');
  process.stderr.write(
    `seeding a paper of ${text.length.toLocaleString('en')} characters (Yjs state ${(stateBytes / 1e6).toFixed(2)} MB)…\n`,
  );
  const closeSeeder = await seedPaper(server.port, doc, cli.values['keep-open'] === true);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const url = `http://127.0.0.1:${server.port}/d/${encodeURIComponent(DOCUMENT)}`;
  const meter = otherCpuMeter();
  const shape: PaperShape = { blocks: blocks.length, lastBlockText: flatText(blocks[blocks.length - 1]!) };
  await timedLoad(browser, url, shape);
  marks.length = 0;
  longTasks.length = 0;
  const samples: number[] = [];
  for (let i = 0; i < loads; i++) {
    samples.push(await timedLoad(browser, url, shape));
    process.stderr.write(`load ${i + 1}/${loads}: ${samples[samples.length - 1]!.toFixed(0)} ms\n`);
  }
  const otherCpu = meter();
  if (cli.values.profile) await profiledLoad(browser, url, shape, cli.values.profile);
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

  // Where the time goes: the app's performance marks (ms since navigation start), medians.
  const phaseMedians = Object.fromEntries(
    PHASES.map((phase) => {
      const values = marks
        .map((m) => m[phase] ?? NaN)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      return [phase.replace('scriptorium:', ''), values[Math.floor((values.length - 1) / 2)] ?? NaN];
    }),
  );

  const busy = longTasks.map((tasks) => tasks.reduce((sum, [, duration]) => sum + duration, 0)).sort((a, b) => a - b);
  const busyMedian = busy[Math.floor((busy.length - 1) / 2)] ?? NaN;

  let typing: { seconds: number; characters: number; before: MemorySample; after: MemorySample } | null = null;
  if (typingSeconds > 0) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: rememberName('Typist') });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(
      `${SAVED} && document.querySelector('[aria-label="Paper"]')?.getAttribute('contenteditable') === 'true'`,
      undefined,
      { timeout: 60_000 },
    );
    const before = await memory(page);
    process.stderr.write(`typing for ${typingSeconds} s…\n`);
    const characters = await typingSession(page, typingSeconds, random);
    await page.waitForFunction(SAVED, undefined, { timeout: 60_000 });
    const after = await memory(page);
    typing = { seconds: typingSeconds, characters, before, after };
    await context.close();
  }

  const remote = remoteEdits > 0 ? await remoteKeystrokes(browser, url, server.port, blocks.length, remoteEdits) : null;

  closeSeeder();
  const bundle = bundleSizes();
  const when = new Date().toISOString();
  const command = `node dist/bench/web-load.js ${process.argv.slice(2).join(' ')}`.trim();
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const lines = [
    `## web-load — ${when}`,
    '',
    `Machine: ${machineDescription()}`,
    `Commit: ${gitCommit()}`,
    `Command: \`${command}\``,
    `Other CPU during the loads: ${otherCpu === null ? 'unknown' : `${otherCpu.toFixed(2)} cores`} (the machine is shared).`,
    '',
    `Paper: ${text.length.toLocaleString('en')} characters, ${blocks.length.toLocaleString('en')} blocks, Yjs state ${(stateBytes / 1e6).toFixed(2)} MB; PostgreSQL; fresh browser profile per load; ${cli.values['keep-open'] ? 'the paper kept open by another client (loaded on the server)' : 'the server loads the paper from the database on each load'}.`,
    '',
    '| measurement | value | target |',
    '|---|---:|---:|',
    `| navigation → editable, synced paper, median of ${loads} | ${at(0.5).toFixed(0)} ms | ≤ 1000 ms |`,
    `| navigation → editable, synced paper, p95 | ${at(0.95).toFixed(0)} ms | |`,
    `| of which (medians, ms since navigation): page received ${phaseMedians['html-received']?.toFixed(0)}, script received ${phaseMedians['script-received']?.toFixed(0)}, app script running ${phaseMedians.start?.toFixed(0)}, signed in ${phaseMedians['signed-in']?.toFixed(0)}, kind known ${phaseMedians['kind-known']?.toFixed(0)}, document authenticated (loaded on the server) ${phaseMedians.authenticated?.toFixed(0)}, synced ${phaseMedians.synced?.toFixed(0)} | | |`,
    `| of which the page's main thread was in long tasks (≥ 50 ms each), median | ${busyMedian.toFixed(0)} ms | |`,
    `| navigation → editable, synced paper, max | ${sorted[sorted.length - 1]!.toFixed(0)} ms | |`,
    `| JavaScript bundle, gzip (minified ${kb(bundle.jsBytes)}) | ${kb(bundle.jsGzipBytes)} | ≤ 400 KB |`,
    `| CSS, gzip | ${kb(bundle.cssGzipBytes)} | |`,
    ...(remote
      ? [
          `| a reader's main-thread time per remote keystroke (${remote.count} keystrokes, one per 100 ms, less the same time idle) | ${remote.msPerKeystroke.toFixed(1)} ms | |`,
        ]
      : []),
    ...(typing
      ? [
          `| tab JS heap after load (after GC) | ${typing.before.jsHeapUsedMB.toFixed(1)} MB | |`,
          `| tab JS heap after ${typing.seconds} s of typing (${typing.characters} characters, after GC) | ${typing.after.jsHeapUsedMB.toFixed(1)} MB | |`,
          `| DOM nodes after load / after typing | ${typing.before.domNodes} / ${typing.after.domNodes} | |`,
        ]
      : []),
  ];
  const markdown = `${lines.join('\n')}\n`;
  console.log(markdown);
  mkdirSync(cli.values.out, { recursive: true });
  const stamp = when.replace(/[:.]/g, '-');
  writeFileSync(join(cli.values.out, `web-load-${stamp}.md`), markdown);
  writeFileSync(
    join(cli.values.out, `web-load-${stamp}.json`),
    JSON.stringify(
      {
        scenario: 'web-load',
        when,
        machine: machineDescription(),
        commit: gitCommit(),
        command,
        otherCpu,
        paper: { chars: text.length, blocks: blocks.length, stateBytes },
        loadsMs: samples,
        phaseMedians,
        marks,
        longTasks,
        mainThreadBusyMedianMs: busyMedian,
        remote,
        medianMs: at(0.5),
        p95Ms: at(0.95),
        bundle,
        typing,
      },
      null,
      2,
    ),
  );
  process.stderr.write(`results written to ${cli.values.out}/web-load-${stamp}.{json,md}\n`);
} finally {
  await browser?.close();
  await server?.close();
  await database.drop();
}
