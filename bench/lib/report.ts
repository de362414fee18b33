import { format, median, renderTable, round } from './stats.js';

/** What a row's target is about: the ratio to the baseline, or printready's own value. */
export type Target = { kind: 'ratio_at_least'; value: number } | { kind: 'below'; value: number };

/** One measured quantity: every repetition of printready and of its baseline. */
export interface Row {
  scenario: string;
  metric: string;
  printready: number[];
  baseline: number[] | null;
  target: Target | null;
  note?: string;
  /** Anything else worth keeping in the JSON (CPU per component, sizes). */
  details?: Record<string, unknown>;
}

export interface SummarizedRow extends Row {
  printready_median: number;
  baseline_median: number | null;
  ratio: number | null;
  met: boolean | null;
}

export function summarize(row: Row): SummarizedRow {
  const printreadyMedian = median(row.printready);
  const baselineMedian = row.baseline ? median(row.baseline) : null;
  const ratio = baselineMedian ? printreadyMedian / baselineMedian : null;
  let met: boolean | null = null;
  if (row.target?.kind === 'ratio_at_least') met = ratio !== null && ratio >= row.target.value;
  if (row.target?.kind === 'below') met = printreadyMedian < row.target.value;
  return {
    ...row,
    printready: row.printready.map((value) => round(value, 2)),
    baseline: row.baseline?.map((value) => round(value, 2)) ?? null,
    printready_median: round(printreadyMedian, 2),
    baseline_median: baselineMedian === null ? null : round(baselineMedian, 2),
    ratio: ratio === null ? null : round(ratio, 3),
    met,
  };
}

const describeTarget = (target: Target | null): string => {
  if (!target) return '';
  return target.kind === 'ratio_at_least' ? `ratio ≥ ${target.value}` : `< ${target.value}`;
};

export function renderRows(rows: readonly SummarizedRow[]): string {
  return renderTable(
    ['scenario', 'metric', 'printready', 'baseline', 'ratio', 'target', 'met'],
    rows.map((row) => [
      row.scenario,
      row.metric,
      format(row.printready_median),
      row.baseline_median === null ? '—' : format(row.baseline_median),
      row.ratio === null ? '—' : row.ratio.toFixed(2),
      describeTarget(row.target),
      row.met === null ? '' : row.met ? 'yes' : 'NO',
    ]),
  );
}
