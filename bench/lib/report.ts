import { COMPONENTS, perUnit, type Cost } from './cpu.js';
import { bootstrapMedianInterval, format, median, renderTable, round } from './stats.js';
import { must } from '../../test/support/must.js';

/**
 * What a row's target is about: the paired ratio to the baseline (at least or at most a
 * value), or printready's own median (below or at most a value).
 */
export type Target =
  | { kind: 'ratio_at_least'; value: number }
  | { kind: 'ratio_at_most'; value: number }
  | { kind: 'below'; value: number }
  | { kind: 'at_most'; value: number };

/** One measured quantity: printready's and its baseline's value in each pair (same index, same pair). */
export interface Row {
  scenario: string;
  metric: string;
  printready: number[];
  baseline: number[] | null;
  target: Target | null;
  note?: string;
  /** Anything else worth keeping in the JSON (sizes, rates). */
  details?: Record<string, unknown>;
}

/** A pair whose baseline is further than this from the baseline's median is dropped (a disturbed pair). */
export const BASELINE_TOLERANCE = 0.25;

export interface SummarizedRow extends Row {
  printready_median: number;
  baseline_median: number | null;
  /** Median of the kept pairs' ratios, and its bootstrap 95 % interval. */
  ratio: number | null;
  ratio_interval: [number, number] | null;
  pairs_kept: number;
  pairs_dropped: number;
  met: boolean | null;
}

export function summarize(row: Row): SummarizedRow {
  const printreadyMedian = median(row.printready);
  const baselineMedian = row.baseline ? median(row.baseline) : null;
  let ratio: number | null = null;
  let interval: [number, number] | null = null;
  let kept = row.printready.length;
  if (row.baseline && baselineMedian) {
    const ratios = row.baseline.flatMap((base, index) =>
      Math.abs(base - baselineMedian) <= BASELINE_TOLERANCE * baselineMedian && base > 0
        ? [must(row.printready[index], 'a printready sample') / base]
        : [],
    );
    kept = ratios.length;
    ratio = median(ratios);
    interval = bootstrapMedianInterval(ratios);
  }
  let met: boolean | null = null;
  if (row.target?.kind === 'ratio_at_least') met = ratio !== null && ratio >= row.target.value;
  if (row.target?.kind === 'ratio_at_most') met = ratio !== null && ratio <= row.target.value;
  if (row.target?.kind === 'below') met = printreadyMedian < row.target.value;
  if (row.target?.kind === 'at_most') met = printreadyMedian <= row.target.value;
  return {
    ...row,
    printready: row.printready.map((value) => round(value, 3)),
    baseline: row.baseline?.map((value) => round(value, 3)) ?? null,
    printready_median: round(printreadyMedian, 3),
    baseline_median: baselineMedian === null ? null : round(baselineMedian, 3),
    ratio: ratio === null ? null : round(ratio, 3),
    ratio_interval: interval && [round(interval[0], 3), round(interval[1], 3)],
    pairs_kept: kept,
    pairs_dropped: row.printready.length - kept,
    met,
  };
}

const describeTarget = (target: Target | null): string => {
  if (!target) return '';
  switch (target.kind) {
    case 'ratio_at_least':
      return `ratio ≥ ${target.value}`;
    case 'ratio_at_most':
      return `ratio ≤ ${target.value}`;
    case 'below':
      return `< ${target.value}`;
    case 'at_most':
      return `≤ ${target.value}`;
  }
};

export function renderRows(rows: readonly SummarizedRow[]): string {
  return renderTable(
    ['scenario', 'metric', 'printready', 'baseline', 'ratio [95 % CI]', 'pairs', 'target', 'met'],
    rows.map((row) => [
      row.scenario,
      row.metric,
      format(row.printready_median),
      row.baseline_median === null ? '—' : format(row.baseline_median),
      row.ratio === null
        ? '—'
        : `${row.ratio.toFixed(2)} [${format(must(row.ratio_interval, 'the ratio interval')[0])}–${format(must(row.ratio_interval, 'the ratio interval')[1])}]`,
      row.baseline ? `${row.pairs_kept}${row.pairs_dropped ? ` (−${row.pairs_dropped})` : ''}` : String(row.printready.length),
      describeTarget(row.target),
      row.met === null ? '' : row.met ? 'met' : 'MISSED',
    ]),
  );
}

/** What each run of one side of a scenario cost, per unit of its work. */
export interface CostRow {
  scenario: string;
  side: 'printready' | 'baseline';
  /** What one unit is: line, delivery, file, MiB. */
  unit: string;
  runs: { units: number; cost: Cost }[];
}

export interface SummarizedCost {
  scenario: string;
  side: string;
  unit: string;
  /** Medians over the runs: CPU ms per unit of each component, their total, the load generator's. */
  cpu_ms_per_unit: Record<string, number>;
  /** Medians over the runs of each component's peak RSS (MiB). */
  peak_rss_mib: Record<string, number>;
  runs: { units: number; cpu_ms_per_unit: Record<string, number>; peak_rss_mib: Record<string, number> }[];
}

export function summarizeCost(row: CostRow): SummarizedCost {
  const runs = row.runs.map((run) => ({
    units: run.units,
    cpu_ms_per_unit: perUnit(run.cost, run.units),
    peak_rss_mib: run.cost.peakRssMiB,
  }));
  const medianOf = (pick: (run: (typeof runs)[number]) => Record<string, number>) => {
    const keys = new Set(runs.flatMap((run) => Object.keys(pick(run))));
    return Object.fromEntries([...keys].map((key) => [key, round(median(runs.map((run) => pick(run)[key] ?? 0)), 3)]));
  };
  return {
    scenario: row.scenario,
    side: row.side,
    unit: row.unit,
    cpu_ms_per_unit: medianOf((run) => run.cpu_ms_per_unit),
    peak_rss_mib: medianOf((run) => run.peak_rss_mib),
    runs,
  };
}

export function renderCosts(costs: readonly SummarizedCost[]): string {
  const cell = (record: Record<string, number>, key: string) => (record[key] === undefined ? '—' : format(record[key]));
  return renderTable(
    ['scenario', 'side', 'CPU ms per', ...COMPONENTS, 'total', 'load gen', 'peak RSS MiB api/worker/temporal/postgres'],
    costs.map((cost) => [
      cost.scenario,
      cost.side,
      cost.unit,
      ...COMPONENTS.map((name) => cell(cost.cpu_ms_per_unit, name)),
      cell(cost.cpu_ms_per_unit, 'total'),
      cell(cost.cpu_ms_per_unit, 'load'),
      COMPONENTS.map((name) => cell(cost.peak_rss_mib, name)).join(' / '),
    ]),
  );
}

/** What a scenario hands back: judged rows and what each side cost. */
export interface ScenarioResult {
  rows: Row[];
  costs: CostRow[];
}
