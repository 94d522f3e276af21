/**
 * What a results file records about the run: the commit, the machine, and how busy the
 * (shared) machine was with other work while the benchmark ran.
 */
import { execFileSync } from 'node:child_process';
import { cpus, hostname, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readMachineBusySeconds } from './proc.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The commit the figures belong to (`+dirty` when the work tree has changes). */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT }).toString().trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function machineDescription(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${hostname()}, Node ${process.version}`;
}

/**
 * Measures the CPU the rest of the machine used meanwhile (cores on average): busy time of
 * the whole machine minus this process's own.
 */
export function otherCpuMeter(): () => number | null {
  const machineStart = readMachineBusySeconds();
  const ownStart = process.cpuUsage();
  const wallStart = performance.now();
  return () => {
    const machineEnd = readMachineBusySeconds();
    if (machineStart === null || machineEnd === null) return null;
    const own = process.cpuUsage(ownStart);
    const ownSeconds = (own.user + own.system) / 1e6;
    const wallSeconds = (performance.now() - wallStart) / 1000;
    return wallSeconds > 0 ? Math.max(0, (machineEnd - machineStart - ownSeconds) / wallSeconds) : null;
  };
}
