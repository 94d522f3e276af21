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
  /**
   * Counts by bucket index (bucket b holds values in [1.01^b, 1.01^(b+1)) µs, b ≥ 0 since values
   * are clamped to 1 µs): a dense array, because record() runs for every delivered edit and a
   * Map lookup + update per sample was a measurable part of the loader's work. ~2,000 buckets
   * reach 10⁹ µs.
   */
  private readonly buckets: number[] = [];
  count = 0;
  max = 0;
  sum = 0;

  /** Record one value in milliseconds. */
  record(ms: number): void {
    const v = ms < 0.001 ? 0.001 : ms;
    this.add(Math.floor(Math.log(v * 1000) / GROWTH), 1);
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  private add(b: number, n: number): void {
    const buckets = this.buckets;
    // Grow with zeros (no holes: a holey array is slower and its holes would read as undefined).
    while (buckets.length <= b) buckets.push(0);
    buckets[b]! += n;
  }

  merge(other: Histogram | HistogramJson): void {
    if (other instanceof Histogram) other.buckets.forEach((n, b) => n > 0 && this.add(b, n));
    else for (const [b, n] of other.buckets) this.add(b, n);
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Value (ms) below which `p` percent of the samples fall; the bucket's upper edge, capped by max. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const target = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let k = 0; k < this.buckets.length; k++) {
      seen += this.buckets[k]!;
      if (seen >= target) return Math.min(Math.exp((k + 1) * GROWTH) / 1000, this.max);
    }
    return this.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = [];
    this.buckets.forEach((n, b) => {
      if (n > 0) buckets.push([b, n]);
    });
    return { buckets, count: this.count, max: this.max, sum: this.sum };
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
