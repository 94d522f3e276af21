/** Markdown rendering of scenario results, with ratios against the Hocuspocus peer. */
import type { LoadResult } from './loader.js';
import type { ScenarioResult } from './scenarios.js';
import { scaleoutTargets } from './scaleout.js';

const n = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A target's cell: met, **missed**, or – when not measured. */
export function targetCell(met: boolean | null): string {
  return met === null ? '–' : met ? 'met' : '**missed**';
}

export { n as formatNumber };

/** "value (×ratio A, ×ratio B)" against several labelled references, those that exist. */
export function withRatios(
  v: number | null | undefined,
  refs: ReadonlyArray<[label: string, ref: number | null | undefined]>,
  digits: number,
): string {
  const s = n(v, digits);
  if (v === null || v === undefined || s === '–') return s;
  const ratios = refs
    .filter(([, ref]) => ref !== null && ref !== undefined && ref !== 0)
    .map(([label, ref]) => `×${(v / ref!).toFixed(2)} ${label}`);
  return ratios.length > 0 ? `${s} (${ratios.join(', ')})` : s;
}

/** "value (×ratio)" against the reference row, when both exist. */
export function withRatio(v: number | null | undefined, ref: number | null | undefined, digits: number): string {
  const s = n(v, digits);
  if (v === null || v === undefined || ref === null || ref === undefined || ref === 0 || s === '–') return s;
  return `${s} (×${(v / ref).toFixed(2)})`;
}

/** `perConn`: RSS per connection is meaningless when the server already served earlier steps. */
function loadTable(rows: ScenarioResult[], ref: LoadResult | null, perConn = true): string {
  const head =
    '| server | conns (failed) | connect p99 ms | updates/s | deliveries/s | loss | latency p50 / p95 / p99 / max ms | ack p50 / p99 ms | server CPU s per M deliveries | server peak RSS MB | RSS per conn KB | loader CPU | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  // Awareness columns only when cursor traffic was generated.
  const aw = rows.some((r) => (r.main?.shape.awarenessRate ?? 0) > 0);
  const awHead = aw ? ' awareness sent / received per s |' : '';
  const lines = rows.map((row) => {
    const r = row.main;
    if (!r) return `| ${row.label} | no result |||||||||||`;
    const lat = r.latencyMs;
    return (
      `| ${row.label} | ${r.connections.connected} (${r.connections.failed}) | ${n(r.connections.connectMs.p99, 1)} | ` +
      `${n(r.updatesPerSec, 0)} | ${n(r.deliveriesPerSec, 0)} | ${r.loss.missingEdits}/${r.loss.expectedEdits} | ` +
      `${n(lat.p50, 2)} / ${n(lat.p95, 2)} / ${withRatio(lat.p99, ref?.latencyMs.p99, 2)} / ${n(lat.max, 1)} | ` +
      `${r.ackMs ? `${n(r.ackMs.p50, 2)} / ${n(r.ackMs.p99, 2)}` : 'no acks'} | ` +
      `${withRatio(r.server.cpuSecPerMillionDeliveries, ref?.server.cpuSecPerMillionDeliveries, 1)} | ` +
      `${n(r.server.peakRssKb === null ? null : r.server.peakRssKb / 1024, 0)} | ` +
      `${perConn ? withRatio(r.server.rssPerConnKb, ref?.server.rssPerConnKb, 1) : '–'} | ` +
      `${n(r.loader.cpuPct, 0)} %${r.loader.bottleneck ? ' **loader-bound**' : ''} | ${n(r.otherCpuPct, 0)} % |` +
      (aw ? ` ${n(r.awarenessSentPerSec, 0)} / ${n(r.awarenessFramesInPerSec, 0)} |` : '')
    );
  });
  const [h1, h2] = head.split('\n');
  return `${h1}${awHead}\n${h2}${aw ? '---|' : ''}\n` + lines.join('\n') + '\n';
}

function saturationTable(rows: ScenarioResult[], refRow: ScenarioResult | undefined): string {
  const ref = refRow?.saturation?.lastGoodUpdatesPerSec ?? null;
  let out = '| server | last good updates/s (p99 ≤ 250 ms, no loss) | stopped by | steps (updates/s: p99 ms) |\n|---|---|---|---|\n';
  for (const row of rows) {
    const s = row.saturation;
    if (!s) continue;
    const steps = s.steps.map((st) => `${n(st.result.updatesPerSec, 0)}: ${n(st.result.latencyMs.p99, 0)}${st.ok ? '' : ' ✗'}`).join('; ');
    out += `| ${row.label} | ${withRatio(s.lastGoodUpdatesPerSec, ref, 0)} | ${s.limitedBy} | ${steps} |\n`;
  }
  return out;
}

function coldLoadTable(rows: ScenarioResult[]): string {
  let out =
    '| server | docs × updates | ingest updates/s (acked) | ingest ack p99 ms | first load p50 / max ms | second load p50 / max ms | applied at the client, first / second p50 ms | missing edits |\n' +
    '|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    const c = row.coldLoad;
    if (!c) continue;
    out +=
      `| ${row.label} | ${c.docs} × ${c.history} | ${n(c.ingestUpdatesPerSec, 0)} | ${n(c.ingestAckMs?.p99, 1)} | ` +
      `${n(c.firstLoadMs.p50, 1)} / ${n(c.firstLoadMs.max, 1)} | ${n(c.secondLoadMs.p50, 1)} / ${n(c.secondLoadMs.max, 1)} | ` +
      `${n(c.firstAppliedMs?.p50, 1)} / ${n(c.secondAppliedMs?.p50, 1)} | ${c.missingEdits} |\n`;
  }
  return out;
}

function densityTable(rows: ScenarioResult[], ref: LoadResult | null): string {
  let out =
    '| server | connections (failed) | connect wall s | connect p50 / p99 ms | server RSS before / connected MB | RSS per connection KB | peak RSS MB | loader CPU | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    const r = row.main;
    if (!r) continue;
    const mb = (kb: number | null): string => n(kb === null ? null : kb / 1024, 0);
    out +=
      `| ${row.label} | ${r.connections.connected} (${r.connections.failed}) | ${n(r.connections.wallMs / 1000, 1)} | ` +
      `${n(r.connections.connectMs.p50, 1)} / ${n(r.connections.connectMs.p99, 1)} | ${mb(r.server.rssBaselineKb)} / ${mb(r.server.rssConnectedKb)} | ` +
      `${withRatio(r.server.rssPerConnKb, ref?.server.rssPerConnKb, 1)} | ${mb(r.server.peakRssKb)} | ${n(r.loader.cpuPct, 0)} % | ${n(r.otherCpuPct, 0)} % |\n`;
  }
  return out;
}

/** Scale-out: the configurations side by side, Redis's commands per update, and the targets. */
function scaleoutTables(rows: ScenarioResult[]): string {
  const pair = (l: { p50: number | null; p99: number | null }): string => (l.p50 === null ? '–' : `${n(l.p50, 2)} / ${n(l.p99, 2)}`);
  let out =
    '| configuration | conns (failed) | updates/s | deliveries/s | loss | latency p50 / p99 ms, all | same instance | cross instance | ack p50 / p99 ms | server CPU s per M deliveries, all instances | each instance (its share of the deliveries) | Redis CPU, % of a core (s per M updates) | loader CPU | other CPU |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  for (const row of rows) {
    const r = row.main;
    const x = row.scaleout;
    if (!r || !x) continue;
    const each = x.instances
      .map((i, k) => `${String.fromCharCode(65 + k)}: ${n(i.cpuSecPerMillionDeliveries, 1)} (${n(i.deliveryShare * 100, 0)} %)`)
      .join(' · ');
    const redis = x.redis ? `${n(x.redis.cpuPct, 1)} % (${n(x.redis.cpuSecPerMillionUpdates, 1)})` : 'no Redis';
    out +=
      `| ${row.label} | ${r.connections.connected} (${r.connections.failed}) | ${n(r.updatesPerSec, 0)} | ${n(r.deliveriesPerSec, 0)} | ` +
      `${r.loss.missingEdits}/${r.loss.expectedEdits} | ${pair(r.latencyMs)} | ${pair(r.latencyByPlacement.same)} | ${r.latencyByPlacement.cross.count > 0 ? pair(r.latencyByPlacement.cross) : '–'} | ` +
      `${r.ackMs ? pair(r.ackMs) : 'no acks'} | ${n(r.server.cpuSecPerMillionDeliveries, 1)} | ${each} | ${redis} | ` +
      `${n(r.loader.cpuPct, 0)} %${r.loader.bottleneck ? ' **loader-bound**' : ''} | ${n(r.otherCpuPct, 0)} % |\n`;
  }
  const withRedis = rows.filter((r) => r.scaleout?.redis);
  if (withRedis.length > 0) {
    const names = [...new Set(withRedis.flatMap((r) => r.scaleout!.redis!.commands.map((c) => c.command)))];
    out += `\nRedis commands over the load phase (first edit to last delivery; ${withRedis.map((r) => `${r.label}: ${r.scaleout!.redis!.updates} updates`).join('; ')}):\n\n`;
    out += `| command | ${withRedis.map((r) => `${r.label}: calls (per update)`).join(' | ')} |\n|---|${withRedis.map(() => '---|').join('')}\n`;
    for (const name of names) {
      out += `| ${name.toUpperCase()} | ${withRedis
        .map((r) => {
          const c = r.scaleout!.redis!.commands.find((k) => k.command === name);
          return c ? `${c.calls} (${n(c.perUpdate, 4)})` : '0';
        })
        .join(' | ')} |\n`;
    }
  }
  out += '\nTargets:\n\n| target | measured | met |\n|---|---|---|\n';
  for (const t of scaleoutTargets(rows))
    out += `| ${t.name} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |\n`;
  // The targets compare configurations run one after another: other work on the machine during
  // any of them makes the comparison say more about the machine than about the servers.
  out += busyMachineNote(
    rows.map((r) => r.main?.otherCpuPct ?? null),
    rows.filter((r) => r.main?.loader.bottleneck).length,
    'configurations',
    'the latency and CPU targets compare noise',
  );
  return out;
}

/**
 * A warning under a table when other work took more than a quarter of a core during a run, or
 * the loader could not keep up (`loaderBound` of the runs): then `consequence`. Empty otherwise.
 */
export function busyMachineNote(
  otherCpuPcts: ReadonlyArray<number | null>,
  loaderBound: number,
  runs: string,
  consequence: string,
): string {
  const other = Math.max(0, ...otherCpuPcts.map((p) => p ?? 0));
  if (other <= 25 && loaderBound === 0) return '';
  const bound = loaderBound > 0 ? `, ${loaderBound} of ${otherCpuPcts.length} ${runs} loader-bound` : '';
  return `\n**Busy machine**: other CPU up to ${n(other, 0)} % of a core${bound}; ${consequence}. Re-run on a quiet machine.\n`;
}

export function renderMarkdown(scenario: string, rows: ScenarioResult[]): string {
  if (scenario === 'scaleout') return scaleoutTables(rows);
  const refRow = rows.find((r) => r.label === 'hocuspocus');
  let md = '';
  if (scenario === 'saturation') md += saturationTable(rows, refRow) + '\nLast good step of each server:\n\n';
  if (scenario === 'cold-load') return coldLoadTable(rows);
  if (scenario === 'density') return densityTable(rows, refRow?.main ?? null);
  md += loadTable(rows, refRow?.main ?? null, scenario !== 'saturation');
  return md;
}
