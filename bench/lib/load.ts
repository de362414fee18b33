import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  elapsedS: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/**
 * One autocannon run of `amount` requests over `connections` connections. The elapsed time is
 * from the first request to the last answer, taken from autocannon's `response` events: with
 * `amount`, autocannon reports only at its next 1 s sampling tick, so timing its callback
 * would add up to a second of idle to every run. Latencies are autocannon's (ms).
 */
export async function fire(options: autocannon.Options & { amount: number }): Promise<LoadResult> {
  const begin = performance.now();
  let lastAnswer = begin;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...options, timeout: 30 }, (error, outcome) => (error ? reject(error) : resolve(outcome)));
    instance.on('response', () => {
      lastAnswer = performance.now();
    });
  });
  const elapsedS = (lastAnswer - begin) / 1000;
  const requests = result.requests.total;
  return {
    requests,
    elapsedS,
    perSecond: requests / elapsedS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
