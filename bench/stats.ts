/**
 * Mergeable latency histogram: log buckets 1 % wide from 1 µs upward, stored sparsely so worker
 * processes can ship theirs to the coordinator as plain JSON and percentiles stay within 1 %.
 */
const GROWTH = Math.log(1.01);

export interface HistogramJson {
  buckets: Array<[number, number]>;
  count: number;
  max: number;
  sum: number;
}

export class Histogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;
  sum = 0;

  /** Record one value in milliseconds. */
  record(ms: number): void {
    const v = ms < 0.001 ? 0.001 : ms;
    const b = Math.floor(Math.log(v * 1000) / GROWTH);
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  merge(other: Histogram | HistogramJson): void {
    const entries = other instanceof Histogram ? other.buckets.entries() : other.buckets;
    for (const [b, n] of entries) this.buckets.set(b, (this.buckets.get(b) ?? 0) + n);
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Value (ms) below which `p` percent of the samples fall; the bucket's upper edge, capped by max. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const target = Math.ceil((p / 100) * this.count);
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.buckets.get(k) ?? 0;
      if (seen >= target) return Math.min(Math.exp((k + 1) * GROWTH) / 1000, this.max);
    }
    return this.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  toJSON(): HistogramJson {
    return { buckets: [...this.buckets.entries()], count: this.count, max: this.max, sum: this.sum };
  }

  static fromJSON(json: HistogramJson): Histogram {
    const h = new Histogram();
    h.merge(json);
    return h;
  }
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export function summarize(h: Histogram): LatencySummary {
  return {
    count: h.count,
    p50: h.percentile(50),
    p95: h.percentile(95),
    p99: h.percentile(99),
    max: h.count === 0 ? null : h.max,
  };
}

/** Monotonic clock in ms. CLOCK_MONOTONIC is system-wide, so timestamps compare across processes. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
