/**
 * Paired runs: each pair runs the baseline and printready back to back, the order alternating
 * from pair to pair (AB, BA, AB, …: ABBA over any two pairs), so a drift in the machine's load
 * hits both sides alike. The caller gives each run a fresh task queue.
 */
export async function runPairs<R>(
  count: number,
  baseline: (pair: number) => Promise<R>,
  printready: (pair: number) => Promise<R>,
  after?: (pair: number, result: { baseline: R; printready: R }) => void,
): Promise<{ baseline: R[]; printready: R[] }> {
  const out: { baseline: R[]; printready: R[] } = { baseline: [], printready: [] };
  for (let pair = 0; pair < count; pair++) {
    let base: R;
    let real: R;
    if (pair % 2 === 0) {
      base = await baseline(pair);
      real = await printready(pair);
    } else {
      real = await printready(pair);
      base = await baseline(pair);
    }
    out.baseline.push(base);
    out.printready.push(real);
    after?.(pair, { baseline: base, printready: real });
  }
  return out;
}
