import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A PostHog stand-in: answers every capture with 200 after 50–150 ms, as the hosted service
 * does from afar, so the worker's telemetry waits as it would in production. Runs in the
 * bench's own process (its CPU is the load generator's).
 */
export async function startPosthogStandIn(): Promise<{ url: string; captured: () => number; close(): Promise<void> }> {
  let captured = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      captured++;
      setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":1}'), 50 + Math.random() * 100);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    captured: () => captured,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
