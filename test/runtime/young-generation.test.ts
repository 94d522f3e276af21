import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { youngGenerationSizedByOperator } from '../../server/young-generation.js';

const MODULE = fileURLToPath(new URL('../../dist/server/young-generation.js', import.meta.url));

/** Allocates objects that survive scavenges (what a connection storm does) and prints the new space size before/after. */
const STORM = `
import v8 from 'node:v8';
import { capYoungGeneration } from ${JSON.stringify(MODULE)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const capped = capYoungGeneration();
const before = newSpace();
const keep = [];
for (let i = 0; i < 2e6; i++) {
  const o = { a: i, b: [i], c: 'x' + i };
  if (i % 3 === 0) keep.push(o);
  if (keep.length > 200000) keep.length = 0;
}
console.log(JSON.stringify({ capped, before, after: newSpace() }));
`;

function storm(nodeFlags: string[]): { capped: boolean; before: number; after: number } {
  const out = execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', STORM], {
    env: { ...process.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { capped: boolean; before: number; after: number };
}

describe('young generation cap', () => {
  it('keeps the young generation at its size when the cap was applied', () => {
    const result = storm([]);
    expect(result.capped).toBe(true);
    // Committed size: the second semi-space is only committed at the first scavenge.
    expect(result.after).toBeLessThanOrEqual(2 * result.before);
  });

  it('leaves an operator-sized young generation alone (and it grows as configured)', () => {
    const result = storm(['--max-semi-space-size=8']);
    expect(result.capped).toBe(false);
    expect(result.after).toBeGreaterThan(2 * result.before);
  });

  it('grows it once to the size the server runs with, after the modules loaded, and keeps it there', () => {
    const script = `
import v8 from 'node:v8';
import { capYoungGeneration, growYoungGenerationTo, YOUNG_GENERATION_BYTES } from ${JSON.stringify(MODULE)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
capYoungGeneration();
await import(${JSON.stringify(fileURLToPath(new URL('../../dist/server/server.js', import.meta.url)))});
const loaded = newSpace();
const grown = growYoungGenerationTo();
const keep = [];
for (let i = 0; i < 2e6; i++) { const o = { a: i, b: [i] }; if (i % 3 === 0) keep.push(o); if (keep.length > 200000) keep.length = 0; }
console.log(JSON.stringify({ loaded, grown, after: newSpace(), target: YOUNG_GENERATION_BYTES }));
`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { loaded: number; grown: number; after: number; target: number };
    expect(result.loaded).toBeLessThan(result.target); // the modules loaded without growing it to the maximum
    expect(result.grown).toBe(result.target);
    expect(result.after).toBe(result.target);
  });

  it('recognises sizing flags on the command line and in NODE_OPTIONS', () => {
    expect(youngGenerationSizedByOperator(['--max-semi-space-size=4'], undefined)).toBe(true);
    expect(youngGenerationSizedByOperator(['--max_semi_space_size', '4'], undefined)).toBe(true);
    expect(youngGenerationSizedByOperator([], '--semi-space-growth-factor=4 --enable-source-maps')).toBe(true);
    expect(youngGenerationSizedByOperator(['--max-heap-size=512'], undefined)).toBe(true);
    expect(youngGenerationSizedByOperator(['--enable-source-maps'], '--max-old-space-size=4096')).toBe(false);
    expect(youngGenerationSizedByOperator([], undefined)).toBe(false);
  });
});
