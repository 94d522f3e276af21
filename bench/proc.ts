/**
 * Readers for /proc: the server's CPU time and memory, sampled by the coordinator around the
 * measurement window. Linux only; on other systems they return null and the report says n/a.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux we run on (`getconf CLK_TCK`). */
const CLK_TCK = 100;

/** User + system CPU seconds of a process, all its threads included. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface MemorySample {
  /** Resident set size now, KiB. */
  rssKb: number;
  /** Peak resident set size since start (VmHWM), KiB. */
  hwmKb: number;
}

export function readMemory(pid: number): MemorySample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(status);
    const hwm = /VmHWM:\s+(\d+)/.exec(status);
    if (!rss || !hwm) return null;
    return { rssKb: Number(rss[1]), hwmKb: Number(hwm[1]) };
  } catch {
    return null;
  }
}

/**
 * Starts a new peak: the kernel resets the process's VmHWM to its RSS now (`clear_refs` 5), so a
 * later readMemory().hwmKb is the peak since this call. False where that is not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Busy CPU seconds of the whole machine (all cores) from /proc/stat. The bench machine is shared;
 * busy time not spent by the server or the loader is other work that skews the figures, and
 * the report shows it so a noisy run is recognisable.
 */
export function readMachineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return (total - idle) / CLK_TCK;
  } catch {
    return null;
  }
}
