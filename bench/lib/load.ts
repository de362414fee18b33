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
 * from the first request to the last answer; latencies are autocannon's (ms).
 */
export async function fire(options: autocannon.Options & { amount: number }): Promise<LoadResult> {
  const begin = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ ...options, timeout: 30 }, (error, outcome) => (error ? reject(error) : resolve(outcome)));
  });
  const elapsedS = (performance.now() - begin) / 1000;
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
